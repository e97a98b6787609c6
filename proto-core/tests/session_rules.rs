//! The session's rules, one test each, driven by hand with virtual time.
#![allow(clippy::unwrap_used)]

use std::io::IoSlice;
use std::time::{Duration, Instant};

use bytes::Bytes;
use proto_core::session::{
    CloseReason, Heartbeat, Overflow, SendError, SessionConfig, SessionEvent,
};

use proto_testkit::by_hand::{events, frame, ms, session, write_all};

#[test]
fn opened_is_the_first_event_and_messages_follow_in_order() {
    let t0 = Instant::now();
    let mut s = session(SessionConfig::default(), t0);
    let bytes = [frame(b"a"), frame(b""), frame(b"ccc")].concat();
    s.handle_input(&bytes, t0);
    assert_eq!(
        events(&mut s),
        [
            SessionEvent::Opened,
            SessionEvent::Message(Bytes::from_static(b"a")),
            SessionEvent::Message(Bytes::new()),
            SessionEvent::Message(Bytes::from_static(b"ccc")),
        ]
    );
    assert_eq!(s.stats().messages_in, 3);
    assert_eq!(s.stats().bytes_in, bytes.len() as u64);
}

#[test]
fn closes_idle_session_at_deadline_and_not_before() {
    let t0 = Instant::now();
    let idle = Duration::from_secs(10);
    let mut s = session(SessionConfig::default().idle_timeout(Some(idle)), t0);
    assert_eq!(s.poll_timeout(), Some(t0 + idle));
    s.handle_timeout(t0 + idle - Duration::from_nanos(1));
    assert!(!s.is_closing());
    s.handle_timeout(t0 + idle);
    assert!(s.is_closed());
    assert_eq!(s.close_reason(), Some(&CloseReason::IdleTimeout));
}

#[test]
fn own_sends_do_not_keep_a_dead_peer_alive() {
    let t0 = Instant::now();
    let idle = Duration::from_secs(10);
    let mut s = session(SessionConfig::default().idle_timeout(Some(idle)), t0);
    s.handle_input(&frame(b"hello"), t0 + ms(1000));
    // We keep writing every second; the peer never sends again.
    for sec in 2..=10 {
        let now = t0 + Duration::from_secs(sec);
        s.send(Bytes::from_static(b"tick")).unwrap();
        write_all(&mut s, now);
        s.handle_timeout(now);
        assert!(!s.is_closing(), "closed early at {sec}s");
    }
    assert_eq!(s.poll_timeout(), Some(t0 + ms(1000) + idle));
    s.handle_timeout(t0 + ms(1000) + idle);
    assert_eq!(s.close_reason(), Some(&CloseReason::IdleTimeout));
}

#[test]
fn closes_trickling_frame_at_frame_deadline() {
    // One byte per second keeps the idle deadline away, not the frame one.
    let t0 = Instant::now();
    let config = SessionConfig::default()
        .idle_timeout(Some(Duration::from_secs(5)))
        .frame_timeout(Some(Duration::from_secs(30)));
    let mut s = session(config, t0);
    let bytes = frame(&[7u8; 100]);
    for (i, b) in bytes.iter().enumerate() {
        let now = t0 + Duration::from_secs(i as u64);
        if s.poll_timeout().is_some_and(|d| d <= now) {
            s.handle_timeout(now);
        }
        if s.is_closed() {
            // First byte at t0: the frame had until t0 + 30 s.
            assert_eq!(i, 30);
            break;
        }
        s.handle_input(std::slice::from_ref(b), now);
    }
    assert_eq!(s.close_reason(), Some(&CloseReason::FrameTimeout));
}

