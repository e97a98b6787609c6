//! Property tests of the line codec: any chunking decodes what was encoded,
//! on every decode path; arbitrary bytes decode as the module docs say
//! (every `\n` ends a line, one `\r` before it is dropped) with only the
//! documented errors; a bad line is skipped and decoding resyncs; and
//! `max_line_length` holds exactly at and just past the limit.
#![allow(clippy::unwrap_used)]

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use proto_core::frame::{DEFAULT_MAX_LINE_LENGTH, FrameError, Line, LineCodec, WireBuf};
use proto_core::message::{MessageBuilder, MessageResolver};
use proto_testkit::chunk::{chunkings, read_sizes};
use proto_testkit::model::line_decode_model as model;
use proto_testkit::paths::{Event, PATHS, feed_bytewise, run};

/// Limits the deterministic tests walk.
const MAXES: [usize; 6] = [0, 1, 2, 5, 64, DEFAULT_MAX_LINE_LENGTH];

/// A codec that sends what it would receive: its send limit is its
/// receive limit.
fn line_codec(max: usize, utf8: bool) -> LineCodec {
    Line::default()
        .max_line_length(max)
        .max_send_length(Some(max))
        .utf8(utf8)
        .new_codec()
}

/// Bytes rich in line endings and in broken UTF-8.
fn line_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        3 => prop::sample::select(b"ab \r\n\r\n\xc3\xa9\xff".to_vec()),
        1 => any::<u8>(),
    ]
}

fn max_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        4 => 0usize..=40,
        1 => Just(DEFAULT_MAX_LINE_LENGTH),
        1 => Just(usize::MAX),
    ]
}

/// The reported length of an overlong line depends on how much was
/// buffered when it was noticed; compare errors without it, after checking
/// that it is a true lower bound of the line's length.
fn normalise(events: &[Event], model: &[Event]) -> Vec<Event> {
    assert_eq!(events.len(), model.len(), "{events:?}\nvs model {model:?}");
    events
        .iter()
        .zip(model)
        .map(|(event, want)| match (event, want) {
            (
                Err(FrameError::LineTooLong { length, max }),
                Err(FrameError::LineTooLong { length: actual, .. }),
            ) => {
                assert!(
                    *max < *length && length <= actual,
                    "LineTooLong length {length} is not a lower bound of {actual} (max {max})"
                );
                Err(FrameError::LineTooLong {
                    length: *actual,
                    max: *max,
                })
            }
            (other, _) => other.clone(),
        })
        .collect()
}

/// Decodes `chunks` with `decode`, going on after errors (all of the line
/// codec's are recoverable), then drains `decode_eof`.
fn decode_with_eof(max: usize, utf8: bool, chunks: &[&[u8]]) -> (Vec<Event>, Vec<Event>) {
    let mut codec = line_codec(max, utf8);
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match codec.decode(&mut buf) {
                Ok(None) => break,
                Ok(Some(line)) => events.push(Ok(line)),
                Err(e) => {
                    assert!(e.is_recoverable(), "fatal line error {e:?}");
                    events.push(Err(e));
                }
            }
        }
    }
    let mut eof = Vec::new();
    for _ in 0..3 {
        match codec.decode_eof(&mut buf) {
            Ok(None) => break,
            Ok(Some(line)) => eof.push(Ok(line)),
            Err(e) => eof.push(Err(e)),
        }
    }
    assert!(buf.is_empty(), "decode_eof left {} bytes", buf.len());
    assert_eq!(codec.decode_eof(&mut buf), Ok(None));
    (events, eof)
}

