//! The suite on async-std, through proto-smol: tasks on async-std's
//! executor (a `proto_smol::Smol` that spawns there), and clients over
//! async-std's own `TcpStream` (`Client::from_stream_on`) unless they must
//! reconnect.

use std::future::Future;
use std::net::SocketAddr;

use proto_core::driver::{Client, ClientConfig};
use proto_core::frame::LengthField;
use proto_smol::FuturesIo;

use crate::harness::{ConnectFailure, Connected, Runtime};

/// async-std: `async_std::task::block_on`, `async_std::task::spawn`.
pub(crate) struct AsyncStd;

impl Runtime for AsyncStd {
    type Rt = proto_smol::Smol;

    fn rt() -> Self::Rt {
        proto_smol::Smol::new(|task| {
            async_std::task::spawn(task);
        })
    }

    fn block_on<T>(fut: impl Future<Output = T>) -> T {
        async_std::task::block_on(fut)
    }

    async fn connect(
        addr: SocketAddr,
        codec: LengthField,
        config: ClientConfig,
    ) -> Result<Connected, ConnectFailure> {
        let (client, events) = if config.reconnect.is_some() {
            // Reconnecting needs proto-smol's own connector.
            Client::connect_on(Self::rt(), addr, codec, config).await?
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
            Client::from_stream_on(Self::rt(), FuturesIo(stream), addr, codec, config)?
        };
        let hub = client.hub().clone();
        Ok(Connected { hub, events })
    }
}
