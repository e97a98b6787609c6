//! [`Client`]: connect with a timeout, reconnect with backoff.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_io::{AsyncRead, AsyncWrite};
use proto_core::driver::{Backoff, ConnectError, client_loop, open_client};
use proto_core::hub::{Events, Hub, HubConfig, SessionHandle};
use proto_core::message::MessageFactory;
use proto_core::session::{SendError, SessionConfig};
use smol::future;
use smol::net::TcpStream;

use crate::{AsyncIoTimer, FuturesIo, Spawner};

/// Settings of a [`Client`].
#[derive(Debug, Clone)]
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
    /// Starts the session's task (default: smol's global executor).
    pub spawner: Spawner,
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
            spawner: Spawner::default(),
        }
    }
}

/// A client connection: one session at a time in a hub of its own, with
/// the same [`Events`] and [`SessionHandle`] as a server's. The session is
/// open when the constructor returns, so [`send`](Self::send) works at
/// once. With `reconnect` set, a lost connection is made again (each one a
/// new session, announced by `Opened`); [`shutdown`](crate::shutdown()) on
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
        let spawner = config.spawner.clone();
        let reconnect = config.reconnect;
        spawner.spawn(client_loop(
            hub.clone(),
            addr,
            first,
            stream,
            reconnect,
            move || {
                let config = config.clone();
                async move { connect_once(addr, &config).await }
            },
            |delay| async move {
                async_io::Timer::after(delay).await;
            },
            |conn, stream| conn.drive(FuturesIo(stream), AsyncIoTimer::new()),
            Instant::now,
        ));
        Ok((Self { hub }, events))
    }

    /// Runs a session over a stream connected by other means (an async-std
    /// `TcpStream`, a TLS stream, a Unix socket, …) on a spawned task;
    /// `peer` names the other end in the hub. It does not reconnect:
    /// `config.reconnect`, `connect_timeout` and `nodelay` are ignored.
    pub fn from_stream<T>(
        stream: T,
        peer: SocketAddr,
        factory: F,
        config: ClientConfig,
    ) -> Result<(Self, Events), ConnectError>
    where
        T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (hub, events) = Hub::new(factory, config.hub.clone())?;
        let conn = open_client(&hub, peer, Instant::now())?;
        let drive = conn.drive(FuturesIo(stream), AsyncIoTimer::new());
        config.spawner.spawn(drive);
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
    let connect = async { Some(TcpStream::connect(addr).await) };
    let timeout = async {
        async_io::Timer::after(config.connect_timeout).await;
        None
    };
    let stream = match future::or(connect, timeout).await {
        Some(Ok(stream)) => stream,
        Some(Err(source)) => return Err(ConnectError::Io { addr, source }),
        None => {
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
