//! [`ServerConfig`] and [`ClientConfig`]: the settings of a
//! [`Server`](super::Server) and a [`Client`](super::Client), on every
//! runtime. `Default` plus chained setters:
//!
//! ```
//! use std::time::Duration;
//! use proto_core::driver::{Backoff, ClientConfig, ServerConfig};
//!
//! let server = ServerConfig::default().backlog(4096).nodelay(false);
//! let client = ClientConfig::default()
//!     .connect_timeout(Duration::from_secs(2))
//!     .reconnect(Some(Backoff::default()))
//!     .jitter_seed(42);
//! assert_eq!((server.backlog, client.jitter_seed), (4096, 42));
//! ```

use std::time::Duration;

use super::Backoff;
use crate::hub::HubConfig;
use crate::session::SessionConfig;

/// The default `keepalive` of servers and clients: 60 s.
pub const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(60);

/// Settings of a [`Server`](super::Server).
///
/// | field | default |
/// | --- | --- |
/// | `hub` | [`HubConfig::default`] |
/// | `nodelay` | true (game traffic is small messages that should not wait) |
/// | `keepalive` | 60 s (TCP probes a peer silent that long, so a vanished one is found even with `idle_timeout` off) |
/// | `backlog` | 1024 |
/// | `accept_error_pause` | 100 ms |
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Sessions, admission limits and the event queue.
    pub hub: HubConfig,
    /// Set `TCP_NODELAY` on accepted sockets.
    pub nodelay: bool,
    /// TCP keepalive on accepted sockets: probe a peer after this long
    /// without traffic (`None`: off).
    pub keepalive: Option<Duration>,
    /// The listen backlog.
    pub backlog: u32,
    /// How long to pause after an accept error such as running out of file
    /// descriptors, before accepting again.
    pub accept_error_pause: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            hub: HubConfig::default(),
            nodelay: true,
            keepalive: Some(DEFAULT_KEEPALIVE),
            backlog: 1024,
            accept_error_pause: Duration::from_millis(100),
        }
    }
}

impl ServerConfig {
    /// Sets [`hub`](Self::hub).
    pub fn hub(mut self, hub: HubConfig) -> Self {
        self.hub = hub;
        self
    }

    /// Sets [`nodelay`](Self::nodelay).
    pub fn nodelay(mut self, nodelay: bool) -> Self {
        self.nodelay = nodelay;
        self
    }

    /// Sets [`keepalive`](Self::keepalive).
    pub fn keepalive(mut self, idle: Option<Duration>) -> Self {
        self.keepalive = idle;
        self
    }

    /// Sets [`backlog`](Self::backlog).
    pub fn backlog(mut self, backlog: u32) -> Self {
        self.backlog = backlog;
        self
    }

    /// Sets [`accept_error_pause`](Self::accept_error_pause).
    pub fn accept_error_pause(mut self, pause: Duration) -> Self {
        self.accept_error_pause = pause;
        self
    }
}

/// Settings of a [`Client`](super::Client).
///
/// | field | default |
/// | --- | --- |
/// | `hub` | [`HubConfig::default`] with [`SessionConfig::backpressure_counts_sends`] off |
/// | `connect_timeout` | 5 s |
/// | `reconnect` | `None`: do not reconnect |
/// | `nodelay` | true |
/// | `keepalive` | 60 s |
/// | `jitter_seed` | [`ClientConfig::DEFAULT_JITTER_SEED`] |
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The session's settings and the event queue (admission limits do not
    /// matter for a client).
    pub hub: HubConfig,
    /// How long one connect attempt may take.
    pub connect_timeout: Duration,
    /// Reconnect after the connection is lost.
    pub reconnect: Option<Backoff>,
    /// Set `TCP_NODELAY`.
    pub nodelay: bool,
    /// TCP keepalive: probe the server after this long without traffic
    /// (`None`: off).
    pub keepalive: Option<Duration>,
    /// Seeds the [`SplitMix64`](crate::rng::SplitMix64) that draws the
    /// reconnect jitter. Clients with the same seed wait the same delays:
    /// give each of many clients its own (its index, say) so that clients
    /// dropped at once do not reconnect in step.
    pub jitter_seed: u64,
}

impl ClientConfig {
    /// The default [`jitter_seed`](Self::jitter_seed).
    pub const DEFAULT_JITTER_SEED: u64 = 0x5eed_0f11_77e4;

    /// Sets [`hub`](Self::hub).
    pub fn hub(mut self, hub: HubConfig) -> Self {
        self.hub = hub;
        self
    }

    /// Sets [`connect_timeout`](Self::connect_timeout).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets [`reconnect`](Self::reconnect).
    pub fn reconnect(mut self, reconnect: Option<Backoff>) -> Self {
        self.reconnect = reconnect;
        self
    }

    /// Sets [`nodelay`](Self::nodelay).
    pub fn nodelay(mut self, nodelay: bool) -> Self {
        self.nodelay = nodelay;
        self
    }

    /// Sets [`keepalive`](Self::keepalive).
    pub fn keepalive(mut self, idle: Option<Duration>) -> Self {
        self.keepalive = idle;
        self
    }

    /// Sets [`jitter_seed`](Self::jitter_seed).
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = seed;
        self
    }
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            // A client reads its server's answers whatever it has queued to
            // send: pausing there could deadlock with a server that does
            // the same (see `SessionConfig::backpressure_counts_sends`).
            hub: HubConfig::default()
                .session(SessionConfig::default().backpressure_counts_sends(false)),
            connect_timeout: Duration::from_secs(5),
            reconnect: None,
            nodelay: true,
            keepalive: Some(DEFAULT_KEEPALIVE),
            jitter_seed: Self::DEFAULT_JITTER_SEED,
        }
    }
}
