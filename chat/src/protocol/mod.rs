//! The binary chat protocol: one [`Message`] per length-field frame
//! (laster40Net preset: u32 little-endian payload length), a kind byte
//! then the message's fields. `chat/PROTOCOL.md` documents every kind with
//! byte examples.
//!
//! - [`Message::decode`]: a `nom` parser over the frame's bytes; a file
//!   chunk's data is a slice of the frame ([`Bytes`], no copy), so the
//!   server relays chunks, acks and the other transfer messages as the
//!   very frame it received. Every input yields a message or a
//!   [`DecodeError`]; nothing panics (the `chat_decode` fuzz target checks).
//! - [`Message::encode`]: the inverse; [`encode_chunk_header`] lets a
//!   sender read file bytes straight into the frame after it.

mod decode;
mod encode;
mod error_code;

use bytes::Bytes;

pub use decode::DecodeError;
pub use encode::encode_chunk_header;
pub(crate) use encode::put_string;
pub use error_code::ErrorCode;

/// Largest data in one [`Message::Chunk`] (64 KiB).
pub const MAX_CHUNK: usize = 64 * 1024;
/// Largest frame payload the binary door accepts: a chunk plus its header,
/// with room to spare (any other message is far smaller).
pub const MAX_FRAME: usize = MAX_CHUNK + 1024;
/// Longest string field, in bytes (the field's length is a u16).
pub const MAX_STRING: usize = u16::MAX as usize;

/// One message, in either direction. Kinds `0x01..=0x09` go from client to
/// server, `0x81..=0x8a` from server to client, and the transfer kinds
/// `0x10..=0x15` both ways: the server checks and relays them unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message {
    /// `0x01` client: the first message, choosing a nickname.
    Hello {
        /// The nickname.
        name: String,
    },
    /// `0x02` client: a line for the current room.
    Say {
        /// The line.
        text: String,
    },
    /// `0x03` client: move to a room (created on demand).
    Join {
        /// The room.
        room: String,
    },
    /// `0x04` client: back to the lobby.
    Leave,
    /// `0x05` client: list the rooms.
    ListRooms,
    /// `0x06` client: list the members of the current room.
    Who,
    /// `0x07` client: a private message.
    Private {
        /// The recipient's nickname.
        to: String,
        /// The line.
        text: String,
    },
    /// `0x08` client: offer a file to a user.
    Offer {
        /// The transfer's id, chosen by the sender (random; the server
        /// refuses one in use).
        id: u64,
        /// The recipient's nickname.
        to: String,
        /// The file's name (no directories).
        file: String,
        /// Its size in bytes.
        size: u64,
    },
    /// `0x09` client: replay the current room's recent history.
    History {
        /// Lines wanted (the server caps it at what it keeps per room).
        count: u16,
    },
    /// `0x81` server: the answer to `Hello`.
    Welcome {
        /// The session's id on the server.
        session: u64,
        /// The nickname granted.
        name: String,
        /// The room the user is in (the lobby).
        room: String,
    },
    /// `0x82` server: something was refused, or is wrong.
    Error {
        /// What kind of error.
        code: ErrorCode,
        /// For people.
        text: String,
    },
    /// `0x83` server: a line said in a room.
    Said {
        /// The room.
        room: String,
        /// Who said it.
        from: String,
        /// The line.
        text: String,
    },
    /// `0x84` server: someone (maybe you) joined a room.
    Joined {
        /// The room.
        room: String,
        /// Who.
        name: String,
    },
    /// `0x85` server: someone left a room (or the server).
    Left {
        /// The room.
        room: String,
        /// Who.
        name: String,
    },
    /// `0x86` server: the rooms and their member counts.
    Rooms {
        /// `(room, members)`, sorted by name.
        rooms: Vec<(String, u32)>,
    },
    /// `0x87` server: the members of a room.
    Members {
        /// The room.
        room: String,
        /// Nicknames, sorted.
        names: Vec<String>,
    },
    /// `0x88` server: a private message to you.
    PrivateFrom {
        /// The sender.
        from: String,
        /// The line.
        text: String,
    },
    /// `0x89` server: a file offered to you.
    OfferFrom {
        /// The transfer.
        id: u64,
        /// The sender.
        from: String,
        /// The file's name.
        file: String,
        /// Its size in bytes.
        size: u64,
    },
    /// `0x8a` server: a line of a room's history (answering `History`,
    /// or the last few when joining a room).
    Past {
        /// The room.
        room: String,
        /// Who said it.
        from: String,
        /// The line.
        text: String,
        /// When the server received it: milliseconds since the Unix epoch.
        at_ms: u64,
    },
    /// `0x10` both: the receiver takes the file.
    Accept {
        /// The transfer.
        id: u64,
    },
    /// `0x11` both: the receiver (or the server) refuses the file.
    Refuse {
        /// The transfer.
        id: u64,
        /// Why.
        reason: String,
    },
    /// `0x12` both: file bytes; the data is the rest of the frame.
    Chunk {
        /// The transfer.
        id: u64,
        /// The chunk's number, from 0.
        seq: u32,
        /// At most [`MAX_CHUNK`] bytes.
        data: Bytes,
    },
    /// `0x13` both: the receiver wrote chunk `seq` (the sender may send
    /// one more).
    Ack {
        /// The transfer.
        id: u64,
        /// The chunk acknowledged.
        seq: u32,
    },
    /// `0x14` both: the sender is done; the digest of the whole file.
    Done {
        /// The transfer.
        id: u64,
        /// SHA-256 of the file.
        sha256: [u8; 32],
    },
    /// `0x15` both: the transfer is off (a party left, a limit, a bad
    /// digest).
    Cancel {
        /// The transfer.
        id: u64,
        /// Why.
        reason: String,
    },
}

