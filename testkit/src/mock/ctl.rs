//! [`IoCtl`]: the test's end of a mock connection — the peer's sends, end
//! of stream, read errors, how writes and flushes are answered, and what
//! the driver did.

use std::io;
use std::sync::MutexGuard;

use super::transport::{FlushMode, IoCtl, IoState, Op, WriteMode};
use super::{decode_all, frame, lock};

impl IoCtl {
    /// Both ends' state, locked.
    pub fn state(&self) -> MutexGuard<'_, IoState> {
        lock(&self.0)
    }

    fn wake_reader(state: &mut IoState) {
        if let Some(w) = state.read_waker.take() {
            w.wake();
        }
    }

    /// The peer sends `bytes` (one segment).
    pub fn push(&self, bytes: &[u8]) {
        let mut s = self.state();
        s.inbound.push_back(bytes.to_vec());
        Self::wake_reader(&mut s);
    }

    /// The peer sends `payload` as a frame.
    pub fn push_frame(&self, payload: &[u8]) {
        self.push(&frame(payload));
    }

    /// The peer closes its side.
    pub fn push_eof(&self) {
        let mut s = self.state();
        s.eof = true;
        Self::wake_reader(&mut s);
    }

    /// The next read fails.
    pub fn fail_read(&self, kind: io::ErrorKind) {
        let mut s = self.state();
        s.read_error = Some(kind);
        Self::wake_reader(&mut s);
    }

    /// Answers writes as `mode` says from now on, and wakes a refused
    /// writer.
    pub fn set_write_mode(&self, mode: WriteMode) {
        let mut s = self.state();
        s.write_mode = mode;
        if let Some(w) = s.write_waker.take() {
            w.wake();
        }
    }

    /// Switches to `mode`; `hold` makes flushes pend until
    /// [`release_flush`](Self::release_flush).
    pub fn set_flush_mode(&self, mode: FlushMode, hold: bool) {
        let mut s = self.state();
        s.flush_mode = mode;
        s.hold_flush = hold;
    }

    /// Lets flushes complete and wakes the task whose flush pended.
    pub fn release_flush(&self) {
        let mut s = self.state();
        s.hold_flush = false;
        if let Some(w) = s.flush_waker.take() {
            w.wake();
        }
    }

    /// Bytes written but not flushed yet ([`FlushMode::Buffered`]).
    pub fn unflushed(&self) -> usize {
        self.state().unflushed.len()
    }

    /// Bytes written so far.
    pub fn output(&self) -> Vec<u8> {
        self.state().output.clone()
    }

    /// Payloads written so far.
    pub fn sent(&self) -> Vec<Vec<u8>> {
        decode_all(&self.output())
    }

    /// What the driver did so far, in order.
    pub fn ops(&self) -> Vec<Op> {
        self.state().ops.clone()
    }

    /// Inbound bytes the driver has not read.
    pub fn unread(&self) -> usize {
        self.state().inbound.iter().map(Vec::len).sum()
    }

    /// Whether the driver shut the write side down.
    pub fn shutdown_called(&self) -> bool {
        self.ops().contains(&Op::Shutdown)
    }

    /// Buffer sizes of the reads that returned bytes.
    pub fn read_sizes(&self) -> Vec<usize> {
        self.reads(|buf, _| buf)
    }

    /// For each read that returned bytes, whether it went into the
    /// session's own buffer (`true`) or through the driver's probe.
    pub fn read_into_buffer(&self) -> Vec<bool> {
        self.reads(|_, into_buffer| into_buffer)
    }

    /// `pick(buffer size, into the session's buffer)` of each read that
    /// returned bytes.
    fn reads<T>(&self, pick: impl Fn(usize, bool) -> T) -> Vec<T> {
        self.ops()
            .iter()
            .filter_map(|op| match *op {
                Op::Read {
                    buf,
                    n,
                    into_buffer,
                } if n > 0 => Some(pick(buf, into_buffer)),
                _ => None,
            })
            .collect()
    }
}
