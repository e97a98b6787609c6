//! Steady state allocates nothing: once a reader or a `WireBuf` has warmed
//! up, decoding a frame (owned or borrowed) and encoding one cost zero heap
//! allocations, however many frames go through.
//!
//! A counting global allocator counts every allocation (and reallocation)
//! made by the current thread; each test measures only its own thread, so
//! tests running in parallel do not disturb each other.
// `GlobalAlloc` is an unsafe trait, so counting allocations needs `unsafe`.
// The allocator below only bumps a thread-local counter and forwards every
// call unchanged to `System`; proto-core itself stays `forbid(unsafe_code)`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::IoSlice;

use bytes::{Bytes, BytesMut};
use proto_core::frame::{FrameReader, LengthField, WireBuf, for_each_frame};
use proto_core::message::{MessageBuilder, MessageResolver};

struct CountingAlloc;

thread_local! {
    // Const-initialised and without a destructor: touching it from inside the
    // allocator neither allocates nor registers anything.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count_one() {
    // `try_with`: the slot is gone while the thread shuts down; those
    // allocations are not ours to count.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every method forwards its arguments unchanged to `System`, which
// upholds the `GlobalAlloc` contract; counting touches no heap memory.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: the caller's guarantees for `layout` are passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: as in `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: `ptr` and `layout` come from this allocator, i.e. from
        // `System`, as the caller guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as in `realloc`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Runs `f` and returns how many allocations this thread made meanwhile.
fn allocations_during<T>(f: impl FnOnce() -> T) -> (u64, T) {
    let before = ALLOCATIONS.with(Cell::get);
    let out = f();
    let after = ALLOCATIONS.with(Cell::get);
    (after - before, out)
}

/// Payload sizes cycled through by every stream: tiny, small, around the
/// copy limit, and larger than one read (so frames span reads and the
/// decoder goes through its `Body` state).
const SIZES: [usize; 6] = [0, 16, 64, 300, 1024, 5000];
/// Frames per stream: enough to cycle the sizes many times.
const FRAMES: usize = 600;
/// Bytes per simulated socket read; not a multiple of any frame size, so
/// headers and bodies are split at every possible place.
const READ: usize = 4093;

/// `FRAMES` frames in the tokio-util format (u32 BE payload length).
fn wire() -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..FRAMES {
        let len = SIZES[i % SIZES.len()];
        out.extend_from_slice(&u32::try_from(len).expect("small").to_be_bytes());
        out.extend((0..len).map(|j| (i + j) as u8));
    }
    out
}

fn codec() -> proto_core::frame::LengthFieldCodec {
    LengthField::tokio_util().new_codec()
}

#[test]
fn counter_sees_allocations() {
    // Guards the other tests against passing vacuously.
    let (n, boxed) = allocations_during(|| Box::new([0u8; 64]));
    assert!(n >= 1, "the counting allocator did not count a Box");
    drop(boxed);
    let (n, v) = allocations_during(|| {
        let mut v = Vec::with_capacity(1);
        v.extend_from_slice(&[1u8; 100]);
        v
    });
    assert!(n >= 2, "alloc and realloc should both count, saw {n}");
    drop(v);
}

/// Feeds `wire` to `reader` in `READ`-byte reads, `rounds` times, draining
/// owned frames after each read and dropping them; returns the frame count.
fn stream_owned(
    reader: &mut FrameReader<proto_core::frame::LengthFieldCodec>,
    wire: &[u8],
    rounds: usize,
) -> usize {
    let mut frames = 0;
    for _ in 0..rounds {
        for read in wire.chunks(READ) {
            reader.extend_from_slice(read);
            while let Some(frame) = reader.next_frame().expect("valid stream") {
                assert!(SIZES.contains(&frame.len()));
                frames += 1;
            }
        }
    }
    frames
}

#[test]
fn owned_decode_allocates_nothing_in_steady_state() {
    let wire = wire();
    let mut reader = FrameReader::new(codec());
    // Warm-up: the read buffer reaches its working size and becomes shared.
    assert_eq!(stream_owned(&mut reader, &wire, 2), 2 * FRAMES);

    let (allocs, frames) = allocations_during(|| stream_owned(&mut reader, &wire, 20));
    assert_eq!(frames, 20 * FRAMES);
    assert_eq!(allocs, 0, "{allocs} allocations for {frames} owned frames");
}

#[test]
fn owned_decode_loop_on_bytes_mut_allocates_nothing_in_steady_state() {
    let wire = wire();
    let mut codec = codec();
    let mut buf = BytesMut::new();
    let mut run = |rounds: usize| {
        let mut frames = 0;
        for _ in 0..rounds {
            for read in wire.chunks(READ) {
                buf.extend_from_slice(read);
                for frame in codec.frames(&mut buf) {
                    let frame = frame.expect("valid stream");
                    assert!(SIZES.contains(&frame.len()));
                    frames += 1;
                }
            }
        }
        frames
    };
    assert_eq!(run(2), 2 * FRAMES);

    let (allocs, frames) = allocations_during(|| run(20));
    assert_eq!(frames, 20 * FRAMES);
    assert_eq!(allocs, 0, "{allocs} allocations for {frames} owned frames");
}

