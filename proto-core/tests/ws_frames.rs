//! WebSocket framing through a server session: messages (fragmented,
//! text checked as UTF-8 across fragments), masking rules, automatic pongs,
//! the close handshake, protocol errors closed with the right code, and
//! every limit at and just over its value.
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use bytes::Bytes;
use proto_core::frame::FrameError;
use proto_core::session::{CloseReason, SessionConfig, SessionEvent};
use proto_core::ws::{MAX_CONTROL_PAYLOAD, MessageKind, WebSocket, WsError, close_code};
use proto_testkit::by_hand::events;
use proto_testkit::ws::{WireFrame, WsSession, feed, fragments, opcode, open_server, sent_frames};

const MASK: Option<[u8; 4]> = Some([0x37, 0xfa, 0x21, 0x3d]);

fn server() -> (WsSession, Instant) {
    let now = Instant::now();
    (open_server(&WebSocket::server(), now), now)
}

fn messages(s: &mut WsSession) -> Vec<Bytes> {
    events(s)
        .into_iter()
        .filter_map(|e| match e {
            SessionEvent::Message(m) => Some(m),
            _ => None,
        })
        .collect()
}

/// The session wrote a close frame with `code` and closed with `reason`.
fn assert_closed_with(
    s: &mut WsSession,
    now: Instant,
    code: u16,
    reason: impl Fn(&CloseReason) -> bool,
) {
    let sent = sent_frames(s, now);
    let closes = sent.iter().filter(|f| f.opcode == opcode::CLOSE).count();
    assert_eq!(closes, 1, "one close frame: {sent:?}");
    let close = sent.last().expect("a close frame");
    assert_eq!(
        (close.opcode, close.mask),
        (opcode::CLOSE, None),
        "{sent:?}"
    );
    assert_eq!(close.payload, code.to_be_bytes(), "{sent:?}");
    let closed = events(s).pop();
    assert!(
        matches!(&closed, Some(SessionEvent::Closed(r)) if reason(r)),
        "{closed:?}"
    );
    assert!(s.is_closed());
}

fn protocol_error(r: &CloseReason) -> bool {
    matches!(
        r,
        CloseReason::MalformedFrame(FrameError::WebSocket(WsError::Protocol { code: 1002, .. }))
    )
}

#[test]
fn delivers_masked_text_and_binary_messages() {
    let (mut s, now) = server();
    feed(
        &mut s,
        &[
            WireFrame::new(opcode::TEXT, "Hello", MASK),
            WireFrame::new(opcode::BINARY, [0, 255], MASK),
        ],
        now,
    );
    assert_eq!(messages(&mut s), [&b"Hello"[..], &[0, 255]]);
}

#[test]
fn reassembles_fragments_with_control_frames_between_them() {
    let (mut s, now) = server();
    let mut frames = fragments(opcode::TEXT, "héllo wörld".as_bytes(), &[2, 1, 3], MASK);
    frames.insert(1, WireFrame::new(opcode::PING, "p", MASK));
    feed(&mut s, &frames, now);
    assert_eq!(messages(&mut s), ["héllo wörld".as_bytes()]);
    assert_eq!(
        sent_frames(&mut s, now),
        [WireFrame::new(opcode::PONG, "p", None)]
    );
}

#[test]
fn answers_each_ping_with_a_pong_of_the_same_payload() {
    let (mut s, now) = server();
    let body = vec![7u8; MAX_CONTROL_PAYLOAD];
    feed(
        &mut s,
        &[
            WireFrame::new(opcode::PING, body.clone(), MASK),
            WireFrame::new(opcode::PING, "", MASK),
        ],
        now,
    );
    assert_eq!(
        sent_frames(&mut s, now),
        [
            WireFrame::new(opcode::PONG, body, None),
            WireFrame::new(opcode::PONG, "", None)
        ]
    );
    feed(
        &mut s,
        &[WireFrame::new(opcode::PONG, "unsolicited", MASK)],
        now,
    );
    assert!(sent_frames(&mut s, now).is_empty());
    assert!(messages(&mut s).is_empty());
}

