//! The hub: every live session of a server (or client), by id.
//!
//! A [`Hub`] admits connections against its [`AdmissionConfig`] (race-free:
//! the decision and the reservation happen under one lock), registers each
//! session under a [`SessionId`] it never reuses (numbered from 1 per hub), hands out [`SessionHandle`]s
//! that any task or thread can send through, keeps groups (rooms) with
//! automatic leave on close, broadcasts a payload framed once to many
//! sessions, counts everything ([`HubStats`]) and runs graceful shutdown.
//! All sessions' [`Event`]s arrive in one bounded [`Events`] stream.
//!
//! The hub does no I/O and reads no clock, and knows nothing of the layer
//! above it: runtime adapters drive each session with [`crate::driver`];
//! they call [`Hub::admit`] for each new connection and the driver's
//! [`AdmissionExt::open`](crate::driver::AdmissionExt::open) to register
//! it and get the driver's side of it.
//!
//! ```
//! use std::time::Instant;
//!
//! use bytes::Bytes;
//! use proto_core::driver::AdmissionExt;
//! use proto_core::frame::LengthField;
//! use proto_core::hub::{Hub, HubConfig};
//!
//! let (hub, _events) = Hub::new(LengthField::laster40net(), HubConfig::default())?;
//! let peer = "127.0.0.1:5000".parse()?;
//! let conn = hub.admit(peer, Instant::now())?.open(Instant::now());
//! let id = conn.id();
//! hub.join("lobby", id);
//! let report = hub.broadcast_group("lobby", Bytes::from_static(b"welcome"))?;
//! assert_eq!(report.delivered, 1);
//! assert_eq!(hub.get(id).map(|h| h.queued()), Some((1, 11)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Lock order
//!
//! Locks are taken in this order, never the other way round:
//!
//! 1. the registry lock (sessions, groups, admission census, totals:
//!    hub-wide);
//! 2. one session's lock (its slot: the session state machine, its
//!    wakers). The driver holds it for a turn's state-machine calls only:
//!    **no socket call is made under any lock**. It reads with the lock
//!    released, and writes a batch it took under the lock as shared
//!    chunks, with the lock released, then takes it again to report what
//!    the socket took (sends made meanwhile queue behind the batch and
//!    never replace a message in it; a close meanwhile drops the queue,
//!    and the report then does nothing). Flushes and shutdowns are made
//!    with the lock released too;
//! 3. leaves, under which nothing else is taken: a session's group list,
//!    the event queue's lock, an application credit's waker lock (and the
//!    hub's broadcast builder, taken with no other lock held).
//!
//! No session's lock is ever taken under the registry lock, so a hub-wide
//! operation never waits on a session's driver while it holds the
//! registry: [`Hub::send`], broadcasts, [`Hub::stats`],
//! [`Hub::begin_shutdown`] and [`Hub::abort_all`] clone the slots they
//! need out of the registry (a group keeps its members' slots as one
//! shared list, so a broadcast clones one pointer), release it, then lock
//! each session in turn. [`Hub::join`] and [`Hub::leave`] take the
//! registry lock and the session's group list (a leaf); a session leaves
//! the registry and its groups in one step under the registry lock, so a
//! join cannot leave a stale member behind.

mod admission;
mod broadcast;
mod budget;
mod credit;
mod event;
mod group;
mod id;
mod registry;
mod shutdown;
mod slot;
mod stats;

use std::collections::HashMap;
use std::future::poll_fn;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use bytes::Bytes;

pub use admission::{AdmissionConfig, Rejected};
pub use broadcast::BroadcastReport;
pub use budget::BudgetPolicy;
pub(crate) use budget::Ledger;
pub(crate) use credit::Credit;
pub use event::{Event, Events};
pub(crate) use event::{EventSender, Item};
use id::IdSource;
pub use id::SessionId;
pub use registry::Admission;
pub use slot::SessionHandle;
pub use stats::{HubStats, ShutdownReport};

