//! [`ChatServer`]: the front doors and the room task, on any runtime.
//!
//! Each door is a [`Server`] with a hub of its own: the binary door
//! speaks length-field frames (laster40Net preset) with heartbeats on, the
//! text door speaks lines and has an idle timeout instead (a text user
//! must never receive heartbeat bytes), and the web door serves the chat
//! page and speaks the text door's lines over WebSocket. All three run on
//! one runtime value: [`ChatServer::bind_on`] a TLS runtime (the
//! `chat_server` program does, given `--tls-cert` and `--tls-key`) and
//! every door is served over TLS. The hubs' [`Events`] streams
//! are consumed by one task that owns all the room state (`Chat`): no
//! locks, and every decision (admission across both doors, names, rooms,
//! transfers) sees one consistent state. Room messages are encoded once
//! per door and framed once per door by the hub's group broadcast.

mod cluster;
mod door;
mod events;
mod history;
mod launch;
mod requests;
mod state;
mod transfer;
mod web;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;

use bytes::Bytes;
use proto_core::driver::{BindError, Runtime, Server, ServerConfig};
use proto_core::frame::{LengthField, Line};
use proto_core::hub::{AdmissionConfig, Event, Events, Hub, HubConfig, HubStats};
use proto_core::message::MessageFactory;
use proto_core::policy::Rate;
use proto_core::session::{Heartbeat, RateLimit, SessionConfig};
use proto_core::ws::WebSocket;

pub use door::{Door, UserKey};
pub use history::open_history;
pub use state::LOBBY;
pub use web::{PAGE, WS_PATH, web_codec};

use crate::config::{Settings, secs};
use crate::history::HistoryStore;
use crate::jobs::JobStats;
use crate::metrics::{ChatCollector, MetricsEndpoint, Observed};
use crate::protocol::MAX_FRAME;
use state::{Chat, Deadlines};

/// Longest line the text door accepts.
pub const MAX_LINE: usize = 4096;

/// The binary door's codec: laster40Net framing, frames up to a chunk.
pub fn binary_codec() -> LengthField {
    // One more byte for the heartbeat's control prefix.
    LengthField::laster40net().max_frame_length(MAX_FRAME + 1)
}

/// The binary door's heartbeat for `settings` (clients use the same
/// setting: the control prefix must be on at both ends).
pub fn heartbeat(settings: &Settings) -> Heartbeat {
    Heartbeat {
        interval: secs(settings.heartbeat_interval),
        timeout: secs(settings.heartbeat_timeout),
    }
}

/// What the server did, when it stopped.
#[derive(Debug, Clone)]
pub struct ServerReport {
    /// The binary door's counters.
    pub binary: HubStats,
    /// The text door's counters.
    pub text: HubStats,
    /// The web door's counters, if it was open.
    pub web: Option<HubStats>,
    /// Messages that sessions refused (queue full or closing).
    pub refused_sends: u64,
    /// The history writer's counters, after its drain (`None`: no
    /// history).
    pub history: Option<JobStats>,
}

/// The chat server: its doors bound on runtime `R`, not yet accepting.
/// Call [`run`](Self::run).
pub struct ChatServer<R: Runtime> {
    runtime: R,
    settings: Settings,
    binary: Server<LengthField, R>,
    text: Server<Line, R>,
    web: Option<(Server<WebSocket, R>, Events)>,
    binary_events: Events,
    text_events: Events,
    history: Option<Box<dyn HistoryStore>>,
    observed: Arc<Observed>,
    metrics: Option<MetricsEndpoint>,
}

impl<R: Runtime> std::fmt::Debug for ChatServer<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatServer")
            .field("binary", &self.binary.local_addr().ok())
            .field("text", &self.text.local_addr().ok())
            .field(
                "web",
                &self.web.as_ref().and_then(|(web, _)| web.local_addr().ok()),
            )
            .finish_non_exhaustive()
    }
}

impl<R: Runtime + Default> ChatServer<R> {
    /// Binds the doors as `settings` say (port 0 picks a free one; see
    /// [`binary_addr`](Self::binary_addr)) on the default runtime value,
    /// in plain TCP (`settings.tls_cert` is for the program:
    /// [`Settings::tls`] and [`bind_on`](ChatServer::bind_on) a TLS
    /// runtime).
    pub async fn bind(settings: Settings) -> Result<Self, BindError> {
        if settings.tls_cert.is_some() {
            tracing::warn!(
                "tls_cert is set, but ChatServer::bind serves plain TCP: bind_on a TLS runtime"
            );
        }
        Self::bind_on(R::default(), settings).await
    }
}

