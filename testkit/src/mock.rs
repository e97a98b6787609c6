//! A deterministic in-memory [`Transport`], a virtual-clock [`Timer`] and a
//! harness that drives hub sessions over them on a `LocalPool`.
//!
//! Sessions use the laster40Net codec ([`codec`]): a 4-byte little-endian
//! length, then the payload.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;
use proto_core::driver::{AdmissionExt, Drive, Timer, Transport};
use proto_core::frame::LengthField;
use proto_core::hub::{Admission, Event, Events, Hub, HubConfig, SessionHandle, SessionId};
use proto_core::message::{MessageFactory, MessageResolver};
use proto_core::session::CloseReason;

/// Locks `m`, through a poisoning panic (a test that panicked already
/// failed).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The codec every test uses: a 4-byte little-endian length, then the payload.
pub fn codec() -> LengthField {
    LengthField::laster40net()
}

/// `payload` as a frame on the wire.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_le_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}

/// Wire length of a frame carrying `payload_len` bytes.
pub fn frame_len(payload_len: usize) -> usize {
    4 + payload_len
}

/// Decodes a whole byte stream into payloads; panics on leftovers.
pub fn decode_all(wire: &[u8]) -> Vec<Vec<u8>> {
    let mut codec = codec().new_resolver();
    let mut buf = BytesMut::from(wire);
    let mut out = Vec::new();
    while let Some(frame) = codec.decode(&mut buf).expect("mock output is well framed") {
        out.push(frame.to_vec());
    }
    assert!(
        buf.is_empty(),
        "{} bytes of a partial frame left",
        buf.len()
    );
    out
}

/// A peer address `10.0.0.<host>:<port>`.
pub fn addr(host: u8, port: u16) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, host], port))
}

// ----- transport -----

/// What the driver did to a [`MockIo`], in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// A read into a buffer of `buf` bytes returned `n` bytes (0: EOF).
    Read {
        /// Size of the buffer offered.
        buf: usize,
        /// Bytes read.
        n: usize,
        /// Through [`Transport::poll_read_buf`] (into the session's own
        /// buffer), not [`Transport::poll_read`] (into a slice: the
        /// driver's probe).
        into_buffer: bool,
    },
    /// A vectored write took `n` bytes.
    Write(usize),
    /// A flush that completed.
    Flush,
    /// A flush that returned `Pending` ([`FlushMode::Buffered`], held).
    FlushPending,
    /// A shutdown of the write side that completed.
    Shutdown,
}

/// How the mock answers flushes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushMode {
    /// Writes go straight to `output`; a flush is a no-op.
    Direct,
    /// Writes go to a buffer (as through a `BufWriter`) that a flush moves
    /// to `output`; while `hold_flush` is set, a flush returns `Pending`
    /// and is woken by [`IoCtl::release_flush`].
    Buffered,
}

/// How the mock answers writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Take everything offered.
    All,
    /// Take at most this many bytes per call.
    Partial(usize),
    /// Refuse (Pending) until the mode changes.
    Refuse,
    /// Fail with this error.
    Fail(io::ErrorKind),
    /// Return `Ok(0)`.
    Zero,
}

/// Both ends' view of a mock connection (through [`IoCtl::state`]).
#[derive(Debug)]
pub struct IoState {
    /// Inbound segments; one read never spans two of them.
    pub inbound: VecDeque<Vec<u8>>,
    /// After `inbound` drains, reads return `Ok(0)`.
    pub eof: bool,
    /// The next read fails with this.
    pub read_error: Option<io::ErrorKind>,
    /// How writes are answered.
    pub write_mode: WriteMode,
    /// Everything written.
    pub output: Vec<u8>,
    /// `(pointer, length)` of every slice offered to a write that took bytes.
    pub write_slices: Vec<(usize, usize)>,
    /// What the driver did, in order.
    pub ops: Vec<Op>,
    /// The task waiting for bytes to read.
    pub read_waker: Option<Waker>,
    /// The task waiting for a refused write to be taken.
    pub write_waker: Option<Waker>,
    /// Calls of `poll_read` that found nothing to read.
    pub pending_reads: usize,
    /// How flushes are answered.
    pub flush_mode: FlushMode,
    /// Written bytes not yet flushed ([`FlushMode::Buffered`]).
    pub unflushed: Vec<u8>,
    /// Flushes return `Pending` while set ([`FlushMode::Buffered`]).
    pub hold_flush: bool,
    /// The task whose flush pended.
    pub flush_waker: Option<Waker>,
    /// The write side was shut down; a write after it panics.
    pub shut: bool,
}

