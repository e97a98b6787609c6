//! The hub against a model, under random operation sequences: admission
//! (exactly at and one over each limit), registration, groups with leave on
//! close, broadcasts and sends, closes and aborts from handles, the hub and
//! the peer, virtual time and shutdown. After every step the hub's view
//! (`len`, `sessions`, `members`, `groups`, counters) equals the model's,
//! every broadcast reports the sessions the model names, every transport
//! carries exactly the payloads the model says were written (in order), and
//! every session's `Opened` and `Closed` events arrive exactly once.
//!
//! Sessions run over the mock transports and virtual clock of
//! `proto_testkit::mock`; drivers run only on the `Run` step (and at the end), so
//! that sends, closes and peer input pile up between turns as they would
//! under load.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::task::LocalSpawnExt;
use proptest::prelude::*;
use proptest::sample::Index;
use proto_core::driver::AdmissionExt;
use proto_core::frame::LengthField;
use proto_core::hub::{
    Admission, AdmissionConfig, BroadcastReport, Event, HubConfig, Rejected, SessionHandle,
    SessionId,
};
use proto_core::session::{CloseReason, SendError, SessionConfig};
use proto_testkit::mock::{Clock, IoCtl, MockTimer, Net, WriteMode, addr, decode_all, mock_io};

/// A session closes after this long without receiving a byte (the model's
/// sessions never receive any).
const IDLE: Duration = Duration::from_secs(12);
/// How long a graceful close waits for its queue to be written.
const CLOSE: Duration = Duration::from_secs(5);
/// The peers' addresses are `10.0.0.1` to `10.0.0.IPS`.
const IPS: u8 = 3;
const GROUPS: [&str; 3] = ["a", "b", "c"];
/// The error a failing peer's read returns.
const RESET: io::ErrorKind = io::ErrorKind::ConnectionReset;

// ----- operations -----

/// Which payload a broadcast or send carries: a small one (copied into the
/// open run of a queue) or one past the copy limit (its own chunk).
#[derive(Debug, Clone, Copy)]
enum Size {
    Small,
    Big,
}

#[derive(Debug, Clone)]
enum Op {
    /// A connection from `10.0.0.<ip>`: opened at once, or its admission
    /// held for later.
    Admit {
        ip: u8,
        hold: bool,
    },
    OpenHeld(Index),
    DropHeld(Index),
    /// A graceful close through the handle (`Local`) or the hub
    /// (`RateLimited`).
    Close {
        s: Index,
        via_hub: bool,
    },
    /// An abort through the handle (`SlowConsumer`).
    Abort(Index),
    /// `Hub::abort_all` (`Io(Other)`).
    AbortAll,
    PeerEof(Index),
    PeerError(Index),
    /// The peer stops (or resumes) reading: writes stay queued.
    Stall {
        s: Index,
        on: bool,
    },
    Join {
        group: usize,
        s: Index,
    },
    Leave {
        group: usize,
        s: Index,
    },
    Broadcast(Size),
    BroadcastGroup {
        group: usize,
        size: Size,
    },
    /// To a list of sessions, dead ones and repeats included.
    BroadcastTo {
        ids: Vec<Index>,
        size: Size,
    },
    Send {
        s: Index,
        via_hub: bool,
        size: Size,
    },
    Advance(u64),
    Run,
    Shutdown,
}

fn size() -> impl Strategy<Value = Size> {
    prop_oneof![4 => Just(Size::Small), 1 => Just(Size::Big)]
}

