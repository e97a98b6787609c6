//! The bounded send queue (its overflow policies are in `overflow.rs`).

use std::collections::VecDeque;
use std::io::IoSlice;

use crate::frame::{FrameError, WireBuf};

mod lazy;
mod run;
#[cfg(test)]
mod tests;

pub(crate) use super::overflow::{Overflow, SendError};
pub(crate) use lazy::LazyQueue;
use run::{Group, Run, UNCOUNTED};

/// A stretch of the queue before its open run.
#[derive(Debug)]
enum Entry {
    /// A run closed by a keyed message queued after it.
    Run(Run),
    /// A message that a newer one with the same key may replace.
    Keyed { wire: WireBuf, key: u64 },
}

/// What a successful push did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    Queued,
    Replaced,
}

/// Bounded queue of encoded messages, in send order: the closed `entries`,
/// then the open run `tail`, where messages that cannot be replaced go.
///
/// The tail is a field of its own, not the back of `entries`, so that a
/// send finds it without a lookup and a run written whole keeps its
/// buffers in place. The front (the first entry, or the tail when there is
/// none) may be partly written; a keyed message there is never replaced.
///
/// A batch handed out by [`share_chunks`](Self::share_chunks) is *in
/// flight* until [`written`](Self::written) reports what became of it: a
/// driver writes it with the queue out of reach (its session's lock
/// released), while other tasks keep queueing. Sends only ever append
/// after it, and a keyed message with any of its bytes in flight is not
/// replaced either, so the bytes `written` consumes are the bytes that
/// were written.
#[derive(Debug)]
pub(crate) struct SendQueue {
    entries: VecDeque<Entry>,
    tail: Run,
    max_messages: usize,
    max_bytes: usize,
    /// Counted messages and their wire bytes (written parts included until
    /// a message is whole on the wire).
    messages: usize,
    bytes: usize,
    /// The part of `messages` and `bytes` in `entries`.
    entry_messages: usize,
    entry_bytes: usize,
    /// Wire bytes still to write, control frames included.
    unwritten: usize,
    /// Bytes of the front message already written.
    front_written: usize,
    /// Bytes from the front shared with a writer by
    /// [`share_chunks`](Self::share_chunks) and not yet reported
    /// [`written`](Self::written): no message among them is replaced.
    in_flight: usize,
    /// Spare buffers from drained entries, reused to avoid allocating.
    spare: Vec<WireBuf>,
    /// Spare group lists from drained runs.
    spare_groups: Vec<Vec<Group>>,
}

/// How many drained buffers to keep for reuse.
const SPARE_BUFFERS: usize = 4;

