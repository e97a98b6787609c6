//! [`Upgraded`]: a [`Runtime`] whose connections pass through a layer
//! (TLS, say) that an [`Upgrade`] sets up over the runtime's own streams.
//!
//! The layer is set up where it cannot hold anyone else up:
//!
//! - **Accepted** connections are handed to the server as they come, not
//!   yet upgraded ([`Layered`]). The upgrade (a TLS server handshake) runs
//!   on the first read or write, on the session's own task and under the
//!   session's deadlines: a peer that never finishes it delivers no bytes,
//!   so the idle timeout (or the write-stall deadline) closes it, and the
//!   accept loop never waits for it. A failed upgrade is a read or write
//!   error: the session closes with
//!   [`CloseReason::Io`](crate::session::CloseReason::Io) and the error is
//!   logged at debug level with the peer's address.
//! - **Connected** streams are upgraded inside
//!   [`connect`](Runtime::connect), under the client's connect timeout, so
//!   a failed upgrade (a certificate the client does not trust) is the
//!   [`ConnectError::Io`](super::ConnectError::Io) that `Client::connect`
//!   returns, with the layer's own message.
//!
//! proto-core knows nothing of TLS: the adapters implement [`Upgrade`]
//! behind their `tls` features.

use std::fmt;
use std::future::Future;
use std::io::{self, IoSlice};
use std::mem;
use std::net::{SocketAddr, ToSocketAddrs};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use super::{BoxFuture, Runtime, Transport};

/// A layer set up over a connected stream `S`: a TLS acceptor or
/// connector, say. A value is cheap to clone (the layer's configuration
/// behind an `Arc`).
pub trait Upgrade<S>: Clone + Send + Sync + Unpin + 'static {
    /// The stream once the layer is set up.
    type Stream: Transport + Send + 'static;

    /// Sets the layer up over an accepted stream (a server handshake).
    fn accept(&self, stream: S) -> BoxFuture<'static, io::Result<Self::Stream>>;

    /// Sets the layer up over a connected stream (a client handshake).
    fn connect(&self, stream: S) -> BoxFuture<'static, io::Result<Self::Stream>>;

    /// The stream under the layer, for socket options.
    fn inner(stream: &Self::Stream) -> &S;
}

/// The runtime `R` with every connection passed through the layer `U`:
/// [`Server`](super::Server) and [`Client`](super::Client) on it serve and
/// connect through the layer, unchanged. Listeners, timers and tasks are
/// `R`'s.
#[derive(Debug, Clone)]
pub struct Upgraded<R, U> {
    runtime: R,
    upgrade: U,
}

impl<R, U> Upgraded<R, U> {
    /// `runtime`'s connections through `upgrade`.
    pub fn new(runtime: R, upgrade: U) -> Self {
        Self { runtime, upgrade }
    }

    /// The runtime under the layer.
    pub fn runtime(&self) -> &R {
        &self.runtime
    }

    /// The layer.
    pub fn upgrade(&self) -> &U {
        &self.upgrade
    }
}

/// A connection through an [`Upgrade`]: accepted and not yet upgraded,
/// upgrading (on its first read or write), or open.
pub struct Layered<S, U: Upgrade<S>> {
    state: Layer<S, U>,
    peer: SocketAddr,
}

/// The states of a [`Layered`] connection.
///
/// | state | on a read or write | next |
/// | --- | --- | --- |
/// | `Accepted` | starts the upgrade | `Upgrading` |
/// | `Upgrading` | polls it | `Open`, or `Failed` with its error |
/// | `Open` | reads or writes the upgraded stream | — |
/// | `Failed` | the error's kind again | — |
enum Layer<S, U: Upgrade<S>> {
    Accepted(S, U),
    Upgrading(BoxFuture<'static, io::Result<U::Stream>>),
    Open(U::Stream),
    Failed(io::ErrorKind),
}

impl<S, U: Upgrade<S>> fmt::Debug for Layered<S, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            Layer::Accepted(..) => "accepted",
            Layer::Upgrading(_) => "upgrading",
            Layer::Open(_) => "open",
            Layer::Failed(_) => "failed",
        };
        f.debug_struct("Layered")
            .field("state", &state)
            .field("peer", &self.peer)
            .finish()
    }
}

impl<S, U: Upgrade<S>> Layered<S, U> {
    /// The stream under the layer, while it can be reached (not during the
    /// upgrade, which owns it).
    fn socket(&self) -> io::Result<&S> {
        match &self.state {
            Layer::Accepted(stream, _) => Ok(stream),
            Layer::Open(stream) => Ok(U::inner(stream)),
            Layer::Upgrading(_) | Layer::Failed(_) => Err(io::Error::other(
                "the socket is not reachable while its upgrade runs or after it failed",
            )),
        }
    }

