//! Shutdown: its grace as the one deadline, its report, and the end of the event stream.

use std::time::{Duration, Instant};

use futures::channel::oneshot;
use proto_core::frame::LengthField;
use proto_core::hub::{Event, SessionHandle};
use proto_core::session::{CloseReason, SendError, SessionConfig};

use super::{hub_with, queue_stuck, raw, read_numbered, serve_default};
use crate::harness::{
    EchoServer, Runtime, Served, WAIT, blocking, eventually, expect_opened, local, next_event,
    numbered, within,
};
use crate::peers::{RawOptions, RawPeer};

/// Messages and their size queued for the shutdown behaviours: 4 MiB.
const PUSHES: u32 = 1024;
const PUSH_LEN: usize = 4096;

/// A server (no echo) with `close_timeout` 100 ms and room for 8 MiB per
/// queue, a raw peer with a small receive buffer that does not read yet,
/// and 4 MiB queued for it; returns them once the socket buffers are full,
/// with the messages still queued.
async fn pushed_to_a_stuck_peer<R: Runtime>() -> (EchoServer, SessionHandle, RawPeer, usize) {
    let config = hub_with(
        SessionConfig::default()
            .close_timeout(Duration::from_millis(100))
            .max_queue_bytes(8 << 20),
    );
    let mut server =
        EchoServer::start::<R>(local(), LengthField::laster40net(), config, false).await;
    let peer = raw::<R>(server.addr, Some(4096)).await;
    let handle = server.next_opened::<R>().await;
    for n in 0..PUSHES {
        handle.send(numbered(n, PUSH_LEN)).expect("queue a push");
    }
    let queued = queue_stuck::<R>(&handle).await;
    (server, handle, peer, queued)
}

/// `close_timeout` 100 ms does not cut a shutdown short: with a grace of
/// 10 s, a peer that reads 4 MiB of pushes slowly over about a second gets
/// every one (the report counts all that was queued as flushed, none
/// dropped); with a grace of 300 ms and a peer that never reads, the
/// shutdown returns after the grace, not at the close timeout, and
/// reports everything queued as dropped.
pub(crate) async fn shutdown_grace_is_the_one_deadline<R: Runtime>() {
    // A slow reader and a long grace: everything is delivered.
    let (server, handle, peer, _) = pushed_to_a_stuck_peer::<R>().await;
    let queued = handle.queued().0;
    let (report_tx, report_rx) = oneshot::channel();
    let hub = server.hub.clone();
    R::spawn(async move {
        let _ = report_tx.send(R::shutdown(hub, Duration::from_secs(10)).await);
    });
    eventually::<R>("shutdown to begin", || server.hub.is_shutting_down()).await;
    let read = read_numbered(peer, PUSH_LEN, 64, Duration::from_millis(60)).await;
    assert_eq!(read, PUSHES, "pushes read before end of stream");
    let report = within::<R, _>(WAIT, "the shutdown report", report_rx)
        .await
        .expect("shutdown task");
    assert_eq!(report.sessions, 1, "{report:?}");
    assert_eq!(report.flushed, queued as u64, "{report:?}");
    assert_eq!(report.dropped, 0, "{report:?}");
    // From the hub's counters, not the `Closed` event: the stream may end
    // before it (see `shutdown_stream_ends_after_every_closed`).
    let stats = server.hub.stats();
    assert_eq!(stats.closed.get("shutdown"), Some(&1), "{stats:?}");
    assert_eq!(stats.messages_dropped_at_close, 0, "{stats:?}");

    // A peer that never reads and a short grace: the grace ends it.
    let grace = Duration::from_millis(300);
    let (server, handle, peer, _) = pushed_to_a_stuck_peer::<R>().await;
    let queued = handle.queued().0;
    let began = Instant::now();
    let report = within::<R, _>(WAIT, "the shutdown", R::shutdown(server.hub.clone(), grace)).await;
    let took = began.elapsed();
    assert!(
        took >= grace,
        "shutdown returned after {took:?}, before its grace {grace:?}"
    );
    assert_eq!(report.sessions, 1, "{report:?}");
    // A peer whose window is closed still takes a trickle now and then
    // (seen: 45 of 340 messages within the grace, after 50 ms without
    // progress), so what was queued splits into the two, exactly; the
    // socket was full, so nearly all of it is dropped.
    assert_eq!(report.flushed + report.dropped, queued as u64, "{report:?}");
    assert!(report.dropped * 2 > queued as u64, "{report:?}");
    if report.flushed > 0 {
        eprintln!(
            "shutdown grace: the full socket took {} more",
            report.flushed
        );
    }
    let stats = server.hub.stats();
    assert_eq!(stats.closed.get("shutdown"), Some(&1), "{stats:?}");
    assert_eq!(stats.messages_dropped_at_close, report.dropped, "{stats:?}");
    drop(peer);
}

// ----- 6. shutdown report -----

