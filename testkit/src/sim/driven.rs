//! [`DrivenSim`]: the simulator's pipes and clock under the real driver.

use std::cell::RefCell;
use std::io::{self, IoSlice};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures::executor::LocalPool;
use proto_core::driver::{AdmissionExt, Transport};
use proto_core::hub::{Admission, SessionHandle, SessionId};
use proto_core::message::MessageFactory;

use super::pipe::{Pipe, PipeConfig, Shutdown};
use super::rng::{Draw, Rng};
use super::{LinkId, MAX_IDLE_STEPS, Side};
use crate::mock::{Clock, Done, MockTimer, spawn_drive};

/// One direction of a link, with the tasks waiting on it.
#[derive(Debug)]
struct End {
    pipe: Pipe,
    /// The reading driver, parked until bytes arrive.
    reader: Option<Waker>,
    /// Whether the reader's last read found nothing (it waits for bytes);
    /// a driver paused by back-pressure does not read, and is not parked.
    reader_parked: bool,
    /// The writing driver, parked until the pipe has room.
    writer: Option<Waker>,
    /// The end of stream or reset the reader saw; every later read sees it
    /// again.
    ended: Option<Shutdown>,
    /// The reader dropped its transport: what arrives is dropped.
    reader_gone: bool,
}

impl End {
    fn new(config: PipeConfig) -> Self {
        Self {
            pipe: Pipe::new(config),
            reader: None,
            reader_parked: false,
            writer: None,
            ended: None,
            reader_gone: false,
        }
    }

    fn wake_reader(&mut self) {
        if let Some(w) = self.reader.take() {
            w.wake();
        }
    }

    fn wake_writer(&mut self) {
        if let Some(w) = self.writer.take() {
            w.wake();
        }
    }

    /// Whether the reader waits for something that will come.
    fn moving(&self) -> bool {
        self.reader_parked && self.pipe.reading && self.pipe.next_event(true).is_some()
    }
}

/// Every pipe of the simulator and the generator they draw from.
#[derive(Debug)]
struct Wires {
    rng: Rng,
    /// Per link: client to server, server to client.
    links: Vec<[End; 2]>,
    /// Reused buffer for arrived segments.
    arrived: Vec<Bytes>,
}

/// The index of the pipe towards `to`.
fn towards(to: Side) -> usize {
    match to {
        Side::Server => 0,
        Side::Client => 1,
    }
}

/// One end of a link as the driver's [`Transport`]: it writes into the pipe
/// towards the peer and reads from the pipe towards itself.
#[derive(Debug)]
pub struct SimIo {
    wires: Rc<RefCell<Wires>>,
    clock: Clock,
    link: usize,
    side: Side,
    /// The write side was shut down (FIN sent).
    shut: bool,
}

impl Transport for SimIo {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let now = self.clock.now();
        let mut wires = self.wires.borrow_mut();
        let Wires {
            rng,
            links,
            arrived,
        } = &mut *wires;
        let end = &mut links[self.link][towards(self.side)];
        end.reader_parked = false;
        if end.pipe.has_arrived(now) && !buf.is_empty() {
            // One read of random size, possibly across segments.
            let want = (1 + rng.below(end.pipe.config.max_read)).min(buf.len());
            arrived.clear();
            let n = end.pipe.read_arrived(now, want, arrived);
            let mut at = 0;
            for piece in arrived.drain(..) {
                buf[at..at + piece.len()].copy_from_slice(&piece);
                at += piece.len();
            }
            end.wake_writer();
            return Poll::Ready(Ok(n));
        }
        if end.ended.is_none() {
            end.ended = end.pipe.due_shutdown(now);
        }
        match end.ended {
            Some(Shutdown::Fin) => return Poll::Ready(Ok(0)),
            Some(Shutdown::Reset) => {
                return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
            }
            None => {}
        }
        end.reader = Some(cx.waker().clone());
        end.reader_parked = true;
        if end.pipe.reading {
            if let Some(at) = end.pipe.next_event(true) {
                self.clock.wake_at(Some(at), cx.waker());
            }
        }
        Poll::Pending
    }

    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let now = self.clock.now();
        let mut wires = self.wires.borrow_mut();
        let Wires { rng, links, .. } = &mut *wires;
        let end = &mut links[self.link][towards(self.side.peer())];
        let offered: usize = bufs.iter().map(|b| b.len()).sum();
        if end.reader_gone {
            // A closed socket drops what still arrives.
            return Poll::Ready(Ok(offered));
        }
        let room = end.pipe.room().min(offered);
        if room == 0 && offered > 0 {
            end.writer = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let mut chunk = BytesMut::with_capacity(room);
        for buf in bufs {
            let take = buf.len().min(room - chunk.len());
            chunk.extend_from_slice(&buf[..take]);
        }
        end.pipe.send(chunk.freeze(), now, rng);
        end.wake_reader();
        Poll::Ready(Ok(room))
    }

    fn poll_flush(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.shut_down(Shutdown::Fin);
        Poll::Ready(Ok(()))
    }
}

