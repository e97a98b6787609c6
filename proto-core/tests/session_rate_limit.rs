//! The session's rate limit, one test per rule, in virtual time: each
//! policy just at and just over its limit, the pause and its end, the
//! deadlines held while paused, and the configuration check.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use proto_core::frame::LengthField;
use proto_core::message::MessageFactory;
use proto_core::policy::Rate;
use proto_core::session::{
    CloseReason, ConfigError, Heartbeat, RateLimit, RatePolicy, SessionConfig, SessionEvent,
};
use proto_testkit::by_hand::{S, events, frame, session};

fn limited(limit: RateLimit) -> SessionConfig {
    SessionConfig::default().rate_limit(limit)
}

/// Feeds `n` one-byte messages at `now`; returns the messages delivered.
fn feed(s: &mut S, n: usize, now: Instant) -> usize {
    let wire: Vec<u8> = (0..n).flat_map(|_| frame(b"m")).collect();
    s.handle_input(&wire, now);
    events(s)
        .into_iter()
        .filter(|e| matches!(e, SessionEvent::Message(_)))
        .count()
}

fn closed_with(s: &mut S) -> Option<CloseReason> {
    events(s).into_iter().find_map(|e| match e {
        SessionEvent::Closed(reason) => Some(reason),
        _ => None,
    })
}

#[test]
fn disconnect_passes_the_burst_and_closes_on_one_message_over() {
    let t0 = Instant::now();
    let limit = RateLimit::messages(Rate::per_second(10).burst(3)).policy(RatePolicy::Disconnect);
    let mut s = session(limited(limit), t0);
    let _ = events(&mut s);
    assert_eq!(feed(&mut s, 3, t0), 3, "exactly the burst");
    assert!(!s.is_closing());
    s.handle_input(&frame(b"over"), t0);
    assert_eq!(closed_with(&mut s), Some(CloseReason::RateLimited));
    assert_eq!(s.stats().messages_in, 3);
}

#[test]
fn disconnect_lets_a_peer_at_the_rate_go_on() {
    let t0 = Instant::now();
    let limit = RateLimit::messages(Rate::per_second(10).burst(1)).policy(RatePolicy::Disconnect);
    let mut s = session(limited(limit), t0);
    let _ = events(&mut s);
    for i in 0..50u32 {
        assert_eq!(
            feed(&mut s, 1, t0 + Duration::from_millis(100) * i),
            1,
            "message {i}"
        );
    }
    // 99 ms after the last one is 1 ms too early.
    s.handle_input(&frame(b"early"), t0 + Duration::from_millis(100 * 49 + 99));
    assert_eq!(closed_with(&mut s), Some(CloseReason::RateLimited));
}

#[test]
fn drop_counts_what_is_over_and_delivers_again_once_within() {
    let t0 = Instant::now();
    let limit = RateLimit::messages(Rate::per_second(10).burst(3)).policy(RatePolicy::Drop);
    let mut s = session(limited(limit), t0);
    let _ = events(&mut s);
    assert_eq!(feed(&mut s, 5, t0), 3);
    assert_eq!(s.stats().messages_rate_dropped, 2);
    assert_eq!(s.stats().messages_in, 3);
    assert_eq!(feed(&mut s, 1, t0 + Duration::from_millis(99)), 0);
    assert_eq!(feed(&mut s, 1, t0 + Duration::from_millis(100)), 1);
    assert_eq!(s.stats().messages_rate_dropped, 3);
    assert!(!s.is_closing());
}

#[test]
fn pause_delivers_everything_then_holds_reading_until_the_peer_is_back_within_its_rate() {
    let t0 = Instant::now();
    let limit = RateLimit::messages(Rate::per_second(10).burst(3));
    let mut s = session(limited(limit), t0);
    let _ = events(&mut s);
    assert!(s.read_budget(0) > 0);
    assert_eq!(feed(&mut s, 3, t0), 3);
    assert!(s.read_budget(0) > 0, "at the burst, not past it");
    assert_eq!(feed(&mut s, 2, t0), 2, "nothing read is lost");
    assert_eq!(s.read_budget(0), 0);
    assert_eq!(s.stats().rate_pauses, 1);
    // Five at 10/s with a burst of 3: two past it, paid off at t0 + 200 ms.
    let ready = t0 + Duration::from_millis(200);
    assert_eq!(s.poll_timeout(), Some(ready));
    s.handle_timeout(ready - Duration::from_nanos(1));
    assert_eq!(s.read_budget(0), 0);
    s.handle_timeout(ready);
    assert!(s.read_budget(0) > 0);
    assert_eq!(s.stats().rate_pauses, 1);
    assert!(!s.is_closing());
}

