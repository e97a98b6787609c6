//! The seeds: each decodes to the typed value it was written from, the
//! checked-in corpus is exactly the seeds, and `cargo test` replays it
//! (past crashes included); and odd inputs every harness must take.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use super::seeds;
use super::{TARGETS, run_bytes};

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus")
}

/// The checked-in files of `target`, by name (none when the crate is built
/// outside this repository).
fn checked_in(target: &str) -> BTreeMap<String, Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(corpus().join(target)) else {
        return BTreeMap::new();
    };
    entries
        .map(|entry| {
            let path = entry.expect("corpus directory is readable").path();
            let name = path.file_name().expect("a file name").to_string_lossy();
            (
                name.into_owned(),
                std::fs::read(&path).expect("corpus file is readable"),
            )
        })
        .collect()
}

#[test]
fn every_seed_decodes_to_its_typed_value() {
    let all = seeds::all();
    for target in TARGETS {
        assert!(
            all.iter().any(|s| s.target == *target),
            "{target} has seeds"
        );
    }
    for seed in &all {
        assert!(
            seed.round_trips,
            "{}/{} does not decode to the value it was written from",
            seed.target, seed.name
        );
    }
}

#[test]
fn checked_in_corpus_is_the_seeds() {
    if !corpus().exists() {
        return; // built outside this repository
    }
    for target in TARGETS {
        let files = checked_in(target);
        let seeds: BTreeMap<String, Vec<u8>> = seeds::all()
            .into_iter()
            .filter(|s| s.target == *target)
            .map(|s| (s.name.to_string(), s.bytes))
            .collect();
        assert!(
            files == seeds,
            "fuzz/corpus/{target} is not what the seeds write: run \
             `cargo run -p proto-testkit --features fuzz --bin fuzz-seeds`"
        );
    }
}

/// The checked-in seeds (and past crashes) stay passing.
#[test]
fn replays_checked_in_corpus() {
    for target in TARGETS {
        for (name, data) in checked_in(target) {
            assert!(
                run_bytes(target, &data, Instant::now()),
                "{target}/{name} does not decode"
            );
        }
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
        for target in TARGETS {
            run_bytes(target, input, Instant::now());
        }
    }
}
