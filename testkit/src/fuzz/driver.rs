//! The driver harness: hub sessions run by [`Drive`] over an in-memory
//! transport and a virtual clock, polled by hand with a no-op waker.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::mock::lock;
use proto_core::driver::{AdmissionExt, Conn, Drive};
use proto_core::frame::{LengthField, WireBuf};
use proto_core::hub::{
    AdmissionConfig, BudgetPolicy, Event, Events, Hub, HubConfig, SessionHandle, SessionId,
};
use proto_core::message::{MessageBuilder, MessageFactory};
use proto_core::session::{CloseReason, SendError, SessionConfig, WaterMarks};

mod check;
mod input;

pub use input::{
    CloseHow, DriverOp, DriverOps, DriverSetup, HandleSend, OpenFlags, Target, Writes,
};

use crate::mock::{Clock, IoCtl, MockIo, MockTimer, WriteMode, mock_io};
use check::{Ev, HandlerLog, Recorder, Sent, check_next, check_wire};

/// Sessions one input may open.
const MAX_SESSIONS: usize = 4;
/// Polls of every live driver after each operation.
const POLLS: usize = 3;

pub(super) fn run(input: DriverOps, start: Instant) {
    let mut h = Harness::new(&input.setup, start);
    for op in input.ops {
        h.op(op);
        h.poll_all();
    }
    h.finish();
}

type D = Drive<LengthField, MockIo, MockTimer>;

/// One session as the harness sees it.
struct Sess {
    id: SessionId,
    handle: SessionHandle,
    io: IoCtl,
    /// Every deadline the driver armed; the last one holds.
    resets: Arc<Mutex<Vec<Instant>>>,
    /// The driver's ends of the connection and the timer, until it starts.
    parts: Option<(MockIo, MockTimer)>,
    /// Opened, not yet driven.
    conn: Option<Conn<LengthField>>,
    drive: Option<D>,
    /// What the driver returned.
    done: Option<CloseReason>,
    /// The driver (or the unstarted `Conn`) was dropped before it finished.
    dropped: bool,
    /// An abort was asked for while the session was live.
    aborted: bool,
    /// Events from the hub's stream (`None`: a handler gets them).
    events: Option<Vec<Ev>>,
    handler: Option<Arc<Mutex<HandlerLog>>>,
}

struct Harness {
    hub: Hub<LengthField>,
    events: Events,
    codec: LengthField,
    heartbeat: bool,
    admission: AdmissionConfig,
    clock: Clock,
    sessions: Vec<Sess>,
    by_id: HashMap<SessionId, usize>,
    sent: Arc<Sent>,
    opened: usize,
}

impl Harness {
    fn new(c: &DriverSetup, start: Instant) -> Self {
        let heartbeat = c.timing.heartbeat.is_some();
        let max_frame = 64 + usize::from(c.max_transmit);
        let high = usize::from(c.queue) * 2 + 1;
        let marks = c.backpressure.then_some(WaterMarks {
            low: high / 2,
            high,
        });
        let ms = |n: u8, times: u64| Duration::from_millis(u64::from(n) * times);
        let session = c
            .timing
            .apply(SessionConfig::default())
            .max_queue_messages(usize::from(c.max_queue_messages % 8))
            .max_queue_bytes(max_frame + 4 + high + usize::from(c.queue) * 2)
            .backpressure(marks)
            .write_timeout(c.write_timeout.map(|n| ms(n, 7)))
            .max_transmit_bytes(usize::from(c.max_transmit) + 1);
        let admission = AdmissionConfig::default()
            .max_sessions(usize::from(c.max_sessions % 4) + 1)
            .max_sessions_per_ip([None, Some(1), Some(2)][usize::from(c.per_ip % 3)]);
        // A small memory budget now and then (4-32 KiB), refusing or
        // disconnecting the sessions over their share.
        let memory_budget = match c.memory_budget {
            Some(n) => 4096 * (usize::from(n % 8) + 1),
            None => HubConfig::default().memory_budget,
        };
        let budget_policy = if c.budget_disconnect {
            BudgetPolicy::Disconnect
        } else {
            BudgetPolicy::Refuse
        };
        let config = HubConfig::default()
            .session(session)
            .admission(admission)
            .event_capacity(usize::from(c.event_capacity % 4) + 1)
            .memory_budget(memory_budget)
            .budget_policy(budget_policy);
        let codec = LengthField::laster40net().max_frame_length(max_frame);
        let (hub, events) =
            Hub::new(codec.clone(), config).expect("the harness builds valid configurations");
        Self {
            hub,
            events,
            codec,
            heartbeat,
            admission,
            clock: Clock::new(start),
            sessions: Vec::new(),
            by_id: HashMap::new(),
            sent: Arc::default(),
            opened: 0,
        }
    }

