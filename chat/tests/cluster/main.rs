//! One chat service over real processes: a throwaway `redis-server` and
//! two `chat_server` instances on loopback, binary clients and text users
//! on different instances. Rooms, `/pm`, `/who`, `/rooms` and nickname
//! clashes across instances; per-sender order; an instance killed with
//! SIGKILL; Redis killed and restarted; history after a restart.

#[path = "../common/mod.rs"]
mod common;
mod procs;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{DEADLINE, TextUser, get, on_tokio, sample, until, until_message, within};
use proto_chat::client::{ChatClient, ClientOptions, JoinError, Update};
use proto_chat::protocol::{ErrorCode, Message};
use proto_tokio::Tokio;

use procs::{Instance, Options, Redis};

async fn join(addr: SocketAddr, name: &str) -> ChatClient<Tokio> {
    within::<Tokio, _>(
        DEADLINE,
        "a welcome",
        ChatClient::<Tokio>::connect(addr, name, ClientOptions::default()),
    )
    .await
    .unwrap_or_else(|err| panic!("{name} could not join: {err}"))
}

fn said(room: &str, from: &str, text: &str) -> Message {
    Message::Said {
        room: room.into(),
        from: from.into(),
        text: text.into(),
    }
}

/// Asks `/who` until the room lists every one of `names` (presence
/// travels on the presence refresh).
async fn until_present(client: &ChatClient<Tokio>, room: &str, names: &[&str]) {
    let start = Instant::now();
    loop {
        client.send(&Message::Who).expect("queued");
        let seen = until(client, "a /who answer", |u| {
            matches!(u, Update::Message(Message::Members { .. }))
        })
        .await;
        if let Some(Update::Message(Message::Members {
            room: r,
            names: got,
        })) = seen.last()
        {
            if r == room && names.iter().all(|n| got.iter().any(|g| g == n)) {
                return;
            }
        }
        assert!(
            start.elapsed() < DEADLINE,
            "{names:?} never all in {room} for {}",
            client.name()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn refused_name(addr: SocketAddr, name: &str) {
    match ChatClient::<Tokio>::connect(addr, name, ClientOptions::default()).await {
        Err(JoinError::Refused { code, .. }) => assert_eq!(code, ErrorCode::NAME_TAKEN),
        Ok(_) => panic!("{name} was let in twice"),
        Err(other) => panic!("{name}: {other}"),
    }
}

/// The presence TTL of the tests that are not about it: long enough that
/// no instance looks gone on a machine loaded with parallel builds (a
/// presence refresh late by more than a TTL would announce its users as
/// left and forget them until the next one).
const RELAXED_TTL: f64 = 10.0;

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("chat-cluster-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Instance `name` of the service on `redis`, with presence TTL `ttl`.
fn on_redis<'a>(redis: &'a Redis, name: &'a str, ttl: f64) -> Options<'a> {
    Options {
        redis: Some(redis),
        name,
        presence_ttl: ttl,
        ..Options::default()
    }
}

fn two_instances(redis: &Redis, ttl: f64) -> (Instance, Instance) {
    (
        Instance::start(&on_redis(redis, "a", ttl)),
        Instance::start(&on_redis(redis, "b", ttl)),
    )
}

#[test]
fn rooms_private_messages_and_nicknames_span_instances() {
    let redis = Redis::start();
    let dir = temp_dir("rooms");
    let a = Instance::start(&Options {
        redis: Some(&redis),
        name: "a",
        presence_ttl: RELAXED_TTL,
        ..Options::default()
    });
    let b = Instance::start(&Options {
        redis: Some(&redis),
        name: "b",
        presence_ttl: RELAXED_TTL,
        history_file: Some(dir.join("b.sqlite3")),
        ..Options::default()
    });
    on_tokio(async {
        let alice = join(a.binary, "alice").await;
        let mut bob = TextUser::<Tokio>::join_at(b.text, "bob").await;
        until_present(&alice, "lobby", &["alice", "bob"]).await;

        // Room lines both ways, binary client on A, text user on B.
        alice.say("hello from a").expect("queued");
        bob.until("alice's line", |l| l == "[lobby] alice: hello from a")
            .await;
        bob.send("hi from b");
        until_message(&alice, said("lobby", "bob", "hi from b")).await;

        // Per sender, in the order sent, on the other instance.
        for n in 0..200 {
            alice.say(&format!("n{n}")).expect("queued");
        }
        let lines = bob
            .until("the last numbered line", |l| l == "[lobby] alice: n199")
            .await;
        let numbers: Vec<u32> = lines
            .iter()
            .filter_map(|l| l.strip_prefix("[lobby] alice: n")?.parse().ok())
            .collect();
        assert_eq!(
            numbers,
            (0..200).collect::<Vec<_>>(),
            "every line, in order"
        );
        // B keeps the room's history, lines said on A included.
        bob.send("/history 1");
        bob.until("the last line as history", |l| {
            l.ends_with("UTC) alice: n199")
        })
        .await;

        // /pm across instances, both ways.
        bob.send("/pm alice psst");
        until_message(
            &alice,
            Message::PrivateFrom {
                from: "bob".into(),
                text: "psst".into(),
            },
        )
        .await;
        alice
            .send(&Message::Private {
                to: "bob".into(),
                text: "back".into(),
            })
            .expect("queued");
        bob.until("alice's pm", |l| l == "(pm from alice) back")
            .await;

        // Nicknames are unique across the service, in any case.
        refused_name(b.binary, "Alice").await;
        refused_name(a.binary, "BOB").await;

        // A room on both instances: joins announced across, /rooms counts
        // the whole service.
        alice
            .send(&Message::Join {
                room: "games".into(),
            })
            .expect("queued");
        bob.until("alice leaving the lobby", |l| l == "* alice left lobby")
            .await;
        bob.send("/join games");
        until_message(
            &alice,
            Message::Joined {
                room: "games".into(),
                name: "bob".into(),
            },
        )
        .await;
        alice.send(&Message::ListRooms).expect("queued");
        let seen = until(&alice, "/rooms", |u| {
            matches!(u, Update::Message(Message::Rooms { .. }))
        })
        .await;
        let Some(Update::Message(Message::Rooms { rooms })) = seen.last() else {
            unreachable!("until returns the match last")
        };
        assert!(rooms.contains(&("games".into(), 2)), "{rooms:?}");
        until_present(&alice, "games", &["alice", "bob"]).await;
    });
    drop((a, b));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A presence TTL whose refreshes (a third of it, 40 s) are twice
/// [`DEADLINE`] apart: what a test learns within the deadline did not
/// come from a refresh.
const SLOW_REFRESH_TTL: f64 = 120.0;

/// An instance that comes up after another knows the other's users at
/// once, because its hello is answered, rather than at the next presence
/// refresh (40 s away here): a user on the newcomer finds them with
/// `/who` and reaches them with `/pm` before anyone has said a word.
#[test]
fn a_new_instance_knows_the_others_users_at_once() {
    let redis = Redis::start();
    let options = |name| on_redis(&redis, name, SLOW_REFRESH_TTL);
    let a = Instance::start(&options("a"));
    on_tokio(async {
        let alice = join(a.binary, "alice").await;
        // Started while alice is connected: B's subscription comes up
        // after her join was announced.
        let b = tokio::task::block_in_place(|| Instance::start(&options("b")));
        let bob = join(b.binary, "bob").await;
        until_present(&bob, "lobby", &["alice", "bob"]).await;
        bob.send(&Message::Private {
            to: "alice".into(),
            text: "found you".into(),
        })
        .expect("queued");
        until_message(
            &alice,
            Message::PrivateFrom {
                from: "bob".into(),
                text: "found you".into(),
            },
        )
        .await;
        drop(b);
    });
    drop(a);
}

#[test]
fn a_killed_instance_s_users_are_announced_as_left_within_the_ttl() {
    let redis = Redis::start();
    let ttl = 2.0;
    let (a, mut b) = two_instances(&redis, ttl);
    on_tokio(async {
        let alice = join(a.binary, "alice").await;
        let _carol = join(b.binary, "carol").await;
        until_present(&alice, "lobby", &["alice", "carol"]).await;
        let killed = Instant::now();
        b.kill();
        until_message(
            &alice,
            Message::Left {
                room: "lobby".into(),
                name: "carol".into(),
            },
        )
        .await;
        let took = killed.elapsed();
        eprintln!("carol announced as left {took:?} after the SIGKILL (TTL {ttl} s)");
        // Silence is noticed on a refresh tick (every TTL/3) after the TTL
        // since the last presence: at most TTL + 2 ticks, plus slack for a
        // loaded machine.
        assert!(
            took < Duration::from_secs_f64(ttl * 5.0 / 3.0 + 5.0),
            "took {took:?}"
        );
        // Her nickname's key expires with the TTL: free again.
        let start = Instant::now();
        loop {
            match ChatClient::<Tokio>::connect(a.binary, "carol", ClientOptions::default()).await {
                Ok(carol) => break assert_eq!(carol.name(), "carol"),
                Err(JoinError::Refused { code, .. }) if code == ErrorCode::NAME_TAKEN => {
                    assert!(start.elapsed() < DEADLINE, "carol's nickname never freed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(err) => panic!("carol: {err}"),
            }
        }
    });
}

#[test]
fn a_frozen_instance_stalls_no_other() {
    // B stops (SIGSTOP) with a subscription it no longer reads: A and C
    // go on talking, and B's user is announced as left when its presence
    // lapses; once B runs again, its user is announced as back and is in
    // the directory again.
    let redis = Redis::start();
    let options = |name| on_redis(&redis, name, 2.0);
    let (a, b, c) = (
        Instance::start(&options("a")),
        Instance::start(&options("b")),
        Instance::start(&options("c")),
    );
    on_tokio(async {
        let alice = join(a.binary, "alice").await;
        let _bob = join(b.binary, "bob").await;
        let carol = join(c.binary, "carol").await;
        until_present(&alice, "lobby", &["alice", "bob", "carol"]).await;
        b.signal("STOP");
        for n in 0..50 {
            let text = format!("while b sleeps {n}");
            alice.say(&text).expect("queued");
            until_message(&carol, said("lobby", "alice", &text)).await;
        }
        until_message(
            &carol,
            Message::Left {
                room: "lobby".into(),
                name: "bob".into(),
            },
        )
        .await;
        b.signal("CONT");
        until_message(
            &carol,
            Message::Joined {
                room: "lobby".into(),
                name: "bob".into(),
            },
        )
        .await;
        until_present(&carol, "lobby", &["alice", "bob", "carol"]).await;
    });
}

#[test]
fn redis_restarted_local_users_served_and_cross_instance_traffic_resumes() {
    let mut redis = Redis::start();
    let options = |name, metrics| Options {
        redis: Some(&redis),
        name,
        presence_ttl: RELAXED_TTL,
        metrics,
        ..Options::default()
    };
    let a = Instance::start(&options("a", true));
    let b = Instance::start(&options("b", false));
    let metrics = a.metrics.expect("metrics on a");
    on_tokio(async {
        let alice = join(a.binary, "alice").await;
        let bob = join(b.binary, "bob").await;
        until_present(&alice, "lobby", &["alice", "bob"]).await;
        let (_, body) = get(metrics, "/metrics").await;
        assert_eq!(sample(&body, "chat_redis_up"), Some(1.0), "{body}");

        redis.kill();
        // Instance A notices (its next publish or refresh fails).
        let start = Instant::now();
        loop {
            let (_, body) = get(metrics, "/metrics").await;
            if sample(&body, "chat_redis_up") == Some(0.0) {
                break;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "a never saw redis go:\n{}",
                a.log()
            );
            alice.say("probe").expect("queued");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Local users are served as before.
        let dave = join(a.binary, "dave").await;
        alice.say("during the outage").expect("queued");
        until_message(&dave, said("lobby", "alice", "during the outage")).await;

        redis.restart();
        // Traffic resumes: alice repeats a line until bob has one.
        let start = Instant::now();
        let mut n = 0;
        loop {
            alice.say(&format!("after {n}")).expect("queued");
            n += 1;
            let got = within::<Tokio, _>(Duration::from_secs(60), "bob's updates", async {
                let wait = tokio::time::sleep(Duration::from_millis(300));
                tokio::pin!(wait);
                loop {
                    tokio::select! {
                        _ = &mut wait => return false,
                        update = bob.next() => match update {
                            Some(Update::Message(Message::Said { text, .. })) if text.starts_with("after ") => return true,
                            Some(_) => {}
                            None => panic!("bob disconnected"),
                        },
                    }
                }
            })
            .await;
            if got {
                break;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "traffic never resumed:\n{}",
                a.log()
            );
        }
        let (_, body) = get(metrics, "/metrics").await;
        let at = |name: &str| sample(&body, name).unwrap_or_else(|| panic!("no {name}:\n{body}"));
        assert_eq!(at("chat_redis_up"), 1.0);
        assert!(at("chat_redis_reconnects_total") >= 1.0, "{body}");
        assert!(at("chat_redis_outages_total") >= 1.0, "{body}");
        assert!(
            at("chat_redis_publishes_lost_total") >= 1.0,
            "the outage's lines:\n{body}"
        );
        let log = a.log();
        assert_eq!(
            log.matches("redis link down").count(),
            1,
            "the outage logged once:\n{log}"
        );
        // Nicknames were claimed again in the empty Redis.
        refused_name(b.binary, "alice").await;
    });
    drop((a, b));
}

#[test]
fn history_is_replayed_after_a_server_restart() {
    let dir = temp_dir("history");
    let options = Options {
        history_file: Some(dir.join("history.sqlite3")),
        ..Options::default()
    };
    let mut a = Instance::start(&options);
    on_tokio(async {
        let alice = join(a.binary, "alice").await;
        for text in ["first", "second"] {
            alice.say(text).expect("queued");
            until_message(&alice, said("lobby", "alice", text)).await;
        }
    });
    a.stop();
    let b = Instance::start(&options);
    on_tokio(async {
        let mut bob = TextUser::<Tokio>::join_at(b.text, "bob").await;
        bob.send("/history");
        let lines = bob
            .until("the second line", |l| l.ends_with("alice: second"))
            .await;
        assert!(
            lines.iter().any(|l| l.ends_with("UTC) alice: first")),
            "{lines:?}"
        );
    });
    drop(b);
    let _ = std::fs::remove_dir_all(&dir);
}
