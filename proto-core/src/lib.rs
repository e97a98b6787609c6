//! # proto-core — the sans-I/O core of a game-server networking library
//!
//! Every protocol rule lives here as a pure state machine over byte slices: no
//! socket, no clock, no thread, no `unsafe`, and no panic on any input. Thin
//! adapters (`proto-tokio`, `proto-smol`) run it on an async runtime.
//!
//! - [`message`]: the traits a user implements for their own wire protocol —
//!   [`MessageResolver`] (bytes → frames), [`MessageBuilder`] (payload → wire
//!   bytes) and [`MessageFactory`] (fresh codec state per session).
//! - [`frame`]: the built-in codecs — a configurable [`LengthField`] codec with
//!   presets for laster40Net, Netty and tokio-util, a [`Line`] codec and a
//!   [`Raw`] pass-through — plus [`FrameReader`], the read buffer that keeps
//!   memory small, and [`WireBuf`], encoded output ready for one vectored write.
//! - [`session`]: one connection's state machine — bounded send queue with an
//!   explicit overflow policy, idle, heartbeat and frame deadlines, graceful
//!   close, counters — driven by `handle_*` inputs and drained `poll_*`
//!   outputs, with time passed in.
//! - [`hub`]: every live session of a server by id — handles that any task
//!   can send through, groups, broadcast framed once, admission limits, a
//!   memory budget across sessions, the event stream, stats and graceful
//!   shutdown ([`Hub::shutdown`](hub::Hub::shutdown), the one way to stop).
//! - [`driver`]: the one connection loop every runtime adapter runs over a
//!   small [`Transport`](driver::Transport) / [`Timer`](driver::Timer) seam:
//!   back-pressure (it reads only what the session can answer), vectored
//!   writes, flush retry, fair turns, deadlines; plus [`Server`](driver::Server)
//!   (accept loop, admission; its events go to the stream
//!   [`Server::events`](driver::Server::events) takes, or to a
//!   [`Handler`](driver::Handler) per session with
//!   [`Server::run_with`](driver::Server::run_with)) and
//!   [`Client`](driver::Client) (connect timeout, reconnect with seeded
//!   jitter), written once against the [`Runtime`](driver::Runtime) seam
//!   that each adapter implements. No socket call is made under a lock
//!   (see the `hub` module's lock order).
//! - [`policy`]: rate limits with time passed in ([`Rate`](policy::Rate),
//!   [`RateMeter`](policy::RateMeter)), which sessions apply to what a
//!   peer sends and admission to how fast an address connects.
//! - [`ws`]: WebSocket (RFC 6455) as one more codec under the same
//!   sessions: the opening handshake and the framing, as a resolver and a
//!   builder.
//! - [`rng`]: [`SplitMix64`](rng::SplitMix64), the seeded generator behind
//!   reconnect jitter and the simulator (the core reads no system RNG).
//!
//! The test bed — the simulator (an in-memory network on a virtual clock
//! that runs sessions, by hand or on the real driver, deterministically from
//! a seed), mock transports and reference models — is the `proto-testkit`
//! crate: use it as a dev-dependency to test your codecs and handlers.
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use proto_core::frame::{LengthField, WireBuf};
//! use proto_core::message::{MessageBuilder, MessageResolver};
//!
//! let mut codec = LengthField::laster40net().new_codec();
//! let mut wire = WireBuf::new();
//! codec.encode(Bytes::from_static(b"hello"), &mut wire)?;
//! assert_eq!(wire.to_vec(), b"\x05\x00\x00\x00hello");
//!
//! // Any split of the stream decodes the same frames.
//! let mut read = BytesMut::from(&wire.to_vec()[..3]);
//! assert_eq!(codec.decode(&mut read)?, None);
//! read.extend_from_slice(&wire.to_vec()[3..]);
//! assert_eq!(codec.decode(&mut read)?, Some(Bytes::from_static(b"hello")));
//! # Ok::<(), proto_core::frame::FrameError>(())
//! ```
//!
//! ## Panic policy
//!
//! No byte sequence from the network panics. Every `expect` names the invariant
//! that makes it unreachable; the fuzz targets in `fuzz/` keep that promise.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod driver;
pub mod frame;
pub mod hub;
pub mod message;
pub mod policy;
pub mod rng;
pub mod session;
pub mod ws;

/// The `bytes` crate, re-exported: frames are [`bytes::Bytes`] and read
/// buffers [`bytes::BytesMut`], so a custom codec can name them without
/// depending on a matching version of `bytes` itself.
pub use bytes;

pub use frame::{FrameError, FrameReader, LengthField, Line, Raw, WireBuf};
pub use message::{MessageBuilder, MessageFactory, MessageResolver, Resolved};
