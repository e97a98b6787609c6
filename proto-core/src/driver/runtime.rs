//! [`Runtime`]: the seam between the driver and an async runtime.

use std::future::Future;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::time::{Duration, Instant};

use super::{Timer, Transport};

/// A boxed future that can move between threads.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the driver needs from an async runtime: spawning, time, and TCP.
/// An adapter implements it once (proto-tokio's `Tokio`, proto-smol's
/// `Smol`); [`Server`](super::Server) and [`Client`](super::Client) are
/// written against it. A value is cheap
/// to clone and carries whatever the runtime needs (an executor's spawner,
/// say).
///
/// The futures it returns are boxed: each is made once per connection or
/// per reconnect attempt, never per message.
pub trait Runtime: Clone + Send + Sync + 'static {
    /// A listening socket.
    type Listener: Send + Sync + 'static;
    /// A connected socket, as the driver reads and writes it.
    type Stream: Transport + Send + 'static;
    /// The runtime's timer.
    type Timer: Timer + Send + 'static;

    /// Runs `task` to completion on the runtime, detached.
    fn spawn<T: Future<Output = ()> + Send + 'static>(&self, task: T);

    /// The time now, on the runtime's clock.
    fn now(&self) -> Instant;

    /// A timer, not yet armed.
    fn timer(&self) -> Self::Timer;

    /// Resolves once `duration` has passed.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;

    /// Resolves `addr` to socket addresses without blocking the executor
    /// (a host name is looked up on a thread for blocking work).
    fn resolve<A>(&self, addr: A) -> BoxFuture<'static, io::Result<Vec<SocketAddr>>>
    where
        A: ToSocketAddrs + Send + 'static;

    /// Binds `addr` (with `SO_REUSEADDR`) and listens with `backlog`.
    fn bind(&self, addr: SocketAddr, backlog: u32) -> io::Result<Self::Listener>;

    /// The address `listener` is bound to.
    fn local_addr(&self, listener: &Self::Listener) -> io::Result<SocketAddr>;

    /// The next connection on `listener`, with its peer's address.
    fn accept<'a>(
        &self,
        listener: &'a Self::Listener,
    ) -> BoxFuture<'a, io::Result<(Self::Stream, SocketAddr)>>;

    /// Connects to `addr` (no timeout: the caller races it with
    /// [`sleep`](Self::sleep)).
    fn connect(&self, addr: SocketAddr) -> BoxFuture<'static, io::Result<Self::Stream>>;

    /// Sets `TCP_NODELAY` on `stream`.
    fn set_nodelay(&self, stream: &Self::Stream, nodelay: bool) -> io::Result<()>;

    /// Turns TCP keepalive on `stream` on, probing after `idle` without
    /// traffic, or off (`None`).
    fn set_keepalive(&self, stream: &Self::Stream, idle: Option<Duration>) -> io::Result<()>;
}
