//! [`SessionConfig`]: every limit and timeout of a session, with safe
//! defaults.

use std::time::Duration;

use super::{ConfigError, Overflow, RateLimit, RatePolicy};
use crate::message::MessageFactory;

/// Heartbeat settings: ping after `interval` without receiving anything;
/// close with `HeartbeatTimeout` if nothing arrives within `timeout` of the
/// ping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Heartbeat {
    /// Quiet time before a ping is sent.
    pub interval: Duration,
    /// How long to wait for any bytes after a ping.
    pub timeout: Duration,
}

/// What a session does when its codec reports a bad frame that can be
/// skipped ([`FrameError::is_recoverable`](crate::frame::FrameError::is_recoverable):
/// `FrameTooLarge`, `StripExceedsFrame`, `LineTooLong`, `InvalidUtf8`).
/// Other decode errors always close the session: the stream cannot be
/// resynchronised after them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BadFramePolicy {
    /// Close the session at once, with
    /// [`CloseReason::FrameTooLarge`](super::CloseReason::FrameTooLarge)
    /// or [`CloseReason::MalformedFrame`](super::CloseReason::MalformedFrame).
    /// The default: a peer that sends a bad frame is usually broken or
    /// hostile.
    #[default]
    Close,
    /// Skip the bad frame (its bytes are dropped as they arrive, never
    /// buffered), count it in
    /// [`SessionStats::frames_skipped`](super::SessionStats::frames_skipped)
    /// and go on with the next frame; once
    /// [`max_skipped_frames`](SessionConfig::max_skipped_frames) frames
    /// have been skipped, the next bad frame closes the session as `Close`
    /// would. For protocols whose peers may send the odd oversized or
    /// badly encoded message that is better ignored than fatal.
    Skip,
}

/// The default [`SessionConfig::max_skipped_frames`]: 1024.
pub const DEFAULT_MAX_SKIPPED_FRAMES: u64 = 1024;

/// Back-pressure water marks, in bytes of work the session holds for its
/// peer: its send queue, the messages it received and the application has
/// not polled, and what the driver says the application holds (see
/// [`Session::read_budget`](super::Session::read_budget)).
///
/// Reading stops when that reaches `high`, and starts again only once it
/// has fallen to `low` (hysteresis, so that a session at the mark does not
/// read a few bytes at a time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WaterMarks {
    /// Reading resumes at or below this.
    pub low: usize,
    /// Reading pauses at or above this.
    pub high: usize,
}

/// What a received message costs against the [`WaterMarks`] on top of its
/// payload: an allowance for the header of the reply it may cause, so that
/// a flood of empty messages is not free.
pub const MESSAGE_COST: usize = 16;

/// The cost of a message of `len` payload bytes against the
/// [`WaterMarks`]: `len + MESSAGE_COST` (saturating). Drivers that count
/// what they handed to the application use the same rule.
#[inline]
pub const fn message_cost(len: usize) -> usize {
    len.saturating_add(MESSAGE_COST)
}

/// Limits and timeouts of one session. `Default` plus chained setters;
/// [`check`](Self::check) tells whether they fit together and with the
/// codec.
///
/// | field | default | breach |
/// | --- | --- | --- |
/// | `max_queue_messages` | unlimited (`usize::MAX`) | the send's [`Overflow`] policy |
/// | `max_queue_bytes` | auto: 2 MiB, or the high mark plus the codec's largest frame if more | the send's [`Overflow`] policy |
/// | `backpressure` | low 32 KiB, high 64 KiB | (reading pauses; see [`WaterMarks`]) |
/// | `backpressure_counts_sends` | on (a client's adapter turns it off) | (whether bytes waiting to be sent count toward the marks) |
/// | `max_transmit_bytes` | 64 KiB | (a batch size, not a limit) |
/// | `idle_timeout` | 5 min | close with `IdleTimeout` |
/// | `heartbeat` | off (no control frames) | close with `HeartbeatTimeout` |
/// | `frame_timeout` | 30 s | close with `FrameTimeout` |
/// | `write_timeout` | 30 s | close with `SlowConsumer` (bytes wait and the socket takes none) |
/// | `close_timeout` | 5 s | queued sends still unwritten are dropped |
/// | `on_bad_frame` | [`BadFramePolicy::Close`] | close with `FrameTooLarge` or `MalformedFrame` |
/// | `max_skipped_frames` | 1024 ([`DEFAULT_MAX_SKIPPED_FRAMES`]) | (under [`BadFramePolicy::Skip`]) the next bad frame closes as under `Close` |
/// | `rate_limit` | off ([`RateLimit::none`]) | the [`RatePolicy`]: pause reading, drop and count, or close with `RateLimited` |
/// | `half_close` | off | (end of stream from the peer: close after [`EndOfStream`](super::SessionEvent::EndOfStream) is polled, or stay open for replies) |
///
/// The queue is bounded by bytes: with back-pressure on and
/// `max_queue_bytes` at least the high mark plus the codec's largest frame
/// ([`check`](Self::check)), an application that answers each message
/// with one no larger never has a reply refused. A message-count limit
/// would break that promise for echoes of tiny messages, which the byte
/// marks allow by the thousand, so there is none by default.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionConfig {
    pub(crate) max_queue_messages: usize,
    /// `None`: automatic (see [`queue_bytes_for`](Self::queue_bytes_for)).
    pub(crate) max_queue_bytes: Option<usize>,
    pub(crate) overflow: Overflow,
    pub(crate) backpressure: Option<WaterMarks>,
    pub(crate) backpressure_counts_sends: bool,
    pub(crate) max_transmit_bytes: usize,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) heartbeat: Option<Heartbeat>,
    pub(crate) frame_timeout: Option<Duration>,
    pub(crate) write_timeout: Option<Duration>,
    pub(crate) close_timeout: Duration,
    pub(crate) half_close: bool,
    pub(crate) on_bad_frame: BadFramePolicy,
    pub(crate) max_skipped_frames: u64,
    pub(crate) rate_limit: RateLimit,
}

