//! [`LinkStats`]: the Redis link's counters, for the metrics.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

/// What the Redis link has done (atomics: the link thread writes, a
/// scrape reads).
#[derive(Debug, Default)]
pub struct LinkStats {
    up: AtomicBool,
    pub(super) publishes: AtomicU64,
    pub(super) publishes_lost: AtomicU64,
    pub(super) receives: AtomicU64,
    pub(super) receives_dropped: AtomicU64,
    pub(super) reconnects: AtomicU64,
    pub(super) outages: AtomicU64,
}

impl LinkStats {
    /// Whether the link to Redis is up now.
    pub fn is_up(&self) -> bool {
        self.up.load(Relaxed)
    }

    /// Envelopes published.
    pub fn publishes(&self) -> u64 {
        self.publishes.load(Relaxed)
    }

    /// Envelopes not published: Redis was down (or the publish failed),
    /// or the link's queue was full. Lost, by design: pub/sub keeps
    /// nothing for later.
    pub fn publishes_lost(&self) -> u64 {
        self.publishes_lost.load(Relaxed)
    }

    /// Envelopes received from other instances.
    pub fn receives(&self) -> u64 {
        self.receives.load(Relaxed)
    }

    /// Envelopes received and dropped: the room task's queue was full,
    /// or the bytes were not an envelope.
    pub fn receives_dropped(&self) -> u64 {
        self.receives_dropped.load(Relaxed)
    }

    /// Times the link came back after an outage.
    pub fn reconnects(&self) -> u64 {
        self.reconnects.load(Relaxed)
    }

    /// Outages seen (each logged once).
    pub fn outages(&self) -> u64 {
        self.outages.load(Relaxed)
    }

    pub(super) fn set_up(&self, up: bool) {
        self.up.store(up, Relaxed);
    }

    pub(super) fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }
}
