#![no_main]

use proto_testkit::fuzz::{self, ws::WsFrames};

libfuzzer_sys::fuzz_target!(|input: WsFrames| fuzz::ws::ws_frames(input));
