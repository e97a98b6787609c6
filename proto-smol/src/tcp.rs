//! [`AsyncTcp`]: an async-io TCP stream as a driver [`Transport`] that
//! knows when the socket is drained.

use std::io::{self, IoSlice, Read};
use std::net::{Shutdown, TcpStream};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use async_io::Async;
use futures_io::{AsyncRead, AsyncWrite};
use proto_core::driver::Transport;

/// An async-io TCP stream as a driver [`Transport`]: what [`Smol`](crate::Smol)
/// accepts and connects.
///
/// async-io's own `poll_read` tries the socket first and learns that it is
/// empty from an `EAGAIN`, so a loop that reads until it would block pays
/// one system call per turn for nothing. This transport uses what epoll
/// already says: a read that fills less than its buffer drained the socket
/// (as tokio's reads assume), so the next read waits for a readiness event
/// instead of asking the kernel.
#[derive(Debug)]
pub struct AsyncTcp {
    io: Async<TcpStream>,
    /// The last read drained the socket: wait for readiness before the next.
    drained: bool,
}

impl AsyncTcp {
    /// Wraps a connected stream.
    pub fn new(io: Async<TcpStream>) -> Self {
        Self { io, drained: false }
    }

    /// The stream.
    pub fn get_ref(&self) -> &TcpStream {
        self.io.get_ref()
    }
}

impl Transport for AsyncTcp {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        if self.drained {
            ready!(self.io.poll_readable(cx))?;
            self.drained = false;
        }
        loop {
            match self.io.get_ref().read(buf) {
                Ok(n) => {
                    if n > 0 && n < buf.len() {
                        self.drained = true;
                        // Arm the readiness wait now: a readiness event left
                        // over from before this read is consumed here, so the
                        // next read waits for news. Ready twice cannot happen
                        // (the first call clears what it reports).
                        if self.io.poll_readable(cx).is_ready() {
                            let _ = self.io.poll_readable(cx);
                        }
                    }
                    return Poll::Ready(Ok(n));
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    ready!(self.io.poll_readable(cx))?;
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Poll::Ready(Err(err)),
            }
        }
    }

    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.io.get_ref().shutdown(Shutdown::Write))
    }
}

/// The futures-io traits over the same reads and writes, so that a layer
/// (TLS) can wrap an `AsyncTcp` and still reach it.
impl AsyncRead for AsyncTcp {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Transport::poll_read(self.get_mut(), cx, buf)
    }
}

impl AsyncWrite for AsyncTcp {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Transport::poll_write_vectored(self.get_mut(), cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Transport::poll_flush(self.get_mut(), cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Transport::poll_shutdown(self.get_mut(), cx)
    }
}
