//! The chat tests' bed: a server in this process on any runtime, scripted
//! binary and text clients, and deadlines on every wait.
#![allow(dead_code, unreachable_pub, unused_macros)]

pub mod process;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use proto_chat::client::{ChatClient, ClientOptions, JoinError, Update};
use proto_chat::config::Settings;
use proto_chat::protocol::Message;
use proto_chat::server::{ChatServer, ServerReport};
use proto_cli::TlsRuntime;
use proto_core::driver::{Client, ClientConfig, Runtime};
use proto_core::frame::Line;
use proto_core::hub::{Event, Events};
use proto_core::message::MessageFactory;
use proto_core::ws::{MessageKind, WebSocket};

/// How long any one expected thing may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Runs `fut`, failing the test if it takes longer than `limit`.
pub async fn within<R: Runtime + Default, T>(
    limit: Duration,
    what: &str,
    fut: impl Future<Output = T>,
) -> T {
    within_on(&R::default(), limit, what, fut).await
}

/// [`within`], timed by `runtime`.
pub async fn within_on<T>(
    runtime: &impl Runtime,
    limit: Duration,
    what: &str,
    fut: impl Future<Output = T>,
) -> T {
    let timeout = async {
        runtime.sleep(limit).await;
        None
    };
    let done = async { Some(fut.await) };
    match smol::future::or(done, timeout).await {
        Some(value) => value,
        None => panic!("timed out after {limit:?} waiting for {what}"),
    }
}

/// A server on free loopback ports, running until the returned sender is
/// dropped or sent to.
pub struct TestServer {
    pub binary: SocketAddr,
    pub text: SocketAddr,
    pub web: Option<SocketAddr>,
    stop: smol::channel::Sender<()>,
    done: smol::channel::Receiver<ServerReport>,
}

impl TestServer {
    /// Starts a server with `settings` (ports replaced by 0).
    pub async fn start<R: Runtime + Default>(settings: Settings) -> Self {
        Self::start_with::<R>(settings, |server| server).await
    }

    /// Starts a server with `settings` (ports replaced by 0), changed by
    /// `configure` before it runs (a history store, say).
    pub async fn start_with<R: Runtime + Default>(
        settings: Settings,
        configure: impl FnOnce(ChatServer<R>) -> ChatServer<R>,
    ) -> Self {
        Self::start_on(R::default(), settings, configure).await
    }

    /// Starts a server as the `chat_server` program does: over TLS when
    /// `settings` name a certificate and key (every door), else plain.
    pub async fn start_tls<R: TlsRuntime>(settings: Settings) -> Self {
        match settings.tls().expect("the TLS files") {
            Some(tls) => Self::start_on(R::default().tls_server(tls), settings, |s| s).await,
            None => Self::start::<R>(settings).await,
        }
    }

    /// [`start_with`](Self::start_with) on `runtime` (a TLS runtime, say).
    pub async fn start_on<R: Runtime>(
        runtime: R,
        settings: Settings,
        configure: impl FnOnce(ChatServer<R>) -> ChatServer<R>,
    ) -> Self {
        let mut settings = settings;
        settings.port = 0;
        settings.text_port = 0;
        settings.ws_port = 0;
        let bound = ChatServer::bind_on(runtime.clone(), settings).await;
        let server = configure(bound.expect("bind"));
        let (binary, text, web) = (server.binary_addr(), server.text_addr(), server.web_addr());
        let (stop, stopped) = smol::channel::bounded::<()>(1);
        let (finished, done) = smol::channel::bounded(1);
        runtime.spawn(async move {
            let report = server
                .run(async move {
                    let _ = stopped.recv().await;
                })
                .await;
            let _ = finished.send(report).await;
        });
        Self {
            binary,
            text,
            web,
            stop,
            done,
        }
    }

    /// Stops the server, waits until it has shut down, and returns its
    /// report.
    pub async fn stop<R: Runtime + Default>(self) -> ServerReport {
        let _ = self.stop.send(()).await;
        within::<R, _>(DEADLINE, "the server to stop", async {
            self.done.recv().await.expect("the server's report")
        })
        .await
    }
}

