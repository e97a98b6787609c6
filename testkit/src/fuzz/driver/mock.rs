//! The mock transport and virtual-clock timer the driver harness runs
//! sessions over.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Instant;

use proto_core::driver::{Timer, Transport};

/// How the mock transport answers writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WriteMode {
    All,
    Partial(usize),
    Refuse,
    Fail,
    Zero,
}

#[derive(Debug)]
pub(super) struct IoState {
    /// Segments from the peer; one read never spans two.
    pub(super) inbound: VecDeque<Vec<u8>>,
    pub(super) eof: bool,
    pub(super) read_error: bool,
    pub(super) write_mode: WriteMode,
    /// Every byte written.
    pub(super) output: Vec<u8>,
    pub(super) shut: bool,
}

impl IoState {
    /// A connection with nothing to read that takes every write.
    pub(super) fn new() -> Self {
        Self {
            inbound: VecDeque::new(),
            eof: false,
            read_error: false,
            write_mode: WriteMode::All,
            output: Vec::new(),
            shut: false,
        }
    }
}

/// The driver's end of an in-memory connection.
pub(super) struct MockIo(pub(super) Rc<RefCell<IoState>>);

impl Transport for MockIo {
    fn poll_read(&mut self, _cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut s = self.0.borrow_mut();
        if std::mem::take(&mut s.read_error) {
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        if let Some(front) = s.inbound.front_mut() {
            let n = front.len().min(buf.len());
            buf[..n].copy_from_slice(&front[..n]);
            front.drain(..n);
            if front.is_empty() {
                s.inbound.pop_front();
            }
            return Poll::Ready(Ok(n));
        }
        if s.eof {
            return Poll::Ready(Ok(0));
        }
        Poll::Pending
    }

    fn poll_write_vectored(
        &mut self,
        _cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut s = self.0.borrow_mut();
        assert!(!s.shut, "write after the write side was shut down");
        let limit = match s.write_mode {
            WriteMode::All => usize::MAX,
            WriteMode::Partial(n) => n,
            WriteMode::Refuse => return Poll::Pending,
            WriteMode::Fail => return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
            WriteMode::Zero => return Poll::Ready(Ok(0)),
        };
        let mut taken = 0;
        for buf in bufs {
            let k = buf.len().min(limit - taken);
            s.output.extend_from_slice(&buf[..k]);
            taken += k;
        }
        Poll::Ready(Ok(taken))
    }

    fn poll_flush(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.borrow_mut().shut = true;
        Poll::Ready(Ok(()))
    }
}

/// A timer on the harness's virtual clock.
pub(super) struct MockTimer {
    pub(super) clock: Rc<Cell<Instant>>,
    pub(super) deadline: Rc<Cell<Option<Instant>>>,
}

impl Timer for MockTimer {
    fn now(&self) -> Instant {
        self.clock.get()
    }

    fn reset(&mut self, deadline: Instant) {
        self.deadline.set(Some(deadline));
    }

    fn poll_expired(&mut self, _cx: &mut Context<'_>) -> Poll<()> {
        match self.deadline.get() {
            Some(d) if self.clock.get() >= d => Poll::Ready(()),
            _ => Poll::Pending,
        }
    }
}
