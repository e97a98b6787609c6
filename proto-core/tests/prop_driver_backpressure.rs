//! Back-pressure through the real driver and the hub's event stream: an
//! application that echoes each message before it asks for the next event
//! never has a reply refused, however the peer pipelines, splits its bytes
//! and stops and resumes reading; nothing is lost or duplicated; a session
//! blocked by a peer that does not read reads again once the peer does;
//! and the send queue never holds more than the high water mark plus one
//! largest frame.

use proptest::prelude::*;
use proto_core::hub::{Event, HubConfig};
use proto_core::message::MessageFactory;
use proto_core::session::{SessionConfig, WaterMarks};
use proto_testkit::mock::{Net, WriteMode, addr, codec, decode_all, frame};
use proto_testkit::strategy::echo_payloads;

/// Largest payload the codec accepts.
const MAX: usize = 2048;

#[derive(Debug, Clone)]
enum Step {
    /// The peer's next `n` bytes arrive, in one segment.
    Arrive(usize),
    /// The peer's socket takes writes in full, `n` bytes at a time, or
    /// none.
    Peer(WriteMode),
    /// The application takes (and answers) at most `n` events.
    App(usize),
    /// Drivers run.
    Run,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (1usize..6000).prop_map(Step::Arrive),
        2 => prop_oneof![
            Just(WriteMode::All),
            (1usize..3000).prop_map(WriteMode::Partial),
            Just(WriteMode::Refuse),
        ]
        .prop_map(Step::Peer),
        3 => (1usize..200).prop_map(Step::App),
        3 => Just(Step::Run),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn echo_through_the_driver_refuses_nothing_and_loses_nothing(
        messages in echo_payloads(MAX, 1..300),
        steps in prop::collection::vec(step(), 1..120),
        low in 1usize..4096,
        extra in 0usize..4096,
    ) {
        let high = low + extra + 1;
        let codec = codec().max_frame_length(MAX);
        let max_wire = codec.max_frame_wire_len().expect("a length-field codec knows");
        // The queue holds exactly the high water mark plus one largest
        // frame: the bound the back-pressure rule promises.
        let session = SessionConfig::default()
            .backpressure(Some(WaterMarks { low, high }))
            .max_queue_bytes(high + max_wire)
            .write_timeout(None)
            .idle_timeout(None)
            .frame_timeout(None);
        let mut net = Net::with_codec(codec, HubConfig::default().session(session));
        let peer = net.connect(addr(1, 1));
        let wire: Vec<u8> = messages.iter().flat_map(|m| frame(m)).collect();
        let mut fed = 0;
        let mut handle = None;
        let mut echoed = 0usize;

        let app = |net: &mut Net, n: usize, handle: &mut Option<_>, echoed: &mut usize| {
            for _ in 0..n {
                let Some(event) = net.events.borrow_mut().try_recv() else { break };
                match event {
                    Event::Opened(h) => *handle = Some(h),
                    Event::Message { payload, .. } => {
                        let h: &proto_core::hub::SessionHandle =
                            handle.as_ref().expect("Opened comes first");
                        h.send(payload).map_err(|e| format!("reply refused: {e}"))?;
                        *echoed += 1;
                    }
                    other => return Err(format!("unexpected {other:?}")),
                }
            }
            Ok::<(), String>(())
        };

        for step in steps.iter().chain(std::iter::once(&Step::Run)) {
            match step {
                Step::Arrive(n) => {
                    let end = (fed + n).min(wire.len());
                    if end > fed {
                        peer.io.push(&wire[fed..end]);
                        fed = end;
                    }
                }
                Step::Peer(mode) => peer.io.set_write_mode(*mode),
                Step::App(n) => {
                    app(&mut net, *n, &mut handle, &mut echoed).map_err(TestCaseError::fail)?;
                }
                Step::Run => net.run(),
            }
            let queued = peer.handle.queued().1;
            prop_assert!(queued <= high + max_wire, "queue {queued} over {high} + {max_wire}");
        }
        // Everything arrives; the peer reads; the application keeps up:
        // every blocked session reads again and every echo goes out.
        if fed < wire.len() {
            peer.io.push(&wire[fed..]);
        }
        peer.io.set_write_mode(WriteMode::All);
        for _ in 0..10_000 {
            net.run();
            app(&mut net, usize::MAX, &mut handle, &mut echoed).map_err(TestCaseError::fail)?;
            if echoed == messages.len() && peer.handle.queued().0 == 0 {
                break;
            }
        }
        prop_assert_eq!(echoed, messages.len(), "every message reached the application");
        let out = decode_all(&peer.io.output());
        prop_assert!(out == messages, "the peer got every echo, in order, once");
        let stats = net.hub.stats();
        prop_assert_eq!(stats.sends_rejected, 0);
        prop_assert!(stats.queue_high_water_bytes <= high + max_wire);
    }
}
