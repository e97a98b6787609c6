//! The driver writes to the socket with the session's lock released: a
//! hub-wide operation made while a write is under way completes without
//! waiting for it, and whatever it does to the session (a send, a keyed
//! send, a send that closes the session) leaves the bytes on the wire
//! well framed and in order.
//!
//! Each test runs the real driver over a mock transport whose first write
//! runs a hook ([`proto_testkit::mock::MockIo::on_first_write`]): hub operations on another thread, which must finish
//! within a few seconds (with the lock held across the write they would
//! wait forever, as the write waits for them).

use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::executor::LocalPool;
use proto_core::driver::AdmissionExt;
use proto_core::hub::{Hub, HubConfig, SessionHandle};
use proto_core::session::{CloseReason, Overflow, SessionConfig};
use proto_testkit::mock::{
    Clock, Done, IoCtl, MockTimer, WriteHook, addr, codec, decode_all, mock_io, spawn_drive,
};

/// Runs `op` on another thread and waits for it: it must not wait on the
/// write that is under way on this one.
fn on_another_thread<R: Send + 'static>(op: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(op());
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("a hub operation waited on a socket write (the session's lock is held across it)")
}

/// One session of a fresh hub; `before` queues what it likes before the
/// driver starts, and `during` builds the hook run at the first write.
fn drive_one(
    session: SessionConfig,
    before: impl FnOnce(&SessionHandle),
    during: impl FnOnce(Hub<proto_core::frame::LengthField>, SessionHandle) -> WriteHook,
) -> (LocalPool, IoCtl, Done, SessionHandle) {
    let (hub, _events) =
        Hub::new(codec(), HubConfig::default().session(session)).expect("valid config");
    let clock = Clock::new(Instant::now());
    let conn = hub
        .admit(addr(1, 1), clock.now())
        .expect("admitted")
        .open(clock.now());
    let handle = conn.handle();
    before(&handle);
    let (io, ctl) = mock_io();
    let io = io.on_first_write(during(hub.clone(), handle.clone()));
    let mut pool = LocalPool::new();
    let done = spawn_drive(&pool, conn.drive(io, MockTimer::new(clock)));
    pool.run_until_stalled();
    // `_events` may go: the session is already open, and later events
    // only go to an ended stream.
    (pool, ctl, done, handle)
}

fn payloads(ctl: &IoCtl) -> Vec<Vec<u8>> {
    decode_all(&ctl.output())
}

#[test]
fn hub_operations_do_not_wait_on_a_socket_write() {
    let (_pool, ctl, done, _) = drive_one(
        SessionConfig::default(),
        |handle| handle.send(Bytes::from_static(b"first")).expect("queued"),
        |hub, handle| {
            Box::new(move || {
                let id = handle.id();
                let stats = on_another_thread(move || {
                    let stats = hub.stats();
                    hub.send(id, Bytes::from_static(b"during")).expect("queued");
                    let report = hub
                        .broadcast(Bytes::from_static(b"to all"))
                        .expect("framed");
                    assert_eq!(report.delivered, 1);
                    stats
                });
                assert_eq!(stats.live, 1);
            })
        },
    );
    assert_eq!(done.borrow().clone(), None, "still open");
    assert_eq!(
        payloads(&ctl),
        [&b"first"[..], b"during", b"to all"].map(<[u8]>::to_vec)
    );
}

#[test]
fn a_keyed_send_during_a_write_never_replaces_the_message_being_written() {
    let keep = Overflow::KeepLatest(7);
    let (_pool, ctl, _done, handle) = drive_one(
        SessionConfig::default(),
        |handle| {
            handle
                .send_with(Bytes::from_static(b"old position"), keep)
                .expect("queued");
        },
        |_, handle| {
            Box::new(move || {
                on_another_thread(move || {
                    handle
                        .send_with(Bytes::from_static(b"new position"), keep)
                        .expect("queued");
                });
            })
        },
    );
    // The message in flight went out whole; the newer one, queued behind
    // it rather than in its place, went out after it.
    assert_eq!(
        payloads(&ctl),
        [&b"old position"[..], b"new position"].map(<[u8]>::to_vec)
    );
    let stats = handle.stats();
    assert_eq!((stats.messages_replaced, stats.messages_out), (0, 2));
}

#[test]
fn a_send_that_closes_the_session_during_a_write_is_harmless() {
    let session = SessionConfig::default()
        .max_queue_messages(1)
        .overflow(Overflow::Disconnect);
    let (_pool, ctl, done, _) = drive_one(
        session,
        |handle| handle.send(Bytes::from_static(b"one")).expect("queued"),
        |_, handle| {
            Box::new(move || {
                // The message being written still counts: the queue is
                // full, and `Disconnect` closes the session (dropping the
                // queue) while the write is under way.
                let refused = on_another_thread(move || handle.send(Bytes::from_static(b"two")));
                assert!(refused.is_err());
            })
        },
    );
    assert_eq!(done.borrow().clone(), Some(CloseReason::SlowConsumer));
    // What the write took is on the wire, well framed; nothing after it.
    assert_eq!(payloads(&ctl), [b"one".to_vec()]);
}
