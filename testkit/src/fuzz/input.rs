//! The typed inputs of the decode and round-trip harnesses, read from fuzz
//! bytes by `#[derive(Arbitrary)]`, and the parameters they stand for.

use arbitrary::{Arbitrary, Unstructured};
use proto_core::frame::{
    DEFAULT_MAX_FRAME_LENGTH, DEFAULT_MAX_LINE_LENGTH, Endian, FieldWidth, LengthMode,
    ReadBufConfig,
};

use crate::model::LengthParams;

/// Bytes: a length byte and that many bytes (fewer at the end of the
/// input); as the last field of an input, every byte left.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Blob(pub Vec<u8>);

impl<'a> Arbitrary<'a> for Blob {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let len = usize::from(u8::arbitrary(u)?).min(u.len());
        Ok(Self(u.bytes(len)?.to_vec()))
    }

    fn arbitrary_take_rest(u: Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Self(u.take_rest().to_vec()))
    }
}

impl From<&[u8]> for Blob {
    fn from(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }
}

/// Read sizes the stream is cut into, cycled (the first four; none: one
/// byte per read); 0 is an empty read (always followed by a non-empty one,
/// so splitting ends).
#[derive(Arbitrary, Debug, Clone, PartialEq, Eq, Default)]
pub struct Chunking(pub Vec<u8>);

impl Chunking {
    /// The reads `stream` is cut into.
    pub fn split<'a>(&self, stream: &'a [u8]) -> Vec<&'a [u8]> {
        let sizes: Vec<usize> = self.0.iter().take(4).map(|&s| usize::from(s)).collect();
        crate::chunk::split(stream, &sizes)
    }
}

/// A [`ReadBufConfig`].
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BufConfig {
    /// `read_capacity`.
    pub read_capacity: u8,
    /// A quarter of `retain_capacity`.
    pub retain_quarter: u8,
}

impl BufConfig {
    /// The config.
    pub fn config(self) -> ReadBufConfig {
        ReadBufConfig {
            read_capacity: usize::from(self.read_capacity),
            retain_capacity: 4 * usize::from(self.retain_quarter),
        }
    }
}

/// `length_field_offset`.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offset {
    /// `n % 8`.
    Near(u8),
    /// `60 + n % 16`.
    Far(u8),
    /// `usize::MAX - n % 16` (a round trip takes it as `Far`).
    Past(u8),
}

/// Width of the length field.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    /// [`FieldWidth::U8`].
    W8,
    /// [`FieldWidth::U16`].
    W16,
    /// [`FieldWidth::U24`].
    W24,
    /// [`FieldWidth::U32`].
    W32,
    /// [`FieldWidth::U64`].
    W64,
}

/// `length_adjustment`.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adjustment {
    /// None.
    Zero,
    /// A small one.
    By(i8),
    /// `[i64::MIN, i64::MAX, -2^32, 2^32, -2^16, 2^16, -9, 9][n % 8]`.
    Edge(u8),
    /// Any.
    Exactly(i64),
}

/// Bytes stripped from each frame.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strip {
    /// The header (the default).
    Header,
    /// `n % 64`.
    Bytes(u8),
    /// `usize::MAX - n % 64`.
    Huge(u8),
}

/// `max_frame_length`.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxLen {
    /// `n % 64`.
    Tiny(u8),
    /// `n`.
    Short(u16),
    /// [`DEFAULT_MAX_FRAME_LENGTH`].
    Standard,
    /// `usize::MAX`.
    Unbounded,
    /// `n`.
    Long(u32),
    /// `64 + n % 64`.
    Mid(u8),
}

/// A length-field codec's parameters ([`LengthParams`]).
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub struct LengthInput {
    /// `length_field_offset`.
    pub offset: Offset,
    /// Width of the length field.
    pub width: Width,
    /// Little endian (else big).
    pub little: bool,
    /// The field counts the whole frame (else the payload).
    pub frame: bool,
    /// `length_adjustment`.
    pub adjustment: Adjustment,
    /// Bytes stripped (a round trip strips the header).
    pub strip: Strip,
    /// `max_frame_length`.
    pub max: MaxLen,
}

