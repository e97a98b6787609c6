//! Differential tests of proto-core's length-field codec against
//! tokio-util's `LengthDelimitedCodec`, over every configuration both
//! support: byte-identical encoding, and identical frames (and an error at
//! the same point) when decoding valid streams and garbage under any
//! chunking.
//!
//! ## Mapping tokio-util's configuration to ours
//!
//! tokio-util reads the field `F` at `length_field_offset`, computes
//! `n = F + length_adjustment`, skips `num_skip` bytes (default: offset +
//! width) and delivers the next `n`: the frame occupies `num_skip + n` bytes
//! and delivers its last `n`. Ours, in [`LengthMode::Payload`], occupies
//! `header + F + adjustment` bytes and delivers all but the first `strip`.
//! So tokio-util's `(offset, width, adj, num_skip)` is ours with the same
//! offset, width and endianness, `strip = num_skip` and
//! `adjustment = adj + num_skip - header`.
//!
//! ## Where the two differ (each pinned by a test below)
//!
//! 1. **What `max_frame_length` bounds** (tokio-rs/tokio#4815): tokio-util's
//!    decoder compares the raw field `F`, before the adjustment, with its
//!    maximum, which it first caps to `max_field_value + adj`; its encoder
//!    compares the payload length. Ours bounds the bytes delivered, in both
//!    directions. A tokio-util maximum `M` (after capping) therefore decodes
//!    like ours with `max_frame_length = M + adj`; the comparison uses that,
//!    and skips configs where `M + adj < 0` (tokio-util then rejects every
//!    frame). With that mapping the encoders still differ: for `adj < 0`
//!    tokio-util encodes payloads its own decoder rejects, and for
//!    `adj > 0` refuses payloads its decoder accepts
//!    (test `tokio_util_checks_max_before_adjustment`).
//! 2. **Frames shorter than the header when `num_skip < header`**: tokio-util
//!    delivers `n` bytes starting inside the header and reads the next
//!    header from inside this one; with `num_skip == 0` and `n == 0` it
//!    returns empty frames forever without consuming anything. Ours reports
//!    [`FrameError::NegativeLength`] (the body would be shorter than
//!    nothing), a fatal error
//!    (test `tokio_util_delivers_overlapping_frames_when_num_skip_is_short`).
//! 3. **When a bad header is noticed when `num_skip > header`**: tokio-util
//!    waits for `num_skip` bytes before it reads the field; ours rejects the
//!    frame as soon as the field is in
//!    (test `tokio_util_waits_for_num_skip_bytes_before_checking_the_field`).
//! 4. **After an error**: tokio-util's errors all repeat (nothing is
//!    consumed); ours resynchronises after `FrameTooLarge` and
//!    `StripExceedsFrame`. The comparison stops at the first error.
//!
//! tokio-util's encoder ignores `length_field_offset` and `num_skip` (it
//! writes only the field), so encoders are compared at offset 0 with the
//! default `num_skip` only.
#![allow(clippy::unwrap_used)]

use std::io;

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use proto_core::frame::{
    Endian, FieldWidth, FrameError, LengthField, LengthFieldCodec, LengthMode, WireBuf,
    for_each_frame,
};
use proto_core::message::{MessageBuilder, MessageResolver};
use tokio_util::codec::{Decoder, Encoder, LengthDelimitedCodec};

/// A `LengthDelimitedCodec` configuration, in tokio-util's terms.
#[derive(Debug, Clone)]
struct TokioConfig {
    offset: usize,
    width: usize,
    big_endian: bool,
    adjustment: isize,
    num_skip: Option<usize>,
    max: usize,
}

impl TokioConfig {
    fn codec(&self) -> LengthDelimitedCodec {
        let mut builder = LengthDelimitedCodec::builder();
        builder
            .length_field_offset(self.offset)
            .length_field_length(self.width)
            .length_adjustment(self.adjustment)
            .max_frame_length(self.max);
        if self.big_endian {
            builder.big_endian();
        } else {
            builder.little_endian();
        }
        if let Some(skip) = self.num_skip {
            builder.num_skip(skip);
        }
        builder.new_codec()
    }

