//! One live session as the hub sees it: the session behind a lock, the
//! driver's waker, and commands waiting for the driver.

use std::future::poll_fn;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;

use super::SessionId;
use super::budget::{BudgetPolicy, Ledger};
use super::credit::{AppCredit, HasCredit};
use crate::message::{MessageBuilder, MessageResolver};
use crate::session::{CloseReason, Overflow, SendError, Session, SessionStats, SharedFrame};

/// Locks a mutex, also after a panic elsewhere: the state it guards stays
/// consistent because every critical section is a single session call.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the session's driver shares with handles.
#[derive(Debug)]
pub(crate) struct SlotState<R, B> {
    pub(crate) session: Session<R, B>,
    /// Wakes the driver (registered on each poll).
    waker: Option<Waker>,
    /// The driver was woken and has not polled since.
    notified: bool,
    /// A close asked for through a handle, applied by the driver (which has
    /// the clock).
    /// (Boxed: rare, and an idle session's slot stays small.)
    close_request: Option<Box<CloseRequest>>,
    /// `close_request` changed and the driver has not applied it yet.
    close_pending: bool,
    /// Tasks waiting for room in the send queue.
    writers: Vec<Waker>,
    /// Bytes charged to the hub's memory budget.
    charged: usize,
}

/// A close asked for from outside the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CloseRequest {
    /// Graceful: flush the queue first (for up to `close_timeout`), after
    /// a last message if there is one.
    Graceful {
        reason: CloseReason,
        last_word: Option<Bytes>,
    },
    /// The hub's shutdown: graceful, with no deadline of the session's own
    /// (the shutdown's grace period is the one deadline).
    Shutdown,
    /// At once, dropping what is queued.
    Abort(CloseReason),
}

impl CloseRequest {
    /// A graceful close with no last word.
    pub(crate) fn graceful(reason: CloseReason) -> Self {
        Self::Graceful {
            reason,
            last_word: None,
        }
    }
}

impl<R: MessageResolver, B: MessageBuilder> SlotState<R, B> {
    pub(crate) fn new(session: Session<R, B>) -> Self {
        Self {
            session,
            waker: None,
            notified: false,
            close_request: None,
            close_pending: false,
            writers: Vec::new(),
            charged: 0,
        }
    }

    /// The driver is polling with `waker`: later wakes go to it.
    pub(crate) fn polled(&mut self, waker: &Waker) {
        self.notified = false;
        if !self.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
            self.waker = Some(waker.clone());
        }
    }

    /// Marks the driver as awake (it runs another turn at once), so that
    /// sends meanwhile need not wake it.
    pub(crate) fn stay_awake(&mut self) {
        self.notified = true;
    }

    /// Wakes the driver unless it is already awake with work to do.
    pub(crate) fn wake(&mut self) {
        if !self.notified {
            if let Some(waker) = &self.waker {
                self.notified = true;
                waker.wake_by_ref();
            }
        }
    }

    /// A close asked for since the driver last looked.
    pub(crate) fn take_close_request(&mut self) -> Option<CloseRequest> {
        if !std::mem::take(&mut self.close_pending) {
            return None;
        }
        self.close_request.as_deref().cloned()
    }

    fn accepts_sends(&self) -> bool {
        self.close_request.is_none() && !self.session.is_closing()
    }

    /// Whether the queue is below its high water mark (a writer may go on).
    fn has_room(&self) -> bool {
        let queued = self.session.queued().1;
        match self.session.config().backpressure {
            Some(marks) => queued < marks.high,
            None => queued < self.session.config().queue_bytes_for(None),
        }
    }

    /// Wakes the tasks waiting for room once the queue is at or below its
    /// low water mark (or empty), and all of them once the session closes.
    pub(crate) fn wake_writers(&mut self) {
        if self.writers.is_empty() {
            return;
        }
        let queued = self.session.queued().1;
        let low = self.session.config().backpressure.map_or(0, |m| m.low);
        if queued <= low || !self.accepts_sends() {
            for waker in self.writers.drain(..) {
                waker.wake();
            }
        }
    }

    /// Brings the session's charge on the hub's budget in line with its
    /// queue.
    #[inline]
    pub(crate) fn settle(&mut self, ledger: &Ledger) {
        ledger.settle(&mut self.charged, self.session.queued().1);
    }

    /// The session is gone: its charge goes back to the budget.
    pub(crate) fn release_charge(&mut self, ledger: &Ledger) {
        ledger.session_closed(&mut self.charged);
    }
}

/// A session slot shared by its driver, its handles and the hub.
#[derive(Debug)]
pub(crate) struct Slot<R, B> {
    pub(crate) id: SessionId,
    pub(crate) peer: SocketAddr,
    pub(crate) state: Mutex<SlotState<R, B>>,
    /// What the session handed to the application and it has not finished.
    pub(crate) credit: AppCredit,
    /// The hub's memory budget and send counters.
    pub(crate) ledger: Arc<Ledger>,
    /// Groups this session is in, left automatically when it closes. A
    /// leaf lock of its own, so that joining and leaving (under the
    /// registry lock) never wait for the session's lock, which a driver
    /// holds for its turn's state-machine calls.
    pub(crate) groups: Mutex<Vec<Arc<str>>>,
}

