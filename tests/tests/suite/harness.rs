//! The [`Runtime`] each runtime implements once (a thin layer over the
//! driver's own [`driver::Runtime`]), and the runtime-neutral helpers the
//! behaviours are written with.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::channel::{mpsc, oneshot};
use futures::future::{self, Either};
use proto_core::driver::{self, Client, ClientConfig, ConnectError, Server, ServerConfig};
use proto_core::frame::LengthField;
use proto_core::hub::{Event, Events, Hub, HubConfig, SessionHandle, SessionId, ShutdownReport};
use proto_core::rng::SplitMix64;
use proto_core::session::{CloseReason, SessionStats};

/// The hub type every behaviour uses.
pub(crate) type TestHub = Hub<LengthField>;

/// `127.0.0.1:0`: a fresh loopback port.
pub(crate) fn local() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// How long any single wait in a behaviour may take before it fails.
pub(crate) const WAIT: Duration = Duration::from_secs(10);

/// A running server: its address, hub and events.
pub(crate) struct Served {
    pub(crate) addr: SocketAddr,
    pub(crate) hub: TestHub,
    pub(crate) events: Events,
}

/// A connected client: its hub (one session at a time) and events.
pub(crate) struct Connected {
    pub(crate) hub: TestHub,
    pub(crate) events: Events,
}

/// Why a connect failed, in a form tests can compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConnectFailure {
    Timeout,
    Io(io::ErrorKind),
    Other(String),
}

impl From<ConnectError> for ConnectFailure {
    fn from(err: ConnectError) -> Self {
        match err {
            ConnectError::Timeout { .. } => Self::Timeout,
            ConnectError::Io { source, .. } => Self::Io(source.kind()),
            other => Self::Other(other.to_string()),
        }
    }
}

/// One async runtime as the suite runs it: the adapter's
/// [`driver::Runtime`] (spawn, time, sockets: everything `Server` and
/// `Client` need), plus how a test blocks on it. Every behaviour is generic
/// over it; the adapters' `Server`, `Client` and `shutdown` are proto-core's,
/// so the provided methods serve every runtime.
pub(crate) trait Runtime: Send + 'static {
    /// The adapter's runtime.
    type Rt: driver::Runtime;

    /// The runtime value tasks, sockets and timers come from.
    fn rt() -> Self::Rt;

    /// Runs `fut` to completion on a fresh instance of the runtime (or its
    /// global executor), on the calling thread.
    fn block_on<T>(fut: impl Future<Output = T>) -> T;

    /// Runs `fut` on the runtime, detached.
    fn spawn(fut: impl Future<Output = ()> + Send + 'static) {
        driver::Runtime::spawn(&Self::rt(), fut);
    }

    /// The runtime's timer.
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
        driver::Runtime::sleep(&Self::rt(), duration)
    }

    /// Binds a server on `addr` and spawns its accept loop.
    fn serve(
        addr: SocketAddr,
        codec: LengthField,
        hub: HubConfig,
    ) -> impl Future<Output = io::Result<Served>> + Send {
        async move {
            let config = ServerConfig::default().hub(hub);
            let mut server = Server::bind_on(Self::rt(), addr, codec, config).await?;
            let events = server.events();
            let addr = server.local_addr()?;
            let hub = server.hub().clone();
            Self::spawn(server.run());
            Ok(Served { addr, hub, events })
        }
    }

    /// Connects a client.
    fn connect(
        addr: SocketAddr,
        codec: LengthField,
        config: ClientConfig,
    ) -> impl Future<Output = Result<Connected, ConnectFailure>> + Send {
        async move {
            let (client, events) = Client::connect_on(Self::rt(), addr, codec, config).await?;
            let hub = client.hub().clone();
            Ok(Connected { hub, events })
        }
    }

    /// Graceful shutdown, `grace` on the runtime's timer.
    fn shutdown(hub: TestHub, grace: Duration) -> impl Future<Output = ShutdownReport> + Send {
        async move { hub.shutdown(Self::sleep(grace)).await }
    }
}

/// Runs a behaviour on runtime `R` on a thread of its own and fails the
/// test if it does not finish within `limit` (a hang fails instead of
/// blocking CI; the stuck thread is abandoned).
pub(crate) fn run<R, B, Fut>(limit: Duration, body: B)
where
    R: Runtime,
    B: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = std::thread::Builder::new()
        .name("behaviour".into())
        .spawn(move || {
            R::block_on(body());
            let _ = tx.send(());
        })
        .expect("spawn the behaviour's thread");
    match rx.recv_timeout(limit) {
        Ok(()) => worker.join().expect("behaviour thread"),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            // The body panicked: re-raise its panic here.
            if let Err(panic) = worker.join() {
                std::panic::resume_unwind(panic);
            }
            unreachable!("the behaviour thread ended without finishing or panicking");
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("behaviour did not finish within {limit:?} (hung?)")
        }
    }
}

