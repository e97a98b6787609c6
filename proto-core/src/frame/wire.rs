//! [`WireBuf`]: encoded frames waiting for one vectored write.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};

/// Payloads up to this many bytes are copied next to their header by
/// default; larger ones are queued as their own [`Bytes`] chunk.
pub const DEFAULT_COPY_LIMIT: usize = 256;

/// The staging buffer grows by at least this much at a time (see
/// [`WireBuf`]'s memory notes).
const MIN_STAGING_GROWTH: usize = 4 * 1024;

/// Wire bytes ready for one vectored write: a queue of chunks.
///
/// Headers and small payloads are copied into a staging buffer so that many
/// small frames make one contiguous chunk; a payload larger than the copy
/// limit is queued as the caller's own `Bytes`, without copying (a broadcast
/// shares one payload between all receivers this way).
///
/// **Cost and memory**: the staging buffer is allocated on first use (at
/// least 4 KiB) and reused. Writing through [`io_slices`](Self::io_slices)
/// and [`advance`](Self::advance) never cuts it, so once the writer keeps up,
/// encoding allocates nothing and touches no reference count beyond the
/// payload handles it is given. [`pop_chunk`](Self::pop_chunk) hands staged
/// bytes out as `Bytes` cut from the staging buffer; while such chunks are
/// alive, a full staging buffer is replaced by a fresh one.
///
/// ```
/// use bytes::Bytes;
/// use proto_core::frame::WireBuf;
///
/// let mut wire = WireBuf::with_copy_limit(4);
/// wire.put_slice(b"\x00\x05");
/// wire.put_bytes(Bytes::from_static(b"hello")); // 5 > 4: queued, not copied
/// assert_eq!(wire.chunk_count(), 2);
/// assert_eq!(wire.to_vec(), b"\x00\x05hello");
/// wire.advance(3);
/// assert_eq!(wire.to_vec(), b"ello");
/// ```
#[derive(Debug, Clone)]
pub struct WireBuf {
    /// The first bytes to write, when not empty: the open run that
    /// [`share_chunks`](Self::share_chunks) cut from the staging buffer
    /// while there was no closed chunk. Kept apart from `chunks`, so that
    /// a buffer whose writer only ever sees one run (an echo's replies)
    /// never allocates a chunk list.
    front: Bytes,
    /// Closed chunks, in write order (after `front`).
    chunks: VecDeque<Chunk>,
    /// The bytes of every [`Chunk::Staged`] in `chunks`, in order, then the
    /// `open` bytes staged since the last payload was queued.
    staging: BytesMut,
    /// Staged bytes not yet closed into a chunk: the last chunk to write.
    open: usize,
    len: usize,
    copy_limit: usize,
    /// The staging capacity last grown to, taken back in one piece when
    /// the buffer is empty again (see [`reserve_staging`](Self::reserve_staging)).
    peak: usize,
}

/// One slice of a vectored write. Never empty.
#[derive(Debug, Clone)]
enum Chunk {
    /// The next this-many bytes of the staging buffer. A run is recorded as
    /// a length, not cut off as `Bytes`, so that closing it costs no
    /// reference count and the staging buffer stays reusable.
    Staged(usize),
    /// A queued payload.
    Payload(Bytes),
}

impl Default for WireBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl WireBuf {
    /// An empty buffer with the [`DEFAULT_COPY_LIMIT`]. Allocates nothing
    /// until bytes are put in.
    pub fn new() -> Self {
        Self::with_copy_limit(DEFAULT_COPY_LIMIT)
    }

    /// An empty buffer that copies payloads of up to `copy_limit` bytes.
    pub fn with_copy_limit(copy_limit: usize) -> Self {
        Self {
            front: Bytes::new(),
            chunks: VecDeque::new(),
            staging: BytesMut::new(),
            open: 0,
            len: 0,
            copy_limit,
            peak: 0,
        }
    }

    /// Total bytes waiting.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no bytes are waiting.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of slices a vectored write of everything would take.
    pub fn chunk_count(&self) -> usize {
        usize::from(!self.front.is_empty()) + self.chunks.len() + usize::from(self.open > 0)
    }

    /// Appends a copy of `bytes`.
    #[inline]
    pub fn put_slice(&mut self, bytes: &[u8]) {
        self.reserve_staging(bytes.len());
        self.staging.extend_from_slice(bytes);
        self.open += bytes.len();
        self.len += bytes.len();
    }

