//! Closed loop: each connection keeps `window` messages in flight and sends
//! a new one for every verified echo.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;

use super::Common;
use super::reader::collect;
use crate::conn;
use crate::report::Tally;
use crate::wire;

/// How long after the senders stop the replies in flight may take.
const DRAIN: Duration = Duration::from_secs(5);

/// Runs `connections` connections; returns the merged tally, how many
/// connections failed and how many echoes never came.
pub(crate) async fn run(c: &Common, connections: usize, window: usize) -> (Tally, usize, u64) {
    let mut tasks = Vec::with_capacity(connections);
    for n in 0..connections {
        let c = c.clone();
        tasks.push(tokio::spawn(async move { one(&c, n, window.max(1)).await }));
    }
    super::gather(tasks).await
}

async fn one(c: &Common, n: usize, window: usize) -> std::io::Result<(Tally, u64)> {
    let stream = conn::connect(c.target, n, c.codec).await?;
    let (read, mut write) = stream.into_split();
    let permits = Arc::new(Semaphore::new(window));
    let conn_id = n as u32;
    let sent = Arc::new(AtomicU64::new(0));
    let sender = {
        let sent = sent.clone();
        let (c, permits) = (c.clone(), permits.clone());
        tokio::spawn(async move {
            let mut buf = Vec::with_capacity(64 * 1024);
            let mut seq = 0u64;
            loop {
                let acquire = permits.acquire();
                match tokio::time::timeout_at(c.stop.into(), acquire).await {
                    Ok(Ok(permit)) => permit.forget(),
                    _ => break,
                }
                wire::encode(c.codec, &mut buf, c.size, conn_id, seq, c.now_ns());
                seq += 1;
                // Whatever else the window allows goes in the same write.
                while buf.len() < 60 * 1024 {
                    let Ok(permit) = permits.try_acquire() else {
                        break;
                    };
                    permit.forget();
                    wire::encode(c.codec, &mut buf, c.size, conn_id, seq, c.now_ns());
                    seq += 1;
                }
                if write.write_all(&buf).await.is_err() {
                    break;
                }
                sent.store(seq, Ordering::Release);
                buf.clear();
            }
            (seq, write)
        })
    };
    let permits_back = permits.clone();
    Ok(
        collect(c, read, conn_id, sender, &sent, c.stop + DRAIN, move || {
            permits_back.add_permits(1)
        })
        .await,
    )
}
