//! [`Message::decode`]: the `nom` parser.
//!
//! Every parser here is nom's `complete` flavour: the frame is whole, so
//! running out of bytes is an error, never "need more". nom's error types
//! stay inside this file; callers see [`DecodeError`].

use bytes::Bytes;
use nom::IResult;
use nom::bytes::complete::take;
use nom::combinator::{all_consuming, map, map_res};
use nom::multi::count;
use nom::number::complete::{le_u16, le_u32, le_u64, u8 as byte};
use nom::sequence::tuple;

use super::{ErrorCode, MAX_CHUNK, Message, kind};

/// Why a frame is not a [`Message`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The frame is empty: no kind byte.
    #[error("empty message: no kind byte")]
    Empty,
    /// The kind byte is not one this protocol has.
    #[error("unknown message kind 0x{0:02x}")]
    UnknownKind(u8),
    /// The fields do not parse (too short, bad UTF-8, bytes left over).
    #[error("malformed message of kind 0x{kind:02x}: fields do not parse ({len} bytes)")]
    Fields {
        /// The kind byte.
        kind: u8,
        /// The frame's length.
        len: usize,
    },
    /// A chunk carries more than [`MAX_CHUNK`] bytes.
    #[error("chunk of {len} bytes, over the limit of {max}")]
    ChunkTooLarge {
        /// Its data length.
        len: usize,
        /// [`MAX_CHUNK`].
        max: usize,
    },
}

type Res<'a, T> = IResult<&'a [u8], T>;

/// A string: u16 little-endian length, then that many bytes of UTF-8.
fn string(input: &[u8]) -> Res<'_, String> {
    let (input, len) = le_u16(input)?;
    map_res(take(len), |b: &[u8]| {
        std::str::from_utf8(b).map(str::to_string)
    })(input)
}

/// A list: u16 count, then the items.
fn list<'a, T>(
    item: impl FnMut(&'a [u8]) -> Res<'a, T>,
) -> impl FnMut(&'a [u8]) -> Res<'a, Vec<T>> {
    let mut item = item;
    move |input| {
        let (input, n) = le_u16(input)?;
        count(&mut item, usize::from(n))(input)
    }
}

fn digest(input: &[u8]) -> Res<'_, [u8; 32]> {
    map_res(take(32usize), <[u8; 32]>::try_from)(input)
}

/// The fields of a message of kind `k`, all of them consumed; `None` for
/// an unknown kind. A chunk's data is returned as its offset in the
/// frame, so that the caller can slice the frame's `Bytes` for it.
fn fields(k: u8, input: &[u8]) -> Option<Res<'_, Message>> {
    let parsed = match k {
        kind::HELLO => all_consuming(map(string, |name| Message::Hello { name }))(input),
        kind::SAY => all_consuming(map(string, |text| Message::Say { text }))(input),
        kind::JOIN => all_consuming(map(string, |room| Message::Join { room }))(input),
        kind::LEAVE => all_consuming(|i| Ok((i, Message::Leave)))(input),
        kind::LIST_ROOMS => all_consuming(|i| Ok((i, Message::ListRooms)))(input),
        kind::WHO => all_consuming(|i| Ok((i, Message::Who)))(input),
        kind::PRIVATE => all_consuming(map(tuple((string, string)), |(to, text)| {
            Message::Private { to, text }
        }))(input),
        kind::OFFER => all_consuming(map(
            tuple((le_u64, string, string, le_u64)),
            |(id, to, file, size)| Message::Offer { id, to, file, size },
        ))(input),
        kind::HISTORY => all_consuming(map(le_u16, |count| Message::History { count }))(input),
        kind::PAST => all_consuming(map(
            tuple((string, string, string, le_u64)),
            |(room, from, text, at_ms)| Message::Past {
                room,
                from,
                text,
                at_ms,
            },
        ))(input),
        kind::WELCOME => all_consuming(map(
            tuple((le_u64, string, string)),
            |(session, name, room)| Message::Welcome {
                session,
                name,
                room,
            },
        ))(input),
        kind::ERROR => all_consuming(map(tuple((byte, string)), |(code, text)| Message::Error {
            code: ErrorCode(code),
            text,
        }))(input),
        kind::SAID => all_consuming(map(
            tuple((string, string, string)),
            |(room, from, text)| Message::Said { room, from, text },
        ))(input),
        kind::JOINED => all_consuming(map(tuple((string, string)), |(room, name)| {
            Message::Joined { room, name }
        }))(input),
        kind::LEFT => all_consuming(map(tuple((string, string)), |(room, name)| Message::Left {
            room,
            name,
        }))(input),
        kind::ROOMS => all_consuming(map(list(tuple((string, le_u32))), |rooms| Message::Rooms {
            rooms,
        }))(input),
        kind::MEMBERS => all_consuming(map(tuple((string, list(string))), |(room, names)| {
            Message::Members { room, names }
        }))(input),
        kind::PRIVATE_FROM => all_consuming(map(tuple((string, string)), |(from, text)| {
            Message::PrivateFrom { from, text }
        }))(input),
        kind::OFFER_FROM => all_consuming(map(
            tuple((le_u64, string, string, le_u64)),
            |(id, from, file, size)| Message::OfferFrom {
                id,
                from,
                file,
                size,
            },
        ))(input),
        kind::ACCEPT => all_consuming(map(le_u64, |id| Message::Accept { id }))(input),
        kind::REFUSE => all_consuming(map(tuple((le_u64, string)), |(id, reason)| {
            Message::Refuse { id, reason }
        }))(input),
        kind::CHUNK => map(tuple((le_u64, le_u32)), |(id, seq)| Message::Chunk {
            id,
            seq,
            data: Bytes::new(),
        })(input),
        kind::ACK => all_consuming(map(tuple((le_u64, le_u32)), |(id, seq)| Message::Ack {
            id,
            seq,
        }))(input),
        kind::DONE => all_consuming(map(tuple((le_u64, digest)), |(id, sha256)| Message::Done {
            id,
            sha256,
        }))(input),
        kind::CANCEL => all_consuming(map(tuple((le_u64, string)), |(id, reason)| {
            Message::Cancel { id, reason }
        }))(input),
        _ => return None,
    };
    Some(parsed)
}

impl Message {
    /// Parses one frame's payload. A chunk's data shares `frame`'s memory.
    pub fn decode(frame: &Bytes) -> Result<Self, DecodeError> {
        let (&k, body) = frame.split_first().ok_or(DecodeError::Empty)?;
        let bad = || DecodeError::Fields {
            kind: k,
            len: frame.len(),
        };
        let (rest, message) = fields(k, body)
            .ok_or(DecodeError::UnknownKind(k))?
            .map_err(|_| bad())?;
        match message {
            Message::Chunk { id, seq, .. } => {
                if rest.len() > MAX_CHUNK {
                    return Err(DecodeError::ChunkTooLarge {
                        len: rest.len(),
                        max: MAX_CHUNK,
                    });
                }
                let start = frame.len() - rest.len();
                Ok(Message::Chunk {
                    id,
                    seq,
                    data: frame.slice(start..),
                })
            }
            other => Ok(other),
        }
    }
}
