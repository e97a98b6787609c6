//! Open loop: each connection sends `rate` messages a second on a fixed
//! schedule, whatever the replies do, and a reply's latency runs from the
//! time its message was due, not from when it went out, so a stalled server
//! shows as latency instead of as fewer samples (no coordinated omission).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use super::Common;
use super::reader::collect;
use crate::conn;
use crate::report::Tally;
use crate::wire;

/// How long after the senders stop the replies in flight may take.
const DRAIN: Duration = Duration::from_secs(5);

/// Runs `connections` connections at `rate` messages a second each.
pub(crate) async fn run(c: &Common, connections: usize, rate: f64) -> (Tally, usize, u64) {
    let interval = Duration::from_secs_f64(1.0 / rate.max(1e-3));
    let mut tasks = Vec::with_capacity(connections);
    for n in 0..connections {
        let c = c.clone();
        // Connections start spread over one interval.
        let offset = interval.mul_f64(n as f64 / connections.max(1) as f64);
        tasks.push(tokio::spawn(
            async move { one(&c, n, interval, offset).await },
        ));
    }
    super::gather(tasks).await
}

async fn one(
    c: &Common,
    n: usize,
    interval: Duration,
    offset: Duration,
) -> std::io::Result<(Tally, u64)> {
    let stream = conn::connect(c.target, n, c.codec).await?;
    // The schedule starts once connected: connecting is not latency.
    let begin = std::time::Instant::now().max(c.start);
    let (read, mut write) = stream.into_split();
    let conn_id = n as u32;
    let sent = Arc::new(AtomicU64::new(0));
    let sender = {
        let sent = sent.clone();
        let c = c.clone();
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let mut seq = 0u64;
            loop {
                let due = begin + offset + interval.mul_f64(seq as f64);
                if due >= c.stop {
                    break;
                }
                tokio::time::sleep_until(due.into()).await;
                let due_ns = (due - c.start).as_nanos() as u64;
                wire::encode(c.codec, &mut buf, c.size, conn_id, seq, due_ns);
                seq += 1;
                if write.write_all(&buf).await.is_err() {
                    break;
                }
                sent.store(seq, Ordering::Release);
                buf.clear();
            }
            (seq, write)
        })
    };
    Ok(collect(c, read, conn_id, sender, &sent, c.stop + DRAIN, || {}).await)
}
