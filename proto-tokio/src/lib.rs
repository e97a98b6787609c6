//! Runs [proto-core](proto_core) sessions on tokio sockets and timers.
//!
//! - [`Server`]: binds a listener, admits connections through its
//!   [`Hub`](proto_core::hub::Hub) (session and per-IP limits), and spawns
//!   one driver task per session. Accept errors (such as running out of
//!   file descriptors) are logged and retried after a pause.
//! - [`Client`]: connects with a timeout and, optionally, reconnects with
//!   exponential backoff and jitter; or runs a session over a stream you
//!   connected yourself (`Client::from_stream(TokioIo(stream), ..)`). The
//!   same events and handles as a server.
//! - [`shutdown`]: stops accepting, closes every session with
//!   `Shutdown` after flushing its queue, and reports what was flushed and
//!   dropped.
//! - `tls` (feature `tls`): the same server and client over TLS
//!   (rustls).
//!
//! All protocol logic lives in proto-core, and so do [`Server`] and
//! [`Client`] (written once against [`Runtime`](proto_core::driver::Runtime));
//! this crate is [`Tokio`], that runtime on tokio, plus the driver's
//! [`TokioIo`] transport and [`TokioTimer`].
//!
//! An echo server:
//!
//! ```no_run
//! use proto_core::frame::LengthField;
//! use proto_core::hub::Event;
//! use proto_tokio::{Server, ServerConfig};
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     let codec = LengthField::laster40net();
//!     let (server, mut events) = Server::bind("127.0.0.1:7000", codec, ServerConfig::default()).await?;
//!     let hub = server.hub().clone();
//!     tokio::spawn(server.run());
//!     while let Some(event) = events.recv().await {
//!         if let Event::Message { id, payload } = event {
//!             // Back-pressure keeps room for the reply: the session reads
//!             // no more from its peer than its queue can answer.
//!             if let Err(err) = hub.send(id, payload) {
//!                 tracing::warn!(%id, %err, "reply refused");
//!             }
//!         }
//!     }
//!     Ok(())
//! }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod io;
mod runtime;
mod shutdown;
#[cfg(feature = "tls")]
pub mod tls;

pub use io::{TokioIo, TokioTimer};
pub use proto_core::driver::{BindError, ClientConfig, ConnectError, ServerConfig};
pub use runtime::Tokio;
pub use shutdown::shutdown;

/// A listening server on tokio: [`proto_core::driver::Server`] on [`Tokio`].
pub type Server<F> = proto_core::driver::Server<F, Tokio>;

/// A client connection on tokio: [`proto_core::driver::Client`] on [`Tokio`].
pub type Client<F> = proto_core::driver::Client<F, Tokio>;

pub use proto_core;

/// The README's examples, compiled and run as doc tests (here, where both
/// proto-core and this adapter are in scope).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
