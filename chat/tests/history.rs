//! Room history: replay after a restart from the SQLite file, `/history N`
//! on both doors, the last lines on entering a room; and a store stuck on
//! its first write that stalls no chat traffic, keeps its queue at the
//! bound and is drained on shutdown.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{TestServer, TextUser, join, on_tokio, until, until_message};
use proto_chat::client::Update;
use proto_chat::config::Settings;
use proto_chat::history::{HistoryStore, Line, SqliteStore, StoreError};
use proto_chat::protocol::Message;
use proto_tokio::Tokio;

fn said(from: &str, text: &str) -> Message {
    Message::Said {
        room: "lobby".into(),
        from: from.into(),
        text: text.into(),
    }
}

fn past_texts(updates: &[Update]) -> Vec<String> {
    updates
        .iter()
        .filter_map(|u| match u {
            Update::Message(Message::Past { text, .. }) => Some(text.clone()),
            _ => None,
        })
        .collect()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chat-history-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

async fn with_sqlite(settings: &Settings, file: &Path) -> TestServer {
    let store = SqliteStore::open(file, settings.history_lines).expect("history file");
    TestServer::start_with::<Tokio>(settings.clone(), |s| s.with_history(store)).await
}

#[test]
fn history_survives_a_restart_and_replays_on_both_doors() {
    on_tokio(async {
        let dir = temp_dir("restart");
        let file = dir.join("history.sqlite3");
        let settings = Settings {
            history_on_join: 2,
            ..Settings::default()
        };
        let server = with_sqlite(&settings, &file).await;
        let alice = join::<Tokio>(&server, "alice").await;
        for text in ["one", "two", "three"] {
            alice.say(text).expect("queued");
            until_message(&alice, said("alice", text)).await;
        }
        let report = server.stop::<Tokio>().await;
        let history = report.history.expect("history on");
        assert_eq!((history.done, history.dropped, history.depth), (3, 0, 0));

        // A new server on the same file: a newcomer sees the last two
        // lines on entering, before its own arrival is announced.
        let server = with_sqlite(&settings, &file).await;
        let bob = join::<Tokio>(&server, "bob").await;
        let seen = until(&bob, "bob's arrival", |u| {
            *u == Update::Message(Message::Joined {
                room: "lobby".into(),
                name: "bob".into(),
            })
        })
        .await;
        assert_eq!(past_texts(&seen), ["two", "three"], "{seen:?}");

        bob.send(&Message::History { count: 10 }).expect("queued");
        let seen = until(
            &bob,
            "the third line",
            |u| matches!(u, Update::Message(Message::Past { text, .. }) if text == "three"),
        )
        .await;
        assert_eq!(past_texts(&seen), ["one", "two", "three"]);

        let mut carol = TextUser::<Tokio>::join(&server, "carol").await;
        carol.send("/history 1");
        let mut threes = 0;
        let lines = carol
            .until("the line asked for", |l| {
                threes += usize::from(l.contains("UTC) alice: three"));
                threes == 2
            })
            .await;
        let history: Vec<_> = lines.iter().filter(|l| l.contains("UTC) alice:")).collect();
        assert_eq!(history.len(), 3, "2 on joining, 1 asked for: {lines:?}");
        server.stop::<Tokio>().await;
        let _ = std::fs::remove_dir_all(&dir);
    });
}

#[test]
fn history_request_without_a_store_is_refused() {
    on_tokio(async {
        let server = TestServer::start::<Tokio>(Settings::default()).await;
        let mut dave = TextUser::<Tokio>::join(&server, "dave").await;
        dave.send("/history");
        dave.until("the refusal", |l| l.contains("keeps no history"))
            .await;
        assert!(server.stop::<Tokio>().await.history.is_none());
    });
}

/// A store whose first append waits until the test opens the gate.
struct Stuck {
    gate: Arc<Mutex<std::sync::mpsc::Receiver<()>>>,
    written: Arc<Mutex<Vec<Line>>>,
}

impl HistoryStore for Stuck {
    fn append(&mut self, lines: &[Line]) -> Result<(), StoreError> {
        let _ = self.gate.lock().expect("lock").recv();
        self.written.lock().expect("lock").extend_from_slice(lines);
        Ok(())
    }

    fn recent(&mut self, _per_room: usize) -> Result<Vec<Line>, StoreError> {
        Ok(Vec::new())
    }
}

#[test]
fn a_stuck_store_stalls_no_chat_and_its_queue_stays_bounded() {
    on_tokio(async {
        let (open, gate) = std::sync::mpsc::channel();
        let written = Arc::new(Mutex::new(Vec::new()));
        let store = Stuck {
            gate: Arc::new(Mutex::new(gate)),
            written: written.clone(),
        };
        let settings = Settings {
            history_queue: 4,
            ..Settings::default()
        };
        let server = TestServer::start_with::<Tokio>(settings, |s| s.with_history(store)).await;
        let alice = join::<Tokio>(&server, "alice").await;
        // Every line comes back while the store has not finished one
        // write (this would hang otherwise, and fail at the deadline).
        let mut slowest = Duration::ZERO;
        for n in 0..50 {
            let text = format!("line {n}");
            let sent = Instant::now();
            alice.say(&text).expect("queued");
            until_message(&alice, said("alice", &text)).await;
            slowest = slowest.max(sent.elapsed());
        }
        assert!(
            written.lock().expect("lock").is_empty(),
            "the store is stuck"
        );
        eprintln!("slowest round trip with the store stuck: {slowest:?}");
        drop(open); // the store writes from now on; the drain waits for it
        let stats = server.stop::<Tokio>().await.history.expect("history on");
        assert_eq!(
            stats.depth_high_water, 4,
            "the queue filled to its bound, no more"
        );
        assert!(stats.dropped > 0, "{stats:?}");
        assert_eq!(stats.submitted + stats.dropped, 50);
        assert_eq!(stats.done, stats.submitted, "drained on shutdown");
        let written = written.lock().expect("lock");
        assert_eq!(written.len() as u64, stats.done);
        assert_eq!(written.first().map(|l| l.text.as_str()), Some("line 0"));
    });
}