/// The driver's end of an in-memory connection.
#[derive(Debug)]
pub struct MockIo(Arc<Mutex<IoState>>);

/// The test's end of the same connection.
#[derive(Debug, Clone)]
pub struct IoCtl(Arc<Mutex<IoState>>);

/// A new connection with nothing to read, that takes every write.
pub fn mock_io() -> (MockIo, IoCtl) {
    let state = Arc::new(Mutex::new(IoState {
        inbound: VecDeque::new(),
        eof: false,
        read_error: None,
        write_mode: WriteMode::All,
        output: Vec::new(),
        write_slices: Vec::new(),
        ops: Vec::new(),
        read_waker: None,
        write_waker: None,
        pending_reads: 0,
        flush_mode: FlushMode::Direct,
        unflushed: Vec::new(),
        hold_flush: false,
        flush_waker: None,
        shut: false,
    }));
    (MockIo(state.clone()), IoCtl(state))
}

impl IoCtl {
    /// Both ends' state, locked.
    pub fn state(&self) -> MutexGuard<'_, IoState> {
        lock(&self.0)
    }

    fn wake_reader(state: &mut IoState) {
        if let Some(w) = state.read_waker.take() {
            w.wake();
        }
    }

    /// The peer sends `bytes` (one segment).
    pub fn push(&self, bytes: &[u8]) {
        let mut s = self.state();
        s.inbound.push_back(bytes.to_vec());
        Self::wake_reader(&mut s);
    }

    /// The peer sends `payload` as a frame.
    pub fn push_frame(&self, payload: &[u8]) {
        self.push(&frame(payload));
    }

    /// The peer closes its side.
    pub fn push_eof(&self) {
        let mut s = self.state();
        s.eof = true;
        Self::wake_reader(&mut s);
    }

    /// The next read fails.
    pub fn fail_read(&self, kind: io::ErrorKind) {
        let mut s = self.state();
        s.read_error = Some(kind);
        Self::wake_reader(&mut s);
    }

    /// Answers writes as `mode` says from now on, and wakes a refused
    /// writer.
    pub fn set_write_mode(&self, mode: WriteMode) {
        let mut s = self.state();
        s.write_mode = mode;
        if let Some(w) = s.write_waker.take() {
            w.wake();
        }
    }

    /// Switches to `mode`; `hold` makes flushes pend until
    /// [`release_flush`](Self::release_flush).
    pub fn set_flush_mode(&self, mode: FlushMode, hold: bool) {
        let mut s = self.state();
        s.flush_mode = mode;
        s.hold_flush = hold;
    }

    /// Lets flushes complete and wakes the task whose flush pended.
    pub fn release_flush(&self) {
        let mut s = self.state();
        s.hold_flush = false;
        if let Some(w) = s.flush_waker.take() {
            w.wake();
        }
    }

    /// Bytes written but not flushed yet ([`FlushMode::Buffered`]).
    pub fn unflushed(&self) -> usize {
        self.state().unflushed.len()
    }

    /// Bytes written so far.
    pub fn output(&self) -> Vec<u8> {
        self.state().output.clone()
    }

    /// Payloads written so far.
    pub fn sent(&self) -> Vec<Vec<u8>> {
        decode_all(&self.output())
    }

    /// What the driver did so far, in order.
    pub fn ops(&self) -> Vec<Op> {
        self.state().ops.clone()
    }

    /// Inbound bytes the driver has not read.
    pub fn unread(&self) -> usize {
        self.state().inbound.iter().map(Vec::len).sum()
    }

    /// Whether the driver shut the write side down.
    pub fn shutdown_called(&self) -> bool {
        self.ops().contains(&Op::Shutdown)
    }

    /// Buffer sizes of the reads that returned bytes.
    pub fn read_sizes(&self) -> Vec<usize> {
        self.ops()
            .iter()
            .filter_map(|op| match op {
                Op::Read { buf, n, .. } if *n > 0 => Some(*buf),
                _ => None,
            })
            .collect()
    }

    /// For each read that returned bytes, whether it went into the
    /// session's own buffer (`true`) or through the driver's probe.
    pub fn read_into_buffer(&self) -> Vec<bool> {
        self.ops()
            .iter()
            .filter_map(|op| match op {
                Op::Read { n, into_buffer, .. } if *n > 0 => Some(*into_buffer),
                _ => None,
            })
            .collect()
    }
}

