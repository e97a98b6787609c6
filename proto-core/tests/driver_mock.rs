//! The runtime-neutral driver over a mock transport and a virtual clock.

use std::io;
use std::time::Duration;

use bytes::Bytes;
use proto_core::hub::{Event, HubConfig};
use proto_core::session::{CloseReason, SessionConfig};
use proto_testkit::mock::{Ev, Net, Op, WriteMode, addr, evs, frame};

fn config(session: SessionConfig) -> HubConfig {
    HubConfig::default().session(session)
}

#[test]
fn delivers_opened_messages_closed_in_order_with_ids() {
    let mut net = Net::new(HubConfig::default());
    let a = net.connect(addr(1, 1));
    let b = net.connect(addr(1, 2));
    a.io.push_frame(b"one");
    a.io.push(&[frame(b"two"), frame(b"three")].concat());
    b.io.push_frame(b"bee");
    net.run();
    a.io.push_eof();
    net.run();
    // The application takes every event; the peer's end of stream closes
    // its session once it has.
    let mut events = evs(&net.drain_events());
    assert_eq!(a.result(), None, "open until the application is done");
    net.run();
    events.extend(evs(&net.drain_events()));
    let of = |id| -> Vec<Ev> {
        events
            .iter()
            .filter(|e| match e {
                Ev::Opened(i) | Ev::Message(i, _) | Ev::EndOfStream(i) | Ev::Closed(i, _) => {
                    *i == id
                }
            })
            .cloned()
            .collect()
    };
    assert_eq!(
        of(a.id),
        vec![
            Ev::Opened(a.id),
            Ev::Message(a.id, b"one".to_vec()),
            Ev::Message(a.id, b"two".to_vec()),
            Ev::Message(a.id, b"three".to_vec()),
            Ev::EndOfStream(a.id),
            Ev::Closed(a.id, CloseReason::RemoteClosed),
        ]
    );
    assert_eq!(
        of(b.id),
        vec![Ev::Opened(b.id), Ev::Message(b.id, b"bee".to_vec())]
    );
    assert_eq!(a.result(), Some(CloseReason::RemoteClosed));
    assert_eq!(b.result(), None);
}

fn closed_reason(events: &[Event], id: proto_core::hub::SessionId) -> Option<CloseReason> {
    events.iter().find_map(|e| match e {
        Event::Closed { id: i, reason, .. } if *i == id => Some(reason.clone()),
        _ => None,
    })
}

#[test]
fn hub_forgets_the_session_before_its_closed_event_on_every_close_path() {
    let session = SessionConfig::default().idle_timeout(Some(Duration::from_secs(10)));
    let mut net = Net::new(config(session));
    net.watch_closed();

    let eof = net.connect(addr(2, 1));
    let close = net.connect(addr(2, 2));
    let close_queued = net.connect(addr(2, 3));
    let abort = net.connect(addr(2, 4));
    let reset = net.connect(addr(2, 5));
    let hub_close = net.connect(addr(2, 6));

    eof.io.push_eof();
    close.handle.close();
    close_queued.io.set_write_mode(WriteMode::Refuse);
    close_queued
        .handle
        .send(Bytes::from_static(b"bye"))
        .expect("queued");
    net.run();
    close_queued.handle.close();
    net.run();
    close_queued.io.set_write_mode(WriteMode::All);
    abort.handle.abort(CloseReason::RateLimited);
    reset.io.fail_read(io::ErrorKind::ConnectionReset);
    assert!(net.hub.close(hub_close.id, CloseReason::Shutdown));
    net.run();
    let idle = net.connect(addr(2, 7));
    net.advance(Duration::from_secs(10));

    let events = net.drain_events();
    let expect = [
        (&eof, CloseReason::RemoteClosed),
        (&close, CloseReason::Local),
        (&close_queued, CloseReason::Local),
        (&abort, CloseReason::RateLimited),
        (&reset, CloseReason::Io(io::ErrorKind::ConnectionReset)),
        (&hub_close, CloseReason::Shutdown),
        (&idle, CloseReason::IdleTimeout),
    ];
    for (peer, reason) in expect {
        assert_eq!(closed_reason(&events, peer.id), Some(reason.clone()));
        assert_eq!(peer.result(), Some(reason));
    }
    assert_eq!(
        *net.closed_while_listed.borrow(),
        Vec::new(),
        "Closed delivered while the hub still listed the session"
    );
    assert!(net.hub.is_empty());
}

