//! Groups (rooms) and broadcast: framed once, shared by every queue.

use std::time::Instant;

use bytes::Bytes;
use proto_core::driver::AdmissionExt;
use proto_core::hub::{BroadcastReport, HubConfig};
use proto_core::message::MessageFactory;
use proto_core::session::{
    CloseReason, Heartbeat, Overflow, SendError, Session, SessionConfig, SharedFrame,
};
use proto_testkit::mock::{Net, WriteMode, addr, codec, frame_len};

fn config(session: SessionConfig) -> HubConfig {
    HubConfig::default().session(session)
}

/// A payload well over the copy limit, so that it travels as its own chunk.
fn big_payload() -> Bytes {
    Bytes::from((0..4096u32).map(|i| i as u8).collect::<Vec<u8>>())
}

#[test]
fn join_leave_members() {
    let mut net = Net::new(HubConfig::default());
    let a = net.connect(addr(1, 1));
    let b = net.connect(addr(1, 2));
    assert!(net.hub.join("lobby", b.id));
    assert!(net.hub.join("lobby", a.id));
    assert!(!net.hub.join("lobby", a.id), "already a member");
    assert!(net.hub.join("table-1", a.id));
    let mut both = vec![a.id, b.id];
    both.sort();
    assert_eq!(net.hub.members("lobby"), both);
    assert_eq!(net.hub.members("table-1"), vec![a.id]);
    assert_eq!(net.hub.members("nowhere"), vec![]);
    assert_eq!(net.hub.groups(), vec!["lobby", "table-1"]);

    assert!(net.hub.leave("lobby", a.id));
    assert!(!net.hub.leave("lobby", a.id), "not a member any more");
    assert!(!net.hub.leave("nowhere", a.id));
    assert_eq!(net.hub.members("lobby"), vec![b.id]);
    assert!(net.hub.leave("table-1", a.id));
    assert_eq!(net.hub.groups(), vec!["lobby"], "an empty group disappears");
    // Rejoining after leaving works.
    assert!(net.hub.join("table-1", a.id));
}

#[test]
fn a_closed_session_leaves_all_its_groups() {
    let mut net = Net::new(HubConfig::default());
    let a = net.connect(addr(2, 1));
    let b = net.connect(addr(2, 2));
    for group in ["g1", "g2", "g3"] {
        assert!(net.hub.join(group, a.id));
    }
    assert!(net.hub.join("g1", b.id));
    a.io.push_eof();
    net.run_events(); // the application takes its events: then it closes
    net.run();
    assert_eq!(a.result(), Some(CloseReason::RemoteClosed));
    assert_eq!(net.hub.members("g1"), vec![b.id]);
    assert_eq!(net.hub.groups(), vec!["g1"], "g2 and g3 were emptied");
    assert!(!net.hub.join("g2", a.id), "a dead id cannot join");
    assert!(net.hub.groups().len() == 1);
}

#[test]
fn a_closing_session_cannot_join() {
    let mut net = Net::new(HubConfig::default());
    let a = net.connect(addr(2, 3));
    a.handle.close();
    // Not yet applied by the driver, but the session takes no new work.
    assert!(!net.hub.join("g", a.id));
    net.run();
    assert!(net.hub.groups().is_empty());
}

#[test]
fn shared_frame_is_framed_once_and_not_copied_per_session() {
    let cfg = SessionConfig::default();
    let now = Instant::now();
    let payload = big_payload();
    let frame =
        SharedFrame::encode(&mut codec().new_builder(), payload.clone(), &cfg).expect("frames");
    assert_eq!(frame.len(), frame_len(payload.len()));
    let shared = frame
        .chunks()
        .iter()
        .find(|c| c.len() == payload.len())
        .expect("the payload is a chunk of its own");
    assert_eq!(shared.as_ptr(), payload.as_ptr(), "encode did not copy it");

    let mut sessions: Vec<_> = (0..3)
        .map(|_| Session::from_factory(&codec(), cfg.clone(), now))
        .collect();
    for s in &mut sessions {
        s.send_shared(&frame).expect("queued");
        assert_eq!(s.queued(), (1, frame.len()), "charged the whole frame");
    }
    for s in &mut sessions {
        let mut chunks = Vec::new();
        s.transmit_chunks(&mut chunks);
        let total: usize = chunks.iter().map(|c| c.len()).sum();
        assert_eq!(total, frame.len());
        // Every chunk is one of the frame's own buffers.
        for (mine, theirs) in chunks.iter().zip(frame.chunks()) {
            assert_eq!(mine.as_ptr(), theirs.as_ptr());
        }
        assert!(chunks.iter().any(|c| c.as_ptr() == payload.as_ptr()));
    }
}