    /// The session `s` picks, if any was opened.
    fn pick(&self, s: u8) -> Option<usize> {
        (!self.sessions.is_empty()).then(|| usize::from(s) % self.sessions.len())
    }

    fn op(&mut self, op: DriverOp) {
        match op {
            DriverOp::Open(flags) => self.open(flags),
            DriverOp::PeerFrame { s, ping, body } => {
                let body = &body.0[..body.0.len().min(0x7f)];
                let mut wire = WireBuf::new();
                let mut builder = self.codec.new_builder();
                let encoded = match (self.heartbeat, ping) {
                    (true, true) => builder.encode_parts(&[1], Bytes::new(), &mut wire),
                    (true, false) => {
                        builder.encode_parts(&[0], Bytes::copy_from_slice(body), &mut wire)
                    }
                    (false, _) => builder.encode(Bytes::copy_from_slice(body), &mut wire),
                };
                if let (Some(s), Ok(())) = (self.pick(s), encoded) {
                    self.peer_sends(s, wire.to_vec());
                }
            }
            DriverOp::PeerBytes { s, bytes } => {
                if let Some(s) = self.pick(s) {
                    self.peer_sends(s, bytes.0);
                }
            }
            DriverOp::PeerEof(s) => {
                if let Some(s) = self.pick(s) {
                    self.sessions[s].io.push_eof();
                }
            }
            DriverOp::ReadError(s) => {
                if let Some(s) = self.pick(s) {
                    self.sessions[s]
                        .io
                        .fail_read(io::ErrorKind::ConnectionReset);
                }
            }
            DriverOp::WriteMode { s, mode } => {
                let mode = match mode {
                    Writes::All => WriteMode::All,
                    Writes::Partial(n) => WriteMode::Partial(usize::from(n) + 1),
                    Writes::Refuse => WriteMode::Refuse,
                    Writes::Fail => WriteMode::Fail(io::ErrorKind::BrokenPipe),
                    Writes::Zero => WriteMode::Zero,
                };
                if let Some(s) = self.pick(s) {
                    self.sessions[s].io.set_write_mode(mode);
                }
            }
            DriverOp::Time(ms) => {
                let now = self.clock.now();
                let next = match ms {
                    0 => self
                        .sessions
                        .iter()
                        .filter(|s| s.drive.is_some())
                        .filter_map(|s| lock(&s.resets).last().copied())
                        .min()
                        .unwrap_or(now),
                    ms => now + Duration::from_millis(u64::from(ms)),
                };
                self.clock.advance(next.max(now) - now);
            }
            DriverOp::SendHandle { s, how, len } => {
                if let Some(s) = self.pick(s) {
                    let (seq, payload) = self.sent.payload(usize::from(len));
                    let handle = &self.sessions[s].handle;
                    let result = match how {
                        HandleSend::Configured => handle.send(payload),
                        HandleSend::With(policy) => handle.send_with(payload, policy.overflow()),
                    };
                    self.sent_result(s, seq, &result);
                }
            }
            DriverOp::SendHub { s, len } => {
                if let Some(s) = self.pick(s) {
                    let (seq, payload) = self.sent.payload(usize::from(len));
                    let result = self.hub.send(self.sessions[s].id, payload);
                    if self.hub.get(self.sessions[s].id).is_none() {
                        assert_eq!(result, Err(SendError::Closed), "send to a forgotten id");
                    }
                    self.sent_result(s, seq, &result);
                }
            }
            DriverOp::Broadcast { to, len } => self.broadcast(to, len),
            DriverOp::Group { s, b, leave } => {
                if let Some(s) = self.pick(s) {
                    let (group, id) = (["a", "b"][usize::from(b)], self.sessions[s].id);
                    if !leave {
                        let live = self.hub.get(id).is_some_and(|h| !h.is_closing());
                        let joined = self.hub.join(group, id);
                        assert!(!joined || live, "a closed session joined a group");
                    } else {
                        self.hub.leave(group, id);
                        assert!(!self.hub.members(group).contains(&id), "left but listed");
                    }
                }
            }
            DriverOp::Close { s, how } => {
                if let Some(s) = self.pick(s) {
                    let sess = &mut self.sessions[s];
                    match how {
                        CloseHow::HandleClose => sess.handle.close(),
                        CloseHow::HandleAbort => {
                            sess.aborted |= sess.done.is_none();
                            sess.handle.abort(CloseReason::RateLimited);
                        }
                        CloseHow::HubClose => {
                            self.hub.close(sess.id, CloseReason::Local);
                        }
                        CloseHow::CloseShutdown => sess.handle.close_with(CloseReason::Shutdown),
                        CloseHow::LastWord(len) => {
                            // A last word, then a graceful close.
                            let (seq, payload) = self.sent.payload(usize::from(len));
                            let result = sess.handle.close_after(payload, CloseReason::Local);
                            self.sent_result(s, seq, &result);
                        }
                    }
                }
            }
            DriverOp::HubWide(true) => self.hub.begin_shutdown(),
            DriverOp::HubWide(false) => {
                for sess in &mut self.sessions {
                    sess.aborted |= sess.done.is_none();
                }
                self.hub.abort_all(CloseReason::Shutdown);
            }
            DriverOp::ReadEvents(n) => {
                self.read_events(if n == 0 { usize::MAX } else { usize::from(n) });
            }
            DriverOp::DropOrStart(s) => {
                if let Some(s) = self.pick(s) {
                    let sess = &mut self.sessions[s];
                    if sess.conn.is_some() {
                        self.start(s);
                    } else if sess.drive.take().is_some() {
                        sess.dropped = true;
                    }
                }
            }
            DriverOp::PollOne(s) => {
                if let Some(s) = self.pick(s) {
                    self.poll(s);
                }
            }
        }
    }

