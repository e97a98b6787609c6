//! Session ids: numbered per hub from 1, never reused within a hub.

use std::time::Instant;

use proto_core::driver::AdmissionExt;
use proto_core::hub::{Hub, HubConfig};
use proto_core::session::CloseReason;
use proto_testkit::mock::{self, Net, addr};

#[test]
fn each_hub_numbers_its_sessions_from_one() {
    let (a, _a_events) = Hub::new(mock::codec(), HubConfig::default()).expect("valid");
    let (b, _b_events) = Hub::new(mock::codec(), HubConfig::default()).expect("valid");
    let now = Instant::now();
    let open = |hub: &Hub<_>, port| {
        hub.admit(addr(1, port), Instant::now())
            .expect("admitted")
            .open(now)
            .id()
            .get()
    };
    assert_eq!(open(&a, 1), 1);
    assert_eq!(open(&a, 2), 2);
    // Another hub's sessions do not take numbers from this one.
    assert_eq!(open(&b, 1), 1);
    assert_eq!(open(&a, 3), 3);
    assert_eq!(open(&b, 2), 2);
}

#[test]
fn admission_dropped_unopened_takes_no_id() {
    let (hub, _events) = Hub::new(mock::codec(), HubConfig::default()).expect("valid");
    drop(hub.admit(addr(1, 1), Instant::now()).expect("admitted"));
    let conn = hub
        .admit(addr(1, 2), Instant::now())
        .expect("admitted")
        .open(Instant::now());
    assert_eq!(conn.id().get(), 1);
}

#[test]
fn closed_session_id_is_never_reused_within_a_hub() {
    let mut net = Net::new(HubConfig::default());
    let first = net.connect(addr(1, 1));
    assert_eq!(first.id.get(), 1);
    first.handle.close();
    net.run();
    assert_eq!(first.result(), Some(CloseReason::Local));
    assert!(
        net.hub.get(first.id).is_none(),
        "closed session still listed"
    );

    let second = net.connect(addr(1, 2));
    assert_eq!(second.id.get(), 2);
    // The stale id misses; it does not reach the newer session.
    assert!(net.hub.get(first.id).is_none());
    assert!(!net.hub.close(first.id, CloseReason::Local));
    assert!(net.hub.get(second.id).is_some());
}