    /// Appends `bytes`, copying it only when it is no longer than the copy
    /// limit.
    #[inline]
    pub fn put_bytes(&mut self, bytes: Bytes) {
        if bytes.len() <= self.copy_limit {
            self.put_slice(&bytes);
        } else {
            self.queue_payload(bytes);
        }
    }

    /// Appends `bytes` as a chunk of its own, never copied (shares one
    /// buffer between many queues, e.g. a frame broadcast to a room).
    /// Empty `bytes` append nothing.
    #[inline]
    pub fn put_shared(&mut self, bytes: Bytes) {
        if !bytes.is_empty() {
            self.queue_payload(bytes);
        }
    }

    /// Appends a header (`prefix` then `field`) and its payload, with one
    /// capacity check when the payload is copied too. Always inlined, so that
    /// a header of constant width is copied with a single move.
    #[inline(always)]
    pub(crate) fn put_header(&mut self, prefix: &[u8], field: &[u8], payload: Bytes) {
        let header = prefix.len() + field.len();
        let copy_payload = payload.len() <= self.copy_limit;
        let copied = if copy_payload {
            header + payload.len()
        } else {
            header
        };
        self.reserve_staging(copied);
        self.staging.extend_from_slice(prefix);
        self.staging.extend_from_slice(field);
        // Not `copied == header`: an empty payload is copied too, never
        // queued as an empty chunk.
        if !copy_payload {
            self.open += header;
            self.len += header;
            self.queue_payload(payload);
        } else {
            self.staging.extend_from_slice(&payload);
            self.open += copied;
            self.len += copied;
        }
    }

    /// Closes the open staged run and queues `payload` after it.
    #[inline]
    fn queue_payload(&mut self, payload: Bytes) {
        if self.open > 0 {
            self.chunks.push_back(Chunk::Staged(self.open));
            self.open = 0;
        }
        self.len += payload.len();
        self.chunks.push_back(Chunk::Payload(payload));
    }

    /// Makes room for `n` more staged bytes.
    ///
    /// The first bytes staged into an empty buffer first take back its
    /// whole allocation, if no chunk cut from it is still alive: the space
    /// before the written bytes is free again. Otherwise the next batch
    /// would start in what is left at the end of the allocation, and the
    /// growth in the middle of it would copy everything staged so far.
    #[inline(always)]
    fn reserve_staging(&mut self, n: usize) {
        if self.staging.is_empty() && self.staging.capacity() < self.peak {
            self.reclaim_staging();
        }
        if self.staging.capacity() - self.staging.len() < n {
            self.grow_staging(n);
        }
    }

    /// Takes back the staging allocation, without allocating or copying
    /// (nothing is staged), if nothing else shares it.
    #[inline(never)]
    fn reclaim_staging(&mut self) {
        // `false` (the allocation is shared, or was never grown): the
        // buffer stays as it is, and grows as usual.
        let _ = self.staging.try_reclaim(self.peak);
    }

    /// Grows the staging buffer by at least [`MIN_STAGING_GROWTH`], so that
    /// a buffer replaced while popped chunks hold the old one is not
    /// replaced again after every few headers.
    #[cold]
    #[inline(never)]
    fn grow_staging(&mut self, n: usize) {
        self.staging.reserve(n.max(MIN_STAGING_GROWTH));
        self.peak = self.staging.capacity();
    }

    /// The waiting bytes as slices, in write order.
    pub(crate) fn slices(&self) -> impl Iterator<Item = &[u8]> {
        let mut pos = 0;
        let closed = self.chunks.iter().map(move |chunk| match chunk {
            Chunk::Payload(bytes) => &bytes[..],
            Chunk::Staged(n) => {
                let run = &self.staging[pos..pos + n];
                pos += n;
                run
            }
        });
        let open = self.staging.len() - self.open;
        let front = (!self.front.is_empty()).then_some(&self.front[..]);
        front
            .into_iter()
            .chain(closed)
            .chain((self.open > 0).then(|| &self.staging[open..]))
    }