fn is_line_error(e: &FrameError, utf8: bool) -> bool {
    match e {
        FrameError::LineTooLong { .. } => true,
        FrameError::InvalidUtf8 { .. } => utf8,
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the encoder accepts comes back out, line for line, under
    /// every chunking and on every decode path; the encoder refuses exactly
    /// the payloads that could not come back whole.
    #[test]
    fn any_chunking_decodes_what_was_encoded(
        max in max_len(),
        utf8 in any::<bool>(),
        payloads in prop::collection::vec(prop::collection::vec(line_byte(), 0..48), 0..8),
        sizes in read_sizes(),
    ) {
        let mut encoder = line_codec(max, utf8);
        let mut stream = Vec::new();
        let mut expected = Vec::new();
        for payload in payloads {
            let acceptable = !payload.contains(&b'\n')
                && payload.len() <= max
                && (!utf8 || std::str::from_utf8(&payload).is_ok());
            let mut wire = WireBuf::new();
            let result = encoder.encode(Bytes::from(payload.clone()), &mut wire);
            prop_assert_eq!(result.is_ok(), acceptable, "{:?}: {:?}", payload, result);
            if result.is_ok() {
                stream.extend_from_slice(&wire.to_vec());
                expected.push(Ok(Bytes::from(payload)));
            } else {
                prop_assert!(wire.is_empty());
            }
        }
        for (how, chunks) in chunkings(&stream, &sizes) {
            for path in PATHS {
                let out = run(path, line_codec(max, utf8), &chunks);
                prop_assert_eq!(&out.events, &expected, "{} via {:?}", how, path);
                prop_assert_eq!(out.left, 0);
            }
        }
    }

    /// Arbitrary bytes never panic, decode as the module docs predict under
    /// every chunking and on every path, and only yield the line codec's
    /// documented errors (`InvalidUtf8` only in UTF-8 mode).
    #[test]
    fn garbage_decodes_as_documented_without_panicking(
        max in max_len(),
        utf8 in any::<bool>(),
        stream in prop::collection::vec(line_byte(), 0..200),
        sizes in read_sizes(),
    ) {
        let (want, want_eof) = model(&stream, max, utf8);
        for (how, chunks) in chunkings(&stream, &sizes) {
            for path in PATHS {
                let out = run(path, line_codec(max, utf8), &chunks);
                for e in out.events.iter().filter_map(|e| e.as_ref().err()) {
                    prop_assert!(is_line_error(e, utf8), "undocumented error {:?}", e);
                }
                prop_assert_eq!(normalise(&out.events, &want), want.clone(), "{} via {:?}", how, path);
            }
            let (events, eof) = decode_with_eof(max, utf8, &chunks);
            prop_assert_eq!(normalise(&events, &want), want.clone(), "{}", how);
            prop_assert_eq!(normalise(&eof, &want_eof), want_eof.clone(), "{} at eof", how);
        }
    }

    /// Good lines, one bad line (too long, or not UTF-8 in UTF-8 mode), good
    /// lines: the good ones all come out, with one error in between, under
    /// every chunking and on every path.
    #[test]
    fn resyncs_after_bad_line(
        max in 0usize..=40,
        utf8 in any::<bool>(),
        before in prop::collection::vec(prop::collection::vec(b'a'..=b'z', 0..=40), 0..6),
        after in prop::collection::vec(prop::collection::vec(b'a'..=b'z', 0..=40), 0..6),
        over_by in 1usize..20,
        invalid_utf8 in any::<bool>(),
        crlf in any::<bool>(),
        sizes in read_sizes(),
    ) {
        let good = |lines: Vec<Vec<u8>>| -> Vec<Vec<u8>> {
            lines.into_iter().filter(|l| l.len() <= max).collect()
        };
        let (before, after) = (good(before), good(after));
        let (bad, error) = if utf8 && invalid_utf8 && max > 0 {
            // A line of max bytes ending in a lone continuation byte.
            let line = [vec![b'x'; max - 1], vec![0x80]].concat();
            let error = FrameError::InvalidUtf8 { valid_up_to: line.len() - 1 };
            (line, error)
        } else {
            let line = vec![b'L'; max + over_by];
            (line, FrameError::LineTooLong { length: max + over_by, max })
        };
        let ending: &[u8] = if crlf { b"\r\n" } else { b"\n" };
        let mut stream = Vec::new();
        for line in &before {
            stream.extend_from_slice(line);
            stream.extend_from_slice(ending);
        }
        stream.extend_from_slice(&bad);
        stream.extend_from_slice(ending);
        for line in &after {
            stream.extend_from_slice(line);
            stream.extend_from_slice(ending);
        }
        let mut expected: Vec<Event> =
            before.into_iter().map(|l| Ok(Bytes::from(l))).collect();
        expected.push(Err(error));
        expected.extend(after.into_iter().map(|l| Ok(Bytes::from(l))));
        for (how, chunks) in chunkings(&stream, &sizes) {
            for path in PATHS {
                let out = run(path, line_codec(max, utf8), &chunks);
                prop_assert_eq!(normalise(&out.events, &expected), expected.clone(), "{} via {:?}", how, path);
                prop_assert_eq!(out.left, 0);
            }
        }
    }
}

/// Feeds `bytes` one at a time; returns the outcome after the last one,
/// asserting that every earlier byte gave `Ok(None)`.
fn check_line_of_exactly_max_len(ending: &[u8]) {
    for max in MAXES {
        let line = Bytes::from(vec![b'x'; max]);
        // The line, then an empty one.
        let wire = [&line[..], ending, b"\n"].concat();
        let mut codec = line_codec(max, true);
        let mut buf = BytesMut::new();
        let got = feed_bytewise(&mut codec, &mut buf, &wire[..max + ending.len()]);
        assert_eq!(got, Ok(Some(line.clone())), "max {max}, byte by byte");
        let mut codec = line_codec(max, true);
        let mut buf = BytesMut::from(&wire[..]);
        assert_eq!(codec.decode(&mut buf), Ok(Some(line)), "max {max}, at once");
        assert_eq!(codec.decode(&mut buf), Ok(Some(Bytes::new())));
    }
}

#[test]
fn accepts_line_of_exactly_max_len_with_lf() {
    check_line_of_exactly_max_len(b"\n");
}

#[test]
fn accepts_line_of_exactly_max_len_with_crlf() {
    check_line_of_exactly_max_len(b"\r\n");
}

#[test]
fn rejects_line_over_max_len() {
    for max in MAXES {
        for ending in [&b"\n"[..], b"\r\n"] {
            // The overlong line, then an empty one that must still come out.
            let wire = [&vec![b'x'; max + 1][..], ending, b"\n"].concat();
            for size in [1, 3, wire.len()] {
                let mut codec = line_codec(max, false);
                let mut buf = BytesMut::new();
                let mut events = Vec::new();
                for chunk in wire.chunks(size) {
                    buf.extend_from_slice(chunk);
                    loop {
                        match codec.decode(&mut buf) {
                            Ok(None) => break,
                            Ok(Some(line)) => events.push(Ok(line)),
                            Err(e) => events.push(Err(e)),
                        }
                    }
                }
                let context = format!("max {max}, ending {ending:?}, reads of {size}");
                assert_eq!(events.len(), 2, "{context}: {events:?}");
                assert!(
                    matches!(&events[0], Err(FrameError::LineTooLong { max: m, length }) if *m == max && *length > max),
                    "{context}: {events:?}"
                );
                assert_eq!(events[1], Ok(Bytes::new()), "{context}");
                assert!(buf.is_empty());
            }
        }
    }
}

#[test]
fn reports_line_too_long_once_max_plus_two_bytes_buffered() {
    for max in MAXES {
        // `\r` at every position, including max (where a `\r\n` could still
        // end a line of exactly max bytes) and max + 1.
        for cr_at in [None, Some(max), Some(max + 1), Some(0)] {
            let mut line = vec![b'y'; max + 2];
            if let Some(i) = cr_at {
                line[i] = b'\r';
            }
            let mut codec = line_codec(max, false);
            let mut buf = BytesMut::new();
            let mut reported = None;
            for (i, &b) in line.iter().enumerate() {
                buf.extend_from_slice(&[b]);
                match codec.decode(&mut buf) {
                    Ok(None) => {}
                    Err(FrameError::LineTooLong { max: m, length }) => {
                        assert_eq!(m, max);
                        assert!(length > max);
                        reported = Some(i + 1);
                        break;
                    }
                    other => panic!("max {max}: {other:?}"),
                }
            }
            let reported = reported.unwrap_or_else(|| {
                panic!("max {max}, cr at {cr_at:?}: no error with max + 2 bytes buffered")
            });
            // Never before max + 1 bytes; at max + 1 only when the last byte
            // is not a `\r` that a `\n` could follow.
            let earliest = if cr_at == Some(max) { max + 2 } else { max + 1 };
            assert_eq!(reported, earliest, "max {max}, cr at {cr_at:?}");
        }
    }
}

#[test]
fn waits_for_lf_after_line_of_max_len_and_cr() {
    for max in MAXES {
        let mut codec = line_codec(max, false);
        let mut buf = BytesMut::from(&[vec![b'z'; max], b"\r".to_vec()].concat()[..]);
        assert_eq!(codec.decode(&mut buf), Ok(None), "max {max}");
        buf.extend_from_slice(b"\n");
        assert_eq!(
            codec.decode(&mut buf),
            Ok(Some(Bytes::from(vec![b'z'; max])))
        );
    }
}

#[test]
fn encoder_refuses_line_over_max_send_length() {
    for max in MAXES {
        let mut wire = WireBuf::new();
        let at_max = line_codec(max, false).encode(Bytes::from(vec![b'a'; max]), &mut wire);
        assert_eq!(at_max, Ok(()));
        let mut wire = WireBuf::new();
        let over = line_codec(max, false).encode(Bytes::from(vec![b'a'; max + 1]), &mut wire);
        assert_eq!(
            over,
            Err(FrameError::LineTooLongToSend {
                length: max + 1,
                max
            })
        );
        assert!(wire.is_empty());
    }
}

#[test]
fn encoder_refuses_payload_with_lf() {
    let mut wire = WireBuf::new();
    let result = line_codec(64, false).encode(Bytes::from_static(b"a\nb"), &mut wire);
    assert!(
        matches!(result, Err(FrameError::Malformed(_))),
        "{result:?}"
    );
    assert!(wire.is_empty());
}

#[test]
fn round_trips_payload_ending_in_cr() {
    // The decoder drops one `\r` before `\n`, so the encoder must not let a
    // payload's own trailing `\r` be taken for the ending, even at max.
    for max in [1, 2, 5, 64] {
        for payload in [&b"\r"[..], b"ab\r", b"\r\r"] {
            if payload.len() > max {
                continue;
            }
            let mut codec = line_codec(max, false);
            let mut wire = WireBuf::new();
            codec
                .encode(Bytes::from_static(payload), &mut wire)
                .unwrap();
            let mut buf = BytesMut::from(&wire.to_vec()[..]);
            assert_eq!(
                codec.decode(&mut buf),
                Ok(Some(Bytes::from_static(payload)))
            );
            assert!(buf.is_empty());
        }
    }
}

#[test]
fn decode_eof_delivers_last_line_without_lf() {
    let mut codec = line_codec(8, true);
    let mut buf = BytesMut::from(&b"one\r\ntwo\r"[..]);
    assert_eq!(codec.decode(&mut buf), Ok(Some(Bytes::from_static(b"one"))));
    assert_eq!(codec.decode(&mut buf), Ok(None));
    assert_eq!(
        codec.decode_eof(&mut buf),
        Ok(Some(Bytes::from_static(b"two")))
    );
    assert_eq!(codec.decode_eof(&mut buf), Ok(None));
}

#[test]
fn line_too_long_reports_a_lower_bound_of_its_length() {
    // Seen whole in one read with more lines behind it, an overlong line of
    // 10 bytes must not be reported as longer than it is.
    let mut codec = line_codec(3, false);
    let mut buf = BytesMut::from(&b"aaaaaaaaaa\nbb\n"[..]);
    let err = codec.decode(&mut buf).unwrap_err();
    assert!(
        matches!(
            err,
            FrameError::LineTooLong {
                length: 4..=10,
                max: 3
            }
        ),
        "{err:?}"
    );
    assert_eq!(codec.decode(&mut buf), Ok(Some(Bytes::from_static(b"bb"))));
    // With a `\r` where the limit falls, it may be the line's ending.
    let mut codec = line_codec(3, false);
    let mut buf = BytesMut::from(&b"aaaa\r\n"[..]);
    let err = codec.decode(&mut buf).unwrap_err();
    assert_eq!(err, FrameError::LineTooLong { length: 4, max: 3 });
}
