//! TLS on tokio (feature `tls`): [`TokioTls`], rustls through
//! tokio-rustls as an [`Upgrade`] of [`Tokio`]'s streams, and [`TlsTokio`],
//! the runtime that serves and connects through it.
//!
//! A server's handshake runs on each session's own task, never in the
//! accept loop, under the session's deadlines; a client's runs inside
//! `connect`, under the connect timeout, so a certificate the client does
//! not trust fails `Client::connect_on` with rustls' message ("invalid
//! peer certificate: …"). See [`proto_core::driver::Upgraded`].
//!
//! ```no_run
//! use std::sync::Arc;
//! use proto_core::frame::LengthField;
//! use proto_tokio::tls::{TlsServer, TokioTls, rustls};
//! use proto_tokio::ServerConfig;
//!
//! # async fn run(tls: Arc<rustls::ServerConfig>) -> std::io::Result<()> {
//! let runtime = TokioTls::server(tls).runtime();
//! let codec = LengthField::laster40net();
//! let mut server =
//!     TlsServer::bind_on(runtime, "127.0.0.1:7443", codec, ServerConfig::default()).await?;
//! let events = server.events();
//! tokio::spawn(server.run());
//! # drop(events); Ok(()) }
//! ```

use std::fmt;
use std::io;
use std::sync::Arc;

use proto_core::driver::{BoxFuture, Upgrade, Upgraded};
use tokio::net::TcpStream;
pub use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::{Tokio, TokioIo};

/// [`Tokio`] with every connection over TLS.
pub type TlsTokio = Upgraded<Tokio, TokioTls>;

/// A TLS server on tokio.
pub type TlsServer<F> = proto_core::driver::Server<F, TlsTokio>;

/// A TLS client connection on tokio.
pub type TlsClient<F> = proto_core::driver::Client<F, TlsTokio>;

/// A TCP stream under TLS, as the driver reads and writes it.
pub type TlsStream = TokioIo<tokio_rustls::TlsStream<TokioIo<TcpStream>>>;

/// The TLS side of a server (its certificate and key) or of a client (the
/// roots it trusts and the server name it expects), as an [`Upgrade`].
#[derive(Clone)]
pub struct TokioTls {
    role: Role,
}

/// Which end of the handshake.
#[derive(Clone)]
enum Role {
    Server(TlsAcceptor),
    Client(TlsConnector, ServerName<'static>),
}

impl TokioTls {
    /// A server's side: accepted connections handshake with `config`.
    pub fn server(config: Arc<rustls::ServerConfig>) -> Self {
        let role = Role::Server(TlsAcceptor::from(config));
        Self { role }
    }

    /// A client's side: connections handshake with `config` and expect a
    /// certificate for `name` (sent as SNI).
    pub fn client(config: Arc<rustls::ClientConfig>, name: ServerName<'static>) -> Self {
        let role = Role::Client(TlsConnector::from(config), name);
        Self { role }
    }

    /// [`Tokio`] through this layer.
    pub fn runtime(self) -> TlsTokio {
        Upgraded::new(Tokio, self)
    }
}

impl fmt::Debug for TokioTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.role {
            Role::Server(_) => f.write_str("TokioTls::Server"),
            Role::Client(_, name) => write!(f, "TokioTls::Client({name:?})"),
        }
    }
}

impl Upgrade<TokioIo<TcpStream>> for TokioTls {
    type Stream = TlsStream;

    fn accept(&self, stream: TokioIo<TcpStream>) -> BoxFuture<'static, io::Result<TlsStream>> {
        let Role::Server(acceptor) = &self.role else {
            return Box::pin(async { Err(io::Error::other("a TLS client cannot accept")) });
        };
        let accepting = acceptor.accept(stream);
        Box::pin(async move { Ok(TokioIo(accepting.await?.into())) })
    }

    fn connect(&self, stream: TokioIo<TcpStream>) -> BoxFuture<'static, io::Result<TlsStream>> {
        let Role::Client(connector, name) = &self.role else {
            return Box::pin(async { Err(io::Error::other("a TLS server cannot connect")) });
        };
        let connecting = connector.connect(name.clone(), stream);
        Box::pin(async move { Ok(TokioIo(connecting.await?.into())) })
    }

    fn inner(stream: &TlsStream) -> &TokioIo<TcpStream> {
        stream.0.get_ref().0
    }
}
