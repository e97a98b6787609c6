//! [`Drive`]: one session's loop over a [`Transport`].

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use super::conn::{HandlerSink, Sink, event_cost, to_hub_event};
use super::{Conn, Timer, Transport};
use crate::hub::{CloseRequest, Credit, Item, SlotState, lock};
use crate::message::MessageFactory;
use crate::session::{CloseReason, SessionEvent};

/// Loop turns before a busy driver yields to other tasks.
const BUDGET: usize = 32;
/// Most bytes read in one call.
const MAX_READ: usize = 64 * 1024;
/// Bytes read in one poll before the driver yields, so that a peer that
/// sends without pause cannot starve the other sessions of its thread.
const READ_PER_POLL: usize = 256 * 1024;
/// Bytes written in one poll before the driver yields.
const WRITE_PER_POLL: usize = 1024 * 1024;
/// The size of the probe buffer, which a connection with no read buffer
/// of its own reads into: one per thread, shared by every session the
/// thread drives, so an idle connection holds no heap buffer. It is large
/// enough for a typical batch of small messages to arrive in one read.
const PROBE: usize = 16 * 1024;
/// Most slices in one vectored write.
const MAX_SLICES: usize = 64;

/// The future of one session's loop; see [`Conn::drive`].
///
/// # A turn
///
/// Each turn runs these phases in order, under the session's lock (which
/// the read and write phases release for each socket call, and the handler
/// phase for the handler: no socket call is made under the lock), so that
/// what one read brings is answered by one write in the same turn:
///
/// | phase | does | stops when |
/// | --- | --- | --- |
/// | requests | applies a close asked for through a handle; a shutdown's close waits until the application is done with what it was given | |
/// | read | reads at most what [`Session::read_budget`](crate::session::Session::read_budget) allows (back-pressure), unless the last turn found the event stream full | the socket is empty, the budget is 0, or this poll's read allowance is spent |
/// | forget | once the session is closed: forget it in the hub before its `Closed` event goes out | |
/// | deliver | moves the session's events to the event stream (or the handler's list); stops after `EndOfStream` until the application is done with everything before it | the stream is full |
/// | handler | calls the handler with the lock released | |
/// | write | vectored writes while the socket takes bytes, each of a batch taken under the lock as shared chunks ([`Session::transmit_chunks`](crate::session::Session::transmit_chunks)) and written with it released; then a flush (retried if it was pending), also unlocked | the socket is full, or this poll's write allowance is spent |
/// | close | once the session is closed and forgotten: deliver `Closed`, shut the write side | |
/// | timer | arms the timer for the next deadline; fires it when due | |
///
/// A turn that made progress runs again; one that spent its allowance
/// yields (the task is woken at once, so other tasks run first); one that
/// made none waits for a waker.
///
/// | flag | meaning |
/// | --- | --- |
/// | `read_eof` | the peer sent end of stream: no more reads |
/// | `app_ready` | every event so far went out (the stream had room); reading waits for it |
/// | `eof_delivered` | `EndOfStream` went to the application; with `half_close` off the session is polled again (which closes it) only once the application is done |
/// | `deferred_close` | a shutdown's close, waiting for the application to be done |
/// | `probe_reads` | reads go through the thread's 16 KiB probe buffer (the session holds no read buffer) |
/// | `busy` | something happened since the buffers were last released |
/// | `flush_pending` | a flush returned `Pending` and must be retried |
/// | `write_shut` | the write side was shut down |
pub struct Drive<F: MessageFactory, T, M> {
    conn: Conn<F>,
    io: T,
    timer: M,
    /// The session's span, if debug logging wants it (boxed: an idle
    /// session's task stays small when it does not).
    span: Option<Box<tracing::Span>>,
    /// The deadline the timer is armed for.
    armed: Option<Instant>,
    read_eof: bool,
    eof_delivered: bool,
    /// Every event so far went to the application (the stream had room).
    app_ready: bool,
    /// (Boxed: rare, and an idle session's task stays small.)
    deferred_close: Option<Box<CloseRequest>>,
    probe_reads: bool,
    busy: bool,
    flush_pending: bool,
    write_shut: bool,
    /// Bytes read and written in the current poll.
    read_this_poll: usize,
    written_this_poll: usize,
}

impl<F: MessageFactory, T, M> fmt::Debug for Drive<F, T, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Drive").field("conn", &self.conn).finish()
    }
}

