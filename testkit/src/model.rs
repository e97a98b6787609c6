//! Reference models of the wire formats: what a whole stream decodes to,
//! and what an encoder accepts, written from the codecs' documentation
//! rather than from their code. A test compares a codec with its model
//! under every chunking (see [`paths`](crate::paths)).

use bytes::Bytes;
use proto_core::frame::{
    Endian, FieldWidth, FrameError, LengthField, LengthFieldCodec, LengthMode,
};

use crate::paths::{Event, Events};

/// A [`LengthField`] config with its parameters in the open, so that tests
/// can build headers and predict outcomes from the documented semantics.
#[derive(Debug, Clone)]
pub struct LengthParams {
    /// Bytes before the length field (`length_field_offset`).
    pub offset: usize,
    /// Width of the length field.
    pub width: FieldWidth,
    /// Byte order of the length field.
    pub endian: Endian,
    /// Whether the field counts the payload or the whole frame.
    pub mode: LengthMode,
    /// Added to the field value (`length_adjustment`).
    pub adjustment: i64,
    /// Bytes stripped from the front of a frame; `None`: the header.
    pub strip: Option<usize>,
    /// `max_frame_length`.
    pub max: usize,
}

impl LengthParams {
    /// The codec config these parameters describe.
    pub fn config(&self) -> LengthField {
        let config = LengthField::default()
            .length_field_offset(self.offset)
            .length_field_width(self.width)
            .endian(self.endian)
            .length_mode(self.mode)
            .length_adjustment(self.adjustment)
            .max_frame_length(self.max);
        match self.strip {
            Some(strip) => config.strip(strip),
            None => config,
        }
    }

    /// A fresh codec for [`config`](Self::config).
    pub fn codec(&self) -> LengthFieldCodec {
        self.config().new_codec()
    }

    /// Bytes up to the end of the length field (saturating).
    pub fn header_len(&self) -> usize {
        self.offset.saturating_add(self.width.bytes())
    }

    /// Bytes stripped from the front of every frame.
    pub fn strip_len(&self) -> usize {
        self.strip.unwrap_or_else(|| self.header_len())
    }

    /// What is added to the field to give the body length (bytes after the
    /// header), the whole-frame rule folded in.
    pub fn adjust(&self) -> i128 {
        let header = match self.mode {
            LengthMode::Payload => 0,
            LengthMode::Frame => self.header_len() as i128,
        };
        i128::from(self.adjustment) - header
    }

    /// The field value announcing a body of `body` bytes, if it fits.
    pub fn value_for_body(&self, body: usize) -> Option<u64> {
        let value = body as i128 - self.adjust();
        u64::try_from(value)
            .ok()
            .filter(|&v| v <= self.width.max_value())
    }

    /// The body length that makes a frame deliver `delivered` bytes.
    pub fn body_for_delivered(&self, delivered: usize) -> Option<usize> {
        (delivered + self.strip_len()).checked_sub(self.header_len())
    }

    /// A header: `offset` copies of `prefix`, then the field holding `value`.
    pub fn header(&self, prefix: u8, value: u64) -> Vec<u8> {
        let w = self.width.bytes();
        let field = match self.endian {
            Endian::Big => value.to_be_bytes()[8 - w..].to_vec(),
            Endian::Little => value.to_le_bytes()[..w].to_vec(),
        };
        [vec![prefix; self.offset], field].concat()
    }

    /// Whether a payload of `len` bytes fits the field and the maximum
    /// (with the default strip).
    pub fn encodable(&self, len: usize) -> bool {
        let value = len as i128 - self.adjust();
        (0..=i128::from(self.width.max_value())).contains(&value) && len <= self.max
    }

    /// Whether the encoder should accept a payload of `len` bytes, and if
    /// not, with which error (per the module docs of `frame::length`).
    pub fn encode_model(&self, len: usize) -> Result<(), FrameError> {
        let Some(_) = self.value_for_body(len) else {
            return Err(FrameError::LengthNotEncodable {
                length: len,
                width: self.width,
                adjustment: self.adjust(),
            });
        };
        let wire = self.header_len() + len;
        let Some(delivered) = wire.checked_sub(self.strip_len()) else {
            return Err(FrameError::StripExceedsFrame {
                frame_length: wire as u64,
                strip: self.strip_len(),
            });
        };
        if delivered > self.max {
            return Err(FrameError::FrameTooLarge {
                length: delivered as u64,
                max: self.max,
            });
        }
        Ok(())
    }