    fn header_len(&self) -> usize {
        self.offset + self.width
    }

    fn num_skip(&self) -> usize {
        self.num_skip.unwrap_or_else(|| self.header_len())
    }

    /// tokio-util's maximum after it caps it to what the field plus the
    /// adjustment can represent; it bounds the raw field value.
    fn effective_max(&self) -> usize {
        self.codec().max_frame_length()
    }

    fn max_field(&self) -> u64 {
        FieldWidth::from_bytes(self.width).unwrap().max_value()
    }

    /// The same wire format in our terms (see the module docs), or `None`
    /// when tokio-util's capped maximum plus the adjustment is negative: it
    /// then rejects every frame, and ours has no equivalent limit.
    fn ours(&self) -> Option<LengthField> {
        let header = self.header_len() as i64;
        let skip = self.num_skip() as i64;
        let max = usize::try_from(self.effective_max() as i128 + self.adjustment as i128).ok()?;
        Some(
            LengthField::default()
                .length_field_offset(self.offset)
                .length_field_width(FieldWidth::from_bytes(self.width).unwrap())
                .endian(if self.big_endian {
                    Endian::Big
                } else {
                    Endian::Little
                })
                .length_mode(LengthMode::Payload)
                .length_adjustment(self.adjustment as i64 + skip - header)
                .strip(self.num_skip())
                .max_frame_length(max),
        )
    }

    /// A header: `offset` prefix bytes, then the field holding `value`.
    fn header(&self, prefix: u8, value: u64) -> Vec<u8> {
        let field = if self.big_endian {
            value.to_be_bytes()[8 - self.width..].to_vec()
        } else {
            value.to_le_bytes()[..self.width].to_vec()
        };
        [vec![prefix; self.offset], field].concat()
    }

    /// The whole frame whose field reads `value` and delivers `n` bytes
    /// (`n >= header - num_skip`), the delivered bytes counting up from
    /// `fill`.
    fn frame(&self, prefix: u8, value: u64, n: usize, fill: u8) -> Vec<u8> {
        let mut frame = self.header(prefix, value);
        let body = (self.num_skip() + n)
            .checked_sub(self.header_len())
            .unwrap();
        frame.extend((0..body).map(|i| fill.wrapping_add(i as u8)));
        frame
    }

    /// The field value tokio-util reads as `n` delivered bytes, if it is
    /// one the field can hold and tokio-util accepts.
    fn value_for(&self, n: usize) -> Option<u64> {
        let value = u64::try_from(n as i128 - self.adjustment as i128).ok()?;
        (value <= self.max_field() && value <= self.effective_max() as u64).then_some(value)
    }
}

/// How a stream segment is made, chosen independently of the config.
#[derive(Debug, Clone)]
enum Segment {
    /// A valid frame; the number picks its length among the valid ones.
    Valid { pick: u16, prefix: u8, fill: u8 },
    /// A header whose field exceeds tokio-util's maximum, then some bytes.
    TooLarge { over: u8, tail: u8 },
    /// A header whose field plus the adjustment is negative.
    Negative { pick: u8 },
    /// A frame shorter than the header (`num_skip < header` only).
    Short { pick: u8 },
    /// Bytes as they come.
    Garbage(Vec<u8>),
}

fn segment() -> impl Strategy<Value = Segment> {
    prop_oneof![
        12 => (any::<u16>(), any::<u8>(), any::<u8>())
            .prop_map(|(pick, prefix, fill)| Segment::Valid { pick, prefix, fill }),
        1 => (0u8..4, 0u8..20).prop_map(|(over, tail)| Segment::TooLarge { over, tail }),
        1 => any::<u8>().prop_map(|pick| Segment::Negative { pick }),
        1 => any::<u8>().prop_map(|pick| Segment::Short { pick }),
        1 => prop::collection::vec(any::<u8>(), 0..12).prop_map(Segment::Garbage),
    ]
}