impl<F: MessageFactory, T: Transport, M: Timer> Drive<F, T, M> {
    /// The driver as a task whose close reason nobody awaits (a server's
    /// sessions): polled in place, where `async move { drive.await }`
    /// would hold a second copy of it in the task.
    pub(crate) fn detach(self) -> Detached<F, T, M> {
        Detached(self)
    }
}

/// See [`Drive::detach`].
pub(crate) struct Detached<F: MessageFactory, T, M>(Drive<F, T, M>);

impl<F: MessageFactory, T: Transport, M: Timer> Future for Detached<F, T, M> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(drop)
    }
}

/// A session's shared state, as the driver locks it.
type State<F> = SlotState<<F as MessageFactory>::Resolver, <F as MessageFactory>::Builder>;

/// What one turn of the loop leads to.
enum Turn {
    Again,
    Wait,
    /// This poll's allowance is spent: yield, then go on.
    Yield,
    Done(CloseReason),
}

/// What the read or write phase did.
#[derive(Default)]
struct Step {
    /// Bytes moved, end of stream, an error, or a change of state.
    progressed: bool,
    /// The socket has nothing more now (a waker is registered).
    blocked: bool,
    /// This poll's allowance is spent.
    limited: bool,
}

impl Step {
    fn progress() -> Self {
        Self {
            progressed: true,
            ..Self::default()
        }
    }
}

/// The bytes a read returned (0 for anything but data).
fn read_len(result: &Poll<io::Result<usize>>) -> usize {
    match result {
        Poll::Ready(Ok(n)) => *n,
        _ => 0,
    }
}