#[test]
fn closes_idle_session_at_deadline() {
    let session = SessionConfig::default()
        .idle_timeout(Some(Duration::from_secs(10)))
        .frame_timeout(None);
    let mut net = Net::new(config(session));
    let start = net.clock.now();
    let peer = net.connect(addr(3, 1));
    assert_eq!(peer.resets(), vec![start + Duration::from_secs(10)]);

    // Bytes at 5 s push the deadline to 15 s. The timer stays armed for
    // 10 s (a later deadline does not re-arm it); at 10 s it wakes the
    // driver early, nothing is due, and it is armed for 15 s.
    net.advance(Duration::from_secs(5));
    peer.io.push_frame(b"ping");
    net.run();
    assert_eq!(peer.resets(), vec![start + Duration::from_secs(10)]);
    net.advance(Duration::from_secs(5));
    assert_eq!(peer.result(), None, "the early wake closes nothing");
    assert_eq!(
        peer.resets().last(),
        Some(&(start + Duration::from_secs(15)))
    );
    net.advance(Duration::from_secs(5) - Duration::from_nanos(1));
    assert_eq!(peer.result(), None, "one nanosecond before the deadline");
    assert!(net.hub.get(peer.id).is_some());

    net.advance(Duration::from_nanos(1));
    assert_eq!(peer.result(), Some(CloseReason::IdleTimeout));
    let events = net.drain_events();
    assert_eq!(
        closed_reason(&events, peer.id),
        Some(CloseReason::IdleTimeout)
    );
    assert!(net.hub.get(peer.id).is_none());
    assert!(!peer.io.shutdown_called(), "a timeout is a fault: no FIN");
}

#[test]
fn eof_flushes_queued_replies_then_shuts_down_the_write_side() {
    let mut net = Net::new(HubConfig::default());
    let peer = net.connect(addr(4, 1));
    peer.io.set_write_mode(WriteMode::Refuse);
    for reply in [&b"r1"[..], b"r2", b"r3"] {
        peer.handle
            .send(Bytes::copy_from_slice(reply))
            .expect("queued");
    }
    peer.io.push_frame(b"last words");
    peer.io.push_eof();
    net.run();
    // The application has not taken the peer's last message yet: the
    // session stays open so that its reply can still be queued.
    assert_eq!(peer.result(), None);
    assert!(peer.io.output().is_empty());
    let events = evs(&net.drain_events());
    assert_eq!(
        events,
        vec![
            Ev::Opened(peer.id),
            Ev::Message(peer.id, b"last words".to_vec()),
            Ev::EndOfStream(peer.id),
        ]
    );
    peer.handle
        .send(Bytes::from_static(b"reply"))
        .expect("a reply to the last message is queued");
    // The application asks for the next event: it is done. The session
    // closes (RemoteClosed), still registered while the queue flushes.
    assert!(net.drain_events().is_empty());
    net.run();
    assert_eq!(peer.result(), None);
    assert!(net.hub.get(peer.id).is_some());
    assert_eq!(
        peer.handle.send(Bytes::from_static(b"late")),
        Err(proto_core::session::SendError::Closed)
    );

    peer.io.set_write_mode(WriteMode::Partial(3));
    net.run();
    assert_eq!(
        peer.io.sent(),
        vec![
            b"r1".to_vec(),
            b"r2".to_vec(),
            b"r3".to_vec(),
            b"reply".to_vec()
        ]
    );
    assert_eq!(peer.result(), Some(CloseReason::RemoteClosed));

    let ops = peer.io.ops();
    let last_write = ops
        .iter()
        .rposition(|op| matches!(op, Op::Write(n) if *n > 0))
        .expect("replies were written");
    let shutdown = ops.iter().position(|op| *op == Op::Shutdown);
    assert!(shutdown.is_some_and(|s| s > last_write), "ops: {ops:?}");
    assert_eq!(ops.iter().filter(|op| **op == Op::Shutdown).count(), 1);

    let events = evs(&net.drain_events());
    assert_eq!(events, vec![Ev::Closed(peer.id, CloseReason::RemoteClosed)]);
}

#[test]
fn graceful_close_writes_the_queue_then_closes() {
    let mut net = Net::new(HubConfig::default());
    let peer = net.connect(addr(4, 2));
    peer.io.set_write_mode(WriteMode::Refuse);
    peer.handle.send(Bytes::from_static(b"a")).expect("queued");
    peer.handle.send(Bytes::from_static(b"b")).expect("queued");
    peer.handle.close();
    net.run();
    assert_eq!(peer.result(), None, "waits for the queue");
    peer.io.set_write_mode(WriteMode::All);
    net.run();
    assert_eq!(peer.io.sent(), vec![b"a".to_vec(), b"b".to_vec()]);
    assert_eq!(peer.result(), Some(CloseReason::Local));
    assert!(peer.io.shutdown_called());
    let events = net.drain_events();
    let Some(Event::Closed { stats, .. }) = events.last() else {
        panic!("last event is Closed: {events:?}")
    };
    assert_eq!(stats.messages_out, 2);
    assert_eq!(stats.messages_dropped_at_close, 0);
}