    /// Fills `dst` with the waiting bytes in order, for a vectored write;
    /// returns how many slices were filled.
    pub fn io_slices<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        for (slot, chunk) in dst.iter_mut().zip(self.slices()) {
            *slot = IoSlice::new(chunk);
            n += 1;
        }
        n
    }

    /// Removes the first `n` bytes (what a write accepted).
    ///
    /// `n` larger than [`len`](Self::len) removes everything.
    pub fn advance(&mut self, mut n: usize) {
        if !self.front.is_empty() && n > 0 {
            let k = n.min(self.front.len());
            n -= k;
            self.len -= k;
            if k == self.front.len() {
                // Dropped, not left empty: the staging buffer it was cut
                // from is then the staging's alone again (reclaimed whole).
                self.front = Bytes::new();
            } else {
                self.front.advance(k);
            }
        }
        while n > 0 {
            match self.chunks.front_mut() {
                None => {
                    let k = n.min(self.open);
                    self.staging.advance(k);
                    self.open -= k;
                    self.len -= k;
                    return;
                }
                Some(Chunk::Payload(front)) if n < front.len() => {
                    front.advance(n);
                    self.len -= n;
                    return;
                }
                Some(Chunk::Staged(run)) if n < *run => {
                    *run -= n;
                    self.staging.advance(n);
                    self.len -= n;
                    return;
                }
                Some(_) => {
                    let k = match self.chunks.pop_front() {
                        Some(Chunk::Payload(front)) => front.len(),
                        Some(Chunk::Staged(run)) => {
                            self.staging.advance(run);
                            run
                        }
                        None => 0,
                    };
                    n -= k;
                    self.len -= k;
                }
            }
        }
    }

    /// Removes and returns the next chunk, in order.
    pub fn pop_chunk(&mut self) -> Option<Bytes> {
        if !self.front.is_empty() {
            let chunk = std::mem::take(&mut self.front);
            self.len -= chunk.len();
            return Some(chunk);
        }
        let chunk = match self.chunks.pop_front() {
            Some(Chunk::Payload(bytes)) => bytes,
            Some(Chunk::Staged(run)) => self.staging.split_to(run).freeze(),
            None if self.open > 0 => {
                self.open = 0;
                self.staging.split().freeze()
            }
            None => return None,
        };
        self.len -= chunk.len();
        Some(chunk)
    }

    /// All waiting bytes, copied into one vector (for tests and logging).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len);
        for chunk in self.slices() {
            out.extend_from_slice(chunk);
        }
        out
    }

    /// Drops everything waiting, keeping the staging allocation.
    pub fn clear(&mut self) {
        self.front = Bytes::new();
        self.chunks.clear();
        self.staging.clear();
        self.open = 0;
        self.len = 0;
    }
}

impl WireBuf {
    /// Appends up to `max` of the waiting bytes to `dst` as shared chunks,
    /// in order and without removing them (the last one cut to fit), until
    /// `dst` holds `max_chunks`; returns the bytes appended. For drivers
    /// that write with the queue out of reach (its lock released) or hand
    /// owned buffers to a completion-based API, and for the simulator.
    ///
    /// Staged runs are cut from the staging buffer as `Bytes` (one
    /// reference count each, once); later appends go on after them. Once
    /// the chunks are dropped and everything is written, the next bytes
    /// staged take the whole allocation back (see
    /// [`reserve_staging`](Self::reserve_staging)), so a writer that keeps
    /// up allocates nothing.
    pub(crate) fn share_chunks(
        &mut self,
        max: usize,
        max_chunks: usize,
        dst: &mut Vec<Bytes>,
    ) -> usize {
        if self.open > 0 && self.chunks.is_empty() && self.front.is_empty() {
            // The one run there is: cut it off as the front, with no chunk
            // list to allocate.
            self.front = self.staging.split_to(self.open).freeze();
            self.open = 0;
        } else if self.open > 0 {
            self.chunks.push_back(Chunk::Staged(self.open));
            self.open = 0;
        }
        // Staged runs fill the staging buffer front to back, in chunk order.
        for chunk in &mut self.chunks {
            if let Chunk::Staged(run) = *chunk {
                *chunk = Chunk::Payload(self.staging.split_to(run).freeze());
            }
        }
        let mut total = 0;
        let front = (!self.front.is_empty()).then_some(&self.front);
        let closed = self.chunks.iter().filter_map(|chunk| match chunk {
            Chunk::Payload(bytes) => Some(bytes),
            Chunk::Staged(_) => None,
        });
        for bytes in front.into_iter().chain(closed) {
            if total == max || dst.len() >= max_chunks {
                break;
            }
            {
                let take = bytes.len().min(max - total);
                dst.push(bytes.slice(..take));
                total += take;
            }
        }
        total
    }

