//! The named presets, pinned on exact wire bytes, and the errors a user sees.
#![allow(clippy::unwrap_used)]

use bytes::{Bytes, BytesMut};
use proto_core::frame::{
    Endian, FieldWidth, FrameError, LengthField, LengthMode, Line, Raw, WireBuf,
};
use proto_core::message::{MessageBuilder, MessageFactory, MessageResolver, Resolved};

fn encode(config: &LengthField, payload: &'static [u8]) -> Vec<u8> {
    let mut wire = WireBuf::new();
    config
        .new_codec()
        .encode(Bytes::from_static(payload), &mut wire)
        .unwrap();
    wire.to_vec()
}

fn decode_all(config: &LengthField, wire: &[u8]) -> Vec<Bytes> {
    let mut codec = config.new_codec();
    let mut buf = BytesMut::from(wire);
    let frames = codec
        .frames(&mut buf)
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    assert!(buf.is_empty());
    frames
}

#[test]
fn laster40net_is_u32_le_payload_length() {
    // Seed 004's SimpleBinaryMessageBuilder writes payload.Count, not
    // payload.Count + 4 as its §8 walk-through claims.
    let wire = encode(&LengthField::laster40net(), b"Hello");
    assert_eq!(wire, b"\x05\x00\x00\x00Hello");
    let two = [&b"\x02\x00\x00\x00Hi"[..], b"\x03\x00\x00\x00Bye"].concat();
    assert_eq!(
        decode_all(&LengthField::laster40net(), &two),
        [&b"Hi"[..], b"Bye"]
    );
}

#[test]
fn netty_is_u32_be_payload_length() {
    let wire = encode(&LengthField::netty(), b"HELLO, WORLD");
    assert_eq!(wire, b"\x00\x00\x00\x0cHELLO, WORLD");
    assert_eq!(
        decode_all(&LengthField::netty(), &wire),
        [&b"HELLO, WORLD"[..]]
    );
}

#[test]
fn tokio_util_is_u32_be_payload_length_with_8_mib_max() {
    let config = LengthField::tokio_util();
    assert_eq!(
        encode(&config, b"hello world"),
        b"\x00\x00\x00\x0bhello world"
    );
    assert_eq!(config.max_frame_len(), 8 * 1024 * 1024);
    assert_eq!(encode(&config, b""), b"\x00\x00\x00\x00");
}

#[test]
fn whole_frame_mode_counts_the_header() {
    // [type][u16 LE length of the whole frame][body]
    let config = LengthField::default()
        .length_field_offset(1)
        .length_field_width(FieldWidth::U16)
        .endian(Endian::Little)
        .length_mode(LengthMode::Frame);
    let mut codec = config.new_codec();
    let mut wire = WireBuf::new();
    codec
        .encode_with_prefix(b"\x07", Bytes::from_static(b"abc"), &mut wire)
        .unwrap();
    assert_eq!(wire.to_vec(), b"\x07\x06\x00abc");
    assert_eq!(decode_all(&config, &wire.to_vec()), [&b"abc"[..]]);
    // Keeping the header delivers the frame whole.
    assert_eq!(
        decode_all(&config.clone().strip(0), &wire.to_vec()),
        [&b"\x07\x06\x00abc"[..]]
    );
}

#[test]
fn every_width_and_endian_writes_the_expected_field() {
    let cases: [(FieldWidth, Endian, &[u8]); 10] = [
        (FieldWidth::U8, Endian::Big, b"\x02"),
        (FieldWidth::U8, Endian::Little, b"\x02"),
        (FieldWidth::U16, Endian::Big, b"\x00\x02"),
        (FieldWidth::U16, Endian::Little, b"\x02\x00"),
        (FieldWidth::U24, Endian::Big, b"\x00\x00\x02"),
        (FieldWidth::U24, Endian::Little, b"\x02\x00\x00"),
        (FieldWidth::U32, Endian::Big, b"\x00\x00\x00\x02"),
        (FieldWidth::U32, Endian::Little, b"\x02\x00\x00\x00"),
        (
            FieldWidth::U64,
            Endian::Big,
            b"\x00\x00\x00\x00\x00\x00\x00\x02",
        ),
        (
            FieldWidth::U64,
            Endian::Little,
            b"\x02\x00\x00\x00\x00\x00\x00\x00",
        ),
    ];
    for (width, endian, field) in cases {
        let config = LengthField::default()
            .length_field_width(width)
            .endian(endian);
        let wire = encode(&config, b"ok");
        assert_eq!(wire, [field, b"ok"].concat(), "{width} {endian:?}");
        assert_eq!(decode_all(&config, &wire), [&b"ok"[..]]);
    }
}

