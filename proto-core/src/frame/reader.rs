//! [`FrameReader`]: a read buffer and a resolver, with bounded memory.

use bytes::{Bytes, BytesMut};

use super::MessageResolver;
use super::{FrameError, for_each_frame};

/// Memory policy of a [`FrameReader`]'s buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReadBufConfig {
    /// Capacity allocated for reading, and the free space guaranteed before
    /// each read. Default 8 KiB.
    pub read_capacity: usize,
    /// Once the buffer has grown past this capacity (to hold a large frame),
    /// it is replaced by a fresh `read_capacity` buffer as soon as it holds
    /// no more than `read_capacity` bytes. Default 64 KiB.
    pub retain_capacity: usize,
}

impl Default for ReadBufConfig {
    fn default() -> Self {
        Self {
            read_capacity: 8 * 1024,
            retain_capacity: 64 * 1024,
        }
    }
}

/// A read buffer paired with a [`MessageResolver`]: bytes go in, frames come
/// out, and the buffer does not keep the size of the largest frame ever seen.
///
/// **Steady-state memory**: about `read_capacity` bytes (plus any partial
/// frame) while frames are small. A frame larger than the buffer grows it as
/// its bytes arrive (never ahead of them); once it is delivered and the
/// buffer holds no more than `read_capacity` bytes, the large allocation is
/// given up (it lives on only while the application holds that frame) and a
/// fresh `read_capacity` buffer is used. [`release`](Self::release) frees the
/// buffer entirely while a connection is idle.
///
/// ```
/// use proto_core::frame::{FrameReader, LengthField};
///
/// let mut reader = FrameReader::new(LengthField::netty().new_codec());
/// reader.extend_from_slice(b"\x00\x00\x00\x02hi\x00\x00\x00\x03yo!");
/// let mut seen = Vec::new();
/// let n = reader.for_each_frame(|frame| seen.push(frame.to_vec()))?;
/// assert_eq!(n, 2);
/// assert_eq!(seen, [b"hi".to_vec(), b"yo!".to_vec()]);
/// assert_eq!(reader.buffered(), 0);
/// # Ok::<(), proto_core::frame::FrameError>(())
/// ```
#[derive(Debug)]
pub struct FrameReader<R> {
    resolver: R,
    buf: BytesMut,
    config: ReadBufConfig,
    /// The buffer has grown past `retain_capacity` since it was last fresh.
    oversized: bool,
}

impl<R: MessageResolver> FrameReader<R> {
    /// A reader with the default [`ReadBufConfig`]. Allocates nothing yet.
    pub fn new(resolver: R) -> Self {
        Self::with_config(resolver, ReadBufConfig::default())
    }

    /// A reader with the given memory policy.
    pub fn with_config(resolver: R, config: ReadBufConfig) -> Self {
        Self {
            resolver,
            buf: BytesMut::new(),
            config,
            oversized: false,
        }
    }

    /// The resolver.
    pub fn resolver(&self) -> &R {
        &self.resolver
    }

    /// The resolver, mutably.
    pub fn resolver_mut(&mut self) -> &mut R {
        &mut self.resolver
    }

    /// Bytes received and not yet consumed.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Current capacity of the read buffer (free space included).
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// The buffer to read into, with at least `read_capacity` bytes of free
    /// space; append with `BufMut` (e.g. an async `read_buf`).
    pub fn read_buf(&mut self) -> &mut BytesMut {
        let spare = self.buf.capacity() - self.buf.len();
        if spare < self.config.read_capacity {
            self.buf.reserve(self.config.read_capacity);
        }
        self.note_capacity();
        &mut self.buf
    }

    /// Appends received bytes (a copy). When the buffer must grow, it grows
    /// to hold at least `read_capacity` free bytes before the append, as
    /// [`read_buf`](Self::read_buf) does: frames still held by the
    /// application keep the old buffer alive, so growing by only what each
    /// small read needs would allocate a fresh buffer for almost every read.
    pub fn extend_from_slice(&mut self, data: &[u8]) {
        if self.buf.capacity() - self.buf.len() < data.len() {
            self.buf.reserve(data.len().max(self.config.read_capacity));
        }
        self.buf.extend_from_slice(data);
        self.note_capacity();
    }

    /// Also called before each decode, while consumed bytes still count:
    /// the buffer `read_buf` hands out may have been grown by an append
    /// larger than its free space.
    /// Puts back a buffer taken from [`read_buf`](Self::read_buf) (with
    /// `std::mem::take`), with what was read into it appended: for a
    /// reader that reads with this one out of reach (a driver that reads
    /// with its session's lock released).
    pub fn restore(&mut self, buf: BytesMut) {
        self.buf = buf;
        self.note_capacity();
    }

    fn note_capacity(&mut self) {
        if self.buf.capacity() > self.config.retain_capacity {
            self.oversized = true;
        }
    }

    /// The next whole frame, as a zero-copy slice of the buffer; `Ok(None)`
    /// when more bytes are needed.
    // Inlined for the same reason as `MessageResolver::decode`: the frame
    // reaches the caller's loop in registers, not through memory.
    #[inline]
    pub fn next_frame(&mut self) -> Result<Option<Bytes>, FrameError> {
        self.note_capacity();
        let frame = self.resolver.decode(&mut self.buf);
        if !matches!(frame, Ok(Some(_))) {
            self.shrink();
        }
        frame
    }

    /// Like [`next_frame`](Self::next_frame) once the peer has closed its
    /// side: leftover bytes that make no frame are an error.
    pub fn next_frame_eof(&mut self) -> Result<Option<Bytes>, FrameError> {
        self.note_capacity();
        let frame = self.resolver.decode_eof(&mut self.buf);
        if !matches!(frame, Ok(Some(_))) {
            self.shrink();
        }
        frame
    }

    /// The borrowed fast path: calls `on_frame` with every whole frame
    /// buffered, then releases the consumed bytes in one step. No reference
    /// count is touched per frame. Returns how many frames were delivered.
    pub fn for_each_frame<F: FnMut(&[u8])>(&mut self, on_frame: F) -> Result<usize, FrameError> {
        self.note_capacity();
        let n = for_each_frame(&mut self.resolver, &mut self.buf, on_frame);
        self.shrink();
        n
    }

    /// Frees the buffer if it holds no bytes (for idle connections); returns
    /// whether it did. The next read allocates `read_capacity` again.
    pub fn release(&mut self) -> bool {
        if self.buf.is_empty() {
            self.buf = BytesMut::new();
            self.oversized = false;
            true
        } else {
            false
        }
    }

    /// Gives up an oversized buffer once what it holds fits a fresh one.
    fn shrink(&mut self) {
        if self.oversized && self.buf.len() <= self.config.read_capacity {
            let mut fresh = BytesMut::with_capacity(self.config.read_capacity);
            fresh.extend_from_slice(&self.buf);
            self.buf = fresh;
            self.oversized = false;
        }
    }

    /// The resolver and any bytes not yet consumed.
    pub fn into_parts(self) -> (R, BytesMut) {
        (self.resolver, self.buf)
    }
}
