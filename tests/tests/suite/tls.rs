//! TLS (the adapters' `tls` features) on every runtime, through the
//! normal `Server` and `Client` on `Upgraded` runtimes, with certificates
//! made at test time by rcgen: the handshake and an echo, a client that
//! trusts another certificate refused with rustls' message, and a client
//! that never says hello closed by the idle deadline without holding up
//! anyone else's accept.

use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proto_core::driver::{self, Client, ClientConfig, ConnectError, Server, ServerConfig};
use proto_core::hub::{Events, HubConfig, SessionHandle};
use proto_core::session::{CloseReason, SessionConfig};
use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};

use crate::behaviours::codec;
use crate::harness::{
    EchoServer, Runtime, Served, WAIT, blocking, expect_message, expect_opened, local, numbered,
    within,
};
use crate::rt_async_std::AsyncStd;
use crate::rt_smol::Smol;
use crate::rt_tokio::Tokio;

/// A runtime of the suite, with its adapter's TLS layer.
pub(crate) trait TlsRuntime: Runtime {
    /// The adapter's runtime through TLS.
    type Tls: driver::Runtime;

    /// A server's side, with `config`.
    fn tls_server(config: Arc<rustls::ServerConfig>) -> Self::Tls;

    /// A client's side, with `config`, expecting `name`.
    fn tls_client(config: Arc<rustls::ClientConfig>, name: ServerName<'static>) -> Self::Tls;
}

impl TlsRuntime for Tokio {
    type Tls = proto_tokio::tls::TlsTokio;

    fn tls_server(config: Arc<rustls::ServerConfig>) -> Self::Tls {
        proto_tokio::tls::TokioTls::server(config).runtime()
    }

    fn tls_client(config: Arc<rustls::ClientConfig>, name: ServerName<'static>) -> Self::Tls {
        proto_tokio::tls::TokioTls::client(config, name).runtime()
    }
}

/// For smol's executor and async-std's: the same layer, each runtime's
/// spawner.
macro_rules! smol_tls {
    ($rt:ty) => {
        impl TlsRuntime for $rt {
            type Tls = proto_smol::tls::TlsSmol;

            fn tls_server(config: Arc<rustls::ServerConfig>) -> Self::Tls {
                proto_smol::tls::SmolTls::server(config).runtime(Self::rt())
            }

            fn tls_client(
                config: Arc<rustls::ClientConfig>,
                name: ServerName<'static>,
            ) -> Self::Tls {
                proto_smol::tls::SmolTls::client(config, name).runtime(Self::rt())
            }
        }
    };
}

smol_tls!(Smol);
smol_tls!(AsyncStd);

/// A self-signed certificate for `localhost`, made now: the server's
/// certificate, and the root its clients trust.
struct Identity {
    cert: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
}

impl Identity {
    fn new() -> Self {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
            .expect("a self-signed certificate");
        Self {
            cert: made.cert.der().clone(),
            key: PrivatePkcs8KeyDer::from(made.key_pair.serialize_der()),
        }
    }

    fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let key = PrivateKeyDer::Pkcs8(self.key.clone_key());
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("TLS 1.2 and 1.3 on ring")
            .with_no_client_auth()
            .with_single_cert(vec![self.cert.clone()], key)
            .expect("the certificate and its key");
        Arc::new(config)
    }

    /// A client's configuration that trusts this certificate only.
    fn trusted_by(&self) -> Arc<rustls::ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots.add(self.cert.clone()).expect("a root");
        let config = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("TLS 1.2 and 1.3 on ring")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Arc::new(config)
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn localhost() -> ServerName<'static> {
    ServerName::try_from("localhost").expect("a DNS name")
}

/// A TLS echo server with `identity`'s certificate and `hub`'s limits.
async fn serve<R: TlsRuntime>(identity: &Identity, hub: HubConfig) -> EchoServer {
    serve_with::<R>(identity.server_config(), hub).await
}

