//! [`SessionConfig`]: every limit and timeout of a session, with safe
//! defaults.

use std::time::Duration;

use super::Overflow;

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

/// Limits and timeouts of one session. `Default` plus chained setters.
///
/// | field | default | breach |
/// | --- | --- | --- |
/// | `max_queue_messages` | 1024 | the send's [`Overflow`] policy |
/// | `max_queue_bytes` | 1 MiB | the send's [`Overflow`] policy |
/// | `max_transmit_bytes` | 64 KiB | (a batch size, not a limit) |
/// | `idle_timeout` | 5 min | close with `IdleTimeout` |
/// | `heartbeat` | off (no control frames) | close with `HeartbeatTimeout` |
/// | `frame_timeout` | 30 s | close with `FrameTimeout` |
/// | `close_timeout` | 5 s | queued sends still unwritten are dropped |
/// | `half_close` | off | (end of stream from the peer: close, or stay open for replies) |
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionConfig {
    pub(crate) max_queue_messages: usize,
    pub(crate) max_queue_bytes: usize,
    pub(crate) overflow: Overflow,
    pub(crate) max_transmit_bytes: usize,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) heartbeat: Option<Heartbeat>,
    pub(crate) frame_timeout: Option<Duration>,
    pub(crate) close_timeout: Duration,
    pub(crate) half_close: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            max_queue_messages: 1024,
            max_queue_bytes: 1 << 20,
            overflow: Overflow::Reject,
            max_transmit_bytes: 64 * 1024,
            idle_timeout: Some(Duration::from_secs(300)),
            heartbeat: None,
            frame_timeout: Some(Duration::from_secs(30)),
            close_timeout: Duration::from_secs(5),
            half_close: false,
        }
    }
}

impl SessionConfig {
    /// Most messages the send queue holds.
    pub fn max_queue_messages(mut self, max: usize) -> Self {
        self.max_queue_messages = max;
        self
    }

    /// Most wire bytes the send queue holds.
    pub fn max_queue_bytes(mut self, max: usize) -> Self {
        self.max_queue_bytes = max;
        self
    }

    /// Policy of [`Session::send`](super::Session::send) when the queue is
    /// full (per-send: [`Session::send_with`](super::Session::send_with)).
    pub fn overflow(mut self, policy: Overflow) -> Self {
        self.overflow = policy;
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

    /// How long a graceful close waits for queued sends to be written.
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// What end of stream from the peer does. Off (the default): the
    /// session closes gracefully with `RemoteClosed`, writing what is
    /// already queued but refusing new sends. On: the session stays open
    /// for sends and emits [`Event::EndOfStream`](super::Event::EndOfStream)
    /// after the peer's last message, so that a peer that sends a request
    /// and then shuts its side down (as `nc -N` does) still gets the reply;
    /// the application closes the session when it has answered (the idle
    /// timeout closes it otherwise; heartbeat pings stop).
    pub fn half_close(mut self, on: bool) -> Self {
        self.half_close = on;
        self
    }
}