pub(crate) use registry::{Opened, Registry};
pub(crate) use slot::{CloseRequest, Slot, SlotOps, SlotState, lock};

use crate::frame::FrameError;
use crate::message::MessageFactory;
use crate::session::{CloseReason, ConfigError, SendError, SessionConfig, SharedFrame};

/// Settings of a hub: the sessions' configuration, admission limits, the
/// event queue's size and the memory budget.
///
/// | field | default | breach |
/// | --- | --- | --- |
/// | `session` | [`SessionConfig::default`] | (per-session limits) |
/// | `admission` | [`AdmissionConfig::default`] | connection refused, counted in [`HubStats::rejected`] |
/// | `event_capacity` | 16 Ki | drivers stop reading until the application takes events (each session's own back-pressure bounds memory first; a capacity above the number of sessions lets every session hand over its batch without waiting for the others: with 1 Ki and 10,000 sessions, drivers woke in herds to find the queue full again) |
/// | `memory_budget` | 256 MiB | sends to sessions over their fair share refused or disconnected ([`BudgetPolicy`]), counted in [`HubStats::sends_over_budget`] |
/// | `refusal_message` | none | (a payload written to refused connections before they are closed) |
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HubConfig {
    /// Every session's limits and timeouts.
    pub session: SessionConfig,
    /// Who may connect.
    pub admission: AdmissionConfig,
    /// Events buffered for the application before drivers stop reading
    /// (default 16 Ki).
    pub event_capacity: usize,
    /// Most bytes queued for sending across all sessions (default 256
    /// MiB); see [`BudgetPolicy`].
    pub memory_budget: usize,
    /// What a send does past the budget.
    pub budget_policy: BudgetPolicy,
    /// A message framed with the hub's codec and written to a connection
    /// refused by admission (limits, shutdown) before it is closed, so that
    /// the client can tell why ("server full"). `None`: refused
    /// connections are closed without a word.
    pub refusal_message: Option<Bytes>,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            session: SessionConfig::default(),
            admission: AdmissionConfig::default(),
            event_capacity: 16 * 1024,
            memory_budget: 256 << 20,
            budget_policy: BudgetPolicy::default(),
            refusal_message: None,
        }
    }
}

impl HubConfig {
    /// Every session's limits and timeouts.
    pub fn session(mut self, session: SessionConfig) -> Self {
        self.session = session;
        self
    }

    /// Who may connect.
    pub fn admission(mut self, admission: AdmissionConfig) -> Self {
        self.admission = admission;
        self
    }

    /// Events buffered for the application before drivers stop reading.
    pub fn event_capacity(mut self, capacity: usize) -> Self {
        self.event_capacity = capacity;
        self
    }

    /// Most bytes queued for sending across all sessions.
    pub fn memory_budget(mut self, bytes: usize) -> Self {
        self.memory_budget = bytes;
        self
    }

    /// What a send does past the memory budget.
    pub fn budget_policy(mut self, policy: BudgetPolicy) -> Self {
        self.budget_policy = policy;
        self
    }

    /// A message written to connections that admission refuses.
    pub fn refusal_message(mut self, message: Option<Bytes>) -> Self {
        self.refusal_message = message;
        self
    }

    /// Checks that the settings fit together and fit the codec made by
    /// `factory` (a send queue that cannot hold the largest frame the codec
    /// accepts is an error).
    pub fn check<F: MessageFactory>(&self, factory: &F) -> Result<(), ConfigError> {
        self.session.check(factory.max_frame_wire_len())
    }
}

/// The registry of live sessions; see the [module docs](self). Cheap to
/// clone (all clones are the same hub).
pub struct Hub<F: MessageFactory> {
    pub(crate) inner: Arc<Inner<F>>,
}

impl<F: MessageFactory> Clone for Hub<F> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<F: MessageFactory> std::fmt::Debug for Hub<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").field("live", &self.len()).finish()
    }
}

