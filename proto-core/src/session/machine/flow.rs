//! Flow control of a [`Session`]: the read budget under the back-pressure
//! water marks, the write-stall deadline, and the ways to close with the
//! queue in mind (a caller's deadline, a last word past the limits).

use std::time::Instant;

use bytes::Bytes;

use super::{Session, State, encode_data};
use crate::message::{MessageBuilder, MessageResolver};
use crate::session::queue::Pushed;
use crate::session::{CloseReason, SendError, WaterMarks};

impl<R: MessageResolver, B: MessageBuilder> Session<R, B> {
    /// How many bytes the driver may read from the socket now.
    ///
    /// `pending` is the cost (see [`message_cost`](crate::session::message_cost))
    /// of the messages the driver handed to the application and the
    /// application has not taken yet (0 for an application that handles
    /// each message as it is polled). The budget is `high - used`, where
    /// `used` is the send queue's wire bytes, plus the cost of the messages
    /// received and not yet polled, plus `pending`. Once `used` reaches the
    /// high mark the budget is 0 until `used` falls to the low mark
    /// ([`is_paused`](Self::is_paused) tells which).
    ///
    /// Unlimited (`usize::MAX`) with back-pressure off; 0 once closed and
    /// after end of stream, and while the peer is past its
    /// [`RateLimit`](crate::session::RateLimit) under
    /// [`RatePolicy::Pause`](crate::session::RatePolicy::Pause) (until the
    /// instant [`poll_timeout`](Self::poll_timeout) then includes).
    ///
    /// Contract: a driver that reads at most this many bytes per read keeps
    /// the send queue plus `pending` at or below `high` plus the codec's
    /// largest frame on the wire, for an application that answers each
    /// message with messages no bigger than it (a partial frame read within
    /// the budget may complete later). The budget does not count bytes of
    /// a partial frame, so a frame larger than `high` still completes.
    ///
    /// While paused, the deadlines that wait for the peer (idle, frame,
    /// heartbeat) do not run: the session, not the peer, holds things up.
    /// They start afresh, from the latest time the session saw, when
    /// reading resumes. A peer that stops reading is caught by the
    /// `write_timeout` instead.
    pub fn read_budget(&mut self, pending: usize) -> usize {
        let (budget, paused) = self.budget(pending);
        let rate_held = self.is_rate_held();
        if (self.paused || self.rate_held) && !(paused || rate_held) {
            self.last_recv = self.latest;
            self.ping_sent = None;
            if self.frame_started.is_some() {
                self.frame_started = Some(self.latest);
            }
        }
        if rate_held && !self.rate_held {
            self.stats.rate_pauses += 1;
        }
        self.paused = paused;
        self.rate_held = rate_held;
        if rate_held { 0 } else { budget }
    }

    /// [`read_budget`](Self::read_budget) without moving the hysteresis: what
    /// a read now would be allowed, for a harness (the simulator of
    /// `proto-testkit`) that asks before it reads.
    pub fn peek_read_budget(&self, pending: usize) -> usize {
        if self.is_rate_held() {
            return 0;
        }
        self.budget(pending).0
    }

    /// The send queue's bytes as back-pressure counts them: all of them,
    /// or none with [`SessionConfig::backpressure_counts_sends`](crate::session::SessionConfig::backpressure_counts_sends)
    /// off.
    pub fn paced_queue_bytes(&self) -> usize {
        if self.config.backpressure_counts_sends {
            self.queue.bytes()
        } else {
            0
        }
    }

    /// Whether reading is paused by the water marks (as of the last
    /// [`read_budget`](Self::read_budget)).
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// The budget and whether reading is paused after this call.
    fn budget(&self, pending: usize) -> (usize, bool) {
        if matches!(self.state, State::Closed(_)) || self.input_closed {
            return (0, self.paused);
        }
        let Some(WaterMarks { low, high }) = self.config.backpressure else {
            return (usize::MAX, false);
        };
        let used = self
            .paced_queue_bytes()
            .saturating_add(self.messages.cost())
            .saturating_add(pending);
        if self.paused && used > low {
            return (0, true);
        }
        if used >= high {
            return (0, true);
        }
        (high - used, false)
    }

    /// Closes gracefully like [`close`](Self::close), with the close
    /// deadline chosen by the caller: `None` waits for ever for the queue to
    /// drain (the caller keeps a deadline of its own, such as a hub's
    /// shutdown grace period, and [`abort`](Self::abort)s when it passes;
    /// the `write_timeout` still applies). Does nothing if already closing
    /// or closed.
    pub fn close_until(&mut self, reason: CloseReason, now: Instant, deadline: Option<Instant>) {
        if self.state != State::Open {
            return;
        }
        self.saw(now);
        // A protocol's own goodbye (a WebSocket close frame) goes out after
        // what is queued. The built-in codecs have none; one that cannot be
        // encoded is left out, and the connection still closes.
        let going_away = reason == CloseReason::Shutdown;
        let builder = &mut self.builder;
        let _ = self
            .queue
            .push_control(|wire| builder.encode_goodbye(going_away, wire));
        if self.queue.is_empty() {
            self.finish(reason);
        } else {
            self.state = State::Closing { reason, deadline };
        }
    }

    /// Queues `payload` as the session's last message and closes gracefully
    /// with `reason` (as [`close`](Self::close)): a goodbye such as "server
    /// full" or "kicked". The payload is queued even when the queue is at
    /// its limits: it is counted in the queue, and it is the one message
    /// allowed past them (no send can follow it).
    ///
    /// Errors: [`SendError::Closed`] if the session is already closing or
    /// closed; [`SendError::Frame`] if the codec cannot frame the payload,
    /// in which case the session stays open (send something shorter, or
    /// close).
    pub fn send_final(
        &mut self,
        payload: Bytes,
        reason: CloseReason,
        now: Instant,
    ) -> Result<(), SendError> {
        if self.state != State::Open {
            return Err(SendError::Closed);
        }
        let heartbeat = self.config.heartbeat.is_some();
        let wire = self.queue.tail_wire();
        let before = wire.len();
        encode_data(&mut self.builder, heartbeat, payload, wire).map_err(SendError::Frame)?;
        self.queue.commit_unbounded(before);
        self.pushed(Ok(Pushed::Queued))?;
        self.close(reason, now);
        Ok(())
    }

    /// When a write stall closes the session: `write_timeout` after the
    /// socket last took nothing (or last made progress) with bytes waiting.
    pub(super) fn stall_deadline(&self) -> Option<Instant> {
        if self.queue.is_empty() {
            return None;
        }
        self.stall_start?.checked_add(self.config.write_timeout?)
    }

    /// Notes `now` as the latest time seen.
    #[inline]
    pub(super) fn saw(&mut self, now: Instant) {
        if now > self.latest {
            self.latest = now;
        }
    }
}
