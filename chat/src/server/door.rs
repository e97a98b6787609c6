//! [`Door`] and [`UserKey`]: which front door a session came through.

use std::fmt;

use proto_core::hub::SessionId;

/// The three front doors. Each has a hub of its own (their session ids
/// overlap), so a user is known by door and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Door {
    /// Length-field frames of [`Message`](crate::protocol::Message)s.
    Binary,
    /// Text lines (`nc`, `telnet`).
    Text,
    /// The text door's lines, one per WebSocket text message (browsers).
    Web,
}

impl Door {
    /// Whether the door speaks lines (text and web users).
    pub fn is_lines(self) -> bool {
        matches!(self, Self::Text | Self::Web)
    }
}

/// A session, by door and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserKey {
    /// The door.
    pub door: Door,
    /// The session's id in that door's hub.
    pub id: SessionId,
}

impl fmt::Display for UserKey {
    /// `b7`, `t3` or `w2`: the door's letter and the session id.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let door = match self.door {
            Door::Binary => 'b',
            Door::Text => 't',
            Door::Web => 'w',
        };
        write!(f, "{door}{}", self.id)
    }
}
