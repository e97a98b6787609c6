//! Framing benchmarks: proto-core's length-field codec against tokio-util's
//! `LengthDelimitedCodec` (same wire format: a u32 big-endian payload length),
//! with `memcpy` and a bare header walk as baselines. Results and how to read
//! them: `BENCHMARKS.md` at the repository root.
//!
//! Every decoder reads the same pre-encoded buffers. Where a buffer must be
//! fresh for each iteration (decoding consumes it), it is refilled in
//! criterion's untimed setup (`iter_batched`) from a pool of reused read
//! buffers, as a connection reuses its read buffer, so neither the copy nor
//! an allocation is timed; the baselines get the same buffers the same way.
//! Frames are dropped inside the timed routine, as a consumer would.
//!
//! Every path hands each frame's bytes to `black_box` as a `&[u8]` (what a
//! consumer parses), then drops the frame. Black-boxing the owned handle
//! itself instead would force its 32 bytes through the stack, a store-to-
//! load forwarding stall that no real consumer pays and that falls only on
//! a decoder inlined into the loop (see `BENCHMARKS.md`).
#![allow(missing_docs)] // criterion's macros generate undocumented items

use std::cell::RefCell;
use std::hint::black_box;
use std::io::IoSlice;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use proto_core::frame::{FrameReader, LengthField, LengthFieldCodec, ReadBufConfig, WireBuf};
use proto_core::message::{MessageBuilder, MessageResolver};
use tokio_util::codec::{Decoder, Encoder, LengthDelimitedCodec};

/// Payload sizes (the wire adds a 4-byte header to each).
const SIZES: [usize; 4] = [16, 64, 1024, 64 * 1024];
/// Wire bytes per iteration of the decode and encode groups.
const WIRE_BYTES: usize = 512 * 1024;
/// Header length of the format under test.
const HEADER: usize = 4;

/// Streamed group: frame payload size, read size, number of reads.
const STREAM_FRAME: usize = 4 * 1024;
const STREAM_READ: usize = 64 * 1024;
const STREAM_READS: usize = 16;

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// `frames` frames of `len`-byte payloads, each behind a u32 BE length.
fn wire(len: usize, frames: usize) -> Vec<u8> {
    let body = payload(len);
    let header = u32::try_from(len)
        .expect("bench payloads fit a u32")
        .to_be_bytes();
    let mut out = Vec::with_capacity(frames * (HEADER + len));
    for _ in 0..frames {
        out.extend_from_slice(&header);
        out.extend_from_slice(&body);
    }
    out
}

fn frames_for(len: usize) -> usize {
    (WIRE_BYTES / (HEADER + len)).max(1)
}

fn ours() -> LengthFieldCodec {
    LengthField::tokio_util().new_codec()
}

fn label(len: usize) -> String {
    if len >= 1024 {
        format!("{}KiB", len / 1024)
    } else {
        format!("{len}B")
    }
}

/// Warm-up and measurement time per size. With `iter_batched`, criterion
/// plans iterations on wall time including the untimed setup, so these bound
/// the wall time of each benchmark (about 3 minutes for the whole file).
fn timing(len: usize) -> (Duration, Duration) {
    match len {
        0..=64 => (Duration::from_secs(1), Duration::from_secs(4)),
        65..=1024 => (Duration::from_millis(500), Duration::from_secs(3)),
        _ => (Duration::from_millis(500), Duration::from_secs(2)),
    }
}

/// Read buffers reused between iterations: refilling one is a copy into
/// memory that is already mapped, not a fresh allocation and page faults.
#[derive(Default)]
struct Pool(RefCell<Vec<BytesMut>>);

impl Pool {
    fn fill(&self, wire: &[u8]) -> BytesMut {
        let mut buf = self.0.borrow_mut().pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(wire);
        buf
    }

    fn give_back(&self, buf: BytesMut) {
        self.0.borrow_mut().push(buf);
    }
}

// ---- decode routines -------------------------------------------------------

fn decode_ours_owned(codec: &mut LengthFieldCodec, mut buf: BytesMut) -> BytesMut {
    while let Some(frame) = codec.decode(&mut buf).expect("bench wire is valid") {
        black_box(&frame[..]);
    }
    buf
}

fn decode_ours_borrowed(codec: &mut LengthFieldCodec, mut buf: BytesMut) -> BytesMut {
    proto_core::frame::for_each_frame(codec, &mut buf, |frame| {
        black_box(frame);
    })
    .expect("bench wire is valid");
    buf
}

fn decode_tokio(codec: &mut LengthDelimitedCodec, mut buf: BytesMut) -> BytesMut {
    while let Some(frame) = codec.decode(&mut buf).expect("bench wire is valid") {
        black_box(&frame[..]);
    }
    buf
}

