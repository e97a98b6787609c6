//! [`ConfigError`]: session limits that do not fit together.

/// Why [`SessionConfig::check`](super::SessionConfig::check) refused a
/// configuration. Each message names the fields, their values and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The low water mark is above the high one.
    #[error(
        "backpressure low water mark {low} is above the high water mark {high}: \
         lower low to at most {high}"
    )]
    LowAboveHigh {
        /// The configured `low`.
        low: usize,
        /// The configured `high`.
        high: usize,
    },
    /// The high water mark is 0: reading would never start.
    #[error(
        "backpressure high water mark is 0: no byte could ever be read; raise it (default 64 KiB) or turn backpressure off"
    )]
    HighIsZero,
    /// The high water mark is above what the send queue may hold, so the
    /// queue overflows before reading pauses.
    #[error(
        "backpressure high water mark {high} exceeds max_queue_bytes {max_queue_bytes}: \
         raise max_queue_bytes to at least {high}"
    )]
    HighAboveQueue {
        /// The configured `high`.
        high: usize,
        /// The configured `max_queue_bytes`.
        max_queue_bytes: usize,
    },
    /// The send queue cannot hold the codec's largest frame on top of the
    /// high water mark: replies of that size could be refused.
    #[error(
        "max_queue_bytes {max_queue_bytes} cannot hold the codec's largest frame \
         ({max_frame_wire_len} wire bytes) on top of the backpressure high water mark \
         ({high}): raise max_queue_bytes to at least {required}"
    )]
    QueueTooSmall {
        /// The configured `max_queue_bytes`.
        max_queue_bytes: usize,
        /// The codec's largest frame on the wire.
        max_frame_wire_len: usize,
        /// The high water mark (0 with back-pressure off).
        high: usize,
        /// `max_frame_wire_len + high`.
        required: usize,
    },
    /// The byte rate's burst is below the codec's largest frame, and the
    /// policy is not `Pause`: such a message could never be received.
    #[error(
        "rate_limit bytes burst {burst} is below the codec's largest frame \
         ({max_frame_wire_len} wire bytes): under the Drop and Disconnect policies such a \
         message could never be received; raise the burst to at least {max_frame_wire_len}"
    )]
    RateBurstBelowFrame {
        /// The configured byte burst.
        burst: u64,
        /// The codec's largest frame on the wire.
        max_frame_wire_len: usize,
    },
}
