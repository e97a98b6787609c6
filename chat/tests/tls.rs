//! The chat server over TLS (`--tls-cert`, `--tls-key`: every door), on
//! tokio and on smol, with a CA and a server certificate made at test
//! time by rcgen and written as PEM files, read through the same
//! `Settings` the `chat_server` program uses: binary clients chat, send a
//! private message and a file; a text user (as `openssl s_client` would)
//! and a web user (wss) talk with them; a client that trusts another CA,
//! or speaks plain TCP, is refused with rustls' reason while the server
//! keeps serving; connections that never handshake are closed at
//! `hello_timeout`; the programs themselves serve and connect over TLS,
//! and `chat_client` exits non-zero on a certificate it does not trust;
//! and the settings refuse a certificate without its key and a key file
//! that is not PEM, naming the file.

mod common;

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use common::process::ServerProcess;
use common::{
    DEADLINE, TestServer, TextUser, WebUser, join_on, joined, on_tokio, until, until_message,
    within,
};
use proto_chat::client::{ChatClient, ClientOptions, JoinError, Update};
use proto_chat::config::{ServerArgs, Settings, SettingsError};
use proto_chat::protocol::Message;
use proto_cli::TlsRuntime;
use proto_cli::tls::{client_config, server_name};
use proto_tokio::Tokio;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

/// A test CA, a server certificate it signed (for `localhost` and
/// 127.0.0.1) with its key, and a second CA that signed nothing here: PEM
/// files in a directory of their own, removed on drop.
struct Pki {
    dir: PathBuf,
    /// The CA that signed the server's certificate.
    ca: PathBuf,
    /// Another CA: a client trusting only it must refuse the server.
    other_ca: PathBuf,
    /// The server's chain: its certificate, then the CA's.
    cert: PathBuf,
    /// The server's private key.
    key: PathBuf,
}

impl Pki {
    fn new() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("chat-tls-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let (ca, ca_key) = authority("proto chat test CA");
        let (other_ca, _) = authority("some other CA");
        let leaf_key = KeyPair::generate().expect("a key pair");
        let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        let leaf = CertificateParams::new(names)
            .expect("server names")
            .signed_by(&leaf_key, &ca, &ca_key)
            .expect("the server certificate");
        let write = |name: &str, pem: String| {
            let path = dir.join(name);
            std::fs::write(&path, pem).expect("write a PEM file");
            path
        };
        Self {
            ca: write("ca.pem", ca.pem()),
            other_ca: write("other-ca.pem", other_ca.pem()),
            cert: write("cert.pem", format!("{}{}", leaf.pem(), ca.pem())),
            key: write("key.pem", leaf_key.serialize_pem()),
            dir,
        }
    }

    /// The server's settings with this certificate and key.
    fn settings(&self) -> Settings {
        Settings {
            tls_cert: Some(self.cert.clone()),
            tls_key: Some(self.key.clone()),
            ..Settings::default()
        }
    }

    /// A binary client trusting the CA, expecting a certificate for
    /// `expect`, joined as `name`.
    async fn join<R: TlsRuntime>(
        &self,
        server: &TestServer,
        name: &str,
        expect: &str,
        options: ClientOptions,
    ) -> ChatClient<R::Tls> {
        let runtime = self.client::<R>(&self.ca, expect);
        let joined = join_on(runtime, server, name, options).await;
        joined.unwrap_or_else(|err| panic!("{name} could not join over TLS: {err}"))
    }

