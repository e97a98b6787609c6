//! The suite on smol, through proto-smol (smol's global executor).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use proto_core::frame::LengthField;
use proto_core::hub::{HubConfig, ShutdownReport};
use proto_smol::{Client, ClientConfig, ConnectError, Server, ServerConfig};

use crate::harness::{ClientSettings, ConnectFailure, Connected, Runtime, Served, TestHub};

/// smol: `smol::block_on` on the test's thread, tasks on the global
/// executor, async-io sockets and timers.
pub(crate) struct Smol;

impl Runtime for Smol {
    fn block_on<T>(fut: impl Future<Output = T>) -> T {
        smol::block_on(fut)
    }

    fn spawn(fut: impl Future<Output = ()> + Send + 'static) {
        smol::spawn(fut).detach();
    }

    async fn sleep(duration: Duration) {
        async_io::Timer::after(duration).await;
    }

    async fn serve(addr: SocketAddr, codec: LengthField, hub: HubConfig) -> io::Result<Served> {
        let config = ServerConfig {
            hub,
            ..ServerConfig::default()
        };
        let (server, events) = Server::bind(addr, codec, config).await?;
        let addr = server.local_addr()?;
        let hub = server.hub().clone();
        smol::spawn(server.run()).detach();
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
            Err(err) => Err(failure(err)),
        }
    }

    async fn shutdown(hub: TestHub, grace: Duration) -> ShutdownReport {
        proto_smol::shutdown(&hub, grace).await
    }
}

/// proto-smol's connect error, as the harness sees it.
pub(crate) fn failure(err: ConnectError) -> ConnectFailure {
    match err {
        ConnectError::Timeout { .. } => ConnectFailure::Timeout,
        ConnectError::Io { source, .. } => ConnectFailure::Io(source.kind()),
        other => ConnectFailure::Other(other.to_string()),
    }
}