    /// Admits and opens a session as `flags` say.
    fn open(&mut self, flags: OpenFlags) {
        if self.opened == MAX_SESSIONS {
            return;
        }
        self.opened += 1;
        let peer = SocketAddr::from(([10, 0, 0, flags.ip % 4], 4000));
        let Ok(admission) = self.hub.admit(peer, self.clock.now()) else {
            return;
        };
        if flags.unopened {
            return; // dropped unopened: the place goes back
        }
        let mut conn = admission.open(self.clock.now());
        let index = self.sessions.len();
        let handler = flags
            .handler
            .then(|| Arc::new(Mutex::new(HandlerLog::default())));
        if let Some(log) = &handler {
            conn = conn.with_handler(Recorder {
                index,
                log: log.clone(),
                sent: self.sent.clone(),
                hub: self.hub.clone(),
            });
        }
        let id = conn.id();
        self.by_id.insert(id, index);
        let (driver_io, io) = mock_io();
        let timer = MockTimer::new(self.clock.clone());
        let resets = timer.resets.clone();
        self.sessions.push(Sess {
            id,
            handle: conn.handle(),
            io,
            resets,
            parts: Some((driver_io, timer)),
            conn: Some(conn),
            drive: None,
            done: None,
            dropped: false,
            aborted: false,
            events: handler.is_none().then(Vec::new),
            handler,
        });
        if !flags.held {
            self.start(index);
        }
    }

