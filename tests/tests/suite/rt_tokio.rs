//! The suite on tokio, through proto-tokio.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use proto_core::frame::LengthField;
use proto_core::hub::{HubConfig, ShutdownReport};
use proto_tokio::{Client, ClientConfig, ConnectError, Server, ServerConfig};

use crate::harness::{ClientSettings, ConnectFailure, Connected, Runtime, Served, TestHub};

/// tokio's multi-threaded runtime, a fresh one per test.
pub(crate) struct Tokio;

impl Runtime for Tokio {
    fn block_on<T>(fut: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime")
            .block_on(fut)
    }

    fn spawn(fut: impl Future<Output = ()> + Send + 'static) {
        tokio::spawn(fut);
    }

    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }

    async fn serve(addr: SocketAddr, codec: LengthField, hub: HubConfig) -> io::Result<Served> {
        let config = ServerConfig {
            hub,
            ..ServerConfig::default()
        };
        let (server, events) = Server::bind(addr, codec, config).await?;
        let addr = server.local_addr()?;
        let hub = server.hub().clone();
        tokio::spawn(server.run());
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
            ..ClientConfig::default()
        };
        match Client::connect(addr, codec, config).await {
            Ok((client, events)) => Ok(Connected {
                hub: client.hub().clone(),
                events,
            }),
            Err(ConnectError::Timeout { .. }) => Err(ConnectFailure::Timeout),
            Err(ConnectError::Io { source, .. }) => Err(ConnectFailure::Io(source.kind())),
            Err(other) => Err(ConnectFailure::Other(other.to_string())),
        }
    }

    async fn shutdown(hub: TestHub, grace: Duration) -> ShutdownReport {
        proto_tokio::shutdown(&hub, grace).await
    }
}
