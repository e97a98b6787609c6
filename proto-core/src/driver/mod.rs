//! The connection driver shared by the runtime adapters.
//!
//! A driver runs one [`Session`](crate::session::Session) of a
//! [`Hub`](crate::hub::Hub): it reads into the session's buffer, delivers events to the
//! hub's [`Events`](crate::hub::Events), writes the session's transmits with
//! vectored writes, sleeps until the session's next deadline, and applies
//! what handles asked for (sends, closes). It performs no I/O of its own:
//! the adapter hands it a [`Transport`] (a socket's `poll_*` methods) and a
//! [`Timer`] (the runtime's timer and clock). So both adapters, and any
//! other runtime, share one loop, and it can be tested without sockets.
//!
//! Around that loop, written once against the [`Runtime`] seam (spawn,
//! time, accept, connect): the [`Server`] (listener, admission, accept
//! errors, refusal messages), the [`Client`] (connect timeout, reconnect
//! with seeded jitter); graceful shutdown is the hub's
//! ([`Hub::shutdown`](crate::hub::Hub::shutdown)). An adapter implements
//! [`Runtime`], [`Transport`] and [`Timer`] and re-exports the rest.
//! [`Upgraded`] runs a runtime's connections through a layer such as TLS
//! (the adapters' `tls` features), with the same `Server` and `Client`.
//!
//! Memory: reads go through a 1 KiB stack buffer until one fills it (bulk
//! traffic), and only then into the session's read buffer; whenever the
//! socket has nothing to read and nothing waits to be written, the
//! session's buffers are released and reads go back to the stack buffer.
//! So an idle connection holds no read or write buffer, and one that only
//! sees small messages never allocates a full read buffer.

mod backoff;
mod client;
mod config;
mod conn;
mod drive;
mod handler;
mod refusal;
mod runtime;
mod server;
mod upgrade;

use std::io::{self, IoSlice};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::BytesMut;

pub use backoff::Backoff;
pub use client::{Client, ConnectError};
pub use config::{ClientConfig, DEFAULT_KEEPALIVE, ServerConfig};
pub use conn::{AdmissionExt, Conn};
pub use drive::Drive;
pub use handler::Handler;
pub use refusal::Refusal;
pub use runtime::{BoxFuture, Runtime};
pub use server::{BindError, Server};
pub use upgrade::{Layered, Upgrade, Upgraded};

/// A byte stream as the driver uses it: the `poll_*` methods of an async
/// socket. The adapters implement it for their runtimes' streams.
pub trait Transport: Unpin {
    /// Reads into `buf`; `Ok(0)` is end of stream.
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;

    /// Reads at most `max` bytes into the free capacity of `buf`, appending
    /// them; returns how many (`Ok(0)`: end of stream). The default
    /// zero-fills the free space and calls [`poll_read`](Self::poll_read);
    /// transports that can read into uninitialised memory (tokio's) override
    /// it to skip that.
    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
        max: usize,
    ) -> Poll<io::Result<usize>> {
        let start = buf.len();
        let end = buf.capacity().min(start + max).max(start + 1);
        buf.resize(end, 0);
        let result = self.poll_read(cx, &mut buf[start..]);
        let n = match &result {
            Poll::Ready(Ok(n)) => *n,
            _ => 0,
        };
        buf.truncate(start + n);
        result
    }

    /// Writes from `bufs` in order; returns how many bytes were taken.
    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>>;

    /// Flushes written bytes (a no-op for plain TCP).
    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Shuts the write side down (sends FIN) after a graceful close.
    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

/// The runtime's clock and a resettable timer.
pub trait Timer: Unpin {
    /// The time now.
    fn now(&self) -> Instant;

    /// Arms the timer for `deadline` (replacing any earlier one).
    fn reset(&mut self, deadline: Instant);

    /// Ready once the armed deadline has passed.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()>;
}
