//! One live session as the hub sees it: the session behind a lock, the
//! driver's waker, and commands waiting for the driver.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Waker;

use bytes::Bytes;

use super::SessionId;
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
    pub(crate) waker: Option<Waker>,
    /// The driver was woken and has not polled since.
    pub(crate) notified: bool,
    /// A close asked for through a handle, applied by the driver (which has
    /// the clock).
    pub(crate) close_request: Option<CloseRequest>,
    /// `close_request` changed and the driver has not applied it yet.
    pub(crate) close_pending: bool,
    /// Groups this session is in, left automatically when it closes.
    pub(crate) groups: Vec<Arc<str>>,
}

/// A close asked for from outside the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CloseRequest {
    /// Graceful: flush the queue first.
    Graceful(CloseReason),
    /// At once, dropping what is queued.
    Abort(CloseReason),
}

impl<R, B> SlotState<R, B> {
    /// Wakes the driver unless it is already awake with work to do.
    pub(crate) fn wake(&mut self) {
        if !self.notified {
            if let Some(waker) = &self.waker {
                self.notified = true;
                waker.wake_by_ref();
            }
        }
    }

    fn accepts_sends(&self) -> bool {
        self.close_request.is_none()
    }
}

/// A session slot shared by its driver, its handles and the hub.
#[derive(Debug)]
pub(crate) struct Slot<R, B> {
    pub(crate) id: SessionId,
    pub(crate) peer: SocketAddr,
    pub(crate) state: Mutex<SlotState<R, B>>,
}

/// What handles and the hub do to a slot, whatever its codec types.
pub(crate) trait SlotOps: Send + Sync + std::fmt::Debug {
    fn id(&self) -> SessionId;
    fn peer(&self) -> SocketAddr;
    fn send(&self, payload: Bytes, policy: Option<Overflow>) -> Result<(), SendError>;
    fn send_shared(&self, frame: &SharedFrame) -> Result<(), SendError>;
    fn request_close(&self, request: CloseRequest);
    fn stats(&self) -> SessionStats;
    fn queued(&self) -> (usize, usize);
    fn is_closed(&self) -> bool;
    fn join(&self, group: &Arc<str>) -> bool;
    fn leave(&self, group: &str) -> bool;
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
        let mut state = lock(&self.state);
        if !state.accepts_sends() {
            return Err(SendError::Closed);
        }
        let sent = match policy {
            Some(policy) => state.session.send_with(payload, policy),
            None => state.session.send(payload),
        };
        // A Disconnect overflow closes the session: the driver must see it.
        state.wake();
        sent
    }

    fn send_shared(&self, frame: &SharedFrame) -> Result<(), SendError> {
        let mut state = lock(&self.state);
        if !state.accepts_sends() {
            return Err(SendError::Closed);
        }
        let sent = state.session.send_shared(frame);
        state.wake();
        sent
    }

    fn request_close(&self, request: CloseRequest) {
        let mut state = lock(&self.state);
        if state.session.is_closed() {
            return;
        }
        match (&state.close_request, &request) {
            (None, _) | (Some(CloseRequest::Graceful(_)), CloseRequest::Abort(_)) => {
                state.close_request = Some(request);
                state.close_pending = true;
                state.wake();
            }
            _ => {}
        }
    }

    fn stats(&self) -> SessionStats {
        *lock(&self.state).session.stats()
    }

    fn queued(&self) -> (usize, usize) {
        lock(&self.state).session.queued()
    }

    fn is_closed(&self) -> bool {
        let state = lock(&self.state);
        state.session.is_closing() || state.close_request.is_some()
    }

    fn join(&self, group: &Arc<str>) -> bool {
        let mut state = lock(&self.state);
        if state.groups.iter().any(|g| **g == **group) {
            return false;
        }
        state.groups.push(group.clone());
        true
    }

    fn leave(&self, group: &str) -> bool {
        let mut state = lock(&self.state);
        let before = state.groups.len();
        state.groups.retain(|g| &**g != group);
        state.groups.len() != before
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

    /// Closes gracefully with [`CloseReason::Local`]: no new sends, what is
    /// queued is still written.
    pub fn close(&self) {
        self.close_with(CloseReason::Local);
    }

    /// Closes gracefully with `reason`.
    pub fn close_with(&self, reason: CloseReason) {
        self.slot.request_close(CloseRequest::Graceful(reason));
    }

    /// Closes at once with `reason`, dropping what is queued.
    pub fn abort(&self, reason: CloseReason) {
        self.slot.request_close(CloseRequest::Abort(reason));
    }

    /// Whether the session is closing or closed (sends fail).
    pub fn is_closed(&self) -> bool {
        self.slot.is_closed()
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
