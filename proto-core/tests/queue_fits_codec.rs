//! Queue limits that fit the codec: each codec's largest frame on the
//! wire, exactly at it and one byte over, and `SessionConfig::check` at
//! and one over each of its limits.
#![allow(clippy::unwrap_used)]

use bytes::{Bytes, BytesMut};
use proto_core::frame::{
    Endian, FieldWidth, FrameError, LengthField, LengthMode, Line, Raw, WireBuf,
};
use proto_core::message::{MessageBuilder, MessageFactory, MessageResolver};
use proto_core::session::{ConfigError, SessionConfig, WaterMarks};

/// Encodes a payload of `wire_len - header` bytes and decodes it back; the
/// encoded frame must be exactly `wire_len` bytes.
fn round_trip(config: &LengthField, payload_len: usize) -> Result<usize, FrameError> {
    let mut codec = config.new_codec();
    let mut wire = WireBuf::new();
    codec.encode(Bytes::from(vec![0xab; payload_len]), &mut wire)?;
    let bytes = wire.to_vec();
    let mut buf = BytesMut::from(&bytes[..]);
    let mut decoder = config.new_codec();
    decoder.decode(&mut buf)?.expect("a whole frame");
    assert!(buf.is_empty());
    Ok(bytes.len())
}

/// A header announcing one more byte than the largest frame is refused
/// by the decoder from the header alone (when the field can express it).
fn header_one_over_is_refused(config: &LengthField, max_wire: usize) {
    let header = config.header_len();
    // The field value of a frame of `max_wire` bytes, plus one.
    let mut codec = config.new_codec();
    let mut wire = WireBuf::new();
    codec
        .encode(Bytes::from(vec![0; max_wire - header]), &mut wire)
        .unwrap();
    let mut bytes = wire.to_vec();
    bytes.truncate(header);
    let field = &mut bytes[header - 4..header];
    let value = u32::from_be_bytes(field.try_into().unwrap());
    let Some(next) = value.checked_add(1) else {
        return;
    };
    field.copy_from_slice(&next.to_be_bytes());
    let mut buf = BytesMut::from(&bytes[..]);
    let err = config.new_codec().decode(&mut buf).unwrap_err();
    assert!(matches!(err, FrameError::FrameTooLarge { .. }), "{err:?}");
}

#[test]
fn length_field_max_frame_wire_len_is_exact_for_the_default_header() {
    let config = LengthField::default().max_frame_length(100);
    let max = config.max_frame_wire_len().unwrap();
    assert_eq!(max, 104);
    assert_eq!(round_trip(&config, max - 4), Ok(max));
    assert!(round_trip(&config, max - 3).is_err(), "one byte over");
    header_one_over_is_refused(&config, max);
}

#[test]
fn length_field_max_frame_wire_len_counts_a_kept_header() {
    // strip(0): the delivered frame includes the header, so the body is
    // 4 bytes shorter than max_frame_length.
    let config = LengthField::default().max_frame_length(100).strip(0);
    let max = config.max_frame_wire_len().unwrap();
    assert_eq!(max, 100);
    assert_eq!(round_trip(&config, max - 4), Ok(max));
    assert!(round_trip(&config, max - 3).is_err(), "one byte over");
    header_one_over_is_refused(&config, max);
}

#[test]
fn length_field_max_frame_wire_len_follows_frame_mode_and_adjustment() {
    // Frame mode with a 2-byte prefix and an adjustment: the field counts
    // the whole frame plus 3.
    let config = LengthField::default()
        .length_field_offset(2)
        .length_mode(LengthMode::Frame)
        .length_adjustment(-3)
        .max_frame_length(50);
    let max = config.max_frame_wire_len().unwrap();
    assert_eq!(max, 56);
    let mut codec = config.new_codec();
    let mut wire = WireBuf::new();
    codec
        .encode_with_prefix(&[1, 2], Bytes::from(vec![9; max - 6]), &mut wire)
        .unwrap();
    let bytes = wire.to_vec();
    assert_eq!(bytes.len(), max);
    let mut buf = BytesMut::from(&bytes[..]);
    assert!(config.new_codec().decode(&mut buf).unwrap().is_some());
    assert!(round_trip(&config, max - 5).is_err(), "one byte over");
    header_one_over_is_refused(&config, max);
}

