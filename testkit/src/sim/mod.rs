//! A deterministic in-memory network with a virtual clock.
//!
//! [`Sim`] connects pairs of [`Session`]s through pipes that cut bytes into
//! random segments, delay them, coalesce them into random reads, limit
//! bandwidth and buffering, and can stop reading — all driven by one seeded
//! generator, so the same seed gives the same run, byte for byte. Time is
//! virtual: a test of a five-minute idle timeout takes microseconds.
//!
//! Two ways to run it:
//!
//! - [`Sim`]: each end is a bare [`Session`] that the simulator drives by
//!   hand (below) — the protocol's rules, with nothing else in the way.
//! - [`DrivenSim`]: each end is a hub session on **the real driver**, over
//!   the same pipes as a [`Transport`](proto_core::driver::Transport) and
//!   the [`mock`](crate::mock) clock as its timer — what a server built on
//!   proto-core does, back-pressure and fair turns included.
//!
//! It is proto-core's test bed and a tool for users: test your game
//! protocol's rules without sockets, threads or sleeps.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use bytes::Bytes;
//! use proto_core::frame::LengthField;
//! use proto_core::session::{SessionEvent, Session, SessionConfig, CloseReason};
//! use proto_testkit::sim::{PipeConfig, Side, Sim};
//!
//! let codec = LengthField::laster40net();
//! let start = Instant::now(); // the only clock read: the origin of virtual time
//! let session = |now| Session::new(codec.new_codec(), codec.new_codec(), SessionConfig::default(), now);
//!
//! let mut sim = Sim::new(start, 7);
//! let link = sim.connect(session(start), session(start), PipeConfig::default().max_segment(3));
//! for i in 0..100u32 {
//!     sim.session_mut(link, Side::Client).send(Bytes::from(i.to_le_bytes().to_vec()))?;
//! }
//! let now = sim.now();
//! sim.session_mut(link, Side::Client).close(CloseReason::Local, now);
//! sim.run_until_idle();
//!
//! // The server got every message, in order, then the end of the stream;
//! // polling past it closes the session (half_close is off).
//! let server = sim.session_mut(link, Side::Server);
//! assert_eq!(server.poll_event(), Some(SessionEvent::Opened));
//! for i in 0..100u32 {
//!     assert_eq!(server.poll_event(), Some(SessionEvent::Message(Bytes::from(i.to_le_bytes().to_vec()))));
//! }
//! assert_eq!(server.poll_event(), Some(SessionEvent::EndOfStream));
//! assert_eq!(server.poll_event(), Some(SessionEvent::Closed(CloseReason::RemoteClosed)));
//! # Ok::<(), proto_core::session::SendError>(())
//! ```

mod driven;
mod pipe;
mod rng;

use std::io;
use std::time::{Duration, Instant};

use bytes::Bytes;

pub use driven::{DrivenEnd, DrivenLink, DrivenSim, SimIo};
pub use pipe::PipeConfig;
use pipe::{Pipe, Shutdown};
use rng::{Draw, Rng};

use proto_core::message::{MessageBuilder, MessageResolver};
use proto_core::session::Session;

/// Which end of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The end that connected.
    Client,
    /// The end that accepted.
    Server,
}

impl Side {
    /// The other end.
    pub fn peer(self) -> Self {
        match self {
            Self::Client => Self::Server,
            Self::Server => Self::Client,
        }
    }
}

/// A connection in the simulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkId(usize);

/// One read delivered to a session, as recorded in the [`Sim::trace`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Virtual time since the start.
    pub at: Duration,
    /// The link.
    pub link: LinkId,
    /// The session that read.
    pub to: Side,
    /// The bytes read.
    pub bytes: Bytes,
}

#[derive(Debug)]
struct Link<R, B> {
    client: Session<R, B>,
    server: Session<R, B>,
    /// Client to server.
    up: Pipe,
    /// Server to client.
    down: Pipe,
    /// When each session was first seen closed: client, server.
    closed_at: [Option<Instant>; 2],
}

impl<R, B> Link<R, B> {
    fn parts(&mut self, to: Side) -> (&mut Session<R, B>, &mut Pipe, &mut Session<R, B>) {
        match to {
            Side::Server => (&mut self.client, &mut self.up, &mut self.server),
            Side::Client => (&mut self.server, &mut self.down, &mut self.client),
        }
    }
}

/// Whether `session` would read bytes that arrived for it now: it has a
/// read budget, or it is closed (and drops them).
fn can_read<R: MessageResolver, B: MessageBuilder>(session: &Session<R, B>) -> bool {
    session.is_closed() || session.peek_read_budget(0) > 0
}

/// Bound on the steps of `run_until_idle`, against a run that never
/// settles.
const MAX_IDLE_STEPS: usize = 10_000_000;

/// The simulated network; see the [module docs](self).
#[derive(Debug)]
pub struct Sim<R, B> {
    start: Instant,
    now: Instant,
    rng: Rng,
    links: Vec<Link<R, B>>,
    trace: Vec<Delivery>,
    record: bool,
    /// Reused buffer for transmit chunks.
    chunks: Vec<Bytes>,
    /// Reused buffer for arrived segments.
    arrived: Vec<Bytes>,
}

