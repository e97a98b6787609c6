//! The mock transport: [`MockIo`], the driver's end of an in-memory
//! connection, and what it records.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use bytes::BytesMut;
use proto_core::driver::Transport;

use super::lock;

/// What the driver did to a [`MockIo`], in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// A read into a buffer of `buf` bytes returned `n` bytes (0: EOF).
    Read {
        /// Size of the buffer offered.
        buf: usize,
        /// Bytes read.
        n: usize,
        /// Through [`Transport::poll_read_buf`] (into the session's own
        /// buffer), not [`Transport::poll_read`] (into a slice: the
        /// driver's probe).
        into_buffer: bool,
    },
    /// A vectored write took `n` bytes.
    Write(usize),
    /// A flush that completed.
    Flush,
    /// A flush that returned `Pending` ([`FlushMode::Buffered`], held).
    FlushPending,
    /// A shutdown of the write side that completed.
    Shutdown,
}

/// How the mock answers flushes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushMode {
    /// Writes go straight to `output`; a flush is a no-op.
    Direct,
    /// Writes go to a buffer (as through a `BufWriter`) that a flush moves
    /// to `output`; while `hold_flush` is set, a flush returns `Pending`
    /// and is woken by [`IoCtl::release_flush`].
    Buffered,
}

/// How the mock answers writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Take everything offered.
    All,
    /// Take at most this many bytes per call.
    Partial(usize),
    /// Refuse (Pending) until the mode changes.
    Refuse,
    /// Fail with this error.
    Fail(io::ErrorKind),
    /// Return `Ok(0)`.
    Zero,
}

/// Both ends' view of a mock connection (through [`IoCtl::state`]).
#[derive(Debug)]
pub struct IoState {
    /// Inbound segments; one read never spans two of them.
    pub inbound: VecDeque<Vec<u8>>,
    /// After `inbound` drains, reads return `Ok(0)`.
    pub eof: bool,
    /// The next read fails with this.
    pub read_error: Option<io::ErrorKind>,
    /// How writes are answered.
    pub write_mode: WriteMode,
    /// Everything written.
    pub output: Vec<u8>,
    /// `(pointer, length)` of every slice offered to a write that took bytes.
    pub write_slices: Vec<(usize, usize)>,
    /// What the driver did, in order.
    pub ops: Vec<Op>,
    /// The task waiting for bytes to read.
    pub read_waker: Option<Waker>,
    /// The task waiting for a refused write to be taken.
    pub write_waker: Option<Waker>,
    /// Calls of `poll_read` that found nothing to read.
    pub pending_reads: usize,
    /// How flushes are answered.
    pub flush_mode: FlushMode,
    /// Written bytes not yet flushed ([`FlushMode::Buffered`]).
    pub unflushed: Vec<u8>,
    /// Flushes return `Pending` while set ([`FlushMode::Buffered`]).
    pub hold_flush: bool,
    /// The task whose flush pended.
    pub flush_waker: Option<Waker>,
    /// The write side was shut down; a write after it panics.
    pub shut: bool,
}

/// Run once, at a [`MockIo`]'s first write, before the write takes its
/// bytes and outside the connection's lock (see [`MockIo::on_first_write`]).
pub type WriteHook = Box<dyn FnOnce() + Send>;

/// The driver's end of an in-memory connection.
pub struct MockIo {
    state: Arc<Mutex<IoState>>,
    first_write: Option<WriteHook>,
}

impl std::fmt::Debug for MockIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockIo")
            .field("state", &self.state)
            .field("first_write_hook", &self.first_write.is_some())
            .finish()
    }
}

/// The test's end of the same connection.
#[derive(Debug, Clone)]
pub struct IoCtl(pub(super) Arc<Mutex<IoState>>);

/// A new connection with nothing to read, that takes every write.
pub fn mock_io() -> (MockIo, IoCtl) {
    let state = Arc::new(Mutex::new(IoState {
        inbound: VecDeque::new(),
        eof: false,
        read_error: None,
        write_mode: WriteMode::All,
        output: Vec::new(),
        write_slices: Vec::new(),
        ops: Vec::new(),
        read_waker: None,
        write_waker: None,
        pending_reads: 0,
        flush_mode: FlushMode::Direct,
        unflushed: Vec::new(),
        hold_flush: false,
        flush_waker: None,
        shut: false,
    }));
    let io = MockIo {
        state: state.clone(),
        first_write: None,
    };
    (io, IoCtl(state))
}

