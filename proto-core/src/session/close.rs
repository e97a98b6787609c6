//! [`CloseReason`]: why a session ended.

use std::fmt;
use std::io;

use crate::frame::FrameError;

/// Why a session closed. The first reason given wins; later close requests
/// change nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The application closed the session.
    Local,
    /// The peer closed its side (end of stream).
    RemoteClosed,
    /// The connection failed: reset, broken pipe, or another I/O error.
    Io(io::ErrorKind),
    /// The server is shutting down.
    Shutdown,
    /// Nothing was received for `idle_timeout`.
    IdleTimeout,
    /// Heartbeats are on and nothing arrived within `heartbeat_timeout` of a
    /// ping.
    HeartbeatTimeout,
    /// A frame began and did not complete within `frame_timeout`.
    FrameTimeout,
    /// The peer announced a frame over the codec's maximum.
    FrameTooLarge {
        /// The announced length.
        length: u64,
        /// The configured maximum.
        max: usize,
    },
    /// The peer sent bytes the codec or the control layer cannot decode.
    MalformedFrame(FrameError),
    /// The send queue overflowed under the `Disconnect` policy.
    SlowConsumer,
    /// The peer exceeded a rate limit.
    RateLimited,
}

impl CloseReason {
    /// The close reason for a decode error.
    pub fn from_frame_error(err: FrameError) -> Self {
        match err {
            FrameError::FrameTooLarge { length, max } => Self::FrameTooLarge { length, max },
            other => Self::MalformedFrame(other),
        }
    }

    /// A short stable name for the reason's kind, for counters and logs:
    /// `local`, `remote_closed`, `io`, `shutdown`, `idle_timeout`,
    /// `heartbeat_timeout`, `frame_timeout`, `frame_too_large`,
    /// `malformed_frame`, `slow_consumer`, `rate_limited`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::RemoteClosed => "remote_closed",
            Self::Io(_) => "io",
            Self::Shutdown => "shutdown",
            Self::IdleTimeout => "idle_timeout",
            Self::HeartbeatTimeout => "heartbeat_timeout",
            Self::FrameTimeout => "frame_timeout",
            Self::FrameTooLarge { .. } => "frame_too_large",
            Self::MalformedFrame(_) => "malformed_frame",
            Self::SlowConsumer => "slow_consumer",
            Self::RateLimited => "rate_limited",
        }
    }

    /// Whether this reason is a fault (of the peer, the network or a limit)
    /// rather than an orderly close by either side or by shutdown.
    pub fn is_fault(&self) -> bool {
        !matches!(self, Self::Local | Self::RemoteClosed | Self::Shutdown)
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local => f.write_str("closed locally"),
            Self::RemoteClosed => f.write_str("closed by the peer"),
            Self::Io(kind) => write!(f, "connection error: {kind}"),
            Self::Shutdown => f.write_str("server shutting down"),
            Self::IdleTimeout => f.write_str("idle timeout: nothing received"),
            Self::HeartbeatTimeout => f.write_str("heartbeat timeout: no answer to ping"),
            Self::FrameTimeout => f.write_str("frame timeout: frame not completed in time"),
            Self::FrameTooLarge { length, max } => {
                write!(f, "frame of {length} bytes exceeds max_frame_length {max}")
            }
            Self::MalformedFrame(err) => write!(f, "malformed frame: {err}"),
            Self::SlowConsumer => f.write_str("slow consumer: send queue full"),
            Self::RateLimited => f.write_str("rate limited"),
        }
    }
}
