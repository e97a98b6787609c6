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

    fn written(&mut self, mut n: usize) -> usize {
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
                            // Not begun on the wire, same key: replaced in
                            // place if the bytes limit allows.
                            let old = model.msgs.iter_mut().find(|m| {
                                m.key == Some(key) && m.written == 0
                            });
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
                    let n = n.min(q.unwritten());
                    prop_assert_eq!(q.written(n), model.written(n));
                }
                Op::Clear => {
                    prop_assert_eq!(q.clear(), model.counted().0);
                    model.msgs.clear();
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
            let mut chunks = Vec::new();
            q.share_chunks(&mut chunks, usize::MAX);
            prop_assert_eq!(chunks.concat(), unwritten);
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