impl MockIo {
    /// Runs `hook` at the first write, before it takes any bytes: what a
    /// test does while the driver is inside a socket call (with no lock of
    /// the mock held, so the hook may wait on other threads).
    pub fn on_first_write(mut self, hook: WriteHook) -> Self {
        self.first_write = Some(hook);
        self
    }

    fn read_into(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
        into_buffer: bool,
    ) -> Poll<io::Result<usize>> {
        let mut s = lock(&self.state);
        if let Some(kind) = s.read_error.take() {
            return Poll::Ready(Err(kind.into()));
        }
        if let Some(front) = s.inbound.front_mut() {
            let n = front.len().min(buf.len());
            buf[..n].copy_from_slice(&front[..n]);
            front.drain(..n);
            if front.is_empty() {
                s.inbound.pop_front();
            }
            s.ops.push(Op::Read {
                buf: buf.len(),
                n,
                into_buffer,
            });
            return Poll::Ready(Ok(n));
        }
        if s.eof {
            s.ops.push(Op::Read {
                buf: buf.len(),
                n: 0,
                into_buffer,
            });
            return Poll::Ready(Ok(0));
        }
        s.pending_reads += 1;
        s.read_waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Transport for MockIo {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.read_into(cx, buf, false)
    }

    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
        max: usize,
    ) -> Poll<io::Result<usize>> {
        // The trait's default, with the read recorded as into the buffer.
        IntoBuffer(self).poll_read_buf(cx, buf, max)
    }

    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if let Some(hook) = self.first_write.take() {
            hook();
        }
        let mut s = lock(&self.state);
        assert!(!s.shut, "write after the write side was shut down");
        let limit = match s.write_mode {
            WriteMode::All => usize::MAX,
            WriteMode::Partial(n) => n,
            WriteMode::Refuse => {
                s.write_waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
            WriteMode::Fail(kind) => return Poll::Ready(Err(kind.into())),
            WriteMode::Zero => return Poll::Ready(Ok(0)),
        };
        let mut taken = 0;
        for buf in bufs {
            s.write_slices.push((buf.as_ptr() as usize, buf.len()));
            let k = buf.len().min(limit - taken);
            match s.flush_mode {
                FlushMode::Direct => s.output.extend_from_slice(&buf[..k]),
                FlushMode::Buffered => s.unflushed.extend_from_slice(&buf[..k]),
            }
            taken += k;
            if taken == limit {
                break;
            }
        }
        s.ops.push(Op::Write(taken));
        Poll::Ready(Ok(taken))
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut s = lock(&self.state);
        if flush_buffered(&mut s, cx).is_pending() {
            return Poll::Pending;
        }
        s.ops.push(Op::Flush);
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut s = lock(&self.state);
        // As `AsyncWrite::poll_shutdown` does: flush first.
        if flush_buffered(&mut s, cx).is_pending() {
            return Poll::Pending;
        }
        s.shut = true;
        s.ops.push(Op::Shutdown);
        Poll::Ready(Ok(()))
    }
}

/// A [`MockIo`] whose reads are recorded as into the session's own buffer:
/// [`MockIo::poll_read_buf`] runs the trait's default through it.
struct IntoBuffer<'a>(&'a mut MockIo);

impl Transport for IntoBuffer<'_> {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.0.read_into(cx, buf, true)
    }

    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.0.poll_write_vectored(cx, bufs)
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_flush(cx)
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_shutdown(cx)
    }
}

/// Moves unflushed bytes to `output` ([`FlushMode::Buffered`]), or pends
/// while flushes are held.
fn flush_buffered(s: &mut IoState, cx: &mut Context<'_>) -> Poll<()> {
    if s.flush_mode == FlushMode::Buffered {
        if s.hold_flush {
            s.ops.push(Op::FlushPending);
            s.flush_waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let flushed = std::mem::take(&mut s.unflushed);
        s.output.extend_from_slice(&flushed);
    }
    Poll::Ready(())
}