/// The application takes `Opened` and then no more events; a client sends
/// exactly 25 messages; a shutdown with a 300 ms grace reports all 25 as
/// unread (they wait in the stream), and the stream then yields them, the
/// `Closed` and its end. Sends through the closed session's handle and the
/// hub are refused, each counted once in `sends_refused_closed`.
pub(crate) async fn shutdown_report_counts_exactly<R: Runtime>() {
    const N: u64 = 25;
    let Served {
        addr,
        hub,
        mut events,
    } = serve_default::<R>().await;
    let mut peer = raw::<R>(addr, None).await;
    // The application takes `Opened`, then no more events; only then does
    // the client send (so the messages wait in the stream, not in a batch
    // the receiver took with `Opened`).
    let handle = expect_opened::<R>(&mut events).await;
    let peer = blocking(move || {
        for n in 0..N as u32 {
            peer.send(&numbered(n, 100));
        }
        peer
    })
    .await;
    // Received, then (on the driver's next turn) put in the stream.
    eventually::<R>("every message to wait in the stream", || {
        hub.stats().messages_unread == N
    })
    .await;
    assert_eq!(hub.stats().messages_in, N);

    let report = within::<R, _>(
        WAIT,
        "the shutdown",
        R::shutdown(hub.clone(), Duration::from_millis(300)),
    )
    .await;
    assert_eq!(report.sessions, 1, "{report:?}");
    assert_eq!(
        (report.flushed, report.dropped, report.refused),
        (0, 0, 0),
        "{report:?}"
    );
    for n in 0..N as u32 {
        match next_event::<R>(&mut events, "a message left in the stream").await {
            Event::Message { payload, .. } => assert_eq!(payload, numbered(n, 100)),
            other => panic!("expected message {n}, got {other:?}"),
        }
    }
    // Then `Closed` and the end (the stream ends only once every driver
    // is gone, so the `Closed` is never cut off).
    match within::<R, _>(WAIT, "the Closed event", events.recv()).await {
        Some(Event::Closed { reason, .. }) => assert_eq!(reason, CloseReason::Shutdown),
        other => panic!("expected Closed, got {other:?}"),
    }
    let last = within::<R, _>(WAIT, "the end of the stream", events.recv()).await;
    assert!(last.is_none(), "after the shutdown's last event: {last:?}");

    let before = hub.stats().sends_refused_closed;
    for n in 0..7 {
        assert_eq!(handle.send(numbered(n, 8)), Err(SendError::Closed));
    }
    for n in 0..3 {
        assert_eq!(
            hub.send(handle.id(), numbered(n, 8)),
            Err(SendError::Closed)
        );
    }
    assert_eq!(hub.stats().sends_refused_closed, before + 10);
    assert_eq!(
        hub.shutdown_report().refused,
        10,
        "refused since shutdown began"
    );
    drop(peer);
    // Last, so that a failure here leaves the checks above run: the 25
    // messages waited in the stream when the shutdown began and when it
    // ended, and the application never took them before the report.
    assert_eq!(
        report.unread, N,
        "messages the application never took before the report: {report:?}"
    );
}

/// Sessions of the stream-end behaviour.
const DRAINED: usize = 50;

/// The documented pattern: run the shutdown on a task of its own and
/// handle events until the stream ends. With 50 sessions, each with 256
/// KiB queued for a peer that reads it to end of stream, the stream
/// yields every session's `Closed` (`Shutdown`) before it ends, not just
/// some.
pub(crate) async fn shutdown_stream_ends_after_every_closed<R: Runtime>() {
    let Served {
        addr,
        hub,
        mut events,
    } = serve_default::<R>().await;
    let peers = blocking(move || {
        (0..DRAINED)
            .map(|_| {
                RawPeer::connect(
                    addr,
                    RawOptions {
                        recv_buffer: Some(4096),
                        ..RawOptions::default()
                    },
                )
            })
            .collect::<Vec<_>>()
    })
    .await;
    for _ in 0..DRAINED {
        let handle = expect_opened::<R>(&mut events).await;
        for n in 0..64 {
            handle.send(numbered(n, 4096)).expect("queue");
        }
    }
    let (report_tx, report_rx) = oneshot::channel();
    let shut = hub.clone();
    R::spawn(async move {
        let _ = report_tx.send(R::shutdown(shut, Duration::from_secs(5)).await);
    });
    eventually::<R>("shutdown to begin", || hub.is_shutting_down()).await;
    // Threads started now, reading while the events are handled below.
    let readers: Vec<_> = peers
        .into_iter()
        .map(|mut peer| {
            std::thread::spawn(move || {
                let mut got = 0;
                while peer.recv().expect("read").is_some() {
                    got += 1;
                }
                got
            })
        })
        .collect();
    let mut closed = 0;
    while let Some(event) = within::<R, _>(WAIT, "the end of the stream", events.recv()).await {
        match event {
            Event::Closed { reason, .. } => {
                assert_eq!(reason, CloseReason::Shutdown);
                closed += 1;
            }
            other => panic!("during the shutdown: {other:?}"),
        }
    }
    let report = within::<R, _>(WAIT, "the shutdown report", report_rx)
        .await
        .expect("shutdown task");
    let read: Vec<i32> = blocking(move || {
        readers
            .into_iter()
            .map(|r| r.join().expect("reader"))
            .collect()
    })
    .await;
    assert!(read.iter().all(|&n| n == 64), "{read:?}");
    assert_eq!(report.sessions, DRAINED, "{report:?}");
    assert_eq!(report.dropped, 0, "{report:?}");
    assert_eq!(hub.stats().closed.get("shutdown"), Some(&(DRAINED as u64)));
    assert_eq!(
        closed, DRAINED,
        "Closed events before the stream ended (the hub closed all {DRAINED})"
    );
}
