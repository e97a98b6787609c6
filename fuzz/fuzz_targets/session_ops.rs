#![no_main]

// The core reads no clock: the target gives the session its time origin.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    proto_testkit::fuzz::session_ops(data, std::time::Instant::now())
});