/// A TLS echo server with `tls` and `hub`'s limits.
async fn serve_with<R: TlsRuntime>(tls: Arc<rustls::ServerConfig>, hub: HubConfig) -> EchoServer {
    let runtime = R::tls_server(tls);
    let config = ServerConfig::default().hub(hub);
    let mut server = Server::bind_on(runtime, local(), codec(), config)
        .await
        .expect("bind the TLS server");
    let events = server.events();
    let addr = server.local_addr().expect("its address");
    let hub = server.hub().clone();
    R::spawn(server.run());
    EchoServer::on::<R>(Served { addr, hub, events }, true)
}

/// A TLS client of `server` trusting `trusted`.
async fn connect<R: TlsRuntime>(
    server: &EchoServer,
    trusted: &Identity,
) -> Result<(SessionHandle, Events), ConnectError> {
    connect_to::<R>(server.addr, trusted).await
}

/// A TLS client of `addr` trusting `trusted`.
async fn connect_to<R: TlsRuntime>(
    addr: SocketAddr,
    trusted: &Identity,
) -> Result<(SessionHandle, Events), ConnectError> {
    let runtime = R::tls_client(trusted.trusted_by(), localhost());
    let (client, mut events) =
        Client::connect_on(runtime, addr, codec(), ClientConfig::default()).await?;
    let handle = expect_opened::<R>(&mut events).await;
    drop(client);
    Ok((handle, events))
}

/// Messages of many sizes (one larger than a TLS record) each come back
/// whole and in order over TLS; the server sees the session close when
/// the client closes.
pub(crate) async fn handshake_and_echo<R: TlsRuntime>() {
    let identity = Identity::new();
    let mut server = serve::<R>(&identity, HubConfig::default()).await;
    let (handle, mut events) = connect::<R>(&server, &identity)
        .await
        .expect("a TLS client trusting the server's certificate connects");
    let server_side = server.next_opened::<R>().await;
    let sizes = [1, 10, 100, 1_000, 16_384, 16_385, 100_000, 5];
    for (n, size) in (0u32..).zip(sizes) {
        handle.send(numbered(n, size)).expect("queued");
    }
    for (n, size) in (0u32..).zip(sizes) {
        let echo = expect_message::<R>(&mut events, handle.id()).await;
        assert_eq!(echo, numbered(n, size), "echo {n} of {size} bytes");
    }
    assert_eq!(server.received(server_side.id()), sizes.len() as u64);
    handle.close();
    let closed = server.next_closed::<R>().await;
    assert_eq!(closed.id, server_side.id());
    assert_eq!(closed.reason, CloseReason::RemoteClosed);
}

/// A client that trusts another certificate cannot connect: `connect`
/// fails with rustls' "invalid peer certificate", and the server closes
/// the session the handshake was for with an I/O error.
pub(crate) async fn wrong_certificate_rejected<R: TlsRuntime>() {
    let identity = Identity::new();
    let stranger = Identity::new();
    let mut server = serve::<R>(&identity, HubConfig::default()).await;
    let err = match connect::<R>(&server, &stranger).await {
        Ok(_) => panic!("a client trusting another certificate connected"),
        Err(err) => err,
    };
    let message = err.to_string();
    assert!(
        message.contains("invalid peer certificate"),
        "the error says why: {message}"
    );
    assert!(matches!(err, ConnectError::Io { .. }), "{err:?}");
    let refused = server.next_opened::<R>().await.id();
    let closed = server.next_closed::<R>().await;
    assert_eq!(closed.id, refused);
    assert!(
        matches!(closed.reason, CloseReason::Io(_)),
        "the server's side closes with an I/O error: {:?}",
        closed.reason
    );
}

