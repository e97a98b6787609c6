//! [`ChatClient`]: a binary-door client as a library, on any runtime. The
//! `chat_client` binary is a terminal shell over it, and the tests script
//! it directly.
//!
//! [`connect`](ChatClient::connect) says `Hello` and waits for the
//! welcome; after that a task of the client's own reads the server's
//! messages, runs file transfers (the credit window, SHA-256, the
//! downloads folder), and reports everything as [`Update`]s.

mod files;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use proto_core::driver::{Client, ClientConfig, ConnectError, Runtime};
use proto_core::frame::LengthField;
use proto_core::hub::{Event, Events, HubConfig, SessionHandle};
use proto_core::session::{Heartbeat, SendError, SessionConfig};

use crate::command::Command;
use crate::protocol::{ErrorCode, Message};
use crate::server::binary_codec;
use files::Files;

/// What the client reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Update {
    /// A message from the server for the person (chat, announcements,
    /// answers, errors, offers to us).
    Message(Message),
    /// We offered a file (transfer `id`).
    Offered {
        /// The transfer.
        id: u64,
        /// To whom.
        to: String,
        /// Bytes.
        size: u64,
    },
    /// Bytes of a transfer done so far: acknowledged by the receiver when
    /// we send, written when we receive.
    Progress {
        /// The transfer.
        id: u64,
        /// Whether we are the sender.
        outgoing: bool,
        /// Bytes done.
        done: u64,
        /// Bytes in all.
        total: u64,
    },
    /// Every byte we sent was acknowledged.
    FileSent {
        /// The transfer.
        id: u64,
        /// To whom.
        to: String,
    },
    /// A file arrived, saved at `path`; `verified` says whether its
    /// SHA-256 matches the sender's.
    FileReceived {
        /// The transfer.
        id: u64,
        /// The sender.
        from: String,
        /// Where it was saved.
        path: PathBuf,
        /// Whether the digest matched.
        verified: bool,
    },
    /// A transfer ended without the file.
    TransferFailed {
        /// The transfer.
        id: u64,
        /// Why.
        reason: String,
    },
    /// The connection is gone (the last update).
    Disconnected(String),
}

/// Settings of a [`ChatClient`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientOptions {
    /// Received files go to `downloads/<sender>/<file>`.
    pub downloads: PathBuf,
    /// Take every file offered without asking (for scripts and tests).
    pub auto_accept: bool,
    /// The heartbeat; it must be on (with any interval) to match the
    /// server's binary door.
    pub heartbeat: Heartbeat,
    /// Chunks in flight per outgoing transfer (at most the server's
    /// `transfer_window`).
    pub window: u32,
    /// How long to wait for the connection and the welcome.
    pub connect_timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        let settings = crate::config::Settings::default();
        Self {
            downloads: PathBuf::from("downloads"),
            auto_accept: false,
            heartbeat: crate::server::heartbeat(&settings),
            window: crate::DEFAULT_WINDOW,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

impl ClientOptions {
    /// Sets [`downloads`](Self::downloads).
    pub fn downloads(mut self, dir: impl Into<PathBuf>) -> Self {
        self.downloads = dir.into();
        self
    }

    /// Sets [`auto_accept`](Self::auto_accept).
    pub fn auto_accept(mut self, on: bool) -> Self {
        self.auto_accept = on;
        self
    }

    /// Sets [`heartbeat`](Self::heartbeat).
    pub fn heartbeat(mut self, heartbeat: Heartbeat) -> Self {
        self.heartbeat = heartbeat;
        self
    }
}

/// Why a client could not join.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JoinError {
    /// No connection.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The server said no (server full, nickname taken or invalid).
    #[error("refused by the server: {text} ({code})")]
    Refused {
        /// Its code.
        code: ErrorCode,
        /// Its words.
        text: String,
    },
    /// The connection closed, or nothing came in time, before the welcome.
    #[error("no welcome from the server: {0}")]
    NoWelcome(String),
}

/// Commands for the client's task.
#[derive(Debug)]
enum Cmd {
    SendFile { to: String, path: PathBuf },
    Accept(Option<u64>),
    Refuse(Option<u64>),
}

