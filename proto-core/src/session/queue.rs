//! The bounded send queue and its overflow policies.

use std::collections::VecDeque;
use std::io::IoSlice;

use crate::frame::{FrameError, WireBuf};

/// What a send does when the queue is full.
///
/// Nothing is ever dropped silently: a send either queues, replaces an
/// older message the caller marked as replaceable, fails with an error, or
/// closes the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Overflow {
    /// The send fails with [`SendError::QueueFull`]; nothing is queued.
    Reject,
    /// The session closes with
    /// [`CloseReason::SlowConsumer`](super::CloseReason::SlowConsumer).
    Disconnect,
    /// A queued message with the same key, not yet begun on the wire, is
    /// replaced by this one (in its place in the queue); with none to
    /// replace, this acts like `Reject` when the queue is full. For state
    /// where only the latest value matters, such as positions.
    KeepLatest(u64),
}

/// Why a send was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The queue is at its limit (by count or by bytes).
    #[error(
        "send queue full: {queued_messages} messages / {queued_bytes} bytes queued, \
         limits {} messages / {max_bytes} bytes, message of {message_bytes} bytes",
        count_limit(*.max_messages)
    )]
    QueueFull {
        /// Messages queued.
        queued_messages: usize,
        /// Wire bytes queued.
        queued_bytes: usize,
        /// The message's wire bytes.
        message_bytes: usize,
        /// The configured `max_queue_messages`.
        max_messages: usize,
        /// The configured `max_queue_bytes`.
        max_bytes: usize,
    },
    /// The payload cannot be framed (too large, or not encodable).
    #[error("cannot frame the message: {0}")]
    Frame(#[from] FrameError),
    /// The session is closing or closed and accepts no new sends.
    #[error("session is closing or closed")]
    Closed,
    /// A [`SharedFrame`](super::SharedFrame) built for another configuration
    /// (heartbeats on in one, off in the other).
    #[error("shared frame was built for a session configuration with heartbeats {}", if *.heartbeats { "on" } else { "off" })]
    IncompatibleFrame {
        /// Whether the frame carries the heartbeat control prefix.
        heartbeats: bool,
    },
    /// The hub's memory budget is spent and this session holds more than
    /// its fair share of it ([`HubConfig::memory_budget`](crate::hub::HubConfig::memory_budget)).
    #[error(
        "hub memory budget spent: {hub_queued_bytes} bytes queued across sessions, budget \
         {budget}; this session holds {queued_bytes} bytes, message of {message_bytes} bytes"
    )]
    OverBudget {
        /// Bytes this session has queued.
        queued_bytes: usize,
        /// The message's payload bytes.
        message_bytes: usize,
        /// Bytes queued across the hub's sessions (as charged).
        hub_queued_bytes: usize,
        /// The configured `memory_budget`.
        budget: usize,
    },
}

/// A message-count limit for display: `usize::MAX` is no limit.
fn count_limit(max: usize) -> String {
    if max == usize::MAX {
        "unlimited".to_owned()
    } else {
        max.to_string()
    }
}

/// Marks a control frame's length in a [`Group`]: it does not count
/// against the limits. No wire length comes near this bit.
const UNCOUNTED: usize = 1 << (usize::BITS - 1);

/// How many settled groups a run keeps before dropping them, while it is
/// never written whole (a writer that never catches up).
const SETTLED_KEPT: usize = 64;

/// Consecutive messages of one wire length in a run.
#[derive(Debug, Clone, Copy, Default)]
struct Group {
    /// The wire length, with [`UNCOUNTED`] set for control frames.
    len: usize,
    /// Messages not yet whole on the wire.
    count: usize,
}

/// Messages that cannot be replaced, encoded back to back: small ones share
/// contiguous chunks, so a batch of them is one slice to write.
///
/// Message lengths are kept run-length encoded, for partial writes only (a
/// run written whole is settled from the counters): a message as long as
/// the one before it costs one increment, any other one a `Vec` push.
#[derive(Debug, Default)]
struct Run {
    wire: WireBuf,
    /// Closed groups, in order; those before `first` are settled.
    groups: Vec<Group>,
    first: usize,
    /// The last group, which a message of the same length joins.
    open: Group,
    /// Counted messages not yet whole on the wire, and their bytes. Kept
    /// only once the run is closed: the tail's are the queue's totals less
    /// those of the entries.
    counted: usize,
    counted_bytes: usize,
}

impl Run {
    /// Records a message of `len` wire bytes (`UNCOUNTED` set for a
    /// control frame).
    #[inline(always)]
    fn record(&mut self, len: usize) {
        if self.open.len == len {
            self.open.count += 1;
        } else {
            self.start_group(len);
        }
    }

    fn start_group(&mut self, len: usize) {
        if self.open.count > 0 {
            self.groups.push(self.open);
        }
        self.open = Group { len, count: 1 };
    }

