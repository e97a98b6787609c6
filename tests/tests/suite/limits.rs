//! Limits on a real socket: admission (max sessions, per IP), the idle
//! timeout, the slow-consumer policy and the rate limit.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use proto_core::hub::{AdmissionConfig, Event, HubConfig, HubStats};
use proto_core::policy::Rate;
use proto_core::session::{CloseReason, Overflow, RateLimit, RatePolicy, SendError, SessionConfig};

use crate::harness::{
    EchoServer, Runtime, blocking, expect_closed, expect_message, expect_opened, local, next_event,
    numbered,
};
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

/// `connection_rate_per_ip` 1 a second with a burst of 3: three
/// connections in a row are admitted (one of them closed again at once:
/// it still counts); the fourth is refused, counted as
/// `connecting_too_fast`, while the admitted ones keep working.
pub(crate) async fn admission_connection_rate<R: Runtime>() {
    let config = HubConfig::default().admission(
        AdmissionConfig::default().connection_rate_per_ip(Some(Rate::per_second(1).burst(3))),
    );
    let mut server = EchoServer::start::<R>(local(), codec(), config, true).await;
    let mut clients = Vec::new();
    for i in 0..3 {
        let mut client = connect::<R>(server.addr).await;
        let handle = expect_opened::<R>(&mut client.events).await;
        server.next_opened::<R>().await;
        if i == 0 {
            handle.close();
            let _ = expect_closed::<R>(&mut client.events, handle.id()).await;
            server.next_closed::<R>().await;
        } else {
            clients.push((client, handle));
        }
    }
    let stats = expect_refused::<R>(&server, "connecting_too_fast").await;
    assert_eq!(stats.rejected.len(), 1, "{stats:?}");
    for (client, handle) in &mut clients {
        round_trip::<R>(client, handle, "admitted before the limit").await;
    }
    assert_eq!(server.hub.len(), 2);
}

/// `frame_timeout` 400 ms on a real socket: a peer that announces a
/// 10-byte frame and trickles it a byte every 100 ms (slowloris) is closed
/// with `FrameTimeout`, not before 400 ms, while another client's round
/// trips go on.
pub(crate) async fn slowloris_frame_timeout<R: Runtime>() {
    let deadline = Duration::from_millis(400);
    let config = HubConfig::default().session(
        SessionConfig::default()
            .frame_timeout(Some(deadline))
            .idle_timeout(None),
    );
    let mut server = EchoServer::start::<R>(local(), codec(), config, true).await;
    let mut fine = connect::<R>(server.addr).await;
    let fine_handle = expect_opened::<R>(&mut fine.events).await;
    server.next_opened::<R>().await;

    let addr = server.addr;
    let trickler = std::thread::spawn(move || {
        use std::io::Write;
        let mut peer = RawPeer::connect(addr, RawOptions::default());
        let started = Instant::now();
        peer.stream.write_all(&10u32.to_le_bytes()).expect("header");
        // A byte every 100 ms until the server closes (a write fails or
        // the read sees the end), for at most 5 s.
        for _ in 0..50 {
            std::thread::sleep(Duration::from_millis(100));
            if peer.stream.write_all(b"x").is_err() {
                break;
            }
        }
        started
    });
    let slow_id = server.next_opened::<R>().await.id();
    round_trip::<R>(&mut fine, &fine_handle, "while a peer trickles").await;
    let closed = server.next_closed::<R>().await;
    assert_eq!(closed.id, slow_id);
    assert_eq!(closed.reason, CloseReason::FrameTimeout);
    let started = blocking(move || trickler.join().expect("the trickler")).await;
    assert!(
        started.elapsed() >= deadline,
        "closed before the frame deadline"
    );
    round_trip::<R>(&mut fine, &fine_handle, "after the trickler is gone").await;
}

// ----- rate limit -----