/// The send queue's byte limit unless the codec needs more (2 MiB).
pub const DEFAULT_MAX_QUEUE_BYTES: usize = 2 << 20;

/// Default [`WaterMarks`]: 32 KiB low, 64 KiB high.
const DEFAULT_WATER_MARKS: WaterMarks = WaterMarks {
    low: 32 * 1024,
    high: 64 * 1024,
};

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            max_queue_messages: usize::MAX,
            max_queue_bytes: None,
            overflow: Overflow::Reject,
            backpressure: Some(DEFAULT_WATER_MARKS),
            backpressure_counts_sends: true,
            max_transmit_bytes: 64 * 1024,
            idle_timeout: Some(Duration::from_secs(300)),
            heartbeat: None,
            frame_timeout: Some(Duration::from_secs(30)),
            write_timeout: Some(Duration::from_secs(30)),
            close_timeout: Duration::from_secs(5),
            half_close: false,
            on_bad_frame: BadFramePolicy::Close,
            max_skipped_frames: DEFAULT_MAX_SKIPPED_FRAMES,
            rate_limit: RateLimit::none(),
        }
    }
}

impl SessionConfig {
    /// Whether bytes waiting in the send queue count toward the
    /// back-pressure marks (default on), besides the messages the
    /// application has not finished with. On, a session reads no more
    /// requests than its queue can answer: right for a server. Turn it off
    /// for a session whose sends are not answers to what it reads (a
    /// client pipelining requests to a server): if both ends of a
    /// connection stopped reading while their send queues were full, and
    /// more were in flight than the kernels' buffers hold, neither would
    /// read again. The client adapters' default configurations turn it
    /// off.
    pub fn backpressure_counts_sends(mut self, on: bool) -> Self {
        self.backpressure_counts_sends = on;
        self
    }

    /// Most messages the send queue holds (default: no limit; the bytes
    /// bound the queue).
    pub fn max_queue_messages(mut self, max: usize) -> Self {
        self.max_queue_messages = max;
        self
    }

    /// Most wire bytes the send queue holds. By default it is automatic:
    /// [`DEFAULT_MAX_QUEUE_BYTES`], or the high water mark plus the codec's
    /// largest frame if that is more, so every built-in codec preset works
    /// with the default configuration.
    pub fn max_queue_bytes(mut self, max: usize) -> Self {
        self.max_queue_bytes = Some(max);
        self
    }

    /// The send queue's byte limit for a codec whose largest frame is
    /// `max_frame_wire_len` wire bytes: the configured one, or the
    /// automatic one.
    pub fn queue_bytes_for(&self, max_frame_wire_len: Option<usize>) -> usize {
        self.max_queue_bytes.unwrap_or_else(|| {
            let high = self.backpressure.map_or(0, |m| m.high);
            let fit = max_frame_wire_len.map_or(0, |frame| frame.saturating_add(high));
            DEFAULT_MAX_QUEUE_BYTES.max(fit)
        })
    }

    /// This configuration with an automatic queue limit made explicit for
    /// `factory`'s codec (what [`Session::from_factory`](super::Session::from_factory)
    /// would pick): a hub fits its configuration once and shares it.
    pub fn fitted_to<F: MessageFactory>(&self, factory: &F) -> Self {
        let max = self.queue_bytes_for(factory.max_frame_wire_len());
        self.clone().max_queue_bytes(max)
    }

    /// Policy of [`Session::send`](super::Session::send) when the queue is
    /// full (per-send: [`Session::send_with`](super::Session::send_with)).
    pub fn overflow(mut self, policy: Overflow) -> Self {
        self.overflow = policy;
        self
    }

    /// Back-pressure water marks (`None`: reading never pauses, and
    /// [`Session::read_budget`](super::Session::read_budget) is unlimited).
    pub fn backpressure(mut self, marks: Option<WaterMarks>) -> Self {
        self.backpressure = marks;
        self
    }

    /// Most bytes offered to one vectored write (at least one chunk is
    /// always offered).
    pub fn max_transmit_bytes(mut self, max: usize) -> Self {
        self.max_transmit_bytes = max;
        self
    }

