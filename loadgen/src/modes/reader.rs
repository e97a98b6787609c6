//! Reading and checking replies on one connection. Cancel-safe: bytes are
//! read into a buffer of our own (`read_buf`), so a deadline or another
//! branch of a `select!` never loses part of a frame.

use std::sync::atomic::Ordering;
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncReadExt};

use super::Common;
use crate::report::Tally;
use crate::wire;

/// What one reply was.
pub(crate) enum Reply {
    /// A verified reply, with what it said about itself.
    Ok(wire::Decoded),
    /// The connection ended or failed, a reply was corrupt, or the time ran
    /// out.
    End,
}

/// Reads replies from one connection.
pub(crate) struct Replies<R> {
    read: R,
    buf: Vec<u8>,
    /// Where the unread bytes of `buf` begin.
    at: usize,
}

impl<R: AsyncRead + Unpin> Replies<R> {
    pub(crate) fn new(read: R) -> Self {
        Self {
            read,
            buf: Vec::with_capacity(64 * 1024),
            at: 0,
        }
    }

    /// The next reply, checked and recorded in `tally` (its latency only if
    /// it was sent after the warm-up), or `End` by `until`.
    pub(crate) async fn next(&mut self, c: &Common, tally: &mut Tally, until: Instant) -> Reply {
        loop {
            if let Some((head, len)) = self.whole_frame(c) {
                let payload = &self.buf[self.at + head..self.at + head + len];
                self.at += head + len;
                return match wire::check(payload, c.size) {
                    Ok(decoded) => {
                        if decoded.sent >= c.warmup.as_nanos() as u64 {
                            let micros = c.now_ns().saturating_sub(decoded.sent) / 1_000;
                            tally.record(micros, len + head);
                            c.progress.fetch_add(1, Ordering::Relaxed);
                        }
                        Reply::Ok(decoded)
                    }
                    Err(err) => {
                        tally.error(err);
                        Reply::End
                    }
                };
            }
            if self.at > 0 && self.at * 2 >= self.buf.len() {
                self.buf.drain(..self.at);
                self.at = 0;
            }
            self.buf.reserve(64 * 1024);
            let read = self.read.read_buf(&mut self.buf);
            match tokio::time::timeout_at(until.into(), read).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => return Reply::End,
            }
        }
    }

    /// The header's and the payload's length of the frame at the head of
    /// the buffer, if it is whole.
    fn whole_frame(&self, c: &Common) -> Option<(usize, usize)> {
        let (head, len) = c.codec.frame(&self.buf[self.at..])?;
        (self.buf.len() - self.at >= head + len).then_some((head, len))
    }
}

/// Reads one connection's replies, which must come back in order, until
/// every message `sender` sent came back or `until` passes; calls `each`
/// for every verified reply. Returns the tally and how many never came
/// (`sent_so_far` is the sender's count, for a connection that ends while
/// it still sends).
pub(crate) async fn collect<R, W>(
    c: &Common,
    read: R,
    conn_id: u32,
    sender: tokio::task::JoinHandle<(u64, W)>,
    sent_so_far: &std::sync::atomic::AtomicU64,
    until: Instant,
    mut each: impl FnMut(),
) -> (Tally, u64)
where
    R: AsyncRead + Unpin,
{
    let mut replies = Replies::new(read);
    let mut tally = Tally::default();
    let mut expected = 0u64;
    let mut sender = Some(sender);
    let mut sent = u64::MAX;
    while expected < sent {
        let reply = match sender.as_mut() {
            // While the sender runs, its end is watched too (reading is
            // cancel-safe).
            Some(task) => tokio::select! {
                reply = replies.next(c, &mut tally, until) => reply,
                done = task => {
                    sent = done.map(|(seq, _)| seq).unwrap_or(expected);
                    sender = None;
                    continue;
                }
            },
            None => replies.next(c, &mut tally, until).await,
        };
        match reply {
            Reply::Ok(got) if got.conn == conn_id && got.seq == expected => {
                expected += 1;
                each();
            }
            Reply::Ok(got) => {
                tally.error(format!(
                    "connection {conn_id}: expected message {expected}, got {} of connection {}",
                    got.seq, got.conn
                ));
                break;
            }
            Reply::End => break,
        }
    }
    if let Some(task) = sender {
        // The replies ended while messages were still being sent: the
        // connection closed or failed early.
        task.abort();
        sent = sent_so_far.load(Ordering::Acquire);
        if tally.errors == 0 {
            tally.error(format!(
                "connection {conn_id}: replies ended after {expected} of {sent} sent"
            ));
        }
    }
    (tally, sent.saturating_sub(expected))
}