#[test]
fn echoes_the_peers_close_code_then_closes_as_remote_closed() {
    let (mut s, now) = server();
    let mut body = 1001u16.to_be_bytes().to_vec();
    body.extend_from_slice(b"bye");
    feed(
        &mut s,
        &[
            WireFrame::new(opcode::CLOSE, body, MASK),
            WireFrame::new(opcode::TEXT, "after", MASK),
        ],
        now,
    );
    assert_closed_with(&mut s, now, 1001, |r| *r == CloseReason::RemoteClosed);
}

#[test]
fn answers_an_empty_close_with_an_empty_close() {
    let (mut s, now) = server();
    feed(&mut s, &[WireFrame::new(opcode::CLOSE, "", MASK)], now);
    assert_eq!(
        sent_frames(&mut s, now),
        [WireFrame::new(opcode::CLOSE, "", None)]
    );
    assert_eq!(
        events(&mut s),
        [SessionEvent::Closed(CloseReason::RemoteClosed)]
    );
}

#[test]
fn closes_with_1002_on_protocol_errors() {
    let bad: [(&str, Vec<u8>); 9] = [
        (
            "unmasked client frame",
            WireFrame::new(opcode::TEXT, "x", None).encode(),
        ),
        (
            "continuation with no message",
            WireFrame::new(opcode::CONTINUATION, "x", MASK).encode(),
        ),
        (
            "new message inside a fragmented one",
            [
                fragments(opcode::TEXT, b"ab", &[1], MASK)[0].encode(),
                WireFrame::new(opcode::TEXT, "x", MASK).encode(),
            ]
            .concat(),
        ),
        (
            "fragmented ping",
            WireFrame {
                fin: false,
                ..WireFrame::new(opcode::PING, "", MASK)
            }
            .encode(),
        ),
        ("reserved opcode", WireFrame::new(0x3, "", MASK).encode()),
        (
            "RSV1 set",
            [
                vec![0xC1],
                WireFrame::new(opcode::TEXT, "x", MASK).encode()[1..].to_vec(),
            ]
            .concat(),
        ),
        (
            "one-byte close",
            WireFrame::new(opcode::CLOSE, [3], MASK).encode(),
        ),
        (
            "close code 1005",
            WireFrame::new(opcode::CLOSE, 1005u16.to_be_bytes(), MASK).encode(),
        ),
        (
            "close code 2999",
            WireFrame::new(opcode::CLOSE, 2999u16.to_be_bytes(), MASK).encode(),
        ),
    ];
    for (what, bytes) in bad {
        let (mut s, now) = server();
        s.handle_input(&bytes, now);
        assert!(s.buffered() == 0, "{what}: the rest is dropped");
        assert_closed_with(&mut s, now, close_code::PROTOCOL_ERROR, protocol_error);
    }
}

#[test]
fn closes_with_1007_on_invalid_utf8_even_split_across_fragments() {
    let cases: [Vec<WireFrame>; 4] = [
        vec![WireFrame::new(opcode::TEXT, [0xff], MASK)],
        fragments(opcode::TEXT, &[b'a', 0xc3], &[1], MASK),
        fragments(opcode::TEXT, &[0xc3, 0x28], &[1], MASK),
        vec![WireFrame::new(opcode::CLOSE, [0x03, 0xe8, 0xff], MASK)],
    ];
    for frames in cases {
        let (mut s, now) = server();
        feed(&mut s, &frames, now);
        assert_closed_with(&mut s, now, close_code::INVALID_PAYLOAD, |r| {
            matches!(
                r,
                CloseReason::MalformedFrame(FrameError::WebSocket(WsError::InvalidUtf8))
            )
        });
    }
    // A character cut between fragments is fine once it is whole.
    let (mut s, now) = server();
    feed(
        &mut s,
        &fragments(opcode::TEXT, "é€😀".as_bytes(), &[1], MASK),
        now,
    );
    assert_eq!(messages(&mut s), ["é€😀".as_bytes()]);
    // Binary messages are not checked.
    feed(&mut s, &[WireFrame::new(opcode::BINARY, [0xff], MASK)], now);
    assert_eq!(messages(&mut s), [&[0xff][..]]);
}

