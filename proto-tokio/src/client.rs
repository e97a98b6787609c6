//! [`Client`]: connect with a timeout, reconnect with backoff.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use proto_core::driver::{Backoff, Conn};
use proto_core::hub::{Events, Hub, HubConfig, Rejected, SessionHandle};
use proto_core::message::MessageFactory;
use proto_core::session::{CloseReason, SendError};
use tokio::net::TcpStream;

use crate::{TokioIo, TokioTimer};

/// Settings of a [`Client`].
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    /// The session's settings and the event queue (admission limits do not
    /// matter for a client).
    pub hub: HubConfig,
    /// How long one connect attempt may take (default 5 s).
    pub connect_timeout: Duration,
    /// Reconnect after the connection is lost (default `None`: do not).
    pub reconnect: Option<Backoff>,
    /// Set `TCP_NODELAY` (default true).
    pub nodelay: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            hub: HubConfig::default(),
            connect_timeout: Duration::from_secs(5),
            reconnect: None,
            nodelay: true,
        }
    }
}

/// Why a connection could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// No answer within `connect_timeout`.
    #[error("connect to {addr} timed out after {timeout:?}")]
    Timeout {
        /// The address.
        addr: SocketAddr,
        /// The configured timeout.
        timeout: Duration,
    },
    /// The connect failed (refused, unreachable, …).
    #[error("connect to {addr} failed: {source}")]
    Io {
        /// The address.
        addr: SocketAddr,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The client's own hub refused the session (its admission limits in
    /// [`ClientConfig::hub`], e.g. `max_sessions` set to 0).
    #[error("session to {addr} refused by the client's own limits: {source}")]
    Rejected {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: Rejected,
    },
}

/// A client connection: one session at a time in a hub of its own, with
/// the same [`Events`] and [`SessionHandle`] as a server's. With
/// `reconnect` set, a lost connection is made again (each one a new
/// session, announced by `Opened`); [`shutdown`](crate::shutdown()) on
/// [`hub`](Self::hub) ends it for good.
#[derive(Debug)]
pub struct Client<F: MessageFactory> {
    hub: Hub<F>,
}

impl<F> Client<F>
where
    F: MessageFactory + 'static,
    F::Resolver: std::fmt::Debug + 'static,
    F::Builder: std::fmt::Debug + 'static,
{
    /// Connects to `addr` (the first attempt's failure is returned, not
    /// retried) and starts the session on a spawned task; returns the
    /// client and its events.
    pub async fn connect(
        addr: SocketAddr,
        factory: F,
        config: ClientConfig,
    ) -> Result<(Self, Events), ConnectError> {
        let stream = connect_once(addr, &config).await?;
        let (hub, events) = Hub::new(factory, config.hub.clone());
        // Registered before returning, so that `send` works at once.
        let first = match hub.admit(addr) {
            Ok(admission) => admission.open(Instant::now()),
            Err(source) => return Err(ConnectError::Rejected { addr, source }),
        };
        tokio::spawn(run(hub.clone(), addr, config, first, stream));
        Ok((Self { hub }, events))
    }

    /// The hub holding the current session.
    pub fn hub(&self) -> &Hub<F> {
        &self.hub
    }

    /// The current session, if connected.
    pub fn handle(&self) -> Option<SessionHandle> {
        let id = self.hub.sessions().into_iter().next()?;
        self.hub.get(id)
    }

    /// Sends on the current session; [`SendError::Closed`] while
    /// disconnected.
    pub fn send(&self, payload: Bytes) -> Result<(), SendError> {
        match self.handle() {
            Some(handle) => handle.send(payload),
            None => Err(SendError::Closed),
        }
    }
}

async fn connect_once(addr: SocketAddr, config: &ClientConfig) -> Result<TcpStream, ConnectError> {
    let stream = match tokio::time::timeout(config.connect_timeout, TcpStream::connect(addr)).await
    {
        Ok(Ok(stream)) => stream,
        Ok(Err(source)) => return Err(ConnectError::Io { addr, source }),
        Err(_) => {
            return Err(ConnectError::Timeout {
                addr,
                timeout: config.connect_timeout,
            });
        }
    };
    if let Err(err) = stream.set_nodelay(config.nodelay) {
        tracing::debug!(%addr, error = %err, "set_nodelay failed");
    }
    Ok(stream)
}

/// Runs sessions until the connection is lost for good.
async fn run<F>(
    hub: Hub<F>,
    addr: SocketAddr,
    config: ClientConfig,
    first: Conn<F>,
    stream: TcpStream,
) where
    F: MessageFactory + 'static,
    F::Resolver: std::fmt::Debug + 'static,
    F::Builder: std::fmt::Debug + 'static,
{
    let random = RandomState::new();
    let mut first = Some(first);
    let mut stream = Some(stream);
    let mut attempt = 0;
    loop {
        if let Some(connected) = stream.take() {
            attempt = 0;
            let conn = match first.take() {
                Some(conn) => conn,
                None => match hub.admit(addr) {
                    Ok(admission) => admission.open(Instant::now()),
                    Err(_) => break, // shutting down
                },
            };
            let reason = conn.drive(TokioIo(connected), TokioTimer::new()).await;
            if matches!(reason, CloseReason::Local | CloseReason::Shutdown) {
                break;
            }
        }
        if hub.is_shutting_down() {
            break;
        }
        let Some(delay) = config
            .reconnect
            .and_then(|b| b.delay(attempt, random.hash_one(attempt)))
        else {
            break;
        };
        attempt += 1;
        tracing::debug!(%addr, ?delay, attempt, "reconnecting");
        tokio::time::sleep(delay).await;
        match connect_once(addr, &config).await {
            Ok(connected) => stream = Some(connected),
            Err(err) => tracing::debug!(error = %err, "reconnect failed"),
        }
    }
}
