//! [`SessionStats`]: per-session counters, always on.

use std::time::Duration;

/// Counters of one session. Plain integers updated in place: cheap enough to
/// be always on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SessionStats {
    /// Bytes received.
    pub bytes_in: u64,
    /// Bytes written to the socket.
    pub bytes_out: u64,
    /// Application messages delivered.
    pub messages_in: u64,
    /// Application messages fully written. Counted once the driver, back
    /// from the socket call (made with the session's lock released), reports
    /// what the socket took: a peer may read a message a moment before it
    /// is counted here; the count is exact once the session is closed.
    pub messages_out: u64,
    /// Most messages ever queued at once.
    pub queue_high_water_messages: usize,
    /// Most wire bytes ever queued at once.
    pub queue_high_water_bytes: usize,
    /// Sends refused because the queue was full.
    pub sends_rejected: u64,
    /// Queued messages replaced by a newer one (`KeepLatest`).
    pub messages_replaced: u64,
    /// Queued messages never written because the session closed first.
    pub messages_dropped_at_close: u64,
    /// Bad frames skipped under
    /// [`BadFramePolicy::Skip`](super::BadFramePolicy::Skip) (the one that
    /// closed a session past `max_skipped_frames` is not counted).
    pub frames_skipped: u64,
    /// Messages dropped past the rate limit under
    /// [`RatePolicy::Drop`](super::RatePolicy::Drop).
    pub messages_rate_dropped: u64,
    /// Times reading stopped because the peer was past its rate limit,
    /// under [`RatePolicy::Pause`](super::RatePolicy::Pause).
    pub rate_pauses: u64,
    /// Round-trip time of the last heartbeat ping the peer answered: from
    /// the ping being queued to its pong being received (so it includes
    /// time in our send queue and the peer's). `None` until a pong answers
    /// a ping (always with heartbeats off). Pongs carry no id: a pong
    /// answers the oldest unanswered ping, and one ping at a time is timed
    /// (a ping sent while an earlier one is unanswered is not).
    pub heartbeat_rtt: Option<Duration>,
    /// The smallest [`heartbeat_rtt`](Self::heartbeat_rtt) seen.
    pub heartbeat_rtt_min: Option<Duration>,
    /// [`heartbeat_rtt`](Self::heartbeat_rtt) smoothed as TCP smooths its
    /// round-trip time (RFC 6298): the first sample, then `7/8` of the
    /// previous value plus `1/8` of each new sample.
    pub heartbeat_rtt_smoothed: Option<Duration>,
}

impl SessionStats {
    /// Records one heartbeat round trip.
    pub(crate) fn record_rtt(&mut self, rtt: Duration) {
        self.heartbeat_rtt = Some(rtt);
        self.heartbeat_rtt_min = Some(self.heartbeat_rtt_min.map_or(rtt, |min| min.min(rtt)));
        self.heartbeat_rtt_smoothed = Some(
            self.heartbeat_rtt_smoothed
                .map_or(rtt, |srtt| srtt * 7 / 8 + rtt / 8),
        );
    }
}