/// Builds the bytes of `segments` under `config` (segments that cannot be
/// made under it are left out).
fn build(config: &TokioConfig, segments: &[Segment]) -> Vec<u8> {
    let mut stream = Vec::new();
    let short = config.header_len().saturating_sub(config.num_skip());
    for segment in segments {
        match segment {
            Segment::Valid { pick, prefix, fill } => {
                // n from `short` up to a modest length, field permitting.
                let lo = short;
                let n = (lo..lo + 1 + usize::from(*pick) % 300)
                    .rev()
                    .find(|&n| config.value_for(n).is_some());
                if let Some(n) = n {
                    let value = config.value_for(n).unwrap();
                    stream.extend(config.frame(*prefix, value, n, *fill));
                }
            }
            Segment::TooLarge { over, tail } => {
                let value = config.effective_max() as u64 + 1 + u64::from(*over);
                if value <= config.max_field() {
                    stream.extend(config.header(0xee, value));
                    stream.extend(std::iter::repeat_n(0xaa, usize::from(*tail)));
                }
            }
            Segment::Negative { pick } => {
                if config.adjustment < 0 {
                    let value = u64::from(*pick) % config.adjustment.unsigned_abs() as u64;
                    stream.extend(config.header(0xdd, value));
                }
            }
            Segment::Short { pick } => {
                if short > 0 {
                    let n = usize::from(*pick) % short;
                    if let Some(value) = config.value_for(n) {
                        stream.extend(config.header(0xcc, value));
                    }
                }
            }
            Segment::Garbage(bytes) => stream.extend_from_slice(bytes),
        }
    }
    stream
}

fn width() -> impl Strategy<Value = usize> {
    prop::sample::select(vec![1usize, 2, 3, 4, 8])
}

fn max_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        1 => 0usize..=6,
        3 => 0usize..=400,
        1 => 0usize..=70_000,
        1 => Just(8 * 1024 * 1024),
    ]
}

/// Any decoder config tokio-util supports.
fn decoder_config() -> impl Strategy<Value = TokioConfig> {
    (
        0usize..4,
        width(),
        any::<bool>(),
        prop_oneof![2 => Just(0isize), 3 => -12isize..=12],
        prop::option::of(0usize..14),
        max_len(),
    )
        .prop_map(
            |(offset, width, big_endian, adjustment, num_skip, max)| TokioConfig {
                offset,
                width,
                big_endian,
                adjustment,
                num_skip,
                max,
            },
        )
}

/// The configs whose encoders are comparable: offset 0, default `num_skip`.
fn encoder_config() -> impl Strategy<Value = TokioConfig> {
    decoder_config().prop_map(|config| TokioConfig {
        offset: 0,
        num_skip: None,
        ..config
    })
}

/// Cuts `stream` into reads of the given sizes (cycled, at least 1 each).
fn split<'a>(mut stream: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut chunks = Vec::new();
    let mut sizes = sizes.iter().cycle();
    while !stream.is_empty() {
        let size = sizes.next().copied().unwrap_or(1).clamp(1, stream.len());
        let (chunk, rest) = stream.split_at(size);
        chunks.push(chunk);
        stream = rest;
    }
    chunks
}

fn chunkings<'a>(stream: &'a [u8], sizes: &[usize]) -> [Vec<&'a [u8]>; 3] {
    [
        stream.chunks(1).collect(),
        split(stream, sizes),
        vec![stream],
    ]
}

/// Which way a tokio-util decode failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokioError {
    /// `F` above the (capped) maximum.
    TooLarge,
    /// `F + adj` negative.
    Negative,
}

/// The events of one decoder over a chunked stream, up to its first error.
#[derive(Debug, Default)]
struct Events {
    /// (read index, frame) for each frame.
    frames: Vec<(usize, Bytes)>,
    /// The read after which the first error came, and what it was.
    error: Option<(usize, Result<TokioError, FrameError>)>,
    /// tokio-util returned a frame shorter than the header (difference 2);
    /// the run stopped there.
    short_frame_at: Option<usize>,
    /// Bytes buffered at the end.
    left: usize,
}

