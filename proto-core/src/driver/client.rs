//! [`Client`]: connect with a timeout, reconnect with backoff, on any
//! [`Runtime`]; [`ConnectError`]: why it could not.

use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::backoff::Retries;
use super::{ClientConfig, Conn, Runtime, Transport};
use crate::hub::{Events, Hub, Rejected, SessionHandle};
use crate::message::MessageFactory;
use crate::session::{CloseReason, SendError};

/// Why a client connection could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// No answer within the connect timeout.
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
    /// The client's configuration does not fit together (see
    /// [`HubConfig::check`](crate::hub::HubConfig::check)).
    #[error("invalid client configuration: {0}")]
    Config(#[from] crate::session::ConfigError),
    /// The client's own hub refused the session (its admission limits
    /// allow none).
    #[error("session to {addr} refused by the client's own limits: {source}")]
    Rejected {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: Rejected,
    },
}

/// Opens a client's session to `addr` in its hub.
fn open_client<F>(hub: &Hub<F>, addr: SocketAddr, now: Instant) -> Result<Conn<F>, ConnectError>
where
    F: MessageFactory,
{
    match hub.admit(addr, now) {
        Ok(admission) => Ok(Conn::new(admission.register(now))),
        Err(source) => Err(ConnectError::Rejected { addr, source }),
    }
}

/// A client connection: one session at a time in a hub of its own, with
/// the same [`Events`] and [`SessionHandle`] as a server's. The session is
/// open when the constructor returns, so [`send`](Self::send) works at
/// once. With `reconnect` set, a lost connection is made again (each one a
/// new session, announced by `Opened`);
/// [`Hub::shutdown`](crate::hub::Hub::shutdown) on [`hub`](Self::hub) ends
/// it for good.
pub struct Client<F: MessageFactory, R: Runtime> {
    hub: Hub<F>,
    runtime: R,
}

impl<F: MessageFactory, R: Runtime> fmt::Debug for Client<F, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("hub", &self.hub)
            .finish_non_exhaustive()
    }
}

impl<F, R> Client<F, R>
where
    F: MessageFactory + 'static,
    R: Runtime,
{
    /// Connects to `addr` on the default runtime value (the first
    /// attempt's failure is returned, not retried) and starts the session
    /// on a spawned task; returns the client and its events.
    pub async fn connect(
        addr: SocketAddr,
        factory: F,
        config: ClientConfig,
    ) -> Result<(Self, Events), ConnectError>
    where
        R: Default,
    {
        Self::connect_on(R::default(), addr, factory, config).await
    }

    /// [`connect`](Self::connect) on `runtime`.
    pub async fn connect_on(
        runtime: R,
        addr: SocketAddr,
        factory: F,
        config: ClientConfig,
    ) -> Result<(Self, Events), ConnectError> {
        let (hub, events) = Hub::new(factory, config.hub.clone())?;
        let stream = connect_once(&runtime, addr, &config).await?;
        // Registered before returning, so that `send` works at once.
        let first = open_client(&hub, addr, runtime.now())?;
        let run = client_loop(runtime.clone(), hub.clone(), addr, first, stream, config);
        runtime.spawn(run);
        Ok((Self { hub, runtime }, events))
    }

    /// Runs a session over a stream connected by other means (a TLS
    /// stream, a Unix socket, another runtime's `TcpStream`, …) on a task
    /// spawned on the default runtime value; `peer` names the other end in
    /// the hub. It does not reconnect: `config.reconnect`,
    /// `connect_timeout` and `nodelay` are ignored.
    pub fn from_stream<T>(
        stream: T,
        peer: SocketAddr,
        factory: F,
        config: ClientConfig,
    ) -> Result<(Self, Events), ConnectError>
    where
        T: Transport + Send + 'static,
        R: Default,
    {
        Self::from_stream_on(R::default(), stream, peer, factory, config)
    }

    /// [`from_stream`](Self::from_stream) on `runtime`.
    pub fn from_stream_on<T>(
        runtime: R,
        stream: T,
        peer: SocketAddr,
        factory: F,
        config: ClientConfig,
    ) -> Result<(Self, Events), ConnectError>
    where
        T: Transport + Send + 'static,
    {
        let (hub, events) = Hub::new(factory, config.hub)?;
        let drive = open_client(&hub, peer, runtime.now())?.drive(stream, runtime.timer());
        runtime.spawn(drive.detach());
        Ok((Self { hub, runtime }, events))
    }

    /// The hub holding the current session.
    pub fn hub(&self) -> &Hub<F> {
        &self.hub
    }

    /// The runtime the client's tasks run on.
    pub fn runtime(&self) -> &R {
        &self.runtime
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

/// One connect attempt: within `connect_timeout`, then `TCP_NODELAY` as
/// configured.
async fn connect_once<R: Runtime>(
    runtime: &R,
    addr: SocketAddr,
    config: &ClientConfig,
) -> Result<R::Stream, ConnectError> {
    let timeout = config.connect_timeout;
    let mut connecting = pin!(runtime.connect(addr));
    let mut expiry = pin!(runtime.sleep(timeout));
    let connected = poll_fn(|cx| {
        if let Poll::Ready(result) = connecting.as_mut().poll(cx) {
            return Poll::Ready(Some(result));
        }
        expiry.as_mut().poll(cx).map(|()| None)
    })
    .await;
    let stream = match connected {
        Some(Ok(stream)) => stream,
        Some(Err(source)) => return Err(ConnectError::Io { addr, source }),
        None => return Err(ConnectError::Timeout { addr, timeout }),
    };
    if let Err(err) = runtime.set_nodelay(&stream, config.nodelay) {
        tracing::debug!(%addr, error = %err, "set_nodelay failed");
    }
    if let Err(err) = runtime.set_keepalive(&stream, config.keepalive) {
        tracing::debug!(%addr, error = %err, "set_keepalive failed");
    }
    Ok(stream)
}

/// Runs a client's sessions: `first` over `stream`, then, while
/// `config.reconnect` allows and the session did not end by a local close
/// or shutdown, waits the backoff delay (jitter drawn from
/// `config.jitter_seed`), connects again and runs a new session in the
/// hub. Failed attempts count toward `max_attempts`; a successful one
/// starts the count again.
async fn client_loop<F, R>(
    runtime: R,
    hub: Hub<F>,
    addr: SocketAddr,
    first: Conn<F>,
    stream: R::Stream,
    config: ClientConfig,
) where
    F: MessageFactory,
    R: Runtime,
{
    let mut retries = config
        .reconnect
        .map(|backoff| Retries::new(backoff, config.jitter_seed));
    let mut next = Some((first, stream));
    loop {
        if let Some((conn, stream)) = next.take() {
            if let Some(retries) = &mut retries {
                retries.reset();
            }
            let reason = conn.drive(stream, runtime.timer()).await;
            if matches!(reason, CloseReason::Local | CloseReason::Shutdown) {
                break;
            }
        }
        if hub.is_shutting_down() {
            break;
        }
        let Some(retries) = &mut retries else {
            break;
        };
        let Some(delay) = retries.next_delay() else {
            break;
        };
        let attempt = retries.attempts();
        tracing::debug!(%addr, ?delay, attempt, "reconnecting");
        runtime.sleep(delay).await;
        if hub.is_shutting_down() {
            break;
        }
        match connect_once(&runtime, addr, &config).await {
            Ok(stream) => match open_client(&hub, addr, runtime.now()) {
                Ok(conn) => next = Some((conn, stream)),
                Err(_) => break, // shutting down
            },
            Err(err) => tracing::debug!(error = %err, "reconnect failed"),
        }
    }
}
