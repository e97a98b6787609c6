//! The server's limits, each tested at its breach: the client limit
//! (exactly at and just over, across both doors), heartbeats dropping a
//! silent client (and no heartbeat bytes for text users), malformed and
//! oversized frames closing only their sender.

mod common;

use std::time::Duration;

use common::{DEADLINE, TestServer, TextUser, join, on_tokio, raw_frame, until_message, within};
use proto_chat::client::{ChatClient, ClientOptions, JoinError};
use proto_chat::config::Settings;
use proto_chat::protocol::{ErrorCode, Message};
use proto_core::session::Heartbeat;
use proto_tokio::Tokio;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads one frame's message from a raw binary-door socket (skipping
/// pings); `None` at end of stream.
async fn read_message(socket: &mut TcpStream) -> Option<Message> {
    loop {
        let mut len = [0u8; 4];
        socket.read_exact(&mut len).await.ok()?;
        let mut frame = vec![0u8; u32::from_le_bytes(len) as usize];
        socket.read_exact(&mut frame).await.ok()?;
        if frame.first() == Some(&0x00) {
            let payload = bytes::Bytes::copy_from_slice(&frame[1..]);
            return Some(Message::decode(&payload).expect("the server sends valid messages"));
        }
    }
}

/// Waits until the server has closed `socket` (reads to end of stream).
async fn closed(socket: &mut TcpStream) -> Vec<Message> {
    let mut seen = Vec::new();
    while let Some(message) = read_message(socket).await {
        seen.push(message);
    }
    seen
}

#[test]
fn refuses_client_over_the_limit_at_either_door() {
    on_tokio(async {
        let server = TestServer::start::<Tokio>(Settings::default()).await;
        assert_eq!(Settings::default().max_clients, 200);
        let mut clients = Vec::new();
        for i in 0..200 {
            clients.push(join::<Tokio>(&server, &format!("user{i}")).await);
        }
        // The 201st, binary: refused with the server-full message.
        let over =
            ChatClient::<Tokio>::connect(server.binary, "one_more", ClientOptions::default()).await;
        match over {
            Err(JoinError::Refused { code, text }) => {
                assert_eq!(code, ErrorCode::SERVER_FULL);
                assert!(text.contains("server full (200 clients)"), "{text}");
            }
            other => panic!("the 201st client was not refused: {other:?}"),
        }
        // The 201st at the text door: the same refusal, as a line, then
        // the connection closes.
        let mut raw = TcpStream::connect(server.text).await.expect("connect");
        let mut said = String::new();
        within::<Tokio, _>(DEADLINE, "the text refusal", raw.read_to_string(&mut said))
            .await
            .expect("read");
        assert!(said.starts_with("! server full (200 clients)"), "{said:?}");
        // One leaves: the next text user is admitted.
        let leaving = clients.pop().expect("a client");
        leaving.close().await;
        until_message(
            &clients[0],
            Message::Left {
                room: "lobby".into(),
                name: "user199".into(),
            },
        )
        .await;
        let _dave = TextUser::<Tokio>::join(&server, "dave").await;
        until_message(
            &clients[0],
            Message::Joined {
                room: "lobby".into(),
                name: "dave".into(),
            },
        )
        .await;
        // And now the binary door is full again, counting the text user.
        let over =
            ChatClient::<Tokio>::connect(server.binary, "late", ClientOptions::default()).await;
        assert!(
            matches!(&over, Err(JoinError::Refused { code, .. }) if *code == ErrorCode::SERVER_FULL),
            "{over:?}"
        );
        for client in clients {
            client.close().await;
        }
        server.stop::<Tokio>().await;
    });
}

