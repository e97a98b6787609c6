//! The WebSocket harnesses: the opening handshake (server and client) and
//! the frame decoder behind a completed handshake, each over arbitrary
//! bytes in arbitrary reads.

use arbitrary::Arbitrary;
use bytes::Bytes;
use proto_core::frame::FrameError;
use proto_core::session::{CloseReason, SessionEvent};
use proto_core::ws::{Page, WebSocket};

use super::input::{Blob, Chunking};
use crate::ws::{opcode, parse_frames, run_chunks, split_head, upgrade_request};

/// The input of [`ws_handshake`].
#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub struct WsHandshake {
    /// A client's codec (reads a response) rather than a server's.
    pub client: bool,
    /// `max_handshake_len` is 16 times this, plus 16.
    pub max_len: u8,
    /// The read sizes.
    pub chunking: Chunking,
    /// The peer's bytes.
    pub stream: Blob,
}

/// The input of [`ws_frames`].
#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub struct WsFrames {
    /// `max_message_size` is 4 times this.
    pub max_message: u8,
    /// The read sizes (of the handshake and the frames after it).
    pub chunking: Chunking,
    /// The client's bytes after a valid request.
    pub stream: Blob,
}

/// Runs `config` over the stream in the input's reads and in one read:
/// the same events and bytes out either way, events in a legal order.
/// `config` makes a fresh factory each time (a client's nonce comes from
/// its factory's count of connections).
fn run_both(
    config: impl Fn() -> WebSocket,
    chunking: &Chunking,
    stream: &[u8],
) -> (Vec<SessionEvent>, Vec<u8>) {
    let split = run_chunks(&config(), &chunking.split(stream));
    let whole = run_chunks(&config(), &[stream]);
    assert_eq!(split, whole, "the reads changed the outcome");
    let (events, _) = &split;
    assert_eq!(events.first(), Some(&SessionEvent::Opened));
    let closed = events
        .iter()
        .filter(|e| matches!(e, SessionEvent::Closed(_)))
        .count();
    assert!(closed <= 1 && (closed == 0 || matches!(events.last(), Some(SessionEvent::Closed(_)))));
    split
}

/// A server (with a page at `/` and an origin check) or a client answered
/// by arbitrary bytes: never a panic, the same outcome whatever the reads,
/// a server answers in whole HTTP heads, and a session that opened
/// delivers only what followed a complete head.
pub fn ws_handshake(input: WsHandshake) {
    let max = 16 + 16 * usize::from(input.max_len);
    let config = || {
        let config = if input.client {
            WebSocket::client("localhost", "/")
        } else {
            WebSocket::server()
                .pages(|path| {
                    (path == "/").then(|| Page {
                        content_type: "text/plain",
                        body: Bytes::from_static(b"page"),
                    })
                })
                .origin_check(|origin| origin != Some("http://evil"))
        };
        config.max_handshake_len(max)
    };
    let (_, out) = run_both(config, &input.chunking, &input.stream.0);
    if input.client {
        let (head, rest) = split_head(&out);
        assert!(
            head.starts_with("GET / HTTP/1.1\r\n") && rest.is_empty(),
            "the request alone"
        );
    } else if !out.is_empty() {
        let (head, _) = split_head(&out);
        assert!(head.starts_with("HTTP/1.1 "), "{head}");
        assert!(head.len() <= 1024, "an answer of bounded size");
    }
    if input.stream.0.len() <= max {
        return;
    }
    // Past the limit, a head is complete or refused: never waiting.
    assert!(
        !out.is_empty() || input.client,
        "no answer after {} bytes",
        input.stream.0.len()
    );
}

/// A server after a valid request, fed arbitrary frame bytes: never a
/// panic, the same outcome whatever the reads, no message over
/// `max_message_size`, everything written after the `101` is valid
/// unmasked frames, and a peer's fault is answered with a close frame.
pub fn ws_frames(input: WsFrames) {
    let max = 4 * usize::from(input.max_message);
    let mut stream = upgrade_request("/", &[]);
    stream.extend_from_slice(&input.stream.0);
    let (events, out) = run_both(
        || WebSocket::server().max_message_size(max),
        &input.chunking,
        &stream,
    );
    for event in &events {
        if let SessionEvent::Message(m) = event {
            assert!(m.len() <= max, "message of {} bytes over {max}", m.len());
        }
    }
    let (head, rest) = split_head(&out);
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    let frames = parse_frames(rest);
    assert!(
        frames.iter().all(|f| f.mask.is_none() && f.fin),
        "a server's frames are whole and unmasked"
    );
    if let Some(SessionEvent::Closed(reason)) = events.last() {
        let fault = matches!(
            reason,
            CloseReason::MalformedFrame(FrameError::WebSocket(_))
                | CloseReason::FrameTooLarge { .. }
        );
        let close = frames.last().filter(|f| f.opcode == opcode::CLOSE);
        assert!(
            !fault || close.is_some_and(|f| f.payload.len() == 2),
            "a fault without its close code: {reason:?}"
        );
    }
}
