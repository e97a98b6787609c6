//! Session handles: sends from any thread, closes, queue limits.

use std::thread;

use bytes::Bytes;
use proto_core::hub::HubConfig;
use proto_core::session::{CloseReason, Overflow, SendError, SessionConfig};
use proto_testkit::mock::{Ev, Net, WriteMode, addr, codec, evs, frame_len};

fn config(session: SessionConfig) -> HubConfig {
    HubConfig::default().session(session)
}

#[test]
fn send_from_another_thread_reaches_the_wire() {
    let mut net = Net::new(HubConfig::default());
    let peer = net.connect(addr(1, 1));
    let handle = peer.handle.clone();
    let hub = net.hub.clone();
    let id = peer.id;
    thread::spawn(move || {
        handle
            .send(Bytes::from_static(b"from a thread"))
            .expect("queued");
        hub.send(id, Bytes::from_static(b"via the hub"))
            .expect("queued");
    })
    .join()
    .expect("no panic");
    // Only woken tasks run: the send must have woken the driver.
    net.run();
    assert_eq!(
        peer.io.sent(),
        vec![b"from a thread".to_vec(), b"via the hub".to_vec()]
    );
    let stats = peer.handle.stats();
    assert_eq!(stats.messages_out, 2);
    assert_eq!(stats.bytes_out, (frame_len(13) + frame_len(11)) as u64);
}

#[test]
fn send_after_close_is_refused() {
    let mut net = Net::new(HubConfig::default());
    let peer = net.connect(addr(1, 2));
    peer.handle.close();
    // Refused at once, before the driver has run.
    assert!(peer.handle.is_closing());
    assert_eq!(
        peer.handle.send(Bytes::from_static(b"x")),
        Err(SendError::Closed)
    );
    net.run();
    assert_eq!(peer.result(), Some(CloseReason::Local));
    // And after the session is gone, through the handle and the hub.
    assert_eq!(
        peer.handle.send(Bytes::from_static(b"x")),
        Err(SendError::Closed)
    );
    assert_eq!(
        net.hub.send(peer.id, Bytes::from_static(b"x")),
        Err(SendError::Closed)
    );
    assert!(!net.hub.close(peer.id, CloseReason::Local));
    assert!(peer.io.output().is_empty());
}

#[test]
fn rejects_send_over_max_queue_messages() {
    let session = SessionConfig::default().max_queue_messages(2);
    let mut net = Net::new(config(session));
    let peer = net.connect(addr(1, 3));
    peer.io.set_write_mode(WriteMode::Refuse);
    peer.handle.send(Bytes::from_static(b"1")).expect("first");
    peer.handle
        .send(Bytes::from_static(b"2"))
        .expect("second: at the limit");
    let over = peer.handle.send(Bytes::from_static(b"3"));
    assert!(
        matches!(
            over,
            Err(SendError::QueueFull {
                queued_messages: 2,
                max_messages: 2,
                ..
            })
        ),
        "{over:?}"
    );
    assert_eq!(peer.handle.queued(), (2, 2 * frame_len(1)));
    net.run();
    assert_eq!(peer.result(), None, "Reject keeps the session open");
    peer.io.set_write_mode(WriteMode::All);
    net.run();
    assert_eq!(peer.io.sent(), vec![b"1".to_vec(), b"2".to_vec()]);
    assert_eq!(net.hub.stats().sends_rejected, 1);
}

#[test]
fn rejects_send_over_max_queue_bytes() {
    let session = SessionConfig::default()
        .max_queue_bytes(2 * frame_len(10))
        .backpressure(None);
    let mut net = Net::with_codec(codec().max_frame_length(10), config(session));
    let peer = net.connect(addr(1, 4));
    peer.io.set_write_mode(WriteMode::Refuse);
    peer.handle.send(Bytes::from(vec![0; 10])).expect("first");
    peer.handle
        .send(Bytes::from(vec![0; 10]))
        .expect("second: exactly max_queue_bytes");
    let over = peer.handle.send(Bytes::from(vec![0; 1]));
    assert!(
        matches!(
            over,
            Err(SendError::QueueFull {
                message_bytes: 5,
                ..
            })
        ),
        "{over:?}"
    );
}

#[test]
fn closes_slow_consumer_over_max_queue_messages_under_disconnect() {
    let session = SessionConfig::default()
        .max_queue_messages(1)
        .overflow(Overflow::Disconnect);
    let mut net = Net::new(config(session));
    let peer = net.connect(addr(1, 5));
    peer.io.set_write_mode(WriteMode::Refuse);
    peer.handle
        .send(Bytes::from_static(b"1"))
        .expect("at the limit");
    net.run();
    assert_eq!(peer.result(), None);
    assert_eq!(
        peer.handle.send(Bytes::from_static(b"2")),
        Err(SendError::Closed)
    );
    assert!(peer.handle.is_closing());
    net.run();
    assert_eq!(peer.result(), Some(CloseReason::SlowConsumer));
    let events = evs(&net.drain_events());
    assert_eq!(
        events.last(),
        Some(&Ev::Closed(peer.id, CloseReason::SlowConsumer))
    );
    let stats = net.hub.stats();
    assert_eq!(stats.closed.get("slow_consumer"), Some(&1));
    assert_eq!(stats.messages_dropped_at_close, 1);
    assert!(!peer.io.shutdown_called());
}

#[test]
fn send_with_overrides_the_policy() {
    let session = SessionConfig::default().max_queue_messages(1);
    let mut net = Net::new(config(session));
    let peer = net.connect(addr(1, 6));
    peer.io.set_write_mode(WriteMode::Refuse);
    peer.handle
        .send(Bytes::from_static(b"1"))
        .expect("at the limit");
    assert_eq!(
        peer.handle
            .send_with(Bytes::from_static(b"2"), Overflow::Disconnect),
        Err(SendError::Closed)
    );
    net.run();
    assert_eq!(peer.result(), Some(CloseReason::SlowConsumer));
}
