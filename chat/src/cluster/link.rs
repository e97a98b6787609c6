//! The Redis link: a thread with a small tokio runtime of its own (so the
//! chat runs on any runtime) that publishes the room task's envelopes,
//! claims and refreshes nicknames, and hands what other instances
//! publish to the room task.
//!
//! States: **up** (a command connection and a subscription to the bus
//! channel) and **down** (waiting to reconnect, with exponential backoff
//! from 100 ms to 5 s and jitter of ±50 %). While down, local users are
//! served as usual: publishes are counted as lost, nickname claims are
//! granted on this instance's word and claimed in Redis on reconnect.
//! Each outage is logged once, when it starts, and once when it ends.

use std::collections::BTreeMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use redis::aio::{MultiplexedConnection, PubSubStream};
use redis::{AsyncConnectionConfig, RedisError};
use smol::channel::{Receiver, Sender, TrySendError};
use tokio::time::timeout;

use super::bus::Envelope;
use super::stats::LinkStats;
use super::{ClusterConfig, Command, Incoming};

/// Deletes a nickname key only if this instance holds it.
const RELEASE: &str = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
/// Longest wait for a connect, a subscription or a command's reply.
const IO_TIMEOUT: Duration = Duration::from_secs(2);
/// Most publishes sent in one pipeline.
const MAX_PIPELINE: u64 = 256;

/// What [`Link::deliver`] heard, as far as the link itself must act.
#[derive(Debug, Clone, Copy)]
enum Heard {
    /// Another instance's hello: answer with this instance's presence.
    Hello,
    /// Anything else (or nothing usable): the room task's business.
    Other,
}

/// Why the link stopped serving.
enum Stopped {
    /// The room task asked (or went away).
    Asked,
    /// Redis went away (or answered with an error).
    Lost(String),
}

impl From<RedisError> for Stopped {
    fn from(err: RedisError) -> Self {
        Self::Lost(err.to_string())
    }
}

impl From<tokio::time::error::Elapsed> for Stopped {
    fn from(_: tokio::time::error::Elapsed) -> Self {
        Self::Lost(format!("no answer within {IO_TIMEOUT:?}"))
    }
}

/// Exponential backoff with jitter.
struct Backoff {
    next: Duration,
    random: RandomState,
    draws: u64,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_secs(5);

    fn new() -> Self {
        Self {
            next: Self::FIRST,
            random: RandomState::new(),
            draws: 0,
        }
    }

    /// The next wait: the current step, times a random factor in [0.5,
    /// 1.5); the step doubles up to the maximum.
    fn next(&mut self) -> Duration {
        self.draws += 1;
        let unit = (self.random.hash_one(self.draws) % 1000) as f64 / 1000.0;
        let wait = self.next.mul_f64(0.5 + unit);
        self.next = (self.next * 2).min(Self::MAX);
        wait
    }

    fn reset(&mut self) {
        self.next = Self::FIRST;
    }
}

/// The link's state; see the [module docs](self).
pub(super) struct Link {
    pub(super) config: ClusterConfig,
    pub(super) stats: Arc<LinkStats>,
    pub(super) commands: Receiver<Command>,
    pub(super) incoming: Sender<Incoming>,
    /// This instance's users (lower-cased name → (name, room)).
    pub(super) local: BTreeMap<String, (String, String)>,
}

impl Link {
    fn channel(&self) -> String {
        format!("{}:bus", self.config.prefix)
    }

    fn nick_key(&self, name: &str) -> String {
        format!("{}:nick:{}", self.config.prefix, name.to_ascii_lowercase())
    }

    /// `EVAL` of [`RELEASE`] for `name`.
    fn release(&self, name: &str) -> redis::Cmd {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(RELEASE)
            .arg(1)
            .arg(self.nick_key(name))
            .arg(&self.config.instance);
        cmd
    }

    fn ttl_ms(&self) -> u64 {
        u64::try_from(self.config.presence_ttl.as_millis()).unwrap_or(u64::MAX)
    }

    /// Runs until the room task stops it.
    pub(super) async fn run(mut self) {
        let mut backoff = Backoff::new();
        let mut ever_up = false;
        loop {
            let why = match self.connect().await {
                Ok((conn, stream)) => {
                    backoff.reset();
                    if ever_up {
                        LinkStats::add(&self.stats.reconnects);
                        tracing::info!(url = %self.config.url, "redis link back: cross-instance traffic resumes");
                    } else {
                        tracing::info!(url = %self.config.url, instance = %self.config.instance, "redis link up");
                    }
                    ever_up = true;
                    self.stats.set_up(true);
                    let _ = self.incoming.send(Incoming::Up).await;
                    match self.serve(conn, stream).await {
                        Stopped::Asked => return,
                        Stopped::Lost(why) => why,
                    }
                }
                Err(Stopped::Asked) => return,
                Err(Stopped::Lost(why)) => why,
            };
            if self.stats.is_up() || !ever_up && self.stats.outages() == 0 {
                LinkStats::add(&self.stats.outages);
                tracing::warn!(
                    url = %self.config.url,
                    error = %why,
                    "redis link down: local users are still served; cross-instance messages are lost until it is back"
                );
            }
            self.stats.set_up(false);
            if let Stopped::Asked = self.wait_down(backoff.next()).await {
                return;
            }
        }
    }