#[test]
fn frame_deadline_restarts_for_each_frame_of_a_busy_stream() {
    let t0 = Instant::now();
    let config = SessionConfig::default().frame_timeout(Some(Duration::from_secs(2)));
    let mut s = session(config, t0);
    // Every read ends inside a frame, but each read completes the previous
    // one: a healthy stream must not time out.
    let stream: Vec<u8> = (0..50).flat_map(|_| frame(b"0123456789")).collect();
    for (i, chunk) in stream.chunks(21).enumerate() {
        let now = t0 + Duration::from_secs(i as u64);
        s.handle_timeout(now);
        s.handle_input(chunk, now);
        assert!(!s.is_closing(), "closed at read {i}");
    }
}

#[test]
fn heartbeat_pings_after_interval_and_times_out_exactly() {
    let t0 = Instant::now();
    let hb = Heartbeat {
        interval: Duration::from_secs(3),
        timeout: Duration::from_secs(2),
    };
    let config = SessionConfig::default().heartbeat(Some(hb));
    let mut s = session(config, t0);
    assert_eq!(s.poll_timeout(), Some(t0 + hb.interval));
    s.handle_timeout(t0 + hb.interval);
    // The ping: a one-byte frame of kind 0x01.
    assert_eq!(write_all(&mut s, t0 + hb.interval), frame(&[0x01]));
    assert_eq!(s.poll_timeout(), Some(t0 + hb.interval + hb.timeout));
    s.handle_timeout(t0 + hb.interval + hb.timeout - Duration::from_nanos(1));
    assert!(!s.is_closing());
    s.handle_timeout(t0 + hb.interval + hb.timeout);
    assert_eq!(s.close_reason(), Some(&CloseReason::HeartbeatTimeout));
}

#[test]
fn any_bytes_answer_a_ping_and_pings_never_reach_the_application() {
    let t0 = Instant::now();
    let hb = Heartbeat {
        interval: Duration::from_secs(3),
        timeout: Duration::from_secs(2),
    };
    let mut s = session(SessionConfig::default().heartbeat(Some(hb)), t0);
    s.handle_timeout(t0 + hb.interval);
    write_all(&mut s, t0 + hb.interval);
    // The peer pings us and sends a message: we pong, deliver only the
    // message, and the outstanding ping is answered.
    let now = t0 + hb.interval + ms(500);
    let input = [frame(&[0x01]), frame(b"\x00hi"), frame(&[0x02])].concat();
    s.handle_input(&input, now);
    assert_eq!(
        events(&mut s),
        [
            SessionEvent::Opened,
            SessionEvent::Message(Bytes::from_static(b"hi"))
        ]
    );
    assert_eq!(write_all(&mut s, now), frame(&[0x02]));
    assert_eq!(s.poll_timeout(), Some(now + hb.interval));
    // Application sends carry the data kind byte.
    s.send(Bytes::from_static(b"yo")).unwrap();
    assert_eq!(write_all(&mut s, now), frame(b"\x00yo"));
}

#[test]
fn unknown_kind_byte_closes_with_malformed_frame() {
    let t0 = Instant::now();
    let hb = Heartbeat {
        interval: Duration::from_secs(3),
        timeout: Duration::from_secs(2),
    };
    let mut s = session(SessionConfig::default().heartbeat(Some(hb)), t0);
    s.handle_input(&frame(b"\x09oops"), t0);
    assert!(s.is_closed());
    assert!(matches!(
        s.close_reason(),
        Some(CloseReason::MalformedFrame(_))
    ));
    let mut s = session(SessionConfig::default().heartbeat(Some(hb)), t0);
    s.handle_input(&frame(b""), t0);
    assert!(matches!(
        s.close_reason(),
        Some(CloseReason::MalformedFrame(_))
    ));
}

#[test]
fn oversized_frame_closes_with_frame_too_large() {
    let t0 = Instant::now();
    let mut s = session(SessionConfig::default(), t0);
    s.handle_input(&1025u32.to_le_bytes(), t0);
    assert_eq!(
        s.close_reason(),
        Some(&CloseReason::FrameTooLarge {
            length: 1025,
            max: 1024
        })
    );
}

