//! [`SharedFrame`]: a message framed once and queued on many sessions.

use bytes::Bytes;

use super::SessionConfig;
use super::control;
use crate::frame::{FrameError, WireBuf};
use crate::message::MessageBuilder;

/// A message already framed, ready to queue on any number of sessions with
/// [`Session::send_shared`](super::Session::send_shared): the wire bytes are
/// reference-counted [`Bytes`], so every queue holds the same buffer and
/// nothing is copied per receiver. Each receiver's queue limits are still
/// charged the frame's full length.
///
/// The frame carries the session's control prefix when heartbeats are on, so
/// it must be built with the same [`SessionConfig`] (and codec) as the
/// sessions it is sent to; a mismatch is refused with
/// [`SendError::IncompatibleFrame`](super::SendError::IncompatibleFrame).
///
/// ```
/// use std::time::Instant;
/// use bytes::Bytes;
/// use proto_core::frame::LengthField;
/// use proto_core::message::MessageFactory;
/// use proto_core::session::{Session, SessionConfig, SharedFrame};
///
/// let codec = LengthField::laster40net();
/// let config = SessionConfig::default();
/// let now = Instant::now();
/// let mut a = Session::from_factory(&codec, config.clone(), now);
/// let mut b = Session::from_factory(&codec, config.clone(), now);
///
/// let frame = SharedFrame::encode(&mut codec.new_builder(), Bytes::from_static(b"hi all"), &config)?;
/// a.send_shared(&frame)?;
/// b.send_shared(&frame)?;
/// assert_eq!(a.queued(), (1, 10));
/// assert_eq!(b.queued(), (1, 10));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct SharedFrame {
    chunks: Vec<Bytes>,
    len: usize,
    control_prefix: bool,
}

impl SharedFrame {
    /// Frames `payload` with `builder` for sessions configured as `config`.
    pub fn encode<B: MessageBuilder + ?Sized>(
        builder: &mut B,
        payload: Bytes,
        config: &SessionConfig,
    ) -> Result<Self, FrameError> {
        let control_prefix = config.heartbeat.is_some();
        let mut wire = WireBuf::new();
        if control_prefix {
            builder.encode_parts(&[control::DATA], payload, &mut wire)?;
        } else {
            builder.encode(payload, &mut wire)?;
        }
        let len = wire.len();
        let mut chunks = Vec::with_capacity(wire.chunk_count());
        while let Some(chunk) = wire.pop_chunk() {
            chunks.push(chunk);
        }
        Ok(Self {
            chunks,
            len,
            control_prefix,
        })
    }

    /// Wire bytes of the frame.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the frame has no bytes (never, for the built-in codecs).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The wire bytes, as shared chunks.
    pub fn chunks(&self) -> &[Bytes] {
        &self.chunks
    }

    /// Whether the frame was built for sessions with this configuration.
    pub(crate) fn fits(&self, config: &SessionConfig) -> bool {
        self.control_prefix == config.heartbeat.is_some()
    }

    /// Appends the shared chunks to `wire` (no copy).
    pub(crate) fn put_into(&self, wire: &mut WireBuf) {
        for chunk in &self.chunks {
            wire.put_shared(chunk.clone());
        }
    }
}
