//! Heartbeat round-trip times in `SessionStats`, with virtual time.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use proto_core::session::{Heartbeat, SessionConfig};

use proto_testkit::by_hand::{S, frame, ms, session, write_all};

const HB: Heartbeat = Heartbeat {
    interval: Duration::from_secs(1),
    timeout: Duration::from_secs(5),
};

fn with_heartbeat(t0: Instant) -> S {
    session(SessionConfig::default().heartbeat(Some(HB)), t0)
}

/// Fires the ping due at `at` and writes it.
fn ping(s: &mut S, at: Instant) {
    assert_eq!(s.poll_timeout(), Some(at), "no ping due then");
    s.handle_timeout(at);
    assert_eq!(write_all(s, at), frame(&[0x01]), "not a ping");
}

fn pong() -> Vec<u8> {
    frame(&[0x02])
}

fn rtts(s: &S) -> [Option<Duration>; 3] {
    let stats = s.stats();
    [
        stats.heartbeat_rtt,
        stats.heartbeat_rtt_min,
        stats.heartbeat_rtt_smoothed,
    ]
}

#[test]
fn no_round_trip_before_a_pong_answers_a_ping() {
    let t0 = Instant::now();
    let mut s = with_heartbeat(t0);
    assert_eq!(rtts(&s), [None; 3]);
    ping(&mut s, t0 + HB.interval);
    assert_eq!(rtts(&s), [None; 3]);
    // Heartbeats off: never a sample.
    let plain = session(SessionConfig::default(), t0);
    assert_eq!(rtts(&plain), [None; 3]);
}

#[test]
fn pong_records_the_round_trip_of_its_ping() {
    let t0 = Instant::now();
    let mut s = with_heartbeat(t0);
    let sent = t0 + HB.interval;
    ping(&mut s, sent);
    s.handle_input(&pong(), sent + ms(30));
    assert_eq!(rtts(&s), [Some(ms(30)); 3]);
    assert!(!s.is_closing());
}

#[test]
fn min_and_smoothed_round_trips_follow_the_samples() {
    let t0 = Instant::now();
    let mut s = with_heartbeat(t0);
    let first = t0 + HB.interval;
    ping(&mut s, first);
    s.handle_input(&pong(), first + ms(30));
    // The next ping is due an interval after the pong arrived.
    let second = first + ms(30) + HB.interval;
    ping(&mut s, second);
    s.handle_input(&pong(), second + ms(70));
    // 7/8 of 30 ms plus 1/8 of 70 ms.
    assert_eq!(
        rtts(&s),
        [
            Some(ms(70)),
            Some(ms(30)),
            Some(Duration::from_micros(35_000))
        ]
    );
    let third = second + ms(70) + HB.interval;
    ping(&mut s, third);
    s.handle_input(&pong(), third + ms(10));
    assert_eq!(s.stats().heartbeat_rtt, Some(ms(10)));
    assert_eq!(s.stats().heartbeat_rtt_min, Some(ms(10)));
    // 7/8 of 35 ms plus 1/8 of 10 ms.
    assert_eq!(
        s.stats().heartbeat_rtt_smoothed,
        Some(Duration::from_micros(31_875))
    );
}

#[test]
fn pong_answers_the_oldest_unanswered_ping() {
    let t0 = Instant::now();
    let mut s = with_heartbeat(t0);
    let first = t0 + HB.interval;
    ping(&mut s, first);
    // A message (not a pong) ends the heartbeat wait; a second ping
    // follows an interval later, while the first is still unanswered.
    s.handle_input(&frame(b"\x00hi"), first + ms(500));
    let second = first + ms(500) + HB.interval;
    ping(&mut s, second);
    // The first pong answers the first ping; the second ping was not timed.
    s.handle_input(&pong(), second + ms(100));
    assert_eq!(s.stats().heartbeat_rtt, Some(ms(1600)));
    s.handle_input(&pong(), second + ms(200));
    assert_eq!(s.stats().heartbeat_rtt, Some(ms(1600)));
    // The next ping is timed again.
    let third = second + ms(200) + HB.interval;
    ping(&mut s, third);
    s.handle_input(&pong(), third + ms(40));
    assert_eq!(s.stats().heartbeat_rtt, Some(ms(40)));
}

#[test]
fn unsolicited_pong_is_not_a_sample() {
    let t0 = Instant::now();
    let mut s = with_heartbeat(t0);
    s.handle_input(&pong(), t0 + ms(5));
    assert_eq!(rtts(&s), [None; 3]);
    // Nor does it answer the next ping in advance.
    let sent = t0 + ms(5) + HB.interval;
    ping(&mut s, sent);
    s.handle_input(&pong(), sent + ms(25));
    assert_eq!(s.stats().heartbeat_rtt, Some(ms(25)));
}
