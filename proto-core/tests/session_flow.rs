//! Flow control and the ways to end a session: the read budget under the
//! water marks, the write-stall deadline, close with the caller's
//! deadline, a last word past the queue limits, and end of stream in both
//! `half_close` modes. One test per rule, virtual time.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use proto_core::session::{
    CloseReason, MESSAGE_COST, SendError, SessionConfig, SessionEvent, WaterMarks, message_cost,
};
use proto_testkit::sim::{PipeConfig, Side, Sim};

use proto_testkit::by_hand::{S, events, frame, session, write_all};

fn marks(low: usize, high: usize) -> SessionConfig {
    SessionConfig::default().backpressure(Some(WaterMarks { low, high }))
}

const NS: Duration = Duration::from_nanos(1);

// ----- read budget -----

#[test]
fn read_budget_is_high_less_pending_and_pauses_exactly_at_high() {
    let t0 = Instant::now();
    let mut s = session(marks(100, 200), t0);
    assert_eq!(s.read_budget(0), 200);
    assert_eq!(s.read_budget(199), 1);
    assert!(!s.is_paused());
    assert_eq!(s.read_budget(200), 0, "at the high mark");
    assert!(s.is_paused());
}

#[test]
fn paused_reading_resumes_at_the_low_mark_and_not_one_byte_above() {
    let t0 = Instant::now();
    let mut s = session(marks(100, 200), t0);
    assert_eq!(s.read_budget(250), 0);
    assert_eq!(s.read_budget(199), 0, "paused: still above low");
    assert_eq!(s.read_budget(101), 0, "paused: one byte above low");
    assert!(s.is_paused());
    assert_eq!(s.read_budget(100), 100, "at low: resumes");
    assert!(!s.is_paused());
    assert_eq!(s.read_budget(199), 1, "unpaused: reads up to high again");
}

#[test]
fn read_budget_counts_unpolled_messages_at_payload_plus_message_cost() {
    let t0 = Instant::now();
    let mut s = session(marks(100, 200), t0);
    assert_eq!(message_cost(10), 10 + MESSAGE_COST);
    s.handle_input(&frame(&[7; 10]), t0);
    s.handle_input(&frame(b""), t0);
    assert_eq!(s.read_budget(0), 200 - message_cost(10) - message_cost(0));
    assert_eq!(s.poll_event(), Some(SessionEvent::Opened));
    assert!(matches!(s.poll_event(), Some(SessionEvent::Message(_))));
    assert_eq!(s.read_budget(0), 200 - message_cost(0));
    assert!(matches!(s.poll_event(), Some(SessionEvent::Message(_))));
    assert_eq!(s.read_budget(0), 200);
}

#[test]
fn read_budget_counts_queued_wire_bytes() {
    let t0 = Instant::now();
    let mut s = session(marks(100, 200), t0);
    // 4 header bytes + 96: exactly the high mark.
    s.send(Bytes::from(vec![1; 96])).unwrap();
    assert_eq!(s.read_budget(100), 0);
    assert!(s.is_paused());
    write_all(&mut s, t0);
    assert_eq!(s.read_budget(0), 200);
}

#[test]
fn read_budget_ignores_the_send_queue_when_sends_do_not_count() {
    let t0 = Instant::now();
    let mut s = session(marks(100, 200).backpressure_counts_sends(false), t0);
    // Far past the high mark in the queue.
    for _ in 0..4 {
        s.send(Bytes::from(vec![1; 1000])).unwrap();
    }
    assert_eq!(s.queued().1, 4 * 1004);
    assert_eq!(s.paced_queue_bytes(), 0);
    // Only what the application holds counts: at the mark, and one under.
    assert_eq!(s.read_budget(200), 0);
    assert_eq!(s.read_budget(100), 100, "resumed at the low mark");
    assert_eq!(s.read_budget(199), 1);
}

#[test]
fn read_budget_is_unlimited_without_backpressure() {
    let t0 = Instant::now();
    let mut s = session(SessionConfig::default().backpressure(None), t0);
    assert_eq!(s.read_budget(usize::MAX), usize::MAX);
    assert!(!s.is_paused());
}

