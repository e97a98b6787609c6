//! [`RateLimit`]: how fast a peer may send, and what happens past it.

use crate::policy::Rate;

/// Limits on what one session receives: application messages a second,
/// payload bytes a second, or both, each with its burst; and what is done
/// with a message past either. Off by default (see
/// [`SessionConfig::rate_limit`](super::SessionConfig::rate_limit)).
///
/// Only application messages count: heartbeat control frames do not, and
/// their bytes are bounded by the frame deadlines. A message counts once
/// against each limit: one unit of `messages` and its payload length in
/// `bytes`.
///
/// ```
/// use proto_core::policy::Rate;
/// use proto_core::session::{RateLimit, RatePolicy, SessionConfig};
///
/// // A chat user: 20 messages a second on average, 40 at once, and
/// // 64 KiB a second; a client past that is disconnected.
/// let config = SessionConfig::default().rate_limit(
///     RateLimit::messages(Rate::per_second(20).burst(40))
///         .bytes(Rate::per_second(64 * 1024))
///         .policy(RatePolicy::Disconnect),
/// );
/// # let _ = config;
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct RateLimit {
    /// Application messages received (`None`: not limited).
    pub messages: Option<Rate>,
    /// Payload bytes of application messages received (`None`: not
    /// limited).
    pub bytes: Option<Rate>,
    /// What happens to a message past a limit.
    pub policy: RatePolicy,
}

impl RateLimit {
    /// No limit (the default).
    pub const fn none() -> Self {
        Self {
            messages: None,
            bytes: None,
            policy: RatePolicy::Pause,
        }
    }

    /// A limit on messages a second, under [`RatePolicy::Pause`].
    pub const fn messages(rate: Rate) -> Self {
        Self {
            messages: Some(rate),
            ..Self::none()
        }
    }

    /// Also limits payload bytes a second.
    pub const fn bytes(mut self, rate: Rate) -> Self {
        self.bytes = Some(rate);
        self
    }

    /// What happens past a limit.
    pub const fn policy(mut self, policy: RatePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Whether any limit is set.
    pub const fn is_limited(&self) -> bool {
        self.messages.is_some() || self.bytes.is_some()
    }
}

/// What a session does with a message that arrives past its
/// [`RateLimit`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RatePolicy {
    /// Deliver it, then stop reading until the peer is back within the
    /// rate: the peer's TCP send buffer fills and it slows down, losing
    /// nothing. Counted in
    /// [`SessionStats::rate_pauses`](super::SessionStats::rate_pauses).
    /// The deadlines that wait for the peer (idle, frame, heartbeat) do
    /// not run meanwhile, as under back-pressure. The default.
    #[default]
    Pause,
    /// Drop it, count it in
    /// [`SessionStats::messages_rate_dropped`](super::SessionStats::messages_rate_dropped),
    /// and go on reading.
    Drop,
    /// Close the session at once with
    /// [`CloseReason::RateLimited`](super::CloseReason::RateLimited).
    Disconnect,
}