impl LengthInput {
    /// The parameters; for a round trip the offset stays small (the
    /// encoder writes it) and the strip is the default.
    pub fn params(self, round_trip: bool) -> LengthParams {
        let offset = match self.offset {
            Offset::Near(o) => usize::from(o % 8),
            Offset::Far(o) => 60 + usize::from(o % 16),
            Offset::Past(o) if round_trip => 60 + usize::from(o % 16),
            Offset::Past(o) => usize::MAX - usize::from(o % 16),
        };
        let width = match self.width {
            Width::W8 => FieldWidth::U8,
            Width::W16 => FieldWidth::U16,
            Width::W24 => FieldWidth::U24,
            Width::W32 => FieldWidth::U32,
            Width::W64 => FieldWidth::U64,
        };
        let adjustment = match self.adjustment {
            Adjustment::Zero => 0,
            Adjustment::By(a) => i64::from(a),
            Adjustment::Edge(a) => [
                i64::MIN,
                i64::MAX,
                -(1 << 32),
                1 << 32,
                -(1 << 16),
                1 << 16,
                -9,
                9,
            ][usize::from(a % 8)],
            Adjustment::Exactly(a) => a,
        };
        let strip = match self.strip {
            _ if round_trip => None,
            Strip::Header => None,
            Strip::Bytes(s) => Some(usize::from(s % 64)),
            Strip::Huge(s) => Some(usize::MAX - usize::from(s % 64)),
        };
        let max = match self.max {
            MaxLen::Tiny(m) => usize::from(m % 64),
            MaxLen::Short(m) => usize::from(m),
            MaxLen::Standard => DEFAULT_MAX_FRAME_LENGTH,
            MaxLen::Unbounded => usize::MAX,
            MaxLen::Long(m) => m as usize,
            MaxLen::Mid(m) => 64 + usize::from(m % 64),
        };
        LengthParams {
            offset,
            width,
            endian: if self.little {
                Endian::Little
            } else {
                Endian::Big
            },
            mode: if self.frame {
                LengthMode::Frame
            } else {
                LengthMode::Payload
            },
            adjustment,
            strip,
            max,
        }
    }
}

/// The line codec's limit.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineMax {
    /// `n % 112`.
    Chars(u8),
    /// [`DEFAULT_MAX_LINE_LENGTH`].
    LineDefault,
    /// `usize::MAX`.
    NoLimit,
}

/// The line codec's parameters.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineInput {
    /// `max_line_length` (and `max_send_length`).
    pub max: LineMax,
    /// Lines must be UTF-8.
    pub utf8: bool,
}

impl LineInput {
    /// The limit.
    pub fn max(self) -> usize {
        match self.max {
            LineMax::Chars(m) => usize::from(m % 112),
            LineMax::LineDefault => DEFAULT_MAX_LINE_LENGTH,
            LineMax::NoLimit => usize::MAX,
        }
    }
}

/// The input of [`decode_length_field`](super::decode_length_field).
#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub struct DecodeLengthField {
    /// The codec.
    pub params: LengthInput,
    /// The read sizes.
    pub chunking: Chunking,
    /// The read buffer.
    pub buf: BufConfig,
    /// The stream.
    pub stream: Blob,
}

/// The input of [`decode_line`](super::decode_line).
#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub struct DecodeLine {
    /// The codec.
    pub params: LineInput,
    /// The read sizes.
    pub chunking: Chunking,
    /// The read buffer.
    pub buf: BufConfig,
    /// The stream.
    pub stream: Blob,
}

/// The input of [`decode_raw`](super::decode_raw).
#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub struct DecodeRaw {
    /// The read sizes.
    pub chunking: Chunking,
    /// The read buffer.
    pub buf: BufConfig,
    /// The stream.
    pub stream: Blob,
}

/// The bytes a length-field round trip writes before the length field.
#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub enum Prefix {
    /// None: `encode`.
    NoPrefix,
    /// `offset` bytes of this value, through `encode_with_prefix`.
    Fill(u8),
    /// These bytes (refused unless exactly `offset` of them).
    Given(Blob),
}

/// The codec of a round trip.
#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub enum RoundTripCodec {
    /// A length-field codec (its strip is the default).
    Length {
        /// The codec.
        params: LengthInput,
        /// The bytes before the length field.
        prefix: Prefix,
    },
    /// The line codec.
    Line(LineInput),
    /// The raw codec.
    Raw,
}

/// What a writer does after an encode.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteStep {
    /// Nothing.
    Hold,
    /// A vectored write of two slices that accepts `4 * (n % 64)` bytes.
    Vectored(u8),
    /// One `pop_chunk`.
    Pop,
    /// Vectored writes until empty.
    Drain,
}

/// One payload of a round trip.
#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// The payload.
    pub bytes: Blob,
    /// `None`: `encode`; `Some(n)`: `encode_parts` with the first `n`
    /// bytes as the head.
    pub split: Option<u8>,
    /// What the writer does next.
    pub write: WriteStep,
}

/// The input of [`round_trip`](super::round_trip).
#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub struct RoundTrip {
    /// The codec.
    pub codec: RoundTripCodec,
    /// The read sizes of the decoder.
    pub chunking: Chunking,
    /// The decoder's read buffer.
    pub buf: BufConfig,
    /// The encoder's `WireBuf` copy limit.
    pub copy_limit: u8,
    /// The payloads (the first 64).
    pub payloads: Vec<Payload>,
}
