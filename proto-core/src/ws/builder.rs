//! [`WsBuilder`]: payloads into WebSocket frames.

use bytes::{Bytes, BytesMut};

use super::head::{self, MAX_HEAD_LEN, Opcode};
use super::{MessageKind, WsError, next_mask};
use crate::frame::{FrameError, MessageBuilder, WireBuf};
use crate::rng::SplitMix64;

/// Writes each payload as one final WebSocket frame of its
/// [`MessageKind`]. A server's builder writes the header beside the payload
/// without copying it (one encoded frame can be shared by a broadcast); a
/// client's masks a copy of the payload with a fresh key per frame.
#[derive(Debug, Clone)]
pub struct WsBuilder {
    opcode: Opcode,
    /// The mask stream, for a client.
    masks: Option<SplitMix64>,
}

impl WsBuilder {
    pub(super) fn new(kind: MessageKind, masks: Option<SplitMix64>) -> Self {
        let opcode = match kind {
            MessageKind::Binary => Opcode::Binary,
            MessageKind::Text => Opcode::Text,
        };
        Self { opcode, masks }
    }
}

impl MessageBuilder for WsBuilder {
    fn encode(&mut self, payload: Bytes, dst: &mut WireBuf) -> Result<(), FrameError> {
        if self.opcode == Opcode::Text && std::str::from_utf8(&payload).is_err() {
            return Err(WsError::InvalidUtf8ToSend.into());
        }
        let mask = self.masks.as_mut().map(next_mask);
        let mut header = [0; MAX_HEAD_LEN];
        let n = head::encode(self.opcode, payload.len(), mask, &mut header);
        dst.put_slice(&header[..n]);
        match mask {
            None => dst.put_bytes(payload),
            Some(key) => {
                let mut masked = BytesMut::from(&payload[..]);
                head::apply_mask(&mut masked, key);
                dst.put_bytes(masked.freeze());
            }
        }
        Ok(())
    }
}
