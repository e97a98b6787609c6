//! [`Observed`]: the room task's counters that a scrape reads from
//! another thread (atomics, no lock; the room task is the only writer).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use std::sync::Arc;

use crate::cluster::LinkStats;
use crate::jobs::StatsHandle;

/// What the room task counts for the metrics.
#[derive(Debug, Default)]
pub struct Observed {
    rooms: AtomicU64,
    members: AtomicU64,
    refused_full: AtomicU64,
    refused_sends: AtomicU64,
    history: OnceLock<StatsHandle>,
    /// The Redis link's counters (all zero when running alone).
    pub link: Arc<LinkStats>,
}

impl Observed {
    /// Rooms with members now.
    pub fn rooms(&self) -> u64 {
        self.rooms.load(Relaxed)
    }

    /// Room members now, across rooms (one per named user).
    pub fn members(&self) -> u64 {
        self.members.load(Relaxed)
    }

    /// Sessions refused because the server was full across both doors.
    pub fn refused_full(&self) -> u64 {
        self.refused_full.load(Relaxed)
    }

    /// Messages sessions refused (queue full, closing), room messages
    /// included.
    pub fn refused_sends(&self) -> u64 {
        self.refused_sends.load(Relaxed)
    }

    /// The history writer's counters, once history is on.
    pub fn history(&self) -> Option<&StatsHandle> {
        self.history.get()
    }

    pub(crate) fn set_rooms(&self, rooms: usize, members: usize) {
        self.rooms.store(rooms as u64, Relaxed);
        self.members.store(members as u64, Relaxed);
    }

    pub(crate) fn count_refused_full(&self) {
        self.refused_full.fetch_add(1, Relaxed);
    }

    /// Counts `n` refused sends; returns the total.
    pub(crate) fn count_refused_sends(&self, n: u64) -> u64 {
        self.refused_sends.fetch_add(n, Relaxed) + n
    }

    pub(crate) fn set_history(&self, stats: StatsHandle) {
        let _ = self.history.set(stats);
    }
}
