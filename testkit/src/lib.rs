//! # proto-testkit — the test bed of proto-core
//!
//! The doubles and models that proto-core's own tests use, and that you can
//! use to test your codecs and handlers the same way:
//!
//! - [`mock`]: an in-memory [`Transport`](proto_core::driver::Transport)
//!   ([`MockIo`](mock::MockIo), steered through its [`IoCtl`](mock::IoCtl):
//!   partial, refused and failing writes, held flushes, read errors, end of
//!   stream), a virtual [`Clock`](mock::Clock) and its
//!   [`MockTimer`](mock::MockTimer), and [`Net`](mock::Net), a hub whose
//!   sessions run **the real driver** over them on one thread, turn by turn
//!   (quinn's `Pair`, str0m's netem).
//! - [`sim`]: a seeded in-memory network on a virtual clock whose pipes cut,
//!   delay and coalesce bytes, limit bandwidth and stop reading; its ends
//!   are sessions driven by hand ([`Sim`](sim::Sim)) or hub sessions on the
//!   real driver ([`DrivenSim`](sim::DrivenSim)).
//! - [`by_hand`]: helpers for driving one [`Session`](proto_core::session::Session)
//!   by hand, without a driver.
//! - [`paths`]: decode-path runners — the same stream through every way
//!   proto-core gets frames out of a [`MessageResolver`](proto_core::MessageResolver),
//!   checking the decode contract on the way.
//! - [`chunk`]: read sizes (a proptest strategy with the default `proptest`
//!   feature) and the chunkings every property is checked under.
//! - `strategy` (feature `proptest`, on by default): proptest strategies
//!   for simulated links and echo payloads.
//! - [`model`]: reference models of the built-in wire formats, written from
//!   their documentation.
//! - [`ws`]: a reference WebSocket peer written from RFC 6455 (frames,
//!   fragments, the opening request).
//! - `fuzz` (feature `fuzz`): the fuzz harness behind the targets in
//!   `fuzz/`; not for users' builds.
//!
//! Everything here runs on a virtual clock and panics on a broken
//! invariant: it is meant for `[dev-dependencies]`.
//!
//! ## Testing your codec
//!
//! Any chunking of the stream must decode the same frames, along every
//! decode path:
//!
//! ```
//! use proto_core::frame::{Line, ReadBufConfig};
//! use proto_core::MessageResolver;
//! use proto_testkit::{chunk, paths};
//!
//! // Your codec: here, the line codec with a 16-byte limit.
//! let config = Line::default().max_line_length(16);
//! let stream = b"hello\r\nworld\n";
//! for (name, chunks) in chunk::chunkings(stream, &[3, 0, 5]) {
//!     let events = paths::decode_all_paths(|| config.new_codec(), &chunks, ReadBufConfig::default());
//!     let frames: Vec<_> = events.into_iter().map(Result::unwrap).collect();
//!     assert_eq!(frames, [&b"hello"[..], b"world"], "{name}");
//! }
//! ```
//!
//! ## Testing your handler
//!
//! A [`Net`](mock::Net) runs hub sessions with the real driver over mock
//! transports; the test plays the peer and the clock:
//!
//! ```
//! use std::time::Duration;
//!
//! use proto_core::bytes::Bytes;
//! use proto_core::hub::{Event, HubConfig};
//! use proto_testkit::mock::{Net, addr};
//!
//! /// Your handler: answers every message with its length.
//! fn handle(net: &Net, event: Event) {
//!     if let Event::Message { id, payload } = event {
//!         let answer = Bytes::from(payload.len().to_string());
//!         net.hub.send(id, answer).expect("the session is open");
//!     }
//! }
//!
//! let mut net = Net::new(HubConfig::default());
//! let peer = net.connect(addr(1, 4000));
//! peer.io.push_frame(b"ping");
//! for event in net.run_events() {
//!     handle(&net, event);
//! }
//! net.run();
//! assert_eq!(peer.io.sent(), [b"4".to_vec()]);
//!
//! // Time is virtual: a minute of silence passes at once.
//! net.advance(Duration::from_secs(60));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod by_hand;
pub mod chunk;
#[cfg(any(test, feature = "fuzz"))]
pub mod fuzz;
pub mod mock;
pub mod model;
pub mod paths;
pub mod sim;
#[cfg(feature = "proptest")]
pub mod strategy;
pub mod ws;