#[test]
fn drops_silent_client_by_heartbeat_and_announces_it() {
    on_tokio(async {
        let settings = Settings {
            heartbeat_interval: 0.2,
            heartbeat_timeout: 0.3,
            ..Settings::default()
        };
        let server = TestServer::start::<Tokio>(settings).await;
        let quick = Heartbeat {
            interval: Duration::from_millis(200),
            timeout: Duration::from_millis(300),
        };
        let alice = within::<Tokio, _>(
            DEADLINE,
            "alice",
            ChatClient::<Tokio>::connect(
                server.binary,
                "alice",
                ClientOptions::default().heartbeat(quick),
            ),
        )
        .await
        .expect("alice joins");
        let mut dave = TextUser::<Tokio>::join(&server, "dave").await;
        // A client that says hello, then goes silent: it never answers a ping.
        let mut silent = TcpStream::connect(server.binary).await.expect("connect");
        let hello = Message::Hello {
            name: "silent".into(),
        }
        .encode();
        silent.write_all(&raw_frame(&hello)).await.expect("hello");
        until_message(
            &alice,
            Message::Joined {
                room: "lobby".into(),
                name: "silent".into(),
            },
        )
        .await;
        // Dropped within interval + timeout (plus scheduling), and announced.
        until_message(
            &alice,
            Message::Left {
                room: "lobby".into(),
                name: "silent".into(),
            },
        )
        .await;
        let lines = dave
            .until("silent leaving", |l| l == "* silent left lobby")
            .await;
        // The text user saw only text: no ping bytes in any line.
        assert!(lines.iter().all(|l| !l.contains('\u{1}')), "{lines:?}");
        // alice answers pings, so she is still here after many intervals.
        within::<Tokio, _>(
            DEADLINE,
            "a pause",
            tokio::time::sleep(Duration::from_secs(1)),
        )
        .await;
        alice.say("still here").expect("say");
        until_message(
            &alice,
            Message::Said {
                room: "lobby".into(),
                from: "alice".into(),
                text: "still here".into(),
            },
        )
        .await;
        dave.until("alice's line", |l| l == "[lobby] alice: still here")
            .await;
        server.stop::<Tokio>().await;
    });
}

#[test]
fn malformed_and_oversized_frames_close_only_their_sender() {
    on_tokio(async {
        let server = TestServer::start::<Tokio>(Settings::default()).await;
        let max = Settings::default().max_malformed;
        let alice = join::<Tokio>(&server, "alice").await;
        let bob = join::<Tokio>(&server, "bob").await;

        // mallory: each malformed message gets an error reply; one more
        // than the limit in a row, and she is disconnected.
        let mut mallory = TcpStream::connect(server.binary).await.expect("connect");
        let hello = Message::Hello {
            name: "mallory".into(),
        }
        .encode();
        mallory.write_all(&raw_frame(&hello)).await.expect("hello");
        assert!(matches!(
            read_message(&mut mallory).await,
            Some(Message::Welcome { .. })
        ));
        let garbage: [&[u8]; 3] = [b"\xee", b"\x02\xff\xff", b""];
        for i in 0..max {
            mallory
                .write_all(&raw_frame(garbage[i as usize % garbage.len()]))
                .await
                .expect("write");
            loop {
                match read_message(&mut mallory).await {
                    Some(Message::Error { code, .. }) => {
                        assert_eq!(code, ErrorCode::MALFORMED);
                        break;
                    }
                    Some(_) => {}
                    None => panic!("closed after {i} malformed messages, before the limit"),
                }
            }
        }
        mallory.write_all(&raw_frame(b"\x99")).await.expect("write");
        let last = within::<Tokio, _>(DEADLINE, "mallory's disconnect", closed(&mut mallory)).await;
        assert!(
            last.iter().any(
                |m| matches!(m, Message::Error { code, .. } if *code == ErrorCode::TOO_MANY_ERRORS)
            ),
            "{last:?}"
        );
        until_message(
            &alice,
            Message::Left {
                room: "lobby".into(),
                name: "mallory".into(),
            },
        )
        .await;

        // eve announces a frame over the limit: closed at once.
        let mut eve = TcpStream::connect(server.binary).await.expect("connect");
        let hello = Message::Hello { name: "eve".into() }.encode();
        eve.write_all(&raw_frame(&hello)).await.expect("hello");
        until_message(
            &alice,
            Message::Joined {
                room: "lobby".into(),
                name: "eve".into(),
            },
        )
        .await;
        eve.write_all(&(16u32 << 20).to_le_bytes())
            .await
            .expect("write");
        within::<Tokio, _>(DEADLINE, "eve's disconnect", closed(&mut eve)).await;
        until_message(
            &alice,
            Message::Left {
                room: "lobby".into(),
                name: "eve".into(),
            },
        )
        .await;

        // alice and bob chat on.
        alice.say("still fine").expect("say");
        until_message(
            &bob,
            Message::Said {
                room: "lobby".into(),
                from: "alice".into(),
                text: "still fine".into(),
            },
        )
        .await;
        server.stop::<Tokio>().await;
    });
}

