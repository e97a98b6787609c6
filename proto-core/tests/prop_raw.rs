//! Property tests of the raw codec: every read comes out as one frame, in
//! order, on every decode path; nothing is lost, nothing is empty, and no
//! input is an error.
#![allow(clippy::unwrap_used)]

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use proto_core::frame::{Raw, WireBuf};
use proto_core::message::{MessageBuilder, MessageResolver};
use proto_testkit::chunk::{chunkings, read_sizes};
use proto_testkit::paths::{PATHS, run};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Encoding writes payloads as they are; decoding hands back each
    /// non-empty read whole, so the frames are exactly the reads and their
    /// concatenation is the stream, under every chunking and on every path.
    #[test]
    fn every_read_is_one_frame(
        payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..8),
        sizes in read_sizes(),
    ) {
        let mut codec = Raw.new_codec();
        let mut wire = WireBuf::new();
        for payload in &payloads {
            codec.encode(Bytes::copy_from_slice(payload), &mut wire).unwrap();
        }
        let stream = wire.to_vec();
        prop_assert_eq!(&stream, &payloads.concat());
        for (how, chunks) in chunkings(&stream, &sizes) {
            let reads: Vec<_> = chunks
                .iter()
                .filter(|c| !c.is_empty())
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect();
            for path in PATHS {
                let out = run(path, Raw.new_codec(), &chunks);
                prop_assert_eq!(&out.events, &reads, "{} via {:?}", how, path);
                prop_assert_eq!(out.left, 0);
            }
        }
    }
}

#[test]
fn empty_buffer_is_no_frame() {
    let mut buf = BytesMut::new();
    assert_eq!(Raw.new_codec().decode(&mut buf), Ok(None));
    assert_eq!(Raw.new_codec().decode_eof(&mut buf), Ok(None));
    assert_eq!(Raw.new_codec().frames(&mut buf).count(), 0);
}

#[test]
fn encodes_empty_payload_as_nothing() {
    let mut wire = WireBuf::new();
    Raw.new_codec().encode(Bytes::new(), &mut wire).unwrap();
    assert!(wire.is_empty());
}
