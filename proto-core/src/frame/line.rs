//! The line codec: frames are text lines ended by `\n` or `\r\n`.
//!
//! A line of exactly `max_line_length` bytes (ending not counted) passes. A
//! longer line is reported as [`FrameError::LineTooLong`] as soon as
//! `max_line_length + 2` bytes hold no `\n` — without waiting for the end of
//! the line and so without buffering it whole. Calling `decode` again then
//! skips the rest of that line and resumes with the next one.
//!
//! `max_line_length` bounds received lines only. What may be sent has its
//! own limit, `max_send_length` (none by default), so that a relay can put
//! a prefix before a received line of the maximum length and send it on.

use std::fmt;
use std::ops::Deref;

use bytes::{Bytes, BytesMut};

use super::{FrameError, WireBuf};
use super::{MessageBuilder, MessageFactory, MessageResolver, Resolved};

/// Default `max_line_length`: 8 KiB.
pub const DEFAULT_MAX_LINE_LENGTH: usize = 8 * 1024;

/// Configuration of a [`LineCodec`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Line {
    max_line_length: usize,
    max_send_length: Option<usize>,
    utf8: bool,
}

impl Default for Line {
    fn default() -> Self {
        Self {
            max_line_length: DEFAULT_MAX_LINE_LENGTH,
            max_send_length: None,
            utf8: false,
        }
    }
}

impl Line {
    /// Longest line received, in bytes, line ending not counted. Does not
    /// bound what is sent (see [`max_send_length`](Self::max_send_length)).
    pub fn max_line_length(mut self, max: usize) -> Self {
        self.max_line_length = max;
        self
    }

    /// Longest line the encoder writes, in bytes, line ending not counted
    /// (`None`, the default: no limit beyond the line itself). A longer
    /// payload is refused with [`FrameError::LineTooLongToSend`]. Set it to
    /// the peer's `max_line_length` when the peer enforces one.
    pub fn max_send_length(mut self, max: Option<usize>) -> Self {
        self.max_send_length = max;
        self
    }

    /// Whether lines must be valid UTF-8; an invalid line is reported as
    /// [`FrameError::InvalidUtf8`] and skipped.
    pub fn utf8(mut self, utf8: bool) -> Self {
        self.utf8 = utf8;
        self
    }

    /// A codec in its initial state.
    pub fn new_codec(&self) -> LineCodec {
        LineCodec {
            config: self.clone(),
            scanned: 0,
            state: LineState::Scanning,
        }
    }
}

impl MessageFactory for Line {
    type Resolver = LineCodec;
    type Builder = LineCodec;

    fn new_resolver(&self) -> LineCodec {
        self.new_codec()
    }

    fn new_builder(&self) -> LineCodec {
        self.new_codec()
    }

    /// `max_line_length + 2` (a `\r\n` ending); `None` when that
    /// overflows (no bound).
    fn max_frame_wire_len(&self) -> Option<usize> {
        self.max_line_length.checked_add(2)
    }
}

/// `Scanning` looks for the next `\n`; `Discarding` drops bytes up to the `\n`
/// that ends an overlong line; `Skip(n)` drops a complete bad line of `n`
/// bytes that was just reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineState {
    Scanning,
    Discarding,
    Skip(usize),
}

/// Line codec: [`MessageResolver`] and [`MessageBuilder`] for `\n` or `\r\n`
/// terminated lines. Delivers lines without their ending; encodes a payload
/// followed by `\n` (by `\r\n` if it ends in `\r`, so that it decodes whole).
///
/// Remembers how far it has searched, so a long line arriving in many reads
/// is scanned once.
#[derive(Debug, Clone)]
pub struct LineCodec {
    config: Line,
    /// Bytes at the start of the buffer known to hold no `\n`.
    scanned: usize,
    state: LineState,
}

impl LineCodec {
    /// Decodes the next line as UTF-8 text (validated even when the codec
    /// is not in UTF-8 mode).
    pub fn decode_line(&mut self, src: &mut BytesMut) -> Result<Option<Utf8Line>, FrameError> {
        self.decode(src)?.map(Utf8Line::try_from).transpose()
    }

    fn content(&self, line: &[u8]) -> Result<(), FrameError> {
        if line.len() > self.config.max_line_length {
            return Err(FrameError::LineTooLong {
                length: line.len(),
                max: self.config.max_line_length,
            });
        }
        self.check_utf8(line)
    }