    /// Close after this long without receiving a byte (`None`: never). Our
    /// own sends do not count: a dead peer cannot keep a session alive by
    /// being written to.
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Heartbeats (`None`: off, and no control frames on the wire, for
    /// compatibility with plain peers).
    pub fn heartbeat(mut self, heartbeat: Option<Heartbeat>) -> Self {
        self.heartbeat = heartbeat;
        self
    }

    /// Once a frame's first byte arrives, the whole frame must arrive within
    /// this time (`None`: no limit).
    pub fn frame_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.frame_timeout = timeout;
        self
    }

    /// Close with [`SlowConsumer`](super::CloseReason::SlowConsumer) when
    /// bytes wait to be written and the socket has taken none of them for
    /// this long (`None`: never). The clock starts when a driver reports a
    /// write that took nothing
    /// ([`handle_written(0, now)`](super::Session::handle_written)) or a
    /// partial one; every write that makes progress restarts it, and an
    /// empty queue stops it. Applies while closing too.
    pub fn write_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// How long a graceful close waits for queued sends to be written.
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// What end of stream from the peer does. Either way the session
    /// delivers the peer's last messages, then
    /// [`SessionEvent::EndOfStream`](super::SessionEvent::EndOfStream), and stops
    /// reading (no more heartbeat pings: they could not be answered).
    ///
    /// Off (the default): the next [`poll_event`](super::Session::poll_event)
    /// after the one that returned `EndOfStream` closes the session
    /// gracefully with `RemoteClosed`, writing what is queued by then. An
    /// application that answers the last messages before polling again
    /// gets its answers written.
    ///
    /// On: the session stays open for sends, so that a peer that sends a
    /// request and then shuts its side down (as `nc -N` does) can get any
    /// number of replies; the application closes the session when it has
    /// answered (the idle timeout closes it otherwise).
    pub fn half_close(mut self, on: bool) -> Self {
        self.half_close = on;
        self
    }

    /// What a bad frame that can be skipped does: close the session (the
    /// default) or skip it; see [`BadFramePolicy`].
    pub fn on_bad_frame(mut self, policy: BadFramePolicy) -> Self {
        self.on_bad_frame = policy;
        self
    }

    /// Under [`BadFramePolicy::Skip`], most bad frames skipped over the
    /// session's life (default [`DEFAULT_MAX_SKIPPED_FRAMES`]): with `max`
    /// skipped, the next bad frame closes the session as under
    /// [`BadFramePolicy::Close`]. 0 makes `Skip` act as `Close`. Besides
    /// bounding a peer that sends little else, it bounds the work a custom
    /// resolver can cause by reporting a recoverable error without
    /// skipping anything (each report counts).
    pub fn max_skipped_frames(mut self, max: u64) -> Self {
        self.max_skipped_frames = max;
        self
    }

    /// How fast the peer may send application messages and payload
    /// bytes, and what happens past that ([`RateLimit`]). Off by default:
    /// a server's peers are often other servers or load generators that
    /// legitimately send tens of thousands of messages a second, and the
    /// memory a fast peer can make a session hold is already bounded by
    /// back-pressure and the queue limits. Set one for clients on the open
    /// internet (SECURITY.md gives figures for a chat server).
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = limit;
        self
    }

    /// Checks that the limits fit together and with a codec whose largest
    /// frame is `max_frame_wire_len` wire bytes
    /// ([`MessageFactory::max_frame_wire_len`](crate::message::MessageFactory::max_frame_wire_len);
    /// `None`: unknown, not checked): `low <= high`, `high <=
    /// max_queue_bytes`, and `max_queue_bytes >= max_frame_wire_len + high`
    /// (just `max_frame_wire_len` with back-pressure off), which is what
    /// the queue holds at most when an application answers each message
    /// with one no larger.
    pub fn check(&self, max_frame_wire_len: Option<usize>) -> Result<(), ConfigError> {
        let max_queue_bytes = self.queue_bytes_for(max_frame_wire_len);
        let high = match self.backpressure {
            Some(WaterMarks { low, high }) => {
                if low > high {
                    return Err(ConfigError::LowAboveHigh { low, high });
                }
                if high == 0 {
                    return Err(ConfigError::HighIsZero);
                }
                if high > max_queue_bytes {
                    return Err(ConfigError::HighAboveQueue {
                        high,
                        max_queue_bytes,
                    });
                }
                high
            }
            None => 0,
        };
        if let (Some(frame), Some(rate)) = (max_frame_wire_len, self.rate_limit.bytes) {
            // Under Drop or Disconnect a message larger than the byte
            // burst could never be received.
            if self.rate_limit.policy != RatePolicy::Pause && rate.burst_value() < frame as u64 {
                return Err(ConfigError::RateBurstBelowFrame {
                    burst: rate.burst_value(),
                    max_frame_wire_len: frame,
                });
            }
        }
        if let Some(frame) = max_frame_wire_len {
            let required = frame.saturating_add(high);
            if max_queue_bytes < required {
                return Err(ConfigError::QueueTooSmall {
                    max_queue_bytes,
                    max_frame_wire_len: frame,
                    high,
                    required,
                });
            }
        }
        Ok(())
    }
}
