//! Hostile clients beside legitimate ones: while `legit` connections run
//! the open-loop `rate` load (every reply verified, latency measured),
//! hostile connections attack the server, each kind in its own way, and
//! wait for the server to close them:
//!
//! | kind | does | a hardened server closes it with |
//! | --- | --- | --- |
//! | `silent` | connects and sends nothing | `IdleTimeout` |
//! | `garbage` | sends random bytes whose header announces about 4 GiB | `FrameTooLarge` |
//! | `oversize` | announces a frame one byte over `--max-frame` | `FrameTooLarge` |
//! | `trickle` | announces a frame and sends one byte a second | `FrameTimeout` |
//! | `never_read` | sends large messages and never reads the echoes | `SlowConsumer` |
//! | `churn` | connects and disconnects in a loop (half of them with a reset) | (they close themselves) |
//!
//! A hostile connection counts as closed by the server when a read sees
//! the end of the stream or a reset, or a write fails; one still open when
//! the run (and its drain time) is over counts as `still_open`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

use super::Common;
use crate::conn;
use crate::report::Tally;
use crate::wire::Codec;

/// How long after the run the hostile connections may wait to be closed.
const DRAIN: Duration = Duration::from_secs(10);

/// Connects at most this many at once.
const CONNECTING: usize = 256;

/// How many of each kind.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attack {
    pub(crate) silent: usize,
    pub(crate) garbage: usize,
    pub(crate) oversize: usize,
    pub(crate) trickle: usize,
    pub(crate) never_read: usize,
    pub(crate) churn: usize,
    /// The server's largest frame (payload bytes).
    pub(crate) max_frame: usize,
}

/// What happened to the connections of one kind.
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub(crate) struct Outcome {
    pub(crate) connections: usize,
    pub(crate) closed_by_server: usize,
    pub(crate) still_open: usize,
    pub(crate) failed_connect: usize,
}

/// The legitimate clients' figures, and each hostile kind's outcome.
#[derive(Debug)]
pub(crate) struct Hostile {
    pub(crate) tally: Tally,
    pub(crate) failed: usize,
    pub(crate) lost: u64,
    pub(crate) kinds: BTreeMap<&'static str, Outcome>,
}

/// How one hostile connection ended.
enum End {
    ClosedByServer,
    StillOpen,
    FailedConnect,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Silent,
    Garbage,
    Oversize,
    Trickle,
    NeverRead,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::Silent => "silent",
            Self::Garbage => "garbage",
            Self::Oversize => "oversize",
            Self::Trickle => "trickle",
            Self::NeverRead => "never_read",
        }
    }
}

/// Runs the legitimate load and the attack side by side.
pub(crate) async fn run(c: &Common, legit: usize, rate: f64, attack: Attack) -> Hostile {
    let legit_load = {
        let c = c.clone();
        tokio::spawn(async move { super::rate::run(&c, legit, rate).await })
    };
    let gate = std::sync::Arc::new(Semaphore::new(CONNECTING));
    let mut tasks = Vec::new();
    let kinds = [
        (Kind::Silent, attack.silent),
        (Kind::Garbage, attack.garbage),
        (Kind::Oversize, attack.oversize),
        (Kind::Trickle, attack.trickle),
        (Kind::NeverRead, attack.never_read),
    ];
    // Hostile connections take numbers after the legitimate ones, so that
    // past 20,000 they come from other source addresses.
    let mut n = legit;
    for (kind, count) in kinds {
        for _ in 0..count {
            let (c, gate) = (c.clone(), gate.clone());
            let max_frame = attack.max_frame;
            tasks.push((
                kind.name(),
                tokio::spawn(async move { one(&c, n, kind, max_frame, &gate).await }),
            ));
            n += 1;
        }
    }
    let churned = {
        let c = c.clone();
        let churn = attack.churn;
        tokio::spawn(async move { churn_loop(&c, n, churn).await })
    };
    let mut outcomes: BTreeMap<&'static str, Outcome> = BTreeMap::new();
    for (name, task) in tasks {
        let outcome = outcomes.entry(name).or_default();
        outcome.connections += 1;
        match task.await {
            Ok(End::ClosedByServer) => outcome.closed_by_server += 1,
            Ok(End::StillOpen) => outcome.still_open += 1,
            Ok(End::FailedConnect) | Err(_) => outcome.failed_connect += 1,
        }
    }
    if attack.churn > 0 {
        outcomes.insert("churn", churned.await.unwrap_or_default());
    }
    let (tally, failed, lost) = legit_load.await.unwrap_or_default();
    Hostile {
        tally,
        failed,
        lost,
        kinds: outcomes,
    }
}

