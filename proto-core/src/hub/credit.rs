//! What a session has handed to the application and the application has
//! not finished with: the part of back-pressure that lives between a
//! driver and the [`Events`](super::Events) stream.
//!
//! Every event a driver puts in the stream carries a [`Credit`] for its
//! cost ([`message_cost`](crate::session::message_cost) of the payload).
//! The stream keeps the credit of the event it handed out last until the
//! application asks for the next one, so an application that handles each
//! event before asking for the next (a `while let Some(e) = events.recv()`
//! loop) has sent its replies before the credit returns. Dropping a credit
//! returns it, on every path: taken, discarded, or left in a dropped
//! stream.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Waker;

use super::lock;

/// No driver waits on the application.
const NOT_WAITING: usize = usize::MAX;

/// One session's cost in the application's hands, and where its driver
/// waits for it to fall.
///
/// Its waker has a lock of its own, taken by nothing else, so a credit can
/// be returned under any other lock (the event queue's, a session's).
#[derive(Debug)]
pub(crate) struct AppCredit {
    /// Cost handed to the application and not yet returned.
    pending: AtomicUsize,
    /// Wake the driver once `pending` is at or below this (or
    /// [`NOT_WAITING`]).
    wake_at: AtomicUsize,
    waker: Mutex<Option<Waker>>,
}

impl Default for AppCredit {
    fn default() -> Self {
        Self {
            pending: AtomicUsize::new(0),
            wake_at: AtomicUsize::new(NOT_WAITING),
            waker: Mutex::new(None),
        }
    }
}

impl AppCredit {
    /// Cost now in the application's hands.
    pub(crate) fn pending(&self) -> usize {
        self.pending.load(Ordering::SeqCst)
    }

    /// Asks to be woken once the pending cost is at or below `level`;
    /// returns false (and asks nothing) if it already is.
    pub(crate) fn wait_for(&self, level: usize, waker: &Waker) -> bool {
        {
            let mut slot = lock(&self.waker);
            if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
                *slot = Some(waker.clone());
            }
        }
        self.wake_at.store(level, Ordering::SeqCst);
        // Re-checked after publishing the level: a credit returned in
        // between either sees the level or is seen here.
        if self.pending.load(Ordering::SeqCst) <= level {
            self.wake_at.store(NOT_WAITING, Ordering::SeqCst);
            return false;
        }
        true
    }

    fn add(&self, cost: usize) {
        self.pending.fetch_add(cost, Ordering::SeqCst);
    }

    /// Returns `cost`, waking the driver if it waits for this.
    fn sub(&self, cost: usize) {
        let left = self.pending.fetch_sub(cost, Ordering::SeqCst) - cost;
        let level = self.wake_at.load(Ordering::SeqCst);
        if left <= level && self.wake_at.swap(NOT_WAITING, Ordering::SeqCst) != NOT_WAITING {
            let waker = lock(&self.waker).take();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

/// What holds a session's [`AppCredit`] (its hub slot, which keeps it
/// inline rather than in an allocation of its own).
pub(crate) trait HasCredit: Send + Sync {
    /// The session's application credit.
    fn app_credit(&self) -> &AppCredit;
}

/// An event's cost, returned to its session when dropped.
pub(crate) struct Credit {
    of: Arc<dyn HasCredit>,
    cost: usize,
}

impl Credit {
    /// Charges `cost` to the application credit of `of`.
    pub(crate) fn new(of: Arc<dyn HasCredit>, cost: usize) -> Self {
        of.app_credit().add(cost);
        Self { of, cost }
    }
}

impl std::fmt::Debug for Credit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credit").field("cost", &self.cost).finish()
    }
}

impl Drop for Credit {
    fn drop(&mut self) {
        self.of.app_credit().sub(self.cost);
    }
}