fn run_tokio(config: &TokioConfig, chunks: &[&[u8]]) -> Events {
    let mut codec = config.codec();
    let short = config.header_len().saturating_sub(config.num_skip());
    let mut buf = BytesMut::new();
    let mut events = Events::default();
    for (i, chunk) in chunks.iter().enumerate() {
        buf.extend_from_slice(chunk);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(frame)) if frame.len() < short => {
                    // Difference 2: stop before tokio-util loops on it.
                    events.short_frame_at = Some(i);
                    events.left = buf.len();
                    return events;
                }
                Ok(Some(frame)) => events.frames.push((i, frame.freeze())),
                Ok(None) => break,
                Err(e) => {
                    let kind = match e.kind() {
                        io::ErrorKind::InvalidData => TokioError::TooLarge,
                        io::ErrorKind::InvalidInput => TokioError::Negative,
                        other => panic!("unexpected tokio-util error kind {other:?}: {e}"),
                    };
                    // tokio-util's errors repeat: nothing was consumed.
                    let again = codec.decode(&mut buf).unwrap_err();
                    assert_eq!(again.kind(), e.kind());
                    events.error = Some((i, Ok(kind)));
                    events.left = buf.len();
                    return events;
                }
            }
        }
    }
    events.left = buf.len();
    events
}

fn run_ours(config: &LengthField, chunks: &[&[u8]], borrowed: bool) -> Events {
    let mut codec: LengthFieldCodec = config.new_codec();
    let mut buf = BytesMut::new();
    let mut events = Events::default();
    for (i, chunk) in chunks.iter().enumerate() {
        buf.extend_from_slice(chunk);
        let result = if borrowed {
            for_each_frame(&mut codec, &mut buf, |f| {
                events.frames.push((i, Bytes::copy_from_slice(f)));
            })
            .map(|_| ())
        } else {
            loop {
                match codec.decode(&mut buf) {
                    Ok(Some(frame)) => events.frames.push((i, frame)),
                    Ok(None) => break Ok(()),
                    Err(e) => break Err(e),
                }
            }
        };
        if let Err(e) = result {
            events.error = Some((i, Err(e)));
            events.left = buf.len();
            return events;
        }
    }
    events.left = buf.len();
    events
}

/// Checks our error against tokio-util's (see the module docs).
fn same_kind(config: &TokioConfig, tokio: TokioError, ours: &FrameError) -> bool {
    let strip_short = config.num_skip() < config.header_len();
    match (tokio, ours) {
        (TokioError::TooLarge, FrameError::FrameTooLarge { .. }) => true,
        // A too-large frame that is also shorter than the header: ours
        // notices the shortness first (difference 2).
        (TokioError::TooLarge, FrameError::NegativeLength { .. }) => strip_short,
        (
            TokioError::Negative,
            FrameError::NegativeLength { .. } | FrameError::StripExceedsFrame { .. },
        ) => true,
        _ => false,
    }
}

