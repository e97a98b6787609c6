//! Graceful shutdown, draining, and the hub's counters.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::task::LocalSpawnExt;
use proto_core::driver::AdmissionExt;
use proto_core::hub::{Hub, HubConfig, ShutdownReport};
use proto_core::session::{CloseReason, SessionConfig};
use proto_testkit::mock::{Net, WriteMode, addr, codec, frame_len};

fn config(session: SessionConfig) -> HubConfig {
    HubConfig::default().session(session)
}

/// Spawns a task that records when `hub.drained()` resolves.
fn watch_drained(net: &mut Net) -> Rc<Cell<bool>> {
    let drained = Rc::new(Cell::new(false));
    let (hub, flag) = (net.hub.clone(), drained.clone());
    net.pool
        .spawner()
        .spawn_local(async move {
            hub.drained().await;
            flag.set(true);
        })
        .expect("the pool is alive");
    net.run();
    drained
}

#[test]
fn shutdown_flushes_every_queued_message() {
    let mut net = Net::new(HubConfig::default());
    let peers: Vec<_> = (0..3).map(|i| net.connect(addr(1, i))).collect();
    for p in &peers {
        p.io.set_write_mode(WriteMode::Refuse);
    }
    let mut queued = 0;
    for (i, p) in peers.iter().enumerate() {
        for _ in 0..=i {
            p.handle.send(Bytes::from_static(b"bye")).expect("queued");
            queued += 1;
        }
    }
    // The application has taken its events (a shutdown waits for that).
    net.run_events();
    let drained = watch_drained(&mut net);
    net.hub.begin_shutdown();
    net.hub.begin_shutdown(); // again: nothing changes
    net.run();
    assert!(!drained.get(), "writes are still blocked");
    assert_eq!(net.hub.shutdown_report().sessions, 3);
    for p in &peers {
        p.io.set_write_mode(WriteMode::Partial(2));
    }
    net.run();
    assert!(drained.get());
    assert_eq!(
        net.hub.shutdown_report(),
        ShutdownReport {
            sessions: 3,
            flushed: queued,
            dropped: 0,
            refused: 0,
            unread: 0,
        }
    );
    for (i, p) in peers.iter().enumerate() {
        assert_eq!(p.io.sent().len(), i + 1);
        assert_eq!(p.result(), Some(CloseReason::Shutdown));
        assert!(p.io.shutdown_called(), "a shutdown close sends FIN");
    }
    let stats = net.hub.stats();
    assert_eq!(stats.closed.get("shutdown"), Some(&3));
    assert_eq!(stats.live, 0);
}

#[test]
fn abort_all_drops_what_could_not_be_written() {
    let mut net = Net::new(HubConfig::default());
    let peers: Vec<_> = (0..2).map(|i| net.connect(addr(2, i))).collect();
    for p in &peers {
        p.io.set_write_mode(WriteMode::Refuse);
        for _ in 0..4 {
            p.handle.send(Bytes::from_static(b"stuck")).expect("queued");
        }
    }
    let drained = watch_drained(&mut net);
    net.hub.begin_shutdown();
    net.run();
    assert!(!drained.get());
    assert_eq!(net.hub.len(), 2);
    net.hub.abort_all(CloseReason::Shutdown);
    net.run();
    assert!(drained.get());
    assert_eq!(
        net.hub.shutdown_report(),
        ShutdownReport {
            sessions: 2,
            flushed: 0,
            dropped: 8,
            refused: 0,
            unread: 0,
        }
    );
    for p in &peers {
        assert_eq!(
            p.result(),
            Some(CloseReason::Shutdown),
            "the first reason stays"
        );
        assert!(p.io.output().is_empty());
    }
}

#[test]
fn shutdown_ignores_close_timeout_grace_is_the_one_deadline() {
    let session = SessionConfig::default()
        .close_timeout(Duration::from_secs(3))
        .write_timeout(None);
    let mut net = Net::new(config(session));
    let stuck = net.connect(addr(3, 1));
    let fine = net.connect(addr(3, 2));
    stuck.io.set_write_mode(WriteMode::Refuse);
    stuck.handle.send(Bytes::from_static(b"a")).expect("queued");
    stuck.handle.send(Bytes::from_static(b"b")).expect("queued");
    fine.handle.send(Bytes::from_static(b"c")).expect("queued");
    fine.io.set_write_mode(WriteMode::Refuse);
    net.run_events();
    let drained = watch_drained(&mut net);
    net.hub.begin_shutdown();
    fine.io.set_write_mode(WriteMode::All);
    net.run();
    assert_eq!(fine.result(), Some(CloseReason::Shutdown));
    // Long past the session's own close_timeout: still flushing, because
    // the shutdown's grace period (ended by abort_all) is the one deadline.
    net.advance(Duration::from_secs(60));
    assert!(!drained.get());
    net.hub.abort_all(CloseReason::Shutdown);
    net.run();
    assert!(drained.get());
    assert_eq!(
        net.hub.shutdown_report(),
        ShutdownReport {
            sessions: 2,
            flushed: 1,
            dropped: 2,
            refused: 0,
            unread: 0,
        }
    );
}

