#![no_main]

use proto_testkit::fuzz::{self, DriverOps};

// The core reads no clock: the target gives the virtual clock its origin.
libfuzzer_sys::fuzz_target!(|input: DriverOps| {
    fuzz::driver_ops(input, std::time::Instant::now())
});