#[test]
fn graceful_close_drops_the_queue_at_close_timeout() {
    let session = SessionConfig::default().close_timeout(Duration::from_secs(2));
    let mut net = Net::new(config(session));
    let peer = net.connect(addr(4, 3));
    peer.io.set_write_mode(WriteMode::Refuse);
    for _ in 0..3 {
        peer.handle.send(Bytes::from_static(b"x")).expect("queued");
    }
    peer.handle.close();
    net.run();
    net.advance(Duration::from_secs(2) - Duration::from_nanos(1));
    assert_eq!(peer.result(), None, "one nanosecond before close_timeout");
    net.advance(Duration::from_nanos(1));
    assert_eq!(peer.result(), Some(CloseReason::Local));
    let events = net.drain_events();
    let Some(Event::Closed { stats, .. }) = events.last() else {
        panic!("last event is Closed: {events:?}")
    };
    assert_eq!(stats.messages_dropped_at_close, 3);
    assert_eq!(net.hub.stats().messages_dropped_at_close, 3);
}

#[test]
fn abort_drops_the_queue_and_sends_no_fin() {
    let mut net = Net::new(HubConfig::default());
    let peer = net.connect(addr(4, 4));
    peer.io.set_write_mode(WriteMode::Refuse);
    peer.handle.send(Bytes::from_static(b"x")).expect("queued");
    peer.handle.send(Bytes::from_static(b"y")).expect("queued");
    net.run();
    peer.handle.abort(CloseReason::RateLimited);
    net.run();
    assert_eq!(peer.result(), Some(CloseReason::RateLimited));
    assert!(!peer.io.shutdown_called());
    assert_eq!(net.hub.stats().messages_dropped_at_close, 2);
}

#[test]
fn read_error_closes_with_its_kind() {
    let mut net = Net::new(HubConfig::default());
    let peer = net.connect(addr(5, 1));
    peer.io.fail_read(io::ErrorKind::ConnectionReset);
    net.run();
    let reason = CloseReason::Io(io::ErrorKind::ConnectionReset);
    assert_eq!(peer.result(), Some(reason.clone()));
    assert_eq!(closed_reason(&net.drain_events(), peer.id), Some(reason));
    assert!(
        !peer.io.shutdown_called(),
        "an I/O error is a fault: no FIN"
    );
    assert_eq!(net.hub.stats().closed.get("io"), Some(&1));
}

#[test]
fn write_error_closes_with_its_kind() {
    let mut net = Net::new(HubConfig::default());
    let peer = net.connect(addr(5, 2));
    peer.io
        .set_write_mode(WriteMode::Fail(io::ErrorKind::BrokenPipe));
    peer.handle.send(Bytes::from_static(b"x")).expect("queued");
    net.run();
    assert_eq!(
        peer.result(),
        Some(CloseReason::Io(io::ErrorKind::BrokenPipe))
    );
    assert!(!peer.io.shutdown_called());
}

#[test]
fn write_of_zero_bytes_closes_with_write_zero() {
    let mut net = Net::new(HubConfig::default());
    let peer = net.connect(addr(5, 3));
    peer.io.set_write_mode(WriteMode::Zero);
    peer.handle.send(Bytes::from_static(b"x")).expect("queued");
    net.run();
    assert_eq!(
        peer.result(),
        Some(CloseReason::Io(io::ErrorKind::WriteZero))
    );
}

#[test]
fn stops_reading_while_the_application_does_not_take_events() {
    let mut net = Net::new(HubConfig::default().event_capacity(1));
    let peer = net.connect(addr(6, 1));
    const N: usize = 8;
    for i in 0..N {
        peer.io.push_frame(format!("m{i}").as_bytes());
    }
    net.run();
    let stalled = peer.io.unread();
    assert!(
        stalled >= (N - 3) * frame(b"m0").len(),
        "the driver kept reading: {stalled} bytes left unread"
    );
    // Running more changes nothing while nobody reads events.
    net.run();
    let reads = peer.io.ops().len();
    net.run();
    assert_eq!(peer.io.unread(), stalled);
    assert_eq!(peer.io.ops().len(), reads);

    // The application catches up: the driver resumes, in order.
    let mut got = Vec::new();
    for _ in 0..4 * N {
        got.extend(net.drain_events());
        net.run();
    }
    got.extend(net.drain_events());
    assert_eq!(peer.io.unread(), 0);
    let messages: Vec<_> = evs(&got)
        .into_iter()
        .filter_map(|e| match e {
            Ev::Message(_, p) => Some(String::from_utf8(p).expect("ascii")),
            _ => None,
        })
        .collect();
    let want: Vec<_> = (0..N).map(|i| format!("m{i}")).collect();
    assert_eq!(messages, want);
}

