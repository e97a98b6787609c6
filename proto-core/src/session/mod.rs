//! Sessions: one connection's whole life as a pure state machine.
//!
//! A [`Session`] owns the read buffer and resolver, the builder, a bounded
//! send queue with an explicit [`Overflow`] policy, the idle, heartbeat and
//! frame deadlines, graceful close and the counters. Drivers (the runtime
//! adapters, or the simulator of `proto-testkit`) only move bytes and time:
//!
//! | input | output |
//! | --- | --- |
//! | [`Session::handle_input`] / [`Session::handle_read`]: bytes read | [`Session::poll_event`]: opened, message, closed |
//! | [`Session::send`] / [`Session::send_with`] / [`Session::send_shared`]: payloads | [`Session::io_slices`]: the next batch for one vectored write |
//! | [`Session::handle_written`]: bytes the socket took (0: it took none) | [`Session::poll_timeout`]: the next deadline |
//! | [`Session::handle_timeout`]: the time now | [`Session::read_budget`]: how many bytes to read now |
//! | [`Session::close`], [`Session::close_until`], [`Session::send_final`], [`Session::abort`], [`Session::handle_eof`], [`Session::handle_io_error`] | |
//!
//! Flow control runs both ways. Reading: a driver reads at most
//! [`Session::read_budget`] bytes, which falls to 0 once the send queue,
//! the unpolled messages and what the application holds reach the high
//! [`WaterMarks`]. Writing: a peer that takes no bytes for `write_timeout`
//! while some wait is closed as a slow consumer.
//!
//! End of stream from the peer is delivered as [`SessionEvent::EndOfStream`] after
//! its last message; with [`SessionConfig::half_close`] off the session then
//! closes at the next [`Session::poll_event`], after the replies the
//! application queued in between.
//!
//! Heartbeats use a one-byte kind prefix inside each frame; see
//! [`control`] for the wire format. With heartbeats off the wire is exactly
//! the codec's.

mod close;
mod config;
mod config_error;
pub mod control;
mod machine;
mod overflow;
mod queue;
mod rate_limit;
mod shared;
mod stats;

pub use close::CloseReason;
pub use config::{
    BadFramePolicy, DEFAULT_MAX_QUEUE_BYTES, DEFAULT_MAX_SKIPPED_FRAMES, Heartbeat, MESSAGE_COST,
    SessionConfig, WaterMarks, message_cost,
};
pub use config_error::ConfigError;
pub use machine::{Session, SessionEvent};
pub use overflow::{Overflow, SendError};
pub use rate_limit::{RateLimit, RatePolicy};
pub use shared::SharedFrame;
pub use stats::SessionStats;