#[test]
fn read_budget_is_zero_after_end_of_stream_and_once_closed() {
    let t0 = Instant::now();
    let mut s = session(SessionConfig::default().half_close(true), t0);
    s.handle_eof(t0);
    assert_eq!(s.read_budget(0), 0);
    let mut s = session(SessionConfig::default(), t0);
    s.abort(CloseReason::Local);
    assert_eq!(s.read_budget(0), 0);
}

#[test]
fn default_read_budget_is_the_default_high_mark() {
    let t0 = Instant::now();
    let mut s = session(SessionConfig::default(), t0);
    assert_eq!(s.read_budget(0), 64 * 1024);
    assert_eq!(s.read_budget(64 * 1024 - 32 * 1024 + 1), 32 * 1024 - 1);
}

// ----- write stall -----

fn stalled(timeout: Duration, t0: Instant) -> S {
    let mut s = session(
        SessionConfig::default()
            .write_timeout(Some(timeout))
            .idle_timeout(None),
        t0,
    );
    s.send(Bytes::from_static(b"stuck")).unwrap();
    s
}

#[test]
fn closes_stalled_writer_exactly_at_write_timeout_and_not_a_nanosecond_before() {
    let t0 = Instant::now();
    let mut s = stalled(Duration::from_secs(30), t0);
    assert_eq!(
        s.poll_timeout(),
        None,
        "no clock before a write took nothing"
    );
    s.handle_written(0, t0);
    let deadline = t0 + Duration::from_secs(30);
    assert_eq!(s.poll_timeout(), Some(deadline));
    s.handle_timeout(deadline - NS);
    assert!(!s.is_closing());
    s.handle_timeout(deadline);
    assert_eq!(s.close_reason(), Some(&CloseReason::SlowConsumer));
    assert_eq!(s.stats().messages_dropped_at_close, 1);
}

#[test]
fn repeated_zero_writes_do_not_restart_the_stall_clock() {
    let t0 = Instant::now();
    let mut s = stalled(Duration::from_secs(30), t0);
    s.handle_written(0, t0);
    s.handle_written(0, t0 + Duration::from_secs(20));
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(30)));
}

#[test]
fn write_progress_restarts_the_stall_clock() {
    let t0 = Instant::now();
    let mut s = stalled(Duration::from_secs(30), t0);
    s.handle_written(0, t0);
    let t1 = t0 + Duration::from_secs(29);
    s.handle_written(1, t1);
    assert_eq!(s.poll_timeout(), Some(t1 + Duration::from_secs(30)));
    s.handle_timeout(t0 + Duration::from_secs(30));
    assert!(!s.is_closing(), "progress moved the deadline");
    s.handle_timeout(t1 + Duration::from_secs(30));
    assert_eq!(s.close_reason(), Some(&CloseReason::SlowConsumer));
}

#[test]
fn an_empty_queue_never_stalls() {
    let t0 = Instant::now();
    let mut s = session(
        SessionConfig::default()
            .write_timeout(Some(Duration::from_secs(1)))
            .idle_timeout(None),
        t0,
    );
    s.handle_written(0, t0);
    assert_eq!(s.poll_timeout(), None);
    // A stalled queue that then drains stops the clock.
    s.send(Bytes::from_static(b"x")).unwrap();
    s.handle_written(0, t0);
    write_all(&mut s, t0 + Duration::from_millis(500));
    assert_eq!(s.poll_timeout(), None);
    s.handle_timeout(t0 + Duration::from_secs(10));
    assert!(!s.is_closing());
    // A new send does not inherit the old clock.
    s.send(Bytes::from_static(b"y")).unwrap();
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn write_stall_while_closing_closes_with_the_first_reason() {
    let t0 = Instant::now();
    let mut s = stalled(Duration::from_secs(1), t0);
    s.close_until(CloseReason::Shutdown, t0, None);
    s.handle_written(0, t0);
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(1)));
    s.handle_timeout(t0 + Duration::from_secs(1) - NS);
    assert!(!s.is_closed());
    s.handle_timeout(t0 + Duration::from_secs(1));
    assert!(s.is_closed());
    assert_eq!(s.close_reason(), Some(&CloseReason::Shutdown));
}

