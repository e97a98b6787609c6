//! The fuzz harness for `fuzz/fuzz_targets/chat_decode.rs` (compiled only
//! with the `fuzz` feature): any bytes decode to a message or an error,
//! never a panic; and a message that decodes encodes back to exactly the
//! same bytes (every field has one encoding).

use bytes::Bytes;

use crate::protocol::Message;

/// Decodes `data` as one frame's payload and checks the round trip.
pub fn decode(data: &[u8]) {
    let frame = Bytes::copy_from_slice(data);
    if let Ok(message) = Message::decode(&frame) {
        assert_eq!(
            message.encode(),
            frame,
            "{message:?} re-encodes differently"
        );
    }
}
