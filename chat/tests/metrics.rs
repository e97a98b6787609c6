//! `/metrics` scraped over HTTP while clients come, talk, get refused and
//! go: the values move as they should.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{DEADLINE, TestServer, WebUser, get, join, on_tokio, sample, until_message};
use proto_chat::client::{ChatClient, ClientOptions, JoinError};
use proto_chat::config::Settings;
use proto_chat::history::SqliteStore;
use proto_chat::protocol::{ErrorCode, Message};
use proto_tokio::Tokio;

/// Scrapes until `name` reads `want` (the room task and the sessions
/// update counters asynchronously); fails at the deadline.
async fn wait_for(addr: SocketAddr, name: &str, want: f64) -> String {
    let start = Instant::now();
    loop {
        let (_, body) = get(addr, "/metrics").await;
        if sample(&body, name) == Some(want) {
            return body;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "{name} never read {want}; last scrape:\n{body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn scraped_values_move_with_the_traffic() {
    on_tokio(async {
        let dir = std::env::temp_dir().join(format!("chat-metrics-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let store = SqliteStore::open(&dir.join("history.sqlite3"), 100).expect("store");
        let settings = Settings {
            max_clients: 2,
            metrics: Some(([127, 0, 0, 1], 0).into()),
            ..Settings::default()
        };
        let mut addr = None;
        let server = TestServer::start_with::<Tokio>(settings, |s| {
            addr = s.metrics_addr();
            s.with_history(store)
        })
        .await;
        let addr = addr.expect("metrics served");

        let (status, body) = get(addr, "/metrics").await;
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert_eq!(
            sample(&body, "chat_sessions_live{door=\"binary\"}"),
            Some(0.0)
        );
        assert_eq!(sample(&body, "chat_rooms"), Some(0.0));
        assert_eq!(get(addr, "/other").await.0, "HTTP/1.1 404 Not Found");

        let alice = join::<Tokio>(&server, "alice").await;
        for text in ["one", "two", "three"] {
            alice.say(text).expect("queued");
            until_message(
                &alice,
                Message::Said {
                    room: "lobby".into(),
                    from: "alice".into(),
                    text: text.into(),
                },
            )
            .await;
        }
        let body = wait_for(addr, "chat_history_lines_written_total", 3.0).await;
        let at = |name: &str| sample(&body, name).unwrap_or_else(|| panic!("no {name}:\n{body}"));
        assert_eq!(at("chat_sessions_live{door=\"binary\"}"), 1.0);
        assert_eq!(at("chat_sessions_accepted_total{door=\"binary\"}"), 1.0);
        assert_eq!(at("chat_rooms"), 1.0);
        assert_eq!(at("chat_room_members"), 1.0);
        assert!(
            at("chat_messages_in_total{door=\"binary\"}") >= 4.0,
            "hello and 3 lines"
        );
        assert!(at("chat_bytes_out_total{door=\"binary\"}") > 0.0);
        assert_eq!(at("chat_history_lines_queued_total"), 3.0);
        assert_eq!(at("chat_history_lines_dropped_total"), 0.0);
        assert_eq!(at("chat_history_write_latency_seconds_count"), 3.0);
        assert_eq!(
            at("chat_history_write_latency_seconds_bucket{le=\"+Inf\"}"),
            3.0
        );

        // max_clients 2: the second fits, the third is refused and counted.
        let bob = join::<Tokio>(&server, "bob").await;
        wait_for(addr, "chat_room_members", 2.0).await;
        let third = ChatClient::<Tokio>::connect(server.binary, "carol", ClientOptions::default());
        match third.await {
            Err(JoinError::Refused { code, .. }) => assert_eq!(code, ErrorCode::SERVER_FULL),
            other => panic!("a third client was not refused: {other:?}"),
        }
        let refused = "chat_sessions_refused_total{door=\"binary\",reason=\"too_many_sessions\"}";
        wait_for(addr, refused, 1.0).await;

        // Leaving: live sessions and members go down, the close is counted.
        bob.close().await;
        wait_for(addr, "chat_room_members", 1.0).await;
        let body = wait_for(addr, "chat_sessions_live{door=\"binary\"}", 1.0).await;
        let closed: f64 = body
            .lines()
            .filter(|l| l.starts_with("chat_sessions_closed_total{door=\"binary\""))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        assert_eq!(
            closed, 1.0,
            "bob's close (the refused one never had a session):\n{body}"
        );
        alice.close().await;
        server.stop::<Tokio>().await;
        let _ = std::fs::remove_dir_all(&dir);
    });
}

#[test]
fn the_web_door_is_counted_beside_the_others() {
    on_tokio(async {
        let settings = Settings {
            metrics: Some(([127, 0, 0, 1], 0).into()),
            ..Settings::default()
        };
        let mut addr = None;
        let server = TestServer::start_with::<Tokio>(settings, |s| {
            addr = s.metrics_addr();
            s
        })
        .await;
        let addr = addr.expect("metrics served");
        let body = wait_for(addr, "chat_sessions_live{door=\"web\"}", 0.0).await;
        assert_eq!(
            sample(&body, "chat_sessions_live{door=\"binary\"}"),
            Some(0.0)
        );

        let wendy = WebUser::<Tokio>::join(&server, "wendy").await;
        let body = wait_for(addr, "chat_sessions_live{door=\"web\"}", 1.0).await;
        let at = |name: &str| sample(&body, name).unwrap_or_else(|| panic!("no {name}:\n{body}"));
        assert_eq!(at("chat_sessions_accepted_total{door=\"web\"}"), 1.0);
        assert!(
            at("chat_messages_in_total{door=\"web\"}") >= 1.0,
            "the nickname"
        );
        assert_eq!(at("chat_sessions_live{door=\"binary\"}"), 0.0);
        drop(wendy);
        server.stop::<Tokio>().await;
    });
}
