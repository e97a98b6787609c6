#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| proto_testkit::fuzz::decode_raw(data));
