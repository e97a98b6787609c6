//! What the room task does with each request, whichever door it came
//! through.

use bytes::Bytes;

use super::door::{Door, UserKey};
use super::state::{Chat, LOBBY};
use crate::command::valid_name;
use crate::protocol::{ErrorCode, Message};

impl Chat {
    /// Handles a decoded request from `key`; `raw` is the frame it came in
    /// (relayed unchanged for transfer messages; empty from the text door).
    pub(crate) fn request(&mut self, key: UserKey, message: Message, raw: Bytes) {
        if let Message::Hello { name } = message {
            return self.hello(key, name);
        }
        let Some(name) = self.name_of(key).map(str::to_string) else {
            return self.tell_error(
                key,
                ErrorCode::HELLO_FIRST,
                "say Hello (choose a nickname) first",
            );
        };
        let Some(room) = self.users.get(&key).map(|u| u.room.clone()) else {
            return;
        };
        match message {
            Message::Say { text } => {
                tracing::debug!(user = %key, %room, "said");
                self.record(&room, &name, &text);
                self.announce(
                    &room,
                    &Message::Said {
                        room: room.clone(),
                        from: name,
                        text,
                    },
                );
            }
            Message::Join { room: to } => {
                if !valid_name(&to) {
                    self.tell_error(
                        key,
                        ErrorCode::INVALID_NAME,
                        format!("{to:?} is not a room name: 1-32 letters, digits, _ or -"),
                    );
                } else if to == room {
                    self.tell_error(key, ErrorCode::BAD_COMMAND, format!("already in {room}"));
                } else {
                    self.move_to(key, &to);
                }
            }
            Message::Leave => {
                if room == LOBBY {
                    self.tell_error(key, ErrorCode::BAD_COMMAND, "already in the lobby");
                } else {
                    self.move_to(key, LOBBY);
                }
            }
            Message::ListRooms => {
                let mut rooms = self.remote_rooms();
                for (r, n) in &self.rooms {
                    *rooms.entry(r.clone()).or_default() += n;
                }
                let rooms = rooms.into_iter().filter(|(_, n)| *n > 0).collect();
                self.tell(key, &Message::Rooms { rooms });
            }
            Message::Who => {
                let mut names: Vec<String> = self
                    .users
                    .values()
                    .filter(|u| u.room == room)
                    .filter_map(|u| u.name.clone())
                    .chain(self.remote_members(&room))
                    .collect();
                names.sort_unstable();
                self.tell(key, &Message::Members { room, names });
            }
            Message::Private { to, text } => match self.find(&to) {
                Some(target) => {
                    tracing::debug!(user = %key, to = %target, "private message");
                    self.tell(target, &Message::PrivateFrom { from: name, text });
                }
                None => {
                    let message = Message::PrivateFrom { from: name, text };
                    if !self.pm_elsewhere(&to, message) {
                        self.tell_error(
                            key,
                            ErrorCode::UNKNOWN_USER,
                            format!("no user named {to:?} (/who lists this room)"),
                        );
                    }
                }
            },
            Message::History { count } => self.replay(key, &room, count),
            Message::Offer { id, to, file, size } => self.offer(key, id, &to, file, size),
            Message::Accept { .. }
            | Message::Refuse { .. }
            | Message::Chunk { .. }
            | Message::Ack { .. }
            | Message::Done { .. }
            | Message::Cancel { .. } => self.relay(key, message, raw),
            other => self.malformed(
                key,
                format!(
                    "kind 0x{:02x} is sent by the server, not a client",
                    other.kind()
                ),
            ),
        }
    }

    /// `Hello`: a unique, valid nickname gets the lobby and a welcome.
    fn hello(&mut self, key: UserKey, name: String) {
        let again = match key.door {
            Door::Text | Door::Web => "; your nickname?",
            Door::Binary => "",
        };
        if self.name_of(key).is_some() {
            return self.tell_error(key, ErrorCode::HELLO_FIRST, "you already have a nickname");
        }
        if !valid_name(&name) {
            return self.tell_error(
                key,
                ErrorCode::INVALID_NAME,
                format!("{name:?} is not a nickname: 1-32 letters, digits, _ or -{again}"),
            );
        }
        if self.find(&name).is_some() || self.taken_elsewhere(&name) {
            tracing::info!(user = %key, %name, "nickname refused: taken");
            return self.refuse_name(key, &name);
        }
        if self.claim(key, &name) {
            return; // welcomed when the service-wide claim is answered
        }
        self.welcome(key, name);
    }

    /// A granted nickname: the welcome, the lobby and its announcement.
    pub(crate) fn welcome(&mut self, key: UserKey, name: String) {
        self.names.insert(name.to_ascii_lowercase(), key);
        if let Some(user) = self.users.get_mut(&key) {
            user.name = Some(name.clone());
        }
        tracing::info!(user = %key, %name, "joined the chat");
        self.tell(
            key,
            &Message::Welcome {
                session: key.id.get(),
                name: name.clone(),
                room: LOBBY.to_string(),
            },
        );
        self.enter(key, LOBBY);
        self.announce(
            LOBBY,
            &Message::Joined {
                room: LOBBY.to_string(),
                name,
            },
        );
    }
}
