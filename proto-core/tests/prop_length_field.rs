//! Property tests of the length-field codec: any chunking decodes what was
//! encoded, on every decode path; garbage never panics and only yields the
//! documented errors; an oversized frame, or one shorter than the strip, is
//! skipped and decoding resyncs; and
//! the limits hold exactly at and just past `max_frame_length`.
#![allow(clippy::unwrap_used)]

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use proto_core::frame::{
    DEFAULT_MAX_FRAME_LENGTH, Endian, FieldWidth, FrameError, FrameReader, LengthField,
    LengthFieldCodec, LengthMode, ReadBufConfig, WireBuf, for_each_frame,
};
use proto_core::message::{MessageBuilder, MessageResolver};
use proto_testkit::chunk::{chunkings, read_sizes};
use proto_testkit::model::LengthParams as Params;
use proto_testkit::paths::{Event, PATHS, Path, feed_bytewise, run};

const WIDTHS: [FieldWidth; 5] = [
    FieldWidth::U8,
    FieldWidth::U16,
    FieldWidth::U24,
    FieldWidth::U32,
    FieldWidth::U64,
];
const ENDIANS: [Endian; 2] = [Endian::Big, Endian::Little];
const MODES: [LengthMode; 2] = [LengthMode::Payload, LengthMode::Frame];

/// Every config small enough to walk exhaustively in a unit test.
fn all_params() -> impl Iterator<Item = Params> {
    let mut all = Vec::new();
    for offset in 0..4 {
        for width in WIDTHS {
            for endian in ENDIANS {
                for mode in MODES {
                    for adjustment in [-3, 0, 5] {
                        for strip in [None, Some(0), Some(2), Some(13)] {
                            for max in [0, 1, 10, 300] {
                                all.push(Params {
                                    offset,
                                    width,
                                    endian,
                                    mode,
                                    adjustment,
                                    strip,
                                    max,
                                });
                            }
                        }
                    }
                }
            }
        }
    }
    all.into_iter()
}

fn width() -> impl Strategy<Value = FieldWidth> {
    prop::sample::select(WIDTHS.to_vec())
}

fn endian() -> impl Strategy<Value = Endian> {
    prop::sample::select(ENDIANS.to_vec())
}

fn mode() -> impl Strategy<Value = LengthMode> {
    prop::sample::select(MODES.to_vec())
}

/// Configs under which typical payloads are encodable.
fn params() -> impl Strategy<Value = Params> {
    (
        0usize..4,
        width(),
        endian(),
        mode(),
        -16i64..=16,
        prop::option::of(0usize..12),
        prop_oneof![
            4 => 0usize..=100,
            1 => Just(DEFAULT_MAX_FRAME_LENGTH),
            1 => Just(usize::MAX),
        ],
    )
        .prop_map(
            |(offset, width, endian, mode, adjustment, strip, max)| Params {
                offset,
                width,
                endian,
                mode,
                adjustment,
                strip,
                max,
            },
        )
}

/// Any config at all, extreme adjustments, strips and limits included.
fn wild_params() -> impl Strategy<Value = Params> {
    (
        0usize..4,
        width(),
        endian(),
        mode(),
        prop_oneof![
            -16i64..=16,
            any::<i64>(),
            Just(i64::MIN),
            Just(i64::MAX),
            Just(-(1 << 32)),
        ],
        prop::option::of(prop_oneof![4 => 0usize..16, 1 => any::<usize>()]),
        prop_oneof![3 => 0usize..=100, 1 => any::<usize>(), 1 => Just(usize::MAX)],
    )
        .prop_map(
            |(offset, width, endian, mode, adjustment, strip, max)| Params {
                offset,
                width,
                endian,
                mode,
                adjustment,
                strip,
                max,
            },
        )
}

/// Bytes that often read as small length fields, or as anything at all.
fn garbage() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        prop::collection::vec(
            prop::sample::select(vec![0u8, 0, 0, 1, 2, 3, 5, 8, 0xfe, 0xff]),
            0..200
        ),
    ]
}

fn payloads() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..80), 0..8)
}