    /// Turns a held `Conn` into a driver.
    fn start(&mut self, s: usize) {
        let sess = &mut self.sessions[s];
        if let (Some(conn), Some((io, timer))) = (sess.conn.take(), sess.parts.take()) {
            sess.drive = Some(conn.drive(io, timer));
        }
    }

    fn peer_sends(&mut self, s: usize, bytes: Vec<u8>) {
        let io = &self.sessions[s].io;
        if !io.state().eof && !bytes.is_empty() {
            io.push(&bytes);
        }
    }

    fn sent_result(&mut self, s: usize, seq: u32, result: &Result<(), SendError>) {
        if result.is_ok() {
            assert!(
                self.sessions[s].done.is_none(),
                "a finished session took a send"
            );
            self.sent.accept(s, seq);
        }
    }

    fn broadcast(&mut self, to: Target, len: u8) {
        let (seq, payload) = self.sent.payload(usize::from(len));
        let targets: Vec<usize> = match to {
            Target::Everyone => (0..self.sessions.len()).collect(),
            Target::Group(b) => {
                let members = self.hub.members(["a", "b"][usize::from(b)]);
                members
                    .iter()
                    .filter_map(|id| self.by_id.get(id).copied())
                    .collect()
            }
            Target::One(s) => self.pick(s).into_iter().collect(),
        };
        let report = match to {
            Target::Everyone => self.hub.broadcast(payload),
            Target::Group(b) => self
                .hub
                .broadcast_group(["a", "b"][usize::from(b)], payload),
            Target::One(_) => {
                let ids: Vec<_> = targets.iter().map(|&s| self.sessions[s].id).collect();
                self.hub.broadcast_to(&ids, payload)
            }
        };
        let Ok(report) = report else {
            return;
        };
        let failed: HashSet<SessionId> = report.failed.iter().map(|(id, _)| *id).collect();
        for s in targets {
            if !failed.contains(&self.sessions[s].id) {
                self.sent.accept(s, seq);
            }
        }
    }

    /// Polls driver `s` once, if it is running.
    fn poll(&mut self, s: usize) {
        let sess = &mut self.sessions[s];
        let Some(drive) = &mut sess.drive else {
            return;
        };
        let mut cx = Context::from_waker(Waker::noop());
        if let Poll::Ready(reason) = Pin::new(drive).poll(&mut cx) {
            // Dropped at once: a finished driver is never polled again.
            sess.drive = None;
            sess.done = Some(reason);
        }
    }

    fn poll_all(&mut self) {
        for _ in 0..POLLS {
            for s in 0..self.sessions.len() {
                self.poll(s);
            }
        }
    }

    /// Takes up to `n` events from the stream, checking each.
    fn read_events(&mut self, n: usize) -> usize {
        for read in 0..n {
            let Some(event) = self.events.try_recv() else {
                return read;
            };
            let id = event.id();
            let s = *self
                .by_id
                .get(&id)
                .expect("an event for a session this hub opened");
            let ev = match event {
                Event::Opened(handle) => {
                    assert_eq!(handle.id(), id, "Opened with another session's handle");
                    Ev::Opened
                }
                Event::Message { .. } => Ev::Message,
                Event::EndOfStream { .. } => Ev::EndOfStream,
                Event::Closed { reason, stats, .. } => {
                    assert!(self.hub.get(id).is_none(), "Closed while the hub has it");
                    assert!(!self.hub.sessions().contains(&id), "Closed while listed");
                    Ev::Closed(reason, *stats)
                }
                other => panic!("an event the harness does not know: {other:?}"),
            };
            let log = self.sessions[s]
                .events
                .as_mut()
                .expect("no hub events for a session with a handler");
            check_next(log, &ev);
            log.push(ev);
        }
        n
    }