impl MockIo {
    fn read_into(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
        into_buffer: bool,
    ) -> Poll<io::Result<usize>> {
        let mut s = lock(&self.0);
        if let Some(kind) = s.read_error.take() {
            return Poll::Ready(Err(kind.into()));
        }
        if let Some(front) = s.inbound.front_mut() {
            let n = front.len().min(buf.len());
            buf[..n].copy_from_slice(&front[..n]);
            front.drain(..n);
            if front.is_empty() {
                s.inbound.pop_front();
            }
            s.ops.push(Op::Read {
                buf: buf.len(),
                n,
                into_buffer,
            });
            return Poll::Ready(Ok(n));
        }
        if s.eof {
            s.ops.push(Op::Read {
                buf: buf.len(),
                n: 0,
                into_buffer,
            });
            return Poll::Ready(Ok(0));
        }
        s.pending_reads += 1;
        s.read_waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Transport for MockIo {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.read_into(cx, buf, false)
    }

    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
        max: usize,
    ) -> Poll<io::Result<usize>> {
        // As the trait's default does, recording the path.
        let start = buf.len();
        let end = buf.capacity().min(start + max).max(start + 1);
        buf.resize(end, 0);
        let result = self.read_into(cx, &mut buf[start..], true);
        let n = match &result {
            Poll::Ready(Ok(n)) => *n,
            _ => 0,
        };
        buf.truncate(start + n);
        result
    }

    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut s = lock(&self.0);
        assert!(!s.shut, "write after the write side was shut down");
        let limit = match s.write_mode {
            WriteMode::All => usize::MAX,
            WriteMode::Partial(n) => n,
            WriteMode::Refuse => {
                s.write_waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
            WriteMode::Fail(kind) => return Poll::Ready(Err(kind.into())),
            WriteMode::Zero => return Poll::Ready(Ok(0)),
        };
        let mut taken = 0;
        for buf in bufs {
            s.write_slices.push((buf.as_ptr() as usize, buf.len()));
            let k = buf.len().min(limit - taken);
            match s.flush_mode {
                FlushMode::Direct => s.output.extend_from_slice(&buf[..k]),
                FlushMode::Buffered => s.unflushed.extend_from_slice(&buf[..k]),
            }
            taken += k;
            if taken == limit {
                break;
            }
        }
        s.ops.push(Op::Write(taken));
        Poll::Ready(Ok(taken))
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut s = lock(&self.0);
        if flush_buffered(&mut s, cx).is_pending() {
            return Poll::Pending;
        }
        s.ops.push(Op::Flush);
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut s = lock(&self.0);
        // As `AsyncWrite::poll_shutdown` does: flush first.
        if flush_buffered(&mut s, cx).is_pending() {
            return Poll::Pending;
        }
        s.shut = true;
        s.ops.push(Op::Shutdown);
        Poll::Ready(Ok(()))
    }
}

