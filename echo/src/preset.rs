//! [`Preset`]: the wire formats the echo programs speak (`--preset`).

use proto_core::frame::{LengthField, Line};
use proto_core::ws::WebSocket;

/// Wire formats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// laster40Net's SimpleBinaryMessage: u32 little-endian payload length.
    #[default]
    Laster40net,
    /// Netty's LengthFieldPrepender(4): u32 big-endian payload length.
    Netty,
    /// tokio-util's LengthDelimitedCodec defaults.
    TokioUtil,
    /// Text lines ended by `\n`.
    Line,
    /// WebSocket (RFC 6455) binary messages, after the opening handshake.
    Websocket,
}

/// A codec factory for each preset, so that generic code is written once.
pub trait WithCodec {
    /// What [`call`](Self::call) returns.
    type Output;

    /// Runs with the preset's codec factory.
    fn call<F>(self, codec: F) -> impl Future<Output = Self::Output>
    where
        F: proto_core::message::MessageFactory + 'static;
}

impl Preset {
    /// Calls `f` with this preset's codec factory.
    pub async fn with_codec<W: WithCodec>(self, f: W) -> W::Output {
        match self {
            Self::Laster40net => f.call(LengthField::laster40net()).await,
            Self::Netty => f.call(LengthField::netty()).await,
            Self::TokioUtil => f.call(LengthField::tokio_util()).await,
            Self::Line => f.call(Line::default()).await,
            Self::Websocket => f.call(WebSocket::server()).await,
        }
    }
}
