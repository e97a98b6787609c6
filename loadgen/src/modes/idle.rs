//! Idle connections: each connects, echoes one message (verified), then
//! holds its connection without a byte until the run ends. With the
//! server's pid, the server's resident set is read before and after, for
//! its memory per idle connection.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::sync::{Barrier, Semaphore};

use super::Common;
use super::reader::{Replies, Reply};
use crate::conn;
use crate::report::Tally;
use crate::wire;

/// Connects at most this many at once.
const CONNECTING: usize = 256;

/// What an idle run found.
#[derive(Debug)]
pub(crate) struct Idle {
    pub(crate) tally: Tally,
    pub(crate) failed: usize,
    /// Server RSS per held connection, in bytes.
    pub(crate) rss_per_connection: Option<f64>,
}

/// Opens `connections`, echoes once on each, holds them until the run
/// ends; measures `server_pid`'s RSS before and once all are idle.
pub(crate) async fn run(c: &Common, connections: usize, server_pid: Option<u32>) -> Idle {
    let before = server_pid.and_then(rss);
    let gate = Arc::new(Semaphore::new(CONNECTING));
    // Every connection that got its echo waits here, then all hold.
    let ready = Arc::new(Barrier::new(connections + 1));
    let mut tasks = Vec::with_capacity(connections);
    for n in 0..connections {
        let (c, gate, ready) = (c.clone(), gate.clone(), ready.clone());
        tasks.push(tokio::spawn(async move {
            let outcome = {
                let _slot = gate.acquire().await;
                once(&c, n).await
            };
            ready.wait().await;
            outcome
        }));
    }
    ready.wait().await;
    // Let the server release the buffers of its now idle sessions.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = server_pid.and_then(rss);
    let mut idle = Idle {
        tally: Tally::default(),
        failed: 0,
        rss_per_connection: None,
    };
    let mut held = Vec::new();
    for task in tasks {
        match task.await {
            Ok(Ok((stream, t))) => {
                idle.tally.merge(&t);
                held.push(stream);
            }
            Ok(Err(_)) | Err(_) => idle.failed += 1,
        }
    }
    if let (Some(before), Some(after)) = (before, after) {
        if !held.is_empty() {
            idle.rss_per_connection = Some((after as f64 - before as f64) / held.len() as f64);
        }
    }
    tokio::time::sleep_until(c.stop.into()).await;
    drop(held);
    idle
}

async fn once(c: &Common, n: usize) -> std::io::Result<(tokio::net::TcpStream, Tally)> {
    let mut stream = conn::connect(c.target, n, c.codec).await?;
    let mut frame = Vec::new();
    wire::encode(c.codec, &mut frame, c.size, n as u32, 0, c.now_ns());
    stream.write_all(&frame).await?;
    let mut tally = Tally::default();
    let until = Instant::now() + Duration::from_secs(30);
    let reply = Replies::new(&mut stream).next(c, &mut tally, until).await;
    match reply {
        Reply::Ok(got) if got.conn == n as u32 && got.seq == 0 => Ok((stream, tally)),
        _ => Err(std::io::Error::other("no echo")),
    }
}

/// A process's resident set in bytes, from `/proc/PID/status`.
pub(crate) fn rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
