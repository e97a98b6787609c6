//! A run: messages that cannot be replaced, encoded back to back, with
//! their lengths run-length encoded for partial writes.

use crate::frame::WireBuf;

/// Marks a control frame's length in a [`Group`]: it does not count
/// against the limits. No wire length comes near this bit.
pub(super) const UNCOUNTED: usize = 1 << (usize::BITS - 1);

/// How many settled groups a run keeps before dropping them, while it is
/// never written whole (a writer that never catches up).
const SETTLED_KEPT: usize = 64;

/// Consecutive messages of one wire length in a run.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Group {
    /// The wire length, with [`UNCOUNTED`] set for control frames.
    pub(super) len: usize,
    /// Messages not yet whole on the wire.
    pub(super) count: usize,
}

/// Messages that cannot be replaced, encoded back to back: small ones share
/// contiguous chunks, so a batch of them is one slice to write.
///
/// Message lengths are kept run-length encoded, for partial writes only (a
/// run written whole is settled from the counters): a message as long as
/// the one before it costs one increment, any other one a `Vec` push.
#[derive(Debug, Default)]
pub(super) struct Run {
    pub(super) wire: WireBuf,
    /// Closed groups, in order; those before `first` are settled.
    pub(super) groups: Vec<Group>,
    pub(super) first: usize,
    /// The last group, which a message of the same length joins.
    pub(super) open: Group,
    /// Counted messages not yet whole on the wire, and their bytes. Kept
    /// only once the run is closed: the tail's are the queue's totals less
    /// those of the entries.
    pub(super) counted: usize,
    pub(super) counted_bytes: usize,
}

impl Run {
    /// Records a message of `len` wire bytes (`UNCOUNTED` set for a
    /// control frame).
    #[inline(always)]
    pub(super) fn record(&mut self, len: usize) {
        if self.open.len == len {
            self.open.count += 1;
        } else {
            self.start_group(len);
        }
    }

    pub(super) fn start_group(&mut self, len: usize) {
        if self.open.count > 0 {
            self.groups.push(self.open);
        }
        self.open = Group { len, count: 1 };
    }

    /// Consumes `k` written bytes, fewer than the run holds; returns the
    /// counted messages completed and their bytes. `front_written` carries
    /// the bytes of the front message written so far.
    pub(super) fn written_part(&mut self, k: usize, front_written: &mut usize) -> (usize, usize) {
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
    pub(super) fn clear(&mut self) {
        self.wire.clear();
        self.groups.clear();
        self.first = 0;
        self.open = Group::default();
        self.counted = 0;
        self.counted_bytes = 0;
    }
}