    /// Drives the upgrade to its end; then the open stream.
    fn poll_open(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<&mut U::Stream>> {
        loop {
            match &mut self.state {
                Layer::Open(_) => break,
                Layer::Failed(kind) => {
                    return Poll::Ready(Err(io::Error::new(*kind, "the upgrade failed")));
                }
                Layer::Upgrading(upgrading) => match ready!(upgrading.as_mut().poll(cx)) {
                    Ok(stream) => self.state = Layer::Open(stream),
                    Err(err) => {
                        tracing::debug!(peer = %self.peer, error = %err, "upgrade failed");
                        self.state = Layer::Failed(err.kind());
                        return Poll::Ready(Err(err));
                    }
                },
                Layer::Accepted(..) => {
                    let state = mem::replace(&mut self.state, Layer::Failed(io::ErrorKind::Other));
                    if let Layer::Accepted(stream, upgrade) = state {
                        self.state = Layer::Upgrading(upgrade.accept(stream));
                    }
                }
            }
        }
        match &mut self.state {
            Layer::Open(stream) => Poll::Ready(Ok(stream)),
            _ => Poll::Ready(Err(io::Error::other("the upgrade did not open"))),
        }
    }
}

impl<S: Send + Unpin, U: Upgrade<S>> Transport for Layered<S, U> {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        ready!(self.poll_open(cx))?.poll_read(cx, buf)
    }

    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_open(cx))?.poll_write_vectored(cx, bufs)
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.state {
            Layer::Open(stream) => stream.poll_flush(cx),
            _ => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Before the upgrade there is nothing to close gracefully: dropping
        // the stream closes the socket.
        match &mut self.state {
            Layer::Open(stream) => stream.poll_shutdown(cx),
            _ => Poll::Ready(Ok(())),
        }
    }
}

impl<R, U> Runtime for Upgraded<R, U>
where
    R: Runtime,
    U: Upgrade<R::Stream>,
{
    type Listener = R::Listener;
    type Stream = Layered<R::Stream, U>;
    type Timer = R::Timer;

    fn spawn<T: Future<Output = ()> + Send + 'static>(&self, task: T) {
        self.runtime.spawn(task);
    }

    fn now(&self) -> Instant {
        self.runtime.now()
    }

    fn timer(&self) -> Self::Timer {
        self.runtime.timer()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        self.runtime.sleep(duration)
    }

    fn resolve<A>(&self, addr: A) -> BoxFuture<'static, io::Result<Vec<SocketAddr>>>
    where
        A: ToSocketAddrs + Send + 'static,
    {
        self.runtime.resolve(addr)
    }

    fn bind(&self, addr: SocketAddr, backlog: u32) -> io::Result<Self::Listener> {
        self.runtime.bind(addr, backlog)
    }

    fn local_addr(&self, listener: &Self::Listener) -> io::Result<SocketAddr> {
        self.runtime.local_addr(listener)
    }

    /// Accepts without upgrading: the upgrade runs on the session's task.
    fn accept<'a>(
        &self,
        listener: &'a Self::Listener,
    ) -> BoxFuture<'a, io::Result<(Self::Stream, SocketAddr)>> {
        let accepting = self.runtime.accept(listener);
        let upgrade = self.upgrade.clone();
        Box::pin(async move {
            let (stream, peer) = accepting.await?;
            let state = Layer::Accepted(stream, upgrade);
            Ok((Layered { state, peer }, peer))
        })
    }

    /// Connects and upgrades: the caller's connect timeout covers both.
    fn connect(&self, addr: SocketAddr) -> BoxFuture<'static, io::Result<Self::Stream>> {
        let connecting = self.runtime.connect(addr);
        let upgrade = self.upgrade.clone();
        Box::pin(async move {
            let stream = upgrade.connect(connecting.await?).await?;
            let state = Layer::Open(stream);
            Ok(Layered { state, peer: addr })
        })
    }

    fn set_nodelay(&self, stream: &Self::Stream, nodelay: bool) -> io::Result<()> {
        self.runtime.set_nodelay(stream.socket()?, nodelay)
    }

    fn set_keepalive(&self, stream: &Self::Stream, idle: Option<Duration>) -> io::Result<()> {
        self.runtime.set_keepalive(stream.socket()?, idle)
    }
}