fn op() -> impl Strategy<Value = Op> {
    let group = 0..GROUPS.len();
    prop_oneof![
        14 => (1..=IPS, prop::bool::weighted(0.25)).prop_map(|(ip, hold)| Op::Admit { ip, hold }),
        2 => any::<Index>().prop_map(Op::OpenHeld),
        2 => any::<Index>().prop_map(Op::DropHeld),
        4 => (any::<Index>(), any::<bool>()).prop_map(|(s, via_hub)| Op::Close { s, via_hub }),
        2 => any::<Index>().prop_map(Op::Abort),
        1 => Just(Op::AbortAll),
        2 => any::<Index>().prop_map(Op::PeerEof),
        2 => any::<Index>().prop_map(Op::PeerError),
        4 => (any::<Index>(), any::<bool>()).prop_map(|(s, on)| Op::Stall { s, on }),
        8 => (group.clone(), any::<Index>()).prop_map(|(group, s)| Op::Join { group, s }),
        4 => (group.clone(), any::<Index>()).prop_map(|(group, s)| Op::Leave { group, s }),
        3 => size().prop_map(Op::Broadcast),
        6 => (group, size()).prop_map(|(group, size)| Op::BroadcastGroup { group, size }),
        6 => (prop::collection::vec(any::<Index>(), 0..5), size())
            .prop_map(|(ids, size)| Op::BroadcastTo { ids, size }),
        12 => (any::<Index>(), any::<bool>(), size())
            .prop_map(|(s, via_hub, size)| Op::Send { s, via_hub, size }),
        6 => (1u64..=8).prop_map(Op::Advance),
        10 => Just(Op::Run),
    ]
}

fn admission() -> impl Strategy<Value = AdmissionConfig> {
    (1usize..=5, prop::option::of(1usize..=3)).prop_map(|(max_sessions, max_sessions_per_ip)| {
        AdmissionConfig::default()
            .max_sessions(max_sessions)
            .max_sessions_per_ip(max_sessions_per_ip)
    })
}

/// A payload unique to step `step`.
fn payload(step: usize, size: Size) -> Vec<u8> {
    match size {
        Size::Small => format!("m{step}").into_bytes(),
        Size::Big => {
            let mut p = vec![b'x'; 5000];
            p[..8].copy_from_slice(&(step as u64).to_le_bytes());
            p
        }
    }
}

// ----- model -----

#[derive(Debug, Clone, PartialEq, Eq)]
enum Request {
    Graceful(CloseReason),
    Abort(CloseReason),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Open,
    /// Writing its queue until `deadline` (virtual time since the start).
    Closing {
        reason: CloseReason,
        deadline: Duration,
    },
    Closed(CloseReason),
}

/// One session as the model sees it.
#[derive(Debug)]
struct Model {
    ip: u8,
    opened_at: Duration,
    /// The hub still lists it.
    registered: bool,
    groups: BTreeSet<&'static str>,
    /// The close asked for through a handle or the hub (kept once set, as
    /// the slot keeps it), and whether the driver has yet to apply it.
    request: Option<Request>,
    pending: bool,
    state: State,
    /// The peer's side: end of stream sent / read by the driver, a read
    /// error waiting, reads stalled.
    eof: bool,
    eof_read: bool,
    read_error: bool,
    stalled: bool,
    queued: Vec<Vec<u8>>,
    written: Vec<Vec<u8>>,
    dropped: u64,
    /// `dropped` when shutdown began, if the hub still listed it then.
    dropped_before_shutdown: Option<u64>,
}

impl Model {
    /// Whether a send (or a broadcast) is queued.
    fn accepts(&self) -> bool {
        self.request.is_none() && self.state == State::Open
    }

    /// `SlotOps::request_close`.
    fn request_close(&mut self, request: Request) {
        if matches!(self.state, State::Closed(_)) {
            return;
        }
        match (&self.request, &request) {
            (None, _) | (Some(Request::Graceful(_)), Request::Abort(_)) => {
                self.request = Some(request);
                self.pending = true;
            }
            _ => {}
        }
    }

    fn finish(&mut self, reason: CloseReason) {
        self.dropped += self.queued.len() as u64;
        self.queued.clear();
        self.state = State::Closed(reason);
    }

    fn close(&mut self, reason: CloseReason, now: Duration) {
        if self.state != State::Open {
            return;
        }
        if self.queued.is_empty() {
            self.finish(reason);
        } else {
            // A shutdown's close has no deadline of its own: the grace
            // period (ended by abort_all) is the one deadline.
            let deadline = if reason == CloseReason::Shutdown {
                Duration::MAX
            } else {
                now + CLOSE
            };
            self.state = State::Closing { reason, deadline };
        }
    }

    fn fail(&mut self, reason: CloseReason) {
        match &self.state {
            State::Closed(_) => {}
            State::Closing { reason: first, .. } => {
                let first = first.clone();
                self.finish(first);
            }
            State::Open => self.finish(reason),
        }
    }

