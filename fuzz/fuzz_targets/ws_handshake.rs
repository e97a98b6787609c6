#![no_main]

use proto_testkit::fuzz::{self, ws::WsHandshake};

libfuzzer_sys::fuzz_target!(|input: WsHandshake| fuzz::ws::ws_handshake(input));
