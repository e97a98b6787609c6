#![no_main]

// The core reads no clock: the target gives the virtual clock its origin.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    proto_testkit::fuzz::driver_ops(data, std::time::Instant::now())
});
