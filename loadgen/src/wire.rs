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
    /// WebSocket (RFC 6455) binary messages, after the opening handshake:
    /// each connection masks its frames (as clients must), the server's
    /// come back unmasked.
    Websocket,
}

impl Codec {
    /// Appends the header of a frame of `len` payload bytes (message `seq`);
    /// returns the key the payload is to be masked with, if any.
    pub(crate) fn put_header(self, out: &mut Vec<u8>, len: usize, seq: u64) -> Option<[u8; 4]> {
        match self {
            Self::Laster40net => out.extend_from_slice(&(len as u32).to_le_bytes()),
            Self::TokioUtil => out.extend_from_slice(&(len as u32).to_be_bytes()),
            Self::Websocket => {
                out.push(0x82); // FIN, binary
                match len {
                    0..=125 => out.push(0x80 | len as u8),
                    126..=0xFFFF => {
                        out.push(0x80 | 126);
                        out.extend_from_slice(&(len as u16).to_be_bytes());
                    }
                    _ => {
                        out.push(0x80 | 127);
                        out.extend_from_slice(&(len as u64).to_be_bytes());
                    }
                }
                let key = (seq as u32 | 1).wrapping_mul(0x9e37_79b9).to_le_bytes();
                out.extend_from_slice(&key);
                return Some(key);
            }
        }
        None
    }

    /// The header's length and the payload's length of the frame at the
    /// start of `buf`, once its header is whole (a server's WebSocket
    /// frames are binary, final and unmasked; anything else is reported as
    /// a payload that fails its check).
    pub(crate) fn frame(self, buf: &[u8]) -> Option<(usize, usize)> {
        let word = |at: usize| -> Option<[u8; 4]> { buf.get(at..at + 4)?.try_into().ok() };
        match self {
            Self::Laster40net => Some((4, u32::from_le_bytes(word(0)?) as usize)),
            Self::TokioUtil => Some((4, u32::from_be_bytes(word(0)?) as usize)),
            Self::Websocket => match *buf.get(1)? {
                126 => Some((
                    4,
                    usize::from(u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?)),
                )),
                127 => Some((
                    10,
                    u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?) as usize,
                )),
                len => Some((2, usize::from(len & 0x7F))),
            },
        }
    }
}

/// Appends the frame of message `seq` of connection `conn` to `out`.
pub(crate) fn encode(codec: Codec, out: &mut Vec<u8>, size: usize, conn: u32, seq: u64, sent: u64) {
    let size = size.max(HEADER);
    let mask = codec.put_header(out, size, seq);
    let start = out.len();
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&sent.to_le_bytes());
    out.extend_from_slice(&conn.to_le_bytes());
    out.extend((HEADER..size).map(|i| filler(conn, seq, i)));
    if let Some(key) = mask {
        for (i, byte) in out[start..].iter_mut().enumerate() {
            *byte ^= key[i % 4];
        }
    }
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
            assert_eq!(codec.frame(&out), Some((4, 64)));
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

    #[test]
    fn a_websocket_frame_is_masked_and_an_unmasked_echo_checks() {
        for size in [64, 200, 70_000] {
            let mut out = Vec::new();
            encode(Codec::Websocket, &mut out, size, 3, 9, 77);
            let head = if size < 126 {
                2
            } else if size <= 0xFFFF {
                4
            } else {
                10
            };
            assert_eq!(out[0], 0x82);
            assert_eq!(out[1] & 0x80, 0x80, "masked");
            let key: [u8; 4] = out[head..head + 4].try_into().expect("a key");
            let payload: Vec<u8> = out[head + 4..]
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ key[i % 4])
                .collect();
            // The server's echo: the same header, unmasked.
            let mut echo = out[..head].to_vec();
            echo[1] &= 0x7F;
            echo.extend_from_slice(&payload);
            assert_eq!(Codec::Websocket.frame(&echo), Some((head, size)));
            assert_eq!(check(&payload, size).expect("intact").seq, 9);
        }
    }
}
