//! A reference WebSocket peer, written from RFC 6455 rather than from
//! `proto_core::ws`: frames encoded and parsed by the letter of §5.2, and
//! the opening request of §4.1. Tests build a client's byte stream with it
//! (any fragmentation, any masks, control frames between fragments) and
//! read what a server answered.

use std::time::Instant;

use proto_core::session::{Session, SessionConfig, SessionEvent};
use proto_core::ws::{WebSocket, WsBuilder, WsResolver};

use crate::by_hand::{events, write_all};

/// Opcodes of §5.2.
pub mod opcode {
    /// Continuation frame.
    pub const CONTINUATION: u8 = 0x0;
    /// Text frame.
    pub const TEXT: u8 = 0x1;
    /// Binary frame.
    pub const BINARY: u8 = 0x2;
    /// Close frame.
    pub const CLOSE: u8 = 0x8;
    /// Ping frame.
    pub const PING: u8 = 0x9;
    /// Pong frame.
    pub const PONG: u8 = 0xA;
}

/// One frame on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireFrame {
    /// The FIN bit.
    pub fin: bool,
    /// The opcode (4 bits).
    pub opcode: u8,
    /// The masking key, if the frame is masked.
    pub mask: Option<[u8; 4]>,
    /// The payload, unmasked.
    pub payload: Vec<u8>,
}

impl WireFrame {
    /// A final frame.
    pub fn new(opcode: u8, payload: impl Into<Vec<u8>>, mask: Option<[u8; 4]>) -> Self {
        Self {
            fin: true,
            opcode,
            mask,
            payload: payload.into(),
        }
    }

    /// The frame's bytes, its length in the shortest form (§5.2).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![u8::from(self.fin) << 7 | self.opcode];
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let len = self.payload.len();
        if len < 126 {
            out.push(mask_bit | len as u8);
        } else if len <= 0xFFFF {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
        match self.mask {
            Some(key) => {
                out.extend_from_slice(&key);
                out.extend(self.payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
            }
            None => out.extend_from_slice(&self.payload),
        }
        out
    }
}

/// A message cut into frames of the given sizes (cycled, 0 counted as 1;
/// the last frame takes the rest), masked with `mask` if given. An empty
/// message is one empty frame.
pub fn fragments(
    opcode: u8,
    payload: &[u8],
    sizes: &[usize],
    mask: Option<[u8; 4]>,
) -> Vec<WireFrame> {
    let mut frames = Vec::new();
    let mut rest = payload;
    let mut sizes = sizes.iter().copied().cycle();
    loop {
        let take = sizes.next().unwrap_or(usize::MAX).max(1).min(rest.len());
        let (chunk, tail) = rest.split_at(take);
        rest = tail;
        let opcode = if frames.is_empty() {
            opcode
        } else {
            opcode::CONTINUATION
        };
        frames.push(WireFrame {
            fin: rest.is_empty(),
            opcode,
            mask,
            payload: chunk.to_vec(),
        });
        if rest.is_empty() {
            return frames;
        }
    }
}

/// Parses a stream of whole frames (a server's output after its handshake
/// answer). Panics on anything RFC 6455 does not allow a sender to write,
/// non-minimal lengths included.
pub fn parse_frames(mut bytes: &[u8]) -> Vec<WireFrame> {
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        assert!(bytes.len() >= 2, "truncated frame header");
        assert_eq!(bytes[0] & 0x70, 0, "reserved bits set");
        let masked = bytes[1] & 0x80 != 0;
        let (len, mut at) = match bytes[1] & 0x7F {
            126 => (usize::from(u16::from_be_bytes([bytes[2], bytes[3]])), 4),
            127 => {
                let mut n = [0; 8];
                n.copy_from_slice(&bytes[2..10]);
                (
                    usize::try_from(u64::from_be_bytes(n)).expect("length fits"),
                    10,
                )
            }
            short => (usize::from(short), 2),
        };
        assert!(
            at == 2 || (at == 4 && len >= 126) || (at == 10 && len > 0xFFFF),
            "non-minimal length"
        );
        let mask = masked.then(|| {
            let key = [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
            at += 4;
            key
        });
        let payload = bytes[at..at + len]
            .iter()
            .enumerate()
            .map(|(i, b)| mask.map_or(*b, |key| b ^ key[i % 4]))
            .collect();
        frames.push(WireFrame {
            fin: bytes[0] & 0x80 != 0,
            opcode: bytes[0] & 0x0F,
            mask,
            payload,
        });
        bytes = &bytes[at + len..];
    }
    frames
}

/// The example key of RFC 6455 §1.3 and its accept value.
pub const SAMPLE_KEY: (&str, &str) = ("dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");

/// An opening request (§4.1) for `path` with the sample key and the given
/// extra header lines (each without its `\r\n`).
pub fn upgrade_request(path: &str, extra: &[&str]) -> Vec<u8> {
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 13\r\n",
        SAMPLE_KEY.0
    );
    for line in extra {
        request.push_str(line);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    request.into_bytes()
}

/// Splits an HTTP head (up to and including its blank line) from what
/// follows it; panics if there is no whole head.
pub fn split_head(bytes: &[u8]) -> (String, &[u8]) {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a whole HTTP head")
        + 4;
    (
        String::from_utf8_lossy(&bytes[..end]).into_owned(),
        &bytes[end..],
    )
}

/// A session over the WebSocket codec.
pub type WsSession = Session<WsResolver, WsBuilder>;

/// A server session of `config` that has answered the sample request
/// (its `101` written and checked, `Opened` taken).
pub fn open_server(config: &WebSocket, now: Instant) -> WsSession {
    let mut s = Session::from_factory(config, SessionConfig::default(), now);
    s.handle_input(&upgrade_request("/", &[]), now);
    let out = write_all(&mut s, now);
    let (head, rest) = split_head(&out);
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert!(head.contains(SAMPLE_KEY.1), "{head}");
    assert!(rest.is_empty());
    assert_eq!(events(&mut s), [SessionEvent::Opened]);
    s
}

/// Hands the frames to the session in one read.
pub fn feed(s: &mut WsSession, frames: &[WireFrame], now: Instant) {
    let bytes: Vec<u8> = frames.iter().flat_map(WireFrame::encode).collect();
    s.handle_input(&bytes, now);
}

/// The frames the session writes now.
pub fn sent_frames(s: &mut WsSession, now: Instant) -> Vec<WireFrame> {
    parse_frames(&write_all(s, now))
}

/// Feeds `chunks` to a fresh session of `config` (default session
/// config), writing everything it offers after each read; returns its
/// events and the bytes it wrote.
pub fn run_chunks(config: &WebSocket, chunks: &[&[u8]]) -> (Vec<SessionEvent>, Vec<u8>) {
    let now = Instant::now();
    let mut s = Session::from_factory(config, SessionConfig::default(), now);
    let mut out = write_all(&mut s, now);
    let mut seen = Vec::new();
    for chunk in chunks {
        s.handle_input(chunk, now);
        out.extend(write_all(&mut s, now));
        seen.extend(events(&mut s));
    }
    seen.extend(events(&mut s));
    (seen, out)
}