#[test]
fn shared_frame_refuses_a_session_of_another_configuration() {
    let with_hb = SessionConfig::default().heartbeat(Some(Heartbeat {
        interval: std::time::Duration::from_secs(1),
        timeout: std::time::Duration::from_secs(1),
    }));
    let frame = SharedFrame::encode(
        &mut codec().new_builder(),
        Bytes::from_static(b"x"),
        &with_hb,
    )
    .expect("frames");
    let mut plain = Session::from_factory(&codec(), SessionConfig::default(), Instant::now());
    assert_eq!(
        plain.send_shared(&frame),
        Err(SendError::IncompatibleFrame { heartbeats: true })
    );
    assert_eq!(plain.queued(), (0, 0));
    let mut hb = Session::from_factory(&codec(), with_hb, Instant::now());
    hb.send_shared(&frame).expect("same configuration");
}

#[test]
fn broadcast_shares_one_buffer_among_all_sessions_on_the_wire() {
    let mut net = Net::new(HubConfig::default());
    let peers: Vec<_> = (0..3).map(|i| net.connect(addr(3, i))).collect();
    let payload = big_payload();
    let report = net.hub.broadcast(payload.clone()).expect("frames");
    assert_eq!(
        report,
        BroadcastReport {
            delivered: 3,
            failed: vec![]
        }
    );
    for p in &peers {
        assert_eq!(p.handle.queued(), (1, frame_len(payload.len())));
    }
    net.run();
    for p in &peers {
        assert_eq!(p.io.sent(), vec![payload.to_vec()]);
        let slices = p.io.state().write_slices.clone();
        assert!(
            slices.contains(&(payload.as_ptr() as usize, payload.len())),
            "the payload's own buffer went to the socket: {slices:?}"
        );
    }
}

#[test]
fn broadcast_group_reaches_members_only() {
    let mut net = Net::new(HubConfig::default());
    let a = net.connect(addr(4, 1));
    let b = net.connect(addr(4, 2));
    let c = net.connect(addr(4, 3));
    net.hub.join("room", a.id);
    net.hub.join("room", c.id);
    let report = net
        .hub
        .broadcast_group("room", Bytes::from_static(b"hello room"))
        .expect("frames");
    assert_eq!(report.delivered, 2);
    assert!(report.failed.is_empty());
    let none = net
        .hub
        .broadcast_group("empty", Bytes::from_static(b"x"))
        .expect("frames");
    assert_eq!(none, BroadcastReport::default());
    net.run();
    assert_eq!(a.io.sent(), vec![b"hello room".to_vec()]);
    assert_eq!(c.io.sent(), vec![b"hello room".to_vec()]);
    assert!(b.io.sent().is_empty());
}

#[test]
fn broadcast_group_except_skips_the_sender_only() {
    let mut net = Net::new(HubConfig::default());
    let sender = net.connect(addr(4, 11));
    let other = net.connect(addr(4, 12));
    let outsider = net.connect(addr(4, 13));
    net.hub.join("room", sender.id);
    net.hub.join("room", other.id);
    let report = net
        .hub
        .broadcast_group_except("room", sender.id, Bytes::from_static(b"hi all"))
        .expect("frames");
    assert_eq!(report.delivered, 1);
    assert!(report.failed.is_empty());
    // An id that is not a member excludes nobody.
    let report = net
        .hub
        .broadcast_group_except("room", outsider.id, Bytes::from_static(b"again"))
        .expect("frames");
    assert_eq!(report.delivered, 2);
    net.run();
    assert_eq!(sender.io.sent(), vec![b"again".to_vec()]);
    assert_eq!(other.io.sent(), vec![b"hi all".to_vec(), b"again".to_vec()]);
    assert!(outsider.io.sent().is_empty());
}

#[test]
fn groups_of_a_session_are_listed_sorted_and_forgotten_on_close() {
    let mut net = Net::new(HubConfig::default());
    let a = net.connect(addr(4, 21));
    assert!(net.hub.groups_of(a.id).is_empty());
    net.hub.join("zeta", a.id);
    net.hub.join("alpha", a.id);
    assert_eq!(net.hub.groups_of(a.id), vec!["alpha", "zeta"]);
    assert_eq!(a.handle.groups(), vec!["alpha", "zeta"]);
    net.hub.leave("zeta", a.id);
    assert_eq!(a.handle.groups(), vec!["alpha"]);
    a.handle.abort(CloseReason::Local);
    net.run();
    assert!(net.hub.groups_of(a.id).is_empty(), "not live: no groups");
}