/// One hostile connection of `kind`.
async fn one(c: &Common, n: usize, kind: Kind, max_frame: usize, gate: &Semaphore) -> End {
    let stream = {
        let _slot = gate.acquire().await;
        match conn::connect(c.target, n, c.codec).await {
            Ok(stream) => stream,
            Err(_) => return End::FailedConnect,
        }
    };
    let until = c.stop + DRAIN;
    match kind {
        Kind::Silent => wait_for_close(stream, until).await,
        Kind::Garbage => {
            let mut bytes = vec![0xFF; 4];
            bytes.extend((0..60u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
            send_then_wait(stream, &bytes, until).await
        }
        Kind::Oversize => {
            let header = header(c.codec, max_frame.saturating_add(1));
            send_then_wait(stream, &header, until).await
        }
        Kind::Trickle => trickle(stream, c.codec, until).await,
        Kind::NeverRead => never_read(stream, c.codec, max_frame, until).await,
    }
}

/// The header of a frame of `len` payload bytes (a WebSocket frame's
/// payload goes unmasked: its bytes are arbitrary anyway).
fn header(codec: Codec, len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    codec.put_header(&mut out, len, 0);
    out
}

async fn send_then_wait(mut stream: TcpStream, bytes: &[u8], until: Instant) -> End {
    if stream.write_all(bytes).await.is_err() {
        return End::ClosedByServer;
    }
    wait_for_close(stream, until).await
}

/// Reads (discarding) until the server closes or `until` passes.
async fn wait_for_close(mut stream: impl AsyncRead + Unpin, until: Instant) -> End {
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(until.into(), stream.read(&mut buf)).await {
            Err(_) => return End::StillOpen,
            Ok(Ok(0) | Err(_)) => return End::ClosedByServer,
            Ok(Ok(_)) => {}
        }
    }
}

/// Announces a 100-byte frame, then sends one byte a second.
async fn trickle(stream: TcpStream, codec: Codec, until: Instant) -> End {
    let (read, mut write) = stream.into_split();
    let writer = tokio::spawn(async move {
        if write.write_all(&header(codec, 100)).await.is_err() {
            return;
        }
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if write.write_all(b"x").await.is_err() {
                return;
            }
        }
    });
    let end = wait_for_close(read, until).await;
    writer.abort();
    end
}

/// Sends messages of up to 64 KiB (at most `max_frame`), back to back,
/// without ever reading, until a write fails (the server closed) or
/// `until` passes.
async fn never_read(mut stream: TcpStream, codec: Codec, max_frame: usize, until: Instant) -> End {
    let len = max_frame.min(64 * 1024);
    let mut frame = header(codec, len);
    frame.resize(frame.len() + len, 7);
    let mut at = 0;
    loop {
        if Instant::now() >= until {
            return End::StillOpen;
        }
        // One write at a time, given up after a while if it cannot go on
        // (the server stopped reading): a write either sends bytes or
        // none, so the stream stays framed. The server closing makes the
        // next write fail.
        match tokio::time::timeout(Duration::from_millis(200), stream.write(&frame[at..])).await {
            Ok(Err(_) | Ok(0)) => return End::ClosedByServer,
            Ok(Ok(n)) => at = (at + n) % frame.len(),
            Err(_) => {}
        }
    }
}

/// Opens and closes `count` connections one after another, half of them
/// with a reset (`SO_LINGER` 0), the other half after sending a byte.
async fn churn_loop(c: &Common, first: usize, count: usize) -> Outcome {
    let mut outcome = Outcome {
        connections: count,
        ..Outcome::default()
    };
    for i in 0..count {
        match conn::connect(c.target, first + i, c.codec).await {
            Ok(mut stream) => {
                if i % 2 == 0 {
                    // Zero linger: the close resets at once (nothing blocks).
                    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
                } else {
                    let _ = stream.write_all(&[0]).await;
                }
                drop(stream);
            }
            Err(_) => outcome.failed_connect += 1,
        }
    }
    outcome
}
