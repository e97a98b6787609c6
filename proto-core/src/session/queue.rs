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
         limits {max_messages} messages / {max_bytes} bytes, message of {message_bytes} bytes"
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
}

/// One message's place in a run: its wire length and whether it counts
/// against the limits (control frames do not).
#[derive(Debug, Clone, Copy)]
struct Msg {
    len: usize,
    counted: bool,
}

/// A stretch of the queue.
#[derive(Debug)]
enum Entry {
    /// Messages that cannot be replaced, encoded back to back: small ones
    /// share contiguous chunks, so a batch of them is one slice to write.
    Run {
        wire: WireBuf,
        msgs: VecDeque<Msg>,
        /// Counted messages in `msgs` and their bytes, so that a run written
        /// whole is settled in one step.
        counted: usize,
        counted_bytes: usize,
    },
    /// A message that a newer one with the same key may replace.
    Keyed { wire: WireBuf, key: u64 },
}

impl Entry {
    fn wire(&self) -> &WireBuf {
        match self {
            Self::Run { wire, .. } | Self::Keyed { wire, .. } => wire,
        }
    }
}

/// The parts of the run at the back: its bytes, its messages, and its
/// counted messages and bytes.
type RunRefs<'a> = (
    &'a mut WireBuf,
    &'a mut VecDeque<Msg>,
    &'a mut usize,
    &'a mut usize,
);

/// What a successful push did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    Queued,
    Replaced,
}

/// Bounded queue of encoded messages, in send order.
///
/// The front entry may be partly written; a keyed message there is never
/// replaced.
#[derive(Debug)]
pub(crate) struct SendQueue {
    entries: VecDeque<Entry>,
    max_messages: usize,
    max_bytes: usize,
    /// Counted messages and their wire bytes (written parts included until
    /// a message is whole on the wire).
    messages: usize,
    bytes: usize,
    /// Wire bytes still to write, control frames included.
    unwritten: usize,
    /// Bytes of the front message already written.
    front_written: usize,
    /// Spare buffers from drained entries, reused to avoid allocating.
    spare: Vec<WireBuf>,
    /// Spare message lists from drained runs.
    spare_msgs: Vec<VecDeque<Msg>>,
}

/// How many drained buffers to keep for reuse.
const SPARE_BUFFERS: usize = 4;

