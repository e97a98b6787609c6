//! [`Server`]: the listener and its accept loop, on any [`Runtime`].

use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::pin;
use std::task::Poll;

use super::{Conn, Handler, Runtime, ServerConfig};
use crate::hub::{Events, Hub, SessionHandle};
use crate::message::MessageFactory;
use crate::session::ConfigError;

/// Why a [`Server`] could not start. Each says which address.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BindError {
    /// The address did not resolve (not an address, unknown host, or no
    /// address at all).
    #[error("cannot resolve listen address {addr}: {source}")]
    Resolve {
        /// The address as given.
        addr: String,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Binding or listening failed (address in use, not local, no
    /// permission, …).
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The resolved address.
        addr: SocketAddr,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The server's configuration does not fit together (see
    /// [`HubConfig::check`](crate::hub::HubConfig::check)).
    #[error("invalid server configuration: {0}")]
    Config(#[from] ConfigError),
}

impl From<BindError> for io::Error {
    /// Keeps `?` working in functions that return `io::Result`; the
    /// message still names the address.
    fn from(err: BindError) -> Self {
        let kind = match &err {
            BindError::Resolve { source, .. } | BindError::Listen { source, .. } => source.kind(),
            BindError::Config(_) => io::ErrorKind::InvalidInput,
        };
        io::Error::new(kind, err)
    }
}

/// A listening server: accepts connections, admits them through its hub and
/// runs each session on a task of its own, spawned on the runtime `R`.
///
/// Its sessions' events go either to the [`Events`] stream (take it with
/// [`events`](Self::events), then [`run`](Self::run)) or to a [`Handler`]
/// per session ([`run_with`](Self::run_with)), never both.
pub struct Server<F: MessageFactory, R: Runtime> {
    runtime: R,
    listener: R::Listener,
    hub: Hub<F>,
    config: ServerConfig,
    /// The event stream, until [`events`](Self::events) takes it.
    events: Option<Events>,
}

impl<F: MessageFactory, R: Runtime> fmt::Debug for Server<F, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.runtime.local_addr(&self.listener).ok())
            .field("hub", &self.hub)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<F, R> Server<F, R>
where
    F: MessageFactory + 'static,
    R: Runtime,
{
    /// Binds `addr` (the first address it resolves to) on the default
    /// runtime value and makes the hub. Nothing is accepted until
    /// [`run`](Self::run) or [`run_with`](Self::run_with).
    pub async fn bind<A>(addr: A, factory: F, config: ServerConfig) -> Result<Self, BindError>
    where
        A: ToSocketAddrs + fmt::Debug + Send + 'static,
        R: Default,
    {
        Self::bind_on(R::default(), addr, factory, config).await
    }

    /// [`bind`](Self::bind) on `runtime` (an executor of your choosing,
    /// say).
    pub async fn bind_on<A>(
        runtime: R,
        addr: A,
        factory: F,
        config: ServerConfig,
    ) -> Result<Self, BindError>
    where
        A: ToSocketAddrs + fmt::Debug + Send + 'static,
    {
        let name = format!("{addr:?}");
        let resolved = match runtime.resolve(addr).await {
            Ok(addrs) => addrs.into_iter().next().ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "it resolved to nothing")
            }),
            Err(err) => Err(err),
        };
        let addr = resolved.map_err(|source| BindError::Resolve { addr: name, source })?;
        let (hub, events) = Hub::new(factory, config.hub.clone())?;
        let listen = |source| BindError::Listen { addr, source };
        let listener = runtime.bind(addr, config.backlog).map_err(listen)?;
        let local = runtime.local_addr(&listener).map_err(listen)?;
        tracing::info!(addr = %local, "listening");
        Ok(Self {
            runtime,
            listener,
            hub,
            config,
            events: Some(events),
        })
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.runtime.local_addr(&self.listener)
    }

    /// The hub of this server's sessions.
    pub fn hub(&self) -> &Hub<F> {
        &self.hub
    }

    /// Takes the stream of this server's sessions' events, for
    /// [`run`](Self::run). It ends after a [`Hub::shutdown`].
    ///
    /// # Panics
    ///
    /// If called twice: there is one stream.
    pub fn events(&mut self) -> Events {
        self.events
            .take()
            .expect("Server::events called twice: the server has one event stream")
    }

    /// Accepts connections until the hub begins shutting down (see
    /// [`Hub::shutdown`]); then the listener is closed. Each admitted
    /// connection runs on a task spawned on the runtime, and its events go
    /// to the stream [`events`](Self::events) took. If it was not taken,
    /// nothing reads them: they are discarded and counted
    /// ([`HubStats::messages_unread`](crate::hub::HubStats::messages_unread)),
    /// and a warning says so.
    pub async fn run(self) {
        if self.events.is_some() {
            tracing::warn!(
                "Server::run without Server::events: every received message will be discarded"
            );
        }
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
            let handler = make_handler(&conn.handle());
            conn.with_handler(handler)
        })
        .await;
    }

    /// The accept loop: each connection is admitted through the hub and
    /// spawned. A refused one is counted and dropped, or, when the hub has
    /// a [`refusal_message`](crate::hub::HubConfig::refusal_message), told
    /// why on a task of its own. A failed accept (out of file descriptors,
    /// say) is counted, logged, and followed by a pause of
    /// `accept_error_pause`: never a crash or a busy loop.
    async fn serve(mut self, mut prepare: impl FnMut(Conn<F>) -> Conn<F>) {
        // Dropped: a stream nobody reads discards and counts.
        self.events = None;
        let Self {
            runtime,
            listener,
            hub,
            config,
            ..
        } = &self;
        loop {
            let accepted = {
                let mut accepting = pin!(runtime.accept(listener));
                poll_fn(|cx| {
                    if hub.poll_shutdown_begun(cx).is_ready() {
                        return Poll::Ready(None);
                    }
                    accepting.as_mut().poll(cx).map(Some)
                })
                .await
            };
            match accepted {
                None => break,
                Some(Ok((stream, peer))) => match hub.admit(peer, runtime.now()) {
                    Ok(admission) => {
                        if let Err(err) = runtime.set_nodelay(&stream, config.nodelay) {
                            tracing::debug!(%peer, error = %err, "set_nodelay failed");
                        }
                        if let Err(err) = runtime.set_keepalive(&stream, config.keepalive) {
                            tracing::debug!(%peer, error = %err, "set_keepalive failed");
                        }
                        // The clock again: setting the option took time.
                        let conn = prepare(Conn::new(admission.register(runtime.now())));
                        let drive = conn.drive(stream, runtime.timer());
                        runtime.spawn(drive.detach());
                    }
                    Err(rejected) => {
                        tracing::debug!(%peer, %rejected, "connection refused");
                        if let Some(refusal) = hub.refusal(peer, rejected) {
                            runtime.spawn(refusal.deliver(stream, runtime.timer()));
                        }
                    }
                },
                Some(Err(err)) => {
                    hub.record_accept_error();
                    let pause = config.accept_error_pause;
                    tracing::warn!(error = %err, ?pause, "accept failed");
                    runtime.sleep(pause).await;
                }
            }
        }
        tracing::info!("listener closed");
    }
}
