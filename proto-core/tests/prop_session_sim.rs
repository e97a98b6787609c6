//! Session invariants over the simulator, for thousands of seeds: nothing
//! sent before a graceful close is lost or duplicated, deadlines fire exactly
//! when due in virtual time, and overflow policies do what they say.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use proptest::prelude::*;
use proto_core::frame::{LengthField, LengthFieldCodec};
use proto_core::session::{
    CloseReason, Heartbeat, Overflow, SendError, Session, SessionConfig, SessionEvent,
};
use proto_testkit::sim::{LinkId, PipeConfig, Side, Sim};
use proto_testkit::strategy::{PipeRanges, pipe};

/// Links from loopback-like to slow, small-buffered and bandwidth-limited.
const PIPE: PipeRanges = PipeRanges {
    segment: 1..3000,
    min_delay_us: 0..5_000,
    extra_delay_us: 0..20_000,
    rate: Some(1_000..10_000_000),
    buffer: 1..300_000,
    read: 1..100_000,
};

type S = Session<LengthFieldCodec, LengthFieldCodec>;
type Net = Sim<LengthFieldCodec, LengthFieldCodec>;

fn session(config: SessionConfig, now: Instant) -> S {
    let codec = LengthField::laster40net().max_frame_length(64 * 1024);
    Session::new(codec.new_codec(), codec.new_codec(), config, now)
}

fn payloads(max: usize) -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..400), 0..max)
}

/// Messages a session delivered, and its close reason if it closed.
fn drain(sim: &mut Net, link: LinkId, side: Side) -> (Vec<Bytes>, Option<CloseReason>) {
    let s = sim.session_mut(link, side);
    assert_eq!(s.poll_event(), Some(SessionEvent::Opened));
    let mut messages = Vec::new();
    let mut closed = None;
    while let Some(event) = s.poll_event() {
        match event {
            SessionEvent::Message(m) => {
                assert!(closed.is_none(), "message after Closed");
                messages.push(m);
            }
            SessionEvent::Closed(reason) => {
                assert!(closed.is_none(), "Closed twice");
                closed = Some(reason);
            }
            SessionEvent::EndOfStream => {
                assert!(closed.is_none(), "EndOfStream after Closed");
                // The next poll closes the session (half_close is off).
            }
            SessionEvent::Opened => panic!("Opened twice"),
            other => panic!("unexpected {other:?}"),
        }
    }
    (messages, closed)
}

