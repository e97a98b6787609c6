//! Back-pressure through the real driver at both ends of a simulated link
//! (`proto_testkit::sim::DrivenSim`): whatever the pipes' random
//! segmenting, delays, coalesced reads, bandwidth and buffer sizes, and
//! however each application pauses its socket reads, a server that echoes
//! each message before it asks for the next event never has a reply
//! refused, and the client gets every message back, in order, once.
//! Each case is replayed from its seed.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use proto_core::bytes::Bytes;
use proto_core::hub::{Event, Hub, HubConfig};
use proto_core::message::MessageFactory;
use proto_core::session::{SessionConfig, WaterMarks};
use proto_testkit::mock::{addr, codec};
use proto_testkit::sim::{DrivenSim, PipeConfig, Side};
use proto_testkit::strategy::{PipeRanges, echo_payloads, pipe};

/// Largest payload the codec accepts.
const MAX: usize = 2048;

/// Virtual time a case may take before it counts as stalled.
const LIMIT: Duration = Duration::from_secs(120);

/// Small segments, buffers and reads, some bandwidth limits.
const PIPE: PipeRanges = PipeRanges {
    segment: 1..600,
    min_delay_us: 0..3000,
    extra_delay_us: 0..3000,
    rate: Some(100_000..10_000_000),
    buffer: 1..20_000,
    read: 1..5000,
};

/// A side's reads pause for `(0, 50)` ms after every `(1, 100)` ms.
fn pauses() -> impl Strategy<Value = Vec<(Side, u64, u64)>> {
    prop::collection::vec(
        (
            prop_oneof![Just(Side::Client), Just(Side::Server)],
            0u64..100,
            1u64..50,
        ),
        0..12,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn echo_over_driven_sim_refuses_nothing_and_loses_nothing(
        seed in any::<u64>(),
        messages in echo_payloads(MAX, 1..200),
        to_server in pipe(PIPE),
        to_client in pipe(PIPE),
        pauses in pauses(),
        low in 1usize..4096,
        extra in 0usize..4096,
    ) {
        let high = low + extra + 1;
        let codec = codec().max_frame_length(MAX);
        let max_wire = codec.max_frame_wire_len().expect("a length-field codec knows");
        let quiet = SessionConfig::default()
            .write_timeout(None)
            .idle_timeout(None)
            .frame_timeout(None);
        // The server's queue holds exactly the high water mark plus one
        // largest frame: the bound the back-pressure rule promises.
        let server_config = quiet
            .clone()
            .backpressure(Some(WaterMarks { low, high }))
            .max_queue_bytes(high + max_wire);
        // The client keeps reading while its own sends are queued (as
        // `ClientConfig` does), and its queue holds every message.
        let client_config = quiet.backpressure_counts_sends(false).max_queue_bytes(1 << 20);
        let (server, mut server_events) =
            Hub::new(codec.clone(), HubConfig::default().session(server_config)).expect("valid config");
        let (client, mut client_events) =
            Hub::new(codec, HubConfig::default().session(client_config)).expect("valid config");

        let mut sim = DrivenSim::new(Instant::now(), seed);
        let link = sim.connect(
            client.admit(addr(1, 1), Instant::now()).expect("admitted"),
            server.admit(addr(2, 2), Instant::now()).expect("admitted"),
            to_server,
            to_client,
        );
        for m in &messages {
            link.client.handle.send(Bytes::from(m.clone())).expect("the client queue holds all");
        }

        // When each pause starts and ends, in virtual milliseconds.
        let mut at = 0;
        let schedule: Vec<(Side, u64, u64)> = pauses
            .iter()
            .map(|&(side, gap, len)| {
                at += gap;
                let start = at;
                at += len;
                (side, start, at)
            })
            .collect();

        let mut echoed = Vec::new();
        while echoed.len() < messages.len() && sim.elapsed() < LIMIT {
            let ms = sim.elapsed().as_millis() as u64;
            for side in [Side::Client, Side::Server] {
                let paused = schedule.iter().any(|&(s, a, b)| s == side && (a..b).contains(&ms));
                sim.set_reading(link.link, side, !paused);
            }
            sim.advance(Duration::from_millis(1));
            // The server answers each message before it asks for the next.
            while let Some(event) = server_events.try_recv() {
                match event {
                    Event::Opened(_) => {}
                    Event::Message { id, payload } => {
                        let sent = server.send(id, payload);
                        prop_assert!(sent.is_ok(), "reply refused: {sent:?}");
                    }
                    other => prop_assert!(false, "server: unexpected {other:?}"),
                }
            }
            while let Some(event) = client_events.try_recv() {
                match event {
                    Event::Opened(_) => {}
                    Event::Message { payload, .. } => echoed.push(payload.to_vec()),
                    other => prop_assert!(false, "client: unexpected {other:?}"),
                }
            }
        }
        prop_assert!(echoed == messages, "every echo came back, in order, once \
            ({} of {} after {:?})", echoed.len(), messages.len(), sim.elapsed());
        prop_assert!(link.server.done.borrow().is_none(), "the server session is open");
        let stats = server.stats();
        prop_assert_eq!(stats.sends_rejected, 0);
        prop_assert!(stats.queue_high_water_bytes <= high + max_wire,
            "queue {} over {high} + {max_wire}", stats.queue_high_water_bytes);
    }
}

/// The same seed and settings replay the same run: the same reads at the
/// same virtual times.
#[test]
fn driven_sim_replays_from_its_seed() {
    let run = |seed| {
        let (server, mut events) = Hub::new(codec(), HubConfig::default()).expect("valid config");
        let (client, _client_events) =
            Hub::new(codec(), HubConfig::default()).expect("valid config");
        let mut sim = DrivenSim::new(Instant::now(), seed);
        let pipe = PipeConfig::default().max_segment(7).max_read(5);
        let link = sim.connect(
            client.admit(addr(1, 1), Instant::now()).expect("admitted"),
            server.admit(addr(2, 2), Instant::now()).expect("admitted"),
            pipe,
            pipe,
        );
        for i in 0..50u32 {
            link.client
                .handle
                .send(Bytes::from(i.to_le_bytes().repeat(9)))
                .expect("queued");
        }
        let mut arrivals = Vec::new();
        while arrivals.len() < 50 && sim.step() {
            while let Some(event) = events.try_recv() {
                if let Event::Message { .. } = event {
                    arrivals.push(sim.elapsed());
                }
            }
        }
        assert_eq!(arrivals.len(), 50, "every message arrived");
        arrivals
    };
    assert_eq!(run(3), run(3));
    assert_ne!(run(3), run(4), "the seed steers the run");
}
