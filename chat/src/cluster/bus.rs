//! [`Envelope`]: what instances tell each other on the Redis channel.
//!
//! Each publish is one envelope: a version byte, the sending instance's
//! id, a kind byte, then the kind's fields. Room events and private
//! messages carry a chat [`Message`] in its wire encoding, so the
//! receiving instance relays a room line to its binary clients without
//! building it again.
//!
//! | kind | fields |
//! | --- | --- |
//! | `1` room | the `Said`, `Joined` or `Left` message |
//! | `2` private | `to: string`, the `PrivateFrom` message |
//! | `3` presence | `count: u16`, then `name: string`, `room: string` each |
//! | `4` bye | (the instance is shutting down) |
//! | `5` hello | as presence; every other instance answers with its presence |
//!
//! Strings are a u16 little-endian length and UTF-8, as in the chat
//! protocol.

use bytes::{BufMut, Bytes, BytesMut};

use crate::protocol::{Message, put_string};

const VERSION: u8 = 1;

/// What an instance says to the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Envelope {
    /// A room event (`Said`, `Joined`, `Left`) for every instance's
    /// members of the room.
    Room(Message),
    /// A private message for the instance where `to` is connected.
    Private {
        /// The recipient.
        to: String,
        /// `PrivateFrom`.
        message: Message,
    },
    /// The instance's users and their rooms, in full (sent every
    /// presence refresh).
    Presence(Vec<(String, String)>),
    /// The instance is shutting down: its users are gone.
    Bye,
    /// The instance's users and their rooms, in full, as [`Self::Presence`],
    /// sent when its subscription comes up (first start or after an
    /// outage): every other instance answers at once with its own
    /// presence, so the newcomer knows the whole service before it hears
    /// its next line.
    Hello(Vec<(String, String)>),
}

/// Why bytes on the channel are not an envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a chat bus envelope: {0}")]
pub struct BadEnvelope(&'static str);

/// Reads fields off the front of a byte slice.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], BadEnvelope> {
        if self.0.len() < n {
            return Err(BadEnvelope("too short"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, BadEnvelope> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, BadEnvelope> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn string(&mut self) -> Result<String, BadEnvelope> {
        let n = self.u16()?;
        let bytes = self.take(usize::from(n))?;
        String::from_utf8(bytes.to_vec()).map_err(|_| BadEnvelope("a string is not UTF-8"))
    }

    /// `count: u16`, then `name`, `room` each.
    fn users(&mut self) -> Result<Vec<(String, String)>, BadEnvelope> {
        let n = self.u16()?;
        (0..n)
            .map(|_| Ok((self.string()?, self.string()?)))
            .collect()
    }

    fn message(&mut self) -> Result<Message, BadEnvelope> {
        let rest = Bytes::copy_from_slice(std::mem::take(&mut self.0));
        Message::decode(&rest).map_err(|_| BadEnvelope("the chat message does not decode"))
    }
}

impl Envelope {
    /// The envelope as `instance` publishes it.
    pub fn encode(&self, instance: &str) -> Bytes {
        let mut buf = BytesMut::with_capacity(64);
        buf.put_u8(VERSION);
        put_string(&mut buf, instance);
        match self {
            Self::Room(message) => {
                buf.put_u8(1);
                buf.put_slice(&message.encode());
            }
            Self::Private { to, message } => {
                buf.put_u8(2);
                put_string(&mut buf, to);
                buf.put_slice(&message.encode());
            }
            Self::Presence(users) => {
                buf.put_u8(3);
                put_users(&mut buf, users);
            }
            Self::Bye => buf.put_u8(4),
            Self::Hello(users) => {
                buf.put_u8(5);
                put_users(&mut buf, users);
            }
        }
        buf.freeze()
    }

    /// The sending instance and its envelope.
    pub fn decode(bytes: &[u8]) -> Result<(String, Self), BadEnvelope> {
        let mut c = Cursor(bytes);
        if c.u8()? != VERSION {
            return Err(BadEnvelope("unknown version"));
        }
        let instance = c.string()?;
        let envelope = match c.u8()? {
            1 => Self::Room(c.message()?),
            2 => Self::Private {
                to: c.string()?,
                message: c.message()?,
            },
            3 => Self::Presence(c.users()?),
            4 => Self::Bye,
            5 => Self::Hello(c.users()?),
            _ => return Err(BadEnvelope("unknown kind")),
        };
        if !c.0.is_empty() {
            return Err(BadEnvelope("bytes left over"));
        }
        Ok((instance, envelope))
    }
}

/// A user list: `count: u16` (at most `u16::MAX` go), then `name`, `room`
/// each.
fn put_users(buf: &mut BytesMut, users: &[(String, String)]) {
    let n = users.len().min(usize::from(u16::MAX));
    buf.put_u16_le(n as u16);
    for (name, room) in &users[..n] {
        put_string(buf, name);
        put_string(buf, room);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_and_garbage_is_an_error() {
        let envelopes = [
            Envelope::Room(Message::Said {
                room: "lobby".into(),
                from: "alice".into(),
                text: "hi".into(),
            }),
            Envelope::Private {
                to: "bob".into(),
                message: Message::PrivateFrom {
                    from: "alice".into(),
                    text: "psst".into(),
                },
            },
            Envelope::Presence(vec![("alice".into(), "lobby".into())]),
            Envelope::Bye,
            Envelope::Hello(vec![("bob".into(), "games".into())]),
            Envelope::Hello(Vec::new()),
        ];
        for envelope in envelopes {
            let bytes = envelope.encode("i1");
            assert_eq!(Envelope::decode(&bytes), Ok(("i1".into(), envelope)));
            for cut in 0..bytes.len() - 1 {
                let _ = Envelope::decode(&bytes[..cut]); // never panics
            }
        }
        assert!(Envelope::decode(b"").is_err());
        assert!(Envelope::decode(b"\x01\x00\x00\x09").is_err());
        assert!(Envelope::decode(b"\x01\x00\x00\x04extra").is_err());
    }
}
