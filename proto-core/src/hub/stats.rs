//! [`HubStats`]: counters of a whole hub.

use std::collections::BTreeMap;

use crate::session::SessionStats;

/// A snapshot of a hub's counters: sessions live, accepted, refused and
/// closed (by reason), and the traffic of every session, live or closed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HubStats {
    /// Sessions registered now.
    pub live: usize,
    /// Sessions ever registered.
    pub accepted: u64,
    /// Connections refused, by [`Rejected`](super::Rejected) kind
    /// (`"too_many_sessions"`, `"too_many_from_ip"`, `"shutting_down"`).
    pub rejected: BTreeMap<&'static str, u64>,
    /// Accept calls that failed (e.g. out of file descriptors), as the
    /// adapters' listeners report them with
    /// [`Hub::record_accept_error`](super::Hub::record_accept_error).
    pub accept_errors: u64,
    /// Sessions closed, by [`CloseReason::label`](crate::session::CloseReason::label).
    pub closed: BTreeMap<&'static str, u64>,
    /// Bytes received by all sessions.
    pub bytes_in: u64,
    /// Bytes written by all sessions.
    pub bytes_out: u64,
    /// Messages received by all sessions.
    pub messages_in: u64,
    /// Messages written by all sessions (as
    /// [`SessionStats::messages_out`](crate::session::SessionStats::messages_out)
    /// counts them: a moment after the socket took them).
    pub messages_out: u64,
    /// Sends refused because a queue was full.
    pub sends_rejected: u64,
    /// Messages dropped because their session closed first.
    pub messages_dropped_at_close: u64,
    /// Highest queue high-water mark of any session, in messages.
    pub queue_high_water_messages: usize,
    /// Highest queue high-water mark of any session, in bytes.
    pub queue_high_water_bytes: usize,
    /// Sends refused because their session was closing, closed or gone.
    pub sends_refused_closed: u64,
    /// Sends refused (or sessions disconnected) over the hub's memory
    /// budget.
    pub sends_over_budget: u64,
    /// Bytes queued for sending across all sessions now, as charged to the
    /// memory budget (in steps of 4 KiB per session).
    pub queued_bytes: usize,
    /// Messages dropped past a session's rate limit
    /// ([`RatePolicy::Drop`](crate::session::RatePolicy::Drop)).
    pub messages_rate_dropped: u64,
    /// Times a session stopped reading because its peer was past its rate
    /// limit ([`RatePolicy::Pause`](crate::session::RatePolicy::Pause)).
    pub rate_pauses: u64,
    /// Messages received and decoded that the application has not taken:
    /// waiting in the event stream, or discarded (the stream or a driver
    /// was dropped).
    pub messages_unread: u64,
}

impl HubStats {
    /// Adds one session's counters.
    pub(crate) fn add(&mut self, s: &SessionStats) {
        self.bytes_in += s.bytes_in;
        self.bytes_out += s.bytes_out;
        self.messages_in += s.messages_in;
        self.messages_out += s.messages_out;
        self.sends_rejected += s.sends_rejected;
        self.messages_dropped_at_close += s.messages_dropped_at_close;
        self.messages_rate_dropped += s.messages_rate_dropped;
        self.rate_pauses += s.rate_pauses;
        self.queue_high_water_messages = self
            .queue_high_water_messages
            .max(s.queue_high_water_messages);
        self.queue_high_water_bytes = self.queue_high_water_bytes.max(s.queue_high_water_bytes);
    }
}

/// What a graceful shutdown achieved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ShutdownReport {
    /// Sessions that were live when shutdown began.
    pub sessions: usize,
    /// Messages queued when shutdown began that were written before their
    /// session closed.
    pub flushed: u64,
    /// Messages queued when shutdown began that were never written (the
    /// deadline passed, or the connection failed first).
    pub dropped: u64,
    /// Sends refused since shutdown began (queue full, over budget, or
    /// session closing): replies the application tried to send and could
    /// not.
    pub refused: u64,
    /// Messages received that the application did not take from the event
    /// stream: still waiting in it when the report is made, or discarded
    /// since shutdown began. Handle events until the stream ends to make
    /// it 0.
    pub unread: u64,
}