/// Encodes each payload (alternately with a zero prefix and with `prefix`
/// bytes), checking the encoder against [`Params::encode_model`]; returns the
/// stream and the frames it must decode to.
fn encode_all(params: &Params, payloads: &[Vec<u8>], prefix: u8) -> (Vec<u8>, Vec<Event>) {
    let mut codec = params.codec();
    let mut stream = Vec::new();
    let mut expected = Vec::new();
    for (i, payload) in payloads.iter().enumerate() {
        let mut wire = WireBuf::new();
        let payload = Bytes::copy_from_slice(payload);
        let result = if i % 2 == 0 {
            codec.encode(payload.clone(), &mut wire)
        } else {
            let prefix = vec![prefix; params.offset];
            codec.encode_with_prefix(&prefix, payload.clone(), &mut wire)
        };
        assert_eq!(result, params.encode_model(payload.len()), "{params:?}");
        if result.is_err() {
            assert!(wire.is_empty(), "a refused payload left bytes behind");
            continue;
        }
        let frame = wire.to_vec();
        assert_eq!(frame.len(), params.header_len() + payload.len());
        assert_eq!(&frame[params.header_len()..], &payload[..]);
        expected.push(Ok(Bytes::copy_from_slice(&frame[params.strip_len()..])));
        stream.extend_from_slice(&frame);
    }
    (stream, expected)
}

fn is_length_error(e: &FrameError) -> bool {
    matches!(
        e,
        FrameError::FrameTooLarge { .. }
            | FrameError::NegativeLength { .. }
            | FrameError::StripExceedsFrame { .. }
    )
}