impl<F, T, M> Future for Drive<F, T, M>
where
    F: MessageFactory,
    T: Transport,
    M: Timer,
{
    type Output = CloseReason;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<CloseReason> {
        let this = self.get_mut();
        let span = this.span.as_deref().cloned();
        let _entered = span.as_ref().map(tracing::Span::enter);
        this.read_this_poll = 0;
        this.written_this_poll = 0;
        for _ in 0..BUDGET {
            match this.turn(cx) {
                Turn::Again => {}
                Turn::Wait => return Poll::Pending,
                Turn::Yield => break,
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
    T: Transport,
    M: Timer,
{
    pub(super) fn new(conn: Conn<F>, io: T, timer: M) -> Self {
        let span = tracing::debug_span!("session", id = %conn.slot.id, peer = %conn.slot.peer);
        span.in_scope(|| tracing::debug!("session opened"));
        let span = (!span.is_disabled()).then(|| Box::new(span));
        Self {
            conn,
            io,
            timer,
            span,
            armed: None,
            read_eof: false,
            eof_delivered: false,
            app_ready: true,
            deferred_close: None,
            probe_reads: true,
            busy: false,
            flush_pending: false,
            write_shut: false,
            read_this_poll: 0,
            written_this_poll: 0,
        }
    }

    fn turn(&mut self, cx: &mut Context<'_>) -> Turn {
        let now = self.timer.now();
        let slot = self.conn.slot.clone();
        let mut st = lock(&slot.state);
        st.polled(cx.waker());
        self.apply_close_request(cx, &mut st, now);

        // Read, hand what was read to the application, and write its
        // replies in the same turn: one read and one write per batch.
        let read = match self.app_ready {
            false => Step::default(),
            true => match self.read_plan(cx, &mut st) {
                Err(step) => step,
                Ok(plan) => {
                    drop(st);
                    let (guard, step) = self.read_unlocked(cx, &slot.state, plan, now);
                    st = guard;
                    step
                }
            },
        };
        if st.session.is_closed() && !self.conn.unregistered {
            // Forget the session before its Closed event goes out (however
            // it closed). The hub lock is never taken under a session lock.
            drop(st);
            self.conn.unregister();
            return Turn::Again;
        }
        let (eof_before, was_ready) = (self.eof_delivered, self.app_ready);
        self.app_ready = self.deliver(cx, &mut st, now);
        // The stream had room again: the next turn reads.
        let resumed = self.app_ready && !was_ready;
        // EndOfStream just went out: the next turn waits for the
        // application to be done with it, then closes.
        let eof_news = self.eof_delivered != eof_before;
        let handled = self.conn.sink.has_pending();
        if handled {
            // Sends from the handler need not wake this task: it writes
            // them next.
            st.stay_awake();
            drop(st);
            self.run_handler();
            st = lock(&slot.state);
        }
        let (guard, write) = self.write_unlocked(cx, &slot.state, st, now);
        st = guard;
        st.settle(&slot.ledger);
        st.wake_writers();

        if st.session.is_closed() {
            return self.finish(cx, st);
        }

        let timer_fired = self.timer_phase(cx, &mut st);
        let progressed = read.progressed || write.progressed || timer_fired;
        if progressed || eof_news || handled || resumed {
            self.busy = true;
            return Turn::Again;
        }
        if read.limited || write.limited {
            return Turn::Yield;
        }
        if read.blocked && self.busy && idle(&st) && !self.flush_pending {
            st.session.release_buffers();
            self.probe_reads = true;
            self.busy = false;
        }
        Turn::Wait
    }

    /// Applies a close asked for through a handle or the hub. A shutdown's
    /// close waits until the application is done with the events it was
    /// given (their replies are queued first); reading stops meanwhile.
    fn apply_close_request(&mut self, cx: &mut Context<'_>, st: &mut State<F>, now: Instant) {
        if let Some(request) = st.take_close_request() {
            self.deferred_close = Some(Box::new(request));
        }
        let session = &mut st.session;
        match self.deferred_close.take().map(|request| *request) {
            None => {}
            Some(CloseRequest::Graceful { reason, last_word }) => match last_word {
                Some(payload) => {
                    if let Err(err) = session.send_final(payload, reason.clone(), now) {
                        // Dropped: say so at the default log level.
                        tracing::warn!(error = %err, "last word refused; closing without it");
                        session.close(reason, now);
                    }
                }
                None => session.close(reason, now),
            },
            Some(CloseRequest::Abort(reason)) => session.abort(reason),
            Some(CloseRequest::Shutdown) => {
                if self.app_busy(cx) {
                    self.deferred_close = Some(Box::new(CloseRequest::Shutdown));
                } else {
                    session.close_until(CloseReason::Shutdown, now, None);
                }
            }
        }
    }

    /// Whether the application still holds events of this session; if so,
    /// the driver is woken once it has finished with them.
    fn app_busy(&self, cx: &mut Context<'_>) -> bool {
        let credit = &self.conn.slot.credit;
        credit.pending() > 0 && credit.wait_for(0, cx.waker())
    }

    /// Hands the session's events to the hub's stream while it has room
    /// (or to the handler's list); returns whether every event went out.
    /// After `EndOfStream`, with `half_close` off, the session is polled
    /// again (which closes it) only once the application is done.
    fn deliver(&mut self, cx: &mut Context<'_>, st: &mut State<F>, now: Instant) -> bool {
        let session = &mut st.session;
        if self.eof_delivered && !session.is_closing() && !session.config().half_close {
            if self.app_busy(cx) {
                return true;
            }
            // The application is done with everything the peer sent (its
            // replies are queued): close, and forget the session before
            // its Closed event goes out (next turn).
            session.close(CloseReason::RemoteClosed, now);
            if session.is_closed() {
                return true;
            }
        }
        let mut eof = false;
        let Conn { sink, slot, .. } = &mut self.conn;
        let ready = match sink {
            Sink::Handler(sink) => {
                let pending = &mut sink.pending;
                while !eof {
                    let Some(event) = session.poll_event() else {
                        break;
                    };
                    eof = event == SessionEvent::EndOfStream;
                    pending.push(event);
                }
                true
            }
            Sink::Events(events) => {
                // The cost of a batch rides on its last event: returned
                // when the application asks for the event after it, which
                // is never sooner than per event would be, with one credit
                // (and its atomic operations) per batch instead of per
                // message.
                let mut cost = 0;
                events
                    .poll_send_all(cx, |last_slot| {
                        if eof {
                            return None;
                        }
                        let event = session.poll_event()?;
                        eof = event == SessionEvent::EndOfStream;
                        cost += event_cost(&event);
                        let last = last_slot || eof || !session.has_event();
                        let credit = (last && cost > 0)
                            .then(|| Credit::new(slot.clone(), std::mem::take(&mut cost)));
                        let event = to_hub_event::<F>(slot, event, session);
                        Some(Item { event, credit })
                    })
                    .is_ready()
            }
        };
        self.eof_delivered |= eof;
        ready
    }

    /// Calls the handler with the events taken (the session's lock is not
    /// held).
    fn run_handler(&mut self) {
        let Sink::Handler(sink) = &mut self.conn.sink else {
            return;
        };
        let HandlerSink {
            handler,
            handle,
            pending,
        } = &mut **sink;
        let handle = &*handle;
        for event in pending.drain(..) {
            match event {
                SessionEvent::Opened => handler.on_open(handle),
                SessionEvent::Message(payload) => handler.on_message(handle, payload),
                SessionEvent::EndOfStream => handler.on_end_of_stream(handle),
                SessionEvent::Closed(reason) => handler.on_close(handle, &reason, &handle.stats()),
            }
        }
    }

    /// What the next read may take, decided under the session's lock: at
    /// most what back-pressure and this poll's allowance permit, into the
    /// probe or into the session's own buffer (taken out for the read).
    /// `Err` is the read phase's outcome when there is nothing to read.
    fn read_plan(
        &mut self,
        cx: &mut Context<'_>,
        st: &mut State<F>,
    ) -> Result<(usize, Option<BytesMut>), Step> {
        let session = &mut st.session;
        if session.is_closing() || self.read_eof || self.deferred_close.is_some() {
            return Err(Step::default());
        }
        let allowance = READ_PER_POLL - self.read_this_poll.min(READ_PER_POLL);
        if allowance == 0 {
            return Err(Step {
                limited: true,
                ..Step::default()
            });
        }
        let credit = &self.conn.slot.credit;
        let budget = session.read_budget(credit.pending());
        if budget == 0 && session.is_rate_held() {
            // The peer is past its rate: the session's deadline (the
            // timer) says when reading goes on.
            return Err(Step::default());
        }
        if budget == 0 {
            // Paused: the queue drains as the socket takes bytes (the
            // write phase sees that), and the application's share falls
            // as it takes events: wait for that if it is what holds us.
            let queued = session.paced_queue_bytes();
            let low = session.config().backpressure.map_or(0, |m| m.low);
            let resumed = queued <= low && !credit.wait_for(low - queued, cx.waker());
            return Err(Step {
                progressed: resumed,
                ..Step::default()
            });
        }
        let max = budget.min(MAX_READ).min(allowance);
        let buf = (!self.probe_reads).then(|| session.take_read_buf());
        Ok((max, buf))
    }

    /// One read from the socket, made with the session's lock released
    /// (a hub operation that needs the session never waits for the
    /// socket); returns the lock, taken again, with the bytes handed to
    /// the session.
    fn read_unlocked<'a>(
        &mut self,
        cx: &mut Context<'_>,
        state: &'a Mutex<State<F>>,
        (max, buf): (usize, Option<BytesMut>),
        now: Instant,
    ) -> (MutexGuard<'a, State<F>>, Step) {
        let (mut st, result) = match buf {
            None => {
                let io = &mut self.io;
                let (st, result, n) = with_probe(max, |probe| {
                    let result = io.poll_read(cx, probe);
                    let n = read_len(&result);
                    let mut st = lock(state);
                    st.session.handle_input(&probe[..n], now);
                    (st, result, n)
                });
                // A full probe: the peer is sending in bulk, read straight
                // into the session's buffer until the connection goes quiet.
                self.probe_reads = n < PROBE;
                (st, result)
            }
            Some(mut buf) => {
                let result = self.io.poll_read_buf(cx, &mut buf, max);
                let mut st = lock(state);
                st.session.handle_read_into(buf, read_len(&result), now);
                (st, result)
            }
        };
        let session = &mut st.session;
        let step = match result {
            Poll::Ready(Ok(0)) => {
                self.read_eof = true;
                session.handle_eof(now);
                Step::progress()
            }
            Poll::Ready(Ok(n)) => {
                self.read_this_poll += n;
                Step::progress()
            }
            Poll::Ready(Err(err)) => {
                tracing::debug!(error = %err, "read failed");
                session.handle_io_error(err.kind());
                Step::progress()
            }
            Poll::Pending => Step {
                blocked: true,
                ..Step::default()
            },
        };
        (st, step)
    }

    /// Writes while the socket takes bytes and this poll's allowance
    /// lasts; retries a pending flush. Each batch is taken under the lock
    /// as shared chunks, written with the lock released (a hub operation
    /// that needs the session never waits for the socket), and reported to
    /// the session with the lock taken again; returns the lock.
    ///
    /// While a batch is written, other tasks may queue behind it (and
    /// their sends never replace a message in it), or close the session,
    /// which drops the queue: [`handle_written`](crate::session::Session::handle_written)
    /// then does nothing.
    fn write_unlocked<'a>(
        &mut self,
        cx: &mut Context<'_>,
        state: &'a Mutex<State<F>>,
        mut st: MutexGuard<'a, State<F>>,
        now: Instant,
    ) -> (MutexGuard<'a, State<F>>, Step) {
        let mut step = Step::default();
        let mut wrote = false;
        while st.session.wants_write() {
            if self.written_this_poll >= WRITE_PER_POLL {
                step.limited = true;
                break;
            }
            let io = &mut self.io;
            let (guard, result) = with_batch(|batch| {
                st.session.transmit_chunks_up_to(batch, MAX_SLICES);
                drop(st);
                let mut slices = [IoSlice::new(&[]); MAX_SLICES];
                for (slice, chunk) in slices.iter_mut().zip(batch.iter()) {
                    *slice = IoSlice::new(chunk);
                }
                let result = io.poll_write_vectored(cx, &slices[..batch.len()]);
                // The chunks go before the lock is taken again, so that
                // the staging buffer they were cut from is the queue's
                // alone again (and reused, not reallocated).
                batch.clear();
                (lock(state), result)
            });
            st = guard;
            let session = &mut st.session;
            match result {
                Poll::Ready(Ok(0)) => {
                    session.handle_io_error(io::ErrorKind::WriteZero);
                    step.progressed = true;
                    return (st, step);
                }
                Poll::Ready(Ok(n)) => {
                    session.handle_written(n, now);
                    self.written_this_poll += n;
                    step.progressed = true;
                    wrote = true;
                }
                Poll::Ready(Err(err)) => {
                    tracing::debug!(error = %err, "write failed");
                    session.handle_io_error(err.kind());
                    step.progressed = true;
                    return (st, step);
                }
                Poll::Pending => {
                    // The socket took nothing: the write-stall clock runs.
                    session.handle_written(0, now);
                    step.blocked = true;
                    break;
                }
            }
        }
        if wrote || self.flush_pending {
            drop(st);
            let result = self.io.poll_flush(cx);
            st = lock(state);
            match result {
                Poll::Ready(Ok(())) => self.flush_pending = false,
                Poll::Ready(Err(err)) => {
                    self.flush_pending = false;
                    st.session.handle_io_error(err.kind());
                    step.progressed = true;
                }
                Poll::Pending => self.flush_pending = true,
            }
        }
        (st, step)
    }

    /// The session is closed: forget it, deliver `Closed`, shut the write
    /// side down after an orderly close.
    fn finish(&mut self, cx: &mut Context<'_>, st: MutexGuard<'_, State<F>>) -> Turn {
        if !self.conn.unregistered {
            return Turn::Again;
        }
        if !self.app_ready {
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
        Turn::Done(reason)
    }

    /// Arms the timer for the session's next deadline; returns whether a
    /// deadline fired.
    ///
    /// The timer is re-armed only when the next deadline comes sooner: the
    /// idle deadline moves with every read, and resetting a timer each
    /// time costs more than waking once early (the session then finds
    /// nothing due, and the timer is armed for the real deadline).
    fn timer_phase(&mut self, cx: &mut Context<'_>, st: &mut State<F>) -> bool {
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
            return true;
        }
        false
    }
}

thread_local! {
    /// This thread's probe buffer (see [`PROBE`]).
    static PROBE_BUF: RefCell<Box<[u8]>> = RefCell::new(vec![0; PROBE].into_boxed_slice());
}

/// Runs `read` on at most `max` bytes of this thread's probe buffer (or a
/// small stack buffer, should a read on this thread already hold it).
fn with_probe<R>(max: usize, read: impl FnOnce(&mut [u8]) -> R) -> R {
    PROBE_BUF.with(|cell| match cell.try_borrow_mut() {
        Ok(mut probe) => {
            let take = max.min(probe.len());
            read(&mut probe[..take])
        }
        Err(_) => {
            let mut small = [0u8; 1024];
            let take = max.min(small.len());
            read(&mut small[..take])
        }
    })
}

thread_local! {
    /// This thread's write batch: the chunks of one vectored write, shared
    /// out of the session's queue so that they can be written with its lock
    /// released. One per thread, like the probe buffer, so that an idle
    /// session's task holds no list; empty between writes.
    static BATCH: RefCell<Vec<Bytes>> = const { RefCell::new(Vec::new()) };
}

/// Runs `write` with this thread's write batch, emptied, or with a fresh
/// list should a write on this thread already hold it; `write` leaves it
/// empty (emptied here too, should a transport have panicked mid-write).
fn with_batch<R>(write: impl FnOnce(&mut Vec<Bytes>) -> R) -> R {
    BATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut batch) => {
            batch.clear();
            write(&mut batch)
        }
        Err(_) => write(&mut Vec::with_capacity(MAX_SLICES)),
    })
}

/// Whether the session holds nothing worth keeping a buffer for.
fn idle<R, B>(st: &SlotState<R, B>) -> bool
where
    R: crate::message::MessageResolver,
    B: crate::message::MessageBuilder,
{
    st.session.buffered() == 0 && !st.session.wants_write()
}
