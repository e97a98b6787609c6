#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| proto_core::fuzzing::session_ops(data));