impl Message {
    /// The message's kind byte.
    pub fn kind(&self) -> u8 {
        match self {
            Self::Hello { .. } => kind::HELLO,
            Self::Say { .. } => kind::SAY,
            Self::Join { .. } => kind::JOIN,
            Self::Leave => kind::LEAVE,
            Self::ListRooms => kind::LIST_ROOMS,
            Self::Who => kind::WHO,
            Self::Private { .. } => kind::PRIVATE,
            Self::Offer { .. } => kind::OFFER,
            Self::History { .. } => kind::HISTORY,
            Self::Welcome { .. } => kind::WELCOME,
            Self::Error { .. } => kind::ERROR,
            Self::Said { .. } => kind::SAID,
            Self::Joined { .. } => kind::JOINED,
            Self::Left { .. } => kind::LEFT,
            Self::Rooms { .. } => kind::ROOMS,
            Self::Members { .. } => kind::MEMBERS,
            Self::PrivateFrom { .. } => kind::PRIVATE_FROM,
            Self::OfferFrom { .. } => kind::OFFER_FROM,
            Self::Past { .. } => kind::PAST,
            Self::Accept { .. } => kind::ACCEPT,
            Self::Refuse { .. } => kind::REFUSE,
            Self::Chunk { .. } => kind::CHUNK,
            Self::Ack { .. } => kind::ACK,
            Self::Done { .. } => kind::DONE,
            Self::Cancel { .. } => kind::CANCEL,
        }
    }
}

/// The kind bytes.
pub mod kind {
    /// [`Message::Hello`](super::Message::Hello).
    pub const HELLO: u8 = 0x01;
    /// [`Message::Say`](super::Message::Say).
    pub const SAY: u8 = 0x02;
    /// [`Message::Join`](super::Message::Join).
    pub const JOIN: u8 = 0x03;
    /// [`Message::Leave`](super::Message::Leave).
    pub const LEAVE: u8 = 0x04;
    /// [`Message::ListRooms`](super::Message::ListRooms).
    pub const LIST_ROOMS: u8 = 0x05;
    /// [`Message::Who`](super::Message::Who).
    pub const WHO: u8 = 0x06;
    /// [`Message::Private`](super::Message::Private).
    pub const PRIVATE: u8 = 0x07;
    /// [`Message::Offer`](super::Message::Offer).
    pub const OFFER: u8 = 0x08;
    /// [`Message::History`](super::Message::History).
    pub const HISTORY: u8 = 0x09;
    /// [`Message::Accept`](super::Message::Accept).
    pub const ACCEPT: u8 = 0x10;
    /// [`Message::Refuse`](super::Message::Refuse).
    pub const REFUSE: u8 = 0x11;
    /// [`Message::Chunk`](super::Message::Chunk).
    pub const CHUNK: u8 = 0x12;
    /// [`Message::Ack`](super::Message::Ack).
    pub const ACK: u8 = 0x13;
    /// [`Message::Done`](super::Message::Done).
    pub const DONE: u8 = 0x14;
    /// [`Message::Cancel`](super::Message::Cancel).
    pub const CANCEL: u8 = 0x15;
    /// [`Message::Welcome`](super::Message::Welcome).
    pub const WELCOME: u8 = 0x81;
    /// [`Message::Error`](super::Message::Error).
    pub const ERROR: u8 = 0x82;
    /// [`Message::Said`](super::Message::Said).
    pub const SAID: u8 = 0x83;
    /// [`Message::Joined`](super::Message::Joined).
    pub const JOINED: u8 = 0x84;
    /// [`Message::Left`](super::Message::Left).
    pub const LEFT: u8 = 0x85;
    /// [`Message::Rooms`](super::Message::Rooms).
    pub const ROOMS: u8 = 0x86;
    /// [`Message::Members`](super::Message::Members).
    pub const MEMBERS: u8 = 0x87;
    /// [`Message::PrivateFrom`](super::Message::PrivateFrom).
    pub const PRIVATE_FROM: u8 = 0x88;
    /// [`Message::OfferFrom`](super::Message::OfferFrom).
    pub const OFFER_FROM: u8 = 0x89;
    /// [`Message::Past`](super::Message::Past).
    pub const PAST: u8 = 0x8a;
}

#[cfg(test)]
mod tests;