impl SendQueue {
    pub(crate) fn new(max_messages: usize, max_bytes: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            max_messages,
            max_bytes,
            messages: 0,
            bytes: 0,
            unwritten: 0,
            front_written: 0,
            spare: Vec::new(),
            spare_msgs: Vec::new(),
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
                let (messages, bytes) = (self.messages, self.bytes);
                let (max_messages, max_bytes) = (self.max_messages, self.max_bytes);
                let (wire, msgs, counted, counted_bytes) = self.back_run();
                let before = wire.len();
                encode(wire).map_err(|e| Some(SendError::Frame(e)))?;
                let len = wire.len() - before;
                if messages >= max_messages || bytes + len > max_bytes {
                    wire.truncate(before);
                    let empty = msgs.is_empty();
                    let err = self.queue_full(len);
                    if empty {
                        self.drop_back_run();
                    }
                    return Err(match policy {
                        Overflow::Disconnect => None,
                        _ => Some(err),
                    });
                }
                msgs.push_back(Msg { len, counted: true });
                *counted += 1;
                *counted_bytes += len;
                self.messages += 1;
                self.bytes += len;
                self.unwritten += len;
                Ok(Pushed::Queued)
            }
        }
    }

    /// Queues a control frame, outside the limits.
    pub(crate) fn push_control<F>(&mut self, encode: F) -> Result<(), FrameError>
    where
        F: FnOnce(&mut WireBuf) -> Result<(), FrameError>,
    {
        let (wire, ..) = self.back_run();
        let before = wire.len();
        encode(wire)?;
        let len = wire.len() - before;
        self.commit_run(len, false);
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
                self.unwritten = self.unwritten - old_len + len;
                self.recycle(replaced);
                return Ok(Pushed::Replaced);
            }
        }
        if self.full(len) {
            self.recycle(wire);
            return Err(Some(self.queue_full(len)));
        }
        self.messages += 1;
        self.bytes += len;
        self.unwritten += len;
        self.entries.push_back(Entry::Keyed { wire, key });
        Ok(Pushed::Queued)
    }

    /// The run at the back, opened if the back is not a run.
    #[inline]
    fn back_run(&mut self) -> RunRefs<'_> {
        if !matches!(self.entries.back(), Some(Entry::Run { .. })) {
            let wire = self.fresh_wire();
            let msgs = self.spare_msgs.pop().unwrap_or_default();
            self.entries.push_back(Entry::Run {
                wire,
                msgs,
                counted: 0,
                counted_bytes: 0,
            });
        }
        match self.entries.back_mut() {
            Some(Entry::Run {
                wire,
                msgs,
                counted,
                counted_bytes,
            }) => (wire, msgs, counted, counted_bytes),
            // Invariant: a run was pushed just above if the back was not one.
            _ => unreachable!("the back entry is a run"),
        }
    }

    /// Records a message of `len` bytes just encoded into the back run.
    #[inline]
    fn commit_run(&mut self, len: usize, count: bool) {
        if let Some(Entry::Run {
            msgs,
            counted,
            counted_bytes,
            ..
        }) = self.entries.back_mut()
        {
            msgs.push_back(Msg {
                len,
                counted: count,
            });
            if count {
                *counted += 1;
                *counted_bytes += len;
            }
        }
        if count {
            self.messages += 1;
            self.bytes += len;
        }
        self.unwritten += len;
    }

    /// Removes the (empty) run at the back.
    fn drop_back_run(&mut self) {
        if let Some(entry) = self.entries.pop_back() {
            self.recycle_entry(entry);
        }
    }

    /// Keeps a drained entry's buffers for reuse.
    fn recycle_entry(&mut self, entry: Entry) {
        match entry {
            Entry::Run { wire, mut msgs, .. } => {
                self.recycle(wire);
                if self.spare_msgs.len() < SPARE_BUFFERS {
                    msgs.clear();
                    self.spare_msgs.push(msgs);
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
        let slices = self.entries.iter().flat_map(|e| e.wire().slices());
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
        for entry in &mut self.entries {
            if total == max_bytes {
                break;
            }
            let (Entry::Run { wire, .. } | Entry::Keyed { wire, .. }) = entry;
            total += wire.share_chunks(max_bytes - total, dst);
        }
    }

    /// Consumes `n` written bytes from the front; returns how many whole
    /// counted messages were completed. `n` beyond what waits is ignored.
    pub(crate) fn written(&mut self, mut n: usize) -> usize {
        let mut done = 0;
        while n > 0 {
            let Some(front) = self.entries.front_mut() else {
                break;
            };
            let finished = match front {
                Entry::Keyed { wire, .. } => {
                    let left = wire.len();
                    let k = n.min(left);
                    wire.advance(k);
                    n -= k;
                    self.unwritten -= k;
                    self.front_written += k;
                    if k == left {
                        self.messages -= 1;
                        self.bytes -= self.front_written;
                        self.front_written = 0;
                        done += 1;
                        true
                    } else {
                        false
                    }
                }
                Entry::Run {
                    wire,
                    msgs,
                    counted,
                    counted_bytes,
                } => {
                    let left = wire.len();
                    if n >= left {
                        // The whole run is on the wire: settle it at once.
                        wire.advance(left);
                        n -= left;
                        self.unwritten -= left;
                        self.front_written = 0;
                        self.messages -= *counted;
                        self.bytes -= *counted_bytes;
                        done += *counted;
                        true
                    } else {
                        wire.advance(n);
                        self.unwritten -= n;
                        self.front_written += n;
                        n = 0;
                        while let Some(msg) = msgs.front() {
                            if self.front_written < msg.len {
                                break;
                            }
                            self.front_written -= msg.len;
                            if msg.counted {
                                self.messages -= 1;
                                self.bytes -= msg.len;
                                *counted -= 1;
                                *counted_bytes -= msg.len;
                                done += 1;
                            }
                            msgs.pop_front();
                        }
                        false
                    }
                }
            };
            if finished {
                if let Some(entry) = self.entries.pop_front() {
                    self.recycle_entry(entry);
                }
            }
        }
        done
    }

    /// Frees the spare buffers kept for reuse (for idle connections).
    pub(crate) fn release_spares(&mut self) {
        self.spare = Vec::new();
        self.spare_msgs = Vec::new();
        if self.entries.is_empty() {
            self.entries = VecDeque::new();
        }
    }

    /// Drops everything; returns how many counted messages were dropped.
    pub(crate) fn clear(&mut self) -> usize {
        let dropped = self.messages;
        self.entries.clear();
        self.messages = 0;
        self.bytes = 0;
        self.unwritten = 0;
        self.front_written = 0;
        dropped
    }
}