    /// One session's driver run until it waits: returns the reason if it
    /// ended (and the hub forgot it).
    fn run(&mut self, now: Duration) -> Option<CloseReason> {
        if !self.registered {
            return None;
        }
        loop {
            if let State::Closed(reason) = &self.state {
                self.registered = false;
                self.groups.clear();
                return Some(reason.clone());
            }
            if std::mem::take(&mut self.pending) {
                match self.request.clone() {
                    Some(Request::Graceful(reason)) => self.close(reason, now),
                    Some(Request::Abort(reason)) => self.fail(reason),
                    None => {}
                }
                if matches!(self.state, State::Closed(_)) {
                    continue;
                }
            }
            let before = (self.state.clone(), self.written.len());
            // A closing session reads no more.
            if !self.eof_read && self.state == State::Open {
                if std::mem::take(&mut self.read_error) {
                    self.fail(CloseReason::Io(RESET));
                } else if self.eof {
                    self.eof_read = true;
                    self.close(CloseReason::RemoteClosed, now);
                }
            }
            if !self.stalled && !matches!(self.state, State::Closed(_)) {
                self.written.append(&mut self.queued);
                if let State::Closing { reason, .. } = &self.state {
                    let reason = reason.clone();
                    self.finish(reason);
                }
            }
            match &self.state {
                State::Open if now >= self.opened_at + IDLE => self.fail(CloseReason::IdleTimeout),
                State::Closing { reason, deadline } if now >= *deadline => {
                    let reason = reason.clone();
                    self.finish(reason);
                }
                _ => {}
            }
            if (self.state.clone(), self.written.len()) == before {
                return None;
            }
        }
    }
}

// ----- harness -----

/// The test's side of one session.
struct Real {
    id: SessionId,
    handle: SessionHandle,
    io: IoCtl,
    opened: usize,
    closed: usize,
}

struct World {
    net: Net,
    start: std::time::Instant,
    admission: AdmissionConfig,
    /// Every session ever opened, in order, and the model of each.
    real: Vec<Real>,
    model: Vec<Model>,
    by_id: HashMap<SessionId, usize>,
    /// Admissions held, and the model's copy (their IPs).
    held: Vec<Admission<LengthField>>,
    held_ips: Vec<u8>,
    shutdown: bool,
    /// Messages queued, and sessions listed, when shutdown began.
    queued_at_shutdown: u64,
    listed_at_shutdown: usize,
    accepted: u64,
    rejected: BTreeMap<&'static str, u64>,
    closed: BTreeMap<&'static str, u64>,
}

impl World {
    fn new(admission: AdmissionConfig) -> Self {
        // The model is of the hub's bookkeeping: back-pressure (which
        // pauses the peer deadlines) and the write-stall deadline have
        // their own properties (prop_backpressure, session_flow, the
        // socket suite).
        let session = SessionConfig::default()
            .idle_timeout(Some(IDLE))
            .close_timeout(CLOSE)
            .backpressure(None)
            .write_timeout(None);
        let net = Net::new(HubConfig::default().session(session).admission(admission));
        let start = net.clock.now();
        Self {
            net,
            start,
            admission,
            real: Vec::new(),
            model: Vec::new(),
            by_id: HashMap::new(),
            held: Vec::new(),
            held_ips: Vec::new(),
            shutdown: false,
            queued_at_shutdown: 0,
            listed_at_shutdown: 0,
            accepted: 0,
            rejected: BTreeMap::new(),
            closed: BTreeMap::new(),
        }
    }

    fn now(&self) -> Duration {
        self.net.clock.now() - self.start
    }

    fn clock(&self) -> Clock {
        self.net.clock.clone()
    }

    /// Places taken from `ip` (live sessions and held admissions).
    fn census(&self, ip: Option<u8>) -> usize {
        let live = self
            .model
            .iter()
            .filter(|m| m.registered && ip.is_none_or(|ip| m.ip == ip));
        let held = self
            .held_ips
            .iter()
            .filter(|&&h| ip.is_none_or(|ip| h == ip));
        live.count() + held.count()
    }

