//! [`Conn`] and [`Drive`]: one session's loop over a [`Transport`].

use std::fmt;
use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use super::{Handler, Timer, Transport};
use crate::hub::{
    CloseRequest, Closed, Event as HubEvent, EventSender, Hub, SessionHandle, SessionId, Slot,
    SlotState, lock,
};
use crate::message::MessageFactory;
use crate::session::{CloseReason, Event, Session};

/// Loop turns before a busy driver yields to other tasks.
const BUDGET: usize = 32;
/// Most bytes read in one call.
const MAX_READ: usize = 64 * 1024;
/// The stack buffer an idle connection reads into (it holds no heap
/// buffer until bytes arrive).
const PROBE: usize = 1024;
/// Most slices in one vectored write.
const MAX_SLICES: usize = 64;

type SlotOf<F> = Slot<<F as MessageFactory>::Resolver, <F as MessageFactory>::Builder>;
type SessionOf<F> = Session<<F as MessageFactory>::Resolver, <F as MessageFactory>::Builder>;

/// The driver's side of a session a [`Hub`] registered (from
/// [`Admission::open`](crate::hub::Admission::open)): turn it into a future
/// with [`drive`](Self::drive) and spawn that.
pub struct Conn<F: MessageFactory> {
    hub: Hub<F>,
    slot: Arc<SlotOf<F>>,
    handle: SessionHandle,
    sink: Sink,
    /// The hub has forgotten the session.
    unregistered: bool,
}

/// Where a session's events go.
enum Sink {
    /// The hub's event stream.
    Events(EventSender),
    /// A handler, called between turns with the lock released.
    Handler {
        handler: Box<dyn Handler>,
        /// Events taken from the session, waiting for the handler.
        pending: Vec<Event>,
    },
}

impl<F: MessageFactory> fmt::Debug for Conn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Conn")
            .field("id", &self.slot.id)
            .field("peer", &self.slot.peer)
            .finish()
    }
}

impl<F: MessageFactory> Conn<F>
where
    F::Resolver: fmt::Debug + 'static,
    F::Builder: fmt::Debug + 'static,
{
    pub(crate) fn new(hub: Hub<F>, slot: Arc<SlotOf<F>>) -> Self {
        let handle = SessionHandle { slot: slot.clone() };
        let sink = Sink::Events(hub.inner.events.clone());
        Self {
            hub,
            slot,
            handle,
            sink,
            unregistered: false,
        }
    }

    /// Sends this session's events to `handler`, on the driver's task,
    /// instead of to the hub's [`Events`](crate::hub::Events) stream.
    pub fn with_handler<H: Handler + 'static>(mut self, handler: H) -> Self {
        self.sink = Sink::Handler {
            handler: Box::new(handler),
            pending: Vec::new(),
        };
        self
    }

    /// The session's id.
    pub fn id(&self) -> SessionId {
        self.slot.id
    }

    /// A handle to the session.
    pub fn handle(&self) -> &SessionHandle {
        &self.handle
    }

    /// The future that runs the session over `io` until it closes; it
    /// resolves to the close reason. The hub forgets the session before
    /// its `Closed` event is delivered.
    pub fn drive<T: Transport, M: Timer>(self, io: T, timer: M) -> Drive<F, T, M> {
        let span = tracing::debug_span!("session", id = %self.slot.id, peer = %self.slot.peer);
        span.in_scope(|| tracing::debug!("session opened"));
        Drive {
            conn: self,
            io,
            timer,
            span,
            armed: None,
            read_eof: false,
            probe_reads: true,
            busy: false,
            write_shut: false,
        }
    }
}

impl<F: MessageFactory> Conn<F> {
    /// Tells the hub the session is gone: leaves its groups, frees its
    /// admission place, adds its counters to the totals.
    fn unregister(&mut self) {
        let (reason, stats, groups) = {
            let mut st = lock(&self.slot.state);
            let reason = st
                .session
                .close_reason()
                .cloned()
                .unwrap_or(CloseReason::Local);
            (reason, *st.session.stats(), std::mem::take(&mut st.groups))
        };
        self.hub.unregister(Closed {
            id: self.slot.id,
            peer: self.slot.peer,
            reason: &reason,
            stats: &stats,
            groups: &groups,
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
    /// the event stream is full; messages not yet delivered are dropped.
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
        while let Some(event) = st.session.poll_event() {
            // `Opened` and `Closed` bracket every session's events, so an
            // `Opened` not yet delivered goes out before the `Closed`; the
            // messages the application never got are dropped.
            if matches!(event, Event::Opened | Event::Closed(_)) {
                events.force_send(to_hub_event(&self.handle, event, &st.session));
            }
        }
    }
}

/// The future of one session's loop; see [`Conn::drive`].
pub struct Drive<F: MessageFactory, T, M> {
    conn: Conn<F>,
    io: T,
    timer: M,
    span: tracing::Span,
    /// The deadline the timer is armed for.
    armed: Option<Instant>,
    /// The peer sent end of stream.
    read_eof: bool,
    /// Read through the stack probe: the session holds no read buffer
    /// (new or idle connection, or small messages only). A probe read that
    /// fills the probe switches to reading into the session's buffer.
    probe_reads: bool,
    /// Anything happened since the buffers were last released.
    busy: bool,
    /// The write side was shut down.
    write_shut: bool,
}

impl<F: MessageFactory, T, M> fmt::Debug for Drive<F, T, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Drive").field("conn", &self.conn).finish()
    }
}

