//! The length-field codec: frames that carry their own length in a header.
//!
//! A frame on the wire is
//!
//! ```text
//! | prefix: length_field_offset bytes | length field: width bytes | body |
//! |<-------------------- header -------------------->|
//! ```
//!
//! and the codec delivers the frame minus its first `strip` bytes (by default
//! the header, i.e. just the body). The body length is
//!
//! - [`LengthMode::Payload`]: `field + length_adjustment`
//! - [`LengthMode::Frame`]: `field + length_adjustment - header length`
//!   (the field counts the whole frame, header included).
//!
//! `max_frame_length` bounds the bytes a frame delivers (the frame minus the
//! stripped bytes), in both directions: the decoder rejects a larger frame
//! from its header alone, before buffering any of its body, and the encoder
//! refuses to produce one. A frame of exactly `max_frame_length` passes.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;

use super::{DEFAULT_MAX_FRAME_LENGTH, FrameError, WireBuf, read_uint};
use super::{MessageBuilder, MessageFactory, MessageResolver, Resolved};

/// Width of the length field in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldWidth {
    /// 1 byte.
    U8,
    /// 2 bytes.
    U16,
    /// 3 bytes.
    U24,
    /// 4 bytes.
    U32,
    /// 8 bytes.
    U64,
}

impl FieldWidth {
    /// The width for `bytes` (1, 2, 3, 4 or 8), or `None`.
    pub const fn from_bytes(bytes: usize) -> Option<Self> {
        match bytes {
            1 => Some(Self::U8),
            2 => Some(Self::U16),
            3 => Some(Self::U24),
            4 => Some(Self::U32),
            8 => Some(Self::U64),
            _ => None,
        }
    }

    /// The width in bytes.
    pub const fn bytes(self) -> usize {
        match self {
            Self::U8 => 1,
            Self::U16 => 2,
            Self::U24 => 3,
            Self::U32 => 4,
            Self::U64 => 8,
        }
    }

    /// The largest value the field can hold.
    pub const fn max_value(self) -> u64 {
        match self {
            Self::U64 => u64::MAX,
            _ => (1u64 << (8 * self.bytes())) - 1,
        }
    }
}

impl fmt::Display for FieldWidth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-byte", self.bytes())
    }
}

/// Byte order of the length field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endian {
    /// Network order, most significant byte first.
    Big,
    /// Least significant byte first (x86, C#'s `BitConverter`).
    Little,
}

/// What the length field counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LengthMode {
    /// The bytes after the length field.
    Payload,
    /// The whole frame, header included.
    Frame,
}

/// Configuration of a [`LengthFieldCodec`]: `Default` plus chained setters,
/// and named presets for common wire formats.
///
/// The default is a 4-byte big-endian payload length, header stripped,
/// `max_frame_length` [`DEFAULT_MAX_FRAME_LENGTH`] (1 MiB).
///
/// ```
/// use proto_core::frame::{Endian, FieldWidth, LengthField};
///
/// // [type: u8][len: u16 LE, counts the whole frame][body], deliver the body.
/// let config = LengthField::default()
///     .length_field_offset(1)
///     .length_field_width(FieldWidth::U16)
///     .endian(Endian::Little)
///     .length_mode(proto_core::frame::LengthMode::Frame)
///     .max_frame_length(16 * 1024);
/// assert_eq!(config.header_len(), 3);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct LengthField {
    offset: usize,
    width: FieldWidth,
    endian: Endian,
    mode: LengthMode,
    adjustment: i64,
    strip: Option<usize>,
    max_frame_length: usize,
    /// The codecs' shared plan, made by the first [`new_codec`](Self::new_codec).
    plan: PlanCache,
}

impl fmt::Debug for LengthField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LengthField")
            .field("offset", &self.offset)
            .field("width", &self.width)
            .field("endian", &self.endian)
            .field("mode", &self.mode)
            .field("adjustment", &self.adjustment)
            .field("strip", &self.strip)
            .field("max_frame_length", &self.max_frame_length)
            .finish()
    }
}

