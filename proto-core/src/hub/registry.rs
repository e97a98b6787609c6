//! The hub's registry: live sessions, groups, admission census, totals.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::task::Waker;
use std::time::Instant;

use super::admission::Census;
use super::credit::AppCredit;
use super::id::IdHash;
use super::{
    AdmissionConfig, CloseRequest, Closed, Groups, Hub, HubStats, Rejected, SessionHandle,
    SessionId, ShutdownReport, Slot, SlotOps, SlotState, Waiters,
};
use crate::message::MessageFactory;
use crate::session::Session;

/// Everything the hub's lock guards.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    pub(crate) sessions: HashMap<SessionId, Arc<dyn SlotOps>, IdHash>,
    pub(crate) groups: Groups,
    pub(crate) census: Census,
    /// Counters of closed sessions, plus accepted/rejected/closed counts.
    pub(crate) stats: HubStats,
    /// Set once shutdown begins.
    pub(crate) shutdown: Option<ShutdownReport>,
    /// Messages queued when shutdown began.
    queued_at_shutdown: u64,
    /// Refused sends and discarded messages when shutdown began.
    pub(crate) counts_at_shutdown: (u64, u64),
    drained: Waiters,
    shutdown_waiters: Waiters,
}

impl Registry {
    pub(crate) fn admit(
        &mut self,
        ip: IpAddr,
        config: &AdmissionConfig,
        now: Instant,
    ) -> Result<(), Rejected> {
        let decision = if self.shutdown.is_some() {
            Err(Rejected::ShuttingDown)
        } else {
            self.census.admit(ip, config, now)
        };
        if let Err(rejected) = &decision {
            *self.stats.rejected.entry(rejected.label()).or_default() += 1;
        }
        decision
    }

    pub(crate) fn handle(&self, id: SessionId) -> Option<SessionHandle> {
        self.sessions
            .get(&id)
            .map(|slot| SessionHandle { slot: slot.clone() })
    }

    pub(crate) fn slots(&self) -> Vec<Arc<dyn SlotOps>> {
        self.sessions.values().cloned().collect()
    }

    /// Adds a session; returns false if shutdown began meanwhile (the
    /// session is registered anyway, so that it is counted and closed).
    pub(crate) fn register(&mut self, slot: Arc<dyn SlotOps>) -> bool {
        self.stats.accepted += 1;
        self.sessions.insert(slot.id(), slot);
        self.shutdown.is_none()
    }

    pub(crate) fn unregister(&mut self, closed: Closed<'_>) -> Waiters {
        // The session's groups are taken in the same step as it leaves the
        // registry: a join, which needs it registered, cannot come between.
        let groups = self
            .sessions
            .remove(&closed.id)
            .map(|slot| slot.take_groups())
            .unwrap_or_default();
        for group in &groups {
            if let Some(members) = self.groups.get_mut(&**group) {
                members.remove(closed.id);
                if members.is_empty() {
                    self.groups.remove(&**group);
                }
            }
        }
        self.stats.add(closed.stats);
        *self.stats.closed.entry(closed.reason.label()).or_default() += 1;
        if let Some(report) = &mut self.shutdown {
            report.dropped += closed.stats.messages_dropped_at_close;
            report.flushed = self.queued_at_shutdown.saturating_sub(report.dropped);
        }
        self.forfeit(closed.peer.ip())
    }

    /// Gives an admission place back (a closed session's, or one that
    /// never opened); returns the wakers to wake if no session is left.
    pub(crate) fn forfeit(&mut self, ip: IpAddr) -> Waiters {
        self.census.leave(ip);
        if self.census.total() == 0 {
            std::mem::take(&mut self.drained)
        } else {
            Vec::new()
        }
    }

    pub(crate) fn join(&mut self, group: &str, id: SessionId) -> bool {
        let Some(slot) = self.sessions.get(&id) else {
            return false;
        };
        let key = match self.groups.get_key_value(group) {
            Some((key, _)) => key.clone(),
            None => Arc::from(group),
        };
        if !slot.join(&key) {
            return false;
        }
        self.groups.entry(key).or_default().insert(slot.clone())
    }

    pub(crate) fn leave(&mut self, group: &str, id: SessionId) -> bool {
        if let Some(slot) = self.sessions.get(&id) {
            slot.leave(group);
        }
        let Some(members) = self.groups.get_mut(group) else {
            return false;
        };
        let removed = members.remove(id);
        if members.is_empty() {
            self.groups.remove(group);
        }
        removed
    }