/// Steps until `side` closes; returns the virtual time it closed at.
fn time_of_close(sim: &mut Net, link: LinkId, side: Side) -> Duration {
    while !sim.session(link, side).is_closed() {
        assert!(sim.step(), "nothing scheduled and not closed");
    }
    sim.step();
    sim.closed_at(link, side).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Every message sent before a graceful close arrives exactly once, in
    /// order, whatever the pipe does to the bytes.
    #[test]
    fn graceful_close_loses_and_duplicates_nothing(
        seed in any::<u64>(),
        up in pipe(PIPE),
        down in pipe(PIPE),
        client_msgs in payloads(60),
        server_msgs in payloads(60),
        batch in 1usize..100_000,
        heartbeat in any::<bool>(),
    ) {
        let t0 = Instant::now();
        // Pings interleave with data on slow (bandwidth-limited) runs. The
        // interval exceeds the longest round trip of a control frame (2 ×
        // (25 ms delay + 5 ms at 1000 B/s)), so ping traffic pauses and
        // `run_until_idle` can return; pings faster than the round trip can keep
        // something in flight for ever.
        let hb = heartbeat.then_some(Heartbeat {
            interval: Duration::from_millis(100),
            timeout: Duration::from_secs(60),
        });
        let config = SessionConfig::default()
            .max_transmit_bytes(batch)
            .heartbeat(hb);
        let mut sim = Net::new(t0, seed);
        let link = sim.connect_with(session(config.clone(), t0), session(config, t0), up, down);
        for m in &server_msgs {
            sim.session_mut(link, Side::Server).send(Bytes::copy_from_slice(m)).unwrap();
        }
        // Half the client's messages, some traffic, the rest, then close.
        let half = client_msgs.len() / 2;
        for m in &client_msgs[..half] {
            sim.session_mut(link, Side::Client).send(Bytes::copy_from_slice(m)).unwrap();
        }
        sim.advance(Duration::from_millis(3));
        for m in &client_msgs[half..] {
            sim.session_mut(link, Side::Client).send(Bytes::copy_from_slice(m)).unwrap();
        }
        sim.run_until_idle();
        let now = sim.now();
        sim.session_mut(link, Side::Client).close(CloseReason::Local, now);
        sim.run_until_idle();

        let (at_server, server_closed) = drain(&mut sim, link, Side::Server);
        let (at_client, client_closed) = drain(&mut sim, link, Side::Client);
        prop_assert_eq!(&at_server, &client_msgs);
        prop_assert_eq!(&at_client, &server_msgs);
        prop_assert_eq!(client_closed, Some(CloseReason::Local));
        prop_assert_eq!(server_closed, Some(CloseReason::RemoteClosed));
        let client = sim.session(link, Side::Client).stats();
        prop_assert_eq!(client.messages_dropped_at_close, 0);
        prop_assert_eq!(client.messages_out, client_msgs.len() as u64);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// The idle deadline fires exactly `idle_timeout` after the last byte
    /// arrived, however much the session itself sends.
    #[test]
    fn idle_timeout_fires_exactly_at_its_deadline(
        seed in any::<u64>(),
        link_cfg in pipe(PIPE),
        idle_ms in 1u64..10_000,
        msgs in payloads(20),
        server_sends in 0usize..20,
    ) {
        let t0 = Instant::now();
        let idle = Duration::from_millis(idle_ms);
        let server_cfg = SessionConfig::default().idle_timeout(Some(idle));
        let client_cfg = SessionConfig::default().idle_timeout(None);
        let mut sim = Net::new(t0, seed);
        let link = sim.connect(session(client_cfg, t0), session(server_cfg, t0), link_cfg);
        for m in &msgs {
            sim.session_mut(link, Side::Client).send(Bytes::copy_from_slice(m)).unwrap();
        }
        for _ in 0..server_sends {
            sim.session_mut(link, Side::Server).send(Bytes::from_static(b"tick")).unwrap();
        }
        let closed_at = time_of_close(&mut sim, link, Side::Server);
        let last_read = sim
            .trace()
            .iter()
            .filter(|d| d.to == Side::Server && d.at <= closed_at)
            .map(|d| d.at)
            .max()
            .unwrap_or(Duration::ZERO);
        prop_assert_eq!(closed_at, last_read + idle);
        prop_assert_eq!(
            sim.session(link, Side::Server).close_reason(),
            Some(&CloseReason::IdleTimeout)
        );
    }

    /// A peer that stops reading does not answer pings: the session closes
    /// exactly `interval + timeout` after the last byte it received.
    #[test]
    fn heartbeat_timeout_fires_exactly_at_its_deadline(
        seed in any::<u64>(),
        link_cfg in pipe(PIPE),
        interval_ms in 1u64..5_000,
        timeout_ms in 1u64..5_000,
        msgs in payloads(10),
    ) {
        let t0 = Instant::now();
        let hb = Heartbeat {
            interval: Duration::from_millis(interval_ms),
            timeout: Duration::from_millis(timeout_ms),
        };
        let server_cfg = SessionConfig::default().idle_timeout(None).heartbeat(Some(hb));
        // The client speaks the same wire but never pings on its own.
        let client_cfg = SessionConfig::default().idle_timeout(None).heartbeat(Some(Heartbeat {
            interval: Duration::from_secs(1_000_000),
            timeout: Duration::from_secs(1_000_000),
        }));
        let mut sim = Net::new(t0, seed);
        let link = sim.connect(session(client_cfg, t0), session(server_cfg, t0), link_cfg);
        for m in &msgs {
            sim.session_mut(link, Side::Client).send(Bytes::copy_from_slice(m)).unwrap();
        }
        sim.run_until_idle();
        sim.set_reading(link, Side::Client, false);
        let closed_at = time_of_close(&mut sim, link, Side::Server);
        let last_read = sim
            .trace()
            .iter()
            .filter(|d| d.to == Side::Server)
            .map(|d| d.at)
            .max()
            .unwrap_or(Duration::ZERO);
        prop_assert_eq!(
            sim.session(link, Side::Server).close_reason(),
            Some(&CloseReason::HeartbeatTimeout)
        );
        // Pings answered while the client read may have moved the last read
        // past the moment reading stopped; from it, one interval to the
        // ping, one timeout to the close.
        prop_assert_eq!(closed_at, last_read + hb.interval + hb.timeout);
        // Pings and pongs never reach the application: what it got is the
        // client's messages (all of them, unless a short timeout fired
        // while they were still in flight).
        let (delivered, _) = drain(&mut sim, link, Side::Server);
        prop_assert!(delivered.len() <= msgs.len());
        prop_assert_eq!(&delivered[..], &msgs[..delivered.len()]);
    }

    /// Against a peer that stops reading, each overflow policy does what it
    /// says: Reject refuses and loses nothing it accepted, Disconnect closes
    /// as slow consumer, KeepLatest delivers the latest value of each key.
    #[test]
    fn overflow_policies_against_a_peer_that_stops_reading(
        seed in any::<u64>(),
        link_cfg in pipe(PIPE),
        max_messages in 1usize..50,
        sends in 1usize..400,
        keys in 1u64..5,
        policy in 0u8..3,
    ) {
        let t0 = Instant::now();
        let policy = match policy {
            0 => Overflow::Reject,
            1 => Overflow::Disconnect,
            _ => Overflow::KeepLatest(0),
        };
        // No write timeout: the peer stops reading for as long as the
        // sends take (the write-stall deadline has its own tests).
        let config = SessionConfig::default()
            .max_queue_messages(max_messages)
            .idle_timeout(None)
            .write_timeout(None);
        let mut sim = Net::new(t0, seed);
        let link = sim.connect(session(config.clone(), t0), session(config, t0), link_cfg.buffer(1000));
        sim.set_reading(link, Side::Server, false);
        let mut accepted = Vec::new();
        let mut rejected = 0;
        let mut disconnected = false;
        for i in 0..sends {
            let key = i as u64 % keys;
            let payload = Bytes::from(format!("{key}:{i:04}"));
            let policy = match policy {
                Overflow::KeepLatest(_) => Overflow::KeepLatest(key),
                other => other,
            };
            match sim.session_mut(link, Side::Client).send_with(payload.clone(), policy) {
                Ok(()) => accepted.push(payload),
                Err(SendError::QueueFull { .. }) => rejected += 1,
                Err(SendError::Closed) => {
                    disconnected = true;
                    break;
                }
                Err(e) => panic!("unexpected {e}"),
            }
            sim.step();
        }
        match policy {
            Overflow::Disconnect => {
                let client = sim.session(link, Side::Client);
                prop_assert_eq!(disconnected, client.is_closed());
                if disconnected {
                    prop_assert_eq!(client.close_reason(), Some(&CloseReason::SlowConsumer));
                }
            }
            Overflow::Reject => {
                prop_assert!(!disconnected);
                prop_assert_eq!(accepted.len() + rejected, sends);
                sim.set_reading(link, Side::Server, true);
                sim.run_until_idle();
                let (delivered, _) = drain(&mut sim, link, Side::Server);
                prop_assert_eq!(delivered, accepted);
            }
            Overflow::KeepLatest(_) => {
                prop_assert!(!disconnected);
                sim.set_reading(link, Side::Server, true);
                sim.run_until_idle();
                let (delivered, _) = drain(&mut sim, link, Side::Server);
                // A replacement takes the replaced message's place, so order
                // holds per key: each key's values arrive in send order, none
                // twice, and the last accepted value of every key arrives.
                let index = |m: &Bytes| accepted.iter().position(|a| a == m).unwrap();
                for key in 0..keys {
                    let prefix = format!("{key}:");
                    let of_key = |m: &&Bytes| m.starts_with(prefix.as_bytes());
                    let positions: Vec<_> = delivered.iter().filter(of_key).map(index).collect();
                    prop_assert!(
                        positions.windows(2).all(|w| w[0] < w[1]),
                        "key {} out of order or duplicated", key
                    );
                    if let Some(last) = accepted.iter().rev().find(of_key) {
                        prop_assert_eq!(positions.last().copied(), Some(index(last)), "latest value of key {} lost", key);
                    }
                }
                let stats = sim.session(link, Side::Client).stats();
                prop_assert_eq!(delivered.len() as u64 + stats.messages_replaced, accepted.len() as u64);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The same seed gives the same trace, byte for byte.
    #[test]
    fn same_seed_same_trace(seed in any::<u64>(), link_cfg in pipe(PIPE), msgs in payloads(30)) {
        let run = |seed: u64| {
            let t0 = Instant::now();
            let mut sim = Net::new(t0, seed);
            let link = sim.connect(
                session(SessionConfig::default(), t0),
                session(SessionConfig::default(), t0),
                link_cfg,
            );
            for m in &msgs {
                sim.session_mut(link, Side::Client).send(Bytes::copy_from_slice(m)).unwrap();
                sim.session_mut(link, Side::Server).send(Bytes::copy_from_slice(m)).unwrap();
            }
            sim.run_until_idle();
            sim.trace().to_vec()
        };
        prop_assert_eq!(run(seed), run(seed));
    }
}

#[test]
fn peer_trickling_one_byte_per_second_is_closed_at_its_frame_deadline() {
    let t0 = Instant::now();
    let server_cfg = SessionConfig::default()
        .idle_timeout(Some(Duration::from_secs(5)))
        .frame_timeout(Some(Duration::from_secs(30)));
    let mut sim = Net::new(t0, 1);
    let link = sim.connect(
        session(SessionConfig::default(), t0),
        session(server_cfg, t0),
        PipeConfig::default()
            .delay(Duration::ZERO, Duration::ZERO)
            .bytes_per_sec(Some(1))
            .max_segment(1),
    );
    sim.session_mut(link, Side::Client)
        .send(Bytes::from(vec![0u8; 100]))
        .unwrap();
    let closed_at = time_of_close(&mut sim, link, Side::Server);
    let first = sim.trace()[0].at;
    assert_eq!(first, Duration::from_secs(1), "first byte after one second");
    assert_eq!(closed_at, first + Duration::from_secs(30));
    assert_eq!(
        sim.session(link, Side::Server).close_reason(),
        Some(&CloseReason::FrameTimeout)
    );
    // The client saw the reset of a faulty close.
    sim.run_until_idle();
    assert_eq!(
        sim.session(link, Side::Client).close_reason(),
        Some(&CloseReason::Io(std::io::ErrorKind::ConnectionReset))
    );
}

#[test]
fn a_bad_peer_closes_only_its_own_session() {
    let t0 = Instant::now();
    let mut sim = Net::new(t0, 99);
    let small = LengthField::laster40net().max_frame_length(8);
    let links: Vec<LinkId> = (0..20)
        .map(|i| {
            let server = if i == 3 {
                Session::new(
                    small.new_codec(),
                    small.new_codec(),
                    SessionConfig::default(),
                    t0,
                )
            } else {
                session(SessionConfig::default(), t0)
            };
            sim.connect(
                session(SessionConfig::default(), t0),
                server,
                PipeConfig::default().max_segment(7),
            )
        })
        .collect();
    // Client 3 sends a frame over its server's limit.
    sim.session_mut(links[3], Side::Client)
        .send(Bytes::from(vec![0u8; 100]))
        .unwrap();
    for (i, &link) in links.iter().enumerate() {
        for j in 0..10u32 {
            sim.session_mut(link, Side::Client)
                .send(Bytes::from(format!("{i}/{j}")))
                .unwrap();
        }
    }
    sim.run_until_idle();
    for (i, &link) in links.iter().enumerate() {
        let (got, closed) = drain(&mut sim, link, Side::Server);
        if i == 3 {
            assert!(got.is_empty());
            assert_eq!(
                closed,
                Some(CloseReason::FrameTooLarge {
                    length: 100,
                    max: 8
                })
            );
            let client = sim.session(link, Side::Client);
            assert_eq!(
                client.close_reason(),
                Some(&CloseReason::Io(std::io::ErrorKind::ConnectionReset))
            );
        } else {
            let expected: Vec<Bytes> = (0..10u32)
                .map(|j| Bytes::from(format!("{i}/{j}")))
                .collect();
            assert_eq!(got, expected);
            assert_eq!(closed, None);
        }
    }
}
