//! [`Message::encode`]: the inverse of the parser.

use bytes::{BufMut, Bytes, BytesMut};

use super::{MAX_STRING, Message, kind};

/// Writes a string field: u16 little-endian length, then the bytes. A
/// longer string is cut at a character boundary within [`MAX_STRING`]
/// bytes (no message this protocol sends needs that much).
pub(crate) fn put_string(buf: &mut BytesMut, s: &str) {
    let mut end = s.len().min(MAX_STRING);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    // Within MAX_STRING = u16::MAX by the line above.
    buf.put_u16_le(end as u16);
    buf.put_slice(&s.as_bytes()[..end]);
}

/// Writes a list's count (at most `u16::MAX` items are written).
fn put_count(buf: &mut BytesMut, n: usize) -> usize {
    let n = n.min(usize::from(u16::MAX));
    buf.put_u16_le(n as u16);
    n
}

/// Writes the header of a [`Message::Chunk`] (kind, id, seq) into `buf`;
/// the data follows, written by the caller (read straight from a file,
/// say), at most [`MAX_CHUNK`](super::MAX_CHUNK) bytes.
pub fn encode_chunk_header(buf: &mut BytesMut, id: u64, seq: u32) {
    buf.put_u8(kind::CHUNK);
    buf.put_u64_le(id);
    buf.put_u32_le(seq);
}

impl Message {
    /// The message's bytes: one frame's payload.
    pub fn encode(&self) -> Bytes {
        let mut buf = BytesMut::with_capacity(64);
        buf.put_u8(self.kind());
        match self {
            Self::Leave | Self::ListRooms | Self::Who => {}
            Self::Hello { name } => put_string(&mut buf, name),
            Self::Say { text } => put_string(&mut buf, text),
            Self::Join { room } => put_string(&mut buf, room),
            Self::Private { to, text } => {
                put_string(&mut buf, to);
                put_string(&mut buf, text);
            }
            Self::Offer { id, to, file, size }
            | Self::OfferFrom {
                id,
                from: to,
                file,
                size,
            } => {
                buf.put_u64_le(*id);
                put_string(&mut buf, to);
                put_string(&mut buf, file);
                buf.put_u64_le(*size);
            }
            Self::Welcome {
                session,
                name,
                room,
            } => {
                buf.put_u64_le(*session);
                put_string(&mut buf, name);
                put_string(&mut buf, room);
            }
            Self::Error { code, text } => {
                buf.put_u8(code.0);
                put_string(&mut buf, text);
            }
            Self::Said { room, from, text } => {
                put_string(&mut buf, room);
                put_string(&mut buf, from);
                put_string(&mut buf, text);
            }
            Self::Joined { room, name } | Self::Left { room, name } => {
                put_string(&mut buf, room);
                put_string(&mut buf, name);
            }
            Self::Rooms { rooms } => {
                let n = put_count(&mut buf, rooms.len());
                for (room, members) in &rooms[..n] {
                    put_string(&mut buf, room);
                    buf.put_u32_le(*members);
                }
            }
            Self::Members { room, names } => {
                put_string(&mut buf, room);
                let n = put_count(&mut buf, names.len());
                for name in &names[..n] {
                    put_string(&mut buf, name);
                }
            }
            Self::PrivateFrom { from, text } => {
                put_string(&mut buf, from);
                put_string(&mut buf, text);
            }
            Self::History { count } => buf.put_u16_le(*count),
            Self::Past {
                room,
                from,
                text,
                at_ms,
            } => {
                put_string(&mut buf, room);
                put_string(&mut buf, from);
                put_string(&mut buf, text);
                buf.put_u64_le(*at_ms);
            }
            Self::Accept { id } => buf.put_u64_le(*id),
            Self::Refuse { id, reason } | Self::Cancel { id, reason } => {
                buf.put_u64_le(*id);
                put_string(&mut buf, reason);
            }
            Self::Chunk { id, seq, data } => {
                buf.clear();
                buf.reserve(13 + data.len());
                encode_chunk_header(&mut buf, *id, *seq);
                buf.put_slice(data);
            }
            Self::Ack { id, seq } => {
                buf.put_u64_le(*id);
                buf.put_u32_le(*seq);
            }
            Self::Done { id, sha256 } => {
                buf.put_u64_le(*id);
                buf.put_slice(sha256);
            }
        }
        buf.freeze()
    }
}