/// `fut`, or a panic naming `what` after `limit`.
pub(crate) async fn within<R: Runtime, T>(
    limit: Duration,
    what: &str,
    fut: impl Future<Output = T>,
) -> T {
    let fut = pin!(fut);
    let timer = pin!(R::sleep(limit));
    match future::select(fut, timer).await {
        Either::Left((value, _)) => value,
        Either::Right(((), _)) => panic!("timed out after {limit:?} waiting for {what}"),
    }
}

/// Polls `cond` every 5 ms until it holds; panics naming `what` after
/// [`WAIT`].
pub(crate) async fn eventually<R: Runtime>(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < WAIT,
            "timed out after {WAIT:?} waiting for {what}"
        );
        R::sleep(Duration::from_millis(5)).await;
    }
}

/// The next event, within [`WAIT`].
pub(crate) async fn next_event<R: Runtime>(events: &mut Events, what: &str) -> Event {
    within::<R, _>(WAIT, what, events.recv())
        .await
        .unwrap_or_else(|| panic!("event stream ended while waiting for {what}"))
}

/// The next event, which must be `Opened`.
pub(crate) async fn expect_opened<R: Runtime>(events: &mut Events) -> SessionHandle {
    match next_event::<R>(events, "Opened").await {
        Event::Opened(handle) => handle,
        other => panic!("expected Opened, got {other:?}"),
    }
}

/// The next event, which must be a message on `id`.
pub(crate) async fn expect_message<R: Runtime>(events: &mut Events, id: SessionId) -> Bytes {
    match next_event::<R>(events, "a message").await {
        Event::Message { id: got, payload } if got == id => payload,
        other => panic!("expected a message on {id}, got {other:?}"),
    }
}

/// The next event, which must be `Closed` for `id`; returns its reason.
/// An `EndOfStream` of `id` before it (the peer closed) is skipped.
pub(crate) async fn expect_closed<R: Runtime>(events: &mut Events, id: SessionId) -> CloseReason {
    loop {
        match next_event::<R>(events, "Closed").await {
            Event::EndOfStream { id: got } if got == id => {}
            Event::Closed {
                id: got, reason, ..
            } if got == id => return reason,
            other => panic!("expected Closed of {id}, got {other:?}"),
        }
    }
}

/// Runs `f` on a thread of its own (for blocking peers); its panic is
/// re-raised in the awaiting task.
pub(crate) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = oneshot::channel();
    std::thread::spawn(move || {
        let _ = tx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
    });
    match rx.await.expect("blocking thread vanished") {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Seeded payloads, from proto-core's [`SplitMix64`].
#[derive(Debug, Clone)]
pub(crate) struct Rng(SplitMix64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(SplitMix64::new(seed))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A payload of 0..=`max_len` random bytes.
    pub(crate) fn payload(&mut self, max_len: usize) -> Bytes {
        let len = (self.next_u64() % (max_len as u64 + 1)) as usize;
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            let word = self.next_u64().to_le_bytes();
            let take = (len - out.len()).min(8);
            out.extend_from_slice(&word[..take]);
        }
        Bytes::from(out)
    }
}

/// A numbered payload of `len` bytes whose content depends on `n`
/// (for checking order and integrity of bulk sends).
pub(crate) fn numbered(n: u32, len: usize) -> Bytes {
    let mut out = Vec::with_capacity(len.max(4));
    out.extend_from_slice(&n.to_le_bytes());
    let mut i = 0u32;
    while out.len() < len {
        out.push((n.wrapping_mul(31).wrapping_add(i) % 251) as u8);
        i += 1;
    }
    Bytes::from(out)
}

/// A session's end as the [`EchoServer`] saw it.
#[derive(Debug, Clone)]
pub(crate) struct ClosedSession {
    pub(crate) id: SessionId,
    pub(crate) reason: CloseReason,
    pub(crate) stats: SessionStats,
}

/// A server's events handled on a task: every message echoed to its
/// sender (unless `echo` is off), every session's open and close reported
/// to the test, every failure recorded.
pub(crate) struct EchoServer {
    pub(crate) addr: SocketAddr,
    pub(crate) hub: TestHub,
    pub(crate) opened: mpsc::UnboundedReceiver<SessionHandle>,
    pub(crate) closed: mpsc::UnboundedReceiver<ClosedSession>,
    /// Messages received, by session.
    pub(crate) received: Arc<Mutex<HashMap<SessionId, u64>>>,
    /// Sends the echo loop could not make.
    pub(crate) failures: Arc<Mutex<Vec<String>>>,
}

impl EchoServer {
    /// Serves on `addr` with `codec` and `hub`, echoing if `echo`.
    pub(crate) async fn start<R: Runtime>(
        addr: SocketAddr,
        codec: LengthField,
        hub: HubConfig,
        echo: bool,
    ) -> Self {
        let served = R::serve(addr, codec, hub).await.expect("bind the server");
        Self::on::<R>(served, echo)
    }

