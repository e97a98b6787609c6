//! Limits on a real socket: admission (max sessions, per IP), the idle
//! timeout, and the slow-consumer policy.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use proto_core::hub::{AdmissionConfig, HubConfig, HubStats};
use proto_core::session::{CloseReason, Overflow, SendError, SessionConfig};

use crate::harness::{EchoServer, Runtime, blocking, expect_closed, expect_opened, local};
use crate::peers::{RawOptions, RawPeer, raw};

use crate::behaviours::{codec, connect, dropped_by_server, round_trip};

// ----- admission -----

/// A connection to `server` that it drops without a session, counted once
/// under `counter`; returns the stats after it.
async fn expect_refused<R: Runtime>(server: &EchoServer, counter: &str) -> HubStats {
    let mut over = connect::<R>(server.addr).await;
    let handle = expect_opened::<R>(&mut over.events).await;
    let reason = expect_closed::<R>(&mut over.events, handle.id()).await;
    assert!(
        dropped_by_server(&reason),
        "refused connection closed with {reason}"
    );
    let stats = server.hub.stats();
    assert_eq!(stats.rejected.get(counter), Some(&1), "{stats:?}");
    stats
}

/// `max_sessions` 3: three connections are admitted and work; the fourth
/// is refused (counted as `too_many_sessions`, never opened); once one
/// closes, a new one is admitted.
pub(crate) async fn admission_max_sessions<R: Runtime>() {
    let config = HubConfig::default().admission(
        AdmissionConfig::default()
            .max_sessions(3)
            .max_sessions_per_ip(None),
    );
    let mut server = EchoServer::start::<R>(local(), codec(), config, true).await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        let mut client = connect::<R>(server.addr).await;
        let handle = expect_opened::<R>(&mut client.events).await;
        server.next_opened::<R>().await;
        clients.push((client, handle));
    }
    // Exactly at the limit: all three are live and echo.
    assert_eq!(server.hub.len(), 3);
    for (client, handle) in &mut clients {
        round_trip::<R>(client, handle, "at the limit").await;
    }

    // One over: the server drops the connection without a session.
    let stats = expect_refused::<R>(&server, "too_many_sessions").await;
    assert_eq!(stats.accepted, 3, "{stats:?}");
    assert_eq!(server.hub.len(), 3);
    assert!(
        server.opened.try_recv().is_err(),
        "the refused connection opened a session"
    );

    // A place frees up: the next connection is admitted.
    let (_, first) = &clients[0];
    first.close();
    let closed = server.next_closed::<R>().await;
    assert_eq!(closed.reason, CloseReason::RemoteClosed);
    let mut again = connect::<R>(server.addr).await;
    let handle = expect_opened::<R>(&mut again.events).await;
    server.next_opened::<R>().await;
    round_trip::<R>(&mut again, &handle, "after a place freed").await;
    assert_eq!(
        server.hub.stats().rejected.get("too_many_sessions"),
        Some(&1)
    );
    server.assert_no_failures();
}

/// `max_sessions_per_ip` 2: two connections from 127.0.0.1 are admitted,
/// the third is refused (`too_many_from_ip`), and one from 127.0.0.2 is
/// still admitted.
pub(crate) async fn admission_per_ip<R: Runtime>() {
    let config = HubConfig::default().admission(
        AdmissionConfig::default()
            .max_sessions(100)
            .max_sessions_per_ip(Some(2)),
    );
    let mut server = EchoServer::start::<R>(local(), codec(), config, true).await;
    let mut clients = Vec::new();
    for _ in 0..2 {
        let mut client = connect::<R>(server.addr).await;
        let handle = expect_opened::<R>(&mut client.events).await;
        let opened = server.next_opened::<R>().await;
        assert_eq!(opened.peer().ip(), IpAddr::from([127, 0, 0, 1]));
        round_trip::<R>(&mut client, &handle, "at the per-IP limit").await;
        clients.push((client, handle));
    }

    let stats = expect_refused::<R>(&server, "too_many_from_ip").await;
    assert_eq!(stats.rejected.get("too_many_sessions"), None, "{stats:?}");
    assert_eq!(server.hub.len(), 2);

    // Another address is not affected by 127.0.0.1's count.
    let addr = server.addr;
    let mut peer = blocking(move || {
        RawPeer::connect(
            addr,
            RawOptions {
                local_ip: Some([127, 0, 0, 2]),
                ..RawOptions::default()
            },
        )
    })
    .await;
    let opened = server.next_opened::<R>().await;
    assert_eq!(opened.peer().ip(), IpAddr::from([127, 0, 0, 2]));
    let (peer, echo) = blocking(move || {
        peer.send(b"from another address");
        let echo = peer.recv();
        (peer, echo)
    })
    .await;
    assert_eq!(
        echo.expect("read").as_deref(),
        Some(&b"from another address"[..])
    );
    assert_eq!(server.hub.len(), 3);
    drop(peer);
    assert_eq!(
        server.hub.stats().rejected.get("too_many_from_ip"),
        Some(&1)
    );
    server.assert_no_failures();
}

// ----- idle timeout -----