#[test]
fn rejects_send_over_max_queue_messages_and_accepts_exactly_max() {
    let t0 = Instant::now();
    let mut s = session(SessionConfig::default().max_queue_messages(3), t0);
    for _ in 0..3 {
        s.send(Bytes::from_static(b"x")).unwrap();
    }
    let err = s.send(Bytes::from_static(b"x")).unwrap_err();
    assert!(matches!(
        err,
        SendError::QueueFull {
            queued_messages: 3,
            max_messages: 3,
            ..
        }
    ));
    assert_eq!(s.queued().0, 3);
    assert_eq!(s.stats().sends_rejected, 1);
    assert!(!s.is_closing());
}

#[test]
fn rejects_send_over_max_queue_bytes_and_accepts_exactly_max() {
    let t0 = Instant::now();
    // Each frame is 4 + 6 = 10 wire bytes.
    let mut s = session(SessionConfig::default().max_queue_bytes(30), t0);
    for _ in 0..3 {
        s.send(Bytes::from_static(b"sixsix")).unwrap();
    }
    assert_eq!(s.queued(), (3, 30));
    let err = s.send(Bytes::from_static(b"")).unwrap_err();
    assert!(matches!(
        err,
        SendError::QueueFull {
            queued_bytes: 30,
            message_bytes: 4,
            max_bytes: 30,
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        "send queue full: 3 messages / 30 bytes queued, limits unlimited messages / 30 bytes, message of 4 bytes"
    );
}

#[test]
fn disconnect_policy_closes_as_slow_consumer() {
    let t0 = Instant::now();
    let config = SessionConfig::default()
        .max_queue_messages(2)
        .overflow(Overflow::Disconnect);
    let mut s = session(config, t0);
    s.send(Bytes::from_static(b"1")).unwrap();
    s.send(Bytes::from_static(b"2")).unwrap();
    assert_eq!(s.send(Bytes::from_static(b"3")), Err(SendError::Closed));
    assert!(s.is_closed());
    assert_eq!(s.close_reason(), Some(&CloseReason::SlowConsumer));
    assert_eq!(s.stats().messages_dropped_at_close, 2);
}

#[test]
fn keep_latest_replaces_the_queued_message_with_the_same_key() {
    let t0 = Instant::now();
    let mut s = session(SessionConfig::default().max_queue_messages(2), t0);
    s.send_with(Bytes::from_static(b"pos1"), Overflow::KeepLatest(7))
        .unwrap();
    s.send(Bytes::from_static(b"chat")).unwrap();
    // Full, but key 7 is queued: replaced in place.
    s.send_with(Bytes::from_static(b"pos2"), Overflow::KeepLatest(7))
        .unwrap();
    // Full and key 8 is not queued: refused like Reject.
    assert!(matches!(
        s.send_with(Bytes::from_static(b"pos"), Overflow::KeepLatest(8)),
        Err(SendError::QueueFull { .. })
    ));
    assert_eq!(s.stats().messages_replaced, 1);
    assert_eq!(
        write_all(&mut s, t0),
        [frame(b"pos2"), frame(b"chat")].concat()
    );
}

#[test]
fn keep_latest_never_replaces_a_message_partly_written() {
    let t0 = Instant::now();
    let mut s = session(SessionConfig::default(), t0);
    s.send_with(Bytes::from_static(b"old!"), Overflow::KeepLatest(1))
        .unwrap();
    s.handle_written(3, t0);
    s.send_with(Bytes::from_static(b"new!"), Overflow::KeepLatest(1))
        .unwrap();
    let rest = write_all(&mut s, t0);
    assert_eq!(rest, [&frame(b"old!")[3..], &frame(b"new!")].concat());
}

#[test]
fn partial_writes_keep_the_rest_queued_in_order() {
    let t0 = Instant::now();
    let mut s = session(SessionConfig::default(), t0);
    for p in [&b"one"[..], b"two", b"three"] {
        s.send(Bytes::copy_from_slice(p)).unwrap();
    }
    let expected = [frame(b"one"), frame(b"two"), frame(b"three")].concat();
    let mut out = Vec::new();
    // A socket that takes 2 bytes at a time.
    while s.wants_write() {
        let mut slices = [IoSlice::new(&[]); 8];
        let n = s.io_slices(&mut slices);
        let flat: Vec<u8> = slices[..n].iter().flat_map(|s| s.to_vec()).collect();
        let take = flat.len().min(2);
        out.extend_from_slice(&flat[..take]);
        s.handle_written(take, t0);
    }
    assert_eq!(out, expected);
    assert_eq!(s.stats().messages_out, 3);
    assert_eq!(s.stats().bytes_out, expected.len() as u64);
    assert_eq!(s.queued(), (0, 0));
}

#[test]
fn transmit_batch_stops_at_max_transmit_bytes() {
    let t0 = Instant::now();
    let mut s = session(SessionConfig::default().max_transmit_bytes(25), t0);
    for _ in 0..5 {
        s.send(Bytes::from_static(b"123456")).unwrap(); // 10 wire bytes each
    }
    let offered: Vec<u8> = {
        let mut slices = [IoSlice::new(&[]); 64];
        let n = s.io_slices(&mut slices);
        slices[..n].iter().flat_map(|s| s.to_vec()).collect()
    };
    assert_eq!(offered.len(), 25, "the batch ends at max_transmit_bytes");
    let all: Vec<u8> = (0..5).flat_map(|_| frame(b"123456")).collect();
    assert_eq!(offered, all[..25]);
    // Writing it moves on to the rest.
    s.handle_written(25, t0);
    assert_eq!(write_all(&mut s, t0), all[25..]);
    // A batch size below one frame still makes progress.
    let mut s = session(SessionConfig::default().max_transmit_bytes(1), t0);
    s.send(Bytes::from_static(b"123456")).unwrap();
    let mut slices = [IoSlice::new(&[]); 64];
    let n = s.io_slices(&mut slices);
    assert_eq!(slices[..n].iter().map(|s| s.len()).sum::<usize>(), 1);
}

#[test]
fn graceful_close_flushes_then_closes_and_refuses_new_sends() {
    let t0 = Instant::now();
    let mut s = session(SessionConfig::default(), t0);
    s.send(Bytes::from_static(b"last words")).unwrap();
    s.close(CloseReason::Local, t0);
    assert!(s.is_closing() && !s.is_closed());
    assert_eq!(s.send(Bytes::from_static(b"more")), Err(SendError::Closed));
    // A later close does not change the reason.
    s.close(CloseReason::Shutdown, t0);
    assert_eq!(write_all(&mut s, t0), frame(b"last words"));
    assert!(s.is_closed());
    assert_eq!(
        events(&mut s),
        [
            SessionEvent::Opened,
            SessionEvent::Closed(CloseReason::Local)
        ]
    );
    assert_eq!(s.stats().messages_dropped_at_close, 0);
}

#[test]
fn graceful_close_gives_up_at_close_timeout() {
    let t0 = Instant::now();
    let config = SessionConfig::default().close_timeout(Duration::from_secs(5));
    let mut s = session(config, t0);
    s.send(Bytes::from_static(b"stuck")).unwrap();
    s.close(CloseReason::Shutdown, t0);
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(5)));
    s.handle_timeout(t0 + Duration::from_secs(5) - Duration::from_nanos(1));
    assert!(!s.is_closed());
    s.handle_timeout(t0 + Duration::from_secs(5));
    assert!(s.is_closed());
    assert_eq!(s.close_reason(), Some(&CloseReason::Shutdown));
    assert_eq!(s.stats().messages_dropped_at_close, 1);
}

