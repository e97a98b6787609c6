//! The driver's [`Transport`] and [`Timer`] on futures-io and async-io.

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use futures_io::{AsyncRead, AsyncWrite};
use proto_core::driver::{Timer, Transport};

/// Any futures-io byte stream (smol's or async-std's `TcpStream`, a TLS
/// stream, …) as a driver [`Transport`]. A graceful close ends with
/// `poll_close`, which for a TCP stream shuts the write side down.
#[derive(Debug)]
pub struct FuturesIo<T>(pub T);

impl<T: AsyncRead + AsyncWrite + Unpin> Transport for FuturesIo<T> {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }

    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_close(cx)
    }
}

/// async-io's timer and the system clock as a driver [`Timer`]. async-io
/// runs its own reactor thread when no `block_on` of its own drives it, so
/// the timer fires under any executor.
#[derive(Debug)]
pub struct AsyncIoTimer {
    timer: async_io::Timer,
}

impl AsyncIoTimer {
    /// A timer, not yet armed.
    pub fn new() -> Self {
        Self {
            timer: async_io::Timer::never(),
        }
    }
}

impl Default for AsyncIoTimer {
    fn default() -> Self {
        Self::new()
    }
}

impl Timer for AsyncIoTimer {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn reset(&mut self, deadline: Instant) {
        self.timer.set_at(deadline);
    }

    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.timer).poll(cx).map(|_| ())
    }
}
