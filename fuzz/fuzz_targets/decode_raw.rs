#![no_main]

use proto_testkit::fuzz::{self, input::DecodeRaw};

libfuzzer_sys::fuzz_target!(|input: DecodeRaw| fuzz::decode_raw(input));