/// The least any decoder of this format must do: read each header, check
/// the frame is all there, hand out its body, jump.
fn header_walk(buf: &[u8]) -> usize {
    let mut pos = 0;
    let mut count = 0;
    while let Some(&[a, b, c, d]) = buf.get(pos..pos + HEADER) {
        let end = pos + HEADER + u32::from_be_bytes([a, b, c, d]) as usize;
        let Some(body) = buf.get(pos + HEADER..end) else {
            break;
        };
        black_box(body);
        pos = end;
        count += 1;
    }
    count
}

/// Checks, untimed, that every decoder sees the same `frames` frames.
fn check_decoders(wire: &[u8], frames: usize, len: usize) {
    let mut buf = BytesMut::from(wire);
    let mut n = 0;
    while let Some(f) = ours().decode(&mut buf).expect("valid") {
        assert_eq!(f.len(), len);
        n += 1;
    }
    assert_eq!(n, frames);
    let mut buf = BytesMut::from(wire);
    let n = proto_core::frame::for_each_frame(&mut ours(), &mut buf, |f| {
        assert_eq!(f.len(), len);
    })
    .expect("valid");
    assert_eq!(n, frames);
    let mut buf = BytesMut::from(wire);
    let mut tokio = LengthDelimitedCodec::new();
    let mut n = 0;
    while let Some(f) = tokio.decode(&mut buf).expect("valid") {
        assert_eq!(f.len(), len);
        n += 1;
    }
    assert_eq!(n, frames);
    assert_eq!(header_walk(wire), frames);
}