/// Moves unflushed bytes to `output` ([`FlushMode::Buffered`]), or pends
/// while flushes are held.
fn flush_buffered(s: &mut IoState, cx: &mut Context<'_>) -> Poll<()> {
    if s.flush_mode == FlushMode::Buffered {
        if s.hold_flush {
            s.ops.push(Op::FlushPending);
            s.flush_waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let flushed = std::mem::take(&mut s.unflushed);
        s.output.extend_from_slice(&flushed);
    }
    Poll::Ready(())
}

// ----- clock -----

#[derive(Debug)]
struct ClockState {
    now: Instant,
    /// Tasks waiting for time to pass, with the time each waits for, if it
    /// said.
    wakers: Vec<(Option<Instant>, Waker)>,
}

/// A virtual clock shared by every [`MockTimer`] of a test.
#[derive(Debug, Clone)]
pub struct Clock(Arc<Mutex<ClockState>>);

impl Clock {
    /// A clock that reads `start`.
    pub fn new(start: Instant) -> Self {
        Self(Arc::new(Mutex::new(ClockState {
            now: start,
            wakers: Vec::new(),
        })))
    }

    /// The time now.
    pub fn now(&self) -> Instant {
        lock(&self.0).now
    }

    /// Moves time forward and wakes every timer waiting on it.
    pub fn advance(&self, by: Duration) {
        let wakers = {
            let mut s = lock(&self.0);
            s.now += by;
            std::mem::take(&mut s.wakers)
        };
        for (_, w) in wakers {
            w.wake();
        }
    }

    /// Wakes `waker` at the next [`advance`](Self::advance); `at` is the
    /// time it waits for (reported by [`next_wake`](Self::next_wake)).
    pub fn wake_at(&self, at: Option<Instant>, waker: &Waker) {
        lock(&self.0).wakers.push((at, waker.clone()));
    }

    /// The earliest time a waiting task waits for: where a run that moves
    /// time from event to event goes next.
    pub fn next_wake(&self) -> Option<Instant> {
        lock(&self.0).wakers.iter().filter_map(|&(at, _)| at).min()
    }
}

/// Called at every `Timer::now`, i.e. at the start of every driver turn.
pub type Observer = Rc<dyn Fn()>;

/// A timer on a [`Clock`].
#[allow(missing_debug_implementations)] // the observer is a closure
pub struct MockTimer {
    clock: Clock,
    deadline: Option<Instant>,
    /// Every deadline the driver armed, in order.
    pub resets: Arc<Mutex<Vec<Instant>>>,
    /// Called at every `Timer::now`.
    pub on_now: Option<Observer>,
}

impl MockTimer {
    /// A timer on `clock` with no deadline.
    pub fn new(clock: Clock) -> Self {
        Self {
            clock,
            deadline: None,
            resets: Arc::default(),
            on_now: None,
        }
    }
}

impl Timer for MockTimer {
    fn now(&self) -> Instant {
        if let Some(observe) = &self.on_now {
            observe();
        }
        self.clock.now()
    }

    fn reset(&mut self, deadline: Instant) {
        lock(&self.resets).push(deadline);
        self.deadline = Some(deadline);
    }

    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        // Checked and registered under one lock, so that an `advance` from
        // another thread cannot fall between the two.
        let mut s = lock(&self.clock.0);
        match self.deadline {
            Some(d) if s.now >= d => Poll::Ready(()),
            deadline => {
                s.wakers.push((deadline, cx.waker().clone()));
                Poll::Pending
            }
        }
    }
}

// ----- harness -----

/// What a spawned driver resolved to: `None` while it runs.
pub type Done = Rc<RefCell<Option<CloseReason>>>;

/// Spawns `drive` on `pool`; the returned cell holds the close reason once
/// the driver returns.
pub fn spawn_drive<F, T, M>(pool: &LocalPool, drive: Drive<F, T, M>) -> Done
where
    F: MessageFactory + 'static,
    T: Transport + 'static,
    M: Timer + 'static,
{
    let done: Done = Rc::default();
    let result = done.clone();
    pool.spawner()
        .spawn_local(async move {
            let reason = drive.await;
            *result.borrow_mut() = Some(reason);
        })
        .expect("the pool is alive");
    done
}

/// One driven session, from the test's side.
#[derive(Debug)]
pub struct Peer {
    /// The session's id.
    pub id: SessionId,
    /// The session's handle.
    pub handle: SessionHandle,
    /// The peer's end of the connection.
    pub io: IoCtl,
    /// Every deadline the driver armed, in order.
    pub resets: Arc<Mutex<Vec<Instant>>>,
    /// What the `Drive` future resolved to.
    pub done: Done,
}

impl Peer {
    /// What the driver returned, once it has.
    pub fn result(&self) -> Option<CloseReason> {
        self.done.borrow().clone()
    }

    /// Every deadline the driver armed so far, in order.
    pub fn resets(&self) -> Vec<Instant> {
        lock(&self.resets).clone()
    }
}

/// A hub whose sessions run over mock transports on one `LocalPool` and a
/// virtual clock.
#[allow(missing_debug_implementations)] // the pool is not `Debug`
pub struct Net {
    /// The executor every driver runs on.
    pub pool: LocalPool,
    /// The hub.
    pub hub: Hub<LengthField>,
    /// The hub's event stream.
    pub events: Rc<RefCell<Events>>,
    /// The virtual clock of every session.
    pub clock: Clock,
    /// Events taken from the stream by the observer, not yet drained.
    log: Rc<RefCell<Vec<Event>>>,
    /// Whether drivers check, at every turn, that no `Closed` event is in
    /// the stream for a session the hub still lists.
    watch: Rc<Cell<bool>>,
    /// Sessions whose `Closed` event was seen while the hub still had them.
    pub closed_while_listed: Rc<RefCell<Vec<SessionId>>>,
}