#[test]
fn broadcast_reports_a_full_member_and_delivers_to_the_rest() {
    let session = SessionConfig::default().max_queue_messages(1);
    let mut net = Net::new(config(session));
    let full = net.connect(addr(5, 1));
    let ok = net.connect(addr(5, 2));
    full.io.set_write_mode(WriteMode::Refuse);
    full.handle
        .send(Bytes::from_static(b"first"))
        .expect("at the limit");
    net.run();
    let report = net
        .hub
        .broadcast(Bytes::from_static(b"all"))
        .expect("frames");
    assert_eq!(report.delivered, 1);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].0, full.id);
    assert!(
        matches!(report.failed[0].1, SendError::QueueFull { .. }),
        "{report:?}"
    );
    net.run();
    assert_eq!(ok.io.sent(), vec![b"all".to_vec()]);
    assert_eq!(full.result(), None, "Reject: the full member stays open");
}

#[test]
fn broadcast_closes_a_full_member_under_disconnect() {
    let session = SessionConfig::default()
        .max_queue_messages(1)
        .overflow(Overflow::Disconnect);
    let mut net = Net::new(config(session));
    let full = net.connect(addr(5, 3));
    let ok = net.connect(addr(5, 4));
    full.io.set_write_mode(WriteMode::Refuse);
    full.handle
        .send(Bytes::from_static(b"first"))
        .expect("at the limit");
    let report = net
        .hub
        .broadcast(Bytes::from_static(b"all"))
        .expect("frames");
    assert_eq!(report.delivered, 1);
    assert_eq!(report.failed, vec![(full.id, SendError::Closed)]);
    net.run();
    assert_eq!(full.result(), Some(CloseReason::SlowConsumer));
    assert_eq!(ok.io.sent(), vec![b"all".to_vec()]);
}

#[test]
fn broadcast_charges_each_queue_the_frame_length() {
    // Room for exactly one frame of 100 bytes of payload (and frames no
    // larger, no back-pressure marks: a queue that small is valid then).
    let session = SessionConfig::default()
        .max_queue_bytes(frame_len(100))
        .backpressure(None);
    let mut net = Net::with_codec(codec().max_frame_length(100), config(session));
    let a = net.connect(addr(6, 1));
    let b = net.connect(addr(6, 2));
    a.io.set_write_mode(WriteMode::Refuse);
    b.io.set_write_mode(WriteMode::Refuse);
    let report = net
        .hub
        .broadcast(Bytes::from(vec![1; 100]))
        .expect("frames");
    assert_eq!(report.delivered, 2, "exactly max_queue_bytes fits");
    for p in [&a, &b] {
        assert_eq!(p.handle.queued(), (1, frame_len(100)));
    }
    // Shared bytes are still charged to each queue: one more byte fails
    // everywhere.
    let report = net.hub.broadcast(Bytes::from(vec![2; 1])).expect("frames");
    assert_eq!(report.delivered, 0);
    assert_eq!(report.failed.len(), 2);
    for (_, err) in &report.failed {
        assert!(
            matches!(
                err,
                SendError::QueueFull {
                    message_bytes: 5,
                    ..
                }
            ),
            "{err:?}"
        );
    }
}

#[test]
fn broadcast_to_reports_dead_ids() {
    let mut net = Net::new(HubConfig::default());
    let live = net.connect(addr(7, 1));
    let dead = net.connect(addr(7, 2));
    dead.io.push_eof();
    net.run_events(); // the application takes its events: then it closes
    net.run();
    assert_eq!(dead.result(), Some(CloseReason::RemoteClosed));
    let report = net
        .hub
        .broadcast_to(&[live.id, dead.id], Bytes::from_static(b"to some"))
        .expect("frames");
    assert_eq!(report.delivered, 1);
    assert_eq!(report.failed, vec![(dead.id, SendError::Closed)]);
    net.run();
    assert_eq!(live.io.sent(), vec![b"to some".to_vec()]);
}

#[test]
fn broadcast_to_a_closing_member_reports_it() {
    let mut net = Net::new(HubConfig::default());
    let a = net.connect(addr(7, 3));
    let b = net.connect(addr(7, 4));
    net.hub.join("r", a.id);
    net.hub.join("r", b.id);
    b.handle.close();
    let report = net
        .hub
        .broadcast_group("r", Bytes::from_static(b"x"))
        .expect("frames");
    assert_eq!(report.delivered, 1);
    assert_eq!(report.failed, vec![(b.id, SendError::Closed)]);
}

#[test]
fn broadcast_of_an_unframeable_payload_is_an_error() {
    let (hub, _events) = proto_core::hub::Hub::new(
        proto_core::frame::LengthField::laster40net().max_frame_length(8),
        HubConfig::default(),
    )
    .expect("valid hub config");
    let _conn = hub
        .admit(addr(8, 1), Instant::now())
        .expect("admitted")
        .open(Instant::now());
    assert!(
        hub.broadcast(Bytes::from(vec![0; 8])).is_ok(),
        "at the limit"
    );
    assert!(hub.broadcast(Bytes::from(vec![0; 9])).is_err(), "one over");
}
