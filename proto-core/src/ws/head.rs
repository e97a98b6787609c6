//! The frame header of RFC 6455 §5.2: parsed from the first bytes of a
//! frame, encoded before a payload, and the masking of §5.3.
//!
//! ```text
//!  0                   1                   2                   3
//! |F|R|R|R| opcode|M| len 7 |  extended length (16 or 64 bits)  |
//! |I|S|S|S|  (4)  |A|       |  if len 7 is 126 or 127           |
//! |N|V|V|V|       |S|       |  then the 4-byte masking key if MAS|
//! ```

use bytes::{Bytes, BytesMut};

use super::WsError;

/// Longest header: 2 bytes, a 64-bit length and a masking key.
pub(crate) const MAX_HEAD_LEN: usize = 14;

/// The longest control-frame payload (§5.5: "All control frames MUST have
/// a payload length of 125 bytes or less").
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A frame's opcode (§5.2); the others are reserved and refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Opcode {
    Continuation,
    Text,
    Binary,
    Close,
    Ping,
    Pong,
}

impl Opcode {
    fn from_bits(bits: u8) -> Option<Self> {
        Some(match bits {
            0x0 => Self::Continuation,
            0x1 => Self::Text,
            0x2 => Self::Binary,
            0x8 => Self::Close,
            0x9 => Self::Ping,
            0xA => Self::Pong,
            _ => return None,
        })
    }

    fn bits(self) -> u8 {
        match self {
            Self::Continuation => 0x0,
            Self::Text => 0x1,
            Self::Binary => 0x2,
            Self::Close => 0x8,
            Self::Ping => 0x9,
            Self::Pong => 0xA,
        }
    }

    /// Close, ping and pong (opcodes with the high bit set).
    pub(crate) fn is_control(self) -> bool {
        self.bits() & 0x8 != 0
    }
}

/// A parsed frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) fin: bool,
    pub(crate) opcode: Opcode,
    pub(crate) mask: Option<[u8; 4]>,
    /// The payload length.
    pub(crate) len: u64,
    /// The header's own length on the wire.
    pub(crate) head_len: usize,
}

/// Parses the header at the start of `src`: `Ok(None)` until it is whole.
/// Checks every rule the header alone decides: no reserved bits (no
/// extension is negotiated), a known opcode, control frames unfragmented
/// and at most 125 bytes, the minimal length encoding, and a 64-bit length
/// with its most significant bit clear.
pub(crate) fn parse(src: &[u8]) -> Result<Option<Head>, WsError> {
    let [b0, b1, ..] = *src else { return Ok(None) };
    if b0 & 0x70 != 0 {
        return Err(WsError::protocol(
            "reserved bits set, and no extension was negotiated",
        ));
    }
    let opcode = Opcode::from_bits(b0 & 0x0F).ok_or(WsError::protocol("reserved opcode"))?;
    let fin = b0 & 0x80 != 0;
    let masked = b1 & 0x80 != 0;
    let len7 = b1 & 0x7F;
    if opcode.is_control() {
        // §5.5: "Control frames MUST NOT be fragmented" and carry at most 125 bytes.
        if !fin {
            return Err(WsError::protocol("fragmented control frame"));
        }
        if usize::from(len7) > MAX_CONTROL_PAYLOAD {
            return Err(WsError::protocol("control frame payload over 125 bytes"));
        }
    }
    let (len, mut at) = match len7 {
        126 => {
            let Some(bytes) = src.get(2..4).and_then(|s| <[u8; 2]>::try_from(s).ok()) else {
                return Ok(None);
            };
            let len = u16::from_be_bytes(bytes);
            // §5.2: "the minimal number of bytes MUST be used to encode the length".
            if len < 126 {
                return Err(WsError::protocol("16-bit length under 126 (not minimal)"));
            }
            (u64::from(len), 4)
        }
        127 => {
            let Some(bytes) = src.get(2..10).and_then(|s| <[u8; 8]>::try_from(s).ok()) else {
                return Ok(None);
            };
            let len = u64::from_be_bytes(bytes);
            if len >> 63 != 0 {
                return Err(WsError::protocol(
                    "64-bit length with its most significant bit set",
                ));
            }
            if len <= u64::from(u16::MAX) {
                return Err(WsError::protocol("64-bit length under 65536 (not minimal)"));
            }
            (len, 10)
        }
        short => (u64::from(short), 2),
    };
    let mask = if masked {
        let Some(key) = src
            .get(at..at + 4)
            .and_then(|s| <[u8; 4]>::try_from(s).ok())
        else {
            return Ok(None);
        };
        at += 4;
        Some(key)
    } else {
        None
    };
    Ok(Some(Head {
        fin,
        opcode,
        mask,
        len,
        head_len: at,
    }))
}