impl Default for LengthField {
    fn default() -> Self {
        Self {
            offset: 0,
            width: FieldWidth::U32,
            endian: Endian::Big,
            mode: LengthMode::Payload,
            adjustment: 0,
            strip: None,
            max_frame_length: DEFAULT_MAX_FRAME_LENGTH,
            plan: PlanCache::default(),
        }
    }
}

impl LengthField {
    /// laster40Net's `SimpleBinaryMessage`: a 4-byte little-endian payload
    /// length, then the payload (`05 00 00 00 h e l l o`).
    ///
    /// Seed document 004 §8 shows the header as payload length + 4; its code
    /// (`FastBitConverter.GetBytes(payload.Count, ..)`) writes the payload
    /// length, and so do we. Unlike laster40Net, a frame of exactly
    /// `max_frame_length` is accepted.
    pub fn laster40net() -> Self {
        Self::default().endian(Endian::Little)
    }

    /// Netty's `LengthFieldPrepender(4)` (and the matching
    /// `LengthFieldBasedFrameDecoder(max, 0, 4, 0, 4)`): a 4-byte big-endian
    /// payload length, then the payload.
    pub fn netty() -> Self {
        Self::default()
    }

    /// tokio-util's `LengthDelimitedCodec::new()` defaults: a 4-byte
    /// big-endian payload length, header stripped, 8 MiB maximum.
    pub fn tokio_util() -> Self {
        Self::default().max_frame_length(8 * 1024 * 1024)
    }

    /// Bytes before the length field that belong to the header.
    pub fn length_field_offset(mut self, offset: usize) -> Self {
        self.offset = offset;
        self.plan = PlanCache::default();
        self
    }

    /// Width of the length field.
    pub fn length_field_width(mut self, width: FieldWidth) -> Self {
        self.width = width;
        self.plan = PlanCache::default();
        self
    }

    /// Byte order of the length field.
    pub fn endian(mut self, endian: Endian) -> Self {
        self.endian = endian;
        self.plan = PlanCache::default();
        self
    }

    /// Whether the field counts the payload or the whole frame.
    pub fn length_mode(mut self, mode: LengthMode) -> Self {
        self.mode = mode;
        self.plan = PlanCache::default();
        self
    }

    /// A signed value added to the length field to get the body length
    /// (after the [`LengthMode`] rule).
    pub fn length_adjustment(mut self, adjustment: i64) -> Self {
        self.adjustment = adjustment;
        self.plan = PlanCache::default();
        self
    }

    /// Bytes removed from the start of each delivered frame. Default: the
    /// whole header.
    pub fn strip(mut self, bytes: usize) -> Self {
        self.strip = Some(bytes);
        self.plan = PlanCache::default();
        self
    }

    /// Largest frame delivered (after stripping), in bytes. Always enforced;
    /// a frame of exactly this length is accepted.
    pub fn max_frame_length(mut self, max: usize) -> Self {
        self.max_frame_length = max;
        self.plan = PlanCache::default();
        self
    }

    /// Header length: `length_field_offset` plus the field width.
    pub fn header_len(&self) -> usize {
        self.offset.saturating_add(self.width.bytes())
    }

    /// Bytes stripped from each frame.
    pub fn strip_len(&self) -> usize {
        self.strip.unwrap_or_else(|| self.header_len())
    }

    /// The configured `max_frame_length`.
    pub fn max_frame_len(&self) -> usize {
        self.max_frame_length
    }

    /// A codec in its initial state. Codecs made from one `LengthField`
    /// (or its clones) share their settings: a codec is a pointer and its
    /// decoder state.
    pub fn new_codec(&self) -> LengthFieldCodec {
        let plan = self.plan.0.get_or_init(|| Arc::new(Plan::new(self)));
        LengthFieldCodec {
            plan: Arc::clone(plan),
            state: State::Head,
        }
    }
}

/// The `OnceLock` behind [`LengthField::new_codec`]: not part of the
/// settings (equal settings compare equal whether or not a codec was made).
#[derive(Clone, Default)]
struct PlanCache(OnceLock<Arc<Plan>>);

impl PartialEq for PlanCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for PlanCache {}

impl Hash for PlanCache {
    fn hash<H: Hasher>(&self, _: &mut H) {}
}

