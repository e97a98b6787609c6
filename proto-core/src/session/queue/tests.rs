//! The queue against a model: a plain list of messages with their
//! bytes, written front to back.
use std::collections::VecDeque;

use bytes::Bytes;
use proptest::prelude::*;

use super::{Overflow, Pushed, SendQueue};

#[derive(Debug, Clone)]
enum Op {
    /// A message of this many bytes; `Some(key)` for `KeepLatest`.
    Send {
        len: usize,
        key: Option<u64>,
        disconnect: bool,
    },
    Control {
        len: usize,
    },
    Write(usize),
    /// Shares a batch of at most this many bytes (and, if given, chunks)
    /// with a writer: in flight until the next `Write`.
    Share {
        max: usize,
        chunks: Option<usize>,
    },
    Clear,
    Release,
}

fn op() -> impl Strategy<Value = Op> {
    // No empty messages: a frame has a header, and the model would
    // need the queue's exact moment of settling an empty one.
    let len = prop_oneof![8 => 1..24usize, 1 => 250..300usize];
    prop_oneof![
        6 => (len, prop::option::weighted(0.3, 0..3u64), any::<bool>())
            .prop_map(|(len, key, disconnect)| Op::Send { len, key, disconnect }),
        1 => (1..4usize).prop_map(|len| Op::Control { len }),
        4 => (0..80usize).prop_map(Op::Write),
        2 => (0..80usize, prop::option::of(1..4usize))
            .prop_map(|(max, chunks)| Op::Share { max, chunks }),
        1 => Just(Op::Clear),
        1 => Just(Op::Release),
    ]
}

#[derive(Debug)]
struct Msg {
    bytes: Vec<u8>,
    /// Bytes already written.
    written: usize,
    counted: bool,
    key: Option<u64>,
}

#[derive(Default)]
struct Model {
    msgs: VecDeque<Msg>,
    /// Bytes from the front shared with a writer and not yet written.
    in_flight: usize,
}

impl Model {
    fn counted(&self) -> (usize, usize) {
        let counted = self.msgs.iter().filter(|m| m.counted);
        (
            counted.clone().count(),
            counted.map(|m| m.bytes.len()).sum(),
        )
    }

    fn unwritten(&self) -> Vec<u8> {
        self.msgs
            .iter()
            .flat_map(|m| m.bytes[m.written..].iter().copied())
            .collect()
    }

    /// Bytes before message `i`'s first unwritten one.
    fn begins(&self, i: usize) -> usize {
        self.msgs
            .iter()
            .take(i)
            .map(|m| m.bytes.len() - m.written)
            .sum()
    }

    fn written(&mut self, mut n: usize) -> usize {
        self.in_flight = 0;
        let mut done = 0;
        while let Some(front) = self.msgs.front_mut() {
            let k = n.min(front.bytes.len() - front.written);
            front.written += k;
            n -= k;
            if front.written < front.bytes.len() {
                break;
            }
            done += usize::from(front.counted);
            self.msgs.pop_front();
            if n == 0 {
                break;
            }
        }
        done
    }
}

