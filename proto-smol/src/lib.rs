//! Runs [proto-core](proto_core) sessions on futures-io sockets and
//! async-io timers, so one adapter serves smol and async-std alike.
//!
//! - [`Server`]: binds a listener (with the configured backlog), admits
//!   connections through its [`Hub`](proto_core::hub::Hub) (session and
//!   per-IP limits), and spawns one driver task per session. Accept errors
//!   (such as running out of file descriptors) are logged and retried after
//!   a pause.
//! - [`Client`]: connects with a timeout and, optionally, reconnects with
//!   exponential backoff and jitter; or runs a session over a stream you
//!   connected yourself (`Client::from_stream(FuturesIo(stream), ..)`). The
//!   same events and handles as a server.
//! - Graceful shutdown is the hub's:
//!   [`Hub::shutdown`](proto_core::hub::Hub::shutdown) stops accepting,
//!   closes every session with `Shutdown` after flushing its queue, and
//!   reports what was flushed and dropped.
//! - [`AsyncTcp`]: the transport `Smol` accepts and connects, an async-io
//!   TCP stream that reads only when epoll says there is something to read.
//! - [`FuturesIo`] and [`AsyncIoTimer`]: the driver's transport and timer,
//!   for running a [`Conn`](proto_core::driver::Conn) over any futures-io
//!   stream (TLS, async-std's `TcpStream`, …).
//! - `tls` (feature `tls`): the same server and client over TLS (rustls).
//!
//! Tasks are started by the [`Smol`] runtime value: smol's global executor
//! by default (`Server::bind`, `Client::connect`); async-std users pass
//! `Smol::new(|task| { async_std::task::spawn(task); })` to
//! `Server::bind_on` and `Client::connect_on`. Everything else (sockets,
//! timers) is async-io, which runs under any executor.
//!
//! All protocol logic lives in proto-core, and so do [`Server`] and
//! [`Client`] (written once against [`Runtime`](proto_core::driver::Runtime));
//! this crate is [`Smol`], that runtime on async-io, plus the driver's
//! [`AsyncTcp`] and [`FuturesIo`] transports and [`AsyncIoTimer`].
//!
//! An echo server:
//!
//! ```no_run
//! use proto_core::frame::LengthField;
//! use proto_core::hub::Event;
//! use proto_smol::{Server, ServerConfig};
//!
//! fn main() -> std::io::Result<()> {
//!     smol::block_on(async {
//!         let codec = LengthField::laster40net();
//!         let mut server = Server::bind("127.0.0.1:7000", codec, ServerConfig::default()).await?;
//!         let mut events = server.events();
//!         let hub = server.hub().clone();
//!         smol::spawn(server.run()).detach();
//!         while let Some(event) = events.recv().await {
//!             if let Event::Message { id, payload } = event {
//!                 let _ = hub.send(id, payload); // a full queue refuses; the peer is too slow
//!             }
//!         }
//!         Ok(())
//!     })
//! }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod io;
mod runtime;
mod tcp;
#[cfg(feature = "tls")]
pub mod tls;

pub use io::{AsyncIoTimer, FuturesIo};
pub use proto_core::driver::{BindError, ClientConfig, ConnectError, ServerConfig};
pub use runtime::{BoxTask, Smol};
pub use tcp::AsyncTcp;

/// A listening server on async-io: [`proto_core::driver::Server`] on [`Smol`].
pub type Server<F> = proto_core::driver::Server<F, Smol>;

/// A client connection on async-io: [`proto_core::driver::Client`] on [`Smol`].
pub type Client<F> = proto_core::driver::Client<F, Smol>;

pub use proto_core;