/// What a codec works from, worked out once from a [`LengthField`] and
/// shared by every codec made from it.
#[derive(Debug)]
struct Plan {
    config: LengthField,
    header_len: usize,
    offset: usize,
    width: FieldWidth,
    endian: Endian,
    /// Added to the field value to give the body length (bytes after the
    /// header); folds in the whole-frame rule.
    adjust: i128,
    strip: usize,
    max: usize,
    fast: FastPath,
    encode_range: EncodeRange,
}

impl Plan {
    fn new(config: &LengthField) -> Self {
        let header_len = config.header_len();
        let header_adjust = match config.mode {
            LengthMode::Payload => 0,
            LengthMode::Frame => header_len as i128,
        };
        let adjust = i128::from(config.adjustment) - header_adjust;
        let strip = config.strip_len();
        let max = config.max_frame_length;
        let mut fast = FastPath::new(header_len, adjust, strip, max);
        fast.header = match (config.offset, config.width, config.endian) {
            (0, FieldWidth::U32, Endian::Big) => FastHeader::U32Be,
            (0, FieldWidth::U32, Endian::Little) => FastHeader::U32Le,
            _ => FastHeader::Any,
        };
        Self {
            config: LengthField {
                plan: PlanCache::default(),
                ..config.clone()
            },
            header_len,
            offset: config.offset,
            width: config.width,
            endian: config.endian,
            adjust,
            strip,
            max,
            fast,
            encode_range: EncodeRange::new(header_len, adjust, strip, max, config.width),
        }
    }
}

impl MessageFactory for LengthField {
    type Resolver = LengthFieldCodec;
    type Builder = LengthFieldCodec;

    fn new_resolver(&self) -> LengthFieldCodec {
        self.new_codec()
    }

    fn new_builder(&self) -> LengthFieldCodec {
        self.new_codec()
    }

    /// The largest wire length of an accepted frame: the largest field
    /// value that the width can hold and that keeps the delivered bytes
    /// (wire length less the stripped bytes) within `max_frame_length`,
    /// plus the header and the adjustment. `Some(0)` if the settings
    /// accept no frame at all.
    fn max_frame_wire_len(&self) -> Option<usize> {
        let header_len = self.header_len() as i128;
        let header_adjust = match self.mode {
            LengthMode::Payload => 0,
            LengthMode::Frame => header_len,
        };
        let adjust = i128::from(self.adjustment) - header_adjust;
        let add = header_len + adjust;
        let strip = self.strip_len() as i128;
        // The decoder's rule (see `FastPath`): a value `v` is accepted when
        // `lo <= v <= hi`, and its frame is `v + add` wire bytes.
        let lo = 0.max(-adjust).max(strip - add);
        let hi = (self.max_frame_length as i128 + strip - add)
            .min(usize::MAX as i128 - add)
            .min(i128::from(self.width.max_value()));
        if lo > hi {
            return Some(0);
        }
        usize::try_from(hi + add).ok()
    }
}

/// The field values that [`LengthFieldCodec::frame_len`] accepts, worked out
/// once per codec, so that a header is checked with one range test instead of
/// the `i128` arithmetic of the general rule.
///
/// A value `v` is accepted exactly when `v + adjust >= 0` (no negative body),
/// `0 <= wire - strip <= max` (delivered bytes in bounds) and
/// `wire <= usize::MAX`, where `wire = v + header_len + adjust`. Every bound
/// is linear in `v`, so together they are one range, `lo..=hi` (empty when
/// `lo > hi`). Values outside it take the general path, which reports the
/// error exactly as before.
#[derive(Debug, Clone, Copy)]
struct FastPath {
    /// How to read the length field.
    header: FastHeader,
    lo: u64,
    hi: u64,
    /// `header_len + adjust` as a two's-complement `u64`: for an accepted
    /// value, `v.wrapping_add(add)` is the wire length, exactly.
    add: u64,
}

/// The length-field layouts read without a width dispatch: a 4-byte field
/// at offset 0 (every preset) is one load from the front of the buffer.
#[derive(Debug, Clone, Copy)]
enum FastHeader {
    U32Be,
    U32Le,
    Any,
}

