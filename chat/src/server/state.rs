//! [`Chat`]: the room state, owned by one task (no locks): users by
//! session, nicknames, rooms, transfers; and how a message reaches a user
//! or a room on either door.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use proto_core::frame::{LengthField, Line};
use proto_core::hub::{BroadcastReport, Hub, SessionHandle};
use proto_core::ws::WebSocket;

use super::door::{Door, UserKey};
use super::history::History;
use super::transfer::Transfers;
use crate::cluster::Cluster;
use crate::config::Settings;
use crate::metrics::Observed;
use crate::protocol::{ErrorCode, Message};
use crate::render::render;

/// The room everyone starts in and `/leave` returns to.
pub const LOBBY: &str = "lobby";

/// One connected session.
#[derive(Debug)]
pub(crate) struct User {
    pub(crate) handle: SessionHandle,
    /// Set by `Hello` (or a text user's first line).
    pub(crate) name: Option<String>,
    pub(crate) room: String,
    /// Malformed messages in a row.
    pub(crate) malformed: u32,
    /// Refused at the door (the server was full): being closed.
    pub(crate) refused: bool,
}

/// Arms a timer that reports a user back to the room task when it
/// expires (the task itself has no clock).
pub(crate) struct Deadlines(pub(crate) Box<dyn Fn(UserKey, Duration) + Send>);

impl std::fmt::Debug for Deadlines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Deadlines")
    }
}

/// A message as `door` sends it: the encoded message, or its line
/// (`None` for a message with no text form).
pub(crate) fn payload_for(door: Door, message: &Message) -> Option<Bytes> {
    match door {
        Door::Binary => Some(message.encode()),
        Door::Text | Door::Web => render(message).map(Bytes::from),
    }
}

/// The chat's state; see the [module docs](self).
#[derive(Debug)]
pub(crate) struct Chat {
    pub(crate) settings: Settings,
    pub(crate) binary: Hub<LengthField>,
    pub(crate) text: Hub<Line>,
    /// The web door's hub, if the door is open.
    pub(crate) web: Option<Hub<WebSocket>>,
    pub(crate) users: HashMap<UserKey, User>,
    /// Lower-cased nickname → user.
    pub(crate) names: HashMap<String, UserKey>,
    /// Room → members, across both doors.
    pub(crate) rooms: BTreeMap<String, u32>,
    pub(crate) transfers: Transfers,
    /// Counters the metrics read: refused sends (also logged), rooms.
    pub(crate) observed: Arc<Observed>,
    /// The nickname deadline of new sessions.
    pub(crate) hello_deadlines: Deadlines,
    /// Room history (off unless the server was given a store).
    pub(crate) history: History,
    /// The link to the other instances (`--redis`), if any.
    pub(crate) cluster: Option<Cluster>,
}

impl Chat {
    pub(crate) fn new(
        settings: Settings,
        binary: Hub<LengthField>,
        text: Hub<Line>,
        web: Option<Hub<WebSocket>>,
        hello_deadlines: Deadlines,
        observed: Arc<Observed>,
    ) -> Self {
        Self {
            settings,
            binary,
            text,
            web,
            users: HashMap::new(),
            names: HashMap::new(),
            rooms: BTreeMap::new(),
            transfers: Transfers::default(),
            observed,
            hello_deadlines,
            history: History::off(),
            cluster: None,
        }
    }

    /// The user's nickname, if it has one.
    pub(crate) fn name_of(&self, key: UserKey) -> Option<&str> {
        self.users.get(&key)?.name.as_deref()
    }

    /// The user named `name` (any case).
    pub(crate) fn find(&self, name: &str) -> Option<UserKey> {
        self.names.get(&name.to_ascii_lowercase()).copied()
    }

    /// Sends `message` to one user, encoded for its door (a text user gets
    /// the line, or nothing for a message with no text form).
    pub(crate) fn tell(&mut self, key: UserKey, message: &Message) {
        if let Some(payload) = payload_for(key.door, message) {
            self.send_raw(key, payload);
        }
    }

    /// An error reply.
    pub(crate) fn tell_error(&mut self, key: UserKey, code: ErrorCode, text: impl Into<String>) {
        let text = text.into();
        self.tell(key, &Message::Error { code, text });
    }

    /// Queues `payload` as is on the user's session (a relayed frame).
    /// Returns whether it was queued; a refusal is counted and logged.
    pub(crate) fn send_raw(&mut self, key: UserKey, payload: Bytes) -> bool {
        let Some(user) = self.users.get(&key) else {
            return false;
        };
        match user.handle.send(payload) {
            Ok(()) => true,
            Err(err) => {
                let refused = self.observed.count_refused_sends(1);
                tracing::warn!(user = %key, error = %err, refused, "message refused by the session");
                false
            }
        }
    }

