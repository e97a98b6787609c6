//! [`Conn`]: the driver's side of a session the hub registered.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use super::{Drive, Handler, Timer, Transport};
use crate::hub::{
    Admission, Closed, Event as HubEvent, EventSender, Hub, Opened, SessionHandle, SessionId, Slot,
    lock,
};
use crate::message::MessageFactory;
use crate::session::{CloseReason, Session, SessionEvent, message_cost};

pub(super) type SlotOf<F> = Slot<<F as MessageFactory>::Resolver, <F as MessageFactory>::Builder>;

/// The driver's side of a session a [`Hub`] registered (from
/// [`AdmissionExt::open`]): turn it into a future with
/// [`drive`](Self::drive) and spawn that.
pub struct Conn<F: MessageFactory> {
    pub(super) hub: Hub<F>,
    pub(super) slot: Arc<SlotOf<F>>,
    pub(super) sink: Sink,
    /// The hub has forgotten the session.
    pub(super) unregistered: bool,
}

/// Where a session's events go.
pub(super) enum Sink {
    /// The hub's event stream.
    Events(EventSender),
    /// A handler, called between turns with the lock released. (Boxed:
    /// a driver on the event stream stays small.)
    Handler(Box<HandlerSink>),
}

/// [`Sink::Handler`]'s parts.
pub(super) struct HandlerSink {
    pub(super) handler: Box<dyn Handler>,
    /// The handle the handler's calls are given.
    pub(super) handle: SessionHandle,
    /// Events taken from the session, waiting for the handler.
    pub(super) pending: Vec<SessionEvent>,
}

impl Sink {
    /// Whether events wait for the handler.
    pub(super) fn has_pending(&self) -> bool {
        matches!(self, Self::Handler(sink) if !sink.pending.is_empty())
    }
}

impl<F: MessageFactory> fmt::Debug for Conn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conn")
            .field("id", &self.slot.id)
            .field("peer", &self.slot.peer)
            .finish()
    }
}

/// Opens an admitted connection's session, as the driver's [`Conn`]: the
/// hub registers the session (it knows nothing of the driver), and the
/// driver takes it from there.
///
/// ```
/// use std::time::Instant;
///
/// use proto_core::driver::AdmissionExt;
/// use proto_core::frame::LengthField;
/// use proto_core::hub::{Hub, HubConfig};
///
/// let (hub, _events) = Hub::new(LengthField::laster40net(), HubConfig::default())?;
/// let conn = hub.admit("127.0.0.1:5000".parse()?, Instant::now())?.open(Instant::now());
/// assert_eq!(conn.id().get(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait AdmissionExt<F: MessageFactory> {
    /// Opens the session and registers it under the hub's next id (1 for
    /// its first session, never reused); returns the driver's side of it.
    /// If shutdown began since admission, the session is asked to close at
    /// once.
    fn open(self, now: Instant) -> Conn<F>;
}

impl<F: MessageFactory> AdmissionExt<F> for Admission<F> {
    fn open(self, now: Instant) -> Conn<F> {
        Conn::new(self.register(now))
    }
}

impl<F: MessageFactory> Conn<F> {
    /// The driver's side of a session the hub has just registered.
    pub(crate) fn new(opened: Opened<F>) -> Self {
        let Opened { hub, slot } = opened;
        let sink = Sink::Events(hub.event_sender());
        Self {
            hub,
            slot,
            sink,
            unregistered: false,
        }
    }

    /// Sends this session's events to `handler`, on the driver's task,
    /// instead of to the hub's [`Events`](crate::hub::Events) stream.
    pub fn with_handler<H: Handler + 'static>(mut self, handler: H) -> Self {
        self.sink = Sink::Handler(Box::new(HandlerSink {
            handler: Box::new(handler),
            handle: self.handle(),
            pending: Vec::new(),
        }));
        self
    }

    /// The session's id.
    pub fn id(&self) -> SessionId {
        self.slot.id
    }

    /// A handle to the session.
    pub fn handle(&self) -> SessionHandle {
        SessionHandle {
            slot: self.slot.clone(),
        }
    }

    /// The future that runs the session over `io` until it closes; it
    /// resolves to the close reason. The hub forgets the session before
    /// its `Closed` event is delivered.
    pub fn drive<T: Transport, M: Timer>(self, io: T, timer: M) -> Drive<F, T, M> {
        Drive::new(self, io, timer)
    }
}

impl<F: MessageFactory> Conn<F> {
    /// Tells the hub the session is gone: leaves its groups, frees its
    /// admission place and its share of the memory budget, adds its
    /// counters to the totals, and wakes tasks waiting to send to it.
    pub(super) fn unregister(&mut self) {
        let (reason, stats) = {
            let mut st = lock(&self.slot.state);
            st.release_charge(&self.slot.ledger);
            st.wake_writers();
            let reason = st
                .session
                .close_reason()
                .cloned()
                .unwrap_or(CloseReason::Local);
            (reason, *st.session.stats())
        };
        self.hub.unregister(Closed {
            id: self.slot.id,
            peer: self.slot.peer,
            reason: &reason,
            stats: &stats,
        });
        self.unregistered = true;
    }
}

impl<F: MessageFactory> Drop for Conn<F> {
    /// A session whose driver is dropped before it finished (its task was
    /// cancelled, or it was never driven) is closed with
    /// [`CloseReason::Local`] and forgotten, so that it does not hold its
    /// admission place or keep [`Hub::drained`] waiting. Its `Closed` event
    /// (after its `Opened`, if that was not delivered yet) is sent even when
    /// the event stream is full; messages not yet delivered are dropped and
    /// counted as unread.
    fn drop(&mut self) {
        if !self.unregistered {
            lock(&self.slot.state).session.abort(CloseReason::Local);
            self.unregister();
        }
        // A driver that finished delivered everything; one dropped while
        // its `Closed` waited for room in the stream still sends it.
        let Sink::Events(events) = &self.sink else {
            return;
        };
        let mut st = lock(&self.slot.state);
        let mut unread = 0;
        while let Some(event) = st.session.poll_event() {
            // `Opened` and `Closed` bracket every session's events, so an
            // `Opened` not yet delivered goes out before the `Closed`; the
            // messages the application never got are dropped.
            match event {
                SessionEvent::Opened | SessionEvent::Closed(_) => {
                    events.force_send(to_hub_event::<F>(&self.slot, event, &st.session));
                }
                SessionEvent::Message(_) => unread += 1,
                _ => {}
            }
        }
        drop(st);
        events.count_unread(unread);
    }
}

/// What an event counts against its session while the application holds
/// it.
pub(super) fn event_cost(event: &SessionEvent) -> usize {
    match event {
        SessionEvent::Message(payload) => message_cost(payload.len()),
        SessionEvent::Closed(_) => 0,
        _ => message_cost(0),
    }
}

pub(super) fn to_hub_event<F: MessageFactory>(
    slot: &Arc<SlotOf<F>>,
    event: SessionEvent,
    session: &Session<F::Resolver, F::Builder>,
) -> HubEvent {
    let id = slot.id;
    match event {
        SessionEvent::Opened => HubEvent::Opened(SessionHandle { slot: slot.clone() }),
        SessionEvent::Message(payload) => HubEvent::Message { id, payload },
        SessionEvent::EndOfStream => HubEvent::EndOfStream { id },
        SessionEvent::Closed(reason) => HubEvent::Closed {
            id,
            reason,
            stats: Box::new(*session.stats()),
        },
    }
}
