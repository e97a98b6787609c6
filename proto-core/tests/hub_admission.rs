//! Hub admission: limits, races, refusals, and session ids.

use std::collections::BTreeMap;
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::Instant;

use bytes::Bytes;
use proto_core::driver::AdmissionExt;
use proto_core::hub::{AdmissionConfig, Hub, HubConfig, Rejected};
use proto_core::session::{CloseReason, SendError};
use proto_testkit::mock::{Net, addr, codec};

fn limits(max_sessions: usize, max_sessions_per_ip: Option<usize>) -> HubConfig {
    HubConfig::default().admission(
        AdmissionConfig::default()
            .max_sessions(max_sessions)
            .max_sessions_per_ip(max_sessions_per_ip),
    )
}

#[test]
fn concurrent_admission_admits_exactly_max_sessions() {
    const K: usize = 7;
    const N: usize = 32;
    for round in 0..20 {
        let (hub, _events) = Hub::new(codec(), limits(K, None)).expect("valid hub config");
        let barrier = Arc::new(Barrier::new(N));
        let admitted = Arc::new(Mutex::new(Vec::new()));
        let threads: Vec<_> = (0..N)
            .map(|i| {
                let (hub, barrier, admitted) = (hub.clone(), barrier.clone(), admitted.clone());
                thread::spawn(move || {
                    barrier.wait();
                    let peer = addr(1 + (i % 200) as u8, 1000 + i as u16);
                    match hub.admit(peer, Instant::now()) {
                        Ok(admission) => {
                            // Half of them open at once: places held by open
                            // sessions and by pending admissions count alike.
                            if i % 2 == 0 {
                                let conn = admission.open(Instant::now());
                                admitted.lock().expect("not poisoned").push(Ok(conn));
                            } else {
                                admitted.lock().expect("not poisoned").push(Err(admission));
                            }
                            true
                        }
                        Err(Rejected::TooManySessions { max }) => {
                            assert_eq!(max, K);
                            false
                        }
                        Err(other) => panic!("unexpected refusal {other}"),
                    }
                })
            })
            .collect();
        let ok = threads
            .into_iter()
            .map(|t| t.join().expect("no panic"))
            .filter(|ok| *ok)
            .count();
        assert_eq!(ok, K, "round {round}");
        assert_eq!(hub.len(), K);
        let stats = hub.stats();
        assert_eq!(
            stats.rejected.get("too_many_sessions"),
            Some(&((N - K) as u64))
        );
        assert_eq!(stats.rejected.len(), 1);
    }
}

#[test]
fn rejects_session_over_max_sessions() {
    let (hub, _events) = Hub::new(codec(), limits(3, None)).expect("valid hub config");
    let held: Vec<_> = (0..3)
        .map(|i| {
            hub.admit(addr(i, 1), Instant::now())
                .expect("under the limit")
        })
        .collect();
    assert_eq!(hub.len(), 3, "exactly at max_sessions");
    assert_eq!(
        hub.admit(addr(9, 1), Instant::now()).map(|_| ()),
        Err(Rejected::TooManySessions { max: 3 })
    );
    drop(held);
    assert_eq!(hub.len(), 0);
}

#[test]
fn rejects_session_over_max_sessions_per_ip() {
    let (hub, _events) = Hub::new(codec(), limits(100, Some(2))).expect("valid hub config");
    let a1 = hub.admit(addr(1, 1), Instant::now()).expect("first from a");
    let a2 = hub
        .admit(addr(1, 2), Instant::now())
        .expect("second from a: at the limit");
    let over = hub.admit(addr(1, 3), Instant::now()).map(|_| ());
    assert_eq!(
        over,
        Err(Rejected::TooManyFromIp {
            ip: addr(1, 0).ip(),
            max: 2
        })
    );
    // Another address is not affected.
    let _b = hub.admit(addr(2, 1), Instant::now()).expect("other ip");
    // An opened session holds its place too.
    let _conn = a1.open(Instant::now());
    assert!(hub.admit(addr(1, 4), Instant::now()).is_err());
    drop(a2);
    let _a3 = hub
        .admit(addr(1, 5), Instant::now())
        .expect("a place was freed");
    assert!(hub.admit(addr(1, 6), Instant::now()).is_err());
}

#[test]
fn dropping_an_unopened_admission_frees_its_place() {
    let (hub, _events) = Hub::new(codec(), limits(1, Some(1))).expect("valid hub config");
    let admission = hub.admit(addr(1, 1), Instant::now()).expect("admitted");
    assert!(hub.admit(addr(2, 1), Instant::now()).is_err());
    drop(admission);
    assert_eq!(hub.len(), 0);
    let again = hub
        .admit(addr(1, 2), Instant::now())
        .expect("the place is free, per ip too");
    assert_eq!(again.peer(), addr(1, 2));
    assert_eq!(hub.stats().accepted, 0, "never opened: not accepted");
}