#[test]
fn first_close_reason_wins_even_when_a_fault_follows() {
    let t0 = Instant::now();
    let mut s = session(SessionConfig::default(), t0);
    s.send(Bytes::from_static(b"x")).unwrap();
    s.close(CloseReason::Local, t0);
    s.handle_io_error(std::io::ErrorKind::ConnectionReset);
    assert!(s.is_closed());
    assert_eq!(s.close_reason(), Some(&CloseReason::Local));
    // Closed ignores everything.
    s.handle_input(&frame(b"late"), t0);
    s.abort(CloseReason::RateLimited);
    assert_eq!(
        events(&mut s),
        [
            SessionEvent::Opened,
            SessionEvent::Closed(CloseReason::Local)
        ]
    );
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn eof_after_whole_frames_is_a_remote_close_and_inside_a_frame_is_malformed() {
    let t0 = Instant::now();
    let mut s = session(SessionConfig::default(), t0);
    s.handle_input(&frame(b"bye"), t0);
    s.handle_eof(t0);
    assert_eq!(
        events(&mut s),
        [
            SessionEvent::Opened,
            SessionEvent::Message(Bytes::from_static(b"bye")),
            SessionEvent::EndOfStream,
            SessionEvent::Closed(CloseReason::RemoteClosed)
        ]
    );
    let mut s = session(SessionConfig::default(), t0);
    s.handle_input(&frame(b"cut")[..5], t0);
    s.handle_eof(t0);
    assert!(matches!(
        s.close_reason(),
        Some(CloseReason::MalformedFrame(_))
    ));
}

#[test]
fn queue_high_water_marks_are_kept() {
    let t0 = Instant::now();
    let mut s = session(SessionConfig::default(), t0);
    for _ in 0..4 {
        s.send(Bytes::from_static(b"123456")).unwrap();
    }
    write_all(&mut s, t0);
    s.send(Bytes::from_static(b"1")).unwrap();
    assert_eq!(s.stats().queue_high_water_messages, 4);
    assert_eq!(s.stats().queue_high_water_bytes, 40);
}

#[test]
fn with_half_close_end_of_stream_keeps_the_session_open_for_replies() {
    let t0 = Instant::now();
    let heartbeat = Heartbeat {
        interval: ms(100),
        timeout: ms(100),
    };
    let config = SessionConfig::default()
        .half_close(true)
        .heartbeat(Some(heartbeat))
        .idle_timeout(Some(ms(1000)));
    let mut s = session(config, t0);
    let mut request = Vec::from([0u8]); // the data kind byte (heartbeats on)
    request.extend_from_slice(b"req");
    s.handle_input(&frame(&request), t0);
    s.handle_eof(t0 + ms(10));
    s.handle_eof(t0 + ms(20)); // again: nothing changes
    assert_eq!(
        events(&mut s),
        [
            SessionEvent::Opened,
            SessionEvent::Message(Bytes::from_static(b"req")),
            SessionEvent::EndOfStream
        ]
    );
    assert!(!s.is_closing(), "still open for the reply");
    s.send(Bytes::from_static(b"reply")).unwrap();
    let mut reply = Vec::from([0u8]);
    reply.extend_from_slice(b"reply");
    assert_eq!(write_all(&mut s, t0 + ms(30)), frame(&reply));
    // No pings once the peer cannot answer them: the only deadline left is
    // the idle one, from the end of stream (something received), which
    // still closes a forgotten session.
    assert_eq!(s.poll_timeout(), Some(t0 + ms(10) + ms(1000)));
    s.close(CloseReason::Local, t0 + ms(40));
    assert_eq!(events(&mut s), [SessionEvent::Closed(CloseReason::Local)]);
}

#[test]
fn with_half_close_a_truncated_frame_at_end_of_stream_is_still_malformed() {
    let t0 = Instant::now();
    let mut s = session(SessionConfig::default().half_close(true), t0);
    s.handle_input(&frame(b"cut")[..5], t0);
    s.handle_eof(t0);
    assert!(matches!(
        s.close_reason(),
        Some(CloseReason::MalformedFrame(_))
    ));
    assert!(!events(&mut s).contains(&SessionEvent::EndOfStream));
}