/// A server limiting each session to 1 message a second with a burst of
/// 10, under `policy`, echoing.
async fn rate_limited_server<R: Runtime>(policy: RatePolicy, per_second: u64) -> EchoServer {
    let limit = RateLimit::messages(Rate::per_second(per_second).burst(10)).policy(policy);
    let config = HubConfig::default().session(SessionConfig::default().rate_limit(limit));
    EchoServer::start::<R>(local(), codec(), config, true).await
}

/// `Disconnect` at 1 message/s, burst 10: ten sent at once are all echoed
/// and the session stays open; eleven sent at once close the session
/// with `RateLimited` after the first ten; the other session does not
/// notice.
pub(crate) async fn rate_limit_disconnect<R: Runtime>() {
    let mut server = rate_limited_server::<R>(RatePolicy::Disconnect, 1).await;
    let mut at = connect::<R>(server.addr).await;
    let at_handle = expect_opened::<R>(&mut at.events).await;
    let at_id = server.next_opened::<R>().await.id();
    for i in 0..10 {
        at_handle.send(numbered(i, 8)).unwrap();
    }
    for i in 0..10 {
        let echo = expect_message::<R>(&mut at.events, at_handle.id()).await;
        assert_eq!(echo, numbered(i, 8));
    }

    let mut over = connect::<R>(server.addr).await;
    let over_handle = expect_opened::<R>(&mut over.events).await;
    let over_id = server.next_opened::<R>().await.id();
    for i in 0..11 {
        over_handle.send(numbered(i, 8)).unwrap();
    }
    let closed = server.next_closed::<R>().await;
    assert_eq!(closed.id, over_id);
    assert_eq!(closed.reason, CloseReason::RateLimited);
    assert_eq!(closed.stats.messages_in, 10);
    // The client sees the close, after whatever echoes the server wrote
    // before it closed at once (echoes sent later are refused: closed).
    let reason = loop {
        match next_event::<R>(&mut over.events, "the close").await {
            Event::Message { .. } | Event::EndOfStream { .. } => {}
            Event::Closed { reason, .. } => break reason,
            other => panic!("unexpected {other:?}"),
        }
    };
    assert!(dropped_by_server(&reason), "client saw {reason}");
    assert!(
        server.hub.get(at_id).is_some(),
        "the session within its rate closed"
    );
    assert_eq!(server.hub.stats().closed.get("rate_limited"), Some(&1));
    // (The first session has spent its burst: its next message would be
    // over the rate too.)
    assert!(!server.hub.get(at_id).unwrap().is_closing());
}

/// `Pause` at 50 messages/s, burst 10: a batch of 30 is echoed whole, and
/// then reading is held until the 20 past the burst are paid for
/// (400 ms), so a message sent after the batch comes back no sooner than
/// that; nothing is lost and the pause is counted.
pub(crate) async fn rate_limit_pause<R: Runtime>() {
    let mut server = rate_limited_server::<R>(RatePolicy::Pause, 50).await;
    let mut client = connect::<R>(server.addr).await;
    let handle = expect_opened::<R>(&mut client.events).await;
    let on_server = server.next_opened::<R>().await;
    let sent_at = Instant::now();
    for i in 0..30 {
        handle.send(numbered(i, 8)).unwrap();
    }
    for i in 0..30 {
        let echo = expect_message::<R>(&mut client.events, handle.id()).await;
        assert_eq!(echo, numbered(i, 8));
    }
    handle.send(numbered(30, 8)).unwrap();
    let echo = expect_message::<R>(&mut client.events, handle.id()).await;
    let took = sent_at.elapsed();
    assert_eq!(echo, numbered(30, 8));
    assert!(
        took >= Duration::from_millis(400),
        "the 31st message was echoed {took:?} after the batch was sent"
    );
    assert!(on_server.stats().rate_pauses >= 1);
    assert_eq!(on_server.stats().messages_rate_dropped, 0);
    assert!(!on_server.is_closing());
    server.assert_no_failures();
}