/// Decodes `stream` under every chunking with both codecs and checks that
/// they agree, up to the documented differences.
fn compare_decoders(config: &TokioConfig, stream: &[u8], sizes: &[usize]) {
    let Some(ours_config) = config.ours() else {
        return;
    };
    for chunks in chunkings(stream, sizes) {
        let tokio = run_tokio(config, &chunks);
        for borrowed in [false, true] {
            let ours = run_ours(&ours_config, &chunks, borrowed);
            let context = format!("{config:?} / {ours_config:?}, {} reads", chunks.len());
            assert_eq!(ours.frames, tokio.frames, "{context}");
            if let Some(at) = tokio.short_frame_at {
                // Difference 2.
                assert!(
                    matches!(ours.error, Some((i, Err(FrameError::NegativeLength { .. }))) if i == at),
                    "{context}: tokio-util's short frame at read {at}, ours {:?}",
                    ours.error
                );
                continue;
            }
            match (&tokio.error, &ours.error) {
                (None, None) => {
                    // Mid-frame, tokio-util has already removed the
                    // `num_skip` bytes it skipped; ours keeps them until the
                    // frame is whole.
                    let skipped = ours.left.checked_sub(tokio.left);
                    assert!(
                        skipped == Some(0) || skipped == Some(config.num_skip()),
                        "{context}: {} vs {} bytes left",
                        ours.left,
                        tokio.left
                    );
                }
                (Some((ti, Ok(t))), Some((oi, Err(o)))) => {
                    assert!(same_kind(config, *t, o), "{context}: {t:?} vs {o:?}");
                    if config.num_skip() <= config.header_len() {
                        assert_eq!(oi, ti, "{context}: error at different reads");
                    } else {
                        // Difference 3: ours may notice first.
                        assert!(oi <= ti, "{context}: ours noticed later");
                    }
                }
                (None, Some((_, Err(o)))) => {
                    // Difference 3: tokio-util is still waiting for
                    // `num_skip` bytes before it reads the field.
                    assert!(config.num_skip() > config.header_len(), "{context}: {o:?}");
                    assert!(tokio.left < config.num_skip(), "{context}: {o:?}");
                }
                (t, o) => panic!("{context}: tokio-util {t:?}, ours {o:?}"),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(384))]

    /// Valid streams (with the odd bad header or garbage) decode to the
    /// same frames, with an error at the same point, under any chunking.
    #[test]
    fn decoders_agree_on_valid_streams(
        config in decoder_config(),
        segments in prop::collection::vec(segment(), 0..10),
        sizes in prop::collection::vec(1usize..40, 1..10),
    ) {
        let stream = build(&config, &segments);
        compare_decoders(&config, &stream, &sizes);
    }

    /// Random bytes decode the same (or fail at the same point) with both.
    #[test]
    fn decoders_agree_on_garbage(
        config in decoder_config(),
        stream in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..300),
            prop::collection::vec(prop::sample::select(vec![0u8, 0, 0, 1, 2, 3, 7, 0xff]), 0..300),
        ],
        sizes in prop::collection::vec(1usize..40, 1..10),
    ) {
        compare_decoders(&config, &stream, &sizes);
    }

    /// Both encoders write the same bytes for every payload both accept;
    /// where only one accepts, it is difference 1, checked precisely.
    #[test]
    fn encoders_agree(
        config in encoder_config(),
        payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..400), 0..6),
    ) {
        let Some(ours_config) = config.ours() else {
            return Ok(());
        };
        let mut tokio = config.codec();
        let mut ours = ours_config.new_codec();
        let max = config.effective_max();
        for payload in payloads {
            let payload = Bytes::from(payload);
            let mut tokio_wire = BytesMut::new();
            let tokio_result = Encoder::<Bytes>::encode(&mut tokio, payload.clone(), &mut tokio_wire);
            let mut our_wire = WireBuf::new();
            let our_result = ours.encode(payload.clone(), &mut our_wire);
            let context = format!("{config:?}, {} bytes", payload.len());
            match (tokio_result, our_result) {
                (Ok(()), Ok(())) => prop_assert_eq!(&tokio_wire[..], &our_wire.to_vec()[..], "{}", context),
                (Ok(()), Err(e)) => {
                    // Difference 1, adj < 0: tokio-util writes a field above
                    // its own decoder's maximum.
                    prop_assert!(config.adjustment < 0, "{}: {:?}", context, e);
                    prop_assert!(matches!(e, FrameError::FrameTooLarge { .. }), "{}: {:?}", context, e);
                    let decoded = config.codec().decode(&mut tokio_wire);
                    prop_assert!(decoded.is_err(), "{}: tokio-util decoded its own frame", context);
                }
                (Err(_), Ok(())) => {
                    // Difference 1, adj > 0: tokio-util refuses a payload
                    // its own decoder accepts.
                    prop_assert!(config.adjustment > 0 && payload.len() > max, "{}", context);
                    let mut wire = BytesMut::from(&our_wire.to_vec()[..]);
                    let decoded = config.codec().decode(&mut wire).unwrap();
                    prop_assert_eq!(decoded.map(BytesMut::freeze), Some(payload), "{}", context);
                }
                (Err(_), Err(_)) => {}
            }
        }
    }
}

