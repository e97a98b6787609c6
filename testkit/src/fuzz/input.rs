//! Reading harness parameters from fuzz bytes.

use proto_core::frame::{
    DEFAULT_MAX_FRAME_LENGTH, DEFAULT_MAX_LINE_LENGTH, Endian, FieldWidth, LengthMode,
    ReadBufConfig,
};

use crate::model::LengthParams;

/// Reads fuzz bytes front to back; past the end every byte reads as 0.
pub(super) struct Input<'a>(pub(super) &'a [u8]);

impl<'a> Input<'a> {
    pub(super) fn u8(&mut self) -> u8 {
        self.bytes(1).first().copied().unwrap_or(0)
    }

    pub(super) fn le<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0; N];
        let bytes = self.bytes(N);
        out[..bytes.len()].copy_from_slice(bytes);
        out
    }

    /// Up to `n` bytes (fewer at the end of the input).
    pub(super) fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, tail) = self.0.split_at(n.min(self.0.len()));
        self.0 = tail;
        head
    }

    pub(super) fn rest(&mut self) -> &'a [u8] {
        self.bytes(self.0.len())
    }
}

/// Read sizes the stream is cut into, cycled; 0 is an empty read (always
/// followed by a non-empty one, so splitting ends).
pub(super) struct Chunking(Vec<usize>);

impl Chunking {
    pub(super) fn read(input: &mut Input<'_>) -> Self {
        let count = usize::from(input.u8() % 4) + 1;
        Self((0..count).map(|_| usize::from(input.u8())).collect())
    }

    pub(super) fn split<'a>(&self, stream: &'a [u8]) -> Vec<&'a [u8]> {
        crate::chunk::split(stream, &self.0)
    }
}

pub(super) fn read_buf_config(input: &mut Input<'_>) -> ReadBufConfig {
    ReadBufConfig {
        read_capacity: usize::from(input.u8()),
        retain_capacity: 4 * usize::from(input.u8()),
    }
}

/// `[max selector | utf8 << 7]`: a max of 0 to 111, the default, or
/// unbounded.
pub(super) fn read_line_params(input: &mut Input<'_>) -> (usize, bool) {
    let b = input.u8();
    let max = match b & 0x7f {
        m @ 0..0x70 => usize::from(m),
        0x70..0x78 => DEFAULT_MAX_LINE_LENGTH,
        _ => usize::MAX,
    };
    (max, b & 0x80 != 0)
}

impl LengthParams {
    /// For a round trip the offset stays small (the encoder writes it) and
    /// the strip is the default.
    pub(super) fn read(input: &mut Input<'_>, round_trip: bool) -> Self {
        let offset = match input.u8() {
            o @ 0..0xe0 => usize::from(o % 8),
            o @ 0xe0..0xf0 => 60 + usize::from(o & 0xf),
            o if round_trip => 60 + usize::from(o & 0xf),
            o => usize::MAX - usize::from(o & 0xf),
        };
        let shape = input.u8();
        let width = [
            FieldWidth::U8,
            FieldWidth::U16,
            FieldWidth::U24,
            FieldWidth::U32,
        ]
        .get(usize::from(shape & 0x07))
        .copied()
        .unwrap_or(FieldWidth::U64);
        let endian = if shape & 0x08 == 0 {
            Endian::Big
        } else {
            Endian::Little
        };
        let mode = if shape & 0x10 == 0 {
            LengthMode::Payload
        } else {
            LengthMode::Frame
        };
        let a = input.u8();
        let adjustment = match a >> 6 {
            0 => 0,
            1 => i64::from(a & 0x3f) - 32,
            2 => [
                i64::MIN,
                i64::MAX,
                -(1 << 32),
                1 << 32,
                -(1 << 16),
                1 << 16,
                -9,
                9,
            ][usize::from(a & 7)],
            _ => i64::from_le_bytes(input.le()),
        };
        let strip = match if round_trip { 0 } else { input.u8() } {
            0..0x80 => None,
            s @ 0x80..0xc0 => Some(usize::from(s & 0x3f)),
            s => Some(usize::MAX - usize::from(s & 0x3f)),
        };
        let m = input.u8();
        let max_frame_length = match m >> 5 {
            0 | 1 => usize::from(m & 0x3f),
            2 => usize::from(u16::from_le_bytes(input.le())),
            3 => DEFAULT_MAX_FRAME_LENGTH,
            4 => usize::MAX,
            5 => u32::from_le_bytes(input.le()) as usize,
            _ => 64 + usize::from(m & 0x3f),
        };
        Self {
            offset,
            width,
            endian,
            mode,
            adjustment,
            strip,
            max: max_frame_length,
        }
    }
}