impl Net {
    /// A net of sessions with the [`codec`] under `config`.
    pub fn new(config: HubConfig) -> Self {
        Self::with_codec(codec(), config)
    }

    /// A net whose sessions use `codec` (a small `max_frame_length` lets a
    /// test use a small send queue).
    pub fn with_codec(codec: LengthField, config: HubConfig) -> Self {
        let (hub, events) = Hub::new(codec, config).expect("valid hub config");
        Self {
            pool: LocalPool::new(),
            hub,
            events: Rc::new(RefCell::new(events)),
            clock: Clock::new(Instant::now()),
            log: Rc::default(),
            watch: Rc::default(),
            closed_while_listed: Rc::default(),
        }
    }

    /// From now on, every driver turn takes the events out of the stream
    /// (as an application reading eagerly would) and checks that each
    /// `Closed` is for a session the hub no longer lists.
    pub fn watch_closed(&mut self) {
        self.watch.set(true);
    }

    /// Admits `peer`, opens and drives the session; runs until stalled.
    pub fn connect(&mut self, peer: SocketAddr) -> Peer {
        let admission = self.hub.admit(peer).expect("admitted");
        self.open(admission)
    }

    fn observer(&self) -> Observer {
        let (watch, events, log) = (self.watch.clone(), self.events.clone(), self.log.clone());
        let (hub, bad) = (self.hub.clone(), self.closed_while_listed.clone());
        Rc::new(move || {
            if !watch.get() {
                return;
            }
            while let Some(e) = events.borrow_mut().try_recv() {
                if let Event::Closed { id, .. } = &e {
                    if hub.get(*id).is_some() {
                        bad.borrow_mut().push(*id);
                    }
                }
                log.borrow_mut().push(e);
            }
        })
    }

    /// Opens an admitted session and spawns its driver; runs until stalled.
    pub fn open(&mut self, admission: Admission<LengthField>) -> Peer {
        let conn = admission.open(self.clock.now());
        let (io, ctl) = mock_io();
        let mut timer = MockTimer::new(self.clock.clone());
        timer.on_now = Some(self.observer());
        let resets = timer.resets.clone();
        let (id, handle) = (conn.id(), conn.handle().clone());
        let done = spawn_drive(&self.pool, conn.drive(io, timer));
        let peer = Peer {
            id,
            handle,
            io: ctl,
            resets,
            done,
        };
        self.run();
        peer
    }

    /// Runs every task until none can make progress.
    pub fn run(&mut self) {
        self.pool.run_until_stalled();
    }

    /// Moves the clock and runs.
    pub fn advance(&mut self, by: Duration) {
        self.clock.advance(by);
        self.run();
    }

    /// Events delivered so far (the application reads them all).
    pub fn drain_events(&mut self) -> Vec<Event> {
        let mut out = std::mem::take(&mut *self.log.borrow_mut());
        while let Some(e) = self.events.borrow_mut().try_recv() {
            out.push(e);
        }
        out
    }

    /// Runs, then returns the events (a shorthand).
    pub fn run_events(&mut self) -> Vec<Event> {
        self.run();
        self.drain_events()
    }
}

/// A short, comparable form of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ev {
    /// [`Event::Opened`].
    Opened(SessionId),
    /// [`Event::Message`].
    Message(SessionId, Vec<u8>),
    /// [`Event::EndOfStream`].
    EndOfStream(SessionId),
    /// [`Event::Closed`].
    Closed(SessionId, CloseReason),
}

/// The short form of `e`.
///
/// # Panics
///
/// On an event of another kind.
pub fn ev(e: &Event) -> Ev {
    match e {
        Event::Opened(h) => Ev::Opened(h.id()),
        Event::Message { id, payload } => Ev::Message(*id, payload.to_vec()),
        Event::EndOfStream { id } => Ev::EndOfStream(*id),
        Event::Closed { id, reason, .. } => Ev::Closed(*id, reason.clone()),
        other => panic!("unexpected event {other:?}"),
    }
}

/// The short forms of `events`.
pub fn evs(events: &[Event]) -> Vec<Ev> {
    events.iter().map(ev).collect()
}
