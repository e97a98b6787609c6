//! [`Event`]s from every session of a hub, in one stream.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use futures_core::Stream;

use super::credit::Credit;
use super::{SessionHandle, SessionId, lock};
use crate::session::{CloseReason, SessionStats};

/// What happened to one of the hub's sessions.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// A session opened (always its first event). Keep the handle to send.
    Opened(SessionHandle),
    /// A whole message from the session's peer.
    Message {
        /// The session.
        id: SessionId,
        /// The payload.
        payload: Bytes,
    },
    /// The peer ended its side of the stream and the session stays open
    /// for replies ([`SessionConfig::half_close`](crate::session::SessionConfig::half_close)
    /// is on): answer, then close it.
    EndOfStream {
        /// The session.
        id: SessionId,
    },
    /// The session closed (always its last event); the hub has forgotten it.
    Closed {
        /// The session.
        id: SessionId,
        /// Why.
        reason: CloseReason,
        /// Its final counters (boxed: they are large, and every event
        /// is moved through the stream by value).
        stats: Box<SessionStats>,
    },
}

impl Event {
    /// The session the event is about.
    pub fn id(&self) -> SessionId {
        match self {
            Self::Opened(handle) => handle.id(),
            Self::Message { id, .. } | Self::EndOfStream { id } | Self::Closed { id, .. } => *id,
        }
    }
}

/// The receiving end of a hub's events: a [`Stream`], or call
/// [`recv`](Self::recv).
///
/// It is bounded twice: when `event_capacity` events wait (besides the
/// batch the application is working through), drivers stop reading their
/// sockets; and each session stops reading once the messages it handed to
/// the application, plus its send queue, pass its high water mark
/// ([`SessionConfig::backpressure`](crate::session::SessionConfig::backpressure)).
/// TCP then pushes back on the peers, instead of events piling up.
///
/// **An event counts against its session until the application asks for
/// the next event** (calls [`recv`](Self::recv), [`try_recv`](Self::try_recv)
/// or polls the stream again). So handle each event, replies included,
/// before asking for the next one, as a `while let Some(event) =
/// events.recv().await` loop does: then a session whose peer pipelines
/// requests never queues more replies than its limits hold, and a peer's
/// end of stream closes its session only after the replies to everything it
/// sent were queued. An application that hands events to other tasks
/// gives up that guarantee (use [`SessionHandle::send_async`] there, or
/// `half_close` and close sessions itself).
///
/// Drivers hand over all the events of a read under one lock, and `recv`
/// takes them as a batch, so the per-event cost is small. Once a hub's
/// shutdown has drained every session ([`Hub::drained`](super::Hub::drained)
/// after [`Hub::begin_shutdown`](super::Hub::begin_shutdown)), the stream
/// ends after its last event, so the loop above also handles every
/// `Closed` event of the shutdown. Dropping the stream discards later
/// events (counted as unread messages); sessions keep running.
#[derive(Debug)]
pub struct Events {
    shared: Arc<Shared>,
    /// The batch taken from the queue, being handed out.
    local: VecDeque<Item>,
    /// The credit of the event handed out last, returned when the
    /// application asks for the next one.
    held: Option<Credit>,
}

/// An event in the queue, with the cost it holds against its session.
#[derive(Debug)]
pub(crate) struct Item {
    pub(crate) event: Event,
    pub(crate) credit: Option<Credit>,
}

impl Item {
    /// An event that holds no credit.
    pub(crate) fn plain(event: Event) -> Self {
        Self {
            event,
            credit: None,
        }
    }
}

/// The queue between drivers and [`Events`].
#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// Messages the receiver handed to the application (written by the
    /// receiver alone).
    handed: AtomicU64,
}

impl State {
    /// Takes the drivers waiting for room (to wake them); a new round of
    /// waiting begins.
    fn drain_waiting(&mut self) -> Vec<Waker> {
        self.round += 1;
        std::mem::take(&mut self.waiting)
    }
}

#[derive(Debug)]
struct State {
    queue: VecDeque<Item>,
    capacity: usize,
    /// The receiver, waiting for events.
    receiver: Option<Waker>,
    /// Drivers waiting for room.
    waiting: Vec<Waker>,
    /// How many times `waiting` was drained.
    round: u64,
    receiver_alive: bool,
    senders: usize,
    /// The hub's shutdown finished: end the stream once it is empty and
    /// no driver is left (only the hub's own sender).
    finished: bool,
    /// Messages put in the queue.
    pushed: u64,
    /// Messages discarded before reaching the queue (no receiver, or a
    /// dropped driver).
    discarded: u64,
}

impl State {
    /// Whether no event can come any more.
    fn ended(&self) -> bool {
        self.senders == 0 || (self.finished && self.senders <= 1)
    }
}

/// A driver's (or the hub's) end of the queue.
#[derive(Debug)]
pub(crate) struct EventSender {
    shared: Arc<Shared>,
    /// The round of `waiting` this sender's waker is in, if any: a driver
    /// that finds the queue full again before the receiver drained it is
    /// not added twice, without a scan of the list (which, with thousands
    /// of drivers waiting, cost more than everything else).
    waiting_in: Option<(u64, Waker)>,
}