    /// The model's admission decision for a connection from `ip`.
    fn decide(&self, ip: u8) -> Result<(), Rejected> {
        if self.shutdown {
            return Err(Rejected::ShuttingDown);
        }
        if self.census(None) >= self.admission.max_sessions {
            return Err(Rejected::TooManySessions {
                max: self.admission.max_sessions,
            });
        }
        if let Some(max) = self.admission.max_sessions_per_ip {
            if self.census(Some(ip)) >= max {
                let ip = addr(ip, 0).ip();
                return Err(Rejected::TooManyFromIp { ip, max });
            }
        }
        Ok(())
    }

    /// Opens an admitted session and spawns its driver, without running it.
    fn open(&mut self, admission: Admission<LengthField>, ip: u8) {
        let conn = admission.open(self.net.clock.now());
        let (io, ctl) = mock_io();
        let timer = MockTimer::new(self.clock());
        let (id, handle) = (conn.id(), conn.handle());
        let drive = conn.drive(io, timer);
        self.net
            .pool
            .spawner()
            .spawn_local(async move {
                drive.await;
            })
            .expect("the pool is alive");
        self.accepted += 1;
        let mut model = Model {
            ip,
            opened_at: self.now(),
            registered: true,
            groups: BTreeSet::new(),
            request: None,
            pending: false,
            state: State::Open,
            eof: false,
            eof_read: false,
            read_error: false,
            stalled: false,
            queued: Vec::new(),
            written: Vec::new(),
            dropped: 0,
            dropped_before_shutdown: None,
        };
        if self.shutdown {
            model.request_close(Request::Graceful(CloseReason::Shutdown));
        }
        self.by_id.insert(id, self.real.len());
        self.real.push(Real {
            id,
            handle,
            io: ctl,
            opened: 0,
            closed: 0,
        });
        self.model.push(model);
    }

    /// The session an index picks among all ever opened.
    fn pick(&self, s: &Index) -> Option<usize> {
        (!self.real.is_empty()).then(|| s.index(self.real.len()))
    }

    /// Runs every driver until all wait, the model alongside; checks the
    /// events that came out.
    fn run(&mut self) -> Result<(), TestCaseError> {
        // The application takes every event as it comes, and drivers react
        // to that (a peer's end of stream closes its session once the
        // application is done): run until nothing more comes out.
        let mut taken = Vec::new();
        loop {
            self.net.run();
            let listed: BTreeSet<_> = self.net.hub.sessions().into_iter().collect();
            let before = taken.len();
            while let Some(event) = self.net.events.borrow_mut().try_recv() {
                if let Event::Closed { id, .. } = &event {
                    prop_assert!(!listed.contains(id), "Closed while listed: {}", id);
                }
                taken.push(event);
            }
            if taken.len() == before {
                break;
            }
        }
        let now = self.now();
        let mut ended = HashMap::new();
        for (i, m) in self.model.iter_mut().enumerate() {
            if let Some(reason) = m.run(now) {
                *self.closed.entry(reason.label()).or_default() += 1;
                ended.insert(i, reason);
            }
        }
        for event in taken {
            let i = self.by_id[&event.id()];
            let real = &mut self.real[i];
            match event {
                Event::Opened(handle) => {
                    prop_assert_eq!(handle.id(), real.id);
                    prop_assert_eq!(real.closed, 0, "Opened after Closed");
                    real.opened += 1;
                }
                Event::EndOfStream { id } => {
                    prop_assert!(self.model[i].eof, "EndOfStream of {} without EOF", id);
                    prop_assert_eq!(real.closed, 0, "EndOfStream after Closed");
                }
                Event::Closed { id, reason, .. } => {
                    prop_assert_eq!(Some(&reason), ended.get(&i), "Closed event of {}", id);
                    real.closed += 1;
                }
                other => prop_assert!(false, "unexpected event {:?}", other),
            }
        }
        for (i, real) in self.real.iter().enumerate() {
            prop_assert_eq!(real.opened, 1, "Opened events of {}", real.id);
            let expected = usize::from(!self.model[i].registered);
            prop_assert_eq!(real.closed, expected, "Closed events of {}", real.id);
        }
        Ok(())
    }

