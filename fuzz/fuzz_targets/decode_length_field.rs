#![no_main]

use proto_testkit::fuzz::{self, input::DecodeLengthField};

libfuzzer_sys::fuzz_target!(|input: DecodeLengthField| fuzz::decode_length_field(input));
