//! The hub-wide memory budget: bytes queued across all sessions are
//! bounded; past the budget, the sessions holding more than their fair
//! share pay (refused, or disconnected), and the others still get their
//! messages.

use bytes::Bytes;
use proto_core::hub::{BudgetPolicy, HubConfig};
use proto_core::session::{CloseReason, SendError, SessionConfig};
use proto_testkit::mock::{Net, WriteMode, addr};

/// Charges move in steps of this many bytes per session.
const QUANTUM: usize = 4096;

fn config(budget: usize, policy: BudgetPolicy) -> HubConfig {
    HubConfig::default()
        .session(SessionConfig::default().write_timeout(None))
        .memory_budget(budget)
        .budget_policy(policy)
}

/// A payload whose frame (4-byte header) is exactly `wire` bytes.
fn wire(wire: usize) -> Bytes {
    Bytes::from(vec![1u8; wire - 4])
}

#[test]
fn refuses_a_hog_one_byte_over_the_budget_and_not_at_it() {
    // Two sessions: the budget is 4 quanta, a fair share 2.
    let mut net = Net::new(config(4 * QUANTUM, BudgetPolicy::Refuse));
    let hog = net.connect(addr(1, 1));
    let small = net.connect(addr(1, 2));
    hog.io.set_write_mode(WriteMode::Refuse);
    small.io.set_write_mode(WriteMode::Refuse);
    // Exactly the budget: 4 quanta charged.
    hog.handle.send(wire(4 * QUANTUM)).expect("at the budget");
    assert_eq!(net.hub.stats().queued_bytes, 4 * QUANTUM);
    // Over the budget: the hog holds more than its share and is refused...
    let refused = hog.handle.send(wire(5));
    assert!(
        matches!(refused, Err(SendError::OverBudget { budget, .. }) if budget == 4 * QUANTUM),
        "{refused:?}"
    );
    // ...while a session within its share (2 quanta) is not: exactly its
    // share is accepted, one byte more refused.
    small
        .handle
        .send(Bytes::from(vec![0u8; 2 * QUANTUM]))
        .expect("within its share");
    assert!(matches!(
        small.handle.send(Bytes::from(vec![0u8; 1])),
        Err(SendError::OverBudget { .. })
    ));
    let stats = net.hub.stats();
    assert_eq!(stats.sends_over_budget, 2);
    // Writing frees the budget for everyone.
    hog.io.set_write_mode(WriteMode::All);
    net.run();
    assert_eq!(net.hub.stats().queued_bytes, 3 * QUANTUM);
    hog.handle.send(wire(5)).expect("room again");
}

#[test]
fn disconnect_policy_closes_the_hog_and_frees_its_share() {
    let mut net = Net::new(config(2 * QUANTUM, BudgetPolicy::Disconnect));
    let hog = net.connect(addr(2, 1));
    let other = net.connect(addr(2, 2));
    hog.io.set_write_mode(WriteMode::Refuse);
    hog.handle.send(wire(2 * QUANTUM)).expect("at the budget");
    assert_eq!(hog.handle.send(wire(5)), Err(SendError::Closed));
    net.run();
    assert_eq!(hog.result(), Some(CloseReason::SlowConsumer));
    let stats = net.hub.stats();
    assert_eq!(stats.sends_over_budget, 1);
    assert_eq!(stats.queued_bytes, 0, "the hog's queue was freed");
    assert_eq!(stats.messages_dropped_at_close, 1);
    other.handle.send(wire(64)).expect("the others go on");
}

#[test]
fn budget_charge_returns_to_zero_when_sessions_close() {
    let mut net = Net::new(config(1 << 20, BudgetPolicy::Refuse));
    let peers: Vec<_> = (0..3).map(|i| net.connect(addr(3, i))).collect();
    for p in &peers {
        p.io.set_write_mode(WriteMode::Refuse);
        p.handle.send(wire(100)).expect("queued");
    }
    assert_eq!(net.hub.stats().queued_bytes, 3 * QUANTUM);
    for p in &peers {
        p.handle.abort(CloseReason::Local);
    }
    net.run();
    assert_eq!(net.hub.stats().queued_bytes, 0);
}
