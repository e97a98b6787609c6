#![no_main]

use proto_testkit::fuzz::{self, input::RoundTrip};

libfuzzer_sys::fuzz_target!(|input: RoundTrip| fuzz::round_trip(input));
