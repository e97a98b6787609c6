//! The frames the load generator sends, and how a reply is checked.
//!
//! A payload is `[seq: u64 LE][sent: u64 LE, ns since the run began]
//! [conn: u32 LE]` then filler bytes derived from `seq` and `conn`, so a
//! reply can be checked byte for byte without keeping what was sent, and
//! its latency read from the payload itself.

use clap::ValueEnum;

/// Bytes before the filler.
pub(crate) const HEADER: usize = 20;

/// How a frame's length is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Codec {
    /// u32 little-endian payload length (laster40Net; our servers' default).
    Laster40net,
    /// u32 big-endian payload length (tokio-util `LengthDelimitedCodec`,
    /// Netty `LengthFieldPrepender(4)`).
    TokioUtil,
}

impl Codec {
    pub(crate) fn header(self, len: usize) -> [u8; 4] {
        let len = len as u32;
        match self {
            Self::Laster40net => len.to_le_bytes(),
            Self::TokioUtil => len.to_be_bytes(),
        }
    }

    pub(crate) fn length(self, header: [u8; 4]) -> usize {
        match self {
            Self::Laster40net => u32::from_le_bytes(header) as usize,
            Self::TokioUtil => u32::from_be_bytes(header) as usize,
        }
    }
}

/// Appends the frame of message `seq` of connection `conn` to `out`.
pub(crate) fn encode(codec: Codec, out: &mut Vec<u8>, size: usize, conn: u32, seq: u64, sent: u64) {
    let size = size.max(HEADER);
    out.extend_from_slice(&codec.header(size));
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&sent.to_le_bytes());
    out.extend_from_slice(&conn.to_le_bytes());
    out.extend((HEADER..size).map(|i| filler(conn, seq, i)));
}

fn filler(conn: u32, seq: u64, i: usize) -> u8 {
    (seq as u32)
        .wrapping_mul(31)
        .wrapping_add(conn.wrapping_mul(17))
        .wrapping_add(i as u32) as u8
}

/// What a received payload says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decoded {
    pub(crate) seq: u64,
    pub(crate) sent: u64,
    pub(crate) conn: u32,
}

/// Checks a payload: its header and every filler byte.
pub(crate) fn check(payload: &[u8], size: usize) -> Result<Decoded, String> {
    let size = size.max(HEADER);
    if payload.len() != size {
        return Err(format!("payload of {} bytes, sent {size}", payload.len()));
    }
    let word = |at: usize| u64::from_le_bytes(payload[at..at + 8].try_into().unwrap_or_default());
    let (seq, sent) = (word(0), word(8));
    let conn = u32::from_le_bytes(payload[16..20].try_into().unwrap_or_default());
    if let Some(i) = (HEADER..size).find(|&i| payload[i] != filler(conn, seq, i)) {
        return Err(format!(
            "message {seq} of connection {conn} corrupt at byte {i}"
        ));
    }
    Ok(Decoded { seq, sent, conn })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_round_trips_and_any_flipped_byte_is_caught() {
        for codec in [Codec::Laster40net, Codec::TokioUtil] {
            let mut out = Vec::new();
            encode(codec, &mut out, 64, 7, 42, 1234);
            let len = codec.length(out[..4].try_into().expect("4 bytes"));
            assert_eq!(len, 64);
            let decoded = check(&out[4..], 64).expect("intact");
            assert_eq!(
                decoded,
                Decoded {
                    seq: 42,
                    sent: 1234,
                    conn: 7
                }
            );
            for i in 4..out.len() {
                let mut bad = out.clone();
                bad[i] ^= 1;
                let result = check(&bad[4..], 64);
                assert!(result.is_err() || result != Ok(decoded), "byte {i}");
            }
        }
    }
}