    /// Sends `message` to every member of `room` on both doors: encoded
    /// once per door and framed once per door by the hub's group
    /// broadcast.
    pub(crate) fn announce(&mut self, room: &str, message: &Message) {
        self.deliver(room, message);
        self.share(message);
    }

    /// `message` to this instance's members of `room` only.
    pub(crate) fn deliver(&mut self, room: &str, message: &Message) {
        self.broadcast(Some(room), message);
    }

    /// Tells everyone on both doors that the server is shutting down.
    pub(crate) fn farewell(&mut self) {
        let bye = Message::Error {
            code: ErrorCode::SHUTDOWN,
            text: "the server is shutting down".into(),
        };
        self.broadcast(None, &bye);
    }

    /// `message` to `room` (or everyone), on both doors, encoded once per
    /// door; refusals counted.
    fn broadcast(&mut self, room: Option<&str>, message: &Message) {
        let label = room.unwrap_or("(everyone)");
        let payload = message.encode();
        let binary = match room {
            Some(room) => self.binary.broadcast_group(room, payload),
            None => self.binary.broadcast(payload),
        };
        self.count_failures(label, binary);
        if let Some(line) = render(message) {
            let line = Bytes::from(line);
            let text = match room {
                Some(room) => self.text.broadcast_group(room, line.clone()),
                None => self.text.broadcast(line.clone()),
            };
            self.count_failures(label, text);
            if let Some(web) = &self.web {
                let sent = match room {
                    Some(room) => web.broadcast_group(room, line),
                    None => web.broadcast(line),
                };
                self.count_failures(label, sent);
            }
        }
    }

    fn count_failures<E: std::fmt::Display>(
        &mut self,
        room: &str,
        report: Result<BroadcastReport, E>,
    ) {
        match report {
            Ok(report) if report.failed.is_empty() => {}
            Ok(report) => {
                let refused = self
                    .observed
                    .count_refused_sends(report.failed.len() as u64);
                tracing::warn!(
                    room,
                    failed = report.failed.len(),
                    refused,
                    "room message refused by some sessions"
                );
            }
            Err(err) => tracing::warn!(room, error = %err, "room message could not be framed"),
        }
    }

    /// Puts the user in `room`'s group on its door and counts it.
    pub(crate) fn enter(&mut self, key: UserKey, room: &str) {
        match key.door {
            Door::Binary => self.binary.join(room, key.id),
            Door::Text => self.text.join(room, key.id),
            Door::Web => self.web.as_ref().is_some_and(|web| web.join(room, key.id)),
        };
        *self.rooms.entry(room.to_string()).or_default() += 1;
        self.publish_rooms();
        if let Some(user) = self.users.get_mut(&key) {
            user.room = room.to_string();
        }
        self.show_recent(key, room);
        if let Some(name) = self.name_of(key).map(str::to_string) {
            self.here(&name, room);
        }
    }

    /// Takes the user out of its room's count (the hub's group is left
    /// explicitly, or automatically when the session closed).
    pub(crate) fn exit(&mut self, key: UserKey, room: &str) {
        match key.door {
            Door::Binary => self.binary.leave(room, key.id),
            Door::Text => self.text.leave(room, key.id),
            Door::Web => self.web.as_ref().is_some_and(|web| web.leave(room, key.id)),
        };
        if let Some(n) = self.rooms.get_mut(room) {
            *n -= 1;
            if *n == 0 && room != LOBBY {
                self.rooms.remove(room);
            }
        }
        self.publish_rooms();
    }

    /// Rooms with members and the members, for the metrics.
    fn publish_rooms(&self) {
        let rooms = self.rooms.values().filter(|n| **n > 0).count();
        let members: u32 = self.rooms.values().sum();
        self.observed.set_rooms(rooms, members as usize);
    }

    /// Moves a named user from its room to `room`, announcing both.
    pub(crate) fn move_to(&mut self, key: UserKey, room: &str) {
        let (Some(name), Some(from)) = (
            self.name_of(key).map(str::to_string),
            self.users.get(&key).map(|u| u.room.clone()),
        ) else {
            return;
        };
        self.exit(key, &from);
        self.announce(
            &from,
            &Message::Left {
                room: from.clone(),
                name: name.clone(),
            },
        );
        self.enter(key, room);
        self.announce(
            room,
            &Message::Joined {
                room: room.to_string(),
                name,
            },
        );
    }
}
