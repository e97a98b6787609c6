//! A [`Session`]'s [`RateLimit`](crate::session::RateLimit): what a peer's
//! messages are charged, and when reading may go on.

use std::time::Instant;

use super::{Session, State};
use crate::message::{MessageBuilder, MessageResolver};
use crate::policy::RateMeter;
use crate::session::{CloseReason, RatePolicy};

/// The meters of a session's rate limit (boxed in the session, which
/// holds `None` when no limit is set).
#[derive(Debug, Default)]
pub(super) struct RateMeters {
    messages: RateMeter,
    bytes: RateMeter,
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
        match limit.policy {
            RatePolicy::Pause => {
                if let Some(rate) = &limit.messages {
                    meters.messages.take(rate, 1, now);
                }
                if let Some(rate) = &limit.bytes {
                    meters.bytes.take(rate, len, now);
                }
                Admit::Deliver
            }
            policy => {
                let within = limit
                    .messages
                    .is_none_or(|rate| meters.messages.allows(&rate, 1, now))
                    && limit
                        .bytes
                        .is_none_or(|rate| meters.bytes.allows(&rate, len, now));
                if within {
                    if let Some(rate) = &limit.messages {
                        meters.messages.take(rate, 1, now);
                    }
                    if let Some(rate) = &limit.bytes {
                        meters.bytes.take(rate, len, now);
                    }
                    Admit::Deliver
                } else if policy == RatePolicy::Drop {
                    self.stats.messages_rate_dropped += 1;
                    Admit::Drop
                } else {
                    self.fail(CloseReason::RateLimited);
                    Admit::Close
                }
            }
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
