//! Framing: turning a byte stream into frames and payloads into wire bytes.
//!
//! | codec | config | wire format |
//! | --- | --- | --- |
//! | [`LengthFieldCodec`] | [`LengthField`] | a header with a 1–8 byte length field; presets for laster40Net, Netty, tokio-util |
//! | [`LineCodec`] | [`Line`] | text lines ended by `\n` or `\r\n` |
//! | [`RawCodec`] | [`Raw`] | bytes as they arrive |
//!
//! Every codec implements [`MessageResolver`] and [`MessageBuilder`], and its
//! config implements [`MessageFactory`]. The three traits are defined here,
//! beside the codecs, and re-exported from `proto_core::message`.
//!
//! Decoding has two paths over one parser:
//! - owned: [`MessageResolver::decode`] / [`MessageResolver::frames`] return
//!   zero-copy [`Bytes`](bytes::Bytes) slices of the read buffer (one
//!   reference-count increment each);
//! - borrowed: [`for_each_frame`] (or [`FrameReader::for_each_frame`]) walks
//!   the whole frames of a buffer as `&[u8]` with no reference counting and
//!   releases the consumed bytes in one step, for callers that parse each
//!   frame and drop it at once.

mod codec;
mod error;
mod length;
mod line;
mod raw;
mod reader;
mod wire;

use bytes::{Buf, BytesMut};

pub use codec::{
    Frames, MessageBuilder, MessageFactory, MessageResolver, Resolved, ResolverAction,
};
pub use error::FrameError;
pub use length::{Endian, FieldWidth, LengthField, LengthFieldCodec, LengthMode};
pub use line::{DEFAULT_MAX_LINE_LENGTH, Line, LineCodec, Utf8Line};
pub use raw::{Raw, RawCodec};
pub use reader::{FrameReader, ReadBufConfig};
pub use wire::{DEFAULT_COPY_LIMIT, WireBuf};

use codec::{check_discard, check_frame};

/// The default `max_frame_length` of the length-field codec: 1 MiB.
pub const DEFAULT_MAX_FRAME_LENGTH: usize = 1 << 20;

/// Walks the whole frames at the start of `src` as borrowed slices, calling
/// `on_frame` for each, then releases all consumed bytes in one step.
///
/// No reference count is touched per frame. Returns how many frames were
/// delivered; on error, the frames before it were delivered and consumed, and
/// the bad frame was not.
pub fn for_each_frame<R, F>(
    resolver: &mut R,
    src: &mut BytesMut,
    mut on_frame: F,
) -> Result<usize, FrameError>
where
    R: MessageResolver + ?Sized,
    F: FnMut(&[u8]),
{
    let mut pos = 0;
    let mut count = 0;
    let result = loop {
        let rest = &src[pos..];
        match resolver.resolve(rest) {
            Ok(Resolved::Frame { frame, consumed }) => {
                if let Err(e) = check_frame(&frame, consumed, rest.len()) {
                    break Err(e);
                }
                on_frame(&rest[frame]);
                pos += consumed;
                count += 1;
            }
            Ok(Resolved::Discard(n)) => {
                if let Err(e) = check_discard(n, rest.len()) {
                    break Err(e);
                }
                pos += n;
            }
            Ok(Resolved::Incomplete) => break Ok(count),
            Err(e) => break Err(e),
        }
    };
    src.advance(pos);
    result
}

/// Reads a big- or little-endian unsigned integer of 1 to 8 bytes.
///
/// The common widths are read as fixed-size arrays: a copy of a run-time
/// length would be a `memcpy` call into a stack buffer followed by a wider
/// load, which stalls store forwarding on every header.
#[inline(always)]
pub(crate) fn read_uint(bytes: &[u8], endian: Endian) -> u64 {
    match (bytes, endian) {
        (&[a, b, c, d], Endian::Big) => u64::from(u32::from_be_bytes([a, b, c, d])),
        (&[a, b, c, d], Endian::Little) => u64::from(u32::from_le_bytes([a, b, c, d])),
        (&[a, b], Endian::Big) => u64::from(u16::from_be_bytes([a, b])),
        (&[a, b], Endian::Little) => u64::from(u16::from_le_bytes([a, b])),
        (&[a], _) => u64::from(a),
        _ => read_uint_any(bytes, endian),
    }
}

/// [`read_uint`] for the other widths (3 and 8 bytes).
#[inline]
fn read_uint_any(bytes: &[u8], endian: Endian) -> u64 {
    let mut v = [0u8; 8];
    let n = bytes.len().min(8);
    match endian {
        Endian::Big => {
            v[8 - n..].copy_from_slice(&bytes[..n]);
            u64::from_be_bytes(v)
        }
        Endian::Little => {
            v[..n].copy_from_slice(&bytes[..n]);
            u64::from_le_bytes(v)
        }
    }
}