#[test]
fn no_write_timeout_never_stalls() {
    let t0 = Instant::now();
    let mut s = session(
        SessionConfig::default()
            .write_timeout(None)
            .idle_timeout(None),
        t0,
    );
    s.send(Bytes::from_static(b"x")).unwrap();
    s.handle_written(0, t0);
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn sim_peer_that_stops_reading_gets_the_sender_closed_as_slow_consumer_at_the_deadline() {
    let t0 = Instant::now();
    let timeout = Duration::from_secs(30);
    let config = SessionConfig::default()
        .idle_timeout(None)
        .write_timeout(Some(timeout));
    let mut sim = Sim::new(t0, 5);
    let link = sim.connect(
        session(config.clone(), t0),
        session(config, t0),
        PipeConfig::default().buffer(100),
    );
    sim.set_reading(link, Side::Server, false);
    for _ in 0..10 {
        sim.session_mut(link, Side::Client)
            .send(Bytes::from(vec![1; 50]))
            .unwrap();
    }
    while !sim.session(link, Side::Client).is_closed() {
        assert!(sim.step(), "nothing scheduled and not closed");
    }
    sim.step();
    // The pipe filled at the first flush, at t0.
    assert_eq!(sim.closed_at(link, Side::Client), Some(timeout));
    assert_eq!(
        sim.session(link, Side::Client).close_reason(),
        Some(&CloseReason::SlowConsumer)
    );
}

// ----- close with the caller's deadline -----

#[test]
fn close_until_none_waits_for_the_queue_without_a_deadline() {
    let t0 = Instant::now();
    let mut s = session(
        SessionConfig::default()
            .idle_timeout(None)
            .write_timeout(None),
        t0,
    );
    s.send(Bytes::from_static(b"bye")).unwrap();
    s.close_until(CloseReason::Shutdown, t0, None);
    assert!(s.is_closing() && !s.is_closed());
    assert_eq!(s.poll_timeout(), None);
    s.handle_timeout(t0 + Duration::from_secs(3600));
    assert!(!s.is_closed());
    assert_eq!(write_all(&mut s, t0), frame(b"bye"));
    assert_eq!(
        events(&mut s),
        [
            SessionEvent::Opened,
            SessionEvent::Closed(CloseReason::Shutdown)
        ]
    );
    assert_eq!(s.stats().messages_dropped_at_close, 0);
}

#[test]
fn close_until_drops_unwritten_messages_exactly_at_its_deadline() {
    let t0 = Instant::now();
    let mut s = session(SessionConfig::default().idle_timeout(None), t0);
    s.send(Bytes::from_static(b"bye")).unwrap();
    let deadline = t0 + Duration::from_millis(7);
    s.close_until(CloseReason::Shutdown, t0, Some(deadline));
    assert_eq!(s.poll_timeout(), Some(deadline));
    s.handle_timeout(deadline - NS);
    assert!(!s.is_closed());
    s.handle_timeout(deadline);
    assert!(s.is_closed());
    assert_eq!(s.stats().messages_dropped_at_close, 1);
}

#[test]
fn close_is_close_until_now_plus_close_timeout() {
    let t0 = Instant::now();
    let mut s = session(
        SessionConfig::default().close_timeout(Duration::from_secs(5)),
        t0,
    );
    s.send(Bytes::from_static(b"bye")).unwrap();
    s.close(CloseReason::Local, t0);
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(5)));
    // A second close changes nothing.
    s.close_until(CloseReason::Shutdown, t0, None);
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(5)));
    assert_eq!(s.close_reason(), Some(&CloseReason::Local));
}

// ----- a last word -----