    /// Handles `served`'s events on a task.
    pub(crate) fn on<R: Runtime>(served: Served, echo: bool) -> Self {
        let Served {
            addr,
            hub,
            mut events,
        } = served;
        let (opened_tx, opened) = mpsc::unbounded();
        let (closed_tx, closed) = mpsc::unbounded();
        let received = Arc::new(Mutex::new(HashMap::new()));
        let failures = Arc::new(Mutex::new(Vec::new()));
        let (counts, errors) = (received.clone(), failures.clone());
        R::spawn(async move {
            let mut handles = HashMap::new();
            while let Some(event) = events.recv().await {
                match event {
                    Event::Opened(handle) => {
                        handles.insert(handle.id(), handle.clone());
                        let _ = opened_tx.unbounded_send(handle);
                    }
                    Event::Message { id, payload } => {
                        *counts.lock().expect("counts").entry(id).or_insert(0) += 1;
                        if !echo {
                            continue;
                        }
                        let sent = match handles.get(&id) {
                            Some(handle) => handle.send(payload),
                            None => {
                                errors
                                    .lock()
                                    .expect("failures")
                                    .push(format!("message on {id} before Opened"));
                                continue;
                            }
                        };
                        if let Err(err) = sent {
                            errors
                                .lock()
                                .expect("failures")
                                .push(format!("echo on {id}: {err}"));
                        }
                    }
                    Event::EndOfStream { id } => {
                        // The echoes of everything the peer sent are queued
                        // already; close after them (with half_close off
                        // the session would close so by itself).
                        if let Some(handle) = handles.get(&id) {
                            handle.close_with(CloseReason::RemoteClosed);
                        }
                    }
                    Event::Closed { id, reason, stats } => {
                        handles.remove(&id);
                        let _ = closed_tx.unbounded_send(ClosedSession {
                            id,
                            reason,
                            stats: *stats,
                        });
                    }
                    other => errors
                        .lock()
                        .expect("failures")
                        .push(format!("unknown event {other:?}")),
                }
            }
        });
        Self {
            addr,
            hub,
            opened,
            closed,
            received,
            failures,
        }
    }

    /// The next session opened, within [`WAIT`].
    pub(crate) async fn next_opened<R: Runtime>(&mut self) -> SessionHandle {
        use futures::StreamExt;
        within::<R, _>(WAIT, "a session to open on the server", self.opened.next())
            .await
            .expect("echo loop ended")
    }

    /// The next session closed, within [`WAIT`].
    pub(crate) async fn next_closed<R: Runtime>(&mut self) -> ClosedSession {
        use futures::StreamExt;
        within::<R, _>(WAIT, "a session to close on the server", self.closed.next())
            .await
            .expect("echo loop ended")
    }

    /// Messages received on `id` so far.
    pub(crate) fn received(&self, id: SessionId) -> u64 {
        self.received
            .lock()
            .expect("counts")
            .get(&id)
            .copied()
            .unwrap_or(0)
    }

    /// Panics if the echo loop failed to echo anything.
    pub(crate) fn assert_no_failures(&self) {
        let failures = self.failures.lock().expect("failures");
        assert!(failures.is_empty(), "echo server failures: {failures:?}");
    }
}

/// Sends `frames` random payloads (0..=`max_len` bytes, from `seed`) over a
/// connected client, at most `window` unanswered at a time, and checks
/// every echo arrives intact and in order. Closes the client afterwards.
pub(crate) async fn echo_through<R: Runtime>(
    mut client: Connected,
    frames: usize,
    window: usize,
    max_len: usize,
    seed: u64,
) -> Result<(), String> {
    let handle = match next_event::<R>(&mut client.events, "the client's Opened").await {
        Event::Opened(handle) => handle,
        other => return Err(format!("expected Opened, got {other:?}")),
    };
    let mut rng = Rng::new(seed);
    let mut outstanding = std::collections::VecDeque::with_capacity(window);
    let mut sent = 0;
    let mut received = 0;
    while received < frames {
        while sent < frames && outstanding.len() < window {
            let payload = rng.payload(max_len);
            handle
                .send(payload.clone())
                .map_err(|err| format!("send #{sent}: {err}"))?;
            outstanding.push_back(payload);
            sent += 1;
        }
        let what = "an echo";
        match within::<R, _>(WAIT, what, client.events.recv()).await {
            Some(Event::Message { payload, .. }) => {
                let expected = outstanding.pop_front().ok_or("an echo nobody sent")?;
                if payload != expected {
                    return Err(format!(
                        "echo #{received} differs: {} bytes, expected {} bytes",
                        payload.len(),
                        expected.len()
                    ));
                }
                received += 1;
            }
            other => return Err(format!("after {received} echoes: {other:?}")),
        }
    }
    handle.close();
    match within::<R, _>(WAIT, "the client's Closed", client.events.recv()).await {
        Some(Event::Closed {
            reason: CloseReason::Local,
            stats,
            ..
        }) if stats.messages_in == frames as u64 && stats.messages_out == frames as u64 => Ok(()),
        other => Err(format!("expected a clean Closed(Local), got {other:?}")),
    }
}