const MAX_MESSAGES: usize = 6;
const MAX_BYTES: usize = 400;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn queue_matches_a_list_of_messages(ops in prop::collection::vec(op(), 1..120)) {
        let mut q = SendQueue::new(MAX_MESSAGES, MAX_BYTES);
        let mut model = Model::default();
        let mut next = 0u8;
        for (i, op) in ops.into_iter().enumerate() {
            match op {
                Op::Send { len, key, disconnect } => {
                    next = next.wrapping_add(1);
                    let bytes = vec![next; len];
                    let payload = Bytes::from(bytes.clone());
                    let encode = |wire: &mut crate::frame::WireBuf| {
                        wire.put_bytes(payload);
                        Ok(())
                    };
                    let (counted_now, bytes_now) = model.counted();
                    let full = counted_now >= MAX_MESSAGES || bytes_now + len > MAX_BYTES;
                    match key {
                        Some(key) => {
                            let got = q.push(encode, Overflow::KeepLatest(key));
                            // Not begun on the wire nor in flight, same key:
                            // replaced in place if the bytes limit allows.
                            let old = (0..model.msgs.len()).find(|&i| {
                                let m = &model.msgs[i];
                                m.key == Some(key) && m.written == 0
                                    && model.begins(i) >= model.in_flight
                            });
                            let old = old.map(|i| &mut model.msgs[i]);
                            let replace = old.filter(|m| {
                                bytes_now - m.bytes.len() + len <= MAX_BYTES
                            });
                            if let Some(old) = replace {
                                old.bytes = bytes;
                                prop_assert_eq!(got, Ok(Pushed::Replaced));
                            } else if full {
                                prop_assert!(matches!(got, Err(Some(_))), "{:?}", got);
                            } else {
                                prop_assert_eq!(got, Ok(Pushed::Queued));
                                model.msgs.push_back(Msg { bytes, written: 0, counted: true, key: Some(key) });
                            }
                        }
                        None => {
                            let policy = if disconnect { Overflow::Disconnect } else { Overflow::Reject };
                            // Both ways in: the closure, and the open
                            // run's buffer as `Session::send` uses it.
                            let got = if i % 2 == 0 {
                                q.push(encode, policy)
                            } else {
                                let wire = q.tail_wire();
                                let before = wire.len();
                                encode(wire).expect("put_bytes cannot fail");
                                q.commit(before, policy)
                            };
                            if full {
                                // `Err(None)`: the policy disconnects.
                                prop_assert_eq!(got.map_err(|e| e.is_some()), Err(!disconnect));
                            } else {
                                prop_assert_eq!(got, Ok(Pushed::Queued));
                                model.msgs.push_back(Msg { bytes, written: 0, counted: true, key: None });
                            }
                        }
                    }
                }
                Op::Control { len } => {
                    let bytes = vec![0xff; len];
                    let payload = Bytes::from(bytes.clone());
                    q.push_control(|wire| {
                        wire.put_bytes(payload);
                        Ok(())
                    })
                    .expect("put_bytes cannot fail");
                    model.msgs.push_back(Msg { bytes, written: 0, counted: false, key: None });
                }
                Op::Write(n) => {
                    // A writer reports at most what it was given.
                    let offered = match model.in_flight {
                        0 => q.unwritten(),
                        shared => shared,
                    };
                    let n = n.min(offered);
                    prop_assert_eq!(q.written(n), model.written(n));
                }
                Op::Share { max, chunks } => {
                    let mut out = Vec::new();
                    let total = q.share_chunks(&mut out, max, chunks.unwrap_or(usize::MAX));
                    let unwritten = model.unwritten();
                    match chunks {
                        None => prop_assert_eq!(total, max.min(unwritten.len())),
                        Some(cap) => prop_assert!(total <= max && out.len() <= cap),
                    }
                    prop_assert_eq!(out.concat(), &unwritten[..total]);
                    model.in_flight = total;
                }
                Op::Clear => {
                    prop_assert_eq!(q.clear(), model.counted().0);
                    model.msgs.clear();
                    model.in_flight = 0;
                }
                Op::Release => q.release_spares(),
            }
            // Counted totals include the written part of a message
            // until it is whole on the wire.
            prop_assert_eq!((q.messages(), q.bytes()), model.counted());
            let unwritten = model.unwritten();
            prop_assert_eq!(q.unwritten(), unwritten.len());
            prop_assert_eq!(q.is_empty(), unwritten.is_empty());
            let mut slices = [std::io::IoSlice::new(&[]); 64];
            let n = q.io_slices(&mut slices, usize::MAX);
            let offered: Vec<u8> = slices[..n].iter().flat_map(|s| s.iter().copied()).collect();
            prop_assert_eq!(&offered, &unwritten);
        }
    }
}

