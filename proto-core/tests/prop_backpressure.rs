//! Back-pressure end to end, over the simulator: an echo server under the
//! water marks, fed by a client that pipelines messages of every size up
//! to the largest frame and now and then stops reading its echoes.
//!
//! Invariants: nothing lost or duplicated, no echo ever refused (the queue
//! is sized by `SessionConfig::check`, exactly at its limit), the echo
//! server's queue never exceeds `high + max_frame_wire_len`, and a session
//! paused by its marks reads again once its peer reads again (every echo
//! arrives).
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use bytes::Bytes;
use proptest::prelude::*;
use proto_core::frame::{LengthField, LengthFieldCodec};
use proto_core::message::MessageFactory;
use proto_core::session::{Session, SessionConfig, SessionEvent, WaterMarks};
use proto_testkit::sim::{Side, Sim};
use proto_testkit::strategy::{PipeRanges, pipe};

type Net = Sim<LengthFieldCodec, LengthFieldCodec>;

const MAX_FRAME: usize = 1024;

/// Short delays, no bandwidth limit, small buffers and reads.
const PIPE: PipeRanges = PipeRanges {
    segment: 1..1500,
    min_delay_us: 0..2_000,
    extra_delay_us: 0..5_000,
    rate: None,
    buffer: 1..6000,
    read: 1..4000,
};

/// Sizes from empty to the largest frame, tiny ones often (their cost is
/// mostly the allowance per message).
fn sizes() -> impl Strategy<Value = Vec<usize>> {
    let size =
        prop_oneof![3 => 0..8usize, 2 => 8..200usize, 1 => 200..=MAX_FRAME, 1 => Just(MAX_FRAME)];
    prop::collection::vec(size, 1..120)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn echo_under_backpressure_loses_nothing_refuses_nothing_and_stays_within_high_plus_a_frame(
        seed in any::<u64>(),
        up in pipe(PIPE),
        down in pipe(PIPE),
        sizes in sizes(),
        high in 1usize..6000,
        low_permille in 0usize..=1000,
        // Steps at which the client stops or resumes reading its echoes.
        toggles in prop::collection::vec(0usize..400, 0..6),
        window in 1usize..4 * MAX_FRAME,
    ) {
        let t0 = Instant::now();
        let codec = LengthField::laster40net().max_frame_length(MAX_FRAME);
        let max_wire = codec.max_frame_wire_len().unwrap();
        let low = high * low_permille / 1000;
        let server_cfg = SessionConfig::default()
            .backpressure(Some(WaterMarks { low, high }))
            .max_queue_bytes(high + max_wire)
            .idle_timeout(None)
            .write_timeout(None);
        prop_assert_eq!(server_cfg.check(Some(max_wire)), Ok(()));
        // The client stops reading its socket for as long as a toggle
        // says, in virtual time that jumps to the next deadline: no
        // deadlines that would punish that.
        let client_cfg = SessionConfig::default()
            .idle_timeout(None)
            .frame_timeout(None)
            .write_timeout(None);
        let mut sim = Net::new(t0, seed);
        sim.record_trace(false);
        let link = sim.connect_with(
            Session::from_factory(&codec, client_cfg, t0),
            Session::from_factory(&codec, server_cfg, t0),
            up,
            down,
        );
        let msgs: Vec<Bytes> = sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| Bytes::from(vec![i as u8; n]))
            .collect();
        let mut next = 0;
        let mut echoes = Vec::new();
        let mut reading = true;
        let mut step = 0usize;
        let mut max_queued = 0;
        let mut idle = 0;
        while echoes.len() < msgs.len() {
            // The client: takes its echoes, pipelines up to `window` bytes.
            let client = sim.session_mut(link, Side::Client);
            while let Some(event) = client.poll_event() {
                match event {
                    SessionEvent::Message(m) => echoes.push(m),
                    SessionEvent::Opened => {}
                    other => prop_assert!(false, "client got {:?}", other),
                }
            }
            while next < msgs.len() && client.queued().1 < window {
                client.send(msgs[next].clone()).unwrap();
                next += 1;
            }
            // The echo server: every message straight back.
            let server = sim.session_mut(link, Side::Server);
            while let Some(event) = server.poll_event() {
                match event {
                    SessionEvent::Message(m) => {
                        let sent = server.send(m);
                        prop_assert_eq!(sent, Ok(()), "echo refused");
                    }
                    SessionEvent::Opened => {}
                    other => prop_assert!(false, "server got {:?}", other),
                }
            }
            let queued = server.queued().1;
            max_queued = max_queued.max(queued);
            prop_assert!(
                queued <= high + max_wire,
                "server queue {} over high {} + frame {}", queued, high, max_wire
            );
            if toggles.contains(&step) {
                reading = !reading;
                sim.set_reading(link, Side::Client, reading);
            }
            if sim.step() {
                idle = 0;
            } else if !reading {
                // Everything waits for the client, which reads again.
                reading = true;
                sim.set_reading(link, Side::Client, true);
            } else {
                // Nothing moves: fine once, while the applications take
                // what the last step brought; not twice.
                idle += 1;
                prop_assert!(idle < 2, "stuck with the client reading");
            }
            step += 1;
            prop_assert!(step < 200_000, "no progress");
        }
        prop_assert_eq!(&echoes, &msgs);
        prop_assert!(!sim.session(link, Side::Server).is_closing());
        prop_assert!(sim.session(link, Side::Server).stats().sends_rejected == 0);
        prop_assert!(max_queued <= high + max_wire);
    }
}