/// The shared state behind a [`Hub`].
pub(crate) struct Inner<F: MessageFactory> {
    pub(crate) factory: F,
    pub(crate) config: HubConfig,
    /// `config.session` fitted to the codec, shared by every session.
    pub(crate) session: Arc<SessionConfig>,
    /// Frames broadcasts (once per broadcast).
    pub(crate) builder: Mutex<F::Builder>,
    pub(crate) registry: Mutex<Registry>,
    /// Numbers this hub's sessions.
    pub(crate) ids: IdSource,
    pub(crate) events: EventSender,
    pub(crate) ledger: Arc<Ledger>,
}

impl<F: MessageFactory> Hub<F> {
    /// A hub making sessions with `factory`'s codecs, and the stream of
    /// their events. Fails if the configuration does not fit together
    /// ([`HubConfig::check`]).
    pub fn new(factory: F, config: HubConfig) -> Result<(Self, Events), ConfigError> {
        config.check(&factory)?;
        let (tx, rx) = event::channel(config.event_capacity);
        let builder = Mutex::new(factory.new_builder());
        let ledger = Arc::new(Ledger::new(config.memory_budget, config.budget_policy));
        let session = Arc::new(config.session.fitted_to(&factory));
        let inner = Inner {
            factory,
            session,
            config,
            builder,
            registry: Mutex::new(Registry::default()),
            ids: IdSource::default(),
            events: tx,
            ledger,
        };
        Ok((
            Self {
                inner: Arc::new(inner),
            },
            rx,
        ))
    }

    /// The hub's settings.
    pub fn config(&self) -> &HubConfig {
        &self.inner.config
    }

    /// The codec factory.
    pub fn factory(&self) -> &F {
        &self.inner.factory
    }

    /// Decides whether a connection from `peer` may open a session, and if
    /// so reserves its place (released if the [`Admission`] is dropped
    /// unopened). Refusals are counted in [`HubStats::rejected`].
    pub fn admit(&self, peer: SocketAddr, now: Instant) -> Result<Admission<F>, Rejected> {
        let mut registry = lock(&self.inner.registry);
        registry.admit(peer.ip(), &self.inner.config.admission, now)?;
        Ok(Admission::new(self.clone(), peer))
    }

    /// Counts a failed accept in [`HubStats::accept_errors`] (for
    /// listeners: the hub never accepts anything itself).
    pub fn record_accept_error(&self) {
        lock(&self.inner.registry).stats.accept_errors += 1;
    }

    /// Live sessions (and admitted ones being opened).
    pub fn len(&self) -> usize {
        lock(&self.inner.registry).census.total()
    }

    /// Whether no session is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The handle of a live session.
    pub fn get(&self, id: SessionId) -> Option<SessionHandle> {
        lock(&self.inner.registry).handle(id)
    }

    /// A live session, if there is one, without listing them all: for a
    /// client's hub, which holds at most one session at a time.
    pub fn any_session(&self) -> Option<SessionHandle> {
        let registry = lock(&self.inner.registry);
        let slot = registry.sessions.values().next()?;
        Some(SessionHandle { slot: slot.clone() })
    }