/// A connected, welcomed chat client; see the [module docs](self).
pub struct ChatClient<R: Runtime> {
    client: Client<LengthField, R>,
    handle: SessionHandle,
    session: u64,
    name: String,
    commands: smol::channel::Sender<Cmd>,
    updates: smol::channel::Receiver<Update>,
}

impl<R: Runtime> std::fmt::Debug for ChatClient<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatClient")
            .field("name", &self.name)
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl<R: Runtime + Default> ChatClient<R> {
    /// Connects to the binary door at `addr` as `name` and waits for the
    /// welcome.
    pub async fn connect(
        addr: SocketAddr,
        name: &str,
        options: ClientOptions,
    ) -> Result<Self, JoinError> {
        Self::connect_on(R::default(), addr, name, options).await
    }
}

impl<R: Runtime> ChatClient<R> {
    /// [`connect`](ChatClient::connect) on `runtime`. Through a TLS
    /// runtime ([`TlsRuntime::tls_client`](proto_cli::TlsRuntime::tls_client))
    /// the handshake runs inside the connect, under
    /// `options.connect_timeout`: a server certificate it does not trust
    /// is [`JoinError::Connect`] with rustls' words ("invalid peer
    /// certificate: …").
    pub async fn connect_on(
        runtime: R,
        addr: SocketAddr,
        name: &str,
        options: ClientOptions,
    ) -> Result<Self, JoinError> {
        let session = SessionConfig::default()
            .backpressure_counts_sends(false)
            .heartbeat(Some(options.heartbeat))
            .idle_timeout(None);
        let config = ClientConfig::default()
            .connect_timeout(options.connect_timeout)
            .hub(HubConfig::default().session(session));
        let (client, mut events) =
            Client::connect_on(runtime.clone(), addr, binary_codec(), config).await?;
        let handle = client
            .handle()
            .ok_or_else(|| JoinError::NoWelcome("not connected".into()))?;
        let hello = Message::Hello {
            name: name.to_string(),
        };
        let _ = handle.send(hello.encode());
        let welcome = async { welcome(&mut events).await };
        let timeout = async {
            runtime.sleep(options.connect_timeout).await;
            Err(JoinError::NoWelcome("timed out".into()))
        };
        let (session, name) = match smol::future::or(welcome, timeout).await {
            Ok(welcomed) => welcomed,
            Err(err) => {
                handle.close();
                return Err(err);
            }
        };
        let (commands, command_rx) = smol::channel::unbounded();
        let (update_tx, updates) = smol::channel::unbounded();
        let files = Files::new(options.downloads.clone(), options.window);
        runtime.spawn(run(
            events,
            command_rx,
            update_tx,
            handle.clone(),
            files,
            options.auto_accept,
        ));
        Ok(Self {
            client,
            handle,
            session,
            name,
            commands,
            updates,
        })
    }

    /// Closes the connection gracefully (what is queued is written first,
    /// for up to a second).
    pub async fn close(self) {
        let grace = self.client.runtime().sleep(Duration::from_secs(1));
        self.client.hub().shutdown(grace).await;
    }

    /// The runtime the connection runs on.
    pub fn runtime(&self) -> &R {
        self.client.runtime()
    }

    /// Our session id on the server.
    pub fn session(&self) -> u64 {
        self.session
    }

    /// Our nickname.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sends a request.
    pub fn send(&self, message: &Message) -> Result<(), SendError> {
        self.handle.send(message.encode())
    }

    /// Says `text` in the current room.
    pub fn say(&self, text: &str) -> Result<(), SendError> {
        self.send(&Message::Say {
            text: text.to_string(),
        })
    }

    /// Carries out a typed command (`/help` and `/quit` are the caller's).
    pub fn command(&self, command: &Command) -> Result<(), SendError> {
        if let Some(request) = command.request() {
            return self.send(&request);
        }
        let cmd = match command {
            Command::Send { to, path } => Cmd::SendFile {
                to: to.clone(),
                path: PathBuf::from(path),
            },
            Command::Accept(id) => Cmd::Accept(*id),
            Command::Refuse(id) => Cmd::Refuse(*id),
            _ => return Ok(()),
        };
        self.commands.try_send(cmd).map_err(|_| SendError::Closed)
    }

