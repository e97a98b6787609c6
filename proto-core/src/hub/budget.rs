//! The hub-wide memory budget: bytes queued across all sessions.
//!
//! Each session's send queue is bounded on its own (`max_queue_bytes`);
//! the budget bounds their sum, so that N peers that never read cost at
//! most the budget, not N times the queue limit. A session's charge is its
//! queued bytes rounded up to [`QUANTUM`], so the shared counter moves only
//! when a queue crosses a quantum boundary, not on every send and write.
//!
//! Past the budget, a send is refused (or its session closed, by
//! [`BudgetPolicy`]) only if its session holds more than a fair share
//! (budget / live sessions): the sessions holding the most pay, and a
//! session with a short queue still gets its messages.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Queue bytes are charged in steps of this many.
pub(crate) const QUANTUM: usize = 4 * 1024;

/// What a send does when the hub's memory budget is spent and its session
/// holds more than its fair share of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum BudgetPolicy {
    /// The send fails with [`SendError::OverBudget`](crate::session::SendError::OverBudget);
    /// nothing is queued.
    #[default]
    Refuse,
    /// The session is closed at once with
    /// [`CloseReason::SlowConsumer`](crate::session::CloseReason::SlowConsumer),
    /// freeing its queue; the send fails with `Closed`.
    Disconnect,
}

/// The budget and the send counters every session of a hub shares.
#[derive(Debug)]
pub(crate) struct Ledger {
    max: usize,
    pub(crate) policy: BudgetPolicy,
    /// Charged bytes of all sessions.
    queued: AtomicUsize,
    /// Sessions holding a place in the budget's fair share.
    live: AtomicUsize,
    /// Sends refused over the budget.
    pub(crate) over_budget: AtomicU64,
    /// Sends refused because their session was closing, closed or gone.
    pub(crate) refused_closed: AtomicU64,
}

impl Ledger {
    pub(crate) fn new(max: usize, policy: BudgetPolicy) -> Self {
        Self {
            max,
            policy,
            queued: AtomicUsize::new(0),
            live: AtomicUsize::new(0),
            over_budget: AtomicU64::new(0),
            refused_closed: AtomicU64::new(0),
        }
    }

    /// Bytes charged now, across all sessions.
    pub(crate) fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// The budget.
    pub(crate) fn max(&self) -> usize {
        self.max
    }

    pub(crate) fn session_opened(&self) {
        self.live.fetch_add(1, Ordering::Relaxed);
    }

    /// A session is gone: its charge is returned.
    pub(crate) fn session_closed(&self, charged: &mut usize) {
        self.live.fetch_sub(1, Ordering::Relaxed);
        self.settle(charged, 0);
    }

    /// Whether a session holding `queued` bytes may add `len` more.
    #[inline]
    pub(crate) fn admits(&self, queued: usize, len: usize) -> bool {
        if self.queued() + len <= self.max {
            return true;
        }
        let share = self.max / self.live.load(Ordering::Relaxed).max(1);
        queued + len <= share
    }

    /// Brings a session's charge (`charged`) in line with the bytes it
    /// queues now.
    #[inline]
    pub(crate) fn settle(&self, charged: &mut usize, queued: usize) {
        let target = queued.div_ceil(QUANTUM) * QUANTUM;
        if target > *charged {
            self.queued.fetch_add(target - *charged, Ordering::Relaxed);
        } else if target < *charged {
            self.queued.fetch_sub(*charged - target, Ordering::Relaxed);
        }
        *charged = target;
    }

    pub(crate) fn count_refused_closed(&self) {
        self.refused_closed.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_in_quanta_and_returns_everything() {
        let ledger = Ledger::new(1 << 20, BudgetPolicy::Refuse);
        ledger.session_opened();
        let mut charged = 0;
        ledger.settle(&mut charged, 1);
        assert_eq!((charged, ledger.queued()), (QUANTUM, QUANTUM));
        ledger.settle(&mut charged, QUANTUM);
        assert_eq!(ledger.queued(), QUANTUM);
        ledger.settle(&mut charged, QUANTUM + 1);
        assert_eq!(ledger.queued(), 2 * QUANTUM);
        ledger.session_closed(&mut charged);
        assert_eq!((charged, ledger.queued()), (0, 0));
    }

    #[test]
    fn over_budget_only_the_sessions_over_their_share_are_refused() {
        let max = 8 * QUANTUM;
        let ledger = Ledger::new(max, BudgetPolicy::Refuse);
        ledger.session_opened();
        ledger.session_opened();
        let mut hog = 0;
        ledger.settle(&mut hog, max);
        // Exactly at the budget: admitted; one byte over: only a session
        // within its share (max / 2) may add.
        assert!(ledger.admits(0, 0));
        assert!(!ledger.admits(max, 1));
        assert!(ledger.admits(0, max / 2));
        assert!(!ledger.admits(0, max / 2 + 1));
    }
}
