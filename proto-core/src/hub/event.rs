//! [`Event`]s from every session of a hub, in one stream.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_channel::mpsc;
use futures_core::Stream;

use super::{SessionHandle, SessionId};
use crate::session::{CloseReason, SessionStats};

/// What happened to one of the hub's sessions.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// A session opened (always its first event). Keep the handle to send.
    Opened(SessionHandle),
    /// A whole message from the session's peer.
    Message {
        /// The session.
        id: SessionId,
        /// The payload.
        payload: Bytes,
    },
    /// The session closed (always its last event); the hub has forgotten it.
    Closed {
        /// The session.
        id: SessionId,
        /// Why.
        reason: CloseReason,
        /// Its final counters.
        stats: SessionStats,
    },
}

impl Event {
    /// The session the event is about.
    pub fn id(&self) -> SessionId {
        match self {
            Self::Opened(handle) => handle.id(),
            Self::Message { id, .. } | Self::Closed { id, .. } => *id,
        }
    }
}

/// The receiving end of a hub's events: a [`Stream`], or call
/// [`recv`](Self::recv).
///
/// It is bounded: when the application falls behind, drivers stop reading
/// their sockets (TCP pushes back on the peers) instead of buffering without
/// limit. Dropping it discards later events; sessions keep running.
#[derive(Debug)]
pub struct Events {
    pub(crate) rx: mpsc::Receiver<Event>,
}

impl Events {
    /// The next event; `None` once the hub and every driver are gone.
    pub async fn recv(&mut self) -> Option<Event> {
        poll_fn(|cx| Pin::new(&mut self.rx).poll_next(cx)).await
    }

    /// The next event if one is ready now.
    pub fn try_recv(&mut self) -> Option<Event> {
        self.rx.try_recv().ok()
    }
}

impl Stream for Events {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        Pin::new(&mut self.rx).poll_next(cx)
    }
}