    fn check_utf8(&self, line: &[u8]) -> Result<(), FrameError> {
        if self.config.utf8 {
            if let Err(e) = std::str::from_utf8(line) {
                return Err(FrameError::InvalidUtf8 {
                    valid_up_to: e.valid_up_to(),
                });
            }
        }
        Ok(())
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

impl MessageResolver for LineCodec {
    fn resolve(&mut self, src: &[u8]) -> Result<Resolved, FrameError> {
        match self.state {
            LineState::Skip(n) => {
                self.state = LineState::Scanning;
                let n = n.min(src.len());
                return Ok(if n == 0 {
                    Resolved::Incomplete
                } else {
                    Resolved::Discard(n)
                });
            }
            LineState::Discarding => {
                return Ok(match memchr::memchr(b'\n', src) {
                    Some(i) => {
                        self.state = LineState::Scanning;
                        Resolved::Discard(i + 1)
                    }
                    None if src.is_empty() => Resolved::Incomplete,
                    None => Resolved::Discard(src.len()),
                });
            }
            LineState::Scanning => {}
        }
        let max = self.config.max_line_length;
        // A line of `max` bytes needs at most `max + 2` bytes with its ending.
        let limit = src.len().min(max.saturating_add(2));
        let from = self.scanned.min(limit);
        match memchr::memchr(b'\n', &src[from..limit]) {
            Some(i) => {
                let end = from + i;
                self.scanned = 0;
                let line = strip_cr(&src[..end]);
                if let Err(e) = self.content(line) {
                    self.state = LineState::Skip(end + 1);
                    return Err(e);
                }
                Ok(Resolved::Frame {
                    frame: 0..line.len(),
                    consumed: end + 1,
                })
            }
            None => {
                let too_long = limit > max.saturating_add(1)
                    || (limit == max.saturating_add(1) && src[max] != b'\r');
                if too_long {
                    self.scanned = 0;
                    self.state = LineState::Discarding;
                    // The first `limit` bytes hold no `\n`, so all belong to
                    // the line but a last `\r`, which may yet end it.
                    return Err(FrameError::LineTooLong {
                        length: limit - usize::from(src[limit - 1] == b'\r'),
                        max,
                    });
                }
                self.scanned = limit;
                Ok(Resolved::Incomplete)
            }
        }
    }

    /// At end of stream, bytes after the last `\n` are the last line.
    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        if let Some(line) = self.decode(src)? {
            return Ok(Some(line));
        }
        if src.is_empty() {
            return Ok(None);
        }
        if self.state == LineState::Discarding {
            src.clear();
            self.state = LineState::Scanning;
            return Ok(None);
        }
        self.scanned = 0;
        let rest = src.split().freeze();
        let line = strip_cr(&rest).len();
        self.content(&rest[..line])?;
        Ok(Some(rest.slice(..line)))
    }
}

impl MessageBuilder for LineCodec {
    /// Writes the payload and `\n` (`\r\n` after a payload ending in `\r`,
    /// which the decoder would otherwise take for part of the ending). A
    /// payload holding a `\n` is refused (the peer could not decode it as
    /// one line), and so is one longer than `max_send_length`, or not
    /// UTF-8 in UTF-8 mode.
    fn encode(&mut self, payload: Bytes, dst: &mut WireBuf) -> Result<(), FrameError> {
        if memchr::memchr(b'\n', &payload).is_some() {
            return Err(FrameError::malformed("line payload contains '\\n'"));
        }
        if let Some(max) = self.config.max_send_length {
            if payload.len() > max {
                return Err(FrameError::LineTooLongToSend {
                    length: payload.len(),
                    max,
                });
            }
        }
        self.check_utf8(&payload)?;
        let ending: &[u8] = if payload.ends_with(b"\r") {
            b"\r\n"
        } else {
            b"\n"
        };
        dst.put_bytes(payload);
        dst.put_slice(ending);
        Ok(())
    }
}

/// A line known to be valid UTF-8, sharing the read buffer like [`Bytes`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Utf8Line(Bytes);

impl Utf8Line {
    /// The line as text.
    pub fn as_str(&self) -> &str {
        // Invariant: built only by `try_from`, which validated the bytes.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The underlying bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl TryFrom<Bytes> for Utf8Line {
    type Error = FrameError;

    fn try_from(bytes: Bytes) -> Result<Self, FrameError> {
        match std::str::from_utf8(&bytes) {
            Ok(_) => Ok(Self(bytes)),
            Err(e) => Err(FrameError::InvalidUtf8 {
                valid_up_to: e.valid_up_to(),
            }),
        }
    }
}

impl Deref for Utf8Line {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for Utf8Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