/// A writer that never catches up: the run is never written whole, and
/// its settled length records must not pile up.
#[test]
fn a_run_never_written_whole_keeps_few_records() {
    let mut q = SendQueue::new(usize::MAX, usize::MAX);
    for i in 0..100_000usize {
        // Lengths that vary, so that every message is a record.
        let len = 1 + i % 7;
        q.push(
            |wire| {
                wire.put_slice(&vec![1; len]);
                Ok(())
            },
            Overflow::Reject,
        )
        .expect("no limits");
        // Leave 2 bytes behind every time.
        q.written(q.unwritten().saturating_sub(2));
    }
    assert!(
        q.tail.groups.len() < 1_000,
        "{} groups",
        q.tail.groups.len()
    );
    assert_eq!(q.messages(), 1);
}

/// Queues `[a; 10]` under no key, then `[b; 10]` under key 7, and shares
/// `in_flight` bytes with a writer.
fn keyed_behind_a_flight(in_flight: usize) -> SendQueue {
    let mut q = SendQueue::new(usize::MAX, usize::MAX);
    for (byte, policy) in [(b'a', Overflow::Reject), (b'b', Overflow::KeepLatest(7))] {
        let pushed = q.push(
            |wire| {
                wire.put_slice(&[byte; 10]);
                Ok(())
            },
            policy,
        );
        assert_eq!(pushed, Ok(Pushed::Queued));
    }
    let mut chunks = Vec::new();
    assert_eq!(
        q.share_chunks(&mut chunks, in_flight, usize::MAX),
        in_flight
    );
    q
}

fn push_keyed_c(q: &mut SendQueue) -> Result<Pushed, Option<super::SendError>> {
    q.push(
        |wire| {
            wire.put_slice(&[b'c'; 10]);
            Ok(())
        },
        Overflow::KeepLatest(7),
    )
}

fn unwritten(q: &SendQueue) -> Vec<u8> {
    let mut slices = [std::io::IoSlice::new(&[]); 8];
    let n = q.io_slices(&mut slices, usize::MAX);
    slices[..n].iter().flat_map(|s| s.iter().copied()).collect()
}

/// A batch that ends exactly where the keyed message begins leaves it
/// replaceable.
#[test]
fn keyed_replacement_at_the_in_flight_boundary_replaces() {
    let mut q = keyed_behind_a_flight(10);
    assert_eq!(push_keyed_c(&mut q), Ok(Pushed::Replaced));
    assert_eq!(unwritten(&q), [[b'a'; 10], [b'c'; 10]].concat());
    // The writer took its 10 bytes: what is left is the newer message.
    assert_eq!(q.written(10), 1);
    assert_eq!(unwritten(&q), [b'c'; 10]);
}

/// A batch with one byte of the keyed message in it protects the message:
/// the newer one is queued behind it, and the bytes the writer reports
/// are the bytes it was given.
#[test]
fn keyed_replacement_never_touches_in_flight_bytes() {
    let mut q = keyed_behind_a_flight(11);
    assert_eq!(push_keyed_c(&mut q), Ok(Pushed::Queued));
    assert_eq!(unwritten(&q), [[b'a'; 10], [b'b'; 10], [b'c'; 10]].concat());
    assert_eq!(q.written(11), 1);
    // The flight landed: the rest of `b` is the front (partly written),
    // still protected, and `c` is replaceable again.
    assert_eq!(unwritten(&q), [&[b'b'; 9][..], &[b'c'; 10]].concat());
    assert_eq!(push_keyed_c(&mut q), Ok(Pushed::Replaced));
    assert_eq!(q.written(19), 2);
    assert!(q.is_empty());
}

/// A close while a batch is in flight drops the queue; the writer's report
/// afterwards consumes nothing.
#[test]
fn written_after_clear_in_flight_is_harmless() {
    let mut q = keyed_behind_a_flight(15);
    assert_eq!(q.clear(), 2);
    assert_eq!(q.written(15), 0);
    assert!(q.is_empty());
    assert_eq!((q.messages(), q.bytes(), q.unwritten()), (0, 0, 0));
}