impl<R: Runtime> ChatServer<R> {
    /// [`bind`](ChatServer::bind) on `runtime`; every door accepts
    /// through it, so a TLS runtime
    /// ([`TlsRuntime::tls_server`](proto_cli::TlsRuntime::tls_server))
    /// serves them all over TLS.
    pub async fn bind_on(runtime: R, settings: Settings) -> Result<Self, BindError> {
        let admission = AdmissionConfig::default().max_sessions(settings.max_clients);
        let max = settings.max_clients;
        let binary_config = ServerConfig::default().hub(
            HubConfig::default()
                .session(
                    SessionConfig::default()
                        .heartbeat(Some(heartbeat(&settings)))
                        .idle_timeout(None)
                        .rate_limit(rate_limit(settings.binary_rate)),
                )
                .admission(admission)
                .refusal_message(Some(events::full_message(max).encode())),
        );
        let text_config = ServerConfig::default().hub(
            HubConfig::default()
                .session(
                    SessionConfig::default()
                        .idle_timeout(Some(secs(settings.text_idle_timeout)))
                        .rate_limit(rate_limit(settings.text_rate)),
                )
                .admission(admission)
                .refusal_message(Some(Bytes::from(events::full_line(max)))),
        );
        let rt = || runtime.clone();
        let mut binary =
            Server::bind_on(rt(), settings.binary_addr(), binary_codec(), binary_config).await?;
        let binary_events = binary.events();
        let line = Line::default().max_line_length(MAX_LINE);
        let mut text =
            Server::bind_on(rt(), settings.text_addr(), line, text_config.clone()).await?;
        let text_events = text.events();
        let web = match settings.web_addr() {
            Some(addr) => {
                let codec = web_codec(settings.host);
                let mut web = Server::bind_on(rt(), addr, codec, text_config).await?;
                let events = web.events();
                Some((web, events))
            }
            None => None,
        };
        let observed = Arc::new(Observed::default());
        let metrics = match settings.metrics {
            Some(addr) => {
                let collector = ChatCollector {
                    binary: binary.hub().clone(),
                    text: text.hub().clone(),
                    web: web.as_ref().map(|(web, _)| web.hub().clone()),
                    observed: observed.clone(),
                    redis: settings.redis.is_some(),
                };
                let registry = crate::metrics::registry(collector);
                let endpoint = MetricsEndpoint::serve(addr, registry)
                    .map_err(|source| BindError::Listen { addr, source })?;
                Some(endpoint)
            }
            None => None,
        };
        Ok(Self {
            runtime,
            settings,
            binary,
            text,
            web,
            binary_events,
            text_events,
            history: None,
            observed,
            metrics,
        })
    }