    /// Removes bytes from the end so that `len` remain (nothing if `len`
    /// is not less than [`len`](Self::len)): takes back what was just
    /// encoded, e.g. a message a full queue refuses.
    pub(crate) fn truncate(&mut self, len: usize) {
        while self.len > len {
            let excess = self.len - len;
            if self.open > 0 {
                let k = excess.min(self.open);
                self.staging.truncate(self.staging.len() - k);
                self.open -= k;
                self.len -= k;
                continue;
            }
            match self.chunks.back_mut() {
                Some(Chunk::Payload(bytes)) if excess < bytes.len() => {
                    bytes.truncate(bytes.len() - excess);
                    self.len -= excess;
                }
                Some(Chunk::Staged(run)) if excess < *run => {
                    // With nothing open, the staged runs end the staging
                    // buffer, this one last.
                    self.staging.truncate(self.staging.len() - excess);
                    *run -= excess;
                    self.len -= excess;
                }
                Some(Chunk::Staged(run)) => {
                    let run = *run;
                    self.staging.truncate(self.staging.len() - run);
                    self.len -= run;
                    self.chunks.pop_back();
                }
                Some(Chunk::Payload(bytes)) => {
                    self.len -= bytes.len();
                    self.chunks.pop_back();
                }
                None if excess < self.front.len() => {
                    self.front.truncate(self.front.len() - excess);
                    self.len -= excess;
                }
                None => {
                    self.len -= self.front.len();
                    self.front = Bytes::new();
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! `WireBuf` against a plain byte vector, with shared batches (the
    //! front run among them) cut at any point of a sequence of appends,
    //! writes, pops and take-backs.
    use bytes::Bytes;
    use proptest::prelude::*;

    use super::WireBuf;

    #[derive(Debug, Clone)]
    enum Op {
        Put(usize),
        Share {
            max: usize,
            chunks: usize,
        },
        Advance(usize),
        Pop,
        /// Takes back this many of the last bytes appended since the last
        /// other op (as a full queue refuses a message).
        PutThenTruncate(usize),
        Clear,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => prop_oneof![1..20usize, 200..400usize].prop_map(Op::Put),
            2 => (0..600usize, 1..4usize).prop_map(|(max, chunks)| Op::Share { max, chunks }),
            3 => (0..500usize).prop_map(Op::Advance),
            1 => Just(Op::Pop),
            1 => (1..300usize).prop_map(Op::PutThenTruncate),
            1 => Just(Op::Clear),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn wire_buf_matches_a_byte_vector(ops in prop::collection::vec(op(), 1..80)) {
            let mut wire = WireBuf::with_copy_limit(256);
            let mut model: Vec<u8> = Vec::new();
            let mut next = 0u8;
            let mut bytes = |len: usize| {
                next = next.wrapping_add(1);
                vec![next; len]
            };
            for op in ops {
                match op {
                    Op::Put(len) => {
                        let b = bytes(len);
                        model.extend_from_slice(&b);
                        wire.put_bytes(Bytes::from(b));
                    }
                    Op::Share { max, chunks } => {
                        let mut out = Vec::new();
                        let total = wire.share_chunks(max, chunks, &mut out);
                        prop_assert!(out.len() <= chunks && total <= max);
                        prop_assert_eq!(out.concat(), &model[..total]);
                    }
                    Op::Advance(n) => {
                        let n = n.min(model.len());
                        wire.advance(n);
                        model.drain(..n);
                    }
                    Op::Pop => {
                        let chunk = wire.pop_chunk();
                        let k = chunk.as_ref().map_or(0, Bytes::len);
                        prop_assert_eq!(chunk.is_none(), model.is_empty());
                        prop_assert_eq!(chunk.as_deref().unwrap_or_default(), &model[..k]);
                        model.drain(..k);
                    }
                    Op::PutThenTruncate(len) => {
                        let before = wire.len();
                        wire.put_bytes(Bytes::from(bytes(len)));
                        wire.truncate(before);
                    }
                    Op::Clear => {
                        wire.clear();
                        model.clear();
                    }
                }
                prop_assert_eq!(wire.len(), model.len());
                prop_assert_eq!(wire.is_empty(), model.is_empty());
                prop_assert_eq!(wire.to_vec(), model.clone());
            }
        }
    }
}
