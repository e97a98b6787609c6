//! A [`Session`]'s [`RateLimit`](crate::session::RateLimit): what a peer's
//! messages are charged, and when reading may go on.

use std::time::Instant;

use super::{Session, State};
use crate::message::{MessageBuilder, MessageResolver};
use crate::policy::RateMeter;
use crate::session::{CloseReason, RateLimit, RatePolicy};

/// The meters of a session's rate limit (boxed in the session, which
/// holds `None` when no limit is set).
#[derive(Debug, Default)]
pub(super) struct RateMeters {
    messages: RateMeter,
    bytes: RateMeter,
}

impl RateMeters {
    /// Whether a message of `len` bytes fits both of `limit`'s rates.
    fn allow(&self, limit: &RateLimit, len: u64, now: Instant) -> bool {
        let messages = limit
            .messages
            .is_none_or(|rate| self.messages.allows(&rate, 1, now));
        messages
            && limit
                .bytes
                .is_none_or(|rate| self.bytes.allows(&rate, len, now))
    }

    /// Charges a message of `len` bytes to both of `limit`'s rates.
    fn take(&mut self, limit: &RateLimit, len: u64, now: Instant) {
        if let Some(rate) = &limit.messages {
            self.messages.take(rate, 1, now);
        }
        if let Some(rate) = &limit.bytes {
            self.bytes.take(rate, len, now);
        }
    }
}

/// What [`Session::rate_admits`] decided for a message.
pub(super) enum Admit {
    Deliver,
    Drop,
    Close,
}

impl<R: MessageResolver, B: MessageBuilder> Session<R, B> {
    /// Charges a received application message of `len` payload bytes to
    /// the rate limit.
    #[inline(never)]
    pub(super) fn rate_admits(&mut self, len: usize, now: Instant) -> Admit {
        let limit = self.config.rate_limit;
        let Some(meters) = self.rate.as_deref_mut() else {
            return Admit::Deliver;
        };
        let len = len as u64;
        // Pause charges every message (reading waits for the debt to be
        // paid); the others charge only what they let through.
        let within = limit.policy == RatePolicy::Pause || meters.allow(&limit, len, now);
        if within {
            meters.take(&limit, len, now);
            return Admit::Deliver;
        }
        if limit.policy == RatePolicy::Drop {
            self.stats.messages_rate_dropped += 1;
            Admit::Drop
        } else {
            self.fail(CloseReason::RateLimited);
            Admit::Close
        }
    }

    /// Under [`RatePolicy::Pause`], when reading may go on, if the peer is
    /// past its rate as of `now` (it sent more than a burst ahead of the
    /// rate; a peer within it is never held).
    pub(super) fn rate_ready_at(&self, now: Instant) -> Option<Instant> {
        let meters = self.rate.as_deref()?;
        let limit = &self.config.rate_limit;
        let messages = limit
            .messages
            .and_then(|rate| meters.messages.over_until(&rate, now));
        let bytes = limit
            .bytes
            .and_then(|rate| meters.bytes.over_until(&rate, now));
        messages.max(bytes)
    }

    /// Whether reading waits for the peer to be back within its rate (as
    /// of the latest time the session saw). Only an open session that
    /// still reads is held: once closing, or after end of stream, there
    /// is nothing to hold.
    pub fn is_rate_held(&self) -> bool {
        self.state == State::Open && !self.input_closed && self.rate_ready_at(self.latest).is_some()
    }
}