#[test]
fn borrowed_decode_allocates_nothing_in_steady_state() {
    let wire = wire();
    let mut reader = FrameReader::new(codec());
    let mut bare = codec();
    let mut buf = BytesMut::new();
    let mut run = |rounds: usize| {
        let mut frames = 0;
        let mut bytes = 0;
        for _ in 0..rounds {
            for read in wire.chunks(READ) {
                reader.extend_from_slice(read);
                frames += reader
                    .for_each_frame(|frame| bytes += frame.len())
                    .expect("valid stream");
                buf.extend_from_slice(read);
                frames += for_each_frame(&mut bare, &mut buf, |frame| bytes += frame.len())
                    .expect("valid stream");
            }
        }
        (frames, bytes)
    };
    let (warm, _) = run(2);
    assert_eq!(warm, 2 * 2 * FRAMES);

    let (allocs, (frames, bytes)) = allocations_during(|| run(20));
    assert_eq!(frames, 20 * 2 * FRAMES);
    assert!(bytes > 0);
    assert_eq!(
        allocs, 0,
        "{allocs} allocations for {frames} borrowed frames"
    );
}

/// How a writer empties a `WireBuf`.
#[derive(Clone, Copy)]
enum Drain {
    /// Vectored writes of at most 8 slices and 3000 bytes (a socket that
    /// takes part of what it is offered), each followed by `advance`.
    PartialWrites,
    /// `pop_chunk` until empty, each chunk written and dropped.
    PopChunks,
}

fn drain(wire: &mut WireBuf, how: Drain) -> usize {
    let mut written = 0;
    match how {
        Drain::PartialWrites => {
            while !wire.is_empty() {
                let n = {
                    let mut iov = [IoSlice::new(&[]); 8];
                    let k = wire.io_slices(&mut iov);
                    iov[..k].iter().map(|s| s.len()).sum::<usize>().min(3000)
                };
                wire.advance(n);
                written += n;
            }
        }
        Drain::PopChunks => {
            while let Some(chunk) = wire.pop_chunk() {
                written += chunk.len();
            }
        }
    }
    written
}

fn encode_allocates_nothing(how: Drain) {
    // One shared payload per size, as a server sends the same message to
    // many sessions; handles are cloned before the measured phase (a clone
    // of a shared `Bytes` does not allocate, but the Vec holding them does).
    let payloads: Vec<Bytes> = SIZES
        .iter()
        .map(|&n| Bytes::from((0..n).map(|i| i as u8).collect::<Vec<u8>>()))
        .collect();
    let batch = |round: usize| -> Vec<Bytes> {
        (0..50)
            .map(|i| payloads[(round + i) % payloads.len()].clone())
            .collect()
    };
    let mut codec = codec();
    let mut wire = WireBuf::new();
    let mut send = |batch: Vec<Bytes>, wire: &mut WireBuf| {
        let mut expected = 0;
        for payload in batch {
            expected += 4 + payload.len();
            codec.encode(payload, wire).expect("encodable");
        }
        assert_eq!(drain(wire, how), expected);
    };
    // Warm-up: every rotation of the sizes once, so that the staging buffer
    // and the chunk queue reach the largest size a batch needs.
    for round in 0..payloads.len() {
        send(batch(round), &mut wire);
    }

    let batches: Vec<Vec<Bytes>> = (0..40).map(batch).collect();
    let frames: usize = batches.iter().map(Vec::len).sum();
    let (allocs, ()) = allocations_during(|| {
        for batch in batches {
            send(batch, &mut wire);
        }
    });
    assert_eq!(
        allocs, 0,
        "{allocs} allocations for {frames} encoded frames"
    );
}

#[test]
fn encode_into_drained_wire_buf_allocates_nothing_in_steady_state() {
    encode_allocates_nothing(Drain::PartialWrites);
}

#[test]
fn encode_drained_by_pop_chunk_allocates_nothing_in_steady_state() {
    encode_allocates_nothing(Drain::PopChunks);
}

/// Sends through a session and writes what it transmits as shared chunks
/// (as the driver does, with the session's lock released), `rounds` times:
/// a batch of replies, then a write that takes all of it or, every third
/// round, all but a few bytes (left for the next round). Returns the bytes
/// written.
fn send_and_share(
    session: &mut proto_core::session::Session<
        proto_core::frame::LengthFieldCodec,
        proto_core::frame::LengthFieldCodec,
    >,
    batch: &mut Vec<Bytes>,
    payloads: &[Bytes],
    rounds: usize,
    now: std::time::Instant,
) -> usize {
    let mut written = 0;
    for round in 0..rounds {
        for payload in payloads {
            session.send(payload.clone()).expect("queued");
        }
        while session.wants_write() {
            session.transmit_chunks(batch);
            let offered: usize = batch.iter().map(Bytes::len).sum();
            // The chunks are dropped before the session is told, as the
            // driver drops them before it takes the lock again.
            batch.clear();
            let n = match round % 3 {
                2 => offered.saturating_sub(3).max(1),
                _ => offered,
            };
            session.handle_written(n, now);
            written += n;
            if round % 3 == 2 {
                break;
            }
        }
    }
    written
}

#[test]
fn writes_through_shared_chunks_allocate_nothing_in_steady_state() {
    let now = std::time::Instant::now();
    let codec = LengthField::tokio_util();
    let mut session = proto_core::session::Session::new(
        codec.new_codec(),
        codec.new_codec(),
        proto_core::session::SessionConfig::default(),
        now,
    );
    // Small replies (copied next to their headers) and one larger than
    // the copy limit (its own chunk), as an echo server's turn makes.
    let payloads: Vec<Bytes> = [16, 64, 300, 16, 1024]
        .iter()
        .map(|&len| Bytes::from(vec![7u8; len]))
        .collect();
    let mut batch = Vec::with_capacity(64);
    assert!(send_and_share(&mut session, &mut batch, &payloads, 30, now) > 0);

    let (allocs, bytes) =
        allocations_during(|| send_and_share(&mut session, &mut batch, &payloads, 3000, now));
    assert!(bytes > 0);
    assert_eq!(allocs, 0, "{allocs} allocations for {bytes} bytes written");
}