    fn step(&mut self, n: usize, op: &Op) -> Result<(), TestCaseError> {
        match op {
            Op::Admit { ip, hold } => {
                let expected = self.decide(*ip);
                match self
                    .net
                    .hub
                    .admit(addr(*ip, n as u16), self.net.clock.now())
                {
                    Ok(admission) => {
                        prop_assert_eq!(Ok(()), expected, "admitted");
                        if *hold {
                            self.held.push(admission);
                            self.held_ips.push(*ip);
                        } else {
                            self.open(admission, *ip);
                        }
                    }
                    Err(rejected) => {
                        prop_assert_eq!(Err(rejected), expected, "refused");
                        let label = match rejected {
                            Rejected::TooManySessions { .. } => "too_many_sessions",
                            Rejected::TooManyFromIp { .. } => "too_many_from_ip",
                            _ => "shutting_down",
                        };
                        *self.rejected.entry(label).or_default() += 1;
                    }
                }
            }
            Op::OpenHeld(k) if !self.held.is_empty() => {
                let k = k.index(self.held.len());
                let ip = self.held_ips.remove(k);
                let admission = self.held.remove(k);
                self.open(admission, ip);
            }
            Op::DropHeld(k) if !self.held.is_empty() => {
                let k = k.index(self.held.len());
                self.held_ips.remove(k);
                drop(self.held.remove(k));
            }
            Op::OpenHeld(_) | Op::DropHeld(_) => {}
            Op::Close { s, via_hub } => {
                let Some(i) = self.pick(s) else {
                    return Ok(());
                };
                if *via_hub {
                    let was = self
                        .net
                        .hub
                        .close(self.real[i].id, CloseReason::RateLimited);
                    prop_assert_eq!(was, self.model[i].registered, "Hub::close");
                    if was {
                        self.model[i].request_close(Request::Graceful(CloseReason::RateLimited));
                    }
                } else {
                    self.real[i].handle.close();
                    self.model[i].request_close(Request::Graceful(CloseReason::Local));
                }
            }
            Op::Abort(s) => {
                if let Some(i) = self.pick(s) {
                    self.real[i].handle.abort(CloseReason::SlowConsumer);
                    self.model[i].request_close(Request::Abort(CloseReason::SlowConsumer));
                }
            }
            Op::AbortAll => {
                let reason = CloseReason::Io(io::ErrorKind::Other);
                self.net.hub.abort_all(reason.clone());
                for m in self.model.iter_mut().filter(|m| m.registered) {
                    m.request_close(Request::Abort(reason.clone()));
                }
            }
            Op::PeerEof(s) => {
                if let Some(i) = self.pick(s) {
                    self.real[i].io.push_eof();
                    self.model[i].eof = true;
                }
            }
            Op::PeerError(s) => {
                if let Some(i) = self.pick(s) {
                    self.real[i].io.fail_read(RESET);
                    self.model[i].read_error = true;
                }
            }
            Op::Stall { s, on } => {
                if let Some(i) = self.pick(s) {
                    let mode = if *on {
                        WriteMode::Refuse
                    } else {
                        WriteMode::All
                    };
                    self.real[i].io.set_write_mode(mode);
                    self.model[i].stalled = *on;
                }
            }
            Op::Join { group, s } => {
                if let Some(i) = self.pick(s) {
                    let (g, m) = (GROUPS[*group], &mut self.model[i]);
                    let expected = m.registered && m.accepts() && m.groups.insert(g);
                    prop_assert_eq!(self.net.hub.join(g, self.real[i].id), expected, "join");
                }
            }
            Op::Leave { group, s } => {
                if let Some(i) = self.pick(s) {
                    let (g, m) = (GROUPS[*group], &mut self.model[i]);
                    let expected = m.registered && m.groups.remove(g);
                    prop_assert_eq!(self.net.hub.leave(g, self.real[i].id), expected, "leave");
                }
            }
            Op::Broadcast(size) => {
                let p = payload(n, *size);
                let report = self.net.hub.broadcast(Bytes::from(p.clone()));
                let targets: Vec<_> = (0..self.model.len())
                    .filter(|&i| self.model[i].registered)
                    .collect();
                self.check_broadcast(report.ok(), &targets, p)?;
            }
            Op::BroadcastGroup { group, size } => {
                let (g, p) = (GROUPS[*group], payload(n, *size));
                let report = self.net.hub.broadcast_group(g, Bytes::from(p.clone()));
                let targets: Vec<_> = (0..self.model.len())
                    .filter(|&i| self.model[i].groups.contains(g))
                    .collect();
                self.check_broadcast(report.ok(), &targets, p)?;
            }
            Op::BroadcastTo { ids, size } => {
                let p = payload(n, *size);
                let targets: Vec<_> = ids.iter().filter_map(|s| self.pick(s)).collect();
                let ids: Vec<_> = targets.iter().map(|&i| self.real[i].id).collect();
                let report = self.net.hub.broadcast_to(&ids, Bytes::from(p.clone()));
                self.check_broadcast(report.ok(), &targets, p)?;
            }
            Op::Send { s, via_hub, size } => {
                if let Some(i) = self.pick(s) {
                    let p = payload(n, *size);
                    let sent = if *via_hub {
                        self.net.hub.send(self.real[i].id, Bytes::from(p.clone()))
                    } else {
                        self.real[i].handle.send(Bytes::from(p.clone()))
                    };
                    let m = &mut self.model[i];
                    if m.accepts() {
                        prop_assert_eq!(sent, Ok(()), "send to {}", self.real[i].id);
                        m.queued.push(p);
                    } else {
                        prop_assert_eq!(sent, Err(SendError::Closed));
                    }
                }
            }
            Op::Advance(secs) => self.net.clock.advance(Duration::from_secs(*secs)),
            Op::Run => self.run()?,
            Op::Shutdown => {
                self.net.hub.begin_shutdown();
                if !self.shutdown {
                    self.shutdown = true;
                    self.queued_at_shutdown =
                        self.model.iter().map(|m| m.queued.len() as u64).sum();
                    self.listed_at_shutdown = self.census(None) - self.held.len();
                    for m in self.model.iter_mut().filter(|m| m.registered) {
                        m.dropped_before_shutdown = Some(m.dropped);
                        m.request_close(Request::Graceful(CloseReason::Shutdown));
                    }
                }
            }
        }
        self.check()
    }