impl SimIo {
    fn shut_down(&mut self, how: Shutdown) {
        if self.shut {
            return;
        }
        self.shut = true;
        let now = self.clock.now();
        let mut wires = self.wires.borrow_mut();
        let Wires { rng, links, .. } = &mut *wires;
        let end = &mut links[self.link][towards(self.side.peer())];
        end.pipe.shut(how, now, rng);
        end.wake_reader();
    }
}

impl Drop for SimIo {
    /// A driver that returns without shutting its write side down closed
    /// on a fault: the peer sees a reset (as the by-hand [`Sim`](super::Sim)
    /// does). What still arrives for this end is dropped.
    fn drop(&mut self) {
        self.shut_down(Shutdown::Reset);
        let mut wires = self.wires.borrow_mut();
        let end = &mut wires.links[self.link][towards(self.side)];
        end.reader_gone = true;
        end.pipe.drop_unread();
        end.wake_writer();
    }
}

/// One end of a [`DrivenSim`] link, from the test's side.
#[derive(Debug)]
pub struct DrivenEnd {
    /// The session's id in its hub.
    pub id: SessionId,
    /// The session's handle.
    pub handle: SessionHandle,
    /// What its driver returned, once it has.
    pub done: Done,
}

/// A link of a [`DrivenSim`]: both ends.
#[derive(Debug)]
pub struct DrivenLink {
    /// The link, for [`DrivenSim::set_reading`] and
    /// [`DrivenSim::in_flight`].
    pub link: LinkId,
    /// The end that connected.
    pub client: DrivenEnd,
    /// The end that accepted.
    pub server: DrivenEnd,
}

/// The simulated network with its pipes as a [`Transport`] ([`SimIo`]) and
/// its clock as a [`Timer`](proto_core::driver::Timer), so that both ends
/// of a link are hub sessions on **the real driver**
/// ([`Conn::drive`](proto_core::driver::Conn::drive)), run on one
/// `LocalPool` (quinn's `Pair`, str0m's netem).
///
/// The pipes are the same as [`Sim`](super::Sim)'s — seeded segmenting,
/// delays, coalesced reads, bandwidth and buffer limits, a reader that
/// stops — and the clock is [`mock::Clock`](crate::mock::Clock) with
/// [`MockTimer`]: time moves only when the test says, from one thing that
/// happens to the next, so the same seed replays the same run.
///
/// ```
/// use std::time::Instant;
///
/// use proto_core::bytes::Bytes;
/// use proto_core::frame::LengthField;
/// use proto_core::hub::{Event, Hub, HubConfig};
/// use proto_testkit::mock::addr;
/// use proto_testkit::sim::{DrivenSim, PipeConfig};
///
/// let codec = LengthField::laster40net();
/// let (server, mut server_events) = Hub::new(codec.clone(), HubConfig::default())?;
/// let (client, mut client_events) = Hub::new(codec, HubConfig::default())?;
/// let mut sim = DrivenSim::new(Instant::now(), 7);
/// let pipe = PipeConfig::default().max_segment(3);
/// let (c, s) = (client.admit(addr(1, 1), sim.now())?, server.admit(addr(2, 2), sim.now())?);
/// let link = sim.connect(c, s, pipe, pipe);
/// link.client.handle.send(Bytes::from_static(b"ping"))?;
/// sim.run_until_idle();
///
/// // The server's application answers on its hub ...
/// while let Some(event) = server_events.try_recv() {
///     if let Event::Message { id, payload } = event {
///         server.send(id, payload)?;
///     }
/// }
/// sim.run_until_idle();
/// // ... and the answer crossed the pipe, through both drivers.
/// let got: Vec<_> = std::iter::from_fn(|| client_events.try_recv())
///     .filter_map(|e| match e { Event::Message { payload, .. } => Some(payload), _ => None })
///     .collect();
/// assert_eq!(got, [Bytes::from_static(b"ping")]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[allow(missing_debug_implementations)] // the pool is not `Debug`
pub struct DrivenSim {
    pool: LocalPool,
    clock: Clock,
    start: Instant,
    wires: Rc<RefCell<Wires>>,
}

