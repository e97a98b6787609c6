#![no_main]

// The core reads no clock: the target gives the session its time origin.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    proto_core::fuzzing::session_ops(data, std::time::Instant::now())
});