#[test]
fn a_pause_holds_the_idle_deadline_and_restarts_it_when_reading_resumes() {
    let t0 = Instant::now();
    let config = limited(RateLimit::messages(Rate::per_second(1).burst(1)))
        .idle_timeout(Some(Duration::from_secs(2)));
    let mut s = session(config, t0);
    let _ = events(&mut s);
    // Ten messages at 1/s: reading is held for 9 s, far past the idle
    // timeout, which does not run meanwhile.
    assert_eq!(feed(&mut s, 10, t0), 10);
    assert_eq!(s.read_budget(0), 0);
    let ready = t0 + Duration::from_secs(9);
    assert_eq!(s.poll_timeout(), Some(ready));
    s.handle_timeout(ready);
    assert!(s.read_budget(0) > 0);
    assert!(!s.is_closing());
    // The idle deadline starts afresh from the resume.
    assert_eq!(s.poll_timeout(), Some(ready + Duration::from_secs(2)));
    s.handle_timeout(ready + Duration::from_secs(2));
    assert_eq!(closed_with(&mut s), Some(CloseReason::IdleTimeout));
}

#[test]
fn the_byte_rate_counts_payload_bytes_at_and_over_the_burst() {
    let t0 = Instant::now();
    let limit = RateLimit::none()
        .bytes(Rate::per_second(1024).burst(1024))
        .policy(RatePolicy::Disconnect);
    let mut s = session(limited(limit), t0);
    let _ = events(&mut s);
    s.handle_input(&frame(&[1; 1000]), t0);
    s.handle_input(&frame(&[2; 24]), t0);
    assert_eq!(events(&mut s).len(), 2, "exactly 1,024 bytes");
    s.handle_input(&frame(b"x"), t0);
    assert_eq!(closed_with(&mut s), Some(CloseReason::RateLimited));
}

#[test]
fn heartbeat_control_frames_are_not_charged() {
    let t0 = Instant::now();
    let limit = RateLimit::messages(Rate::per_second(1).burst(1)).policy(RatePolicy::Disconnect);
    let config = limited(limit).heartbeat(Some(Heartbeat {
        interval: Duration::from_secs(10),
        timeout: Duration::from_secs(10),
    }));
    let mut s = session(config, t0);
    let _ = events(&mut s);
    // Pongs (kind 2) and pings (kind 1) by the dozen, then one message.
    let mut wire = Vec::new();
    for _ in 0..12 {
        wire.extend(frame(&[2]));
        wire.extend(frame(&[1]));
    }
    wire.extend(frame(&[0, b'm']));
    s.handle_input(&wire, t0);
    assert_eq!(
        events(&mut s),
        [SessionEvent::Message(Bytes::from_static(b"m"))]
    );
    assert!(!s.is_closing());
}

#[test]
fn check_refuses_a_byte_burst_below_the_largest_frame_unless_pausing() {
    let codec = LengthField::laster40net().max_frame_length(1024);
    let frame = codec.max_frame_wire_len();
    let with = |burst: u64, policy| {
        limited(
            RateLimit::none()
                .bytes(Rate::per_second(10).burst(burst))
                .policy(policy),
        )
        .check(frame)
    };
    let frame_len = frame.unwrap();
    assert_eq!(with(frame_len as u64, RatePolicy::Drop), Ok(()));
    assert_eq!(
        with(frame_len as u64 - 1, RatePolicy::Drop),
        Err(ConfigError::RateBurstBelowFrame {
            burst: frame_len as u64 - 1,
            max_frame_wire_len: frame_len,
        })
    );
    assert!(with(frame_len as u64 - 1, RatePolicy::Disconnect).is_err());
    assert_eq!(with(1, RatePolicy::Pause), Ok(()));
}