    /// Closes everything, then checks the end state.
    fn finish(mut self) {
        for s in 0..self.sessions.len() {
            self.start(s);
            self.sessions[s].io.set_write_mode(WriteMode::All);
        }
        // Rounds until every driver finished; a driver must finish within
        // a few rounds in which the application read no event and no
        // driver finished (events wait for room: a full stream of
        // `event_capacity` may take a round each).
        let mut idle = 0;
        for round in 0.. {
            if round == 4 {
                for sess in &mut self.sessions {
                    sess.aborted |= sess.done.is_none();
                }
                self.hub.abort_all(CloseReason::Local);
            }
            let running = self.sessions.iter().filter(|s| s.drive.is_some()).count();
            let read = self.read_events(usize::MAX);
            self.poll_all();
            let still = self.sessions.iter().filter(|s| s.drive.is_some()).count();
            if still == 0 {
                break;
            }
            idle = if read > 0 || still < running {
                0
            } else {
                idle + 1
            };
            if idle > 8 && round > 4 {
                break;
            }
        }
        self.read_events(usize::MAX);
        for sess in &self.sessions {
            assert!(sess.drive.is_none(), "session {} never finished", sess.id);
            self.check_session(sess);
        }
        let hub = &self.hub;
        assert_eq!(hub.len(), 0, "sessions left in the hub");
        assert!(hub.sessions().is_empty(), "sessions listed at the end");
        assert!(hub.groups().is_empty(), "groups left at the end");
        let mut cx = Context::from_waker(Waker::noop());
        assert!(hub.poll_drained(&mut cx).is_ready(), "hub not drained");
        let stats = hub.stats();
        assert_eq!(stats.live, 0, "stats.live at the end");
        assert_eq!(
            stats.closed.values().sum::<u64>(),
            stats.accepted,
            "sessions accepted and closed differ"
        );
        if !hub.is_shutting_down() {
            // The census is back to zero: every place can be taken again.
            let per_ip = self.admission.max_sessions_per_ip.unwrap_or(usize::MAX);
            let all: Vec<_> = (0..self.admission.max_sessions)
                .map(|i| {
                    let host = if i < per_ip { 1 } else { 2 + i as u8 };
                    let peer = SocketAddr::from(([10, 0, 0, host], 4000));
                    hub.admit(peer, Instant::now())
                        .expect("a free place after everything closed")
                })
                .collect();
            drop(all);
            assert_eq!(hub.len(), 0, "admissions dropped unopened kept places");
        }
    }

    fn check_session(&self, sess: &Sess) {
        let log = match (&sess.events, &sess.handler) {
            (Some(events), _) => events.clone(),
            (None, Some(log)) => lock(log).events.clone(),
            (None, None) => unreachable!("a session has events or a handler"),
        };
        for (i, ev) in log.iter().enumerate() {
            check_next(&log[..i], ev);
        }
        let closed = log.iter().find_map(|e| match e {
            Ev::Closed(reason, stats) => Some((reason.clone(), *stats)),
            _ => None,
        });
        // The event stream gets a Closed from every session; a handler only
        // from a driver that finished.
        if sess.events.is_some() || sess.done.is_some() {
            assert!(closed.is_some(), "session {} has no Closed event", sess.id);
        }
        if let (Some(done), Some((reason, _))) = (&sess.done, &closed) {
            assert_eq!(done, reason, "driver result and Closed event differ");
        }
        let fault = closed.as_ref().is_some_and(|(r, _)| r.is_fault())
            || sess.done.as_ref().is_some_and(CloseReason::is_fault);
        let dropped_at_close = closed
            .as_ref()
            .is_some_and(|(_, s)| s.messages_dropped_at_close > 0);
        let may_tear = fault || sess.dropped || sess.aborted || dropped_at_close;
        let sent = lock(&self.sent.accepted);
        let index = self.by_id[&sess.id];
        let output = sess.io.output();
        check_wire(&self.codec, self.heartbeat, index, &output, may_tear, &sent);
    }
}
