//! The raw codec: every read is a frame.

use bytes::Bytes;

use super::{FrameError, WireBuf};
use super::{MessageBuilder, MessageFactory, MessageResolver, Resolved};

/// Configuration of a [`RawCodec`] (it has none: bytes pass through).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Raw;

impl Raw {
    /// A codec.
    pub fn new_codec(&self) -> RawCodec {
        RawCodec
    }
}

impl MessageFactory for Raw {
    type Resolver = RawCodec;
    type Builder = RawCodec;

    fn new_resolver(&self) -> RawCodec {
        RawCodec
    }

    fn new_builder(&self) -> RawCodec {
        RawCodec
    }
}

/// Pass-through codec: decoding delivers whatever bytes are buffered as one
/// frame; encoding writes the payload as is. For protocols that do their own
/// framing above the session, or none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RawCodec;

impl MessageResolver for RawCodec {
    fn resolve(&mut self, src: &[u8]) -> Result<Resolved, FrameError> {
        Ok(if src.is_empty() {
            Resolved::Incomplete
        } else {
            Resolved::Frame {
                frame: 0..src.len(),
                consumed: src.len(),
            }
        })
    }
}

impl MessageBuilder for RawCodec {
    fn encode(&mut self, payload: Bytes, dst: &mut WireBuf) -> Result<(), FrameError> {
        dst.put_bytes(payload);
        Ok(())
    }

    fn encode_parts(
        &mut self,
        head: &[u8],
        payload: Bytes,
        dst: &mut WireBuf,
    ) -> Result<(), FrameError> {
        dst.put_slice(head);
        dst.put_bytes(payload);
        Ok(())
    }
}