#[test]
fn drops_connections_without_a_nickname_and_silent_text_users() {
    on_tokio(async {
        let settings = Settings {
            hello_timeout: 0.3,
            text_idle_timeout: 0.6,
            ..Settings::default()
        };
        let server = TestServer::start::<Tokio>(settings).await;
        let alice = join::<Tokio>(&server, "alice").await;

        // A binary connection that never says Hello: told, then closed.
        let mut mute = TcpStream::connect(server.binary).await.expect("connect");
        let last = within::<Tokio, _>(DEADLINE, "the nameless close", closed(&mut mute)).await;
        assert!(
            matches!(last.as_slice(), [Message::Error { code, .. }] if *code == ErrorCode::HELLO_FIRST),
            "{last:?}"
        );
        // The same at the text door: the prompt, then the notice, then the end.
        let mut raw = TcpStream::connect(server.text).await.expect("connect");
        let mut said = String::new();
        within::<Tokio, _>(DEADLINE, "the text close", raw.read_to_string(&mut said))
            .await
            .expect("read");
        assert!(said.contains("your nickname?"), "{said:?}");
        assert!(said.contains("! no nickname within 0.3 s"), "{said:?}");

        // A text user who says nothing for the idle timeout is dropped
        // (text users get no heartbeat) and the room hears it.
        let _dave = TextUser::<Tokio>::join(&server, "dave").await;
        until_message(
            &alice,
            Message::Joined {
                room: "lobby".into(),
                name: "dave".into(),
            },
        )
        .await;
        until_message(
            &alice,
            Message::Left {
                room: "lobby".into(),
                name: "dave".into(),
            },
        )
        .await;
        server.stop::<Tokio>().await;
    });
}

/// `text_rate` 20 (bursts of 40): a text user who pastes 60 lines at once
/// loses none of them (what the server read is handled, every line reaches
/// the room in order), but then the server reads nothing more from that
/// user until the 20 lines past the burst are paid for (1 s): the next
/// line comes no sooner. The other users go on meanwhile.
#[test]
fn a_flooding_text_user_is_slowed_to_its_rate_and_loses_nothing() {
    on_tokio(async {
        let settings = Settings {
            text_rate: 20,
            ..Settings::default()
        };
        let server = TestServer::start::<Tokio>(settings).await;
        let mut listener = TextUser::<Tokio>::join(&server, "listener").await;
        let flooder = TextUser::<Tokio>::join(&server, "flooder").await;
        let started = std::time::Instant::now();
        for i in 0..60 {
            flooder.send(&format!("line {i}"));
        }
        let mut seen = listener
            .until("the flooder's 60th line", |l| {
                l.ends_with("flooder: line 59")
            })
            .await;
        flooder.send("line 60");
        seen.extend(
            listener
                .until("the line after the flood", |l| {
                    l.ends_with("flooder: line 60")
                })
                .await,
        );
        let took = started.elapsed();
        let lines: Vec<_> = seen
            .iter()
            .filter_map(|l| l.split("flooder: ").nth(1))
            .collect();
        let expected: Vec<_> = (0..=60).map(|i| format!("line {i}")).collect();
        assert_eq!(lines, expected, "every line, in order");
        assert!(
            took >= Duration::from_secs(1),
            "the line after 60 at 20 a second with bursts of 40 came after {took:?}"
        );
        // Another user is not held up.
        let _alice = join::<Tokio>(&server, "alice").await;
        server.stop::<Tokio>().await;
    });
}
