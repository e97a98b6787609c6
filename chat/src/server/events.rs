//! What the room task does with each hub [`Event`]: admission across both
//! doors, greetings, decoding, the malformed-message limit, goodbyes.

use bytes::Bytes;
use proto_core::frame::FrameError;
use proto_core::hub::{Event, SessionHandle};
use proto_core::session::CloseReason;

use super::door::{Door, UserKey};
use super::state::{Chat, LOBBY, User, payload_for};
use crate::command::{Command, HELP};
use crate::protocol::{ErrorCode, Message};

/// The refusal written to the client that one too many (binary door).
pub(crate) fn full_message(max: usize) -> Message {
    Message::Error {
        code: ErrorCode::SERVER_FULL,
        text: format!("server full ({max} clients); try again later"),
    }
}

/// The same refusal as a text line.
pub(crate) fn full_line(max: usize) -> String {
    crate::render::render(&full_message(max)).unwrap_or_default()
}

/// Closes a session after `last` (encoded for its door).
fn close_after(handle: &SessionHandle, door: Door, last: &Message, reason: CloseReason) {
    if let Some(payload) = payload_for(door, last) {
        let _ = handle.close_after(payload, reason);
    }
}

impl Chat {
    /// Handles one event from `door`'s hub.
    pub(crate) fn handle(&mut self, door: Door, event: Event) {
        match event {
            Event::Opened(handle) => self.opened(door, handle),
            Event::Message { id, payload } => {
                let key = UserKey { door, id };
                match door {
                    Door::Binary => self.binary_message(key, payload),
                    Door::Text | Door::Web => self.text_line(key, payload),
                }
            }
            Event::Closed { id, reason, .. } => self.closed(UserKey { door, id }, &reason),
            _ => {}
        }
    }

    /// A new session: admitted if the total across both doors allows
    /// (each door's hub also refuses past the limit by itself, before a
    /// session exists).
    fn opened(&mut self, door: Door, handle: SessionHandle) {
        let key = UserKey {
            door,
            id: handle.id(),
        };
        let peer = handle.peer();
        let max = self.settings.max_clients;
        let refused = self.users.values().filter(|u| !u.refused).count() >= max;
        self.users.insert(
            key,
            User {
                handle: handle.clone(),
                name: None,
                room: LOBBY.to_string(),
                malformed: 0,
                refused,
            },
        );
        if refused {
            tracing::info!(user = %key, %peer, max, "refused: server full");
            self.observed.count_refused_full();
            close_after(&handle, door, &full_message(max), CloseReason::Local);
            return;
        }
        tracing::info!(user = %key, %peer, "connected");
        (self.hello_deadlines.0)(key, crate::config::secs(self.settings.hello_timeout));
        if door == Door::Text {
            self.send_raw(
                key,
                Bytes::from_static(b"* welcome to the chat (text door); your nickname?"),
            );
        }
        // A web user is greeted once it speaks: a WebSocket session opens
        // with the TCP connection, and the page loads over one too.
    }

    /// A new session's nickname deadline passed: closed if it has none.
    pub(crate) fn hello_expired(&mut self, key: UserKey) {
        let Some(user) = self.users.get(&key) else {
            return;
        };
        if user.name.is_some() || user.refused {
            return;
        }
        let secs = self.settings.hello_timeout;
        tracing::info!(user = %key, secs, "closing: no nickname in time");
        let last = Message::Error {
            code: ErrorCode::HELLO_FIRST,
            text: format!("no nickname within {secs} s; goodbye"),
        };
        close_after(&user.handle, key.door, &last, CloseReason::IdleTimeout);
    }

    /// A session ended: its user leaves its room (announced) and its
    /// transfers are cancelled.
    fn closed(&mut self, key: UserKey, reason: &CloseReason) {
        let Some(user) = self.users.remove(&key) else {
            return;
        };
        if user.refused {
            return;
        }
        tracing::info!(user = %key, name = user.name.as_deref().unwrap_or("-"), %reason, "disconnected");
        match &user.name {
            Some(name) => self.release(name),
            None => self.drop_reservations(key),
        }
        self.cancel_transfers_of(key, "the other side left");
        if let Some(name) = user.name {
            self.names.remove(&name.to_ascii_lowercase());
            self.exit(key, &user.room);
            self.announce(
                &user.room,
                &Message::Left {
                    room: user.room.clone(),
                    name,
                },
            );
        }
    }

    /// A frame from a binary client: decoded, or answered with an error
    /// and counted toward the malformed limit.
    fn binary_message(&mut self, key: UserKey, payload: Bytes) {
        match Message::decode(&payload) {
            Ok(message) => {
                if let Some(user) = self.users.get_mut(&key) {
                    user.malformed = 0;
                }
                self.request(key, message, payload);
            }
            Err(err) => self.malformed(key, err.to_string()),
        }
    }

    /// A protocol violation: an error reply, and past the limit, a
    /// disconnect.
    pub(crate) fn malformed(&mut self, key: UserKey, why: String) {
        let max = self.settings.max_malformed;
        let Some(user) = self.users.get_mut(&key) else {
            return;
        };
        user.malformed += 1;
        let count = user.malformed;
        if count > max {
            tracing::info!(user = %key, count, "disconnecting: too many malformed messages");
            let last = Message::Error {
                code: ErrorCode::TOO_MANY_ERRORS,
                text: format!("{count} malformed messages in a row; goodbye"),
            };
            let reason = CloseReason::MalformedFrame(FrameError::malformed(
                "too many malformed chat messages in a row",
            ));
            close_after(&user.handle, key.door, &last, reason);
            return;
        }
        tracing::debug!(user = %key, count, %why, "malformed message");
        self.tell_error(
            key,
            ErrorCode::MALFORMED,
            format!("{why} ({count} of {max} allowed in a row)"),
        );
    }

    /// A line from a text user: its nickname first, then commands and
    /// chat, turned into the same requests a binary client sends.
    fn text_line(&mut self, key: UserKey, payload: Bytes) {
        let line = String::from_utf8_lossy(&payload).trim().to_string();
        let named = self.name_of(key).is_some();
        if !named {
            self.request(key, Message::Hello { name: line }, Bytes::new());
            return;
        }
        if line.is_empty() {
            return;
        }
        match Command::parse(&line) {
            Ok(Command::Help) => {
                for help in HELP {
                    self.send_raw(key, Bytes::from_static(help.as_bytes()));
                }
            }
            Ok(Command::Quit) => {
                if let Some(user) = self.users.get(&key) {
                    let bye = Bytes::from_static(b"* bye");
                    let _ = user.handle.close_after(bye, CloseReason::Local);
                }
            }
            Ok(Command::Send { .. } | Command::Accept(_) | Command::Refuse(_)) => {
                self.tell_error(
                    key,
                    ErrorCode::BAD_COMMAND,
                    "file transfer needs the binary client (chat_client); the text door has none",
                );
            }
            Ok(command) => {
                if let Some(request) = command.request() {
                    self.request(key, request, Bytes::new());
                }
            }
            Err(why) => self.tell_error(key, ErrorCode::BAD_COMMAND, why),
        }
    }
}
