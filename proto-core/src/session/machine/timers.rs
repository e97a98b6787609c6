//! The deadlines of a [`Session`]: idle, heartbeat, frame, write stall
//! and close, and the time passing that fires them.

use std::time::Instant;

use super::{Session, State};
use crate::message::{MessageBuilder, MessageResolver};
use crate::session::CloseReason;
use crate::session::control;

impl<R: MessageResolver, B: MessageBuilder> Session<R, B> {
    /// Time has come to `now`: fires every deadline at or before it.
    pub fn handle_timeout(&mut self, now: Instant) {
        match &self.state {
            State::Closed(_) => return,
            State::Closing { reason, deadline } => {
                // A stall while closing is fatal too, but the first reason
                // stays (as in `fail`).
                if self.due(*deadline, now) || self.due(self.stall_deadline(), now) {
                    let reason = reason.clone();
                    self.finish(reason);
                }
                return;
            }
            State::Open => {}
        }
        self.saw(now);
        if self.due(self.frame_deadline(), now) {
            return self.fail(CloseReason::FrameTimeout);
        }
        if self.due(self.heartbeat_deadline(), now) {
            return self.fail(CloseReason::HeartbeatTimeout);
        }
        if self.due(self.idle_deadline(), now) {
            return self.fail(CloseReason::IdleTimeout);
        }
        if self.due(self.stall_deadline(), now) {
            return self.fail(CloseReason::SlowConsumer);
        }
        if self.due(self.ping_deadline(), now) {
            self.ping_sent = Some(now);
            self.pings.ping(now);
            self.send_control(control::PING);
        }
    }

    /// The next instant at which [`handle_timeout`](Self::handle_timeout)
    /// must be called, or `None` if no deadline is set.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.state {
            State::Closed(_) => None,
            State::Closing { deadline, .. } => [*deadline, self.stall_deadline()]
                .into_iter()
                .flatten()
                .min(),
            State::Open => [
                self.is_rate_held()
                    .then(|| self.rate_ready_at(self.latest))
                    .flatten(),
                self.frame_deadline(),
                self.heartbeat_deadline(),
                self.idle_deadline(),
                self.ping_deadline(),
                self.stall_deadline(),
            ]
            .into_iter()
            .flatten()
            .min(),
        }
    }

    /// Whether the session, not the peer, holds reading up (back-pressure
    /// or the rate limit's pause): the deadlines that wait for the peer do
    /// not run.
    fn holds_reading(&self) -> bool {
        self.paused || self.rate_held
    }

    pub(super) fn due(&self, deadline: Option<Instant>, now: Instant) -> bool {
        deadline.is_some_and(|d| now >= d)
    }

    pub(super) fn frame_deadline(&self) -> Option<Instant> {
        if self.holds_reading() {
            return None;
        }
        Some(self.frame_started? + self.config.frame_timeout?)
    }

    pub(super) fn idle_deadline(&self) -> Option<Instant> {
        if self.holds_reading() {
            return None;
        }
        Some(self.last_recv + self.config.idle_timeout?)
    }

    pub(super) fn heartbeat_deadline(&self) -> Option<Instant> {
        if self.holds_reading() {
            return None;
        }
        Some(self.ping_sent? + self.config.heartbeat?.timeout)
    }

    pub(super) fn ping_deadline(&self) -> Option<Instant> {
        if self.holds_reading() {
            return None;
        }
        if self.input_closed {
            return None;
        }
        let heartbeat = self.config.heartbeat?;
        match self.ping_sent {
            Some(_) => None,
            None => Some(self.last_recv + heartbeat.interval),
        }
    }
}
