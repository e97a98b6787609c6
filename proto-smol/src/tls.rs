//! TLS on smol and async-std (feature `tls`): [`SmolTls`], rustls through
//! futures-rustls as an [`Upgrade`] of [`Smol`]'s streams, and
//! [`TlsSmol`], the runtime that serves and connects through it.
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
//! use proto_smol::tls::{SmolTls, TlsServer, rustls};
//! use proto_smol::{ServerConfig, Smol};
//!
//! # async fn run(tls: Arc<rustls::ServerConfig>) -> std::io::Result<()> {
//! let runtime = SmolTls::server(tls).runtime(Smol::default());
//! let codec = LengthField::laster40net();
//! let mut server =
//!     TlsServer::bind_on(runtime, "127.0.0.1:7443", codec, ServerConfig::default()).await?;
//! let events = server.events();
//! smol::spawn(server.run()).detach();
//! # drop(events); Ok(()) }
//! ```

use std::fmt;
use std::io;
use std::sync::Arc;

pub use futures_rustls::rustls;
use futures_rustls::rustls::pki_types::ServerName;
use futures_rustls::{TlsAcceptor, TlsConnector};
use proto_core::driver::{BoxFuture, Upgrade, Upgraded};

use crate::{AsyncTcp, FuturesIo, Smol};

/// [`Smol`] with every connection over TLS.
pub type TlsSmol = Upgraded<Smol, SmolTls>;

/// A TLS server on smol or async-std.
pub type TlsServer<F> = proto_core::driver::Server<F, TlsSmol>;

/// A TLS client connection on smol or async-std.
pub type TlsClient<F> = proto_core::driver::Client<F, TlsSmol>;

/// A TCP stream under TLS, as the driver reads and writes it.
pub type TlsStream = FuturesIo<futures_rustls::TlsStream<AsyncTcp>>;

/// The TLS side of a server (its certificate and key) or of a client (the
/// roots it trusts and the server name it expects), as an [`Upgrade`].
#[derive(Clone)]
pub struct SmolTls {
    role: Role,
}

/// Which end of the handshake.
#[derive(Clone)]
enum Role {
    Server(TlsAcceptor),
    Client(TlsConnector, ServerName<'static>),
}

impl SmolTls {
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

    /// `runtime` (smol's executor, or async-std's: see [`Smol::new`])
    /// through this layer.
    pub fn runtime(self, runtime: Smol) -> TlsSmol {
        Upgraded::new(runtime, self)
    }
}

impl fmt::Debug for SmolTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.role {
            Role::Server(_) => f.write_str("SmolTls::Server"),
            Role::Client(_, name) => write!(f, "SmolTls::Client({name:?})"),
        }
    }
}

impl Upgrade<AsyncTcp> for SmolTls {
    type Stream = TlsStream;

    fn accept(&self, stream: AsyncTcp) -> BoxFuture<'static, io::Result<TlsStream>> {
        let Role::Server(acceptor) = &self.role else {
            return Box::pin(async { Err(io::Error::other("a TLS client cannot accept")) });
        };
        let accepting = acceptor.accept(stream);
        Box::pin(async move { Ok(FuturesIo(accepting.await?.into())) })
    }

    fn connect(&self, stream: AsyncTcp) -> BoxFuture<'static, io::Result<TlsStream>> {
        let Role::Client(connector, name) = &self.role else {
            return Box::pin(async { Err(io::Error::other("a TLS server cannot connect")) });
        };
        let connecting = connector.connect(name.clone(), stream);
        Box::pin(async move { Ok(FuturesIo(connecting.await?.into())) })
    }

    fn inner(stream: &TlsStream) -> &AsyncTcp {
        stream.0.get_ref().0
    }
}