#[test]
fn length_field_max_frame_wire_len_is_bounded_by_the_field_width() {
    let config = LengthField::default()
        .length_field_width(FieldWidth::U8)
        .endian(Endian::Little);
    let max = config.max_frame_wire_len().unwrap();
    assert_eq!(max, 1 + 255);
    assert_eq!(round_trip(&config, 255), Ok(max));
    assert!(matches!(
        round_trip(&config, 256),
        Err(FrameError::LengthNotEncodable { .. })
    ));
}

#[test]
fn length_field_max_frame_wire_len_at_the_edges_of_strip_and_adjustment() {
    // Delivering at most 0 bytes after stripping 100: only frames of
    // exactly 100 wire bytes pass.
    let config = LengthField::default().strip(100).max_frame_length(0);
    assert_eq!(config.max_frame_wire_len(), Some(100));
    let config = LengthField::default()
        .length_mode(LengthMode::Frame)
        .length_adjustment(-(1 << 40))
        .max_frame_length(0);
    // No field value gives a non-negative length: no frame passes.
    assert_eq!(config.max_frame_wire_len(), Some(0));
}

#[test]
fn line_max_frame_wire_len_is_max_line_length_plus_crlf() {
    let config = Line::default().max_line_length(10);
    assert_eq!(config.max_frame_wire_len(), Some(12));
    let mut codec = config.new_codec();
    let mut buf = BytesMut::from(&b"0123456789\r\n"[..]);
    assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), &b"0123456789"[..]);
    let mut buf = BytesMut::from(&b"0123456789A\r\n"[..]);
    assert!(matches!(
        codec.decode(&mut buf),
        Err(FrameError::LineTooLong { .. })
    ));
    assert_eq!(
        Line::default()
            .max_line_length(usize::MAX)
            .max_frame_wire_len(),
        None
    );
}

#[test]
fn raw_has_no_max_frame_wire_len() {
    assert_eq!(Raw.max_frame_wire_len(), None);
}

#[test]
fn line_sends_a_prefixed_maximum_length_line_by_default() {
    // A relay: receives a line of max_line_length and sends it prefixed.
    let config = Line::default().max_line_length(10);
    let mut codec = config.new_codec();
    let mut wire = WireBuf::new();
    codec
        .encode(Bytes::from_static(b"bob: 0123456789"), &mut wire)
        .unwrap();
    assert_eq!(wire.to_vec(), b"bob: 0123456789\n");
}

#[test]
fn line_refuses_a_send_over_max_send_length_and_accepts_exactly_max() {
    let config = Line::default().max_line_length(4).max_send_length(Some(6));
    let mut codec = config.new_codec();
    let mut wire = WireBuf::new();
    codec
        .encode(Bytes::from_static(b"sixsix"), &mut wire)
        .unwrap();
    assert_eq!(wire.to_vec(), b"sixsix\n");
    let err = codec
        .encode(Bytes::from_static(b"sevense"), &mut wire)
        .unwrap_err();
    assert_eq!(err, FrameError::LineTooLongToSend { length: 7, max: 6 });
    assert_eq!(err.to_string(), "line of 7 bytes exceeds max_send_length 6");
    assert_eq!(wire.to_vec(), b"sixsix\n", "nothing appended on error");
}

// ----- SessionConfig::check -----

fn with(low: usize, high: usize, max_queue_bytes: usize) -> SessionConfig {
    SessionConfig::default()
        .backpressure(Some(WaterMarks { low, high }))
        .max_queue_bytes(max_queue_bytes)
}

