#![no_main]

use proto_testkit::fuzz::{self, RateOps};

// The core reads no clock: the target gives the meter its time origin.
libfuzzer_sys::fuzz_target!(|input: RateOps| fuzz::rate_limit(input, std::time::Instant::now()));
