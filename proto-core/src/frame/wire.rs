//! [`WireBuf`]: encoded frames waiting for one vectored write.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};

/// Payloads up to this many bytes are copied next to their header by
/// default; larger ones are queued as their own [`Bytes`] chunk.
pub const DEFAULT_COPY_LIMIT: usize = 256;

/// Wire bytes ready for one vectored write: a queue of [`Bytes`] chunks.
///
/// Headers and small payloads are copied into a staging buffer so that many
/// small frames make one contiguous chunk; a payload larger than the copy
/// limit is queued as the caller's own `Bytes`, without copying (a broadcast
/// shares one payload between all receivers this way).
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
    chunks: VecDeque<Bytes>,
    staging: BytesMut,
    len: usize,
    copy_limit: usize,
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
            chunks: VecDeque::new(),
            staging: BytesMut::new(),
            len: 0,
            copy_limit,
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
        self.chunks.len() + usize::from(!self.staging.is_empty())
    }

    /// Appends a copy of `bytes`.
    #[inline]
    pub fn put_slice(&mut self, bytes: &[u8]) {
        self.staging.extend_from_slice(bytes);
        self.len += bytes.len();
    }

    /// Appends `bytes`, copying it only when it is no longer than the copy
    /// limit.
    #[inline]
    pub fn put_bytes(&mut self, bytes: Bytes) {
        if bytes.len() <= self.copy_limit {
            self.put_slice(&bytes);
        } else {
            self.seal();
            self.len += bytes.len();
            self.chunks.push_back(bytes);
        }
    }

    /// Appends a header (`prefix` then `field`) and its payload.
    #[inline]
    pub(crate) fn put_header(&mut self, prefix: &[u8], field: &[u8], payload: Bytes) {
        if !prefix.is_empty() {
            self.put_slice(prefix);
        }
        self.put_slice(field);
        self.put_bytes(payload);
    }

    /// Turns the staged bytes into a chunk of their own.
    fn seal(&mut self) {
        if !self.staging.is_empty() {
            self.chunks.push_back(self.staging.split().freeze());
        }
    }

    /// Fills `dst` with the waiting bytes in order, for a vectored write;
    /// returns how many slices were filled.
    pub fn io_slices<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let staging = (!self.staging.is_empty()).then_some(&self.staging[..]);
        let all = self.chunks.iter().map(|c| &c[..]).chain(staging);
        let mut n = 0;
        for (slot, chunk) in dst.iter_mut().zip(all) {
            *slot = IoSlice::new(chunk);
            n += 1;
        }
        n
    }

    /// Removes the first `n` bytes (what a write accepted).
    ///
    /// `n` larger than [`len`](Self::len) removes everything.
    pub fn advance(&mut self, mut n: usize) {
        while n > 0 {
            let Some(front) = self.chunks.front_mut() else {
                let k = n.min(self.staging.len());
                self.staging.advance(k);
                self.len -= k;
                return;
            };
            if n < front.len() {
                front.advance(n);
                self.len -= n;
                return;
            }
            n -= front.len();
            self.len -= front.len();
            self.chunks.pop_front();
        }
    }

    /// Removes and returns the next chunk, in order.
    pub fn pop_chunk(&mut self) -> Option<Bytes> {
        if self.chunks.is_empty() {
            self.seal();
        }
        let chunk = self.chunks.pop_front()?;
        self.len -= chunk.len();
        Some(chunk)
    }

    /// All waiting bytes, copied into one vector (for tests and logging).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len);
        for chunk in &self.chunks {
            out.extend_from_slice(chunk);
        }
        out.extend_from_slice(&self.staging);
        out
    }

    /// Drops everything waiting, keeping the staging allocation.
    pub fn clear(&mut self) {
        self.chunks.clear();
        self.staging.clear();
        self.len = 0;
    }
}