    /// Where the metrics are served (`settings.metrics`, its port
    /// chosen), if they are.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(MetricsEndpoint::local_addr)
    }

    /// Keeps room history in `store` (loaded when [`run`](Self::run)
    /// starts, written through a bounded job queue, drained on shutdown).
    pub fn with_history(mut self, store: impl HistoryStore) -> Self {
        self.history = Some(Box::new(store));
        self
    }

    /// The binary door's address.
    pub fn binary_addr(&self) -> SocketAddr {
        self.binary
            .local_addr()
            .unwrap_or_else(|_| self.settings.binary_addr())
    }

    /// The text door's address.
    pub fn text_addr(&self) -> SocketAddr {
        self.text
            .local_addr()
            .unwrap_or_else(|_| self.settings.text_addr())
    }

    /// The web door's address, if it is open.
    pub fn web_addr(&self) -> Option<SocketAddr> {
        let (web, _) = self.web.as_ref()?;
        web.local_addr().ok().or_else(|| self.settings.web_addr())
    }

    /// Accepts on every door and runs the room task until `stop`
    /// completes; then shuts both doors down gracefully (queued messages
    /// flushed, for up to `grace`) and returns once every session has
    /// closed.
    pub async fn run(self, stop: impl Future<Output = ()>) -> ServerReport {
        let Self {
            runtime,
            settings,
            binary,
            text,
            web,
            mut binary_events,
            mut text_events,
            history,
            observed,
            metrics,
        } = self;
        let history = match history {
            Some(store) => history::History::start(store, &settings),
            None => history::History::off(),
        };
        if let Some(stats) = history.stats_handle() {
            observed.set_history(stats);
        }
        let (web_hub, mut web_events) = match web {
            Some((web, events)) => {
                let hub = web.hub().clone();
                tracing::info!(web = %web.local_addr().map_or_else(|e| e.to_string(), |a| a.to_string()), "web door: the chat page at /, its WebSocket at {WS_PATH}");
                runtime.spawn(web.run());
                (Some(hub), Some(events))
            }
            None => (None, None),
        };
        let grace = secs(settings.grace);
        let (binary_hub, text_hub) = (binary.hub().clone(), text.hub().clone());
        let addrs = (binary.local_addr(), text.local_addr());
        runtime.spawn(binary.run());
        runtime.spawn(text.run());
        tracing::info!(
            binary = %addrs.0.unwrap_or_else(|_| settings.binary_addr()),
            text = %addrs.1.unwrap_or_else(|_| settings.text_addr()),
            max_clients = settings.max_clients,
            "chat server ready"
        );
        // Nickname deadlines: a timer task per new session reports back.
        let (expired_tx, expired) = smol::channel::unbounded();
        let timers = runtime.clone();
        let deadlines = Deadlines(Box::new(move |key, after| {
            let (tx, sleep) = (expired_tx.clone(), timers.sleep(after));
            timers.spawn(async move {
                sleep.await;
                let _ = tx.send(key).await;
            });
        }));
        let mut chat = Chat::new(
            settings,
            binary_hub.clone(),
            text_hub.clone(),
            web_hub.clone(),
            deadlines,
            observed.clone(),
        );
        chat.history = history;
        chat.join_cluster(cluster::config(&chat.settings));
        let cluster_events = chat.cluster.as_ref().map(|c| c.incoming.clone());
        let mut stop = pin!(stop);
        let (mut stopping, mut binary_open, mut text_open) = (false, true, true);
        while binary_open || text_open || web_events.is_some() {
            let next = {
                let binary = async {
                    if binary_open {
                        Next::Event(Door::Binary, binary_events.recv().await)
                    } else {
                        std::future::pending().await
                    }
                };
                let text = async {
                    if text_open {
                        Next::Event(Door::Text, text_events.recv().await)
                    } else {
                        std::future::pending().await
                    }
                };
                let stop = async {
                    if stopping {
                        std::future::pending().await
                    } else {
                        stop.as_mut().await;
                        Next::Stop
                    }
                };
                let deadline = async {
                    match expired.recv().await {
                        Ok(key) => Next::HelloExpired(key),
                        Err(_) => std::future::pending().await,
                    }
                };
                let cluster = async {
                    match &cluster_events {
                        Some(events) => match events.recv().await {
                            Ok(incoming) => Next::Cluster(incoming),
                            Err(_) => std::future::pending().await,
                        },
                        None => std::future::pending().await,
                    }
                };
                let web = async {
                    match web_events.as_mut() {
                        Some(events) => Next::Event(Door::Web, events.recv().await),
                        None => std::future::pending().await,
                    }
                };
                let doors = smol::future::or(binary, smol::future::or(text, web));
                let others = smol::future::or(deadline, cluster);
                smol::future::or(stop, smol::future::or(doors, others)).await
            };
            match next {
                Next::Event(door, Some(event)) => chat.handle(door, event),
                Next::Event(Door::Binary, None) => binary_open = false,
                Next::Event(Door::Text, None) => text_open = false,
                Next::Event(Door::Web, None) => web_events = None,
                Next::HelloExpired(key) => chat.hello_expired(key),
                Next::Cluster(incoming) => chat.cluster_event(incoming),
                Next::Stop => {
                    stopping = true;
                    tracing::info!("chat server stopping");
                    chat.farewell();
                    spawn_shutdown(&runtime, binary_hub.clone(), grace);
                    spawn_shutdown(&runtime, text_hub.clone(), grace);
                    if let Some(web) = web_hub.clone() {
                        spawn_shutdown(&runtime, web, grace);
                    }
                }
            }
        }
        if let Some(cluster) = chat.cluster.take() {
            cluster.stop().await;
        }
        let report = ServerReport {
            binary: binary_hub.stats(),
            text: text_hub.stats(),
            web: web_hub.as_ref().map(Hub::stats),
            refused_sends: observed.refused_sends(),
            history: chat.history.drain().await,
        };
        drop(metrics);
        tracing::info!(?report, "chat server stopped");
        report
    }
}

/// `per_second` messages a second with bursts of twice that, reading
/// paused past it (0: none).
fn rate_limit(per_second: u32) -> RateLimit {
    if per_second == 0 {
        return RateLimit::none();
    }
    let per_second = u64::from(per_second);
    RateLimit::messages(Rate::per_second(per_second).burst(2 * per_second))
}

/// Shuts `hub`'s door down gracefully on a task of its own (queued
/// messages flushed for up to `grace`).
fn spawn_shutdown<R: Runtime, F: MessageFactory + 'static>(
    runtime: &R,
    hub: Hub<F>,
    grace: std::time::Duration,
) {
    let grace = runtime.sleep(grace);
    runtime.spawn(async move {
        hub.shutdown(grace).await;
    });
}

/// What the room task woke up for.
enum Next {
    Event(Door, Option<Event>),
    HelloExpired(UserKey),
    Cluster(crate::cluster::Incoming),
    Stop,
}
