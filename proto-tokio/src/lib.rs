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
//! - Graceful shutdown is the hub's:
//!   [`Hub::shutdown`](proto_core::hub::Hub::shutdown) stops accepting,
//!   closes every session with `Shutdown` after flushing its queue, and
//!   reports what was flushed and dropped.
//! - `tls` (feature `tls`): the same server and client over TLS
//!   (rustls).
//!
//! All protocol logic lives in proto-core, and so do [`Server`] and
//! [`Client`] (written once against [`Runtime`](proto_core::driver::Runtime));
//! this crate is [`Tokio`], that runtime on tokio, plus the driver's
//! [`TokioIo`] transport and [`TokioTimer`].
//!
//! An echo server that shuts down gracefully on Ctrl-C:
//!
//! ```no_run
//! use std::time::Duration;
//! use proto_core::frame::LengthField;
//! use proto_core::hub::Event;
//! use proto_tokio::{Server, ServerConfig};
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     let codec = LengthField::laster40net();
//!     let mut server = Server::bind("127.0.0.1:7000", codec, ServerConfig::default()).await?;
//!     let mut events = server.events();
//!     let hub = server.hub().clone();
//!     tokio::spawn(server.run());
//!     // Shut down on a task of its own while events are still handled:
//!     // replies to what was read go out, and every `Closed` arrives.
//!     let stopper = tokio::spawn({
//!         let hub = hub.clone();
//!         async move {
//!             let _ = tokio::signal::ctrl_c().await;
//!             hub.shutdown(tokio::time::sleep(Duration::from_secs(10))).await
//!         }
//!     });
//!     while let Some(event) = events.recv().await {
//!         match event {
//!             // Back-pressure keeps room for the reply: the session reads
//!             // no more from its peer than its queue can answer.
//!             Event::Message { id, payload } => {
//!                 if let Err(err) = hub.send(id, payload) {
//!                     tracing::warn!(%id, %err, "reply refused");
//!                 }
//!             }
//!             Event::Closed { id, reason, .. } => tracing::info!(%id, %reason, "save the player"),
//!             _ => {}
//!         }
//!     }
//!     // The stream ended: the shutdown is complete.
//!     let report = stopper.await.expect("the shutdown task");
//!     assert_eq!((report.dropped, report.refused, report.unread), (0, 0, 0));
//!     Ok(())
//! }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod io;
mod runtime;
#[cfg(feature = "tls")]
pub mod tls;

pub use io::{TokioIo, TokioTimer};
pub use proto_core::driver::{BindError, ClientConfig, ConnectError, ServerConfig};
pub use runtime::Tokio;

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
