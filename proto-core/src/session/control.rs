//! The control-frame wire format used when heartbeats are on.
//!
//! With heartbeats on, every frame's payload starts with one kind byte:
//!
//! | byte | frame | body |
//! | --- | --- | --- |
//! | `0x00` | application message | the message |
//! | `0x01` | ping | empty |
//! | `0x02` | pong | empty |
//!
//! The kind byte lives inside the frame, so this works with every framing
//! codec (length-field or line). Any other kind byte, or an empty frame, is a
//! malformed frame. With heartbeats off there is no kind byte at all and the
//! wire is exactly the codec's, for plain peers such as laster40Net or Netty.

use bytes::{Buf, Bytes};

use crate::frame::FrameError;

/// Kind byte of an application message.
pub const DATA: u8 = 0x00;
/// Kind byte of a ping.
pub const PING: u8 = 0x01;
/// Kind byte of a pong.
pub const PONG: u8 = 0x02;

/// A received frame, classified.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Control {
    Data(Bytes),
    Ping,
    Pong,
}

/// Splits the kind byte off a received frame.
pub(crate) fn parse(mut frame: Bytes) -> Result<Control, FrameError> {
    let Some(&kind) = frame.first() else {
        return Err(FrameError::malformed(
            "empty frame: a kind byte is required when heartbeats are on",
        ));
    };
    match kind {
        DATA => {
            frame.advance(1);
            Ok(Control::Data(frame))
        }
        PING if frame.len() == 1 => Ok(Control::Ping),
        PONG if frame.len() == 1 => Ok(Control::Pong),
        PING | PONG => Err(FrameError::malformed(
            "ping or pong frame with a body: control frames are one byte",
        )),
        other => Err(FrameError::Malformed(
            format!(
                "unknown frame kind byte {other:#04x} (expected 0x00 data, 0x01 ping, 0x02 pong)"
            )
            .into(),
        )),
    }
}
