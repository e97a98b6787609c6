//! The suite on async-std, through proto-smol: tasks on async-std's
//! executor (proto-smol's `Spawner`), and clients over async-std's own
//! `TcpStream` (`Client::from_stream`) unless they must reconnect.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use proto_core::frame::LengthField;
use proto_core::hub::{HubConfig, ShutdownReport};
use proto_smol::{Client, ClientConfig, Server, ServerConfig, Spawner};

use crate::harness::{ClientSettings, ConnectFailure, Connected, Runtime, Served, TestHub};
use crate::rt_smol::failure;

/// async-std: `async_std::task::block_on`, `async_std::task::spawn`.
pub(crate) struct AsyncStd;

fn spawner() -> Spawner {
    Spawner::new(|task| {
        async_std::task::spawn(task);
    })
}

impl Runtime for AsyncStd {
    fn block_on<T>(fut: impl Future<Output = T>) -> T {
        async_std::task::block_on(fut)
    }

    fn spawn(fut: impl Future<Output = ()> + Send + 'static) {
        async_std::task::spawn(fut);
    }

    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
        async_std::task::sleep(duration)
    }

    async fn serve(addr: SocketAddr, codec: LengthField, hub: HubConfig) -> io::Result<Served> {
        let config = ServerConfig {
            hub,
            spawner: spawner(),
            ..ServerConfig::default()
        };
        let (server, events) = Server::bind(addr, codec, config).await?;
        let addr = server.local_addr()?;
        let hub = server.hub().clone();
        async_std::task::spawn(server.run());
        Ok(Served { addr, hub, events })
    }

    async fn connect(
        addr: SocketAddr,
        codec: LengthField,
        settings: ClientSettings,
    ) -> Result<Connected, ConnectFailure> {
        let config = ClientConfig {
            hub: settings.hub,
            connect_timeout: settings.connect_timeout,
            reconnect: settings.reconnect,
            spawner: spawner(),
            ..ClientConfig::default()
        };
        let made = if config.reconnect.is_some() {
            // Reconnecting needs proto-smol's own connector.
            Client::connect(addr, codec, config).await
        } else {
            let connect = async_std::net::TcpStream::connect(addr);
            let stream = match async_std::future::timeout(config.connect_timeout, connect).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(err)) => return Err(ConnectFailure::Io(err.kind())),
                Err(_) => return Err(ConnectFailure::Timeout),
            };
            stream
                .set_nodelay(true)
                .map_err(|err| ConnectFailure::Io(err.kind()))?;
            Client::from_stream(stream, addr, codec, config)
        };
        match made {
            Ok((client, events)) => Ok(Connected {
                hub: client.hub().clone(),
                events,
            }),
            Err(err) => Err(failure(err)),
        }
    }

    async fn shutdown(hub: TestHub, grace: Duration) -> ShutdownReport {
        proto_smol::shutdown(&hub, grace).await
    }
}