    /// Checks a broadcast's report against the model, which queues the
    /// payload on each of `targets` (in order, repeats included) that
    /// accepts it.
    fn check_broadcast(
        &mut self,
        report: Option<BroadcastReport>,
        targets: &[usize],
        payload: Vec<u8>,
    ) -> Result<(), TestCaseError> {
        let report = report.expect("a small payload frames");
        let mut delivered = 0;
        let mut failed = Vec::new();
        for &i in targets {
            let m = &mut self.model[i];
            if m.registered && m.accepts() {
                m.queued.push(payload.clone());
                delivered += 1;
            } else {
                failed.push((self.real[i].id, SendError::Closed));
            }
        }
        let mut got = report.failed;
        got.sort_by_key(|(id, _)| *id);
        failed.sort_by_key(|(id, _)| *id);
        prop_assert_eq!(report.delivered, delivered, "delivered");
        prop_assert_eq!(got, failed, "failed");
        Ok(())
    }

    /// The hub's view, counters and every transport's output against the
    /// model.
    fn check(&self) -> Result<(), TestCaseError> {
        let hub = &self.net.hub;
        prop_assert_eq!(hub.len(), self.census(None), "len");
        let live: Vec<_> = (0..self.model.len())
            .filter(|&i| self.model[i].registered)
            .map(|i| self.real[i].id)
            .collect();
        prop_assert_eq!(hub.sessions(), live.clone(), "sessions");
        let mut groups = Vec::new();
        for g in GROUPS {
            let members: Vec<_> = (0..self.model.len())
                .filter(|&i| self.model[i].groups.contains(g))
                .map(|i| self.real[i].id)
                .collect();
            if !members.is_empty() {
                groups.push(g.to_string());
            }
            prop_assert_eq!(hub.members(g), members, "members of {}", g);
        }
        prop_assert_eq!(hub.groups(), groups, "groups");

        let stats = hub.stats();
        prop_assert_eq!(stats.live, live.len(), "stats.live");
        prop_assert_eq!(stats.accepted, self.accepted, "stats.accepted");
        prop_assert_eq!(&stats.rejected, &self.rejected, "stats.rejected");
        prop_assert_eq!(&stats.closed, &self.closed, "stats.closed");
        let written: usize = self.model.iter().map(|m| m.written.len()).sum();
        let dropped: u64 = self.model.iter().map(|m| m.dropped).sum();
        prop_assert_eq!(stats.messages_out, written as u64, "messages_out");
        prop_assert_eq!(stats.messages_dropped_at_close, dropped, "dropped");

        for (real, m) in self.real.iter().zip(&self.model) {
            let output = decode_all(&real.io.state().output);
            prop_assert!(output == m.written, "output of {}", real.id);
        }
        Ok(())
    }