#[test]
fn tokio_util_preset_matches_default_codec() {
    let mut tokio = LengthDelimitedCodec::new();
    let mut ours = LengthField::tokio_util().new_codec();
    let mut tokio_wire = BytesMut::new();
    let mut our_wire = WireBuf::new();
    for payload in [&b""[..], b"x", b"hello", &[7; 1000]] {
        let payload = Bytes::copy_from_slice(payload);
        Encoder::<Bytes>::encode(&mut tokio, payload.clone(), &mut tokio_wire).unwrap();
        ours.encode(payload, &mut our_wire).unwrap();
    }
    assert_eq!(&tokio_wire[..], &our_wire.to_vec()[..]);

    // Both refuse 8 MiB + 1 from the header alone.
    let max = 8 * 1024 * 1024;
    assert_eq!(tokio.max_frame_length(), max);
    let header = u32::try_from(max + 1).unwrap().to_be_bytes();
    assert!(tokio.decode(&mut BytesMut::from(&header[..])).is_err());
    assert!(matches!(
        ours.decode(&mut BytesMut::from(&header[..])),
        Err(FrameError::FrameTooLarge { .. })
    ));
    let header = u32::try_from(max).unwrap().to_be_bytes();
    let mut codec = LengthDelimitedCodec::new();
    assert_eq!(
        codec.decode(&mut BytesMut::from(&header[..])).unwrap(),
        None
    );
    let mut codec = LengthField::tokio_util().new_codec();
    assert_eq!(codec.decode(&mut BytesMut::from(&header[..])), Ok(None));
}

#[test]
fn tokio_util_checks_max_before_adjustment() {
    // A u16 field counting 2 bytes more than the payload, max 10.
    let config = TokioConfig {
        offset: 0,
        width: 2,
        big_endian: true,
        adjustment: -2,
        num_skip: None,
        max: 10,
    };
    // tokio-util encodes a 10-byte payload with a field of 12, which its own
    // decoder refuses: its encoder checks the payload, its decoder the field.
    let mut tokio = config.codec();
    let mut wire = BytesMut::new();
    Encoder::<Bytes>::encode(&mut tokio, Bytes::from(vec![1; 10]), &mut wire).unwrap();
    assert_eq!(&wire[..2], b"\x00\x0c");
    assert!(config.codec().decode(&mut wire.clone()).is_err());
    // The largest payload its decoder takes is 8: field 10.
    let mut eight = BytesMut::from(&b"\x00\x0a"[..]);
    eight.extend_from_slice(&[1; 8]);
    assert_eq!(config.codec().decode(&mut eight).unwrap().unwrap().len(), 8);

    // Ours bounds what is delivered: with max 10, 10 bytes go both ways.
    let ours = LengthField::default()
        .length_field_width(FieldWidth::U16)
        .length_adjustment(-2)
        .max_frame_length(10);
    let mut our_wire = WireBuf::new();
    let mut codec = ours.new_codec();
    codec
        .encode(Bytes::from(vec![1; 10]), &mut our_wire)
        .unwrap();
    assert_eq!(our_wire.to_vec(), wire.to_vec());
    let mut buf = BytesMut::from(&our_wire.to_vec()[..]);
    assert_eq!(codec.decode(&mut buf).unwrap().unwrap().len(), 10);
    // The mapping used by the comparison: tokio-util's max 10 with
    // adjustment -2 decodes like ours with max 8.
    let mapped = config.ours().unwrap();
    assert_eq!(mapped.max_frame_len(), 8);

    // adj > 0: tokio-util's encoder refuses a payload its decoder accepts.
    let config = TokioConfig {
        adjustment: 3,
        ..config
    };
    let mut over = BytesMut::from(&b"\x00\x0a"[..]);
    over.extend_from_slice(&[2; 13]);
    assert_eq!(config.codec().decode(&mut over).unwrap().unwrap().len(), 13);
    let refused = Encoder::<Bytes>::encode(
        &mut config.codec(),
        Bytes::from(vec![2; 13]),
        &mut BytesMut::new(),
    );
    assert!(refused.is_err());
}