/// What one turn of the loop leads to.
enum Turn {
    Again,
    Wait,
    Done(CloseReason),
}

impl<F, T, M> Future for Drive<F, T, M>
where
    F: MessageFactory,
    F::Resolver: fmt::Debug + 'static,
    F::Builder: fmt::Debug + 'static,
    T: Transport,
    M: Timer,
{
    type Output = CloseReason;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<CloseReason> {
        let this = self.get_mut();
        let span = this.span.clone();
        let _entered = span.enter();
        for _ in 0..BUDGET {
            match this.turn(cx) {
                Turn::Again => {}
                Turn::Wait => return Poll::Pending,
                Turn::Done(reason) => {
                    tracing::debug!(%reason, "session closed");
                    return Poll::Ready(reason);
                }
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl<F, T, M> Drive<F, T, M>
where
    F: MessageFactory,
    F::Resolver: fmt::Debug + 'static,
    F::Builder: fmt::Debug + 'static,
    T: Transport,
    M: Timer,
{
    fn turn(&mut self, cx: &mut Context<'_>) -> Turn {
        let now = self.timer.now();
        let slot = self.conn.slot.clone();
        let mut st = lock(&slot.state);
        st.notified = false;
        if !st.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            st.waker = Some(cx.waker().clone());
        }

        if st.close_pending {
            st.close_pending = false;
            match st.close_request.clone() {
                Some(CloseRequest::Graceful(reason)) => st.session.close(reason, now),
                Some(CloseRequest::Abort(reason)) => st.session.abort(reason),
                None => {}
            }
        }

        if st.session.is_closed() && !self.conn.unregistered {
            // Forget the session before its Closed event goes out (however
            // it closed: a request above, or the read, write or timeout of
            // an earlier turn). The hub lock is never taken under a session
            // lock.
            drop(st);
            self.conn.unregister();
            return Turn::Again;
        }

        let mut progressed = false;
        let app_ready = self.deliver(cx, &mut st.session);
        if let Sink::Handler { pending, .. } = &self.conn.sink {
            if !pending.is_empty() {
                // The next turn runs at once: sends from the handler need
                // not wake this task.
                st.notified = true;
                drop(st);
                self.run_handler();
                return Turn::Again;
            }
        }

        let mut read_pending = false;
        if app_ready && !st.session.is_closed() && !self.read_eof {
            match self.read(cx, &mut st.session, now) {
                Poll::Ready(()) => progressed = true,
                Poll::Pending => read_pending = true,
            }
        }

        if self.write(cx, &mut st.session, now) {
            progressed = true;
        }

        if st.session.is_closed() {
            if !self.conn.unregistered {
                return Turn::Again;
            }
            if !app_ready {
                // The Closed event waits for room; poll_ready will wake us.
                return Turn::Wait;
            }
            let reason = st
                .session
                .close_reason()
                .cloned()
                .unwrap_or(CloseReason::Local);
            drop(st);
            if !reason.is_fault() && !self.write_shut {
                if self.io.poll_shutdown(cx).is_pending() {
                    return Turn::Wait;
                }
                self.write_shut = true;
            }
            return Turn::Done(reason);
        }

        // The timer is re-armed only when the next deadline comes sooner:
        // the idle deadline moves with every read, and resetting a timer
        // each time costs more than waking once early (the session then
        // finds nothing due, and the timer is armed for the real deadline).
        match (st.session.poll_timeout(), self.armed) {
            (Some(deadline), Some(armed)) if deadline >= armed => {}
            (Some(deadline), _) => {
                self.timer.reset(deadline);
                self.armed = Some(deadline);
            }
            (None, _) => self.armed = None,
        }
        if self.armed.is_some() && self.timer.poll_expired(cx).is_ready() {
            st.session.handle_timeout(self.timer.now());
            self.armed = None;
            progressed = true;
        }

        if progressed {
            self.busy = true;
            return Turn::Again;
        }
        if read_pending && self.busy && idle(&st) {
            st.session.release_buffers();
            self.probe_reads = true;
            self.busy = false;
        }
        Turn::Wait
    }

    /// Hands the session's events to the hub's stream while it has room;
    /// returns whether every event went out.
    fn deliver(&mut self, cx: &mut Context<'_>, session: &mut SessionOf<F>) -> bool {
        let events = match &mut self.conn.sink {
            Sink::Events(events) => events,
            Sink::Handler { pending, .. } => {
                pending.extend(std::iter::from_fn(|| session.poll_event()));
                return true;
            }
        };
        let handle = &self.conn.handle;
        events
            .poll_send_all(cx, || {
                let event = session.poll_event()?;
                Some(to_hub_event(handle, event, session))
            })
            .is_ready()
    }

    /// Calls the handler with the events taken (the session's lock is not
    /// held).
    fn run_handler(&mut self) {
        let Sink::Handler { handler, pending } = &mut self.conn.sink else {
            return;
        };
        let handle = &self.conn.handle;
        for event in pending.drain(..) {
            match event {
                Event::Opened => handler.on_open(handle),
                Event::Message(payload) => handler.on_message(handle, payload),
                Event::EndOfStream => handler.on_end_of_stream(handle),
                Event::Closed(reason) => handler.on_close(handle, &reason, &handle.stats()),
            }
        }
    }
}

fn to_hub_event<R, B>(handle: &SessionHandle, event: Event, session: &Session<R, B>) -> HubEvent
where
    R: crate::message::MessageResolver,
    B: crate::message::MessageBuilder,
{
    let id = handle.id();
    match event {
        Event::Opened => HubEvent::Opened(handle.clone()),
        Event::Message(payload) => HubEvent::Message { id, payload },
        Event::EndOfStream => HubEvent::EndOfStream { id },
        Event::Closed(reason) => HubEvent::Closed {
            id,
            reason,
            stats: *session.stats(),
        },
    }
}

impl<F, T, M> Drive<F, T, M>
where
    F: MessageFactory,
    F::Resolver: fmt::Debug + 'static,
    F::Builder: fmt::Debug + 'static,
    T: Transport,
    M: Timer,
{
    /// One read; `Ready` if anything happened (bytes, end of stream, error).
    fn read(&mut self, cx: &mut Context<'_>, session: &mut SessionOf<F>, now: Instant) -> Poll<()> {
        let result = if self.probe_reads {
            let mut probe = [0u8; PROBE];
            let result = self.io.poll_read(cx, &mut probe);
            if let Poll::Ready(Ok(n)) = result {
                session.handle_input(&probe[..n], now);
                self.probe_reads = n < PROBE;
            }
            result
        } else {
            let result = self.io.poll_read_buf(cx, session.read_buf(), MAX_READ);
            let n = match result {
                Poll::Ready(Ok(n)) => n,
                _ => 0,
            };
            session.handle_read(n, now);
            result
        };
        match result {
            Poll::Ready(Ok(0)) => {
                self.read_eof = true;
                session.handle_eof(now);
            }
            Poll::Ready(Ok(_)) => {}
            Poll::Ready(Err(err)) => {
                tracing::debug!(error = %err, "read failed");
                session.handle_io_error(err.kind());
            }
            Poll::Pending => return Poll::Pending,
        }
        Poll::Ready(())
    }

    /// Writes while the socket takes bytes; returns whether any progress
    /// was made (bytes written or an error).
    fn write(&mut self, cx: &mut Context<'_>, session: &mut SessionOf<F>, now: Instant) -> bool {
        let mut progressed = false;
        while session.wants_write() {
            let result = {
                let mut slices = [IoSlice::new(&[]); MAX_SLICES];
                let n = session.io_slices(&mut slices);
                self.io.poll_write_vectored(cx, &slices[..n])
            };
            match result {
                Poll::Ready(Ok(0)) => {
                    session.handle_io_error(io::ErrorKind::WriteZero);
                    return true;
                }
                Poll::Ready(Ok(n)) => {
                    session.handle_written(n, now);
                    progressed = true;
                }
                Poll::Ready(Err(err)) => {
                    tracing::debug!(error = %err, "write failed");
                    session.handle_io_error(err.kind());
                    return true;
                }
                Poll::Pending => return progressed,
            }
        }
        if progressed {
            if let Poll::Ready(Err(err)) = self.io.poll_flush(cx) {
                session.handle_io_error(err.kind());
            }
        }
        progressed
    }
}

/// Whether the session holds nothing worth keeping a buffer for.
fn idle<R, B>(st: &SlotState<R, B>) -> bool
where
    R: crate::message::MessageResolver,
    B: crate::message::MessageBuilder,
{
    st.session.buffered() == 0 && !st.session.wants_write()
}

impl<F: MessageFactory, T, M> std::ops::Deref for Drive<F, T, M> {
    type Target = Conn<F>;

    fn deref(&self) -> &Conn<F> {
        &self.conn
    }
}
