//! [`FrameError`]: everything that can be wrong with a frame.

use std::borrow::Cow;

use super::length::FieldWidth;

/// What was wrong with a frame, with the value and the limit involved.
///
/// Recoverable errors ([`FrameError::is_recoverable`]: `FrameTooLarge`,
/// `StripExceedsFrame`, `LineTooLong`, `InvalidUtf8`) are those where the bad
/// frame's end is known (from its header, or at the next line ending): call
/// `decode` again and the codec skips that frame and resynchronises on the
/// next one (Netty's discard mode). A caller that prefers to close the
/// session simply stops.
///
/// The decode errors that are sticky are those where no frame boundary is
/// known, so nothing later in the stream can be trusted:
/// - `NegativeLength`: the header announces a frame shorter than nothing,
///   so it does not say where the next frame starts;
/// - `Truncated`: the stream ended, there is nothing to resume with;
/// - `Malformed` and `ResolverContract`: a user resolver's verdict, whose
///   boundary the built-in codecs cannot know.
///
/// A built-in codec returns a sticky error again on every later call. The
/// encoder's errors (`LineTooLongToSend`, `LengthNotEncodable`,
/// `PrefixLength`) refuse one payload and leave the encoder as it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// A frame would deliver more than `max_frame_length` bytes. Detected from
    /// the header alone, before any of the body is buffered. Recoverable.
    #[error("frame of {length} bytes exceeds max_frame_length {max}")]
    FrameTooLarge {
        /// Length the frame would deliver (saturated at `u64::MAX`).
        length: u64,
        /// The configured `max_frame_length`.
        max: usize,
    },
    /// A line is longer than `max_line_length`; detected as soon as
    /// `max_line_length + 2` bytes hold no line ending. Recoverable.
    #[error("line longer than max_line_length {max} (at least {length} bytes)")]
    LineTooLong {
        /// Bytes of the line seen so far (a lower bound of its length).
        length: usize,
        /// The configured `max_line_length`.
        max: usize,
    },
    /// A line to send is longer than `max_send_length` (the encoder's
    /// limit; nothing was written).
    #[error("line of {length} bytes exceeds max_send_length {max}")]
    LineTooLongToSend {
        /// The payload's length.
        length: usize,
        /// The configured `max_send_length`.
        max: usize,
    },
    /// The length field plus the length adjustment is negative.
    #[error(
        "length field value {value} with adjustment {adjustment} gives a negative frame length"
    )]
    NegativeLength {
        /// The length field as read.
        value: u64,
        /// The adjustment added to it (including the header length in
        /// whole-frame mode).
        adjustment: i128,
    },
    /// The frame is shorter than the bytes the codec strips from its start.
    /// Recoverable when decoding: the header gives the frame's length, so
    /// the frame is skipped.
    #[error("frame of {frame_length} bytes is shorter than the {strip} bytes to strip")]
    StripExceedsFrame {
        /// The whole frame on the wire, header included.
        frame_length: u64,
        /// The configured bytes to strip.
        strip: usize,
    },
    /// A payload length cannot be written into the length field.
    #[error(
        "payload of {length} bytes cannot be encoded in a {width} length field (adjustment {adjustment})"
    )]
    LengthNotEncodable {
        /// The payload length.
        length: usize,
        /// The length field's width.
        width: FieldWidth,
        /// The effective adjustment.
        adjustment: i128,
    },
    /// The header prefix given to the encoder does not match
    /// `length_field_offset`.
    #[error("header prefix of {actual} bytes given, length_field_offset is {expected}")]
    PrefixLength {
        /// The configured `length_field_offset`.
        expected: usize,
        /// The prefix length given.
        actual: usize,
    },
    /// A line is not valid UTF-8 (UTF-8 line mode). Recoverable: the line is
    /// skipped.
    #[error("line is not valid UTF-8 (valid up to byte {valid_up_to})")]
    InvalidUtf8 {
        /// Length of the valid prefix.
        valid_up_to: usize,
    },
    /// The stream ended in the middle of a frame.
    #[error("stream ended inside a frame ({buffered} bytes left over)")]
    Truncated {
        /// Bytes buffered that did not make a whole frame.
        buffered: usize,
    },
    /// The WebSocket codec refused the peer's bytes (its handshake or a
    /// frame) or a payload to send; the error carries the close code the
    /// peer was sent.
    #[error("websocket: {0}")]
    WebSocket(#[from] crate::ws::WsError),
    /// A user protocol rejected the bytes.
    #[error("malformed frame: {0}")]
    Malformed(Cow<'static, str>),
    /// A [`MessageResolver`](super::MessageResolver) answered with
    /// ranges outside the buffer: a bug in that resolver, reported instead of
    /// panicking.
    #[error("resolver broke its contract: {detail}")]
    ResolverContract {
        /// Which rule was broken.
        detail: &'static str,
    },
}

impl FrameError {
    /// A [`FrameError::Malformed`] with the given reason.
    pub fn malformed(reason: impl Into<Cow<'static, str>>) -> Self {
        Self::Malformed(reason.into())
    }

    /// Whether calling `decode` again skips the offending frame and goes on:
    /// true for oversized frames and lines, frames shorter than the strip,
    /// and invalid UTF-8 lines (the errors whose frame boundary is known).
    pub fn is_recoverable(&self) -> bool {
        matches!(
            self,
            Self::FrameTooLarge { .. }
                | Self::StripExceedsFrame { .. }
                | Self::LineTooLong { .. }
                | Self::InvalidUtf8 { .. }
        )
    }
}