#[test]
fn tokio_util_delivers_overlapping_frames_when_num_skip_is_short() {
    // u32 field, num_skip 0: the frame is the n bytes from the start.
    let config = TokioConfig {
        offset: 0,
        width: 4,
        big_endian: true,
        adjustment: 0,
        num_skip: Some(0),
        max: 1024,
    };
    // n = 2 < 4: tokio-util delivers half the header, then reads the next
    // header from the middle of this one.
    let mut tokio = config.codec();
    let mut buf = BytesMut::from(&b"\x00\x00\x00\x02\x00\x00"[..]);
    assert_eq!(&tokio.decode(&mut buf).unwrap().unwrap()[..], b"\x00\x00");
    assert_eq!(&buf[..], b"\x00\x02\x00\x00");
    // n = 0: an empty frame, nothing consumed, forever.
    let mut buf = BytesMut::from(&b"\x00\x00\x00\x00"[..]);
    for _ in 0..3 {
        assert_eq!(tokio.decode(&mut buf).unwrap().unwrap().len(), 0);
        assert_eq!(buf.len(), 4);
    }
    // Ours: the body would be shorter than nothing, a fatal error.
    let mut ours = config.ours().unwrap().new_codec();
    let mut buf = BytesMut::from(&b"\x00\x00\x00\x02\x00\x00"[..]);
    assert!(matches!(
        ours.decode(&mut buf),
        Err(FrameError::NegativeLength { value: 2, .. })
    ));
    // Too large for tokio-util and shorter than the header: ours reports the
    // shortness (u8 field after 3 bytes, num_skip 0, max 0, field 2).
    let config_short = TokioConfig {
        offset: 3,
        width: 1,
        max: 0,
        ..config.clone()
    };
    let mut buf = BytesMut::from(&b"abc\x02"[..]);
    let err = config_short.codec().decode(&mut buf).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    let mut ours = config_short.ours().unwrap().new_codec();
    assert!(matches!(
        ours.decode(&mut buf),
        Err(FrameError::NegativeLength { value: 2, .. })
    ));
    // A frame at least as long as the header decodes the same.
    let mut tokio = config.codec();
    let mut ours = config.ours().unwrap().new_codec();
    let wire = b"\x00\x00\x00\x06hi\x00\x00\x00\x04";
    let mut a = BytesMut::from(&wire[..]);
    let mut b = BytesMut::from(&wire[..]);
    assert_eq!(
        &tokio.decode(&mut a).unwrap().unwrap()[..],
        b"\x00\x00\x00\x06hi"
    );
    assert_eq!(
        &ours.decode(&mut b).unwrap().unwrap()[..],
        b"\x00\x00\x00\x06hi"
    );
    assert_eq!(
        &tokio.decode(&mut a).unwrap().unwrap()[..],
        b"\x00\x00\x00\x04"
    );
    assert_eq!(
        &ours.decode(&mut b).unwrap().unwrap()[..],
        b"\x00\x00\x00\x04"
    );
}

#[test]
fn tokio_util_waits_for_num_skip_bytes_before_checking_the_field() {
    // u8 field, 4 more bytes skipped after it, max 10.
    let config = TokioConfig {
        offset: 0,
        width: 1,
        big_endian: true,
        adjustment: 0,
        num_skip: Some(5),
        max: 10,
    };
    let mut tokio = config.codec();
    let mut ours = config.ours().unwrap().new_codec();
    // A field of 11 alone: ours refuses it, tokio-util waits.
    let mut a = BytesMut::from(&b"\x0b"[..]);
    let mut b = a.clone();
    assert_eq!(tokio.decode(&mut a).unwrap(), None);
    assert!(matches!(
        ours.decode(&mut b),
        Err(FrameError::FrameTooLarge {
            length: 11,
            max: 10
        })
    ));
    // With num_skip bytes in, tokio-util refuses it too.
    a.extend_from_slice(b"skip");
    assert!(tokio.decode(&mut a).is_err());
}
