//! The WebSocket opening handshake, server and client, through a session:
//! what is answered to each kind of request, subprotocols, the origin hook,
//! pages for plain GETs, and `max_handshake_len` at and just over the limit.
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use bytes::Bytes;
use proto_core::frame::FrameError;
use proto_core::session::{CloseReason, Session, SessionConfig, SessionEvent};
use proto_core::ws::{Page, WebSocket, WsError};
use proto_testkit::by_hand::{events, write_all};
use proto_testkit::ws::{SAMPLE_KEY, WsSession, split_head, upgrade_request};

fn session(config: &WebSocket, now: Instant) -> WsSession {
    Session::from_factory(config, SessionConfig::default(), now)
}

/// What a server answers to `request`, and how the session ended (if it did).
fn answer(config: &WebSocket, request: &[u8]) -> (String, Option<CloseReason>) {
    let now = Instant::now();
    let mut s = session(config, now);
    s.handle_input(request, now);
    let out = write_all(&mut s, now);
    let closed = events(&mut s).into_iter().find_map(|e| match e {
        SessionEvent::Closed(reason) => Some(reason),
        _ => None,
    });
    (String::from_utf8_lossy(&out).into_owned(), closed)
}

fn refused(status: u16) -> impl Fn(&Option<CloseReason>) -> bool {
    move |closed| {
        matches!(closed, Some(CloseReason::MalformedFrame(FrameError::WebSocket(
            WsError::HandshakeRefused { status: s, .. }
        ))) if *s == status)
    }
}

#[test]
fn answers_a_valid_upgrade_with_101_and_the_accept_key() {
    let (out, closed) = answer(&WebSocket::server(), &upgrade_request("/chat", &[]));
    assert!(
        out.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{out}"
    );
    assert!(
        out.contains(&format!("Sec-WebSocket-Accept: {}\r\n", SAMPLE_KEY.1)),
        "{out}"
    );
    assert!(!out.contains("Sec-WebSocket-Protocol"), "{out}");
    assert_eq!(closed, None);
}

#[test]
fn waits_for_the_whole_request_head_in_any_split() {
    let request = upgrade_request("/", &[]);
    let now = Instant::now();
    let mut s = session(&WebSocket::server(), now);
    for byte in &request[..request.len() - 1] {
        s.handle_input(std::slice::from_ref(byte), now);
        assert!(write_all(&mut s, now).is_empty());
    }
    s.handle_input(&request[request.len() - 1..], now);
    assert!(write_all(&mut s, now).starts_with(b"HTTP/1.1 101 "));
}

#[test]
fn picks_our_first_protocol_that_the_client_offers() {
    let config = WebSocket::server().protocols(["v2.chat", "v1.chat"]);
    let (out, _) = answer(
        &config,
        &upgrade_request("/", &["Sec-WebSocket-Protocol: v1.chat, v2.chat"]),
    );
    assert!(out.contains("Sec-WebSocket-Protocol: v2.chat\r\n"), "{out}");
    let (out, _) = answer(
        &config,
        &upgrade_request("/", &["Sec-WebSocket-Protocol: other"]),
    );
    assert!(
        out.starts_with("HTTP/1.1 101 ") && !out.contains("Sec-WebSocket-Protocol"),
        "{out}"
    );
}