/// Decodes all of `stream` at once, going on after recoverable errors, then
/// calls `decode_eof`.
fn decode_then_eof(params: &Params, stream: &[u8]) -> Option<Result<Option<Bytes>, FrameError>> {
    let mut codec = params.codec();
    let mut buf = BytesMut::from(stream);
    loop {
        match codec.decode(&mut buf) {
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) if e.is_recoverable() => {}
            Err(_) => return None,
        }
    }
    let eof = codec.decode_eof(&mut buf);
    if eof.is_ok() {
        assert!(buf.is_empty(), "decode_eof left bytes without an error");
    }
    Some(eof)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the encoder accepts comes back out, frame for frame, under
    /// every chunking and on every decode path.
    #[test]
    fn any_chunking_decodes_what_was_encoded(
        params in params(),
        payloads in payloads(),
        prefix in any::<u8>(),
        sizes in read_sizes(),
    ) {
        let (stream, expected) = encode_all(&params, &payloads, prefix);
        prop_assert_eq!(&params.decode_model(&stream), &(expected.clone(), None));
        for (how, chunks) in chunkings(&stream, &sizes) {
            for path in PATHS {
                let out = run(path, params.codec(), &chunks);
                prop_assert_eq!(&out.events, &expected, "{} via {:?}", how, path);
                prop_assert_eq!(out.left, 0, "{} via {:?}", how, path);
            }
        }
        prop_assert_eq!(decode_then_eof(&params, &stream), Some(Ok(None)));
    }

    /// Arbitrary bytes under any config never panic, decode the same under
    /// every chunking and path (as the documented semantics predict), and
    /// only yield the length codec's documented errors.
    #[test]
    fn garbage_decodes_as_documented_without_panicking(
        params in wild_params(),
        stream in garbage(),
        sizes in read_sizes(),
    ) {
        let (expected, eof) = params.decode_model(&stream);
        for event in &expected {
            if let Err(e) = event {
                prop_assert!(is_length_error(e), "undocumented error {:?}", e);
            }
        }
        let fatal = matches!(expected.last(), Some(Err(e)) if !e.is_recoverable());
        for (how, chunks) in chunkings(&stream, &sizes) {
            for path in PATHS {
                let out = run(path, params.codec(), &chunks);
                prop_assert_eq!(&out.events, &expected, "{} via {:?}", how, path);
                prop_assert_eq!(out.failed, fatal);
            }
        }
        let want_eof = if fatal {
            None
        } else {
            Some(eof.map_or(Ok(None), Err))
        };
        prop_assert_eq!(decode_then_eof(&params, &stream), want_eof);
    }

    /// Valid frames, an oversized frame (header and body), valid frames: the
    /// valid ones all come out, with one `FrameTooLarge` in between, under
    /// every chunking and on every path.
    #[test]
    fn resyncs_after_frame_over_max_len(
        params in params().prop_filter("finite max", |p| p.max <= 100),
        before in payloads(),
        after in payloads(),
        over_by in 1usize..16,
        prefix in any::<u8>(),
        sizes in read_sizes(),
    ) {
        let length = params.max + over_by;
        let body = params.body_for_delivered(length);
        let value = body.and_then(|body| params.value_for_body(body));
        prop_assume!(value.is_some());
        let (body, value) = (body.unwrap(), value.unwrap());
        let oversized = [params.header(prefix, value), vec![prefix ^ 0x55; body]].concat();

        let (head, mut expected) = encode_all(&params, &before, prefix);
        let (tail, rest) = encode_all(&params, &after, prefix);
        expected.push(Err(FrameError::FrameTooLarge { length: length as u64, max: params.max }));
        expected.extend(rest);
        let stream = [head, oversized, tail].concat();
        for (how, chunks) in chunkings(&stream, &sizes) {
            for path in PATHS {
                let out = run(path, params.codec(), &chunks);
                prop_assert_eq!(&out.events, &expected, "{} via {:?}", how, path);
                prop_assert_eq!(out.left, 0);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Valid frames, a frame shorter than the bytes to strip, valid frames:
    /// the valid ones all come out, with one `StripExceedsFrame` in
    /// between, under every chunking and on every path (the short frame is
    /// skipped like an oversized one).
    #[test]
    fn resyncs_after_frame_shorter_than_strip(
        params in params(),
        extra_strip in 1usize..8,
        short_by in 1usize..8,
        before in payloads(),
        after in payloads(),
        prefix in any::<u8>(),
        sizes in read_sizes(),
    ) {
        // A strip past the header, so that a frame can be shorter than it.
        let params = Params { strip: Some(params.header_len() + extra_strip), ..params };
        let body = extra_strip.saturating_sub(short_by);
        let value = params.value_for_body(body);
        prop_assume!(value.is_some());
        let short = [params.header(prefix, value.unwrap()), vec![prefix ^ 0x55; body]].concat();

        let (head, mut expected) = encode_all(&params, &before, prefix);
        let (tail, rest) = encode_all(&params, &after, prefix);
        expected.push(Err(FrameError::StripExceedsFrame {
            frame_length: short.len() as u64,
            strip: params.strip_len(),
        }));
        expected.extend(rest);
        let stream = [head, short, tail].concat();
        prop_assert_eq!(&params.decode_model(&stream), &(expected.clone(), None));
        for (how, chunks) in chunkings(&stream, &sizes) {
            for path in PATHS {
                let out = run(path, params.codec(), &chunks);
                prop_assert_eq!(&out.events, &expected, "{} via {:?}", how, path);
                prop_assert_eq!(out.left, 0);
                prop_assert!(!out.failed);
            }
        }
        prop_assert_eq!(decode_then_eof(&params, &stream), Some(Ok(None)));
    }
}

#[test]
fn accepts_frame_of_exactly_max_len() {
    let mut checked = 0;
    for params in all_params() {
        let Some(len) = params.body_for_delivered(params.max) else {
            continue;
        };
        if params.value_for_body(len).is_none() {
            continue;
        }
        let payload = Bytes::from(vec![0xa5; len]);
        let mut wire = WireBuf::new();
        params.codec().encode(payload, &mut wire).unwrap();
        let wire = wire.to_vec();

        let mut codec = params.codec();
        let mut buf = BytesMut::new();
        let frame = feed_bytewise(&mut codec, &mut buf, &wire).unwrap().unwrap();
        assert_eq!(frame.len(), params.max, "{params:?}");
        assert_eq!(frame, wire[params.strip_len()..], "{params:?}");
        assert!(buf.is_empty());
        checked += 1;
    }
    assert!(checked > 1000, "only {checked} configs checked");
}

#[test]
fn rejects_frame_over_max_len_from_header_alone() {
    let mut checked = 0;
    for params in all_params() {
        let Some(body) = params.body_for_delivered(params.max + 1) else {
            continue;
        };
        let Some(value) = params.value_for_body(body) else {
            continue;
        };
        let header = params.header(0x7e, value);
        let too_large = FrameError::FrameTooLarge {
            length: params.max as u64 + 1,
            max: params.max,
        };

        // Owned path: the error comes with the header's last byte, before
        // any body byte is given.
        let mut codec = params.codec();
        let mut buf = BytesMut::new();
        assert_eq!(
            feed_bytewise(&mut codec, &mut buf, &header),
            Err(too_large.clone()),
            "{params:?}"
        );

        // Borrowed path, the header alone in the buffer.
        let mut codec = params.codec();
        let mut buf = BytesMut::from(&header[..]);
        let result = for_each_frame(&mut codec, &mut buf, |_| panic!("no frame expected"));
        assert_eq!(result, Err(too_large), "{params:?}");
        checked += 1;
    }
    assert!(checked > 1000, "only {checked} configs checked");
}

#[test]
fn encoder_refuses_payload_over_max_len() {
    let mut checked = 0;
    for params in all_params() {
        let Some(len) = params.body_for_delivered(params.max + 1) else {
            continue;
        };
        if params.value_for_body(len).is_none() {
            continue;
        }
        let mut wire = WireBuf::new();
        let result = params.codec().encode(Bytes::from(vec![1; len]), &mut wire);
        assert_eq!(
            result,
            Err(FrameError::FrameTooLarge {
                length: params.max as u64 + 1,
                max: params.max,
            }),
            "{params:?}"
        );
        assert!(wire.is_empty());
        checked += 1;
    }
    assert!(checked > 1000, "only {checked} configs checked");
}

#[test]
fn negative_length_is_sticky() {
    // A 1-byte field of 2 with adjustment -3: a body of -1 bytes.
    let mut codec = LengthField::default()
        .length_field_width(FieldWidth::U8)
        .length_adjustment(-3)
        .new_codec();
    let mut buf = BytesMut::from(&b"\x02ab\x01x"[..]);
    let err = FrameError::NegativeLength {
        value: 2,
        adjustment: -3,
    };
    for _ in 0..3 {
        assert_eq!(codec.decode(&mut buf), Err(err.clone()));
    }
    assert_eq!(buf.len(), 5, "a fatal error consumed bytes");
}

#[test]
fn skips_frame_shorter_than_strip_and_resyncs() {
    // Strip 4 from frames of 1 + 2 and 1 + 1 bytes: each is reported, and
    // skipped by the next decode; then a 1 + 3 byte frame (exactly the
    // strip) delivers nothing, and a 1 + 4 byte frame its last byte.
    let mut codec = LengthField::default()
        .length_field_width(FieldWidth::U8)
        .strip(4)
        .new_codec();
    let mut buf = BytesMut::from(&b"\x02ab\x01x\x03abc\x04abcd"[..]);
    let err = |frame_length| FrameError::StripExceedsFrame {
        frame_length,
        strip: 4,
    };
    assert_eq!(codec.decode(&mut buf), Err(err(3)));
    assert!(err(3).is_recoverable());
    assert_eq!(codec.decode(&mut buf), Err(err(2)));
    assert_eq!(codec.decode(&mut buf), Ok(Some(Bytes::new())));
    assert_eq!(codec.decode(&mut buf), Ok(Some(Bytes::from_static(b"d"))));
    assert_eq!(codec.decode(&mut buf), Ok(None));
    assert!(buf.is_empty());
}

#[test]
fn does_not_reserve_announced_length() {
    let max = 64 << 20;
    let config = LengthField::default().max_frame_length(max);
    let header = u32::try_from(max).unwrap().to_be_bytes();

    // Owned path: a header announcing a 64 MiB body (allowed) leaves the
    // buffer as small as the bytes it holds.
    let mut codec = config.new_codec();
    let mut buf = BytesMut::from(&header[..]);
    assert_eq!(codec.decode(&mut buf), Ok(None));
    assert!(buf.capacity() < 1024, "capacity {}", buf.capacity());
    buf.extend_from_slice(&[0; 1000]);
    assert_eq!(codec.decode(&mut buf), Ok(None));
    assert!(buf.capacity() < 4096, "capacity {}", buf.capacity());

    // Borrowed path.
    let mut codec = config.new_codec();
    let mut buf = BytesMut::from(&header[..]);
    assert_eq!(for_each_frame(&mut codec, &mut buf, |_| {}), Ok(0));
    assert!(buf.capacity() < 1024, "capacity {}", buf.capacity());

    // FrameReader: the buffer grows only by its read size.
    let read = ReadBufConfig::default();
    let mut reader = FrameReader::new(config.new_codec());
    socket_reads(&mut reader, &header);
    assert_eq!(reader.next_frame(), Ok(None));
    socket_reads(&mut reader, &[0; 1000]);
    assert_eq!(reader.next_frame(), Ok(None));
    assert!(
        reader.capacity() <= 2 * read.read_capacity,
        "capacity {}",
        reader.capacity()
    );
}

/// Fills the reader the way socket reads would: each read takes at most the
/// free space `read_buf` offers.
fn socket_reads(reader: &mut FrameReader<LengthFieldCodec>, mut data: &[u8]) {
    while !data.is_empty() {
        let buf = reader.read_buf();
        let n = data.len().min(buf.capacity() - buf.len());
        buf.extend_from_slice(&data[..n]);
        data = &data[n..];
    }
}

/// One 256 KiB frame followed by the first bytes of a small one, delivered
/// by socket reads.
fn large_then_partial(reader: &mut FrameReader<LengthFieldCodec>) -> usize {
    let large = 256 * 1024;
    let mut wire = u32::try_from(large).unwrap().to_be_bytes().to_vec();
    wire.extend(std::iter::repeat_n(0x42, large));
    wire.extend_from_slice(b"\x00\x00\x00\x02h");
    socket_reads(reader, &wire);
    large
}

#[test]
fn frame_reader_shrinks_after_large_frame() {
    let config = ReadBufConfig {
        read_capacity: 1024,
        retain_capacity: 8 * 1024,
    };

    // next_frame: the large frame comes out, and the next call (which finds
    // no whole frame) gives the large buffer up.
    let mut reader = FrameReader::with_config(LengthField::netty().new_codec(), config);
    let large = large_then_partial(&mut reader);
    assert!(reader.capacity() > large);
    let frame = reader.next_frame().unwrap().unwrap();
    assert_eq!(frame.len(), large);
    drop(frame);
    assert_eq!(reader.next_frame(), Ok(None));
    assert!(
        reader.capacity() <= 2 * config.read_capacity,
        "capacity {} after the large frame",
        reader.capacity()
    );
    // The partial frame kept across the shrink completes normally.
    reader.extend_from_slice(b"i");
    assert_eq!(reader.next_frame(), Ok(Some(Bytes::from_static(b"hi"))));

    // for_each_frame: the shrink happens in the same call.
    let mut reader = FrameReader::with_config(LengthField::netty().new_codec(), config);
    let large = large_then_partial(&mut reader);
    let mut lens = Vec::new();
    assert_eq!(reader.for_each_frame(|f| lens.push(f.len())), Ok(1));
    assert_eq!(lens, [large]);
    assert!(
        reader.capacity() <= 2 * config.read_capacity,
        "capacity {} after the large frame",
        reader.capacity()
    );
    assert_eq!(reader.buffered(), 5);
}

#[test]
fn frame_reader_path_sees_every_frame_after_shrinking() {
    // A large frame between small ones through the reader driver, to check
    // that the copy made when shrinking keeps the codec's place.
    let params = Params {
        offset: 1,
        width: FieldWidth::U16,
        endian: Endian::Little,
        mode: LengthMode::Frame,
        adjustment: 0,
        strip: Some(1),
        max: 4096,
    };
    let payloads = [vec![1; 3], vec![2; 3000], vec![3; 5], vec![], vec![4; 200]];
    let (stream, expected) = encode_all(&params, &payloads, 9);
    for size in [1, 7, 64, 1000, stream.len()] {
        let chunks: Vec<&[u8]> = stream.chunks(size).collect();
        for path in [Path::Reader, Path::ReaderBorrowed] {
            let out = run(path, params.codec(), &chunks);
            assert_eq!(out.events, expected, "reads of {size} via {path:?}");
        }
    }
}

#[test]
fn frame_reader_shrinks_after_large_frame_appended_through_read_buf() {
    // `read_buf` says "append with BufMut"; an append larger than the free
    // space it guarantees grows the buffer behind the reader's back, and
    // must not defeat the shrink.
    let config = ReadBufConfig {
        read_capacity: 1024,
        retain_capacity: 8 * 1024,
    };
    let mut reader = FrameReader::with_config(LengthField::netty().new_codec(), config);
    let large = 256 * 1024;
    let mut wire = u32::try_from(large).unwrap().to_be_bytes().to_vec();
    wire.extend(std::iter::repeat_n(0x42, large));
    wire.extend_from_slice(b"\x00\x00\x00\x02h");
    reader.read_buf().extend_from_slice(&wire);
    let frame = reader.next_frame().unwrap().unwrap();
    assert_eq!(frame.len(), large);
    drop(frame);
    assert_eq!(reader.next_frame(), Ok(None));
    // The next read must not get the large allocation back.
    let capacity = reader.read_buf().capacity();
    assert!(
        capacity <= 2 * config.read_capacity,
        "capacity {capacity} after the large frame"
    );
    reader.extend_from_slice(b"i");
    assert_eq!(reader.next_frame(), Ok(Some(Bytes::from_static(b"hi"))));
}