#[test]
fn encoder_refuses_a_length_the_field_cannot_hold() {
    let config = LengthField::default()
        .length_field_width(FieldWidth::U8)
        .max_frame_length(1000);
    let mut codec = config.new_codec();
    let mut wire = WireBuf::new();
    codec
        .encode(Bytes::from(vec![0u8; 255]), &mut wire)
        .unwrap();
    let err = codec
        .encode(Bytes::from(vec![0u8; 256]), &mut wire)
        .unwrap_err();
    assert!(matches!(
        err,
        FrameError::LengthNotEncodable { length: 256, .. }
    ));
    assert_eq!(wire.len(), 256, "a refused frame appends nothing");
    assert_eq!(
        err.to_string(),
        "payload of 256 bytes cannot be encoded in a 1-byte length field (adjustment 0)"
    );
}

#[test]
fn encoder_refuses_a_frame_over_max_and_accepts_exactly_max() {
    let mut codec = LengthField::default().max_frame_length(10).new_codec();
    let mut wire = WireBuf::new();
    codec.encode(Bytes::from(vec![1u8; 10]), &mut wire).unwrap();
    let err = codec
        .encode(Bytes::from(vec![1u8; 11]), &mut wire)
        .unwrap_err();
    assert_eq!(
        err,
        FrameError::FrameTooLarge {
            length: 11,
            max: 10
        }
    );
    assert_eq!(
        err.to_string(),
        "frame of 11 bytes exceeds max_frame_length 10"
    );
}

#[test]
fn encoder_checks_the_prefix_length() {
    let mut codec = LengthField::default().length_field_offset(2).new_codec();
    let err = codec
        .encode_with_prefix(b"x", Bytes::new(), &mut WireBuf::new())
        .unwrap_err();
    assert_eq!(
        err,
        FrameError::PrefixLength {
            expected: 2,
            actual: 1
        }
    );
    // Plain `encode` fills the prefix with zeros.
    let mut wire = WireBuf::new();
    codec.encode(Bytes::from_static(b"z"), &mut wire).unwrap();
    assert_eq!(wire.to_vec(), b"\x00\x00\x00\x00\x00\x01z");
}

#[test]
fn negative_length_is_a_sticky_error() {
    let config = LengthField::default()
        .length_field_width(FieldWidth::U8)
        .length_mode(LengthMode::Frame); // a whole-frame length below 1 is impossible
    let mut codec = config.new_codec();
    let mut buf = BytesMut::from(&b"\x00\x05hello"[..]);
    let err = codec.decode(&mut buf).unwrap_err();
    assert_eq!(
        err,
        FrameError::NegativeLength {
            value: 0,
            adjustment: -1
        }
    );
    assert!(!err.is_recoverable());
    assert_eq!(
        err.to_string(),
        "length field value 0 with adjustment -1 gives a negative frame length"
    );
    // The stream cannot be trusted any more: the same error again.
    assert_eq!(codec.decode(&mut buf).unwrap_err(), err);
}

#[test]
fn adjustment_overflow_on_u64_field_is_an_error_not_a_panic() {
    let config = LengthField::default()
        .length_field_width(FieldWidth::U64)
        .length_adjustment(i64::MAX)
        .max_frame_length(usize::MAX);
    let mut codec = config.new_codec();
    let mut buf = BytesMut::from(&[0xffu8; 8][..]);
    let err = codec.decode(&mut buf).unwrap_err();
    assert!(matches!(err, FrameError::FrameTooLarge { .. }), "{err}");
    let config = LengthField::default()
        .length_field_width(FieldWidth::U64)
        .length_adjustment(i64::MIN);
    let mut buf = BytesMut::from(&[0u8; 8][..]);
    let err = config.new_codec().decode(&mut buf).unwrap_err();
    assert!(matches!(err, FrameError::NegativeLength { .. }), "{err}");
}

#[test]
fn strip_longer_than_the_frame_is_a_recoverable_error() {
    let config = LengthField::default()
        .length_field_width(FieldWidth::U8)
        .strip(3);
    let mut codec = config.new_codec();
    let mut buf = BytesMut::from(&b"\x01a\x03xyz"[..]);
    let err = codec.decode(&mut buf).unwrap_err();
    assert_eq!(
        err,
        FrameError::StripExceedsFrame {
            frame_length: 2,
            strip: 3
        }
    );
    assert!(err.is_recoverable());
    assert_eq!(
        err.to_string(),
        "frame of 2 bytes is shorter than the 3 bytes to strip"
    );
    // The header gave the short frame's end: decoding again skips it and
    // delivers the next frame (4 bytes on the wire, 3 stripped).
    assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), &b"z"[..]);
    assert!(buf.is_empty());
}

#[test]
fn truncated_stream_is_reported_at_eof() {
    let mut codec = LengthField::netty().new_codec();
    let mut buf = BytesMut::from(&b"\x00\x00\x00\x05hel"[..]);
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    assert_eq!(
        codec.decode_eof(&mut buf).unwrap_err(),
        FrameError::Truncated { buffered: 7 }
    );
    let mut empty = BytesMut::new();
    assert_eq!(
        LengthField::netty().new_codec().decode_eof(&mut empty),
        Ok(None)
    );
}