#[test]
fn refuses_an_origin_the_hook_rejects_with_403() {
    let config = WebSocket::server().origin_check(|origin| origin == Some("http://good.example"));
    let (out, _) = answer(
        &config,
        &upgrade_request("/", &["Origin: http://good.example"]),
    );
    assert!(out.starts_with("HTTP/1.1 101 "), "{out}");
    let (out, closed) = answer(
        &config,
        &upgrade_request("/", &["Origin: http://evil.example"]),
    );
    assert!(out.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{out}");
    assert!(refused(403)(&closed), "{closed:?}");
}

#[test]
fn refuses_bad_requests_with_the_right_status() {
    let cases: [(&[u8], u16); 6] = [
        (b"POST / HTTP/1.1\r\nHost: x\r\n\r\n", 405),
        (b"GET / HTTP/1.0\r\nHost: x\r\nUpgrade: websocket\r\n\r\n", 400),
        (
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
            400,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n\r\n",
            400,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
            426,
        ),
        (b"\x00\x01garbage\r\n\r\n", 400),
    ];
    for (request, status) in cases {
        let (out, closed) = answer(&WebSocket::server(), request);
        assert!(
            out.starts_with(&format!("HTTP/1.1 {status} ")),
            "{status}: {out}"
        );
        assert!(out.contains("Connection: close\r\n"), "{out}");
        assert!(refused(status)(&closed), "{status}: {closed:?}");
    }
    let (out, _) = answer(&WebSocket::server(), cases[4].0);
    assert!(
        out.contains("Sec-WebSocket-Version: 13\r\n"),
        "426 names the version: {out}"
    );
}

#[test]
fn serves_pages_for_plain_gets_and_404_elsewhere() {
    let config = WebSocket::server().path("/ws").pages(|path| {
        (path == "/").then(|| Page {
            content_type: "text/html; charset=utf-8",
            body: Bytes::from_static(b"<p>hi</p>"),
        })
    });
    let (out, closed) = answer(&config, b"GET /?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(
        out.contains("Content-Length: 9\r\n") && out.ends_with("\r\n\r\n<p>hi</p>"),
        "{out}"
    );
    assert!(matches!(
        closed,
        Some(CloseReason::MalformedFrame(FrameError::WebSocket(
            WsError::Served { status: 200 }
        )))
    ));
    let (out, _) = answer(&config, b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(out.starts_with("HTTP/1.1 404 "), "{out}");
    let (out, _) = answer(&config, &upgrade_request("/elsewhere", &[]));
    assert!(
        out.starts_with("HTTP/1.1 404 "),
        "upgrade off the path: {out}"
    );
    let (out, _) = answer(&config, &upgrade_request("/ws", &[]));
    assert!(out.starts_with("HTTP/1.1 101 "), "{out}");
}

#[test]
fn accepts_a_head_of_max_handshake_len_and_refuses_one_byte_more_with_431() {
    let base = upgrade_request("/", &["X-Pad: "]).len();
    let max = 512;
    let pad = |n: usize| "a".repeat(n);
    let at_max = upgrade_request("/", &[&format!("X-Pad: {}", pad(max - base))]);
    assert_eq!(at_max.len(), max);
    let (out, _) = answer(&WebSocket::server().max_handshake_len(max), &at_max);
    assert!(out.starts_with("HTTP/1.1 101 "), "{out}");
    let over = upgrade_request("/", &[&format!("X-Pad: {}", pad(max + 1 - base))]);
    assert_eq!(over.len(), max + 1);
    let (out, closed) = answer(&WebSocket::server().max_handshake_len(max), &over);
    assert!(out.starts_with("HTTP/1.1 431 "), "{out}");
    assert!(matches!(
        closed,
        Some(CloseReason::MalformedFrame(FrameError::WebSocket(
            WsError::HandshakeTooLong { max: 512 }
        )))
    ));
    // An incomplete head is refused as soon as it passes the limit.
    let (out, _) = answer(
        &WebSocket::server().max_handshake_len(max),
        &over[..max + 1 - 4],
    );
    assert!(out.is_empty(), "{out}");
    let (out, _) = answer(
        &WebSocket::server().max_handshake_len(max),
        &pad(max + 1).into_bytes(),
    );
    assert!(out.starts_with("HTTP/1.1 431 "), "{out}");
}

#[test]
fn client_sends_its_request_at_once_and_opens_on_a_matching_101() {
    let config = WebSocket::client("example.com:80", "/chat").protocols(["v1"]);
    let now = Instant::now();
    let mut client = session(&config, now);
    let request = write_all(&mut client, now);
    let (head, rest) = split_head(&request);
    assert!(
        head.starts_with("GET /chat HTTP/1.1\r\nHost: example.com:80\r\n"),
        "{head}"
    );
    assert!(
        head.contains("Sec-WebSocket-Protocol: v1\r\n") && rest.is_empty(),
        "{head}"
    );
    // Our own server answers it.
    let mut server = session(&WebSocket::server().protocols(["v1"]), now);
    server.handle_input(&request, now);
    server.send(Bytes::from_static(b"welcome")).unwrap();
    let answer = write_all(&mut server, now);
    client.handle_input(&answer, now);
    assert_eq!(
        events(&mut client),
        [
            SessionEvent::Opened,
            SessionEvent::Message("welcome".into())
        ]
    );
}

#[test]
fn client_refuses_a_wrong_accept_key_and_a_non_101() {
    for answer in [
        &b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAA\r\n\r\n"[..],
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    ] {
        let now = Instant::now();
        let mut client = session(&WebSocket::client("x", "/"), now);
        write_all(&mut client, now);
        client.handle_input(answer, now);
        let closed = events(&mut client).pop();
        assert!(
            matches!(closed, Some(SessionEvent::Closed(CloseReason::MalformedFrame(FrameError::WebSocket(WsError::BadHandshakeResponse(_)))))),
            "{closed:?}"
        );
    }
}

#[test]
fn a_servers_early_sends_wait_for_its_101() {
    let now = Instant::now();
    let mut s = session(&WebSocket::server(), now);
    s.send(Bytes::from_static(b"welcome")).unwrap();
    assert!(
        write_all(&mut s, now).is_empty(),
        "nothing before the request"
    );
    s.handle_input(&upgrade_request("/", &[]), now);
    let out = write_all(&mut s, now);
    let (head, frames) = split_head(&out);
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert_eq!(
        proto_testkit::ws::parse_frames(frames)[0].payload,
        b"welcome"
    );
}

#[test]
fn a_clients_sends_wait_for_the_101_and_past_max_held_before_open_are_refused() {
    let now = Instant::now();
    // Each 10-byte payload is a 16-byte masked frame: three fit in 48.
    let config = WebSocket::client("x", "/").max_held_before_open(48);
    let mut client = session(&config, now);
    for _ in 0..3 {
        client.send(Bytes::from_static(b"0123456789")).unwrap();
    }
    let refused = client.send(Bytes::from_static(b"0123456789"));
    assert!(
        matches!(
            refused,
            Err(proto_core::session::SendError::Frame(
                FrameError::WebSocket(WsError::TooMuchBeforeOpen {
                    length: 64,
                    max: 48
                })
            ))
        ),
        "{refused:?}"
    );
    let request = write_all(&mut client, now);
    let (_, rest) = split_head(&request);
    assert!(rest.is_empty(), "only the request goes out before the 101");
    let mut server = session(&WebSocket::server(), now);
    server.handle_input(&request, now);
    client.handle_input(&write_all(&mut server, now), now);
    let held = write_all(&mut client, now);
    server.handle_input(&held, now);
    let got: Vec<_> = events(&mut server)
        .into_iter()
        .filter(|e| matches!(e, SessionEvent::Message(_)))
        .collect();
    assert_eq!(got, vec![SessionEvent::Message("0123456789".into()); 3]);
}