#[test]
fn send_final_is_queued_past_a_full_queue_then_the_session_closes() {
    let t0 = Instant::now();
    // Room for exactly one 10-byte frame.
    let mut s = session(SessionConfig::default().max_queue_bytes(10), t0);
    s.send(Bytes::from_static(b"sixsix")).unwrap();
    assert!(matches!(
        s.send(Bytes::from_static(b"no")),
        Err(SendError::QueueFull { .. })
    ));
    s.send_final(
        Bytes::from_static(b"server full"),
        CloseReason::Shutdown,
        t0,
    )
    .unwrap();
    assert_eq!(s.queued(), (2, 10 + 4 + 11), "counted in the queue");
    assert!(s.is_closing());
    assert_eq!(s.send(Bytes::from_static(b"x")), Err(SendError::Closed));
    let mut expected = frame(b"sixsix");
    expected.extend(frame(b"server full"));
    assert_eq!(write_all(&mut s, t0), expected);
    assert_eq!(
        events(&mut s),
        [
            SessionEvent::Opened,
            SessionEvent::Closed(CloseReason::Shutdown)
        ]
    );
}

#[test]
fn send_final_is_refused_once_closing() {
    let t0 = Instant::now();
    let mut s = session(SessionConfig::default(), t0);
    s.send(Bytes::from_static(b"a")).unwrap();
    s.close(CloseReason::Local, t0);
    assert_eq!(
        s.send_final(Bytes::from_static(b"b"), CloseReason::Shutdown, t0),
        Err(SendError::Closed)
    );
    assert_eq!(s.close_reason(), Some(&CloseReason::Local));
    s.abort(CloseReason::Local);
    assert_eq!(
        s.send_final(Bytes::from_static(b"b"), CloseReason::Shutdown, t0),
        Err(SendError::Closed)
    );
}

#[test]
fn send_final_that_cannot_be_framed_leaves_the_session_open() {
    let t0 = Instant::now();
    let mut s = session(SessionConfig::default(), t0);
    let err = s
        .send_final(Bytes::from(vec![0; 1025]), CloseReason::Shutdown, t0)
        .unwrap_err();
    assert!(matches!(err, SendError::Frame(_)), "{err:?}");
    assert!(!s.is_closing());
    assert_eq!(s.queued(), (0, 0));
}

// ----- end of stream -----

