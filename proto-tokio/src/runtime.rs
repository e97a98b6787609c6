//! [`Tokio`]: the driver's [`Runtime`] on tokio.

use std::future::Future;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use proto_core::driver::{BoxFuture, Runtime};
use socket2::{SockRef, TcpKeepalive};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use crate::{TokioIo, TokioTimer};

/// tokio as a driver [`Runtime`]: `tokio::spawn`, tokio's timers and
/// sockets. Every call must be made inside a tokio runtime.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tokio;

impl Runtime for Tokio {
    type Listener = TcpListener;
    type Stream = TokioIo<TcpStream>;
    type Timer = TokioTimer;

    fn spawn<T: Future<Output = ()> + Send + 'static>(&self, task: T) {
        tokio::spawn(task);
    }

    fn now(&self) -> Instant {
        Instant::now()
    }

    fn timer(&self) -> TokioTimer {
        TokioTimer::new()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }

    fn resolve<A>(&self, addr: A) -> BoxFuture<'static, io::Result<Vec<SocketAddr>>>
    where
        A: ToSocketAddrs + Send + 'static,
    {
        let lookup = tokio::task::spawn_blocking(move || Ok(addr.to_socket_addrs()?.collect()));
        Box::pin(async move {
            lookup
                .await
                .unwrap_or_else(|err| Err(io::Error::other(err)))
        })
    }

    fn bind(&self, addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        socket.listen(backlog)
    }

    fn local_addr(&self, listener: &TcpListener) -> io::Result<SocketAddr> {
        listener.local_addr()
    }

    fn accept<'a>(
        &self,
        listener: &'a TcpListener,
    ) -> BoxFuture<'a, io::Result<(Self::Stream, SocketAddr)>> {
        Box::pin(async move {
            let (stream, peer) = listener.accept().await?;
            Ok((TokioIo(stream), peer))
        })
    }

    fn connect(&self, addr: SocketAddr) -> BoxFuture<'static, io::Result<Self::Stream>> {
        Box::pin(async move { Ok(TokioIo(TcpStream::connect(addr).await?)) })
    }

    fn set_nodelay(&self, stream: &Self::Stream, nodelay: bool) -> io::Result<()> {
        stream.0.set_nodelay(nodelay)
    }

    fn set_keepalive(&self, stream: &Self::Stream, idle: Option<Duration>) -> io::Result<()> {
        let socket = SockRef::from(&stream.0);
        match idle {
            Some(idle) => socket.set_tcp_keepalive(&TcpKeepalive::new().with_time(idle)),
            None => socket.set_keepalive(false),
        }
    }
}
