//! [`Client`]: connect with a timeout, reconnect with backoff.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use proto_core::driver::{Backoff, ConnectError, client_loop, open_client};
use proto_core::hub::{Events, Hub, HubConfig, SessionHandle};
use proto_core::message::MessageFactory;
use proto_core::session::{SendError, SessionConfig};
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
            hub: HubConfig {
                // A client reads its server's answers whatever it has
                // queued to send: pausing there could deadlock with a
                // server that does the same (see
                // `SessionConfig::backpressure_counts_sends`).
                session: SessionConfig::default().backpressure_counts_sends(false),
                ..HubConfig::default()
            },
            connect_timeout: Duration::from_secs(5),
            reconnect: None,
            nodelay: true,
        }
    }
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
        let (hub, events) = Hub::new(factory, config.hub.clone())?;
        let stream = connect_once(addr, &config).await?;
        // Registered before returning, so that `send` works at once.
        let first = open_client(&hub, addr, Instant::now())?;
        let reconnect = config.reconnect;
        tokio::spawn(client_loop(
            hub.clone(),
            addr,
            first,
            stream,
            reconnect,
            move || {
                let config = config.clone();
                async move { connect_once(addr, &config).await }
            },
            tokio::time::sleep,
            |conn, stream| conn.drive(TokioIo(stream), TokioTimer::new()),
            Instant::now,
        ));
        Ok((Self { hub }, events))
    }

    /// The hub holding the current session.
    pub fn hub(&self) -> &Hub<F> {
        &self.hub
    }

    /// The current session, if connected.
    pub fn handle(&self) -> Option<SessionHandle> {
        self.hub.any_session()
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