/// A peer that connects and never sends its hello is closed by the idle
/// deadline (the handshake runs on the session's task, under its
/// deadlines); meanwhile another client is accepted, handshakes and
/// echoes as usual.
pub(crate) async fn silent_client_closed_by_idle_timeout<R: TlsRuntime>() {
    let idle = Duration::from_millis(1_500);
    let hub = HubConfig::default().session(SessionConfig::default().idle_timeout(Some(idle)));
    let identity = Identity::new();
    let mut server = serve::<R>(&identity, hub).await;
    let addr = server.addr;
    let started = Instant::now();
    let silent = std::net::TcpStream::connect(addr).expect("a plain TCP connection");
    let silent_id = server.next_opened::<R>().await.id();

    let (handle, mut events) = connect::<R>(&server, &identity)
        .await
        .expect("accepted while the silent peer is still connected");
    handle.send(numbered(1, 64)).expect("queued");
    assert_eq!(
        expect_message::<R>(&mut events, handle.id()).await,
        numbered(1, 64)
    );

    let closed = loop {
        let closed = server.next_closed::<R>().await;
        if closed.id == silent_id {
            break closed;
        }
    };
    assert_eq!(closed.reason, CloseReason::IdleTimeout);
    assert!(started.elapsed() >= idle, "closed before the idle deadline");
    // The silent peer sees its connection end.
    let read = blocking(move || {
        let mut silent = silent;
        silent
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("a read timeout");
        silent.read(&mut [0; 16])
    })
    .await;
    assert!(
        matches!(&read, Ok(0))
            || read
                .as_ref()
                .is_err_and(|e| e.kind() != std::io::ErrorKind::WouldBlock),
        "the silent peer's connection is closed: {read:?}"
    );
}

/// A TLS server on `S` (its own thread) and a TLS client on `C`: the
/// handshake and an echo across adapters (tokio-rustls and
/// futures-rustls).
pub(crate) async fn cross_runtime<S: TlsRuntime, C: TlsRuntime>() {
    let identity = Identity::new();
    let tls = identity.server_config();
    let (addr_tx, addr_rx) = futures::channel::oneshot::channel();
    let (stop_tx, stop_rx) = futures::channel::oneshot::channel::<()>();
    let server_thread = std::thread::spawn(move || {
        S::block_on(async move {
            let server = serve_with::<S>(tls, HubConfig::default()).await;
            let _ = addr_tx.send(server.addr);
            let _ = stop_rx.await;
            S::shutdown(server.hub.clone(), Duration::from_secs(5)).await;
            server.assert_no_failures();
        });
    });
    let addr = within::<C, _>(WAIT, "the server to bind", addr_rx)
        .await
        .expect("the server thread");
    let (handle, mut events) = connect_to::<C>(addr, &identity)
        .await
        .expect("a TLS client on another runtime connects");
    for n in 0..10 {
        handle.send(numbered(n, 2_000)).expect("queued");
    }
    for n in 0..10 {
        let echo = expect_message::<C>(&mut events, handle.id()).await;
        assert_eq!(echo, numbered(n, 2_000), "echo {n}");
    }
    drop(stop_tx);
    blocking(move || server_thread.join().expect("the server thread")).await;
}

/// WebSocket over TLS (`wss`): the WebSocket codec under the same TLS
/// runtime, server and client; the opening handshake and several
/// messages each way, echoed whole and in order.
pub(crate) async fn wss_echo<R: TlsRuntime>() {
    use proto_core::hub::Event;
    use proto_core::ws::WebSocket;

    let identity = Identity::new();
    let mut server = Server::bind_on(
        R::tls_server(identity.server_config()),
        local(),
        WebSocket::server(),
        ServerConfig::default(),
    )
    .await
    .expect("bind the wss server");
    let mut server_events = server.events();
    let addr = server.local_addr().expect("its address");
    let hub = server.hub().clone();
    R::spawn(server.run());
    R::spawn(async move {
        while let Some(event) = server_events.recv().await {
            if let Event::Message { id, payload } = event {
                let _ = hub.send(id, payload);
            }
        }
    });
    let runtime = R::tls_client(identity.trusted_by(), localhost());
    // Sends made before the 101 arrives wait in the client (the
    // messages below add up to about 260 KB).
    let codec = WebSocket::client(format!("localhost:{}", addr.port()), "/")
        .max_held_before_open(512 * 1024);
    let (client, mut events) = Client::connect_on(runtime, addr, codec, ClientConfig::default())
        .await
        .expect("a wss client trusting the server connects");
    let handle = expect_opened::<R>(&mut events).await;
    let sizes = [1, 125, 126, 65_535, 65_536, 100_000, 3];
    for (n, size) in (0u32..).zip(sizes) {
        handle.send(numbered(n, size)).expect("queued");
    }
    for (n, size) in (0u32..).zip(sizes) {
        let echo = expect_message::<R>(&mut events, handle.id()).await;
        assert_eq!(echo, numbered(n, size), "wss echo {n} of {size} bytes");
    }
    drop(client);
}
