//! What a send does when the queue is full ([`Overflow`]), and why a send
//! was refused ([`SendError`]).

use crate::frame::FrameError;

/// What a send does when the queue is full.
///
/// Nothing is ever dropped silently: a send either queues, replaces an
/// older message the caller marked as replaceable, fails with an error, or
/// closes the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Overflow {
    /// The send fails with [`SendError::QueueFull`]; nothing is queued.
    Reject,
    /// The session closes with
    /// [`CloseReason::SlowConsumer`](super::CloseReason::SlowConsumer).
    Disconnect,
    /// A queued message with the same key, not yet begun on the wire (nor
    /// handed to a writer: see
    /// [`Session::transmit_chunks`](super::Session::transmit_chunks)), is
    /// replaced by this one (in its place in the queue); with none to
    /// replace, this acts like `Reject` when the queue is full. For state
    /// where only the latest value matters, such as positions.
    KeepLatest(u64),
}

/// Why a send was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The queue is at its limit (by count or by bytes).
    #[error(
        "send queue full: {queued_messages} messages / {queued_bytes} bytes queued, \
         limits {} messages / {max_bytes} bytes, message of {message_bytes} bytes",
        count_limit(*.max_messages)
    )]
    QueueFull {
        /// Messages queued.
        queued_messages: usize,
        /// Wire bytes queued.
        queued_bytes: usize,
        /// The message's wire bytes.
        message_bytes: usize,
        /// The configured `max_queue_messages`.
        max_messages: usize,
        /// The configured `max_queue_bytes`.
        max_bytes: usize,
    },
    /// The payload cannot be framed (too large, or not encodable).
    #[error("cannot frame the message: {0}")]
    Frame(#[from] FrameError),
    /// The session is closing or closed and accepts no new sends.
    #[error("session is closing or closed")]
    Closed,
    /// A [`SharedFrame`](super::SharedFrame) built for another configuration
    /// (heartbeats on in one, off in the other).
    #[error("shared frame was built for a session configuration with heartbeats {}", if *.heartbeats { "on" } else { "off" })]
    IncompatibleFrame {
        /// Whether the frame carries the heartbeat control prefix.
        heartbeats: bool,
    },
    /// The hub's memory budget is spent and this session holds more than
    /// its fair share of it ([`HubConfig::memory_budget`](crate::hub::HubConfig::memory_budget)).
    #[error(
        "hub memory budget spent: {hub_queued_bytes} bytes queued across sessions, budget \
         {budget}; this session holds {queued_bytes} bytes, message of {message_bytes} bytes"
    )]
    OverBudget {
        /// Bytes this session has queued.
        queued_bytes: usize,
        /// The message's payload bytes.
        message_bytes: usize,
        /// Bytes queued across the hub's sessions (as charged).
        hub_queued_bytes: usize,
        /// The configured `memory_budget`.
        budget: usize,
    },
}

/// A message-count limit for display: `usize::MAX` is no limit.
fn count_limit(max: usize) -> String {
    if max == usize::MAX {
        "unlimited".to_owned()
    } else {
        max.to_string()
    }
}
