//! Broadcast fan-out: `members` connections to a server that sends every
//! message it receives to all its sessions (as the broadcast example
//! does); `senders` of them send `rate` messages a second each. Every
//! member checks every delivery; latency runs from when the message was
//! due to when each member got it. Deliveries expected and not received
//! after a drain are lost.

use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

use super::Common;
use super::reader::{Replies, Reply};
use crate::conn;
use crate::report::Tally;
use crate::wire;

/// How long after the senders stop the deliveries in flight may take.
const DRAIN: Duration = Duration::from_secs(3);

/// What a broadcast run found.
#[derive(Debug)]
pub(crate) struct Fanout {
    pub(crate) tally: Tally,
    pub(crate) failed: usize,
    pub(crate) lost: u64,
}

pub(crate) async fn run(c: &Common, members: usize, senders: usize, rate: f64) -> Fanout {
    let mut streams = Vec::with_capacity(members);
    let mut failed = 0;
    for n in 0..members {
        match conn::connect(c.target, n, c.codec).await {
            Ok(stream) => streams.push(stream),
            Err(_) => failed += 1,
        }
    }
    // Let the server register every member before anything is sent.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let interval = Duration::from_secs_f64(1.0 / rate.max(1e-3));
    // The schedule starts once every member is in: connecting is not
    // latency.
    let begin = Instant::now();
    let mut readers = Vec::new();
    let mut writers = Vec::new();
    // Write halves kept open until every delivery is in: dropping one
    // would end its stream (FIN), and the server would close the member.
    let mut listening = Vec::new();
    for (n, stream) in streams.into_iter().enumerate() {
        let (read, mut write) = stream.into_split();
        let c2 = c.clone();
        readers.push(tokio::spawn(async move {
            let mut replies = Replies::new(read);
            let (mut tally, mut got) = (Tally::default(), 0u64);
            while let Reply::Ok(_) = replies.next(&c2, &mut tally, c2.stop + DRAIN).await {
                got += 1;
            }
            (tally, got)
        }));
        if n >= senders {
            listening.push(write);
        } else {
            let c2 = c.clone();
            let offset = interval.mul_f64(n as f64 / senders.max(1) as f64);
            writers.push(tokio::spawn(async move {
                let (mut seq, mut buf) = (0u64, Vec::new());
                loop {
                    let due = begin + offset + interval.mul_f64(seq as f64);
                    if due >= c2.stop {
                        break;
                    }
                    tokio::time::sleep_until(due.into()).await;
                    let due_ns = (due - c2.start).as_nanos() as u64;
                    wire::encode(c2.codec, &mut buf, c2.size, n as u32, seq, due_ns);
                    seq += 1;
                    if write.write_all(&buf).await.is_err() {
                        break;
                    }
                    buf.clear();
                }
                // The write half goes back to be kept open: a sender that
                // finishes first must not end its stream (FIN) while the
                // others' messages are still on their way to it.
                (seq, write)
            }));
        }
    }
    let mut sent = 0;
    for writer in writers {
        if let Ok((seq, write)) = writer.await {
            sent += seq;
            listening.push(write);
        }
    }
    let (mut tally, mut delivered) = (Tally::default(), 0u64);
    for reader in readers {
        if let Ok((t, got)) = reader.await {
            delivered += got;
            tally.merge(&t);
        }
    }
    drop(listening);
    let expected = sent * (members - failed) as u64;
    Fanout {
        tally,
        failed,
        lost: expected.saturating_sub(delivered),
    }
}