    /// Offers the file at `path` to `to`.
    pub fn send_file(&self, to: &str, path: &Path) -> Result<(), SendError> {
        self.command(&Command::Send {
            to: to.to_string(),
            path: path.to_string_lossy().to_string(),
        })
    }

    /// The next update; `None` after [`Update::Disconnected`].
    pub async fn next(&self) -> Option<Update> {
        self.updates.recv().await.ok()
    }

    /// The updates channel (to race it with other input).
    pub fn updates(&self) -> &smol::channel::Receiver<Update> {
        &self.updates
    }

    /// The session (to close or abort it, or read its counters).
    pub fn handle(&self) -> &SessionHandle {
        &self.handle
    }
}

/// The answer to `/accept` or `/refuse` with no offer waiting.
fn no_offer() -> Update {
    Update::TransferFailed {
        id: 0,
        reason: "no file offer is waiting".into(),
    }
}

/// Waits for `Welcome` (or a refusal).
async fn welcome(events: &mut Events) -> Result<(u64, String), JoinError> {
    loop {
        match events.recv().await {
            Some(Event::Message { payload, .. }) => match Message::decode(&payload) {
                Ok(Message::Welcome { session, name, .. }) => return Ok((session, name)),
                Ok(Message::Error { code, text }) => return Err(JoinError::Refused { code, text }),
                _ => {}
            },
            Some(Event::Closed { reason, .. }) => {
                return Err(JoinError::NoWelcome(reason.to_string()));
            }
            Some(_) => {}
            None => return Err(JoinError::NoWelcome("connection gone".into())),
        }
    }
}

/// The client's task: server messages and commands in, updates out.
async fn run(
    mut events: Events,
    commands: smol::channel::Receiver<Cmd>,
    updates: smol::channel::Sender<Update>,
    handle: SessionHandle,
    mut files: Files,
    auto_accept: bool,
) {
    enum Next {
        Event(Option<Event>),
        Cmd(Option<Cmd>),
    }
    let mut commands_open = true;
    loop {
        let event = async { Next::Event(events.recv().await) };
        let cmd = async {
            if commands_open {
                Next::Cmd(commands.recv().await.ok())
            } else {
                std::future::pending().await
            }
        };
        let produced = match smol::future::or(event, cmd).await {
            Next::Event(Some(Event::Message { payload, .. })) => match Message::decode(&payload) {
                Ok(Message::OfferFrom {
                    id,
                    from,
                    file,
                    size,
                }) => {
                    files.offered(id, from.clone(), file.clone(), size);
                    let mut out = vec![Update::Message(Message::OfferFrom {
                        id,
                        from,
                        file,
                        size,
                    })];
                    if auto_accept {
                        out.extend(files.accept(&handle, id));
                    }
                    out
                }
                Ok(
                    m @ (Message::Accept { .. }
                    | Message::Refuse { .. }
                    | Message::Chunk { .. }
                    | Message::Ack { .. }
                    | Message::Done { .. }
                    | Message::Cancel { .. }),
                ) => files.handle(&handle, m),
                Ok(other) => vec![Update::Message(other)],
                Err(err) => {
                    tracing::warn!(error = %err, "undecodable message from the server");
                    vec![]
                }
            },
            Next::Event(Some(Event::Closed { reason, .. })) => {
                let _ = updates.send(Update::Disconnected(reason.to_string())).await;
                return;
            }
            Next::Event(Some(_)) => vec![],
            Next::Event(None) => {
                let _ = updates.send(Update::Disconnected("closed".into())).await;
                return;
            }
            Next::Cmd(Some(Cmd::SendFile { to, path })) => files.offer(&handle, &to, &path),
            Next::Cmd(Some(Cmd::Accept(id))) => match id.or_else(|| files.latest_offer()) {
                Some(id) => files.accept(&handle, id),
                None => vec![no_offer()],
            },
            Next::Cmd(Some(Cmd::Refuse(id))) => match id.or_else(|| files.latest_offer()) {
                Some(id) => files.refuse(&handle, id),
                None => vec![no_offer()],
            },
            Next::Cmd(None) => {
                commands_open = false;
                vec![]
            }
        };
        for update in produced {
            let _ = updates.send(update).await;
        }
    }
}