fn decode(c: &mut Criterion) {
    let inputs: Vec<(usize, usize, Vec<u8>)> = SIZES
        .iter()
        .map(|&len| {
            let frames = frames_for(len);
            let w = wire(len, frames);
            check_decoders(&w, frames, len);
            (len, frames, w)
        })
        .collect();
    let pool = Pool::default();

    let mut group = c.benchmark_group("decode_owned");
    for (len, frames, w) in &inputs {
        let (warm, measure) = timing(*len);
        group.warm_up_time(warm).measurement_time(measure);
        group.throughput(Throughput::Elements(*frames as u64));
        let mut codec = ours();
        group.bench_function(BenchmarkId::new("ours", label(*len)), |b| {
            b.iter_batched(
                || pool.fill(w),
                |buf| pool.give_back(decode_ours_owned(&mut codec, buf)),
                BatchSize::LargeInput,
            )
        });
        let mut codec = LengthDelimitedCodec::new();
        group.bench_function(BenchmarkId::new("tokio_util", label(*len)), |b| {
            b.iter_batched(
                || pool.fill(w),
                |buf| pool.give_back(decode_tokio(&mut codec, buf)),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();

    let mut group = c.benchmark_group("decode_borrowed");
    for (len, frames, w) in &inputs {
        let (warm, measure) = timing(*len);
        group.warm_up_time(warm).measurement_time(measure);
        group.throughput(Throughput::Elements(*frames as u64));
        let mut codec = ours();
        group.bench_function(BenchmarkId::new("ours", label(*len)), |b| {
            b.iter_batched(
                || pool.fill(w),
                |buf| pool.give_back(decode_ours_borrowed(&mut codec, buf)),
                BatchSize::LargeInput,
            )
        });
        // tokio-util has no borrowed path: its owned decode, measured again
        // next to ours so that the ratio comes from adjacent runs.
        let mut codec = LengthDelimitedCodec::new();
        group.bench_function(BenchmarkId::new("tokio_util_owned", label(*len)), |b| {
            b.iter_batched(
                || pool.fill(w),
                |buf| pool.give_back(decode_tokio(&mut codec, buf)),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();

    let mut group = c.benchmark_group("decode_baseline");
    for (len, frames, w) in &inputs {
        let (warm, measure) = timing(*len);
        group.warm_up_time(warm).measurement_time(measure);
        group.throughput(Throughput::Elements(*frames as u64));
        let mut dst = vec![0u8; w.len()];
        group.bench_function(BenchmarkId::new("memcpy", label(*len)), |b| {
            b.iter_batched(
                || pool.fill(w),
                |buf| {
                    dst.copy_from_slice(&buf);
                    black_box(&dst);
                    pool.give_back(buf);
                },
                BatchSize::LargeInput,
            )
        });
        group.bench_function(BenchmarkId::new("header_walk", label(*len)), |b| {
            b.iter_batched(
                || pool.fill(w),
                |buf| {
                    black_box(header_walk(&buf));
                    pool.give_back(buf);
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

// ---- streamed --------------------------------------------------------------

/// 4 KiB frames arriving in 64 KiB reads: each read is copied into the read
/// buffer (as a socket read would), then every whole frame is decoded. The
/// read buffers persist across iterations, as they do on a connection; the
/// stream ends on a frame boundary, so each iteration starts clean.
fn streamed(c: &mut Criterion) {
    let frames = STREAM_READ * STREAM_READS / (HEADER + STREAM_FRAME);
    let w = wire(STREAM_FRAME, frames);
    let reads: Vec<&[u8]> = w.chunks(STREAM_READ).collect();
    // Reads of 64 KiB plus a partial frame need more than the default 8 KiB
    // buffer; a server reading 64 KiB at a time would configure this.
    let config = ReadBufConfig {
        read_capacity: STREAM_READ,
        retain_capacity: 4 * STREAM_READ,
    };

    let mut group = c.benchmark_group("streamed");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Bytes(w.len() as u64));

    let mut reader = FrameReader::with_config(ours(), config);
    group.bench_function("ours_owned", |b| {
        b.iter(|| {
            let mut n = 0;
            for read in &reads {
                reader.extend_from_slice(read);
                while let Some(frame) = reader.next_frame().expect("bench wire is valid") {
                    black_box(&frame[..]);
                    n += 1;
                }
            }
            assert_eq!(n, frames);
        })
    });
    let mut reader = FrameReader::with_config(ours(), config);
    group.bench_function("ours_borrowed", |b| {
        b.iter(|| {
            let mut n = 0;
            for read in &reads {
                reader.extend_from_slice(read);
                n += reader
                    .for_each_frame(|frame| {
                        black_box(frame);
                    })
                    .expect("bench wire is valid");
            }
            assert_eq!(n, frames);
        })
    });
    let mut codec = LengthDelimitedCodec::new();
    let mut buf = BytesMut::with_capacity(2 * STREAM_READ);
    group.bench_function("tokio_util", |b| {
        b.iter(|| {
            let mut n = 0;
            for read in &reads {
                buf.extend_from_slice(read);
                while let Some(frame) = codec.decode(&mut buf).expect("bench wire is valid") {
                    black_box(&frame[..]);
                    n += 1;
                }
            }
            assert_eq!(n, frames);
        })
    });
    // The same reads copied into one reused 64 KiB buffer and nothing else.
    let mut dst = vec![0u8; STREAM_READ];
    group.bench_function("memcpy", |b| {
        b.iter(|| {
            for read in &reads {
                dst[..read.len()].copy_from_slice(read);
                black_box(&dst);
            }
        })
    });
    group.finish();
}

// ---- encode ----------------------------------------------------------------

/// Empties `wire` the way a writer does: vectored writes of up to 64 slices,
/// each followed by `advance` of what was written.
fn drain(wire: &mut WireBuf) {
    while !wire.is_empty() {
        let written: usize = {
            let mut iov = [IoSlice::new(&[]); 64];
            let n = wire.io_slices(&mut iov);
            black_box(&iov[..n]);
            iov[..n].iter().map(|s| s.len()).sum()
        };
        wire.advance(written);
    }
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    for len in SIZES {
        let frames = frames_for(len);
        // One shared payload, as when a message is sent to many sessions;
        // each encode gets its own handle, cloned in the untimed setup.
        let payload = Bytes::from(payload(len));
        let handles = || vec![payload.clone(); frames];

        // Untimed check: both encoders produce the same wire bytes.
        let mut check = WireBuf::new();
        let mut codec = ours();
        for p in handles() {
            codec.encode(p, &mut check).expect("encodable");
        }
        let mut tokio_out = BytesMut::new();
        let mut tokio = LengthDelimitedCodec::new();
        for p in handles() {
            tokio.encode(p, &mut tokio_out).expect("encodable");
        }
        assert_eq!(check.to_vec(), tokio_out.as_ref());
        assert_eq!(check.to_vec(), wire(len, frames));

        let (warm, measure) = timing(len);
        group.warm_up_time(warm).measurement_time(measure);
        group.throughput(Throughput::Elements(frames as u64));
        let mut codec = ours();
        let mut out = WireBuf::new();
        group.bench_function(BenchmarkId::new("ours", label(len)), |b| {
            b.iter_batched(
                handles,
                |mut payloads| {
                    for p in payloads.drain(..) {
                        codec.encode(p, &mut out).expect("encodable");
                    }
                    drain(&mut out);
                    payloads
                },
                BatchSize::LargeInput,
            )
        });
        let mut codec = LengthDelimitedCodec::new();
        let mut out = BytesMut::new();
        group.bench_function(BenchmarkId::new("tokio_util", label(len)), |b| {
            b.iter_batched(
                handles,
                |mut payloads| {
                    for p in payloads.drain(..) {
                        codec.encode(p, &mut out).expect("encodable");
                    }
                    black_box(&out[..]);
                    out.clear();
                    payloads
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).configure_from_args();
    targets = decode, streamed, encode
}
criterion_main!(benches);
