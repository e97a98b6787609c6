//! `on_bad_frame`: a bad frame that can be skipped closes the session by
//! default, or is skipped and counted under `BadFramePolicy::Skip`, up to
//! `max_skipped_frames`; errors that cannot be skipped always close.
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use bytes::Bytes;
use proto_core::frame::{FieldWidth, FrameError, LengthField, LengthMode, Line};
use proto_core::message::{MessageFactory, MessageResolver, Resolved};
use proto_core::session::{
    BadFramePolicy, CloseReason, DEFAULT_MAX_SKIPPED_FRAMES, Session, SessionConfig, SessionEvent,
};

use proto_testkit::by_hand::{events, frame, session};

fn skip() -> SessionConfig {
    SessionConfig::default().on_bad_frame(BadFramePolicy::Skip)
}

/// A frame announcing 1025 bytes (the codec's maximum is 1024), body
/// included.
fn oversized() -> Vec<u8> {
    [&1025u32.to_le_bytes()[..], &[0xab; 1025]].concat()
}

fn messages(evs: &[SessionEvent]) -> Vec<&[u8]> {
    evs.iter()
        .filter_map(|e| match e {
            SessionEvent::Message(m) => Some(&m[..]),
            _ => None,
        })
        .collect()
}

const TOO_LARGE: CloseReason = CloseReason::FrameTooLarge {
    length: 1025,
    max: 1024,
};

#[test]
fn bad_frame_closes_the_session_by_default() {
    assert_eq!(
        SessionConfig::default(),
        SessionConfig::default()
            .on_bad_frame(BadFramePolicy::Close)
            .max_skipped_frames(DEFAULT_MAX_SKIPPED_FRAMES)
    );
    let t0 = Instant::now();
    let mut s = session(SessionConfig::default(), t0);
    s.handle_input(&[frame(b"a"), oversized(), frame(b"b")].concat(), t0);
    assert_eq!(s.close_reason(), Some(&TOO_LARGE));
    assert_eq!(s.stats().frames_skipped, 0);
    assert_eq!(messages(&events(&mut s)), [b"a"]);
}

#[test]
fn skips_frame_over_max_len_and_counts_it() {
    let t0 = Instant::now();
    let mut s = session(skip(), t0);
    s.handle_input(&[frame(b"a"), oversized(), frame(b"b")].concat(), t0);
    assert!(!s.is_closing());
    assert_eq!(s.stats().frames_skipped, 1);
    assert_eq!(s.stats().messages_in, 2);
    assert_eq!(messages(&events(&mut s)), [b"a", b"b"]);
    assert_eq!(s.buffered(), 0);
}

#[test]
fn skipped_frame_is_dropped_as_it_arrives_under_any_chunking() {
    let stream = [frame(b"a"), oversized(), frame(b"bc"), oversized()].concat();
    for size in [1, 2, 3, 5, 7, 64, 1000, stream.len()] {
        let t0 = Instant::now();
        let mut s = session(skip(), t0);
        for chunk in stream.chunks(size) {
            s.handle_input(chunk, t0);
            // The oversized body is never buffered.
            assert!(s.buffered() < 8, "{} bytes buffered", s.buffered());
        }
        assert!(!s.is_closing(), "reads of {size}");
        assert_eq!(s.stats().frames_skipped, 2, "reads of {size}");
        assert_eq!(
            messages(&events(&mut s)),
            [&b"a"[..], b"bc"],
            "reads of {size}"
        );
    }
}

#[test]
fn skips_frame_shorter_than_strip() {
    // 4-byte header, 6 bytes stripped: a 1-byte payload is too short.
    let codec = LengthField::laster40net().strip(6);
    let t0 = Instant::now();
    let mut s = Session::from_factory(&codec, skip(), t0);
    s.handle_input(&[frame(b"xyz"), frame(b"q"), frame(b"xyzw")].concat(), t0);
    assert!(!s.is_closing());
    assert_eq!(s.stats().frames_skipped, 1);
    assert_eq!(messages(&events(&mut s)), [&b"z"[..], b"zw"]);

    let mut s = Session::from_factory(&codec, SessionConfig::default(), t0);
    s.handle_input(&frame(b"q"), t0);
    assert_eq!(
        s.close_reason(),
        Some(&CloseReason::MalformedFrame(
            FrameError::StripExceedsFrame {
                frame_length: 5,
                strip: 6
            }
        ))
    );
}

