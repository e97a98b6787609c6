//! The cost of the session layer: 64-byte messages through two sessions in
//! the simulator, beside bare framing of the same messages (encode into a
//! `WireBuf`, copy into a `FrameReader` as a socket read would, decode).
//!
//! Both sides do the same framing work per message, in batches of 256
//! messages (what one wake-up of a server loop might bring); what the
//! session adds is the send queue, transmit batching, the simulated pipe
//! (which moves shared `Bytes` and copies each read once, as a socket
//! would), timers and events.
#![allow(missing_docs)] // criterion's macros generate undocumented items

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use proto_core::frame::{FrameReader, LengthField, LengthFieldCodec, WireBuf};
use proto_core::message::MessageBuilder;
use proto_core::session::{Session, SessionConfig, SessionEvent};
use proto_testkit::sim::{PipeConfig, Side, Sim};

/// Messages per iteration.
const MESSAGES: usize = 4096;
/// Messages sent before the receiver drains them, as a server loop handles
/// what one wake-up brought (about 17 KB of wire bytes).
const BATCH: usize = 256;
/// Payload size.
const SIZE: usize = 64;
/// Bytes moved per read and per write (a typical socket buffer).
const IO: usize = 64 * 1024;

fn payloads() -> Vec<Bytes> {
    (0..MESSAGES)
        .map(|i| Bytes::from(vec![(i % 251) as u8; SIZE]))
        .collect()
}

fn bare_framing(c: &mut BenchmarkGroup<'_, WallTime>, payloads: &[Bytes]) {
    let codec = LengthField::laster40net();
    let mut builder = codec.new_codec();
    let mut reader = FrameReader::new(codec.new_codec());
    let mut wire = WireBuf::new();
    c.bench_function("bare_framing", |b| {
        b.iter(|| {
            let mut n = 0;
            for batch in payloads.chunks(BATCH) {
                for p in batch {
                    builder
                        .encode(p.clone(), &mut wire)
                        .expect("64-byte payloads fit");
                }
                n += read_all(&mut wire, &mut reader);
            }
            assert_eq!(n, MESSAGES);
        })
    });
}

/// Moves what `wire` holds into `reader` (one copy, as a socket read) and
/// decodes it.
fn read_all(wire: &mut WireBuf, reader: &mut FrameReader<LengthFieldCodec>) -> usize {
    let mut n = 0;
    while let Some(chunk) = wire.pop_chunk() {
        reader.extend_from_slice(&chunk);
    }
    while let Some(frame) = reader.next_frame().expect("valid frames") {
        black_box(&frame[..]);
        n += 1;
    }
    n
}

fn through_sessions(c: &mut BenchmarkGroup<'_, WallTime>, payloads: &[Bytes]) {
    let codec = LengthField::laster40net();
    let start = Instant::now();
    let session = || {
        Session::new(
            codec.new_codec(),
            codec.new_codec(),
            SessionConfig::default()
                .max_queue_messages(BATCH)
                .max_queue_bytes(BATCH * (SIZE + 4))
                .max_transmit_bytes(IO),
            start,
        )
    };
    let pipe = PipeConfig::default()
        .max_segment(IO)
        .max_read(IO)
        .buffer(4 * IO)
        .delay(Duration::ZERO, Duration::ZERO);
    let mut sim = Sim::new(start, 1);
    sim.record_trace(false);
    let link = sim.connect(session(), session(), pipe);
    c.bench_function("two_sessions_in_sim", |b| {
        b.iter(|| {
            let mut n = 0;
            for batch in payloads.chunks(BATCH) {
                for p in batch {
                    sim.session_mut(link, Side::Client)
                        .send(p.clone())
                        .expect("the queue holds a whole batch");
                }
                sim.run_until_idle();
                let server = sim.session_mut(link, Side::Server);
                while let Some(event) = server.poll_event() {
                    if let SessionEvent::Message(m) = event {
                        black_box(&m[..]);
                        n += 1;
                    }
                }
            }
            assert_eq!(n, MESSAGES);
        })
    });
}

fn benches(c: &mut Criterion) {
    let payloads = payloads();
    let mut group = c.benchmark_group("session_64B");
    group.throughput(Throughput::Elements(MESSAGES as u64));
    bare_framing(&mut group, &payloads);
    through_sessions(&mut group, &payloads);
    group.finish();
}

criterion_group! {
    name = session;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = benches
}
criterion_main!(session);
