//! [`Smol`]: the driver's [`Runtime`] on futures-io sockets and async-io
//! timers, with tasks on whichever executor.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_io::Async;
use proto_core::driver::{BoxFuture, Runtime};
use socket2::{Domain, Protocol, SockRef, Socket, TcpKeepalive, Type};

use crate::{AsyncIoTimer, AsyncTcp};

/// A listening socket on async-io.
type TcpListener = Async<std::net::TcpListener>;

/// A task as [`Smol::new`]'s spawn function receives it.
pub type BoxTask = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// async-io sockets and timers as a driver [`Runtime`], with tasks started
/// by a spawn function: smol's global executor by default.
///
/// futures-io has no `spawn`, so the executor is a setting. smol's global
/// executor runs on threads of its own (`SMOL_THREADS`, default 1) and so
/// works from any runtime. Under async-std, hand tasks to its executor
/// instead, and bind or connect with the `_on` constructors:
///
/// ```
/// # use proto_smol::Smol;
/// let runtime = Smol::new(|task| {
///     async_std::task::spawn(task); // dropping the handle detaches the task
/// });
/// ```
///
/// Everything else (sockets, timers) is async-io, which runs under any
/// executor.
#[derive(Clone)]
pub struct Smol {
    spawn: Arc<dyn Fn(BoxTask) + Send + Sync>,
}

impl Smol {
    /// A runtime that starts each task with `spawn`, which must run it to
    /// completion without being awaited.
    pub fn new(spawn: impl Fn(BoxTask) + Send + Sync + 'static) -> Self {
        Self {
            spawn: Arc::new(spawn),
        }
    }
}

impl Default for Smol {
    /// `smol::spawn(task).detach()`.
    fn default() -> Self {
        Self::new(|task| smol::spawn(task).detach())
    }
}

impl fmt::Debug for Smol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Smol")
    }
}

impl Runtime for Smol {
    type Listener = TcpListener;
    type Stream = AsyncTcp;
    type Timer = AsyncIoTimer;

    fn spawn<T: Future<Output = ()> + Send + 'static>(&self, task: T) {
        (self.spawn)(Box::pin(task));
    }

    fn now(&self) -> Instant {
        Instant::now()
    }

    fn timer(&self) -> AsyncIoTimer {
        AsyncIoTimer::new()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            async_io::Timer::after(duration).await;
        })
    }

    fn resolve<A>(&self, addr: A) -> BoxFuture<'static, io::Result<Vec<SocketAddr>>>
    where
        A: ToSocketAddrs + Send + 'static,
    {
        Box::pin(smol::unblock(move || Ok(addr.to_socket_addrs()?.collect())))
    }

    fn bind(&self, addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
        // std and async-net listen with a fixed backlog; socket2 sets ours.
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_reuse_address(true)?;
        socket.bind(&addr.into())?;
        socket.listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
        Async::new(std::net::TcpListener::from(socket))
    }

    fn local_addr(&self, listener: &TcpListener) -> io::Result<SocketAddr> {
        listener.get_ref().local_addr()
    }

    fn accept<'a>(
        &self,
        listener: &'a TcpListener,
    ) -> BoxFuture<'a, io::Result<(Self::Stream, SocketAddr)>> {
        Box::pin(async move {
            let (stream, peer) = listener.accept().await?;
            Ok((AsyncTcp::new(stream), peer))
        })
    }

    fn connect(&self, addr: SocketAddr) -> BoxFuture<'static, io::Result<Self::Stream>> {
        Box::pin(async move {
            Ok(AsyncTcp::new(
                Async::<std::net::TcpStream>::connect(addr).await?,
            ))
        })
    }

    fn set_nodelay(&self, stream: &Self::Stream, nodelay: bool) -> io::Result<()> {
        stream.get_ref().set_nodelay(nodelay)
    }

    fn set_keepalive(&self, stream: &Self::Stream, idle: Option<Duration>) -> io::Result<()> {
        let socket = SockRef::from(stream.get_ref());
        match idle {
            Some(idle) => socket.set_tcp_keepalive(&TcpKeepalive::new().with_time(idle)),
            None => socket.set_keepalive(false),
        }
    }
}
