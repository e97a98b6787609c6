//! Sessions: one connection's whole life as a pure state machine.
//!
//! A [`Session`] owns the read buffer and resolver, the builder, a bounded
//! send queue with an explicit [`Overflow`] policy, the idle, heartbeat and
//! frame deadlines, graceful close and the counters. Drivers (the runtime
//! adapters, or [`crate::sim`]) only move bytes and time:
//!
//! | input | output |
//! | --- | --- |
//! | [`Session::handle_input`] / [`Session::handle_read`]: bytes read | [`Session::poll_event`]: opened, message, closed |
//! | [`Session::send`] / [`Session::send_with`] / [`Session::send_shared`]: payloads | [`Session::io_slices`]: the next batch for one vectored write |
//! | [`Session::handle_written`]: bytes the socket took | [`Session::poll_timeout`]: the next deadline |
//! | [`Session::handle_timeout`]: the time now | |
//! | [`Session::close`], [`Session::abort`], [`Session::handle_eof`], [`Session::handle_io_error`] | |
//!
//! Heartbeats use a one-byte kind prefix inside each frame; see
//! [`control`] for the wire format. With heartbeats off the wire is exactly
//! the codec's.

mod close;
mod config;
pub mod control;
mod machine;
mod queue;
mod shared;
mod stats;

pub use close::CloseReason;
pub use config::{Heartbeat, SessionConfig};
pub use machine::{Event, Session};
pub use queue::{Overflow, SendError};
pub use shared::SharedFrame;
pub use stats::SessionStats;