/// A binary client, joined as `name`.
pub async fn join<R: Runtime + Default>(server: &TestServer, name: &str) -> ChatClient<R> {
    join_on(R::default(), server, name, ClientOptions::default())
        .await
        .unwrap_or_else(|err| panic!("{name} could not join: {err}"))
}

/// A binary client on `runtime` (a TLS runtime, say) with `options`,
/// joining as `name`.
pub async fn join_on<R: Runtime>(
    runtime: R,
    server: &TestServer,
    name: &str,
    options: ClientOptions,
) -> Result<ChatClient<R>, JoinError> {
    let joining = ChatClient::connect_on(runtime.clone(), server.binary, name, options);
    within_on(&runtime, DEADLINE, "a welcome", joining).await
}

/// Reads `client`'s updates until one matches; returns every update read,
/// the match last.
pub async fn until<R: Runtime>(
    client: &ChatClient<R>,
    what: &str,
    mut matches: impl FnMut(&Update) -> bool,
) -> Vec<Update> {
    within_on(client.runtime(), DEADLINE, what, async {
        let mut seen = Vec::new();
        loop {
            let update = client
                .next()
                .await
                .unwrap_or_else(|| panic!("disconnected while waiting for {what}: {seen:?}"));
            let hit = matches(&update);
            seen.push(update);
            if hit {
                return seen;
            }
        }
    })
    .await
}

/// `name` joined `room`, as the room hears it.
pub fn joined(room: &str, name: &str) -> Message {
    Message::Joined {
        room: room.into(),
        name: name.into(),
    }
}

/// Reads until `message` arrives.
pub async fn until_message<R: Runtime>(client: &ChatClient<R>, message: Message) -> Vec<Update> {
    let what = format!("{message:?} at {}", client.name());
    until(client, &what, |u| *u == Update::Message(message.clone())).await
}

/// A user who speaks lines: on the text door (`nc`), or on the web door
/// (one line per WebSocket text message, as the chat page does).
pub struct LineUser<F: MessageFactory, R: Runtime> {
    client: Client<F, R>,
    events: Events,
}

/// A text-door user.
pub type TextUser<R> = LineUser<Line, R>;

/// A web-door user, speaking WebSocket as the chat page does.
pub type WebUser<R> = LineUser<WebSocket, R>;

impl<R: Runtime + Default> TextUser<R> {
    /// Connects to the text door and gives `name` at the prompt.
    pub async fn join(server: &TestServer, name: &str) -> Self {
        Self::join_at(server.text, name).await
    }

    /// Connects to the text door at `text` and gives `name` at the
    /// prompt.
    pub async fn join_at(text: SocketAddr, name: &str) -> Self {
        Self::join_on(R::default(), text, name).await
    }
}

impl<R: Runtime> TextUser<R> {
    /// [`join_at`](Self::join_at) on `runtime` (a TLS runtime, say).
    pub async fn join_on(runtime: R, text: SocketAddr, name: &str) -> Self {
        let mut user = Self::connect(runtime, text, Line::default()).await;
        user.until("the nickname prompt", |l| l.contains("nickname"))
            .await;
        user.welcomed(name).await;
        user
    }
}

impl<R: Runtime + Default> WebUser<R> {
    /// Connects to the web door's WebSocket and gives `name` (the page
    /// sends the nickname as its first message, without a prompt).
    pub async fn join(server: &TestServer, name: &str) -> Self {
        Self::join_on(R::default(), server, name).await
    }
}

impl<R: Runtime> WebUser<R> {
    /// [`join`](Self::join) on `runtime` (through TLS: `wss://`).
    pub async fn join_on(runtime: R, server: &TestServer, name: &str) -> Self {
        let addr = server.web.expect("the web door is open");
        let codec = WebSocket::client(addr.to_string(), "/ws").message_kind(MessageKind::Text);
        let mut user = Self::connect(runtime, addr, codec).await;
        user.welcomed(name).await;
        user
    }
}

