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
//!   connected yourself ([`Client::from_stream`]). The same events and
//!   handles as a server.
//! - [`shutdown`]: stops accepting, closes every session with
//!   `Shutdown` after flushing its queue, and reports what was flushed and
//!   dropped.
//! - [`FuturesIo`] and [`AsyncIoTimer`]: the driver's transport and timer,
//!   for running a [`Conn`](proto_core::driver::Conn) over any futures-io
//!   stream.
//!
//! Tasks are started by a [`Spawner`] in the configs: smol's global
//! executor by default; async-std users pass
//! `Spawner::new(|task| { async_std::task::spawn(task); })`. Everything
//! else (sockets, timers) is async-io, which runs under any executor.
//!
//! All protocol logic lives in proto-core; this crate moves bytes and time.
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
//!         let (server, mut events) = Server::bind("127.0.0.1:7000", codec, ServerConfig::default()).await?;
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

mod client;
mod io;
mod server;
mod shutdown;
mod spawn;

pub use client::{Client, ClientConfig};
pub use io::{AsyncIoTimer, FuturesIo};
pub use proto_core::driver::ConnectError;
pub use server::{Server, ServerConfig};
pub use shutdown::shutdown;
pub use spawn::{BoxTask, Spawner};

pub use proto_core;