impl FastPath {
    fn new(header_len: usize, adjust: i128, strip: usize, max: usize) -> Self {
        let add = header_len as i128 + adjust;
        let lo = 0.max(-adjust).max(strip as i128 - add);
        let hi = (max as i128 + strip as i128 - add)
            .min(usize::MAX as i128 - add)
            .min(i128::from(u64::MAX));
        if lo <= hi {
            Self {
                header: FastHeader::Any,
                lo: lo as u64,
                hi: hi as u64,
                add: add as u64,
            }
        } else {
            Self {
                header: FastHeader::Any,
                lo: 1,
                hi: 0,
                add: 0,
            }
        }
    }

    /// The wire length of a frame whose length field reads `value`, if the
    /// frame passes every check.
    #[inline(always)]
    fn wire_len(self, value: u64) -> Option<usize> {
        if self.lo <= value && value <= self.hi {
            // In range, the sum is the exact wire length and fits a usize.
            Some(value.wrapping_add(self.add) as usize)
        } else {
            None
        }
    }
}

/// The payload lengths that [`LengthFieldCodec::field_value`] accepts,
/// worked out once per codec (the encoding twin of [`FastPath`]).
///
/// A length `n` is accepted exactly when the field value `n - adjust` is in
/// `0..=width.max_value()` and the delivered bytes `header_len + n - strip`
/// are in `0..=max`: again one range, `lo..=hi`, empty when `lo > hi`.
#[derive(Debug, Clone, Copy)]
struct EncodeRange {
    lo: u64,
    hi: u64,
    /// `adjust` as a two's-complement `u64`: for an accepted length,
    /// `n.wrapping_sub(sub)` is the field value, exactly.
    sub: u64,
}

impl EncodeRange {
    fn new(header_len: usize, adjust: i128, strip: usize, max: usize, width: FieldWidth) -> Self {
        let lo = 0.max(adjust).max(strip as i128 - header_len as i128);
        let hi = (i128::from(width.max_value()) + adjust)
            .min(max as i128 + strip as i128 - header_len as i128)
            .min(usize::MAX as i128);
        if lo <= hi {
            Self {
                lo: lo as u64,
                hi: hi as u64,
                sub: adjust as u64,
            }
        } else {
            Self {
                lo: 1,
                hi: 0,
                sub: 0,
            }
        }
    }

    /// The length-field value for a payload of `len` bytes, if the frame
    /// passes every check.
    #[inline(always)]
    fn field_value(self, len: usize) -> Option<u64> {
        let len = len as u64;
        if self.lo <= len && len <= self.hi {
            Some(len.wrapping_sub(self.sub))
        } else {
            None
        }
    }
}

/// Decoder states: `Head` waits for a header; `Body` has checked the header
/// and waits for the rest of a frame of `len` wire bytes; `Discard` skips the
/// rest of a frame that is too large or shorter than the strip; `Failed`
/// repeats a fatal error.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Head,
    Body {
        len: usize,
    },
    Discard {
        remaining: u64,
    },
    /// (Boxed: a codec's state stays two words.)
    Failed(Box<FrameError>),
}

/// A length-field codec: [`MessageResolver`] and [`MessageBuilder`] for the
/// wire format a [`LengthField`] describes.
///
/// Decoding never reserves the announced length: the read buffer grows only
/// as bytes arrive. Its own state is a few words.
///
/// After [`FrameError::FrameTooLarge`] or [`FrameError::StripExceedsFrame`]
/// the caller may close, or call `decode` again, which skips that frame as
/// its bytes arrive and resumes with the next header: the header gives the
/// frame's wire length in both cases. A negative length is fatal (the
/// header gives no boundary to resume at): the same error is returned from
/// then on.
#[derive(Debug, Clone)]
pub struct LengthFieldCodec {
    plan: Arc<Plan>,
    state: State,
}

impl LengthFieldCodec {
    /// The configuration this codec was made from.
    pub fn config(&self) -> &LengthField {
        &self.plan.config
    }

    /// Encodes `payload` behind a header whose first `length_field_offset`
    /// bytes are `prefix` (e.g. a message type before the length).
    pub fn encode_with_prefix(
        &mut self,
        prefix: &[u8],
        payload: Bytes,
        dst: &mut WireBuf,
    ) -> Result<(), FrameError> {
        self.encode_frame(prefix, &[], payload, dst)
    }