impl<R: MessageResolver, B: MessageBuilder> Sim<R, B> {
    /// An empty network whose virtual time starts at `start`, with random
    /// choices drawn from `seed`.
    pub fn new(start: Instant, seed: u64) -> Self {
        Self {
            start,
            now: start,
            rng: Rng::new(seed),
            links: Vec::new(),
            trace: Vec::new(),
            record: true,
            chunks: Vec::new(),
            arrived: Vec::new(),
        }
    }

    /// Whether deliveries are recorded in the [`trace`](Self::trace)
    /// (default on; turn off for long runs).
    pub fn record_trace(&mut self, record: bool) {
        self.record = record;
    }

    /// Connects two sessions with the same pipe settings both ways.
    pub fn connect(
        &mut self,
        client: Session<R, B>,
        server: Session<R, B>,
        pipe: PipeConfig,
    ) -> LinkId {
        self.connect_with(client, server, pipe, pipe)
    }

    /// Connects two sessions with settings for each direction.
    pub fn connect_with(
        &mut self,
        client: Session<R, B>,
        server: Session<R, B>,
        to_server: PipeConfig,
        to_client: PipeConfig,
    ) -> LinkId {
        self.links.push(Link {
            client,
            server,
            up: Pipe::new(to_server),
            down: Pipe::new(to_client),
            closed_at: [None; 2],
        });
        LinkId(self.links.len() - 1)
    }

    /// The links, in the order they were connected.
    pub fn links(&self) -> impl Iterator<Item = LinkId> + use<R, B> {
        (0..self.links.len()).map(LinkId)
    }

    /// A session.
    ///
    /// # Panics
    /// If `link` is not from this simulator.
    pub fn session(&self, link: LinkId, side: Side) -> &Session<R, B> {
        let link = &self.links[link.0];
        match side {
            Side::Client => &link.client,
            Side::Server => &link.server,
        }
    }

    /// A session, to send, close or poll events.
    ///
    /// # Panics
    /// If `link` is not from this simulator.
    pub fn session_mut(&mut self, link: LinkId, side: Side) -> &mut Session<R, B> {
        let link = &mut self.links[link.0];
        match side {
            Side::Client => &mut link.client,
            Side::Server => &mut link.server,
        }
    }

    /// Whether the application at `side` reads; a session that stops
    /// reading lets its peer's writes back up.
    ///
    /// # Panics
    /// If `link` is not from this simulator.
    pub fn set_reading(&mut self, link: LinkId, side: Side, reading: bool) {
        self.links[link.0].parts(side).1.reading = reading;
    }

    /// Virtual time now.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Virtual time since the start.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Every read delivered so far, in order. Bytes that reach a closed
    /// session are dropped, as a socket would, and not recorded.
    pub fn trace(&self) -> &[Delivery] {
        &self.trace
    }

    /// Virtual time since the start at which a session closed, as seen by
    /// the simulator (a close made by hand between steps is seen at the next
    /// step, at the time it was made).
    ///
    /// # Panics
    /// If `link` is not from this simulator.
    pub fn closed_at(&self, link: LinkId, side: Side) -> Option<Duration> {
        let at = self.links[link.0].closed_at[side as usize];
        at.map(|at| at - self.start)
    }

    /// Notes the time of every close not yet noted.
    fn note_closes(&mut self) {
        let now = self.now;
        for link in &mut self.links {
            for (i, session) in [&link.client, &link.server].into_iter().enumerate() {
                if link.closed_at[i].is_none() && session.is_closed() {
                    link.closed_at[i] = Some(now);
                }
            }
        }
    }

    /// Moves time to the next thing that happens (a segment arrives or a
    /// session deadline passes) and does it. Returns false when nothing is
    /// scheduled at all.
    pub fn step(&mut self) -> bool {
        self.note_closes();
        self.flush_writes();
        self.note_closes();
        let Some(at) = self.next_event() else {
            return false;
        };
        self.now = self.now.max(at);
        self.deliver();
        self.note_closes();
        self.fire_timers();
        self.note_closes();
        self.flush_writes();
        self.note_closes();
        true
    }

    /// Steps until no bytes are moving: nothing in flight that a reader
    /// would take, nothing a session wants to write that a pipe would
    /// accept. Timers that fall due on the way fire; later ones wait.
    /// Returns the steps taken.
    ///
    /// Traffic that never pauses never goes idle: heartbeats whose interval
    /// is shorter than the link's round trip can keep a ping or pong in
    /// flight. This stops after ten million steps; use
    /// [`run_until`](Self::run_until) for such runs.
    pub fn run_until_idle(&mut self) -> usize {
        let mut steps = 0;
        while steps < MAX_IDLE_STEPS {
            self.flush_writes();
            if !self.moving() {
                break;
            }
            self.step();
            steps += 1;
        }
        steps
    }

