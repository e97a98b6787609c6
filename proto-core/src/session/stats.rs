//! [`SessionStats`]: per-session counters, always on.

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
    /// Application messages fully written.
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
}
