//! One chat service over several server instances, joined by Redis
//! (`chat_server --redis URL`).
//!
//! - **Rooms**: a room event (`Said`, `Joined`, `Left`) is delivered to
//!   the local members at once and published once on the service's
//!   channel (`{prefix}:bus`), whatever the number of members; every
//!   other instance relays it to its own members, encoded once per door.
//!   One publisher connection per instance, publishes in order, and
//!   Redis delivers a connection's publishes in order: per sender,
//!   messages arrive in the order sent, on every instance.
//! - **Presence and nicknames**: a nickname is claimed in Redis
//!   (`{prefix}:nick:{name}`, `SET NX` with the presence TTL) before the
//!   welcome; each instance refreshes its keys and publishes its users
//!   every third of the TTL. An instance not heard from for the TTL (a
//!   SIGKILL, a network split) is gone: the others announce its users as
//!   left to their rooms, and as joined again if it comes back. When its
//!   subscription comes up (at start and after an outage) an instance
//!   publishes its users as a hello, which every other instance answers
//!   at once with its presence, published before anything else it says
//!   next: the newcomer knows every user before it hears their lines. A
//!   presence snapshot that differs from what an instance knew
//!   (announcements it missed) is announced the same way. `/who`,
//!   `/rooms` and `/pm` use this directory of the other instances'
//!   users.
//! - **Outages**: every instance keeps serving its local users, logs the
//!   outage once, and reconnects with exponential backoff (100 ms doubling
//!   to 5 s, ±50 % jitter); on reconnecting it subscribes again, claims
//!   its nicknames again (a restarted Redis is empty) and says hello
//!   with its users. Nickname claims during the outage are granted on the
//!   instance's word. Messages published while Redis is down are lost
//!   (pub/sub stores nothing) and counted
//!   (`chat_redis_publishes_lost_total`).
//! - **A slow instance** stalls nobody: Redis buffers its subscription
//!   (and drops the connection past its output limit, after which it
//!   reconnects); on an instance, the link hands envelopes to the room
//!   task through a bounded queue and counts what it must drop.

mod bus;
mod directory;
mod link;
mod stats;

use std::sync::Arc;
use std::time::{Duration, Instant};

use smol::channel::{Receiver, Sender, TrySendError};

pub use bus::{BadEnvelope, Envelope};
pub use stats::LinkStats;

pub(crate) use directory::Directory;

use crate::server::UserKey;

/// Where the service's Redis is, and how this instance is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// `redis://host:port[/db]`.
    pub url: String,
    /// Prefix of the channel and keys (several services may share a
    /// Redis).
    pub prefix: String,
    /// This instance's id, unique in the service.
    pub instance: String,
    /// How long a silent instance (and its nickname keys) lasts.
    pub presence_ttl: Duration,
}

/// What the room task asks of the link.
#[derive(Debug)]
pub(crate) enum Command {
    /// Publish on the bus.
    Publish(Envelope),
    /// Claim a nickname for `key`; answered with [`Incoming::Claimed`].
    Claim { key: UserKey, name: String },
    /// A local user is now in `room`.
    Here { name: String, room: String },
    /// A local user left; its nickname is released.
    Release { name: String },
    /// Say goodbye, release the nicknames and stop.
    Stop,
}

/// What the link tells the room task.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// An envelope from another instance.
    Bus {
        instance: String,
        envelope: Envelope,
    },
    /// The answer to a [`Command::Claim`].
    Claimed {
        key: UserKey,
        name: String,
        ok: bool,
    },
    /// A presence refresh went out: time to expire silent instances.
    Tick,
    /// The link is (back) up.
    Up,
}

/// Most commands waiting for the link; past that, publishes are lost
/// (counted).
const COMMAND_QUEUE: usize = 16 * 1024;
/// Most envelopes waiting for the room task; past that, dropped
/// (counted).
const INCOMING_QUEUE: usize = 16 * 1024;

/// The room task's end of the link.
#[derive(Debug)]
pub(crate) struct Cluster {
    pub(crate) config: ClusterConfig,
    commands: Sender<Command>,
    pub(crate) incoming: Receiver<Incoming>,
    pub(crate) stats: Arc<LinkStats>,
    pub(crate) directory: Directory,
    /// When the last presence tick came (see [`Cluster::tick`]).
    last_tick: Option<Instant>,
    stopped: Receiver<()>,
}

impl Cluster {
    /// Starts the link's thread; it connects in the background.
    pub(crate) fn start(config: ClusterConfig, stats: Arc<LinkStats>) -> std::io::Result<Self> {
        let (commands, commands_rx) = smol::channel::bounded(COMMAND_QUEUE);
        let (incoming_tx, incoming) = smol::channel::bounded(INCOMING_QUEUE);
        let (stopped_tx, stopped) = smol::channel::bounded(1);
        let link = link::Link {
            config: config.clone(),
            stats: stats.clone(),
            commands: commands_rx,
            incoming: incoming_tx,
            local: Default::default(),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("chat-redis".into())
            .spawn(move || {
                runtime.block_on(link.run());
                let _ = stopped_tx.try_send(());
            })?;
        Ok(Self {
            config,
            commands,
            incoming,
            stats,
            directory: Directory::default(),
            last_tick: None,
            stopped,
        })
    }

    /// Hands `command` to the link without waiting; a full queue loses
    /// it (counted as a lost publish) and returns it.
    pub(crate) fn send(&self, command: Command) -> Result<(), Command> {
        match self.commands.try_send(command) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(command) | TrySendError::Closed(command)) => {
                LinkStats::add(&self.stats.publishes_lost);
                Err(command)
            }
        }
    }

    /// A presence tick at `now`: the instances silent for the TTL, with
    /// their users, removed from the directory. If this instance itself
    /// was not running for a TTL (stopped, starved), silence proves
    /// nothing: every instance counts as just heard from instead.
    pub(crate) fn tick(&mut self, now: Instant) -> Vec<(String, Vec<(String, String)>)> {
        let ttl = self.config.presence_ttl;
        let last = self.last_tick.replace(now);
        if last.is_some_and(|last| now.saturating_duration_since(last) > ttl) {
            self.directory.touch_all(now);
            return Vec::new();
        }
        self.directory.expire(now, ttl)
    }

    /// Says goodbye on the bus, releases the nicknames and waits (up to a
    /// few seconds) for the link to stop.
    pub(crate) async fn stop(self) {
        let _ = self.commands.send(Command::Stop).await;
        let _ = self.stopped.recv().await;
    }
}
