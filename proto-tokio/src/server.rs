//! [`Server`]: the listener and its accept loop.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use proto_core::driver::{Conn, Handler, accept_loop};
use proto_core::hub::{Events, Hub, HubConfig, SessionHandle};
use proto_core::message::MessageFactory;
use tokio::net::{TcpListener, TcpSocket, TcpStream, ToSocketAddrs};

use crate::{TokioIo, TokioTimer};

/// Settings of a [`Server`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Sessions, admission limits and the event queue.
    pub hub: HubConfig,
    /// Set `TCP_NODELAY` on accepted sockets (default true: game traffic
    /// is small messages that should not wait).
    pub nodelay: bool,
    /// The listen backlog (default 1024).
    pub backlog: u32,
    /// How long to pause after an accept error such as running out of file
    /// descriptors, before accepting again (default 100 ms).
    pub accept_error_pause: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            hub: HubConfig::default(),
            nodelay: true,
            backlog: 1024,
            accept_error_pause: Duration::from_millis(100),
        }
    }
}

/// A listening server: accepts connections, admits them through its hub and
/// runs each session on a task of its own.
#[derive(Debug)]
pub struct Server<F: MessageFactory> {
    listener: TcpListener,
    hub: Hub<F>,
    config: ServerConfig,
}

impl<F> Server<F>
where
    F: MessageFactory + 'static,
    F::Resolver: std::fmt::Debug + 'static,
    F::Builder: std::fmt::Debug + 'static,
{
    /// Binds `addr` (the first address it resolves to) and makes the hub;
    /// returns the server and the stream of its sessions' events. Nothing
    /// is accepted until [`run`](Self::run).
    pub async fn bind<A: ToSocketAddrs>(
        addr: A,
        factory: F,
        config: ServerConfig,
    ) -> io::Result<(Self, Events)> {
        let addr = tokio::net::lookup_host(addr).await?.next().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "address resolved to nothing")
        })?;
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        let listener = socket.listen(config.backlog)?;
        let (hub, events) = Hub::new(factory, config.hub.clone())
            .map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, err))?;
        tracing::info!(addr = %listener.local_addr()?, "listening");
        Ok((
            Self {
                listener,
                hub,
                config,
            },
            events,
        ))
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The hub of this server's sessions.
    pub fn hub(&self) -> &Hub<F> {
        &self.hub
    }

    /// Accepts connections until the hub begins shutting down (see
    /// [`shutdown`](crate::shutdown())); then the listener is closed. Each
    /// admitted connection runs on a task spawned with `tokio::spawn`.
    pub async fn run(self) {
        self.serve(|conn| conn).await;
    }

    /// Like [`run`](Self::run), but each session's events go to a
    /// [`Handler`] made for it by `make_handler`, called on the session's
    /// own task, instead of to the [`Events`] stream: no hop between tasks
    /// per message (the faster choice when the logic is per connection).
    pub async fn run_with<H, M>(self, mut make_handler: M)
    where
        H: Handler + 'static,
        M: FnMut(&SessionHandle) -> H,
    {
        self.serve(|conn| {
            let handler = make_handler(conn.handle());
            conn.with_handler(handler)
        })
        .await;
    }

    async fn serve(self, mut prepare: impl FnMut(Conn<F>) -> Conn<F>) {
        let nodelay = self.config.nodelay;
        let listener = &self.listener;
        accept_loop(
            &self.hub,
            self.config.accept_error_pause,
            || listener.accept(),
            tokio::time::sleep,
            |admission, stream: TcpStream| {
                if let Err(err) = stream.set_nodelay(nodelay) {
                    tracing::debug!(peer = %admission.peer(), error = %err, "set_nodelay failed");
                }
                let conn = prepare(admission.open(Instant::now()));
                tokio::spawn(conn.drive(TokioIo(stream), TokioTimer::new()));
            },
            |refusal, stream| {
                tokio::spawn(refusal.deliver(TokioIo(stream), TokioTimer::new()));
            },
        )
        .await;
    }
}