    /// A client's TLS runtime trusting `ca`, expecting `name`.
    fn client<R: TlsRuntime>(&self, ca: &Path, name: &str) -> R::Tls {
        let config = client_config(ca).expect("the CA file");
        R::default().tls_client(config, server_name(name).expect("a server name"))
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A self-signed CA certificate named `name`, and its key.
fn authority(name: &str) -> (rcgen::Certificate, KeyPair) {
    let mut params = CertificateParams::new(Vec::new()).expect("no names");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().expect("a key pair");
    let cert = params.self_signed(&key).expect("a CA certificate");
    (cert, key)
}

/// `from` said `text` in the lobby.
fn said(from: &str, text: &str) -> Message {
    Message::Said {
        room: "lobby".into(),
        from: from.into(),
        text: text.into(),
    }
}

/// Every door over TLS: two binary clients (one expecting the name
/// `localhost`, one the address) chat, a private message and a small file
/// go through, a text user and a wss user talk with them.
async fn every_door_over_tls<R: TlsRuntime>() {
    let pki = Pki::new();
    let server = TestServer::start_tls::<R>(pki.settings()).await;
    let downloads = pki.dir.join("downloads");
    let bob_options = ClientOptions::default()
        .downloads(&downloads)
        .auto_accept(true);
    let alice = pki
        .join::<R>(&server, "alice", "localhost", ClientOptions::default())
        .await;
    let bob = pki
        .join::<R>(&server, "bob", "127.0.0.1", bob_options)
        .await;
    until_message(&alice, joined("lobby", "bob")).await;

    alice.say("over tls").expect("queued");
    until_message(&bob, said("alice", "over tls")).await;
    alice
        .send(&Message::Private {
            to: "bob".into(),
            text: "just you".into(),
        })
        .expect("queued");
    let pm = Message::PrivateFrom {
        from: "alice".into(),
        text: "just you".into(),
    };
    until_message(&bob, pm).await;

    // Two chunks and a bit: the credit window and the acknowledgements
    // cross TLS both ways.
    let content: Vec<u8> = (0..150_000u32).map(|i| (i % 251) as u8).collect();
    let source = pki.dir.join("notes.bin");
    std::fs::write(&source, &content).expect("the file to send");
    alice.send_file("bob", &source).expect("offer");
    let received = until(&bob, "the file", |u| {
        matches!(u, Update::FileReceived { .. })
    })
    .await;
    let Some(Update::FileReceived { path, verified, .. }) = received.last() else {
        unreachable!("until returns the match last");
    };
    assert!(verified, "the SHA-256 matches");
    assert_eq!(std::fs::read(path).expect("the received file"), content);
    until(&alice, "the file sent", |u| {
        matches!(u, Update::FileSent { .. })
    })
    .await;

    // The text door, as `openssl s_client` speaks it, and the web door as
    // the page speaks it from https: wss.
    let mut tom =
        TextUser::join_on(pki.client::<R>(&pki.ca, "localhost"), server.text, "tom").await;
    tom.send("hi from the text door");
    until_message(&alice, said("tom", "hi from the text door")).await;
    let mut wendy = WebUser::join_on(pki.client::<R>(&pki.ca, "localhost"), &server, "wendy").await;
    wendy.send("hi from wss");
    until_message(&alice, said("wendy", "hi from wss")).await;
    alice.say("hello both").expect("queued");
    tom.until("alice's words", |l| l == "[lobby] alice: hello both")
        .await;
    wendy
        .until("alice's words", |l| l == "[lobby] alice: hello both")
        .await;

    alice.close().await;
    bob.close().await;
    server.stop::<R>().await;
}

common::on_both_runtimes!(every_door_over_tls, every_door_over_tls);

/// A client that trusts another CA is refused with rustls' reason, one
/// that speaks plain TCP gets no welcome; the server serves the next
/// clients as before.
async fn untrusted_certificate_refused_server_keeps_serving<R: TlsRuntime>() {
    let pki = Pki::new();
    let server = TestServer::start_tls::<R>(pki.settings()).await;
    let eve = pki.client::<R>(&pki.other_ca, "localhost");
    let refused = join_on(eve, &server, "eve", ClientOptions::default()).await;
    let Err(JoinError::Connect(err)) = refused else {
        panic!("a client trusting another CA must be refused: {refused:?}");
    };
    let err = err.to_string();
    assert!(err.contains("invalid peer certificate"), "{err}");
    let plain = join_on(R::default(), &server, "mallory", ClientOptions::default()).await;
    assert!(
        matches!(plain, Err(JoinError::NoWelcome(_))),
        "a plain TCP client gets no welcome from a TLS door: {plain:?}"
    );

    let options = ClientOptions::default;
    let alice = pki
        .join::<R>(&server, "alice", "localhost", options())
        .await;
    let bob = pki.join::<R>(&server, "bob", "localhost", options()).await;
    until_message(&alice, joined("lobby", "bob")).await;
    bob.say("still here").expect("queued");
    until_message(&alice, said("bob", "still here")).await;
    alice.close().await;
    bob.close().await;
    server.stop::<R>().await;
}

common::on_both_runtimes!(
    untrusted_certificate_refused_server_keeps_serving,
    untrusted_certificate_refused_server_keeps_serving
);

/// Connections that open and never start their handshake, on every
/// door, hold a place only until `hello_timeout` (the handshake runs on
/// the session's task, never in the accept loop); a client that
/// handshakes meanwhile is served.
#[test]
fn connections_that_never_handshake_are_closed_at_hello_timeout() {
    on_tokio(async {
        let pki = Pki::new();
        let settings = Settings {
            hello_timeout: 0.3,
            ..pki.settings()
        };
        let server = TestServer::start_tls::<Tokio>(settings).await;
        let web = server.web.expect("the web door is open");
        let silent = |addr| async move {
            let started = Instant::now();
            let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let mut ignored = Vec::new();
            let _ = tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut ignored).await;
            started.elapsed()
        };
        let closing =
            async { tokio::join!(silent(server.binary), silent(server.text), silent(web)) };
        let options = ClientOptions::default;
        let alice = pki.join::<Tokio>(&server, "alice", "localhost", options());
        let (alice, closed) = tokio::join!(
            alice,
            within::<Tokio, _>(DEADLINE, "the silent closes", closing)
        );
        for elapsed in [closed.0, closed.1, closed.2] {
            // The deadline, then at most the close timeout (5 s) for the
            // farewell that cannot be written.
            assert!(
                elapsed >= Duration::from_millis(300) && elapsed < DEADLINE,
                "{elapsed:?}"
            );
        }
        alice.say("served").expect("queued");
        until_message(&alice, said("alice", "served")).await;
        alice.close().await;
        server.stop::<Tokio>().await;
    });
}

/// The programs: `chat_server` (on smol) with `--tls-cert` and
/// `--tls-key` serves a TLS client; `chat_client --tls-ca` connects to it,
/// and given a CA that did not sign the server's certificate, prints
/// rustls' reason and exits non-zero at once (no hang).
#[test]
fn the_programs_chat_over_tls_and_the_client_refuses_an_untrusted_certificate() {
    let pki = Pki::new();
    let server = ServerProcess::start(&[
        OsStr::new("--runtime"),
        OsStr::new("smol"),
        OsStr::new("--no-history"),
        OsStr::new("--tls-cert"),
        pki.cert.as_os_str(),
        OsStr::new("--tls-key"),
        pki.key.as_os_str(),
    ]);
    on_tokio(async {
        let runtime = pki.client::<Tokio>(&pki.ca, "localhost");
        let options = ClientOptions::default();
        let alice = ChatClient::connect_on(runtime, server.binary, "alice", options)
            .await
            .expect("alice joins the program over TLS");
        alice.say("through the program").expect("queued");
        until_message(&alice, said("alice", "through the program")).await;
        alice.close().await;
    });
    let (code, output) = chat_client(server.binary, &pki.ca, "carl");
    assert!(code.success(), "exit {code}: {output}");
    assert!(output.contains("* connected to"), "{output}");
    let (code, output) = chat_client(server.binary, &pki.other_ca, "eve");
    assert!(!code.success(), "exit {code}: {output}");
    assert!(output.contains("invalid peer certificate"), "{output}");
}

/// Runs `chat_client --tls-ca ca` against `addr` as `name`, with nothing
/// on its input (it leaves once connected); its exit status and output.
/// Fails the test if it runs past [`DEADLINE`].
fn chat_client(addr: SocketAddr, ca: &Path, name: &str) -> (ExitStatus, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chat_client"))
        .args(["--addr", &addr.to_string(), "--name", name, "--tls-ca"])
        .arg(ca)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chat_client");
    let started = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().expect("the client's status") {
            break status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!("chat_client still running after {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = child.wait_with_output().expect("the client's output");
    let text = [output.stdout, output.stderr].concat();
    (code, String::from_utf8_lossy(&text).into_owned())
}

#[test]
fn tls_cert_without_tls_key_is_refused_at_startup() {
    let pki = Pki::new();
    let cert = pki.cert.to_str().expect("a UTF-8 path");
    let args = ServerArgs::parse_from(["chat_server", "--tls-cert", cert]);
    let err = args.settings().expect_err("a certificate without its key");
    assert!(matches!(err, SettingsError::Invalid(_)), "{err:?}");
    assert!(err.to_string().contains("--tls-key"), "{err}");
    let key = pki.key.to_str().expect("a UTF-8 path");
    let args = ServerArgs::parse_from(["chat_server", "--tls-key", key]);
    let err = args.settings().expect_err("a key without its certificate");
    assert!(err.to_string().contains("--tls-cert"), "{err}");
    // Both: the settings and their TLS configuration load.
    let args = ServerArgs::parse_from(["chat_server", "--tls-cert", cert, "--tls-key", key]);
    let settings = args.settings().expect("a certificate with its key");
    assert!(settings.tls().expect("the TLS files").is_some());
    assert!(Settings::default().tls().expect("no TLS").is_none());
}

#[test]
fn tls_key_that_is_not_pem_is_refused_naming_the_file() {
    let pki = Pki::new();
    let bad_key = pki.dir.join("key.txt");
    std::fs::write(&bad_key, "this is not a key\n").expect("write");
    let settings = Settings {
        tls_key: Some(bad_key.clone()),
        ..pki.settings()
    };
    let err = settings.tls().expect_err("a key file that is not PEM");
    let text = err.to_string();
    assert!(matches!(err, SettingsError::Tls(_)), "{err:?}");
    assert!(
        text.contains(&bad_key.display().to_string()) && text.contains("key"),
        "{text}"
    );
    // A missing certificate file is named too.
    let missing = pki.dir.join("missing.pem");
    let settings = Settings {
        tls_cert: Some(missing.clone()),
        ..pki.settings()
    };
    let text = settings.tls().expect_err("no such file").to_string();
    assert!(text.contains(&missing.display().to_string()), "{text}");
    // The other CA's certificate is not this key's.
    let settings = Settings {
        tls_cert: Some(pki.other_ca.clone()),
        ..pki.settings()
    };
    let text = settings
        .tls()
        .expect_err("a key of another certificate")
        .to_string();
    assert!(text.contains(&pki.key.display().to_string()), "{text}");
}

/// The `chat_server` program refuses to start with a certificate and no
/// key: exit 2, and the message says what is missing.
#[test]
fn chat_server_refuses_a_certificate_without_its_key() {
    let pki = Pki::new();
    let output = Command::new(env!("CARGO_BIN_EXE_chat_server"))
        .arg("--tls-cert")
        .arg(&pki.cert)
        .stdin(Stdio::null())
        .output()
        .expect("run chat_server");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--tls-key"), "{stderr}");
}