impl DrivenSim {
    /// An empty network whose virtual time starts at `start`, with random
    /// choices drawn from `seed`.
    pub fn new(start: Instant, seed: u64) -> Self {
        Self {
            pool: LocalPool::new(),
            clock: Clock::new(start),
            start,
            wires: Rc::new(RefCell::new(Wires {
                rng: Rng::new(seed),
                links: Vec::new(),
                arrived: Vec::new(),
            })),
        }
    }

    /// The virtual clock every driver reads.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Virtual time now.
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Virtual time since the start.
    pub fn elapsed(&self) -> Duration {
        self.now() - self.start
    }

    /// Opens both admitted sessions (each in its own hub, or both in one)
    /// and spawns their drivers over a new link, with settings for each
    /// direction; runs until stalled.
    pub fn connect<F: MessageFactory + 'static>(
        &mut self,
        client: Admission<F>,
        server: Admission<F>,
        to_server: PipeConfig,
        to_client: PipeConfig,
    ) -> DrivenLink {
        let link = {
            let mut wires = self.wires.borrow_mut();
            wires.links.push([End::new(to_server), End::new(to_client)]);
            wires.links.len() - 1
        };
        let now = self.now();
        let spawn = |admission: Admission<F>, side| {
            let conn = admission.open(now);
            let (id, handle) = (conn.id(), conn.handle());
            let io = SimIo {
                wires: self.wires.clone(),
                clock: self.clock.clone(),
                link,
                side,
                shut: false,
            };
            let done = spawn_drive(
                &self.pool,
                conn.drive(io, MockTimer::new(self.clock.clone())),
            );
            DrivenEnd { id, handle, done }
        };
        let client = spawn(client, Side::Client);
        let server = spawn(server, Side::Server);
        self.run();
        DrivenLink {
            link: LinkId(link),
            client,
            server,
        }
    }

    /// Runs every driver until none can make progress, without moving time.
    pub fn run(&mut self) {
        self.pool.run_until_stalled();
    }

    /// Moves time to the next thing that happens (a segment arrives or a
    /// driver's deadline passes) and runs. Returns false when nothing is
    /// scheduled at all.
    pub fn step(&mut self) -> bool {
        self.run();
        let Some(at) = self.clock.next_wake() else {
            return false;
        };
        self.clock.advance(at.saturating_duration_since(self.now()));
        self.run();
        true
    }

    /// Steps until no bytes are moving: nothing in flight that a waiting
    /// reader would take. Deadlines that fall due on the way fire; later
    /// ones wait. Returns the steps taken (at most ten million).
    pub fn run_until_idle(&mut self) -> usize {
        let mut steps = 0;
        self.run();
        while steps < MAX_IDLE_STEPS && self.moving() && self.step() {
            steps += 1;
        }
        steps
    }

    /// Steps through everything that happens up to `deadline`, then sets the
    /// clock to it.
    pub fn run_until(&mut self, deadline: Instant) {
        self.run();
        while self.clock.next_wake().is_some_and(|at| at <= deadline) {
            self.step();
        }
        self.clock
            .advance(deadline.saturating_duration_since(self.now()));
        self.run();
    }

    /// [`run_until`](Self::run_until) `now + duration`.
    pub fn advance(&mut self, duration: Duration) {
        self.run_until(self.now() + duration);
    }

    fn moving(&self) -> bool {
        self.wires.borrow().links.iter().flatten().any(End::moving)
    }

    /// Whether the application at `side` reads; a session that stops
    /// reading lets its peer's writes back up.
    ///
    /// # Panics
    /// If `link` is not from this simulator.
    pub fn set_reading(&mut self, link: LinkId, side: Side, reading: bool) {
        let mut wires = self.wires.borrow_mut();
        let end = &mut wires.links[link.0][towards(side)];
        end.pipe.reading = reading;
        end.wake_reader();
    }

    /// Bytes sent towards `to` on `link` and not yet read.
    ///
    /// # Panics
    /// If `link` is not from this simulator.
    pub fn in_flight(&self, link: LinkId, to: Side) -> usize {
        self.wires.borrow().links[link.0][towards(to)]
            .pipe
            .in_flight_bytes()
    }
}