/// A queue of `capacity` events: its sending and receiving ends.
pub(crate) fn channel(capacity: usize) -> (EventSender, Events) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            queue: VecDeque::new(),
            capacity: capacity.max(1),
            receiver: None,
            waiting: Vec::new(),
            round: 0,
            receiver_alive: true,
            senders: 1,
            finished: false,
            pushed: 0,
            discarded: 0,
        }),
        handed: AtomicU64::new(0),
    });
    (
        EventSender {
            waiting_in: None,
            shared: shared.clone(),
        },
        Events {
            shared,
            local: VecDeque::new(),
            held: None,
        },
    )
}

impl EventSender {
    /// Moves events from `next` into the queue while it has room (`next` is
    /// told whether the item it returns takes the last free place). `Ready`
    /// once `next` runs dry (everything was handed over, or discarded
    /// because no one listens); `Pending` when the queue is full, with the
    /// task woken when there is room.
    pub(crate) fn poll_send_all(
        &mut self,
        cx: &mut Context<'_>,
        mut next: impl FnMut(bool) -> Option<Item>,
    ) -> Poll<()> {
        let mut st = lock(&self.shared.state);
        if !st.receiver_alive {
            let mut discarded = 0;
            while let Some(item) = next(false) {
                discarded += u64::from(is_message(&item));
            }
            st.discarded += discarded;
            return Poll::Ready(());
        }
        let mut pushed = false;
        let result = loop {
            if st.queue.len() >= st.capacity {
                let listed = matches!(&self.waiting_in,
                    Some((round, waker)) if *round == st.round && waker.will_wake(cx.waker()));
                if !listed {
                    st.waiting.push(cx.waker().clone());
                    self.waiting_in = Some((st.round, cx.waker().clone()));
                }
                break Poll::Pending;
            }
            // The closure learns when it fills the last free place.
            match next(st.queue.len() + 1 >= st.capacity) {
                Some(item) => {
                    st.pushed += u64::from(is_message(&item));
                    st.queue.push_back(item);
                    pushed = true;
                }
                None => break Poll::Ready(()),
            }
        };
        let receiver = if pushed { st.receiver.take() } else { None };
        drop(st);
        if let Some(receiver) = receiver {
            receiver.wake();
        }
        result
    }

    /// Queues `event` even when the queue is full (for a session's last
    /// event when its driver is dropped).
    pub(crate) fn force_send(&self, event: Event) {
        let mut st = lock(&self.shared.state);
        if st.receiver_alive {
            st.queue.push_back(Item::plain(event));
        }
        let receiver = st.receiver.take();
        drop(st);
        if let Some(receiver) = receiver {
            receiver.wake();
        }
    }
}

impl EventSender {
    /// Counts messages a driver discarded without the application taking
    /// them.
    pub(crate) fn count_unread(&self, n: u64) {
        if n > 0 {
            lock(&self.shared.state).discarded += n;
        }
    }

    /// Messages the application did not take: `(discarded, waiting)` —
    /// discarded before reaching the stream, and put in it but not handed
    /// out (still waiting, in the queue or the receiver's batch, or
    /// dropped with the receiver).
    pub(crate) fn unread(&self) -> (u64, u64) {
        let st = lock(&self.shared.state);
        let handed = self.shared.handed.load(Ordering::Acquire);
        (st.discarded, st.pushed.saturating_sub(handed))
    }

    /// Ends the stream once its queue is empty and every driver is gone
    /// (the hub's shutdown drained every session: no event can follow but
    /// the `Closed` events drivers are still delivering).
    pub(crate) fn finish(&self) {
        let mut st = lock(&self.shared.state);
        st.finished = true;
        let receiver = if st.ended() { st.receiver.take() } else { None };
        drop(st);
        if let Some(receiver) = receiver {
            receiver.wake();
        }
    }
}

fn is_message(item: &Item) -> bool {
    matches!(item.event, Event::Message { .. })
}

impl Clone for EventSender {
    fn clone(&self) -> Self {
        lock(&self.shared.state).senders += 1;
        Self {
            shared: self.shared.clone(),
            waiting_in: None,
        }
    }
}

impl Drop for EventSender {
    fn drop(&mut self) {
        let mut st = lock(&self.shared.state);
        st.senders -= 1;
        let receiver = if st.ended() { st.receiver.take() } else { None };
        drop(st);
        if let Some(receiver) = receiver {
            receiver.wake();
        }
    }
}

impl Events {
    /// The next event; `None` once the hub and every driver are gone.
    pub async fn recv(&mut self) -> Option<Event> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The next event if one is ready now. Returns the credit of the
    /// event handed out before (see the type's docs).
    pub fn try_recv(&mut self) -> Option<Event> {
        self.held = None;
        if self.local.is_empty() {
            take_batch(&mut self.local, lock(&self.shared.state));
        }
        self.hand_out()
    }