#[test]
fn line_codec_delivers_last_unterminated_line_at_eof() {
    let mut codec = Line::default().new_codec();
    let mut buf = BytesMut::from(&b"one\r\ntwo\nthree\r"[..]);
    assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), "one");
    assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), "two");
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    assert_eq!(codec.decode_eof(&mut buf).unwrap().unwrap(), "three");
    assert_eq!(codec.decode_eof(&mut buf).unwrap(), None);
}

#[test]
fn line_codec_utf8_mode_skips_invalid_line() {
    let mut codec = Line::default().utf8(true).new_codec();
    let mut buf = BytesMut::from(&b"ok\n\xff\xfe\nnext\n"[..]);
    assert_eq!(codec.decode_line(&mut buf).unwrap().unwrap().as_str(), "ok");
    let err = codec.decode_line(&mut buf).unwrap_err();
    assert_eq!(err, FrameError::InvalidUtf8 { valid_up_to: 0 });
    assert!(err.is_recoverable());
    assert_eq!(
        codec.decode_line(&mut buf).unwrap().unwrap().as_str(),
        "next"
    );
}

#[test]
fn line_encoder_appends_newline_and_refuses_embedded_newline() {
    let mut codec = Line::default()
        .max_line_length(5)
        .max_send_length(Some(5))
        .new_codec();
    let mut wire = WireBuf::new();
    codec
        .encode(Bytes::from_static(b"hello"), &mut wire)
        .unwrap();
    assert_eq!(wire.to_vec(), b"hello\n");
    assert!(matches!(
        codec.encode(Bytes::from_static(b"a\nb"), &mut wire),
        Err(FrameError::Malformed(_))
    ));
    assert_eq!(
        codec.encode(Bytes::from_static(b"sixsix"), &mut wire),
        Err(FrameError::LineTooLongToSend { length: 6, max: 5 })
    );
    assert_eq!(wire.to_vec(), b"hello\n");
}

#[test]
fn raw_codec_passes_bytes_through() {
    let mut codec = Raw.new_resolver();
    let mut buf = BytesMut::from(&b"anything"[..]);
    assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), "anything");
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    let mut wire = WireBuf::new();
    Raw.new_builder()
        .encode(Bytes::from_static(b"xyz"), &mut wire)
        .unwrap();
    assert_eq!(wire.to_vec(), b"xyz");
}

/// A resolver that answers with ranges outside the buffer.
struct Liar(Resolved);

impl MessageResolver for Liar {
    fn resolve(&mut self, _src: &[u8]) -> Result<Resolved, FrameError> {
        Ok(self.0.clone())
    }
}

#[test]
fn a_resolver_breaking_its_contract_gets_an_error_not_a_panic() {
    let bad = [
        Resolved::Frame {
            frame: 0..10,
            consumed: 10,
        },
        Resolved::Frame {
            // start past end
            frame: std::ops::Range { start: 2, end: 1 },
            consumed: 3,
        },
        Resolved::Frame {
            frame: 0..0,
            consumed: 0,
        },
        Resolved::Discard(0),
        Resolved::Discard(4),
    ];
    for answer in bad {
        let mut buf = BytesMut::from(&b"abc"[..]);
        let err = Liar(answer.clone()).decode(&mut buf).unwrap_err();
        assert!(
            matches!(err, FrameError::ResolverContract { .. }),
            "{answer:?}"
        );
        let err = proto_core::frame::for_each_frame(&mut Liar(answer.clone()), &mut buf, |_| {})
            .unwrap_err();
        assert!(
            matches!(err, FrameError::ResolverContract { .. }),
            "{answer:?}"
        );
        assert_eq!(buf.len(), 3, "nothing consumed");
    }
}

#[test]
fn wire_buf_partial_writes_keep_the_rest_in_order() {
    let mut wire = WireBuf::with_copy_limit(2);
    wire.put_slice(b"ab");
    wire.put_bytes(Bytes::from_static(b"cdef"));
    wire.put_slice(b"gh");
    assert_eq!(wire.chunk_count(), 3);
    let mut slices = [std::io::IoSlice::new(&[]); 8];
    assert_eq!(wire.io_slices(&mut slices), 3);
    assert_eq!(&*slices[1], b"cdef");
    wire.advance(3);
    assert_eq!(wire.to_vec(), b"defgh");
    assert_eq!(wire.pop_chunk().unwrap(), "def");
    assert_eq!(wire.pop_chunk().unwrap(), "gh");
    assert!(wire.pop_chunk().is_none());
    assert!(wire.is_empty());
    wire.put_slice(b"xy");
    wire.advance(100);
    assert!(wire.is_empty());
}