#[test]
fn skips_line_too_long_and_invalid_utf8() {
    let codec = Line::default().max_line_length(4).utf8(true);
    let t0 = Instant::now();
    let mut s = Session::from_factory(&codec, skip(), t0);
    s.handle_input(b"ok\ntoo long\n\xff\xfe\nfine\n", t0);
    assert!(!s.is_closing());
    assert_eq!(s.stats().frames_skipped, 2);
    let evs: Vec<SessionEvent> = std::iter::from_fn(|| s.poll_event()).collect();
    assert_eq!(messages(&evs), [&b"ok"[..], b"fine"]);
}

#[test]
fn sticky_error_closes_even_under_skip() {
    // A whole-frame length of 0 in a 1-byte field: shorter than nothing.
    let codec = LengthField::default()
        .length_field_width(FieldWidth::U8)
        .length_mode(LengthMode::Frame);
    let t0 = Instant::now();
    let mut s = Session::from_factory(&codec, skip(), t0);
    s.handle_input(b"\x02a\x00\x02b", t0);
    assert_eq!(
        s.close_reason(),
        Some(&CloseReason::MalformedFrame(FrameError::NegativeLength {
            value: 0,
            adjustment: -1
        }))
    );
    assert_eq!(s.stats().frames_skipped, 0);
    assert_eq!(messages(&events(&mut s)), [b"a"]);
}

#[test]
fn skips_exactly_max_skipped_frames() {
    let t0 = Instant::now();
    let mut s = session(skip().max_skipped_frames(3), t0);
    for _ in 0..3 {
        s.handle_input(&oversized(), t0);
    }
    s.handle_input(&frame(b"still here"), t0);
    assert!(!s.is_closing());
    assert_eq!(s.stats().frames_skipped, 3);
    assert_eq!(messages(&events(&mut s)), [b"still here"]);
}

#[test]
fn closes_on_bad_frame_over_max_skipped_frames() {
    let t0 = Instant::now();
    let mut s = session(skip().max_skipped_frames(3), t0);
    s.handle_input(&[oversized(), oversized(), oversized()].concat(), t0);
    assert!(!s.is_closing());
    s.handle_input(&[oversized(), frame(b"never")].concat(), t0);
    assert_eq!(s.close_reason(), Some(&TOO_LARGE));
    // The frame that closed the session is not counted as skipped.
    assert_eq!(s.stats().frames_skipped, 3);
    assert!(messages(&events(&mut s)).is_empty());
}

#[test]
fn max_skipped_frames_zero_closes_on_the_first_bad_frame() {
    let t0 = Instant::now();
    let mut s = session(skip().max_skipped_frames(0), t0);
    s.handle_input(&oversized(), t0);
    assert_eq!(s.close_reason(), Some(&TOO_LARGE));
    assert_eq!(s.stats().frames_skipped, 0);
}

#[test]
fn skips_bad_frame_before_end_of_stream() {
    let t0 = Instant::now();
    let mut s = session(skip(), t0);
    // The oversized header alone is reported at once; its body and a last
    // frame follow, then the peer ends the stream.
    s.handle_input(&1025u32.to_le_bytes(), t0);
    assert_eq!(s.stats().frames_skipped, 1);
    s.handle_input(&[&[0u8; 1025][..], &frame(b"last")].concat(), t0);
    s.handle_eof(t0);
    assert_eq!(
        events(&mut s),
        [
            SessionEvent::Opened,
            SessionEvent::Message(Bytes::from_static(b"last")),
            SessionEvent::EndOfStream,
            SessionEvent::Closed(CloseReason::RemoteClosed),
        ]
    );
    assert_eq!(s.stats().frames_skipped, 1);
}

/// A resolver that reports a recoverable error and never skips anything
/// (a bug that `Skip` would otherwise loop on).
#[derive(Debug)]
struct NeverSkips;

impl MessageResolver for NeverSkips {
    fn resolve(&mut self, src: &[u8]) -> Result<Resolved, FrameError> {
        if src.is_empty() {
            return Ok(Resolved::Incomplete);
        }
        Err(FrameError::FrameTooLarge { length: 9, max: 1 })
    }
}

#[test]
fn resolver_that_never_skips_is_closed_at_max_skipped_frames() {
    let builder = LengthField::laster40net().new_builder();
    let t0 = Instant::now();
    let mut s = Session::new(NeverSkips, builder, skip().max_skipped_frames(100), t0);
    s.handle_input(b"x", t0);
    assert_eq!(
        s.close_reason(),
        Some(&CloseReason::FrameTooLarge { length: 9, max: 1 })
    );
    assert_eq!(s.stats().frames_skipped, 100);
}