#[test]
fn control_frame_of_125_bytes_passes_and_126_closes_with_1002() {
    let (mut s, now) = server();
    feed(
        &mut s,
        &[WireFrame::new(opcode::PING, vec![1; 125], MASK)],
        now,
    );
    assert_eq!(sent_frames(&mut s, now)[0].payload.len(), 125);
    feed(
        &mut s,
        &[WireFrame::new(opcode::PING, vec![1; 126], MASK)],
        now,
    );
    assert_closed_with(&mut s, now, close_code::PROTOCOL_ERROR, protocol_error);
}

#[test]
fn rejects_lengths_not_in_their_minimal_form() {
    // 5 bytes announced in the 16-bit form, and 200 in the 64-bit form.
    for head in [
        vec![0x82, 0x80 | 126, 0, 5],
        [vec![0x82, 0x80 | 127], 200u64.to_be_bytes().to_vec()].concat(),
    ] {
        let (mut s, now) = server();
        s.handle_input(&head, now);
        assert_closed_with(&mut s, now, close_code::PROTOCOL_ERROR, protocol_error);
    }
    // The smallest length of each form is accepted.
    let (mut s, now) = server();
    feed(
        &mut s,
        &[
            WireFrame::new(opcode::BINARY, vec![1; 126], MASK),
            WireFrame::new(opcode::BINARY, vec![2; 65536], MASK),
        ],
        now,
    );
    assert_eq!(
        messages(&mut s).iter().map(Bytes::len).collect::<Vec<_>>(),
        [126, 65536]
    );
}

fn too_big(max: usize) -> impl Fn(&CloseReason) -> bool {
    move |r| matches!(r, CloseReason::FrameTooLarge { max: m, .. } if *m == max)
}

#[test]
fn delivers_a_message_of_max_message_size_and_closes_with_1009_one_byte_over() {
    for max in [0usize, 1, 125, 126, 1000] {
        let now = Instant::now();
        let config = WebSocket::server().max_message_size(max);
        let mut s = open_server(&config, now);
        feed(
            &mut s,
            &[WireFrame::new(opcode::BINARY, vec![9; max], MASK)],
            now,
        );
        assert_eq!(messages(&mut s), [vec![9; max]], "max {max}");
        // Fragments are summed.
        feed(
            &mut s,
            &fragments(opcode::BINARY, &vec![8; max], &[max / 2 + 1], MASK),
            now,
        );
        assert_eq!(messages(&mut s), [vec![8; max]], "max {max}, fragmented");
        // One byte over: refused from the header, before the payload.
        let over = WireFrame::new(opcode::BINARY, vec![7; max + 1], MASK).encode();
        let head_len = over.len() - (max + 1);
        s.handle_input(&over[..head_len], now);
        assert_closed_with(&mut s, now, close_code::MESSAGE_TOO_BIG, too_big(max));
        // One byte over in the last fragment.
        let mut s = open_server(&config, now);
        let mut frames = fragments(opcode::BINARY, &vec![6; max], &[max], MASK);
        frames.last_mut().unwrap().fin = false;
        frames.push(WireFrame {
            fin: true,
            ..WireFrame::new(opcode::CONTINUATION, [6], MASK)
        });
        feed(&mut s, &frames, now);
        assert_closed_with(&mut s, now, close_code::MESSAGE_TOO_BIG, too_big(max));
    }
}