impl<F: MessageFactory + 'static, R: Runtime> LineUser<F, R> {
    async fn connect(runtime: R, addr: SocketAddr, codec: F) -> Self {
        let connecting = Client::connect_on(runtime.clone(), addr, codec, ClientConfig::default());
        let (client, events) = within_on(&runtime, DEADLINE, "a line door", connecting)
            .await
            .expect("connect to a line door");
        Self { client, events }
    }

    async fn welcomed(&mut self, name: &str) {
        self.send(name);
        self.until("the welcome", |l| l.contains("welcome,")).await;
    }

    /// Sends a line.
    pub fn send(&self, line: &str) {
        self.client
            .send(Bytes::from(line.to_string()))
            .expect("text line queued");
    }

    /// Reads lines until the connection closes; asserts one of them matched.
    pub async fn until_closed(&mut self, what: &str, mut matches: impl FnMut(&str) -> bool) {
        let (events, runtime) = (&mut self.events, self.client.runtime());
        let seen = within_on(runtime, DEADLINE, what, async {
            let mut seen = Vec::new();
            loop {
                match events.recv().await {
                    Some(Event::Message { payload, .. }) => {
                        seen.push(String::from_utf8_lossy(&payload).to_string())
                    }
                    Some(Event::Closed { .. }) | None => return seen,
                    Some(_) => {}
                }
            }
        })
        .await;
        assert!(
            seen.iter().any(|l| matches(l)),
            "no {what} before the close: {seen:?}"
        );
    }

    /// Reads lines until one matches; returns every line read.
    pub async fn until(
        &mut self,
        what: &str,
        mut matches: impl FnMut(&str) -> bool,
    ) -> Vec<String> {
        let (events, runtime) = (&mut self.events, self.client.runtime());
        within_on(runtime, DEADLINE, what, async {
            let mut seen = Vec::new();
            loop {
                match events.recv().await {
                    Some(Event::Message { payload, .. }) => {
                        let line = String::from_utf8(payload.to_vec()).unwrap_or_else(|_| {
                            panic!("a text user got bytes that are not UTF-8: {payload:?}")
                        });
                        let hit = matches(&line);
                        seen.push(line);
                        if hit {
                            return seen;
                        }
                    }
                    Some(Event::Closed { reason, .. }) => {
                        panic!("text user closed ({reason}) waiting for {what}; read {seen:?}")
                    }
                    Some(_) => {}
                    None => panic!("text user's stream ended waiting for {what}"),
                }
            }
        })
        .await
    }
}

/// Runs a scenario on tokio.
pub fn on_tokio<F: Future<Output = ()>>(scenario: F) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(scenario);
}

/// Runs a scenario on smol.
pub fn on_smol<F: Future<Output = ()>>(scenario: F) {
    smol::block_on(scenario);
}

/// Two tests of one scenario that is generic over its runtime:
/// `NAME::on_tokio` and `NAME::on_smol`.
macro_rules! on_both_runtimes {
    ($name:ident, $scenario:ident) => {
        mod $name {
            #[test]
            fn on_tokio() {
                $crate::common::on_tokio(super::$scenario::<proto_tokio::Tokio>());
            }

            #[test]
            fn on_smol() {
                $crate::common::on_smol(super::$scenario::<proto_smol::Smol>());
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use on_both_runtimes;

/// A frame for the binary door as a raw socket writes it: u32 LE length,
/// the heartbeat prefix's data byte, the message.
pub fn raw_frame(message: &[u8]) -> Vec<u8> {
    let mut frame = ((message.len() + 1) as u32).to_le_bytes().to_vec();
    frame.push(0x00);
    frame.extend_from_slice(message);
    frame
}

/// One HTTP GET over loopback (tokio); the status line and the body.
pub async fn get(addr: SocketAddr, path: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("response");
    let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
    let status = head.lines().next().unwrap_or_default().to_string();
    (status, body.to_string())
}

/// The value of the Prometheus sample `name` (with its labels, as
/// written), if any.
pub fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}
