#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| proto_core::fuzzing::decode_raw(data));