/// Writes the header of a final frame of `len` bytes into `out` and returns
/// its length.
pub(crate) fn encode(
    opcode: Opcode,
    len: usize,
    mask: Option<[u8; 4]>,
    out: &mut [u8; MAX_HEAD_LEN],
) -> usize {
    out[0] = 0x80 | opcode.bits();
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    let mut at = match len {
        0..=125 => {
            // In range: matched just above.
            out[1] = mask_bit | len as u8;
            2
        }
        126..=0xFFFF => {
            out[1] = mask_bit | 126;
            out[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            4
        }
        _ => {
            out[1] = mask_bit | 127;
            out[2..10].copy_from_slice(&(len as u64).to_be_bytes());
            10
        }
    };
    if let Some(key) = mask {
        out[at..at + 4].copy_from_slice(&key);
        at += 4;
    }
    at
}

/// A whole final frame as one buffer, masked with `mask` if given (the
/// codec's own control frames: pongs and close replies).
pub(crate) fn frame_bytes(opcode: Opcode, payload: &[u8], mask: Option<[u8; 4]>) -> Bytes {
    let mut head = [0; MAX_HEAD_LEN];
    let n = encode(opcode, payload.len(), mask, &mut head);
    let mut frame = BytesMut::with_capacity(n + payload.len());
    frame.extend_from_slice(&head[..n]);
    frame.extend_from_slice(payload);
    if let Some(key) = mask {
        apply_mask(&mut frame[n..], key);
    }
    frame.freeze()
}

/// XORs `buf` with the masking key (§5.3); masking and unmasking are the
/// same operation. Eight bytes at a time: the key repeats every four, so a
/// doubled key covers a word.
pub(crate) fn apply_mask(buf: &mut [u8], key: [u8; 4]) {
    let [a, b, c, d] = key;
    let word = u64::from_ne_bytes([a, b, c, d, a, b, c, d]);
    let mut words = buf.chunks_exact_mut(8);
    for chunk in &mut words {
        let bytes: [u8; 8] =
            <[u8; 8]>::try_from(&*chunk).expect("chunks_exact_mut(8) yields 8 bytes");
        chunk.copy_from_slice(&(u64::from_ne_bytes(bytes) ^ word).to_ne_bytes());
    }
    // Whole words were multiples of four bytes: the rest starts at key[0].
    for (byte, k) in words.into_remainder().iter_mut().zip(key.iter().cycle()) {
        *byte ^= k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_each_length_width_minimally_and_parses_back() {
        for len in [0usize, 1, 125, 126, 127, 0xFFFF, 0x1_0000, 1 << 20] {
            for mask in [None, Some([1, 2, 3, 4])] {
                let mut out = [0; MAX_HEAD_LEN];
                let n = encode(Opcode::Binary, len, mask, &mut out);
                let head = parse(&out[..n]).expect("valid").expect("whole");
                assert_eq!(
                    (head.len, head.mask, head.head_len, head.fin),
                    (len as u64, mask, n, true)
                );
                for cut in 0..n {
                    assert_eq!(parse(&out[..cut]), Ok(None), "cut at {cut} of {n}");
                }
            }
        }
    }

    #[test]
    fn rejects_non_minimal_lengths() {
        assert!(parse(&[0x82, 126, 0, 125]).is_err());
        assert!(
            parse(&[0x82, 126, 0, 126])
                .expect("126 in 16 bits")
                .is_some()
        );
        assert!(parse(&[0x82, 127, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]).is_err());
        assert!(
            parse(&[0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0])
                .expect("65536 in 64 bits")
                .is_some()
        );
        assert!(parse(&[0x82, 127, 0x80, 0, 0, 0, 0, 1, 0, 0]).is_err());
    }

    #[test]
    fn rejects_control_frame_over_125_and_fragmented() {
        assert!(parse(&[0x89, 125]).expect("125 is the limit").is_some());
        assert_eq!(
            parse(&[0x89, 126, 0, 126]),
            Err(WsError::protocol("control frame payload over 125 bytes"))
        );
        assert!(parse(&[0x09, 0]).is_err());
        assert!(parse(&[0xC2, 0]).is_err(), "RSV1 without an extension");
        assert!(parse(&[0x83, 0]).is_err(), "reserved opcode 3");
    }

    #[test]
    fn masking_twice_restores_any_length() {
        for len in 0..40 {
            let data: Vec<u8> = (0..len as u8).collect();
            let mut buf = data.clone();
            apply_mask(&mut buf, [0xde, 0xad, 0xbe, 0xef]);
            for (i, (m, d)) in buf.iter().zip(&data).enumerate() {
                assert_eq!(m ^ d, [0xde, 0xad, 0xbe, 0xef][i % 4]);
            }
            apply_mask(&mut buf, [0xde, 0xad, 0xbe, 0xef]);
            assert_eq!(buf, data);
        }
    }
}