/// The driver's probe buffer: what a session with no read buffer of its
/// own reads into.
const PROBE: usize = 16 * 1024;

#[test]
fn idle_connection_releases_its_buffer_and_reads_through_the_probe() {
    let mut net = Net::new(HubConfig::default());
    let peer = net.connect(addr(7, 1));
    // A burst larger than the probe: the probe takes the first part, the
    // session's buffer the rest.
    peer.io.push_frame(&[7u8; PROBE + 3000]);
    net.run();
    assert_eq!(
        peer.io.read_sizes()[0],
        PROBE,
        "first read after idling goes through the probe"
    );
    assert_eq!(peer.io.read_into_buffer(), vec![false, true]);

    // Idle again: the next burst starts at the probe again.
    peer.io.push_frame(b"again");
    net.run();
    assert_eq!(peer.io.read_sizes()[2], PROBE);
    assert_eq!(peer.io.read_into_buffer(), vec![false, true, false]);
    assert_eq!(net.drain_events().len(), 3);
}

#[test]
fn small_messages_stay_on_the_probe() {
    let mut net = Net::new(HubConfig::default());
    let peer = net.connect(addr(7, 4));
    for i in 0..5u8 {
        peer.io.push_frame(&[i; 100]);
        net.run();
    }
    assert_eq!(peer.io.read_sizes(), vec![PROBE; 5]);
    assert_eq!(peer.io.read_into_buffer(), vec![false; 5]);
}

/// Bulk traffic (a read that fills the probe) switches to the session's
/// buffer; a partial frame then keeps it.
fn bulk_then_more() -> Vec<bool> {
    let mut net = Net::new(HubConfig::default());
    let peer = net.connect(addr(7, 2));
    let wire = frame(&[9u8; 2 * PROBE]);
    peer.io.push(&wire[..PROBE + 3000]);
    net.run();
    peer.io.push(&wire[PROBE + 3000..]);
    net.run();
    peer.io.read_into_buffer()
}

#[test]
fn keeps_the_buffer_while_a_frame_is_partial() {
    let paths = bulk_then_more();
    assert!(
        paths.len() >= 3 && !paths[0] && paths[1..].iter().all(|&b| b),
        "the probe, then the session's buffer, with no release: {paths:?}"
    );
}

#[test]
fn keeps_the_buffer_while_writes_wait() {
    let mut net = Net::new(HubConfig::default());
    let peer = net.connect(addr(7, 3));
    peer.io.set_write_mode(WriteMode::Refuse);
    peer.handle
        .send(Bytes::from_static(b"stuck"))
        .expect("queued");
    peer.io.push_frame(&[1u8; PROBE + 2000]);
    net.run();
    peer.io.push_frame(b"two");
    net.run();
    assert_eq!(
        peer.io.read_into_buffer(),
        vec![false, true, true],
        "bulk, then a write is waiting: no release"
    );
    // Once the write goes out and the socket is quiet, the buffer goes.
    peer.io.set_write_mode(WriteMode::All);
    net.run();
    peer.io.push_frame(b"three");
    net.run();
    assert!(!peer.io.read_into_buffer()[3], "quiet again: the probe");
    assert_eq!(peer.io.read_sizes()[3], PROBE);
}

/// The switch from the probe to the session's buffer happens exactly when
/// a read fills the probe, not one byte before.
#[test]
fn a_read_that_fills_the_probe_switches_one_byte_short_does_not() {
    for (wire_len, switches) in [(PROBE - 1, false), (PROBE, true)] {
        let mut net = Net::new(HubConfig::default());
        let peer = net.connect(addr(7, 9));
        let first = frame(&vec![1u8; wire_len - 4]);
        assert_eq!(first.len(), wire_len);
        peer.io.push(&first);
        peer.io.push(&frame(b"next"));
        net.run();
        assert_eq!(
            peer.io.read_sizes()[0],
            PROBE,
            "the first read goes through the probe"
        );
        assert_eq!(
            peer.io.read_into_buffer(),
            vec![false, switches],
            "a {wire_len}-byte read, then the next"
        );
    }
}
