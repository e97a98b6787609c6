#![no_main]

use proto_testkit::fuzz::{self, SessionOps};

// The core reads no clock: the target gives the session its time origin.
libfuzzer_sys::fuzz_target!(|input: SessionOps| {
    fuzz::session_ops(input, std::time::Instant::now())
});
