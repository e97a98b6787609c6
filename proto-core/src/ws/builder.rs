//! [`WsBuilder`]: payloads into WebSocket frames.

use bytes::{Bytes, BytesMut};

use super::gate::Gate;
use super::head::{self, MAX_HEAD_LEN, Opcode};
use super::{MessageKind, WsError, close_code, next_mask};
use crate::frame::{FrameError, MessageBuilder, WireBuf};
use crate::rng::SplitMix64;

/// Writes each payload as one final WebSocket frame of its
/// [`MessageKind`]. A server's builder writes the header beside the payload
/// without copying it (one encoded frame can be shared by a broadcast); a
/// client's masks a copy of the payload with a fresh key per frame.
///
/// The builder of a session (made with its resolver by
/// [`MessageFactory::new_codec_pair`](crate::frame::MessageFactory::new_codec_pair))
/// holds the frames sent before the opening handshake is done, up to
/// `max_held_before_open` bytes, and its resolver writes them after it.
#[derive(Debug, Clone)]
pub struct WsBuilder {
    opcode: Opcode,
    /// The mask stream, for a client.
    masks: Option<SplitMix64>,
    /// Shared with the resolver: holds frames until the handshake is
    /// done, and says whether a close frame went out.
    gate: Option<Gate>,
    /// The gate was seen open (no more looking on each frame).
    open: bool,
    max_held: usize,
}

impl WsBuilder {
    pub(super) fn new(
        kind: MessageKind,
        masks: Option<SplitMix64>,
        gate: Option<(Gate, usize)>,
    ) -> Self {
        let opcode = match kind {
            MessageKind::Binary => Opcode::Binary,
            MessageKind::Text => Opcode::Text,
        };
        let (gate, max_held) = gate.map_or((None, 0), |(gate, max)| (Some(gate), max));
        Self {
            opcode,
            masks,
            open: gate.is_none(),
            gate,
            max_held,
        }
    }
}

impl MessageBuilder for WsBuilder {
    fn encode(&mut self, payload: Bytes, dst: &mut WireBuf) -> Result<(), FrameError> {
        if self.opcode == Opcode::Text && std::str::from_utf8(&payload).is_err() {
            return Err(WsError::InvalidUtf8ToSend.into());
        }
        if let (false, Some(gate)) = (self.open, &self.gate) {
            let (opcode, masks) = (self.opcode, &mut self.masks);
            let frame = || head::frame_bytes(opcode, &payload, masks.as_mut().map(next_mask));
            if gate.hold(frame, self.max_held)? {
                return Ok(());
            }
            self.open = true;
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

    /// A close frame with 1000 (1001 when `going_away`), unless the
    /// handshake is not done (nothing is WebSocket yet) or a close frame
    /// already went out (the resolver's reply to the peer's close, or its
    /// answer to a protocol error).
    fn encode_goodbye(&mut self, going_away: bool, dst: &mut WireBuf) -> Result<(), FrameError> {
        if self.gate.as_ref().is_some_and(|gate| !gate.take_goodbye()) {
            return Ok(());
        }
        let code = if going_away {
            close_code::GOING_AWAY
        } else {
            close_code::NORMAL
        };
        let mask = self.masks.as_mut().map(next_mask);
        dst.put_slice(&head::frame_bytes(Opcode::Close, &code.to_be_bytes(), mask));
        Ok(())
    }
}
