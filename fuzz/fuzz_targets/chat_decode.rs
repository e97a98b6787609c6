#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| proto_chat::fuzz::decode(data));
