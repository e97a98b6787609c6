//! Codecs made from one `LengthField` share its worked-out settings; a
//! setter called after a codec was made applies to the codecs made after
//! it, and never to those made before.
#![allow(clippy::unwrap_used)]

use bytes::{Bytes, BytesMut};
use proto_core::frame::{Endian, FrameError, LengthField};
use proto_core::message::{MessageBuilder, MessageResolver};

fn decode_one(config: &LengthField, wire: &[u8]) -> Result<Option<Bytes>, FrameError> {
    let mut codec = config.new_codec();
    let mut buf = BytesMut::from(wire);
    codec.decode(&mut buf)
}

#[test]
fn a_setter_after_a_codec_was_made_changes_the_codecs_made_after_it() {
    let four = b"\x00\x00\x00\x04abcd";
    let base = LengthField::netty();
    let before = base.new_codec();
    // At the new maximum the frame passes; one below it, it is refused.
    let at = base.clone().max_frame_length(4);
    assert_eq!(decode_one(&at, four).unwrap().unwrap(), &b"abcd"[..]);
    let under = at.clone().max_frame_length(3);
    assert!(matches!(
        decode_one(&under, four),
        Err(FrameError::FrameTooLarge { length: 4, max: 3 })
    ));
    // The codec made before the change still has the old settings.
    assert_eq!(before.config(), &base);
    assert_eq!(decode_one(&base, four).unwrap().unwrap(), &b"abcd"[..]);
}

#[test]
fn every_setter_invalidates_the_shared_plan() {
    let base = LengthField::netty();
    let _ = base.new_codec();
    let little = base.clone().endian(Endian::Little);
    let mut wire = proto_core::frame::WireBuf::new();
    little
        .new_codec()
        .encode(Bytes::from_static(b"hi"), &mut wire)
        .unwrap();
    assert_eq!(wire.to_vec(), b"\x02\x00\x00\x00hi");
    let stripped = base.clone().strip(0);
    assert_eq!(
        decode_one(&stripped, b"\x00\x00\x00\x02hi")
            .unwrap()
            .unwrap(),
        &b"\x00\x00\x00\x02hi"[..]
    );
}

#[test]
fn settings_compare_equal_whether_or_not_a_codec_was_made() {
    let used = LengthField::tokio_util();
    let _ = used.new_codec();
    assert_eq!(used, LengthField::tokio_util());
    assert_eq!(
        format!("{used:?}"),
        format!("{:?}", LengthField::tokio_util())
    );
    assert_ne!(used.clone().max_frame_length(1), LengthField::tokio_util());
}