    /// Encodes a frame whose body is `head` then `payload`.
    fn encode_frame(
        &mut self,
        prefix: &[u8],
        head: &[u8],
        payload: Bytes,
        dst: &mut WireBuf,
    ) -> Result<(), FrameError> {
        if prefix.len() != self.plan.offset {
            return Err(FrameError::PrefixLength {
                expected: self.plan.offset,
                actual: prefix.len(),
            });
        }
        let value = self.field_value(head.len() + payload.len())?;
        let field = match self.plan.endian {
            Endian::Big => value.to_be_bytes(),
            Endian::Little => value.to_le_bytes(),
        };
        let w = self.plan.width.bytes();
        let field = match self.plan.endian {
            Endian::Big => &field[8 - w..],
            Endian::Little => &field[..w],
        };
        if head.is_empty() {
            dst.put_header(prefix, field, payload);
        } else {
            dst.put_slice(prefix);
            dst.put_slice(field);
            dst.put_slice(head);
            dst.put_bytes(payload);
        }
        Ok(())
    }

    /// The length-field value for a body of `len` bytes, after checking that
    /// the frame fits the field and `max_frame_length`.
    fn field_value(&self, len: usize) -> Result<u64, FrameError> {
        let value = len as i128 - self.plan.adjust;
        if value < 0 || value > i128::from(self.plan.width.max_value()) {
            return Err(FrameError::LengthNotEncodable {
                length: len,
                width: self.plan.width,
                adjustment: self.plan.adjust,
            });
        }
        let wire = self.plan.header_len as i128 + len as i128;
        self.check_delivered(wire)?;
        Ok(value as u64)
    }

    /// Checks the bytes a frame of `wire` bytes delivers against the strip
    /// and the maximum.
    #[inline]
    fn check_delivered(&self, wire: i128) -> Result<(), FrameError> {
        let delivered = wire - self.plan.strip as i128;
        if delivered < 0 {
            return Err(FrameError::StripExceedsFrame {
                frame_length: wire as u64,
                strip: self.plan.strip,
            });
        }
        if delivered > self.plan.max as i128 {
            return Err(FrameError::FrameTooLarge {
                length: u64::try_from(delivered).unwrap_or(u64::MAX),
                max: self.plan.max,
            });
        }
        Ok(())
    }

    /// Wire length of the frame whose length field reads `value`, or the
    /// error that the header alone proves.
    #[inline]
    fn frame_len(&mut self, value: u64) -> Result<usize, FrameError> {
        let body = i128::from(value) + self.plan.adjust;
        if body < 0 {
            let err = FrameError::NegativeLength {
                value,
                adjustment: self.plan.adjust,
            };
            self.state = State::Failed(Box::new(err.clone()));
            return Err(err);
        }
        let wire = self.plan.header_len as i128 + body;
        if let Err(err) = self.check_delivered(wire) {
            // Both errors `check_delivered` gives are recoverable: the
            // header says where the frame ends (`wire` bytes from its start,
            // at least the header, so the discard makes progress), and a
            // later decode skips it.
            self.state = State::Discard {
                remaining: u64::try_from(wire).unwrap_or(u64::MAX),
            };
            return Err(err);
        }
        // delivered <= max <= usize::MAX, so this fails only when the strip
        // pushes the total past usize::MAX: such a frame cannot be held.
        usize::try_from(wire).map_err(|_| {
            self.state = State::Discard {
                remaining: u64::try_from(wire).unwrap_or(u64::MAX),
            };
            FrameError::FrameTooLarge {
                length: u64::try_from(wire).unwrap_or(u64::MAX),
                max: self.plan.max,
            }
        })
    }
}

