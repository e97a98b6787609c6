//! Straight-line models of what a whole stream decodes to, written from the
//! codecs' documentation rather than from their code.

use bytes::Bytes;

use super::input::LengthParams;
use super::paths::Events;
use crate::frame::{Endian, FrameError, LengthMode};

impl LengthParams {
    pub(super) fn header(&self) -> usize {
        self.offset.saturating_add(self.width.bytes())
    }

    /// Added to the field value to give the bytes after the header.
    pub(super) fn adjust(&self) -> i128 {
        let header = match self.mode {
            LengthMode::Payload => 0,
            LengthMode::Frame => self.header() as i128,
        };
        i128::from(self.adjustment) - header
    }

    /// Whether a payload of `len` bytes fits the field and the maximum.
    pub(super) fn encodable(&self, len: usize) -> bool {
        let value = len as i128 - self.adjust();
        (0..=i128::from(self.width.max_value())).contains(&value) && len <= self.max_frame_length
    }

    /// The events a whole `stream` decodes to, written from the module docs
    /// of `frame::length` rather than from the codec.
    pub(super) fn model(&self, stream: &[u8]) -> Events {
        let header = self.header();
        let strip = self.strip.unwrap_or(header);
        let max = self.max_frame_length;
        let mut events = Vec::new();
        let mut rest = stream;
        while !rest.is_empty() {
            let Some(field) = rest.get(self.offset..header) else {
                events.push(Err(FrameError::Truncated {
                    buffered: rest.len(),
                }));
                break;
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
                break;
            }
            let wire = header as i128 + body;
            let delivered = wire - strip as i128;
            if delivered < 0 {
                let frame_length = wire as u64;
                events.push(Err(FrameError::StripExceedsFrame {
                    frame_length,
                    strip,
                }));
                // Recoverable: the frame (at least the header) is skipped.
                rest = &rest[usize::try_from(wire).map_or(rest.len(), |w| w.min(rest.len()))..];
                continue;
            }
            if delivered > max as i128 || wire > usize::MAX as i128 {
                let too_big = if delivered > max as i128 {
                    delivered
                } else {
                    wire
                };
                let length = u64::try_from(too_big).unwrap_or(u64::MAX);
                events.push(Err(FrameError::FrameTooLarge { length, max }));
                rest = &rest[usize::try_from(wire).map_or(rest.len(), |w| w.min(rest.len()))..];
                continue;
            }
            let wire = wire as usize;
            if rest.len() < wire {
                events.push(Err(FrameError::Truncated {
                    buffered: rest.len(),
                }));
                break;
            }
            events.push(Ok(Bytes::copy_from_slice(&rest[strip..wire])));
            rest = &rest[wire..];
        }
        events
    }
}

/// The events a whole `stream` decodes to under the line codec: every `\n`
/// ends a line, one `\r` before it is dropped, and the bytes after the last
/// `\n` are a last line.
pub(super) fn line_model(stream: &[u8], max: usize, utf8: bool) -> Events {
    let mut lines: Vec<&[u8]> = stream.split(|&b| b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
        .into_iter()
        .map(|line| {
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
        })
        .collect()
}

pub(super) fn normalise_line_errors(events: Events) -> Events {
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