#[test]
fn drained_waits_for_every_session_and_admission() {
    let mut net = Net::new(HubConfig::default());
    let a = net.connect(addr(4, 1));
    let b = net.connect(addr(4, 2));
    let pending = net.hub.admit(addr(4, 3), Instant::now()).expect("admitted");
    let drained = watch_drained(&mut net);
    a.handle.close();
    net.run();
    assert!(!drained.get(), "b is live");
    b.io.push_eof();
    net.run_events(); // the application takes its events: then it closes
    net.run();
    assert!(!drained.get(), "an admission is being opened");
    drop(pending);
    net.run();
    assert!(drained.get());
}

#[test]
fn drained_is_ready_at_once_with_no_sessions() {
    let mut net = Net::new(HubConfig::default());
    assert!(watch_drained(&mut net).get());
}

#[test]
fn shutdown_begun_wakes_accept_loops() {
    let mut net = Net::new(HubConfig::default());
    let begun = Rc::new(Cell::new(false));
    let (hub, flag) = (net.hub.clone(), begun.clone());
    net.pool
        .spawner()
        .spawn_local(async move {
            std::future::poll_fn(|cx| hub.poll_shutdown_begun(cx)).await;
            flag.set(true);
        })
        .expect("the pool is alive");
    net.run();
    assert!(!begun.get());
    net.hub.begin_shutdown();
    net.run();
    assert!(begun.get());
}

#[test]
fn report_is_zero_before_shutdown() {
    let (hub, _events) = Hub::new(codec(), HubConfig::default()).expect("valid hub config");
    let conn = hub
        .admit(addr(5, 1), Instant::now())
        .expect("admitted")
        .open(Instant::now());
    hub.send(conn.id(), Bytes::from_static(b"x"))
        .expect("queued");
    assert_eq!(hub.shutdown_report(), ShutdownReport::default());
    assert!(!hub.is_shutting_down());
}

#[test]
fn stats_add_live_and_closed_sessions() {
    let mut net = Net::new(HubConfig::default());
    let a = net.connect(addr(6, 1));
    let b = net.connect(addr(6, 2));
    let c = net.connect(addr(6, 3));
    a.io.push_frame(b"12345");
    b.io.push_frame(b"1");
    b.handle.send(Bytes::from_static(b"xy")).expect("queued");
    c.handle.send(Bytes::from_static(b"abc")).expect("queued");
    net.run();
    a.io.push_eof(); // a closes: its counters move to the totals
    c.handle.abort(CloseReason::RateLimited);
    net.run_events(); // the application takes its events: then a closes
    net.run();
    assert_eq!(a.result(), Some(CloseReason::RemoteClosed));

    let stats = net.hub.stats();
    assert_eq!(stats.live, 2 - 1); // b only; c aborted
    assert_eq!(stats.accepted, 3);
    assert_eq!(stats.messages_in, 2);
    assert_eq!(stats.bytes_in, (frame_len(5) + frame_len(1)) as u64);
    assert_eq!(stats.messages_out, 2);
    assert_eq!(stats.bytes_out, (frame_len(2) + frame_len(3)) as u64);
    assert_eq!(stats.closed.get("remote_closed"), Some(&1));
    assert_eq!(stats.closed.get("rate_limited"), Some(&1));
    assert_eq!(stats.closed.values().sum::<u64>(), 2);
    assert!(stats.rejected.is_empty());
    assert_eq!(stats.queue_high_water_messages, 1);
}

#[test]
fn a_dropped_driver_frees_its_place_and_reports_closed() {
    let (hub, mut events) = Hub::new(codec(), HubConfig::default()).expect("valid hub config");
    let conn = hub
        .admit(addr(9, 1), Instant::now())
        .expect("admitted")
        .open(Instant::now());
    let id = conn.id();
    hub.join("room", id);
    assert_eq!(hub.len(), 1);
    drop(conn); // e.g. its task was cancelled before it finished
    assert_eq!(hub.len(), 0);
    assert!(hub.members("room").is_empty());
    assert!(hub.get(id).is_none());
    assert_eq!(hub.stats().closed.get("local"), Some(&1));
    // Opened is always a session's first event, even if it never ran.
    match events.try_recv() {
        Some(proto_core::hub::Event::Opened(handle)) => assert_eq!(handle.id(), id),
        other => panic!("expected Opened, got {other:?}"),
    }
    match events.try_recv() {
        Some(proto_core::hub::Event::Closed {
            id: closed, reason, ..
        }) => {
            assert_eq!(closed, id);
            assert_eq!(reason, CloseReason::Local);
        }
        other => panic!("expected Closed, got {other:?}"),
    }
    futures::executor::block_on(hub.drained());
}
