//! [`Ev`]: a short, comparable form of a hub event.

use proto_core::hub::{Event, SessionId};
use proto_core::session::CloseReason;

/// A short, comparable form of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ev {
    /// [`Event::Opened`].
    Opened(SessionId),
    /// [`Event::Message`].
    Message(SessionId, Vec<u8>),
    /// [`Event::EndOfStream`].
    EndOfStream(SessionId),
    /// [`Event::Closed`].
    Closed(SessionId, CloseReason),
}

/// The short form of `e`.
///
/// # Panics
///
/// On an event of another kind.
pub fn ev(e: &Event) -> Ev {
    match e {
        Event::Opened(h) => Ev::Opened(h.id()),
        Event::Message { id, payload } => Ev::Message(*id, payload.to_vec()),
        Event::EndOfStream { id } => Ev::EndOfStream(*id),
        Event::Closed { id, reason, .. } => Ev::Closed(*id, reason.clone()),
        other => panic!("unexpected event {other:?}"),
    }
}

/// The short forms of `events`.
pub fn evs(events: &[Event]) -> Vec<Ev> {
    events.iter().map(ev).collect()
}
