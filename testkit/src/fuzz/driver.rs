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

use super::input::Input;
use crate::mock::lock;
use proto_core::driver::{AdmissionExt, Conn, Drive};
use proto_core::frame::{LengthField, WireBuf};
use proto_core::hub::{
    AdmissionConfig, BudgetPolicy, Event, Events, Hub, HubConfig, SessionHandle, SessionId,
};
use proto_core::message::{MessageBuilder, MessageFactory};
use proto_core::session::{CloseReason, Heartbeat, Overflow, SendError, SessionConfig, WaterMarks};

mod check;

use crate::mock::{Clock, IoCtl, MockIo, MockTimer, WriteMode, mock_io};
use check::{Ev, HandlerLog, Recorder, Sent, check_next, check_wire};

/// Sessions one input may open.
const MAX_SESSIONS: usize = 4;
/// Polls of every live driver after each operation.
const POLLS: usize = 3;

/// Input layout: `[config: 8 bytes]` then operations `[op][args...]` until
/// the input ends (`s` picks a session, modulo those opened):
///
/// | op % 16 | operation | arguments |
/// | --- | --- | --- |
/// | 0 | admit and open a session | `[flags]`: bit 0 a handler instead of the event stream, bits 1-2 the peer's IP, bit 3 drop the admission unopened, bit 4 open but do not drive yet |
/// | 1 | the peer sends a frame | `[s][len][payload]` (len ≥ 0x80: a ping when heartbeats are on) |
/// | 2 | the peer sends raw bytes | `[s][len][bytes]` |
/// | 3 | the peer ends its stream | `[s]` |
/// | 4 | the next read fails | `[s]` |
/// | 5 | how the transport takes writes | `[s][mode]` (mode % 5: all, at most `mode / 5 + 1` bytes, Pending, error, `Ok(0)`) |
/// | 6 | time passes | `[ms: u16 LE]` (0: to the earliest armed deadline) |
/// | 7 | send through the handle | `[s][policy][len]` (policy % 4: configured, reject, disconnect, keep latest with key `policy / 4 % 4`) |
/// | 8 | send through the hub | `[s][len]` |
/// | 9 | broadcast | `[which][len]` (which % 3: all, group `which / 3 % 2`, to one session) |
/// | 10 | join or leave a group | `[s][g]` (g bit 0: group, bit 1: leave) |
/// | 11 | close | `[s][how]` (how % 6: handle close, handle abort, hub close, handle close with `Shutdown`, `close_after` a last word of `how / 6` bytes) |
/// | 12 | hub-wide | `[which]` (odd: `begin_shutdown`, even: `abort_all`) |
/// | 13 | the application reads events | `[n]` (0: all) |
/// | 14 | drop the driver mid-way, or start a held one | `[s]` |
/// | 15 | poll one driver only | `[s]` |
///
/// Then every driver is started, writes are taken in full, events are
/// read, and after a few rounds `abort_all` closes what is left. Asserts:
/// no panic; per session the hub's events are `Opened` first, messages and
/// at most one `EndOfStream` before `Closed`, `Closed` exactly once and last
/// and only once the hub no longer lists the session, with the reason the
/// driver returned; a finished driver is never polled again; at the end the
/// hub is empty, drained, its census free and its counters consistent; the
/// bytes each transport received are whole frames of the sent messages
/// (each at most once), with a torn last frame only where an abort, a
/// fault, a dropped driver or a close timeout cut the stream; nothing is
/// written after the write side was shut down.
pub(super) fn run(data: &[u8], start: Instant) {
    let mut input = Input(data);
    let mut h = Harness::new(input.le::<8>(), start);
    while !input.0.is_empty() {
        h.op(&mut input);
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
    fn new(c: [u8; 8], start: Instant) -> Self {
        let heartbeat = c[3] & 1 == 1;
        let hb = heartbeat.then(|| Heartbeat {
            interval: Duration::from_millis(u64::from(c[3] >> 1) + 1),
            timeout: Duration::from_millis(u64::from(c[4]) + 1),
        });
        // Valid configurations only (Hub::new refuses the others): the
        // queue holds the high water mark plus the largest frame.
        let max_frame = 64 + usize::from(c[2]);
        let high = usize::from(c[1]) * 2 + 1;
        let marks = (c[4] & 8 == 0).then_some(WaterMarks {
            low: high / 2,
            high,
        });
        let session = SessionConfig::default()
            .max_queue_messages(usize::from(c[0] % 8))
            .max_queue_bytes(max_frame + 4 + high + usize::from(c[1]) * 2)
            .backpressure(marks)
            .write_timeout((c[4] & 16 == 0).then(|| Duration::from_millis(u64::from(c[5]) * 7)))
            .max_transmit_bytes(usize::from(c[2]) + 1)
            .heartbeat(hb)
            .idle_timeout((c[4] & 1 == 0).then(|| Duration::from_millis(u64::from(c[5]) * 10)))
            .frame_timeout((c[4] & 2 == 0).then(|| Duration::from_millis(u64::from(c[5]) * 3)))
            .close_timeout(Duration::from_millis(u64::from(c[5])))
            .half_close(c[4] & 4 != 0);
        let admission = AdmissionConfig::default()
            .max_sessions(usize::from(c[6] % 4) + 1)
            .max_sessions_per_ip([None, Some(1), Some(2)][usize::from(c[6] >> 2) % 3]);
        // A small memory budget now and then (4-32 KiB), refusing or
        // disconnecting the sessions over their share.
        let memory_budget = if c[7] & 4 != 0 {
            4096 * (usize::from(c[7] >> 3 & 7) + 1)
        } else {
            HubConfig::default().memory_budget
        };
        let budget_policy = if c[7] & 0x80 != 0 {
            BudgetPolicy::Disconnect
        } else {
            BudgetPolicy::Refuse
        };
        let config = HubConfig::default()
            .session(session)
            .admission(admission)
            .event_capacity(usize::from(c[7] % 4) + 1)
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
    fn pick(&mut self, input: &mut Input<'_>) -> Option<usize> {
        let s = usize::from(input.u8());
        (!self.sessions.is_empty()).then(|| s % self.sessions.len())
    }

    fn op(&mut self, input: &mut Input<'_>) {
        let op = input.u8() % 16;
        match op {
            0 => self.open(input.u8()),
            1 => {
                let s = self.pick(input);
                let len = usize::from(input.u8());
                let body = input.bytes(len & 0x7f);
                let mut wire = WireBuf::new();
                let mut builder = self.codec.new_builder();
                let encoded = match (self.heartbeat, len >= 0x80) {
                    (true, true) => builder.encode_parts(&[1], Bytes::new(), &mut wire),
                    (true, false) => {
                        builder.encode_parts(&[0], Bytes::copy_from_slice(body), &mut wire)
                    }
                    (false, _) => builder.encode(Bytes::copy_from_slice(body), &mut wire),
                };
                if let (Some(s), Ok(())) = (s, encoded) {
                    self.peer_sends(s, wire.to_vec());
                }
            }
            2 => {
                let s = self.pick(input);
                let len = usize::from(input.u8());
                let bytes = input.bytes(len).to_vec();
                if let Some(s) = s {
                    self.peer_sends(s, bytes);
                }
            }
            3 | 4 => {
                if let Some(s) = self.pick(input) {
                    match op {
                        3 => self.sessions[s].io.push_eof(),
                        _ => self.sessions[s]
                            .io
                            .fail_read(io::ErrorKind::ConnectionReset),
                    }
                }
            }
            5 => {
                let s = self.pick(input);
                let m = input.u8();
                let mode = match m % 5 {
                    0 => WriteMode::All,
                    1 => WriteMode::Partial(usize::from(m / 5) + 1),
                    2 => WriteMode::Refuse,
                    3 => WriteMode::Fail(io::ErrorKind::BrokenPipe),
                    _ => WriteMode::Zero,
                };
                if let Some(s) = s {
                    self.sessions[s].io.set_write_mode(mode);
                }
            }
            6 => {
                let ms = u16::from_le_bytes(input.le());
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
            7 => {
                let s = self.pick(input);
                let p = input.u8();
                let len = usize::from(input.u8());
                if let Some(s) = s {
                    let (seq, payload) = self.sent.payload(len);
                    let handle = &self.sessions[s].handle;
                    let result = match p % 4 {
                        0 => handle.send(payload),
                        1 => handle.send_with(payload, Overflow::Reject),
                        2 => handle.send_with(payload, Overflow::Disconnect),
                        _ => handle.send_with(payload, Overflow::KeepLatest(u64::from(p / 4 % 4))),
                    };
                    self.sent_result(s, seq, &result);
                }
            }
            8 => {
                let s = self.pick(input);
                let len = usize::from(input.u8());
                if let Some(s) = s {
                    let (seq, payload) = self.sent.payload(len);
                    let result = self.hub.send(self.sessions[s].id, payload);
                    if self.hub.get(self.sessions[s].id).is_none() {
                        assert_eq!(result, Err(SendError::Closed), "send to a forgotten id");
                    }
                    self.sent_result(s, seq, &result);
                }
            }
            9 => self.broadcast(input),
            10 => {
                let s = self.pick(input);
                let g = input.u8();
                if let Some(s) = s {
                    let (group, id) = (["a", "b"][usize::from(g & 1)], self.sessions[s].id);
                    if g & 2 == 0 {
                        let live = self.hub.get(id).is_some_and(|h| !h.is_closed());
                        let joined = self.hub.join(group, id);
                        assert!(!joined || live, "a closed session joined a group");
                    } else {
                        self.hub.leave(group, id);
                        assert!(!self.hub.members(group).contains(&id), "left but listed");
                    }
                }
            }
            11 => {
                let s = self.pick(input);
                let how = input.u8();
                if let Some(s) = s {
                    let sess = &mut self.sessions[s];
                    match how % 6 {
                        0 => sess.handle.close(),
                        1 => {
                            sess.aborted |= sess.done.is_none();
                            sess.handle.abort(CloseReason::RateLimited);
                        }
                        2 => {
                            self.hub.close(sess.id, CloseReason::Local);
                        }
                        3 => sess.handle.close_with(CloseReason::Shutdown),
                        _ => {
                            // A last word, then a graceful close.
                            let (seq, payload) = self.sent.payload(usize::from(how / 6));
                            let result = sess.handle.close_after(payload, CloseReason::Local);
                            self.sent_result(s, seq, &result);
                        }
                    }
                }
            }
            12 => {
                if input.u8() % 2 == 1 {
                    self.hub.begin_shutdown();
                } else {
                    for sess in &mut self.sessions {
                        sess.aborted |= sess.done.is_none();
                    }
                    self.hub.abort_all(CloseReason::Shutdown);
                }
            }
            13 => {
                let n = input.u8();
                self.read_events(if n == 0 { usize::MAX } else { usize::from(n) });
            }
            14 => {
                if let Some(s) = self.pick(input) {
                    let sess = &mut self.sessions[s];
                    if sess.conn.is_some() {
                        self.start(s);
                    } else if sess.drive.take().is_some() {
                        sess.dropped = true;
                    }
                }
            }
            _ => {
                if let Some(s) = self.pick(input) {
                    self.poll(s);
                }
            }
        }
    }

    /// Admits and opens a session as `flags` say.
    fn open(&mut self, flags: u8) {
        if self.opened == MAX_SESSIONS {
            return;
        }
        self.opened += 1;
        let peer = SocketAddr::from(([10, 0, 0, (flags >> 1) & 3], 4000));
        let Ok(admission) = self.hub.admit(peer) else {
            return;
        };
        if flags & 8 != 0 {
            return; // dropped unopened: the place goes back
        }
        let mut conn = admission.open(self.clock.now());
        let index = self.sessions.len();
        let handler = (flags & 1 == 1).then(|| Arc::new(Mutex::new(HandlerLog::default())));
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
            handle: conn.handle().clone(),
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
        if flags & 16 == 0 {
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

    fn broadcast(&mut self, input: &mut Input<'_>) {
        let which = input.u8();
        let len = usize::from(input.u8());
        let (seq, payload) = self.sent.payload(len);
        let targets: Vec<usize> = match which % 3 {
            0 => (0..self.sessions.len()).collect(),
            1 => {
                let members = self.hub.members(["a", "b"][usize::from(which / 3 % 2)]);
                members
                    .iter()
                    .filter_map(|id| self.by_id.get(id).copied())
                    .collect()
            }
            _ => (!self.sessions.is_empty())
                .then(|| usize::from(which / 3) % self.sessions.len())
                .into_iter()
                .collect(),
        };
        let report = match which % 3 {
            0 => self.hub.broadcast(payload),
            1 => self
                .hub
                .broadcast_group(["a", "b"][usize::from(which / 3 % 2)], payload),
            _ => {
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
                    hub.admit(peer)
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