    /// Consumes `k` written bytes, fewer than the run holds; returns the
    /// counted messages completed and their bytes. `front_written` carries
    /// the bytes of the front message written so far.
    fn written_part(&mut self, k: usize, front_written: &mut usize) -> (usize, usize) {
        self.wire.advance(k);
        *front_written += k;
        let (mut done, mut done_bytes) = (0, 0);
        loop {
            let closed = self.first < self.groups.len();
            let group = if closed {
                &mut self.groups[self.first]
            } else {
                &mut self.open
            };
            let len = group.len & !UNCOUNTED;
            let whole = match len {
                0 => group.count,
                _ => (*front_written / len).min(group.count),
            };
            *front_written -= whole * len;
            group.count -= whole;
            if group.len & UNCOUNTED == 0 {
                done += whole;
                done_bytes += whole * len;
            }
            if group.count > 0 || !closed {
                break;
            }
            self.first += 1;
        }
        // A run that is never written whole drops its settled groups now
        // and then, in amortized constant time.
        if self.first >= SETTLED_KEPT && self.first * 2 >= self.groups.len() {
            self.groups.drain(..self.first);
            self.first = 0;
        }
        (done, done_bytes)
    }

    /// Forgets everything, keeping the buffers.
    fn clear(&mut self) {
        self.wire.clear();
        self.groups.clear();
        self.first = 0;
        self.open = Group::default();
        self.counted = 0;
        self.counted_bytes = 0;
    }
}

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
        // The tail is never keyed, so a partly written front to skip can
        // only be the first entry.
        let start = usize::from(self.front_written > 0);
        let old = self.entries.iter_mut().skip(start).find_map(|e| match e {
            Entry::Keyed { wire, key: k } if *k == key => Some(wire),
            _ => None,
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
    /// as shared chunks.
    pub(crate) fn share_chunks(&mut self, dst: &mut Vec<bytes::Bytes>, max_bytes: usize) {
        let mut total = 0;
        let wires = self.entries.iter_mut().map(|e| match e {
            Entry::Run(Run { wire, .. }) | Entry::Keyed { wire, .. } => wire,
        });
        for wire in wires.chain(std::iter::once(&mut self.tail.wire)) {
            if total == max_bytes {
                break;
            }
            total += wire.share_chunks(max_bytes - total, dst);
        }
    }

    /// Consumes `n` written bytes from the front; returns how many whole
    /// counted messages were completed. `n` beyond what waits is ignored.
    pub(crate) fn written(&mut self, mut n: usize) -> usize {
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
        dropped
    }
}

#[cfg(test)]
mod tests {
    //! The queue against a model: a plain list of messages with their
    //! bytes, written front to back.
    use std::collections::VecDeque;

    use bytes::Bytes;
    use proptest::prelude::*;

    use super::{Overflow, Pushed, SendQueue};

    #[derive(Debug, Clone)]
    enum Op {
        /// A message of this many bytes; `Some(key)` for `KeepLatest`.
        Send {
            len: usize,
            key: Option<u64>,
            disconnect: bool,
        },
        Control {
            len: usize,
        },
        Write(usize),
        Clear,
        Release,
    }

    fn op() -> impl Strategy<Value = Op> {
        // No empty messages: a frame has a header, and the model would
        // need the queue's exact moment of settling an empty one.
        let len = prop_oneof![8 => 1..24usize, 1 => 250..300usize];
        prop_oneof![
            6 => (len, prop::option::weighted(0.3, 0..3u64), any::<bool>())
                .prop_map(|(len, key, disconnect)| Op::Send { len, key, disconnect }),
            1 => (1..4usize).prop_map(|len| Op::Control { len }),
            4 => (0..80usize).prop_map(Op::Write),
            1 => Just(Op::Clear),
            1 => Just(Op::Release),
        ]
    }

    #[derive(Debug)]
    struct Msg {
        bytes: Vec<u8>,
        /// Bytes already written.
        written: usize,
        counted: bool,
        key: Option<u64>,
    }

    #[derive(Default)]
    struct Model {
        msgs: VecDeque<Msg>,
    }

    impl Model {
        fn counted(&self) -> (usize, usize) {
            let counted = self.msgs.iter().filter(|m| m.counted);
            (
                counted.clone().count(),
                counted.map(|m| m.bytes.len()).sum(),
            )
        }

        fn unwritten(&self) -> Vec<u8> {
            self.msgs
                .iter()
                .flat_map(|m| m.bytes[m.written..].iter().copied())
                .collect()
        }

        fn written(&mut self, mut n: usize) -> usize {
            let mut done = 0;
            while let Some(front) = self.msgs.front_mut() {
                let k = n.min(front.bytes.len() - front.written);
                front.written += k;
                n -= k;
                if front.written < front.bytes.len() {
                    break;
                }
                done += usize::from(front.counted);
                self.msgs.pop_front();
                if n == 0 {
                    break;
                }
            }
            done
        }
    }

    const MAX_MESSAGES: usize = 6;
    const MAX_BYTES: usize = 400;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn queue_matches_a_list_of_messages(ops in prop::collection::vec(op(), 1..120)) {
            let mut q = SendQueue::new(MAX_MESSAGES, MAX_BYTES);
            let mut model = Model::default();
            let mut next = 0u8;
            for (i, op) in ops.into_iter().enumerate() {
                match op {
                    Op::Send { len, key, disconnect } => {
                        next = next.wrapping_add(1);
                        let bytes = vec![next; len];
                        let payload = Bytes::from(bytes.clone());
                        let encode = |wire: &mut crate::frame::WireBuf| {
                            wire.put_bytes(payload);
                            Ok(())
                        };
                        let (counted_now, bytes_now) = model.counted();
                        let full = counted_now >= MAX_MESSAGES || bytes_now + len > MAX_BYTES;
                        match key {
                            Some(key) => {
                                let got = q.push(encode, Overflow::KeepLatest(key));
                                // Not begun on the wire, same key: replaced in
                                // place if the bytes limit allows.
                                let old = model.msgs.iter_mut().find(|m| {
                                    m.key == Some(key) && m.written == 0
                                });
                                let replace = old.filter(|m| {
                                    bytes_now - m.bytes.len() + len <= MAX_BYTES
                                });
                                if let Some(old) = replace {
                                    old.bytes = bytes;
                                    prop_assert_eq!(got, Ok(Pushed::Replaced));
                                } else if full {
                                    prop_assert!(matches!(got, Err(Some(_))), "{:?}", got);
                                } else {
                                    prop_assert_eq!(got, Ok(Pushed::Queued));
                                    model.msgs.push_back(Msg { bytes, written: 0, counted: true, key: Some(key) });
                                }
                            }
                            None => {
                                let policy = if disconnect { Overflow::Disconnect } else { Overflow::Reject };
                                // Both ways in: the closure, and the open
                                // run's buffer as `Session::send` uses it.
                                let got = if i % 2 == 0 {
                                    q.push(encode, policy)
                                } else {
                                    let wire = q.tail_wire();
                                    let before = wire.len();
                                    encode(wire).expect("put_bytes cannot fail");
                                    q.commit(before, policy)
                                };
                                if full {
                                    // `Err(None)`: the policy disconnects.
                                    prop_assert_eq!(got.map_err(|e| e.is_some()), Err(!disconnect));
                                } else {
                                    prop_assert_eq!(got, Ok(Pushed::Queued));
                                    model.msgs.push_back(Msg { bytes, written: 0, counted: true, key: None });
                                }
                            }
                        }
                    }
                    Op::Control { len } => {
                        let bytes = vec![0xff; len];
                        let payload = Bytes::from(bytes.clone());
                        q.push_control(|wire| {
                            wire.put_bytes(payload);
                            Ok(())
                        })
                        .expect("put_bytes cannot fail");
                        model.msgs.push_back(Msg { bytes, written: 0, counted: false, key: None });
                    }
                    Op::Write(n) => {
                        let n = n.min(q.unwritten());
                        prop_assert_eq!(q.written(n), model.written(n));
                    }
                    Op::Clear => {
                        prop_assert_eq!(q.clear(), model.counted().0);
                        model.msgs.clear();
                    }
                    Op::Release => q.release_spares(),
                }
                // Counted totals include the written part of a message
                // until it is whole on the wire.
                prop_assert_eq!((q.messages(), q.bytes()), model.counted());
                let unwritten = model.unwritten();
                prop_assert_eq!(q.unwritten(), unwritten.len());
                prop_assert_eq!(q.is_empty(), unwritten.is_empty());
                let mut slices = [std::io::IoSlice::new(&[]); 64];
                let n = q.io_slices(&mut slices, usize::MAX);
                let offered: Vec<u8> = slices[..n].iter().flat_map(|s| s.iter().copied()).collect();
                prop_assert_eq!(&offered, &unwritten);
                let mut chunks = Vec::new();
                q.share_chunks(&mut chunks, usize::MAX);
                prop_assert_eq!(chunks.concat(), unwritten);
            }
        }
    }

    /// A writer that never catches up: the run is never written whole, and
    /// its settled length records must not pile up.
    #[test]
    fn a_run_never_written_whole_keeps_few_records() {
        let mut q = SendQueue::new(usize::MAX, usize::MAX);
        for i in 0..100_000usize {
            // Lengths that vary, so that every message is a record.
            let len = 1 + i % 7;
            q.push(
                |wire| {
                    wire.put_slice(&vec![1; len]);
                    Ok(())
                },
                Overflow::Reject,
            )
            .expect("no limits");
            // Leave 2 bytes behind every time.
            q.written(q.unwritten().saturating_sub(2));
        }
        assert!(
            q.tail.groups.len() < 1_000,
            "{} groups",
            q.tail.groups.len()
        );
        assert_eq!(q.messages(), 1);
    }
}
