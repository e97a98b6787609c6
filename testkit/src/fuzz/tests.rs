//! The checked-in seeds (and past crashes) of `fuzz/corpus/` replayed by
//! `cargo test`, and odd inputs every harness must take.

use std::path::Path;

use super::{TARGETS, driver_ops, session_ops};

/// The checked-in seeds of `target`.
fn seeds(target: &str) -> Vec<Vec<u8>> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    // Absent when the crate is built outside this repository.
    let Ok(entries) = std::fs::read_dir(corpus.join(target)) else {
        return Vec::new();
    };
    entries
        .map(|entry| {
            let path = entry.expect("corpus directory is readable").path();
            std::fs::read(&path).expect("corpus file is readable")
        })
        .collect()
}

/// The checked-in seeds (and past crashes) stay passing.
#[test]
fn replays_checked_in_corpus() {
    for (target, harness) in TARGETS {
        for data in seeds(target) {
            harness(&data);
        }
    }
    let session_seeds = seeds("session_ops");
    assert!(
        !session_seeds.is_empty(),
        "session_ops seeds are checked in"
    );
    for data in session_seeds {
        session_ops(&data, std::time::Instant::now());
    }
    let driver_seeds = seeds("driver_ops");
    assert!(!driver_seeds.is_empty(), "driver_ops seeds are checked in");
    for data in driver_seeds {
        driver_ops(&data, std::time::Instant::now());
    }
}

#[test]
fn harnesses_take_any_input() {
    let inputs: [&[u8]; 6] = [
        b"",
        b"\x00",
        &[0xff; 40],
        b"\x00\x00\x00\x00\x40\x00\x00\x00\x00\x00\x00\x02hi\x00\x00\x00\x01!",
        b"\x80\x00\x00\x00\x00\x00\x00ab\r\ncd\n\xff\xfe\nlast",
        b"\x01\x05\x00\x00\x00\x01\x00\x00\x00\x00\x00\x02hi\x00\x01\r",
    ];
    for input in inputs {
        for (_, harness) in TARGETS {
            harness(input);
        }
        session_ops(input, std::time::Instant::now());
        driver_ops(input, std::time::Instant::now());
    }
}