    /// The events a whole stream decodes to, written from the module docs
    /// (not from the codec), and what `decode_eof` says about what is left.
    pub fn decode_model(&self, stream: &[u8]) -> (Events, Option<FrameError>) {
        let header_len = self.header_len();
        let strip = self.strip_len();
        let mut events = Vec::new();
        let mut rest = stream;
        while !rest.is_empty() {
            let Some(field) = rest.get(self.offset..header_len) else {
                return (events, Some(truncated(rest)));
            };
            let value = match self.endian {
                Endian::Big => field.iter().fold(0, |v, &b| v << 8 | u64::from(b)),
                Endian::Little => field.iter().rev().fold(0, |v, &b| v << 8 | u64::from(b)),
            };
            let body = i128::from(value) + self.adjust();
            if body < 0 {
                events.push(Err(FrameError::NegativeLength {
                    value,
                    adjustment: self.adjust(),
                }));
                return (events, None);
            }
            let wire = header_len as i128 + body;
            let delivered = wire - strip as i128;
            if delivered < 0 {
                events.push(Err(FrameError::StripExceedsFrame {
                    frame_length: wire as u64,
                    strip,
                }));
                // Recoverable: the header gives the frame's end.
                let skip = usize::try_from(wire).map_or(rest.len(), |w| w.min(rest.len()));
                rest = &rest[skip..];
                continue;
            }
            // A frame that cannot be held in memory counts as too large.
            let too_large = if delivered > self.max as i128 {
                Some(delivered)
            } else if wire > usize::MAX as i128 {
                Some(wire)
            } else {
                None
            };
            if let Some(length) = too_large {
                events.push(Err(FrameError::FrameTooLarge {
                    length: u64::try_from(length).unwrap_or(u64::MAX),
                    max: self.max,
                }));
                let skip = usize::try_from(wire).map_or(rest.len(), |w| w.min(rest.len()));
                rest = &rest[skip..];
                continue;
            }
            let wire = wire as usize;
            if rest.len() < wire {
                return (events, Some(truncated(rest)));
            }
            events.push(Ok(Bytes::copy_from_slice(&rest[strip..wire])));
            rest = &rest[wire..];
        }
        (events, None)
    }

    /// [`decode_model`](Self::decode_model) with the end-of-stream error
    /// (if any) as a last event: what every path yields, `decode_eof`
    /// included.
    pub fn model(&self, stream: &[u8]) -> Events {
        let (mut events, eof) = self.decode_model(stream);
        events.extend(eof.map(Err));
        events
    }
}

fn truncated(rest: &[u8]) -> FrameError {
    FrameError::Truncated {
        buffered: rest.len(),
    }
}

/// One line (ending not counted) as the line codec's module docs define
/// it: one `\r` right before the `\n` is dropped; a line over `max` and (in
/// UTF-8 mode) an invalid one are errors.
pub fn line_event(line: &[u8], max: usize, utf8: bool) -> Event {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() > max {
        Err(FrameError::LineTooLong {
            length: line.len(),
            max,
        })
    } else if let (true, Err(e)) = (utf8, std::str::from_utf8(line)) {
        Err(FrameError::InvalidUtf8 {
            valid_up_to: e.valid_up_to(),
        })
    } else {
        Ok(Bytes::copy_from_slice(line))
    }
}

/// What decoding `stream` with the line codec yields (`decode` events,
/// then `decode_eof` events), predicted from the module docs: every `\n`
/// ends a line; a line too long is reported as soon as `max + 2` bytes hold
/// no `\n` (or `max + 1` bytes that cannot be followed by `\r\n`), so an
/// overlong unfinished last line is reported by `decode`; any other
/// unfinished last line comes out of `decode_eof`.
pub fn line_decode_model(stream: &[u8], max: usize, utf8: bool) -> (Events, Events) {
    let mut lines: Vec<&[u8]> = stream.split(|&b| b == b'\n').collect();
    let tail = lines.pop().unwrap_or_default();
    let mut events: Events = lines.iter().map(|l| line_event(l, max, utf8)).collect();
    let mut eof = Vec::new();
    let detected = tail.len() > max.saturating_add(1)
        || (tail.len() == max.saturating_add(1) && tail[max] != b'\r');
    if detected {
        events.push(line_event(tail, max, utf8));
    } else if !tail.is_empty() {
        eof.push(line_event(tail, max, utf8));
    }
    (events, eof)
}

/// The events a whole `stream` decodes to under the line codec, end of
/// stream included: every `\n` ends a line and the bytes after the last
/// `\n` are a last line.
pub fn line_model(stream: &[u8], max: usize, utf8: bool) -> Events {
    let (mut events, eof) = line_decode_model(stream, max, utf8);
    events.extend(eof);
    events
}

/// `events` with the length of every `LineTooLong` set to 0: how much of an
/// overlong line was seen when it was reported depends on the read sizes.
pub fn normalise_line_errors(events: Events) -> Events {
    events
        .into_iter()
        .map(|e| match e {
            Err(FrameError::LineTooLong { max, .. }) => {
                Err(FrameError::LineTooLong { length: 0, max })
            }
            other => other,
        })
        .collect()
}