/// What handles and the hub do to a slot, whatever its codec types.
pub(crate) trait SlotOps: Send + Sync + std::fmt::Debug {
    fn id(&self) -> SessionId;
    fn peer(&self) -> SocketAddr;
    fn send(&self, payload: Bytes, policy: Option<Overflow>) -> Result<(), SendError>;
    fn send_shared(&self, frame: &SharedFrame) -> Result<(), SendError>;
    fn request_close(&self, request: CloseRequest) -> Result<(), SendError>;
    fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<Result<(), SendError>>;
    fn stats(&self) -> SessionStats;
    fn queued(&self) -> (usize, usize);
    fn is_closing(&self) -> bool;
    fn join(&self, group: &Arc<str>) -> bool;
    fn leave(&self, group: &str) -> bool;
    fn groups(&self) -> Vec<String>;
    /// Empties the group list (the session is being forgotten).
    fn take_groups(&self) -> Vec<Arc<str>>;
}

impl<R, B> Slot<R, B>
where
    R: MessageResolver,
    B: MessageBuilder,
{
    /// Queues with `push` if the session takes sends and the hub's budget
    /// allows `len` more bytes; counts every refusal.
    #[inline]
    fn queue(
        &self,
        len: usize,
        push: impl FnOnce(&mut Session<R, B>) -> Result<(), SendError>,
    ) -> Result<(), SendError> {
        let mut state = lock(&self.state);
        if !state.accepts_sends() {
            drop(state);
            self.ledger.count_refused_closed();
            return Err(SendError::Closed);
        }
        if !self.ledger.admits(state.session.queued().1, len) {
            return self.over_budget(&mut state, len);
        }
        let sent = push(&mut state.session);
        state.settle(&self.ledger);
        // A Disconnect overflow closes the session: the driver must see it.
        state.wake();
        if sent == Err(SendError::Closed) {
            self.ledger.count_refused_closed();
        }
        sent
    }

    #[cold]
    fn over_budget(&self, state: &mut SlotState<R, B>, len: usize) -> Result<(), SendError> {
        self.ledger.over_budget.fetch_add(1, Ordering::Relaxed);
        match self.ledger.policy {
            BudgetPolicy::Disconnect => {
                state.session.abort(CloseReason::SlowConsumer);
                state.settle(&self.ledger);
                state.wake();
                Err(SendError::Closed)
            }
            _ => Err(SendError::OverBudget {
                queued_bytes: state.session.queued().1,
                message_bytes: len,
                hub_queued_bytes: self.ledger.queued(),
                budget: self.ledger.max(),
            }),
        }
    }
}

impl<R: Send, B: Send> HasCredit for Slot<R, B> {
    fn app_credit(&self) -> &AppCredit {
        &self.credit
    }
}

impl<R, B> SlotOps for Slot<R, B>
where
    R: MessageResolver + Send + std::fmt::Debug,
    B: MessageBuilder + Send + std::fmt::Debug,
{
    fn id(&self) -> SessionId {
        self.id
    }

    fn peer(&self) -> SocketAddr {
        self.peer
    }

    fn send(&self, payload: Bytes, policy: Option<Overflow>) -> Result<(), SendError> {
        self.queue(payload.len(), |session| match policy {
            Some(policy) => session.send_with(payload, policy),
            None => session.send(payload),
        })
    }

    fn send_shared(&self, frame: &SharedFrame) -> Result<(), SendError> {
        self.queue(frame.len(), |session| session.send_shared(frame))
    }

    fn request_close(&self, request: CloseRequest) -> Result<(), SendError> {
        let mut state = lock(&self.state);
        if state.session.is_closed() {
            return Err(SendError::Closed);
        }
        let replaces = match (state.close_request.as_deref(), &request) {
            (None, _) => true,
            (Some(CloseRequest::Abort(_)), _) => false,
            (Some(_), CloseRequest::Abort(_)) => true,
            _ => false,
        };
        if !replaces {
            return Err(SendError::Closed);
        }
        state.close_request = Some(Box::new(request));
        state.close_pending = true;
        state.wake();
        state.wake_writers();
        Ok(())
    }

    fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<Result<(), SendError>> {
        let mut state = lock(&self.state);
        if !state.accepts_sends() {
            return Poll::Ready(Err(SendError::Closed));
        }
        if state.has_room() {
            return Poll::Ready(Ok(()));
        }
        if !state.writers.iter().any(|w| w.will_wake(cx.waker())) {
            state.writers.push(cx.waker().clone());
        }
        Poll::Pending
    }

    fn stats(&self) -> SessionStats {
        *lock(&self.state).session.stats()
    }

    fn queued(&self) -> (usize, usize) {
        lock(&self.state).session.queued()
    }

    fn is_closing(&self) -> bool {
        !lock(&self.state).accepts_sends()
    }

    fn join(&self, group: &Arc<str>) -> bool {
        let mut groups = lock(&self.groups);
        if groups.iter().any(|g| **g == **group) {
            return false;
        }
        groups.push(group.clone());
        true
    }

    fn leave(&self, group: &str) -> bool {
        let mut groups = lock(&self.groups);
        let before = groups.len();
        groups.retain(|g| &**g != group);
        groups.len() != before
    }

    fn groups(&self) -> Vec<String> {
        let mut names: Vec<_> = lock(&self.groups).iter().map(|g| g.to_string()).collect();
        names.sort_unstable();
        names
    }

    fn take_groups(&self) -> Vec<Arc<str>> {
        std::mem::take(&mut *lock(&self.groups))
    }
}