    /// Ids of all live sessions, in order.
    pub fn sessions(&self) -> Vec<SessionId> {
        let registry = lock(&self.inner.registry);
        let mut ids: Vec<_> = registry.sessions.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// Queues `payload` on session `id` (see [`SessionHandle::send`]); an
    /// id that is not live gives [`SendError::Closed`].
    pub fn send(&self, id: SessionId, payload: Bytes) -> Result<(), SendError> {
        // The slot is cloned out and the registry lock released before the
        // session's lock is taken: a driver holds that one for its turn's
        // state-machine calls, and no hub-wide operation may wait on it
        // while holding the registry (see the lock order).
        let slot = lock(&self.inner.registry).sessions.get(&id).cloned();
        match slot {
            Some(slot) => slot.send(payload, None),
            None => {
                self.inner.ledger.count_refused_closed();
                Err(SendError::Closed)
            }
        }
    }

    /// Closes session `id` gracefully with `reason`; returns whether it
    /// was live.
    pub fn close(&self, id: SessionId, reason: CloseReason) -> bool {
        self.get(id).map(|h| h.close_with(reason)).is_some()
    }

    /// Puts session `id` in `group` (created on first join); returns
    /// whether it was added (false: not live, or already a member). The
    /// session leaves all its groups when it closes.
    pub fn join(&self, group: &str, id: SessionId) -> bool {
        // Whether the session still takes sends is asked with no hub-wide
        // lock held (it takes the session's lock); the registry then adds
        // it only if it is still registered.
        match self.get(id) {
            Some(handle) if !handle.is_closing() => lock(&self.inner.registry).join(group, id),
            _ => false,
        }
    }

    /// Takes session `id` out of `group`; returns whether it was in it.
    pub fn leave(&self, group: &str, id: SessionId) -> bool {
        lock(&self.inner.registry).leave(group, id)
    }

    /// The groups session `id` is in, sorted (empty if it is not live).
    pub fn groups_of(&self, id: SessionId) -> Vec<String> {
        self.get(id).map(|h| h.groups()).unwrap_or_default()
    }

    /// Members of `group`, in id order (empty if there is no such group).
    pub fn members(&self, group: &str) -> Vec<SessionId> {
        lock(&self.inner.registry).members(group)
    }

    /// Names of groups with at least one member, sorted.
    pub fn groups(&self) -> Vec<String> {
        let registry = lock(&self.inner.registry);
        let mut names: Vec<_> = registry.groups.keys().map(|g| g.to_string()).collect();
        names.sort_unstable();
        names
    }

    /// A snapshot of the counters, live sessions' traffic included.
    pub fn stats(&self) -> HubStats {
        let (mut stats, live) = {
            let registry = lock(&self.inner.registry);
            (registry.stats.clone(), registry.slots())
        };
        stats.live = live.len();
        for slot in live {
            stats.add(&slot.stats());
        }
        let ledger = &self.inner.ledger;
        stats.sends_refused_closed = ledger.refused_closed.load(Ordering::Relaxed);
        stats.sends_over_budget = ledger.over_budget.load(Ordering::Relaxed);
        stats.queued_bytes = ledger.queued();
        let (discarded, waiting) = self.inner.events.unread();
        stats.messages_unread = discarded + waiting;
        stats
    }

    /// Sends refused so far, for any reason.
    fn refusals(&self) -> u64 {
        let stats = self.stats();
        stats.sends_rejected + stats.sends_refused_closed + stats.sends_over_budget
    }

    /// The first step of [`shutdown`](Self::shutdown) (which an application
    /// calls), for those who drive time themselves: refuse new connections and ask every
    /// session to close with [`CloseReason::Shutdown`], writing what it has
    /// queued first, with no deadline of its own: the caller's grace period
    /// is the one deadline (end it with [`abort_all`](Self::abort_all), as
    /// [`shutdown`](Self::shutdown) does). Wait with
    /// [`drained`](Self::drained); read the outcome with
    /// [`shutdown_report`](Self::shutdown_report). Calling it again does
    /// nothing.
    pub fn begin_shutdown(&self) {
        // Messages waiting in the stream now still count as unread if the
        // application never takes them; discards count from now on.
        let counts = (self.refusals(), self.inner.events.unread().0);
        let slots = {
            let mut registry = lock(&self.inner.registry);
            if registry.shutdown.is_some() {
                return;
            }
            registry.begin_shutdown(counts)
        };
        // Counted with the registry lock released: each count takes a
        // session's lock, which its driver may hold for a moment.
        let queued = slots.iter().map(|s| s.queued().0 as u64).sum();
        lock(&self.inner.registry).queued_at_shutdown(queued);
        for slot in slots {
            let _ = slot.request_close(CloseRequest::Shutdown);
        }
        tracing::info!(live = self.len(), "hub shutting down");
    }

    /// Closes every live session at once with `reason`, dropping what is
    /// queued (the end of a shutdown whose deadline passed).
    pub fn abort_all(&self, reason: CloseReason) {
        let slots = lock(&self.inner.registry).slots();
        for slot in slots {
            let _ = slot.request_close(CloseRequest::Abort(reason.clone()));
        }
    }

    /// Whether [`begin_shutdown`](Self::begin_shutdown) was called.
    pub fn is_shutting_down(&self) -> bool {
        lock(&self.inner.registry).shutdown.is_some()
    }

    /// Ready once no session is live (or being opened).
    pub fn poll_drained(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut registry = lock(&self.inner.registry);
        if registry.census.total() == 0 {
            return Poll::Ready(());
        }
        registry.wait_drained(cx.waker());
        Poll::Pending
    }

    /// Waits until no session is live.
    pub async fn drained(&self) {
        poll_fn(|cx| self.poll_drained(cx)).await;
    }

    /// Ready once [`begin_shutdown`](Self::begin_shutdown) is called (for
    /// accept loops).
    pub fn poll_shutdown_begun(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut registry = lock(&self.inner.registry);
        if registry.shutdown.is_some() {
            return Poll::Ready(());
        }
        registry.wait_shutdown(cx.waker());
        Poll::Pending
    }

    /// What the shutdown flushed and dropped so far (all zero before one
    /// begins).
    pub fn shutdown_report(&self) -> ShutdownReport {
        let refused = self.refusals();
        let (discarded, waiting) = self.inner.events.unread();
        let registry = lock(&self.inner.registry);
        let Some(mut report) = registry.shutdown else {
            return ShutdownReport::default();
        };
        let (refused_before, discarded_before) = registry.counts_at_shutdown;
        report.refused = refused.saturating_sub(refused_before);
        report.unread = discarded.saturating_sub(discarded_before) + waiting;
        report
    }

    /// Ends the event stream once it is empty: the shutdown has drained
    /// every session, so no event can follow.
    pub(crate) fn finish_events(&self) {
        self.inner.events.finish();
    }

    /// The sender of the hub's event stream, for a driver whose session
    /// reports there.
    pub(crate) fn event_sender(&self) -> EventSender {
        self.inner.events.clone()
    }

    /// Frames `payload` once with the hub's codec, for sessions configured
    /// as this hub's (a broadcast, a refusal message).
    pub(crate) fn encode_shared(&self, payload: Bytes) -> Result<SharedFrame, FrameError> {
        let mut builder = lock(&self.inner.builder);
        SharedFrame::encode(&mut *builder, payload, &self.inner.config.session)
    }

    /// Registers an admitted session (called by [`Admission::register`]).
    pub(crate) fn register(&self, slot: Arc<dyn SlotOps>) -> bool {
        lock(&self.inner.registry).register(slot)
    }

    /// Forgets a closed session: leaves its groups, frees its admission
    /// place, adds its counters to the totals.
    pub(crate) fn unregister(&self, closed: Closed<'_>) {
        let wakers = lock(&self.inner.registry).unregister(closed);
        for waker in wakers {
            waker.wake();
        }
    }
}

/// A session's end, as the driver reports it to the hub.
#[derive(Debug)]
pub(crate) struct Closed<'a> {
    pub(crate) id: SessionId,
    pub(crate) peer: SocketAddr,
    pub(crate) reason: &'a CloseReason,
    pub(crate) stats: &'a crate::session::SessionStats,
}

/// Group membership: group name → member ids.
pub(crate) type Groups = HashMap<Arc<str>, group::Group>;

/// Wakers waiting on the hub.
pub(crate) type Waiters = Vec<Waker>;