    /// Steps through everything that happens up to `deadline`, then sets the
    /// clock to it.
    pub fn run_until(&mut self, deadline: Instant) {
        loop {
            self.flush_writes();
            match self.next_event() {
                Some(at) if at <= deadline => {
                    self.step();
                }
                _ => break,
            }
        }
        self.now = self.now.max(deadline);
        self.fire_timers();
        self.note_closes();
        self.flush_writes();
        self.note_closes();
    }

    /// [`run_until`](Self::run_until) `now + duration`.
    pub fn advance(&mut self, duration: Duration) {
        self.run_until(self.now + duration);
    }

    fn moving(&self) -> bool {
        self.links.iter().any(|l| {
            [(&l.up, &l.server), (&l.down, &l.client)]
                .into_iter()
                .any(|(p, to)| p.reading && p.next_event(can_read(to)).is_some())
        })
    }

    fn next_event(&self) -> Option<Instant> {
        self.links
            .iter()
            .flat_map(|l| {
                [
                    l.up.next_event(can_read(&l.server)),
                    l.down.next_event(can_read(&l.client)),
                    l.client.poll_timeout(),
                    l.server.poll_timeout(),
                ]
            })
            .flatten()
            .min()
    }

    /// Moves what every session wants to write into its pipe, as far as the
    /// pipe takes it; shuts the pipe of a closed session.
    fn flush_writes(&mut self) {
        let now = self.now;
        for i in 0..self.links.len() {
            for to in [Side::Server, Side::Client] {
                let (sender, pipe, _) = self.links[i].parts(to);
                if sender.is_closed() {
                    let how = match sender.close_reason() {
                        Some(reason) if reason.is_fault() => Shutdown::Reset,
                        _ => Shutdown::Fin,
                    };
                    pipe.shut(how, now, &mut self.rng);
                    continue;
                }
                while sender.wants_write() && pipe.room() > 0 {
                    self.chunks.clear();
                    sender.transmit_chunks(&mut self.chunks);
                    let mut written = 0;
                    for chunk in self.chunks.drain(..) {
                        let room = pipe.room();
                        if room == 0 {
                            break;
                        }
                        let chunk = if chunk.len() > room {
                            chunk.slice(..room)
                        } else {
                            chunk
                        };
                        written += chunk.len();
                        pipe.send(chunk, now, &mut self.rng);
                    }
                    sender.handle_written(written, now);
                    if sender.is_closed() {
                        break;
                    }
                }
                if sender.wants_write() && pipe.room() == 0 {
                    // The socket takes nothing: the write-stall clock runs.
                    sender.handle_written(0, now);
                }
            }
        }
    }

    /// Hands arrived bytes to their reader, in reads of random size, each
    /// no larger than the reader's [`Session::read_budget`]; what the budget
    /// leaves stays in the pipe (and counts against its buffer, which
    /// blocks the writer in turn).
    fn deliver(&mut self) {
        let now = self.now;
        let at = now - self.start;
        for i in 0..self.links.len() {
            for to in [Side::Server, Side::Client] {
                let (_, pipe, receiver) = self.links[i].parts(to);
                let mut pieces = std::mem::take(&mut self.arrived);
                if receiver.is_closed() {
                    // A closed socket drops what still arrives.
                    pieces.clear();
                    pipe.read_arrived(now, usize::MAX, &mut pieces);
                    pieces.clear();
                }
                while pipe.has_arrived(now) {
                    let budget = receiver.read_budget(0);
                    if budget == 0 || receiver.is_closed() {
                        break;
                    }
                    // One read of random size, possibly across segments,
                    // copied into the session's read buffer (as a socket
                    // read is) and handed over whole.
                    let want = (1 + self.rng.below(pipe.config.max_read)).min(budget);
                    pieces.clear();
                    let len = pipe.read_arrived(now, want, &mut pieces);
                    if len == 0 {
                        break;
                    }
                    for piece in &pieces {
                        receiver.read_buf().extend_from_slice(piece);
                    }
                    receiver.handle_read(len, now);
                    if self.record {
                        self.trace.push(Delivery {
                            at,
                            link: LinkId(i),
                            to,
                            bytes: pieces.concat().into(),
                        });
                    }
                }
                pieces.clear();
                self.arrived = pieces;
                match pipe.due_shutdown(now) {
                    Some(Shutdown::Fin) => receiver.handle_eof(now),
                    Some(Shutdown::Reset) => {
                        receiver.handle_io_error(io::ErrorKind::ConnectionReset)
                    }
                    None => {}
                }
            }
        }
    }

    fn fire_timers(&mut self) {
        let now = self.now;
        for link in &mut self.links {
            for session in [&mut link.client, &mut link.server] {
                if session.poll_timeout().is_some_and(|t| t <= now) {
                    session.handle_timeout(now);
                }
            }
        }
    }

    /// Bytes sent towards `to` on `link` and not yet read.
    ///
    /// # Panics
    /// If `link` is not from this simulator.
    pub fn in_flight(&mut self, link: LinkId, to: Side) -> usize {
        self.links[link.0].parts(to).1.in_flight_bytes()
    }
}