#[test]
fn server_sends_unmasked_frames_of_its_message_kind() {
    let now = Instant::now();
    for (kind, op) in [
        (MessageKind::Binary, opcode::BINARY),
        (MessageKind::Text, opcode::TEXT),
    ] {
        let mut s = open_server(&WebSocket::server().message_kind(kind), now);
        s.send(Bytes::from(vec![b'a'; 70_000])).unwrap();
        assert_eq!(
            sent_frames(&mut s, now),
            [WireFrame::new(op, vec![b'a'; 70_000], None)]
        );
    }
    let mut s = open_server(&WebSocket::server().message_kind(MessageKind::Text), now);
    let refused = s.send(Bytes::from_static(&[0xff]));
    assert!(refused.is_err(), "{refused:?}");
}

#[test]
fn client_masks_every_frame_with_a_fresh_key() {
    use proto_core::frame::{MessageBuilder, MessageFactory, WireBuf};
    let mut builder = WebSocket::client("x", "/").new_builder();
    let mut wire = WireBuf::new();
    builder
        .encode(Bytes::from_static(b"one"), &mut wire)
        .unwrap();
    builder
        .encode(Bytes::from_static(b"one"), &mut wire)
        .unwrap();
    let sent = proto_testkit::ws::parse_frames(&wire.to_vec());
    assert_eq!(sent.len(), 2);
    assert!(
        sent.iter().all(|f| f.mask.is_some() && f.payload == b"one"),
        "{sent:?}"
    );
    assert_ne!(sent[0].mask, sent[1].mask);
}

#[test]
fn a_graceful_close_of_ours_sends_1000_or_1001_at_shutdown_after_what_is_queued() {
    for (reason, code) in [
        (CloseReason::Local, close_code::NORMAL),
        (CloseReason::Shutdown, close_code::GOING_AWAY),
    ] {
        let (mut s, now) = server();
        s.send(Bytes::from_static(b"last words")).unwrap();
        s.close(reason.clone(), now);
        let sent = sent_frames(&mut s, now);
        assert_eq!(
            sent,
            [
                WireFrame::new(opcode::BINARY, "last words", None),
                WireFrame::new(opcode::CLOSE, code.to_be_bytes(), None)
            ]
        );
        assert_eq!(events(&mut s), [SessionEvent::Closed(reason)]);
    }
}

#[test]
fn no_close_frame_before_the_handshake_is_done() {
    let now = Instant::now();
    let mut s = proto_core::session::Session::from_factory(
        &WebSocket::server(),
        SessionConfig::default(),
        now,
    );
    s.close(CloseReason::Local, now);
    assert!(proto_testkit::by_hand::write_all(&mut s, now).is_empty());
}

#[test]
fn a_broadcast_frame_is_encoded_once_and_its_payload_shared_by_every_member() {
    use proto_core::frame::MessageFactory;
    use proto_core::session::{SessionConfig, SharedFrame};
    let payload = Bytes::from(vec![b'x'; 1000]);
    let mut builder = WebSocket::server().new_builder();
    let frame =
        SharedFrame::encode(&mut builder, payload.clone(), &SessionConfig::default()).unwrap();
    let (mut a, now) = server();
    let (mut b, _) = server();
    let mut wires = Vec::new();
    for member in [&mut a, &mut b] {
        member.send_shared(&frame).unwrap();
        let mut chunks = Vec::new();
        member.transmit_chunks(&mut chunks);
        // The payload goes out as the very bytes the broadcaster gave.
        assert!(
            chunks.iter().any(|c| c.as_ptr() == payload.as_ptr()),
            "{chunks:?}"
        );
        wires.push(chunks.concat());
        member.handle_written(wires.last().unwrap().len(), now);
    }
    assert_eq!(wires[0], wires[1]);
    assert_eq!(
        proto_testkit::ws::parse_frames(&wires[0]),
        [WireFrame::new(opcode::BINARY, payload.to_vec(), None)]
    );
}