#[test]
fn a_closed_session_frees_its_place() {
    let mut net = Net::new(limits(1, Some(1)));
    let peer = net.connect(addr(1, 1));
    assert!(net.hub.admit(addr(1, 2), Instant::now()).is_err());
    peer.io.push_eof();
    net.run_events(); // the application takes its events: then it closes
    net.run();
    assert_eq!(peer.result(), Some(CloseReason::RemoteClosed));
    net.connect(addr(1, 3));
    assert_eq!(net.hub.len(), 1);
}

#[test]
fn counts_refusals_by_kind() {
    let (hub, _events) = Hub::new(codec(), limits(2, Some(1))).expect("valid hub config");
    let _a = hub.admit(addr(1, 1), Instant::now()).expect("a");
    assert!(hub.admit(addr(1, 2), Instant::now()).is_err()); // per ip
    assert!(hub.admit(addr(1, 3), Instant::now()).is_err()); // per ip
    let _b = hub.admit(addr(2, 1), Instant::now()).expect("b");
    assert!(hub.admit(addr(3, 1), Instant::now()).is_err()); // total
    hub.begin_shutdown();
    assert_eq!(
        hub.admit(addr(4, 1), Instant::now()).map(|_| ()),
        Err(Rejected::ShuttingDown)
    );
    let want: BTreeMap<&str, u64> = [
        ("shutting_down", 1),
        ("too_many_from_ip", 2),
        ("too_many_sessions", 1),
    ]
    .into();
    assert_eq!(hub.stats().rejected, want);
}

#[test]
fn refuses_admission_after_begin_shutdown() {
    let (hub, _events) = Hub::new(codec(), HubConfig::default()).expect("valid hub config");
    assert!(hub.admit(addr(1, 1), Instant::now()).is_ok());
    hub.begin_shutdown();
    assert!(hub.is_shutting_down());
    assert_eq!(
        hub.admit(addr(1, 1), Instant::now()).map(|_| ()),
        Err(Rejected::ShuttingDown)
    );
}

#[test]
fn admission_opened_after_shutdown_began_closes_with_shutdown() {
    let mut net = Net::new(HubConfig::default());
    let admission = net
        .hub
        .admit(addr(1, 1), Instant::now())
        .expect("before shutdown");
    net.hub.begin_shutdown();
    let peer = net.open(admission);
    assert_eq!(peer.result(), Some(CloseReason::Shutdown));
    assert_eq!(
        peer.handle.send(Bytes::from_static(b"x")),
        Err(SendError::Closed)
    );
    assert!(net.hub.is_empty());
}

#[test]
fn session_ids_are_unique_and_never_reused() {
    const THREADS: usize = 8;
    const EACH: usize = 50;
    let (hub, _events) = Hub::new(codec(), HubConfig::default()).expect("valid hub config");
    let (other, _other_events) = Hub::new(codec(), HubConfig::default()).expect("valid hub config");
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let hub = if t % 2 == 0 {
                hub.clone()
            } else {
                other.clone()
            };
            thread::spawn(move || {
                (0..EACH)
                    .map(|i| {
                        let conn = hub
                            .admit(addr(t as u8, i as u16), Instant::now())
                            .expect("admitted")
                            .open(Instant::now());
                        conn.id().get()
                    })
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    let per_thread: Vec<Vec<u64>> = threads
        .into_iter()
        .map(|t| t.join().expect("no panic"))
        .collect();
    // Per hub, opened from 4 threads at once: exactly 1..=200, each once.
    for parity in 0..2 {
        let mut ids: Vec<u64> = per_thread
            .iter()
            .skip(parity)
            .step_by(2)
            .flatten()
            .copied()
            .collect();
        ids.sort_unstable();
        let want: Vec<u64> = (1..=(THREADS / 2 * EACH) as u64).collect();
        assert_eq!(ids, want, "hub {parity}: ids are 1, 2, ... each once");
    }

    // Sessions that closed leave their ids behind: a stale id misses.
    let mut net = Net::new(HubConfig::default());
    let old = net.connect(addr(1, 1));
    old.handle.close();
    net.run();
    let new = net.connect(addr(1, 1));
    assert_ne!(new.id, old.id);
    assert!(new.id > old.id);
    assert!(net.hub.get(old.id).is_none());
    assert_eq!(
        net.hub.send(old.id, Bytes::from_static(b"stale")),
        Err(SendError::Closed)
    );
    assert!(!net.hub.join("room", old.id));
    assert_eq!(net.hub.sessions(), vec![new.id]);
}
