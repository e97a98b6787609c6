//! The driver retries a flush that returned `Pending`: over a buffered
//! transport (the mock in [`FlushMode::Buffered`], as a `BufWriter` would
//! behave), bytes written but not yet flushed reach the peer once the
//! flush can complete, without a further send to wake the driver.

use bytes::Bytes;
use proto_core::hub::HubConfig;
use proto_core::session::CloseReason;
use proto_testkit::mock::{FlushMode, Net, Op, addr, frame_len};

#[test]
fn pending_flush_is_retried_without_a_new_send() {
    let mut net = Net::new(HubConfig::default());
    let peer = net.connect(addr(1, 1));
    net.drain_events();
    peer.io.set_flush_mode(FlushMode::Buffered, true);

    peer.handle
        .send(Bytes::from_static(b"reply"))
        .expect("queue a reply");
    net.run();
    assert_eq!(peer.handle.queued(), (0, 0), "written to the transport");
    assert_eq!(peer.io.unflushed(), frame_len(5), "held by the transport");
    assert!(peer.io.sent().is_empty(), "nothing reached the peer yet");
    assert!(peer.io.ops().contains(&Op::FlushPending));

    // No send, no read: only the transport's wake-up.
    peer.io.release_flush();
    net.run();
    assert_eq!(peer.io.sent(), vec![b"reply".to_vec()]);
    assert_eq!(peer.io.unflushed(), 0);
    assert_eq!(peer.io.ops().last(), Some(&Op::Flush));
    assert_eq!(peer.result(), None, "still open");
}

#[test]
fn pending_flush_is_retried_after_a_burst() {
    let mut net = Net::new(HubConfig::default());
    let peer = net.connect(addr(1, 2));
    net.drain_events();
    peer.io.set_flush_mode(FlushMode::Buffered, true);
    // 1.6 MiB, more than one poll's write allowance (1 MiB): several write
    // phases, each ending with a flush that pends.
    let payloads: Vec<Bytes> = (0..200u32)
        .map(|n| Bytes::from(vec![(n % 251) as u8; 8 * 1024]))
        .collect();
    for payload in &payloads {
        peer.handle.send(payload.clone()).expect("queue");
    }
    net.run();
    assert_eq!(peer.handle.queued(), (0, 0));
    assert!(peer.io.sent().is_empty());
    peer.io.release_flush();
    net.run();
    let sent = peer.io.sent();
    assert_eq!(sent.len(), payloads.len());
    assert!(sent.iter().zip(&payloads).all(|(a, b)| a[..] == b[..]));
    assert_eq!(peer.io.unflushed(), 0);
}

#[test]
fn graceful_close_waits_for_a_pending_flush() {
    let mut net = Net::new(HubConfig::default());
    let peer = net.connect(addr(1, 3));
    net.drain_events();
    peer.io.set_flush_mode(FlushMode::Buffered, true);
    peer.handle
        .close_after(Bytes::from_static(b"bye"), CloseReason::Local)
        .expect("close_after");
    net.run();
    assert_eq!(peer.result(), None, "the close waits for the flush");
    assert!(peer.io.sent().is_empty());
    peer.io.release_flush();
    net.run();
    assert_eq!(peer.io.sent(), vec![b"bye".to_vec()]);
    assert_eq!(peer.io.ops().last(), Some(&Op::Shutdown));
    assert_eq!(peer.result(), Some(CloseReason::Local));
}
