//! [`Handler`]: per-session callbacks run on the session's own task.

use bytes::Bytes;

use crate::hub::SessionHandle;
use crate::session::{CloseReason, SessionStats};

/// Callbacks for one session, called by its driver on the session's own
/// task instead of sending [`Event`](crate::hub::Event)s to the hub's
/// stream: no hop between tasks per message, so a server whose logic is
/// per connection (echo, request/response) scales with the runtime's
/// threads. Install one with [`Conn::with_handler`](super::Conn::with_handler).
///
/// The session's lock is not held during a callback, so a handler may send
/// to any session, broadcast, or join groups through the hub. Replies sent
/// from `on_message` are written in the same batch as the others the read
/// produced. A callback that blocks stalls only its own session.
///
/// Any `FnMut(&SessionHandle, Bytes) + Send` closure is a handler that acts
/// on messages only.
pub trait Handler: Send {
    /// The session opened.
    fn on_open(&mut self, session: &SessionHandle) {
        let _ = session;
    }

    /// A whole message from the peer.
    fn on_message(&mut self, session: &SessionHandle, payload: Bytes);

    /// The peer ended its side of the stream, after its last message.
    /// Replies to its messages were sent from `on_message` already, so the
    /// default closes the session gracefully with
    /// [`CloseReason::RemoteClosed`]: they are still written. (With
    /// [`SessionConfig::half_close`](crate::session::SessionConfig::half_close)
    /// off the session closes so after this callback anyway; with it on,
    /// override this to keep the session open for later replies, and close
    /// it when done.)
    fn on_end_of_stream(&mut self, session: &SessionHandle) {
        session.close_with(CloseReason::RemoteClosed);
    }

    /// The session closed (the hub has already forgotten it).
    fn on_close(&mut self, session: &SessionHandle, reason: &CloseReason, stats: &SessionStats) {
        let _ = (session, reason, stats);
    }
}

impl<F: FnMut(&SessionHandle, Bytes) + Send> Handler for F {
    fn on_message(&mut self, session: &SessionHandle, payload: Bytes) {
        self(session, payload);
    }
}