    /// Polls for the next event. Returns the credit of the event handed out
    /// before (see the type's docs).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.held = None;
        if !self.local.is_empty() {
            return Poll::Ready(self.hand_out());
        }
        let mut st = lock(&self.shared.state);
        if st.queue.is_empty() {
            if st.ended() {
                return Poll::Ready(None);
            }
            st.receiver = Some(cx.waker().clone());
            return Poll::Pending;
        }
        take_batch(&mut self.local, st);
        Poll::Ready(self.hand_out())
    }

    fn hand_out(&mut self) -> Option<Event> {
        let item = self.local.pop_front()?;
        if is_message(&item) {
            // One writer: a plain store, no read-modify-write.
            let handed = self.shared.handed.load(Ordering::Relaxed);
            self.shared.handed.store(handed + 1, Ordering::Release);
        }
        self.held = item.credit;
        Some(item.event)
    }
}

/// Moves the queued batch into `local` (under the lock `st` holds) and wakes
/// the drivers that waited for room.
fn take_batch(local: &mut VecDeque<Item>, mut st: MutexGuard<'_, State>) {
    if st.queue.is_empty() {
        return;
    }
    std::mem::swap(local, &mut st.queue);
    let waiting = st.drain_waiting();
    drop(st);
    for waker in waiting {
        waker.wake();
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        let mut st = lock(&self.shared.state);
        st.receiver_alive = false;
        // Messages left in the queue and the batch stay counted as pushed
        // and never handed out: unread. The credits go back to their sessions as the items drop.
        let queued = std::mem::take(&mut st.queue);
        let waiting = st.drain_waiting();
        drop(st);
        for waker in waiting {
            waker.wake();
        }
        drop(queued);
    }
}

impl Stream for Events {
    type Item = Event;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.get_mut().poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::task::Waker;

    use super::*;
    use crate::hub::id::IdSource;

    fn message(n: u8) -> Event {
        Event::Message {
            id: IdSource::default().next(),
            payload: Bytes::copy_from_slice(&[n]),
        }
    }

    fn payload(event: Option<Event>) -> Option<u8> {
        match event? {
            Event::Message { payload, .. } => payload.first().copied(),
            _ => None,
        }
    }

    #[test]
    fn holds_capacity_events_then_pushes_back() {
        let (mut tx, mut rx) = channel(2);
        let mut cx = Context::from_waker(Waker::noop());
        let mut source = (0..5).map(message).map(Item::plain);
        // Room for exactly 2: the third waits in the source.
        assert!(tx.poll_send_all(&mut cx, |_| source.next()).is_pending());
        assert_eq!(payload(rx.try_recv()), Some(0));
        assert_eq!(payload(rx.try_recv()), Some(1));
        assert_eq!(payload(rx.try_recv()), None);
        assert!(tx.poll_send_all(&mut cx, |_| source.next()).is_pending());
        assert_eq!(payload(rx.try_recv()), Some(2));
        assert_eq!(payload(rx.try_recv()), Some(3));
        assert!(tx.poll_send_all(&mut cx, |_| source.next()).is_ready());
        assert_eq!(payload(rx.try_recv()), Some(4));
    }

    #[test]
    fn ends_when_every_sender_is_gone() {
        let (tx, mut rx) = channel(4);
        let other = tx.clone();
        let mut cx = Context::from_waker(Waker::noop());
        drop(tx);
        assert!(rx.poll_recv(&mut cx).is_pending(), "a sender is left");
        other.force_send(message(7));
        drop(other);
        assert_eq!(payload(rx.try_recv()), Some(7));
        assert!(matches!(rx.poll_recv(&mut cx), Poll::Ready(None)));
    }

    #[test]
    fn without_a_receiver_events_are_discarded() {
        let (mut tx, rx) = channel(1);
        drop(rx);
        let mut cx = Context::from_waker(Waker::noop());
        let mut source = (0..10).map(message).map(Item::plain);
        assert!(tx.poll_send_all(&mut cx, |_| source.next()).is_ready());
        assert!(source.next().is_none(), "all taken and dropped");
    }

    /// A driver that finds the queue full again before the receiver took
    /// anything is listed once; once the receiver drains the queue (and
    /// wakes it), a full queue lists it again.
    #[test]
    fn a_waiting_driver_is_listed_once_per_round() {
        struct Task;
        impl std::task::Wake for Task {
            fn wake(self: Arc<Self>) {}
        }
        // One task's waker: its clones wake the same task (`will_wake`).
        let task = Waker::from(Arc::new(Task));
        let (mut tx, mut rx) = channel(1);
        let mut cx = Context::from_waker(&task);
        let mut source = (0..10).map(message).map(Item::plain);
        let waiting = |tx: &EventSender| lock(&tx.shared.state).waiting.len();
        for _ in 0..3 {
            assert!(tx.poll_send_all(&mut cx, |_| source.next()).is_pending());
        }
        assert_eq!(waiting(&tx), 1, "listed once");
        assert_eq!(payload(rx.try_recv()), Some(0));
        assert_eq!(waiting(&tx), 0, "woken and taken off");
        assert!(tx.poll_send_all(&mut cx, |_| source.next()).is_pending());
        assert!(tx.poll_send_all(&mut cx, |_| source.next()).is_pending());
        assert_eq!(waiting(&tx), 1, "listed again, once");
    }
}