#[test]
fn default_config_fits_the_default_codecs() {
    let config = SessionConfig::default();
    assert_eq!(
        config.check(LengthField::default().max_frame_wire_len()),
        Ok(())
    );
    assert_eq!(config.check(Line::default().max_frame_wire_len()), Ok(()));
    assert_eq!(config.check(Raw.max_frame_wire_len()), Ok(()));
}

#[test]
fn automatic_queue_limit_fits_every_preset_exactly() {
    let config = SessionConfig::default();
    for frame in [
        LengthField::tokio_util().max_frame_wire_len(),
        LengthField::laster40net().max_frame_wire_len(),
        Line::default().max_frame_wire_len(),
    ] {
        assert_eq!(config.check(frame), Ok(()));
        let auto = config.queue_bytes_for(frame);
        let needed = frame.expect("known") + 64 * 1024;
        assert_eq!(auto, needed.max(2 << 20));
        // The automatic limit is exactly enough: one byte less is refused.
        let tight = config.clone().max_queue_bytes(needed - 1);
        assert!(tight.check(frame).is_err());
        assert_eq!(config.clone().max_queue_bytes(needed).check(frame), Ok(()));
    }
}

#[test]
fn check_rejects_a_zero_high_water_mark() {
    let config = SessionConfig::default().backpressure(Some(WaterMarks { low: 0, high: 0 }));
    assert_eq!(config.check(None), Err(ConfigError::HighIsZero));
    let one = SessionConfig::default().backpressure(Some(WaterMarks { low: 0, high: 1 }));
    assert_eq!(one.check(None), Ok(()));
}

#[test]
fn check_rejects_a_queue_smaller_than_the_largest_frame_on_top_of_high() {
    let frame = LengthField::tokio_util().max_frame_wire_len();
    let err = SessionConfig::default()
        .max_queue_bytes(2 << 20)
        .check(frame)
        .unwrap_err();
    let required = 8 * 1024 * 1024 + 4 + 64 * 1024;
    assert_eq!(
        err.to_string(),
        format!(
            "max_queue_bytes 2097152 cannot hold the codec's largest frame (8388612 wire bytes) \
             on top of the backpressure high water mark (65536): raise max_queue_bytes to at \
             least {required}"
        )
    );
    // At the limit, and one byte under it.
    assert_eq!(with(10, 20, 120).check(Some(100)), Ok(()));
    assert_eq!(
        with(10, 20, 119).check(Some(100)),
        Err(ConfigError::QueueTooSmall {
            max_queue_bytes: 119,
            max_frame_wire_len: 100,
            high: 20,
            required: 120
        })
    );
}

#[test]
fn check_without_backpressure_needs_room_for_one_largest_frame() {
    let off = |max| {
        SessionConfig::default()
            .backpressure(None)
            .max_queue_bytes(max)
    };
    assert_eq!(off(100).check(Some(100)), Ok(()));
    assert!(matches!(
        off(99).check(Some(100)),
        Err(ConfigError::QueueTooSmall { required: 100, .. })
    ));
    assert_eq!(off(0).check(None), Ok(()));
}

#[test]
fn check_rejects_low_above_high() {
    assert_eq!(with(20, 20, 100).check(None), Ok(()));
    let err = with(21, 20, 100).check(None).unwrap_err();
    assert_eq!(err, ConfigError::LowAboveHigh { low: 21, high: 20 });
    assert_eq!(
        err.to_string(),
        "backpressure low water mark 21 is above the high water mark 20: lower low to at most 20"
    );
}

#[test]
fn check_rejects_high_above_max_queue_bytes() {
    assert_eq!(with(10, 100, 100).check(None), Ok(()));
    let err = with(10, 101, 100).check(None).unwrap_err();
    assert_eq!(
        err,
        ConfigError::HighAboveQueue {
            high: 101,
            max_queue_bytes: 100
        }
    );
    assert!(
        err.to_string()
            .ends_with("raise max_queue_bytes to at least 101"),
        "{err}"
    );
}