impl SendQueue {
    pub(crate) fn new(max_messages: usize, max_bytes: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            tail: Run::default(),
            max_messages,
            max_bytes,
            messages: 0,
            bytes: 0,
            entry_messages: 0,
            entry_bytes: 0,
            unwritten: 0,
            front_written: 0,
            in_flight: 0,
            spare: Vec::new(),
            spare_groups: Vec::new(),
        }
    }

    /// Counted messages queued.
    #[inline]
    pub(crate) fn messages(&self) -> usize {
        self.messages
    }

    /// Counted wire bytes queued.
    #[inline]
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether nothing at all waits to be written.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.unwritten == 0
    }

    /// Wire bytes still to write.
    pub(crate) fn unwritten(&self) -> usize {
        self.unwritten
    }

    fn fresh_wire(&mut self) -> WireBuf {
        self.spare.pop().unwrap_or_default()
    }

    #[inline]
    fn full(&self, len: usize) -> bool {
        self.messages >= self.max_messages || self.bytes + len > self.max_bytes
    }

    fn queue_full(&self, len: usize) -> SendError {
        SendError::QueueFull {
            queued_messages: self.messages,
            queued_bytes: self.bytes,
            message_bytes: len,
            max_messages: self.max_messages,
            max_bytes: self.max_bytes,
        }
    }

    /// Encodes a message with `encode` and queues it under `policy`.
    /// `Err(None)` means the policy is `Disconnect` and the queue is full.
    #[inline]
    pub(crate) fn push<F>(
        &mut self,
        encode: F,
        policy: Overflow,
    ) -> Result<Pushed, Option<SendError>>
    where
        F: FnOnce(&mut WireBuf) -> Result<(), FrameError>,
    {
        match policy {
            Overflow::KeepLatest(key) => self.push_keyed(encode, key),
            Overflow::Reject | Overflow::Disconnect => {
                let before = self.tail.wire.len();
                encode(&mut self.tail.wire).map_err(|e| Some(SendError::Frame(e)))?;
                self.commit(before, policy)
            }
        }
    }

    /// The open run's buffer, to encode one message into (after the
    /// messages queued so far); follow with [`commit`](Self::commit).
    #[inline]
    pub(crate) fn tail_wire(&mut self) -> &mut WireBuf {
        &mut self.tail.wire
    }

    /// Queues the message just encoded into [`tail_wire`](Self::tail_wire)
    /// (its bytes from `before` on) under `policy`, which is not
    /// `KeepLatest`; a full queue takes it back. `Err(None)` means the
    /// policy is `Disconnect` and the queue is full.
    #[inline]
    pub(crate) fn commit(
        &mut self,
        before: usize,
        policy: Overflow,
    ) -> Result<Pushed, Option<SendError>> {
        let len = self.tail.wire.len() - before;
        if self.full(len) {
            return Err(self.refuse(before, len, policy));
        }
        self.tail.record(len);
        self.messages += 1;
        self.bytes += len;
        self.unwritten += len;
        Ok(Pushed::Queued)
    }

    /// Queues the message just encoded into [`tail_wire`](Self::tail_wire)
    /// (its bytes from `before` on) past the limits: counted like any
    /// other, but never refused (a session's last word before it closes).
    pub(crate) fn commit_unbounded(&mut self, before: usize) {
        let len = self.tail.wire.len() - before;
        self.tail.record(len);
        self.messages += 1;
        self.bytes += len;
        self.unwritten += len;
    }

    /// Takes back a message of `len` bytes a full queue refuses, encoded
    /// into the tail from `before` on.
    #[cold]
    #[inline(never)]
    fn refuse(&mut self, before: usize, len: usize, policy: Overflow) -> Option<SendError> {
        self.tail.wire.truncate(before);
        match policy {
            Overflow::Disconnect => None,
            _ => Some(self.queue_full(len)),
        }
    }

    /// Queues a control frame, outside the limits.
    pub(crate) fn push_control<F>(&mut self, encode: F) -> Result<(), FrameError>
    where
        F: FnOnce(&mut WireBuf) -> Result<(), FrameError>,
    {
        let before = self.tail.wire.len();
        encode(&mut self.tail.wire)?;
        let len = self.tail.wire.len() - before;
        self.tail.record(len | UNCOUNTED);
        self.unwritten += len;
        Ok(())
    }

    fn push_keyed<F>(&mut self, encode: F, key: u64) -> Result<Pushed, Option<SendError>>
    where
        F: FnOnce(&mut WireBuf) -> Result<(), FrameError>,
    {
        let mut wire = self.fresh_wire();
        if let Err(e) = encode(&mut wire) {
            self.recycle(wire);
            return Err(Some(SendError::Frame(e)));
        }
        let len = wire.len();
        let old = self
            .replaceable(key)
            .and_then(|i| match &mut self.entries[i] {
                Entry::Keyed { wire, .. } => Some(wire),
                Entry::Run(_) => None,
            });
        if let Some(old) = old {
            let old_len = old.len();
            if self.bytes - old_len + len <= self.max_bytes {
                let replaced = std::mem::replace(old, wire);
                self.bytes = self.bytes - old_len + len;
                self.entry_bytes = self.entry_bytes - old_len + len;
                self.unwritten = self.unwritten - old_len + len;
                self.recycle(replaced);
                return Ok(Pushed::Replaced);
            }
        }
        if self.full(len) {
            self.recycle(wire);
            return Err(Some(self.queue_full(len)));
        }
        self.close_tail();
        self.messages += 1;
        self.bytes += len;
        self.entry_messages += 1;
        self.entry_bytes += len;
        self.unwritten += len;
        self.entries.push_back(Entry::Keyed { wire, key });
        Ok(Pushed::Queued)
    }

    /// Where the keyed message with `key` is that a newer one may replace:
    /// not begun on the wire, and with none of its bytes in flight. (The
    /// tail is never keyed, so a partly written front to skip can only be
    /// the first entry.)
    fn replaceable(&self, key: u64) -> Option<usize> {
        // What is written or in flight ends before an entry whose first
        // byte comes `protected` bytes or more after the front.
        let protected = self.in_flight.max(usize::from(self.front_written > 0));
        let mut begins = 0;
        self.entries.iter().position(|e| {
            let (len, k) = match e {
                Entry::Run(run) => (run.wire.len(), None),
                Entry::Keyed { wire, key } => (wire.len(), Some(*key)),
            };
            let at = begins;
            begins += len;
            k == Some(key) && at >= protected
        })
    }

    /// Moves the tail, if it holds anything, to the back of the entries,
    /// so that what is queued next goes after it.
    fn close_tail(&mut self) {
        if self.tail.wire.is_empty() {
            return;
        }
        let fresh = Run {
            wire: self.fresh_wire(),
            groups: self.spare_groups.pop().unwrap_or_default(),
            ..Run::default()
        };
        let mut run = std::mem::replace(&mut self.tail, fresh);
        run.counted = self.messages - self.entry_messages;
        run.counted_bytes = self.bytes - self.entry_bytes;
        self.entry_messages = self.messages;
        self.entry_bytes = self.bytes;
        self.entries.push_back(Entry::Run(run));
    }

    /// Keeps a drained entry's buffers for reuse.
    fn recycle_entry(&mut self, entry: Entry) {
        match entry {
            Entry::Run(Run {
                wire, mut groups, ..
            }) => {
                self.recycle(wire);
                if self.spare_groups.len() < SPARE_BUFFERS {
                    groups.clear();
                    self.spare_groups.push(groups);
                }
            }
            Entry::Keyed { wire, .. } => self.recycle(wire),
        }
    }

    fn recycle(&mut self, mut wire: WireBuf) {
        if self.spare.len() < SPARE_BUFFERS {
            wire.clear();
            self.spare.push(wire);
        }
    }

    /// Fills `dst` with up to `max_bytes` of the waiting bytes, in order;
    /// returns the slices filled.
    pub(crate) fn io_slices<'a>(&'a self, dst: &mut [IoSlice<'a>], max_bytes: usize) -> usize {
        let mut n = 0;
        let mut total = 0;
        let wires = self.entries.iter().map(|e| match e {
            Entry::Run(Run { wire, .. }) | Entry::Keyed { wire, .. } => wire,
        });
        let slices = wires
            .chain(std::iter::once(&self.tail.wire))
            .flat_map(WireBuf::slices);
        for slice in slices {
            if n == dst.len() || total == max_bytes {
                break;
            }
            // The batch ends at `max_bytes`, inside a slice if need be.
            let take = slice.len().min(max_bytes - total);
            total += take;
            dst[n] = IoSlice::new(&slice[..take]);
            n += 1;
        }
        n
    }

    /// The same bytes as [`io_slices`](Self::io_slices), appended to `dst`
    /// as shared chunks until it holds `max_chunks`; returns the bytes
    /// appended. They are in flight (see the type's docs) until
    /// [`written`](Self::written) is called.
    pub(crate) fn share_chunks(
        &mut self,
        dst: &mut Vec<bytes::Bytes>,
        max_bytes: usize,
        max_chunks: usize,
    ) -> usize {
        let mut total = 0;
        let wires = self.entries.iter_mut().map(|e| match e {
            Entry::Run(Run { wire, .. }) | Entry::Keyed { wire, .. } => wire,
        });
        for wire in wires.chain(std::iter::once(&mut self.tail.wire)) {
            if total == max_bytes || dst.len() >= max_chunks {
                break;
            }
            total += wire.share_chunks(max_bytes - total, max_chunks, dst);
        }
        self.in_flight = total;
        total
    }

    /// Consumes `n` written bytes from the front; returns how many whole
    /// counted messages were completed. `n` beyond what waits is ignored.
    /// Ends the flight of a batch from [`share_chunks`](Self::share_chunks):
    /// what of it was not written is queued as before.
    pub(crate) fn written(&mut self, mut n: usize) -> usize {
        self.in_flight = 0;
        let mut done = 0;
        while n > 0 {
            let Some(front) = self.entries.front_mut() else {
                // The tail is the front, and the entries hold nothing.
                return done + self.tail_written(n);
            };
            let (k, finished, completed, completed_bytes) = match front {
                Entry::Keyed { wire, .. } => {
                    let left = wire.len();
                    let k = n.min(left);
                    wire.advance(k);
                    self.front_written += k;
                    if k == left {
                        let bytes = std::mem::take(&mut self.front_written);
                        (k, true, 1, bytes)
                    } else {
                        (k, false, 0, 0)
                    }
                }
                Entry::Run(run) => {
                    let left = run.wire.len();
                    if n >= left {
                        // The whole run is on the wire: settle it at once.
                        self.front_written = 0;
                        (left, true, run.counted, run.counted_bytes)
                    } else {
                        let (m, b) = run.written_part(n, &mut self.front_written);
                        run.counted -= m;
                        run.counted_bytes -= b;
                        (n, false, m, b)
                    }
                }
            };
            n -= k;
            self.unwritten -= k;
            self.messages -= completed;
            self.bytes -= completed_bytes;
            self.entry_messages -= completed;
            self.entry_bytes -= completed_bytes;
            done += completed;
            if finished {
                if let Some(entry) = self.entries.pop_front() {
                    self.recycle_entry(entry);
                }
            }
        }
        done
    }

    /// [`written`](Self::written) with the tail at the front.
    fn tail_written(&mut self, n: usize) -> usize {
        let left = self.tail.wire.len();
        if n >= left {
            // The whole run is on the wire: settle it at once, keeping its
            // buffers for the next messages.
            let done = self.messages - self.entry_messages;
            self.messages = self.entry_messages;
            self.bytes = self.entry_bytes;
            self.unwritten -= left;
            self.front_written = 0;
            self.tail.clear();
            return done;
        }
        let (done, done_bytes) = self.tail.written_part(n, &mut self.front_written);
        self.unwritten -= n;
        self.messages -= done;
        self.bytes -= done_bytes;
        done
    }

    /// Frees the spare buffers kept for reuse (for idle connections).
    pub(crate) fn release_spares(&mut self) {
        self.spare = Vec::new();
        self.spare_groups = Vec::new();
        if self.entries.is_empty() {
            self.entries = VecDeque::new();
            if self.tail.wire.is_empty() {
                self.tail = Run::default();
            }
        }
    }

    /// Drops everything; returns how many counted messages were dropped.
    pub(crate) fn clear(&mut self) -> usize {
        let dropped = self.messages;
        self.entries.clear();
        self.tail.clear();
        self.messages = 0;
        self.bytes = 0;
        self.entry_messages = 0;
        self.entry_bytes = 0;
        self.unwritten = 0;
        self.front_written = 0;
        self.in_flight = 0;
        dropped
    }
}