impl LengthFieldCodec {
    /// [`MessageResolver::resolve`] for every case but the common one (see
    /// there): partial frames, the states after one, and every error.
    #[inline(never)]
    fn resolve_slow(&mut self, src: &[u8]) -> Result<Resolved, FrameError> {
        let len = match self.state {
            State::Head => {
                let Some(header) = src.get(self.plan.offset..self.plan.header_len) else {
                    return Ok(Resolved::Incomplete);
                };
                self.frame_len(read_uint(header, self.plan.endian))?
            }
            State::Body { len } => len,
            State::Discard { remaining } => {
                if src.is_empty() {
                    return Ok(Resolved::Incomplete);
                }
                let n = usize::try_from(remaining).map_or(src.len(), |r| r.min(src.len()));
                let left = remaining - n as u64;
                self.state = if left == 0 {
                    State::Head
                } else {
                    State::Discard { remaining: left }
                };
                return Ok(Resolved::Discard(n));
            }
            State::Failed(ref err) => return Err(FrameError::clone(err)),
        };
        if src.len() < len {
            self.state = State::Body { len };
            return Ok(Resolved::Incomplete);
        }
        self.state = State::Head;
        Ok(Resolved::Frame {
            frame: self.plan.strip..len,
            consumed: len,
        })
    }
}

impl MessageResolver for LengthFieldCodec {
    /// The common case, a whole valid frame at the start of `src` while
    /// waiting for a header, is answered here in a few instructions and
    /// inlined into the caller's decode loop; everything else goes to
    /// `resolve_slow`, which gives the same answer for this case too.
    #[inline]
    fn resolve(&mut self, src: &[u8]) -> Result<Resolved, FrameError> {
        if let State::Head = self.state {
            let value = match self.plan.fast.header {
                FastHeader::U32Be => src.first_chunk().map(|h| u64::from(u32::from_be_bytes(*h))),
                FastHeader::U32Le => src.first_chunk().map(|h| u64::from(u32::from_le_bytes(*h))),
                FastHeader::Any => src
                    .get(self.plan.offset..self.plan.header_len)
                    .map(|h| read_uint(h, self.plan.endian)),
            };
            if let Some(len) = value.and_then(|v| self.plan.fast.wire_len(v)) {
                if len <= src.len() {
                    return Ok(Resolved::Frame {
                        frame: self.plan.strip..len,
                        consumed: len,
                    });
                }
            }
        }
        self.resolve_slow(src)
    }
}

impl MessageBuilder for LengthFieldCodec {
    /// Writes the header (a zero-filled prefix when `length_field_offset` is
    /// not 0; see [`LengthFieldCodec::encode_with_prefix`]) and the payload.
    #[inline]
    fn encode(&mut self, payload: Bytes, dst: &mut WireBuf) -> Result<(), FrameError> {
        // Common case: no prefix, a 2- or 4-byte field, a length in range.
        // The field is then written as a fixed-size array; the range test
        // stands for every check of `field_value`, so the result is the same.
        if self.plan.offset == 0 {
            if let Some(value) = self.plan.encode_range.field_value(payload.len()) {
                // The range bounds `value` by the field's maximum, so the
                // casts below keep every bit.
                let big = self.plan.endian == Endian::Big;
                match self.plan.width {
                    FieldWidth::U32 => {
                        let v = value as u32;
                        let field = if big {
                            v.to_be_bytes()
                        } else {
                            v.to_le_bytes()
                        };
                        dst.put_header(&[], &field, payload);
                    }
                    FieldWidth::U16 => {
                        let v = value as u16;
                        let field = if big {
                            v.to_be_bytes()
                        } else {
                            v.to_le_bytes()
                        };
                        dst.put_header(&[], &field, payload);
                    }
                    _ => return self.encode_parts(&[], payload, dst),
                }
                return Ok(());
            }
        }
        self.encode_parts(&[], payload, dst)
    }

    /// Writes the header, `head` and the payload, without copying a payload
    /// over the copy limit.
    fn encode_parts(
        &mut self,
        head: &[u8],
        payload: Bytes,
        dst: &mut WireBuf,
    ) -> Result<(), FrameError> {
        const ZEROS: [u8; 64] = [0; 64];
        if self.plan.offset <= ZEROS.len() {
            self.encode_frame(&ZEROS[..self.plan.offset], head, payload, dst)
        } else {
            let zeros = vec![0u8; self.plan.offset];
            self.encode_frame(&zeros, head, payload, dst)
        }
    }
}