    pub(crate) fn members(&self, group: &str) -> Vec<SessionId> {
        let mut ids: Vec<_> = self
            .groups
            .get(group)
            .map(|m| m.ids().collect())
            .unwrap_or_default();
        ids.sort_unstable();
        ids
    }

    /// Marks shutdown begun; returns the sessions to close, whose queued
    /// messages the caller counts with no hub-wide lock held and records
    /// with [`queued_at_shutdown`](Self::queued_at_shutdown).
    pub(crate) fn begin_shutdown(&mut self, counts: (u64, u64)) -> Vec<Arc<dyn SlotOps>> {
        self.counts_at_shutdown = counts;
        let slots = self.slots();
        self.queued_at_shutdown = 0;
        self.shutdown = Some(ShutdownReport {
            sessions: slots.len(),
            flushed: 0,
            dropped: 0,
            refused: 0,
            unread: 0,
        });
        for waker in self.shutdown_waiters.drain(..) {
            waker.wake();
        }
        slots
    }

    /// Records the messages queued when shutdown began (see
    /// [`begin_shutdown`](Self::begin_shutdown)).
    pub(crate) fn queued_at_shutdown(&mut self, queued: u64) {
        self.queued_at_shutdown = queued;
        if let Some(report) = &mut self.shutdown {
            report.flushed = queued.saturating_sub(report.dropped);
        }
    }

    pub(crate) fn wait_drained(&mut self, waker: &Waker) {
        if !self.drained.iter().any(|w| w.will_wake(waker)) {
            self.drained.push(waker.clone());
        }
    }

    pub(crate) fn wait_shutdown(&mut self, waker: &Waker) {
        if !self.shutdown_waiters.iter().any(|w| w.will_wake(waker)) {
            self.shutdown_waiters.push(waker.clone());
        }
    }
}

/// A connection the hub has agreed to take: its place is reserved. Open
/// the session with the driver's
/// [`AdmissionExt::open`](crate::driver::AdmissionExt::open); dropping it
/// gives the place back.
pub struct Admission<F: MessageFactory> {
    hub: Option<Hub<F>>,
    peer: SocketAddr,
}

impl<F: MessageFactory> fmt::Debug for Admission<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Admission")
            .field("peer", &self.peer)
            .finish()
    }
}

impl<F: MessageFactory> Admission<F> {
    pub(crate) fn new(hub: Hub<F>, peer: SocketAddr) -> Self {
        Self {
            hub: Some(hub),
            peer,
        }
    }

    /// The peer's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Opens the session and registers it under the hub's next id (1 for
    /// its first session, never reused); returns the hub's side of it, for
    /// the driver to run. If shutdown began since admission, the session
    /// is asked to close at once.
    pub(crate) fn register(mut self, now: Instant) -> Opened<F> {
        let Some(hub) = self.hub.take() else {
            unreachable!("an admission is registered at most once (register takes self)")
        };
        let session =
            Session::from_factory(&hub.inner.factory, Arc::clone(&hub.inner.session), now);
        let ledger = hub.inner.ledger.clone();
        ledger.session_opened();
        let slot = Arc::new(Slot {
            id: hub.inner.ids.next(),
            peer: self.peer,
            state: Mutex::new(SlotState::new(session)),
            credit: AppCredit::default(),
            ledger,
            groups: Mutex::default(),
        });
        if !hub.register(slot.clone()) {
            let _ = slot.request_close(CloseRequest::Shutdown);
        }
        Opened { hub, slot }
    }
}

/// A session the hub has opened and registered, on its way to the driver
/// (which turns it into its `Conn`): the hub and the session's slot.
///
/// Invariant: every `Opened` is turned into a driver's `Conn` at once (the
/// driver's `open` is the only caller of [`Admission::register`]); the
/// `Conn` is what unregisters the session when it ends or is dropped.
#[must_use = "a registered session must be handed to the driver, which unregisters it"]
pub(crate) struct Opened<F: MessageFactory> {
    pub(crate) hub: Hub<F>,
    pub(crate) slot: Arc<Slot<F::Resolver, F::Builder>>,
}

impl<F: MessageFactory> Drop for Admission<F> {
    fn drop(&mut self) {
        if let Some(hub) = self.hub.take() {
            let wakers = super::lock(&hub.inner.registry).forfeit(self.peer.ip());
            for waker in wakers {
                waker.wake();
            }
        }
    }
}