/// `idle_timeout` 300 ms on a real socket: a silent connection is closed
/// with `IdleTimeout` (not before 300 ms), while one that keeps sending
/// stays open.
pub(crate) async fn idle_timeout<R: Runtime>() {
    let idle = Duration::from_millis(300);
    let config = HubConfig::default().session(SessionConfig::default().idle_timeout(Some(idle)));
    let mut server = EchoServer::start::<R>(local(), codec(), config, false).await;
    // The session opens after this instant, so it may not close before
    // `idle` has passed since.
    let connecting_at = Instant::now();
    let mut silent = connect::<R>(server.addr).await;
    let silent_handle = expect_opened::<R>(&mut silent.events).await;
    let silent_id = server.next_opened::<R>().await.id();

    let mut busy = connect::<R>(server.addr).await;
    let busy_handle = expect_opened::<R>(&mut busy.events).await;
    let busy_id = server.next_opened::<R>().await.id();
    let stop = Arc::new(AtomicBool::new(false));
    let keep_sending = stop.clone();
    R::spawn(async move {
        while !keep_sending.load(Ordering::Relaxed) {
            let _ = busy_handle.send(Bytes::from_static(b"still here"));
            R::sleep(Duration::from_millis(50)).await;
        }
    });

    let closed = server.next_closed::<R>().await;
    let lived = connecting_at.elapsed();
    assert_eq!(closed.id, silent_id, "the first session to close");
    assert_eq!(closed.reason, CloseReason::IdleTimeout);
    assert!(
        lived >= idle,
        "closed after {lived:?}, before the idle timeout {idle:?}"
    );
    assert!(
        server.hub.get(busy_id).is_some(),
        "the busy session was closed too"
    );
    assert!(server.received(busy_id) > 0);
    let reason = expect_closed::<R>(&mut silent.events, silent_handle.id()).await;
    assert!(dropped_by_server(&reason), "client saw {reason}");

    // The busy one outlives several idle periods.
    R::sleep(idle * 2).await;
    assert!(
        server.hub.get(busy_id).is_some(),
        "the busy session went idle"
    );
    stop.store(true, Ordering::Relaxed);
    let closed = server.next_closed::<R>().await;
    assert_eq!(
        (closed.id, closed.reason),
        (busy_id, CloseReason::IdleTimeout)
    );
    assert_eq!(server.hub.stats().closed.get("idle_timeout"), Some(&2));
}

// ----- slow consumer -----

/// A peer that never reads, with `Overflow::Disconnect`, a 64 KiB queue
/// and back-pressure off (so that the server keeps reading and the echoes
/// overflow the queue): flooding it closes it with `SlowConsumer`, while
/// two other sessions keep echoing throughout (a round trip every 64
/// sends of the flood, and after it).
pub(crate) async fn slow_consumer_disconnected<R: Runtime>() {
    let config = HubConfig::default().session(
        SessionConfig::default()
            .max_queue_bytes(64 * 1024)
            .max_queue_messages(100_000)
            .backpressure(None)
            .overflow(Overflow::Disconnect),
    );
    let codec = codec().max_frame_length(16 * 1024);
    let mut server = EchoServer::start::<R>(local(), codec, config, true).await;
    let mut others = Vec::new();
    for _ in 0..2 {
        let mut client = connect::<R>(server.addr).await;
        let handle = expect_opened::<R>(&mut client.events).await;
        server.next_opened::<R>().await;
        others.push((client, handle));
    }

    let addr = server.addr;
    let peer = raw::<R>(addr, Some(4096)).await;
    let slow = server.next_opened::<R>().await;
    let chunk = Bytes::from(vec![7u8; 1024]);
    let mut sent = 0u64;
    let mut round_trips = 0;
    let outcome = loop {
        match slow.send(chunk.clone()) {
            Ok(()) => sent += 1,
            Err(err) => break err,
        }
        assert!(sent < 1_000_000, "1 GB queued for a peer that never reads");
        // Paced well below what loopback carries, so that the queue fills
        // only once the socket buffers are full.
        if sent % 16 == 0 {
            R::sleep(Duration::from_millis(1)).await;
        }
        if sent % 64 == 0 {
            let (client, handle) = &mut others[round_trips % 2];
            round_trip::<R>(client, handle, "during the flood").await;
            round_trips += 1;
        }
    };
    assert_eq!(outcome, SendError::Closed, "after {sent} sends");
    assert!(round_trips > 0, "the flood ended before any round trip");
    let closed = server.next_closed::<R>().await;
    assert_eq!(closed.id, slow.id());
    assert_eq!(closed.reason, CloseReason::SlowConsumer);
    // The socket took bytes until its buffers filled: more than the queue
    // holds went out before the queue overflowed.
    assert!(
        closed.stats.bytes_out > 64 * 1024,
        "only {} bytes written before the overflow",
        closed.stats.bytes_out
    );
    drop(peer);

    for (client, handle) in &mut others {
        round_trip::<R>(client, handle, "after the flood").await;
        assert!(!handle.is_closing());
    }
    server.assert_no_failures();
    let stats = server.hub.stats();
    assert_eq!(stats.closed.get("slow_consumer"), Some(&1), "{stats:?}");
    assert_eq!(stats.live, 2, "{stats:?}");
}