    /// Connects, subscribes to the bus, claims this instance's nicknames
    /// again (Redis may have restarted empty) and announces its users.
    async fn connect(&mut self) -> Result<(MultiplexedConnection, PubSubStream), Stopped> {
        let client = redis::Client::open(self.config.url.as_str())?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(IO_TIMEOUT))
            .set_response_timeout(Some(IO_TIMEOUT));
        let mut conn = timeout(
            IO_TIMEOUT,
            client.get_multiplexed_async_connection_with_config(&config),
        )
        .await??;
        let mut pubsub = timeout(IO_TIMEOUT, client.get_async_pubsub()).await??;
        timeout(IO_TIMEOUT, pubsub.subscribe(self.channel())).await??;
        let names: Vec<String> = self.local.values().map(|(name, _)| name.clone()).collect();
        for name in names {
            if !self.claim(&mut conn, &name).await? {
                tracing::warn!(%name, "nickname held by another instance after the outage; both keep it until one leaves");
            }
        }
        self.refresh(&mut conn, Envelope::Hello).await?;
        Ok((conn, pubsub.into_on_message()))
    }

    /// Serves commands, the subscription and the refresh tick until Redis
    /// goes away or the room task stops the link.
    async fn serve(
        &mut self,
        mut conn: MultiplexedConnection,
        mut stream: PubSubStream,
    ) -> Stopped {
        let mut tick = tokio::time::interval(self.config.presence_ttl / 3);
        tick.tick().await; // the first tick is now: presence was just sent
        let mut carry = None;
        loop {
            let result = if let Some(command) = carry.take() {
                self.command(&mut conn, command, &mut carry).await
            } else {
                tokio::select! {
                    command = self.commands.recv() => match command {
                        Ok(command) => self.command(&mut conn, command, &mut carry).await,
                        Err(_) => Err(Stopped::Asked),
                    },
                    message = stream.next() => match message {
                        Some(message) => match self.deliver(message.get_payload_bytes()) {
                            // Answered before anything this instance
                            // publishes next: the newcomer knows its users
                            // before it hears their lines.
                            Heard::Hello => self.refresh(&mut conn, Envelope::Presence).await,
                            Heard::Other => Ok(()),
                        },
                        None => Err(Stopped::Lost("the subscription closed".into())),
                    },
                    _ = tick.tick() => {
                        let refreshed = self.refresh(&mut conn, Envelope::Presence).await;
                        let _ = self.incoming.try_send(Incoming::Tick);
                        refreshed
                    }
                }
            };
            if let Err(stopped) = result {
                return stopped;
            }
        }
    }

    /// One command while up; a run of publishes goes out in one pipeline
    /// (in order), and the command that ended the run is left in `carry`.
    async fn command(
        &mut self,
        conn: &mut MultiplexedConnection,
        command: Command,
        carry: &mut Option<Command>,
    ) -> Result<(), Stopped> {
        match command {
            Command::Publish(envelope) => {
                let channel = self.channel();
                let mut pipe = redis::pipe();
                pipe.publish(&channel, envelope.encode(&self.config.instance).as_ref())
                    .ignore();
                let mut n: u64 = 1;
                while n < MAX_PIPELINE {
                    match self.commands.try_recv() {
                        Ok(Command::Publish(next)) => {
                            pipe.publish(&channel, next.encode(&self.config.instance).as_ref())
                                .ignore();
                            n += 1;
                        }
                        Ok(other) => {
                            *carry = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                match pipe.exec_async(conn).await {
                    Ok(()) => {
                        self.stats
                            .publishes
                            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                        Ok(())
                    }
                    Err(err) => {
                        self.stats
                            .publishes_lost
                            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                        Err(err.into())
                    }
                }
            }
            Command::Claim { key, name } => {
                let claimed = self.claim(conn, &name).await;
                let ok = *claimed.as_ref().unwrap_or(&true);
                let _ = self
                    .incoming
                    .send(Incoming::Claimed { key, name, ok })
                    .await;
                claimed.map(|_| ())
            }
            Command::Here { name, room } => {
                self.local.insert(name.to_ascii_lowercase(), (name, room));
                Ok(())
            }
            Command::Release { name } => {
                self.local.remove(&name.to_ascii_lowercase());
                self.release(&name).query_async::<i64>(conn).await?;
                Ok(())
            }
            Command::Stop => {
                let bye = Envelope::Bye.encode(&self.config.instance);
                let mut pipe = redis::pipe();
                pipe.publish(self.channel(), bye.as_ref()).ignore();
                for (name, _) in self.local.values() {
                    pipe.add_command(self.release(name)).ignore();
                }
                let _ = pipe.exec_async(conn).await;
                Err(Stopped::Asked)
            }
        }
    }

    /// `SET nick instance NX PX ttl`: whether this instance holds the
    /// name now (it may already have).
    async fn claim(&self, conn: &mut MultiplexedConnection, name: &str) -> Result<bool, Stopped> {
        let key = self.nick_key(name);
        let set: Option<String> = redis::cmd("SET")
            .arg(&key)
            .arg(&self.config.instance)
            .arg("NX")
            .arg("PX")
            .arg(self.ttl_ms())
            .query_async(conn)
            .await?;
        if set.is_some() {
            return Ok(true);
        }
        let holder: Option<String> = redis::cmd("GET").arg(&key).query_async(conn).await?;
        Ok(holder.as_deref() == Some(self.config.instance.as_str()))
    }

    /// Extends this instance's nickname keys by the presence TTL (claims
    /// any that vanished) and publishes its users in the envelope `as_`
    /// makes (`Envelope::Presence`, or `Envelope::Hello` when the
    /// subscription just came up).
    async fn refresh(
        &self,
        conn: &mut MultiplexedConnection,
        as_: fn(Vec<(String, String)>) -> Envelope,
    ) -> Result<(), Stopped> {
        let mut pipe = redis::pipe();
        for (name, _) in self.local.values() {
            let key = self.nick_key(name);
            pipe.cmd("SET")
                .arg(&key)
                .arg(&self.config.instance)
                .arg("NX")
                .arg("PX")
                .arg(self.ttl_ms())
                .ignore();
            pipe.cmd("PEXPIRE").arg(&key).arg(self.ttl_ms()).ignore();
        }
        let users = self.local.values().cloned().collect();
        pipe.publish(
            self.channel(),
            as_(users).encode(&self.config.instance).as_ref(),
        )
        .ignore();
        pipe.exec_async(conn).await?;
        LinkStats::add(&self.stats.publishes);
        Ok(())
    }

    /// An envelope from the bus, for the room task (this instance's own
    /// are skipped: its users had them first hand); says whether it was
    /// another instance's hello, which the link answers.
    fn deliver(&self, payload: &[u8]) -> Heard {
        let (instance, envelope) = match Envelope::decode(payload) {
            Ok(decoded) => decoded,
            Err(err) => {
                LinkStats::add(&self.stats.receives_dropped);
                tracing::debug!(error = %err, "dropped a message on the bus");
                return Heard::Other;
            }
        };
        if instance == self.config.instance {
            return Heard::Other;
        }
        LinkStats::add(&self.stats.receives);
        let heard = match envelope {
            Envelope::Hello(_) => Heard::Hello,
            _ => Heard::Other,
        };
        if let Err(TrySendError::Full(_) | TrySendError::Closed(_)) =
            self.incoming.try_send(Incoming::Bus { instance, envelope })
        {
            LinkStats::add(&self.stats.receives_dropped);
            let n = self.stats.receives_dropped();
            if n == 1 || n % 1000 == 0 {
                tracing::warn!(
                    dropped = n,
                    "the room task is behind: messages from other instances dropped"
                );
            }
        }
        heard
    }

    /// Down: waits `delay` before the next attempt, serving commands as
    /// an instance alone would.
    async fn wait_down(&mut self, delay: Duration) -> Stopped {
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = &mut sleep => return Stopped::Lost(String::new()),
                command = self.commands.recv() => match command {
                    Ok(Command::Publish(_)) => LinkStats::add(&self.stats.publishes_lost),
                    Ok(Command::Claim { key, name }) => {
                        // Granted on this instance's word; claimed in
                        // Redis when the link is back.
                        let _ = self.incoming.send(Incoming::Claimed { key, name, ok: true }).await;
                    }
                    Ok(Command::Here { name, room }) => {
                        self.local.insert(name.to_ascii_lowercase(), (name, room));
                    }
                    Ok(Command::Release { name }) => {
                        self.local.remove(&name.to_ascii_lowercase());
                    }
                    Ok(Command::Stop) | Err(_) => return Stopped::Asked,
                },
            }
        }
    }
}
