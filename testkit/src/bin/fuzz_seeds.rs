//! Writes the seeds of `proto_testkit::fuzz::seeds` to `fuzz/corpus/<target>/`
//! (or under the directory given as the first argument), replacing what was
//! there: the checked-in corpus is exactly the seeds.
//!
//! ```sh
//! cargo run -p proto-testkit --features fuzz --bin fuzz-seeds
//! ```

use std::path::PathBuf;

use proto_testkit::fuzz::{TARGETS, seeds};

fn main() -> std::io::Result<()> {
    let corpus = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus"),
        PathBuf::from,
    );
    let all = seeds::all();
    for target in TARGETS {
        let dir = corpus.join(target);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        for seed in all.iter().filter(|s| s.target == *target) {
            assert!(
                seed.round_trips,
                "{target}/{} does not decode to its value",
                seed.name
            );
            std::fs::write(dir.join(seed.name), &seed.bytes)?;
        }
    }
    eprintln!("wrote {} seeds under {}", all.len(), corpus.display());
    Ok(())
}