/// A handle to one live session: send to it and close it from any task or
/// thread, without blocking on I/O (a send takes the session's lock for
/// the time it takes to queue the message). Cheap to clone.
///
/// Once the session closes, every call fails with [`SendError::Closed`] or
/// does nothing.
#[derive(Clone)]
pub struct SessionHandle {
    pub(crate) slot: Arc<dyn SlotOps>,
}

impl std::fmt::Debug for SessionHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionHandle")
            .field("id", &self.id())
            .field("peer", &self.peer())
            .finish()
    }
}

impl SessionHandle {
    /// The session's id.
    pub fn id(&self) -> SessionId {
        self.slot.id()
    }

    /// The peer's address.
    pub fn peer(&self) -> SocketAddr {
        self.slot.peer()
    }

    /// Queues `payload` under the session's configured overflow policy;
    /// the session's driver writes it.
    pub fn send(&self, payload: Bytes) -> Result<(), SendError> {
        self.slot.send(payload, None)
    }

    /// Queues `payload` under `policy`.
    pub fn send_with(&self, payload: Bytes, policy: Overflow) -> Result<(), SendError> {
        self.slot.send(payload, Some(policy))
    }

    /// Waits until the session's send queue is below its high water mark
    /// ([`SessionConfig::backpressure`](crate::session::SessionConfig::backpressure);
    /// once it had reached it, until it has drained to the low water
    /// mark), so that a producer that is not answering a read (a file
    /// transfer, a relay) goes only as fast as the peer reads. Fails with
    /// [`SendError::Closed`] once the session is closing.
    pub async fn writable(&self) -> Result<(), SendError> {
        poll_fn(|cx| self.slot.poll_writable(cx)).await
    }

    /// [`send`](Self::send) after waiting for room
    /// ([`writable`](Self::writable)): never refused for a full queue
    /// unless the payload alone exceeds the queue's limits.
    pub async fn send_async(&self, payload: Bytes) -> Result<(), SendError> {
        loop {
            self.writable().await?;
            match self.send(payload.clone()) {
                Err(SendError::QueueFull { queued_bytes, .. }) if queued_bytes > 0 => {}
                Err(SendError::OverBudget { queued_bytes, .. }) if queued_bytes > 0 => {}
                other => return other,
            }
        }
    }

    /// Closes gracefully with [`CloseReason::Local`]: no new sends, what is
    /// queued is still written.
    pub fn close(&self) {
        self.close_with(CloseReason::Local);
    }

    /// Closes gracefully with `reason`.
    pub fn close_with(&self, reason: CloseReason) {
        let _ = self.slot.request_close(CloseRequest::graceful(reason));
    }

    /// Sends `payload` as the session's last message, then closes
    /// gracefully with `reason`: a way to tell the peer why ("idle too
    /// long", "server full"). The last word is queued even if the queue is
    /// at its limits. Fails with [`SendError::Closed`] if the session is
    /// already closing (another close came first).
    pub fn close_after(&self, payload: Bytes, reason: CloseReason) -> Result<(), SendError> {
        self.slot.request_close(CloseRequest::Graceful {
            reason,
            last_word: Some(payload),
        })
    }

    /// Closes at once with `reason`, dropping what is queued.
    pub fn abort(&self, reason: CloseReason) {
        let _ = self.slot.request_close(CloseRequest::Abort(reason));
    }

    /// Whether the session takes no more sends: a close was asked for, or
    /// it is closing or closed. (Named apart from
    /// [`Session::is_closed`](crate::session::Session::is_closed), which is
    /// true only once the state machine has closed.)
    pub fn is_closing(&self) -> bool {
        self.slot.is_closing()
    }

    /// The groups the session is in, sorted.
    pub fn groups(&self) -> Vec<String> {
        self.slot.groups()
    }

    /// The session's counters now.
    pub fn stats(&self) -> SessionStats {
        self.slot.stats()
    }

    /// Messages and wire bytes waiting in the send queue.
    pub fn queued(&self) -> (usize, usize) {
        self.slot.queued()
    }
}
