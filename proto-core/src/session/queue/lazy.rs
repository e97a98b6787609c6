//! [`LazyQueue`]: a [`SendQueue`] that exists only while it is used.

use std::io::IoSlice;

use bytes::Bytes;

use super::{Overflow, Pushed, SendError, SendQueue};
use crate::frame::{FrameError, WireBuf};

/// A session's send queue, boxed on first use and dropped again by
/// [`release`](Self::release) once everything queued is written: an idle
/// session holds a null pointer and its limits instead of the queue's
/// buffers and counters (about 300 bytes).
#[derive(Debug)]
pub(crate) struct LazyQueue {
    max_messages: usize,
    max_bytes: usize,
    queue: Option<Box<SendQueue>>,
}

impl LazyQueue {
    pub(crate) fn new(max_messages: usize, max_bytes: usize) -> Self {
        Self {
            max_messages,
            max_bytes,
            queue: None,
        }
    }

    /// The queue, made if there is none.
    #[inline]
    fn queue(&mut self) -> &mut SendQueue {
        let (messages, bytes) = (self.max_messages, self.max_bytes);
        self.queue
            .get_or_insert_with(|| Box::new(SendQueue::new(messages, bytes)))
    }

    /// Counted messages queued.
    #[inline]
    pub(crate) fn messages(&self) -> usize {
        self.queue.as_ref().map_or(0, |q| q.messages())
    }

    /// Counted wire bytes queued.
    #[inline]
    pub(crate) fn bytes(&self) -> usize {
        self.queue.as_ref().map_or(0, |q| q.bytes())
    }

    /// Whether nothing at all waits to be written.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.queue.as_ref().is_none_or(|q| q.is_empty())
    }

    /// Wire bytes still to write.
    pub(crate) fn unwritten(&self) -> usize {
        self.queue.as_ref().map_or(0, |q| q.unwritten())
    }

    /// [`SendQueue::push`].
    #[inline]
    pub(crate) fn push<F>(
        &mut self,
        encode: F,
        policy: Overflow,
    ) -> Result<Pushed, Option<SendError>>
    where
        F: FnOnce(&mut WireBuf) -> Result<(), FrameError>,
    {
        self.queue().push(encode, policy)
    }

    /// [`SendQueue::tail_wire`].
    #[inline]
    pub(crate) fn tail_wire(&mut self) -> &mut WireBuf {
        self.queue().tail_wire()
    }

    /// [`SendQueue::commit`].
    #[inline]
    pub(crate) fn commit(
        &mut self,
        before: usize,
        policy: Overflow,
    ) -> Result<Pushed, Option<SendError>> {
        self.queue().commit(before, policy)
    }

    /// [`SendQueue::commit_unbounded`].
    pub(crate) fn commit_unbounded(&mut self, before: usize) {
        self.queue().commit_unbounded(before);
    }

    /// [`SendQueue::push_control`].
    pub(crate) fn push_control<F>(&mut self, encode: F) -> Result<(), FrameError>
    where
        F: FnOnce(&mut WireBuf) -> Result<(), FrameError>,
    {
        self.queue().push_control(encode)
    }

    /// [`SendQueue::io_slices`].
    pub(crate) fn io_slices<'a>(&'a self, dst: &mut [IoSlice<'a>], max_bytes: usize) -> usize {
        self.queue
            .as_ref()
            .map_or(0, |q| q.io_slices(dst, max_bytes))
    }

    /// [`SendQueue::share_chunks`].
    pub(crate) fn share_chunks(
        &mut self,
        dst: &mut Vec<Bytes>,
        max_bytes: usize,
        max_chunks: usize,
    ) -> usize {
        self.queue
            .as_mut()
            .map_or(0, |q| q.share_chunks(dst, max_bytes, max_chunks))
    }

    /// [`SendQueue::written`].
    pub(crate) fn written(&mut self, n: usize) -> usize {
        self.queue.as_mut().map_or(0, |q| q.written(n))
    }

    /// Frees the queue if nothing waits in it, else its spare buffers.
    pub(crate) fn release(&mut self) {
        match &mut self.queue {
            Some(queue) if queue.is_empty() => self.queue = None,
            Some(queue) => queue.release_spares(),
            None => {}
        }
    }

    /// [`SendQueue::clear`].
    pub(crate) fn clear(&mut self) -> usize {
        self.queue.as_mut().map_or(0, |q| q.clear())
    }
}