    /// Resumes every peer, shuts down, lets the close timeout pass: the hub
    /// must end empty, every session closed exactly once.
    fn finish(&mut self) -> Result<(), TestCaseError> {
        for (real, m) in self.real.iter().zip(&mut self.model) {
            real.io.set_write_mode(WriteMode::All);
            m.stalled = false;
        }
        self.held.clear();
        self.held_ips.clear();
        self.step(usize::MAX, &Op::Run)?;
        self.step(usize::MAX, &Op::Shutdown)?;
        self.step(usize::MAX, &Op::Run)?;
        prop_assert!(self.net.hub.is_shutting_down());
        for real in &self.real {
            prop_assert_eq!(real.closed, 1, "Closed events of {}", real.id);
        }
        prop_assert_eq!(self.net.hub.len(), 0);
        prop_assert_eq!(self.net.hub.stats().live, 0);
        prop_assert!(self.net.hub.groups().is_empty());
        // Of the messages queued when shutdown began, those dropped since.
        let dropped: u64 = self
            .model
            .iter()
            .filter_map(|m| Some(m.dropped - m.dropped_before_shutdown?))
            .sum();
        let report = self.net.hub.shutdown_report();
        prop_assert_eq!(
            report.sessions,
            self.listed_at_shutdown,
            "sessions at shutdown"
        );
        prop_assert_eq!(report.dropped, dropped, "dropped at shutdown");
        prop_assert_eq!(report.flushed, self.queued_at_shutdown - dropped, "flushed");
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    })]

    /// Random sequences of admissions, closes, peer input, group changes,
    /// broadcasts, sends, time and shutdown leave the hub exactly where the
    /// model says.
    #[test]
    fn hub_matches_model(
        admission in admission(),
        mut ops in prop::collection::vec(op(), 1..100),
        shutdown in prop::option::weighted(0.3, any::<Index>()),
    ) {
        // A shutdown mid-way in some cases (every case ends with one).
        if let Some(at) = shutdown {
            let at = at.index(ops.len());
            ops.insert(at, Op::Shutdown);
        }
        let mut world = World::new(admission);
        for (n, op) in ops.iter().enumerate() {
            world.step(n, op)?;
        }
        world.finish()?;
    }

    /// Filling up from one address after another admits exactly up to each
    /// limit and refuses the next connection with the limit it hit; a
    /// dropped admission gives its place back.
    #[test]
    fn admission_is_exact_at_each_limit(
        admission in admission(),
        steps in prop::collection::vec((1..=IPS, any::<Index>()), 1..12),
    ) {
        let world = World::new(admission);
        let hub = &world.net.hub;
        let mut held = Vec::new();
        for (ip, drop_at) in steps {
            let from_ip = held.iter().filter(|(h, _)| *h == ip).count();
            let room_ip = admission.max_sessions_per_ip.map_or(usize::MAX, |max| max - from_ip);
            let room = admission.max_sessions - held.len();
            let limit = if room_ip < room {
                let max = from_ip + room_ip;
                Rejected::TooManyFromIp { ip: addr(ip, 0).ip(), max }
            } else {
                Rejected::TooManySessions { max: admission.max_sessions }
            };
            for _ in 0..room.min(room_ip) {
                let admitted = hub.admit(addr(ip, 1), Instant::now());
                let Ok(admission) = admitted else {
                    return Err(TestCaseError::fail(format!("refused below the limit: {admitted:?}")));
                };
                held.push((ip, admission));
            }
            prop_assert_eq!(hub.admit(addr(ip, 2), Instant::now()).err(), Some(limit), "one over");
            prop_assert_eq!(hub.len(), held.len());
            drop(held.remove(drop_at.index(held.len())));
            prop_assert_eq!(hub.len(), held.len(), "a dropped admission frees its place");
        }
    }
}
