#![no_main]

use proto_testkit::fuzz::{self, input::DecodeLine};

libfuzzer_sys::fuzz_target!(|input: DecodeLine| fuzz::decode_line(input));