#[test]
fn without_half_close_replies_to_the_last_messages_are_written_before_the_close() {
    let t0 = Instant::now();
    let mut s = session(SessionConfig::default(), t0);
    s.handle_input(&frame(b"q1"), t0);
    s.handle_input(&frame(b"q2"), t0);
    s.handle_eof(t0 + Duration::from_millis(1));
    assert_eq!(s.poll_event(), Some(SessionEvent::Opened));
    let mut replies = Vec::new();
    loop {
        match s.poll_event() {
            Some(SessionEvent::Message(m)) => {
                let mut r = b"re:".to_vec();
                r.extend_from_slice(&m);
                s.send(Bytes::from(r.clone())).unwrap();
                replies.extend(frame(&r));
            }
            Some(SessionEvent::EndOfStream) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(!s.is_closing(), "still open until the next poll");
    s.send(Bytes::from_static(b"bye")).unwrap();
    replies.extend(frame(b"bye"));
    assert_eq!(
        s.poll_event(),
        None,
        "the next poll closes: queue not empty"
    );
    assert!(s.is_closing());
    assert_eq!(s.close_reason(), Some(&CloseReason::RemoteClosed));
    assert_eq!(s.send(Bytes::from_static(b"late")), Err(SendError::Closed));
    // The close deadline runs from the end of stream.
    assert_eq!(
        s.poll_timeout(),
        Some(t0 + Duration::from_millis(1) + Duration::from_secs(5))
    );
    assert_eq!(write_all(&mut s, t0), replies);
    assert_eq!(
        events(&mut s),
        [SessionEvent::Closed(CloseReason::RemoteClosed)]
    );
}

#[test]
fn without_half_close_the_poll_after_end_of_stream_returns_closed_when_nothing_is_queued() {
    let t0 = Instant::now();
    let mut s = session(SessionConfig::default(), t0);
    s.handle_eof(t0);
    assert_eq!(
        events(&mut s),
        [
            SessionEvent::Opened,
            SessionEvent::EndOfStream,
            SessionEvent::Closed(CloseReason::RemoteClosed)
        ]
    );
}

#[test]
fn with_half_close_polling_past_end_of_stream_does_not_close() {
    let t0 = Instant::now();
    let mut s = session(SessionConfig::default().half_close(true), t0);
    s.handle_eof(t0);
    assert_eq!(
        events(&mut s),
        [SessionEvent::Opened, SessionEvent::EndOfStream]
    );
    assert_eq!(s.poll_event(), None);
    assert!(!s.is_closing());
}

#[test]
fn input_after_end_of_stream_is_ignored() {
    let t0 = Instant::now();
    let mut s = session(SessionConfig::default().half_close(true), t0);
    s.handle_eof(t0);
    s.handle_input(&frame(b"ghost"), t0);
    s.handle_eof(t0);
    assert_eq!(
        events(&mut s),
        [SessionEvent::Opened, SessionEvent::EndOfStream]
    );
    assert_eq!(s.stats().bytes_in, 0);
}

#[test]
fn end_of_stream_while_closing_still_comes_after_the_last_message() {
    let t0 = Instant::now();
    let mut s = session(SessionConfig::default(), t0);
    s.send(Bytes::from_static(b"pending")).unwrap();
    s.close(CloseReason::Local, t0);
    s.handle_input(&frame(b"last"), t0);
    s.handle_eof(t0);
    assert_eq!(
        events(&mut s),
        [
            SessionEvent::Opened,
            SessionEvent::Message(Bytes::from_static(b"last")),
            SessionEvent::EndOfStream
        ]
    );
    write_all(&mut s, t0);
    assert_eq!(events(&mut s), [SessionEvent::Closed(CloseReason::Local)]);
}

#[test]
fn paused_session_runs_no_peer_deadlines_and_restarts_them_on_resume() {
    let t0 = Instant::now();
    let config = marks(0, 100)
        .idle_timeout(Some(Duration::from_secs(10)))
        .frame_timeout(Some(Duration::from_secs(3)));
    let mut s = session(config, t0);
    // A partial frame, then a message that fills the budget.
    s.handle_input(&frame(&[1; 100]), t0);
    s.handle_input(&frame(b"x")[..2], t0);
    assert_eq!(s.read_budget(0), 0);
    assert_eq!(s.poll_timeout(), None, "paused: no idle or frame deadline");
    s.handle_timeout(t0 + Duration::from_secs(60));
    assert!(!s.is_closing());
    let _ = events(&mut s);
    s.handle_written(0, t0 + Duration::from_secs(60));
    assert_eq!(s.read_budget(0), 100, "resumes at low");
    let t1 = t0 + Duration::from_secs(60);
    assert_eq!(s.poll_timeout(), Some(t1 + Duration::from_secs(3)));
    s.handle_timeout(t1 + Duration::from_secs(3));
    assert_eq!(s.close_reason(), Some(&CloseReason::FrameTimeout));
}

// ----- idle memory -----

#[test]
fn releasing_buffers_loses_nothing_queued_or_received() {
    let t0 = Instant::now();
    let mut s = session(SessionConfig::default(), t0);
    let _ = events(&mut s);
    // A received message not yet polled and a queued one not yet written
    // survive a release; so does a partly written message.
    s.handle_input(&frame(b"in"), t0);
    s.send(Bytes::from_static(b"first")).unwrap();
    let mut slices = [std::io::IoSlice::new(&[]); 4];
    assert!(s.io_slices(&mut slices) > 0);
    s.handle_written(3, t0);
    s.release_buffers();
    s.send(Bytes::from_static(b"second")).unwrap();
    assert_eq!(
        events(&mut s),
        [SessionEvent::Message(Bytes::from_static(b"in"))]
    );
    let wire = write_all(&mut s, t0);
    assert_eq!(
        wire,
        [&frame(b"first")[3..], &frame(b"second")[..]].concat()
    );
    assert_eq!(s.queued(), (0, 0));
    // Empty: released, and the session works on as before.
    s.release_buffers();
    s.handle_input(&frame(b"again"), t0);
    s.send(Bytes::from_static(b"third")).unwrap();
    assert_eq!(
        events(&mut s),
        [SessionEvent::Message(Bytes::from_static(b"again"))]
    );
    assert_eq!(write_all(&mut s, t0), frame(b"third"));
    assert_eq!(s.stats().messages_out, 3);
}
