//! [`Net`]: a hub whose sessions run the real driver over mock transports
//! on one `LocalPool` and a virtual clock.

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;
use proto_core::driver::{AdmissionExt, Drive, Timer, Transport};
use proto_core::frame::LengthField;
use proto_core::hub::{Admission, Event, Events, Hub, HubConfig, SessionHandle, SessionId};
use proto_core::message::MessageFactory;
use proto_core::session::CloseReason;

use super::{Clock, IoCtl, MockTimer, Observer, codec, lock, mock_io};

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
        let admission = self.hub.admit(peer, self.clock.now()).expect("admitted");
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
        let (id, handle) = (conn.id(), conn.handle());
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
