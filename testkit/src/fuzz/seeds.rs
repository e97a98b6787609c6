//! The seeds of `fuzz/corpus/<target>/`, as typed values: each is written
//! with [`Encode`] into the bytes `arbitrary` reads it back from (the
//! `fuzz-seeds` binary writes them; the tests check that the checked-in
//! files are these bytes, and that each decodes to its value). A crash the
//! fuzzer finds is added here as a value (`crash-*`, `regress-*`), and
//! stays.

use std::fmt::Debug;

use arbitrary::Arbitrary;

use super::decode;
use super::driver::{
    CloseHow, DriverOp, DriverOps, DriverSetup, HandleSend, OpenFlags, Target, Writes,
};
use super::encode::Encode;
use super::input::{
    Adjustment, Blob, BufConfig, Chunking, DecodeLengthField, DecodeLine, DecodeRaw, LengthInput,
    LineInput, LineMax, MaxLen, Offset, Payload, Prefix, RoundTrip, RoundTripCodec, Strip, Width,
    WriteStep,
};
use super::rate::{RateOp, RateOps, RateStep};
use super::session::{Beat, Marks, Policy, RateSetup, SessionOp, SessionOps, SessionSetup, Timing};
use super::ws::{WsFrames, WsHandshake};
use crate::ws::{WireFrame, fragments, opcode, upgrade_request};

/// One seed.
#[derive(Debug)]
pub struct Seed {
    /// The fuzz target (and corpus directory).
    pub target: &'static str,
    /// The file name.
    pub name: &'static str,
    /// The input bytes.
    pub bytes: Vec<u8>,
    /// Whether the bytes decode to the typed value they were written from.
    pub round_trips: bool,
}

fn seed<T>(target: &'static str, name: &'static str, value: T) -> Seed
where
    T: Encode + for<'a> Arbitrary<'a> + PartialEq + Debug,
{
    let bytes = value.to_fuzz_bytes();
    let round_trips = decode::<T>(&bytes).is_ok_and(|back| back == value);
    Seed {
        target,
        name,
        bytes,
        round_trips,
    }
}

/// `LengthField::netty()`: a u32 big-endian payload length.
const NETTY: LengthInput = LengthInput {
    offset: Offset::Near(0),
    width: Width::W32,
    little: false,
    frame: false,
    adjustment: Adjustment::Zero,
    strip: Strip::Header,
    max: MaxLen::Standard,
};

fn b(bytes: &[u8]) -> Blob {
    Blob::from(bytes)
}

/// Every seed, target by target.
pub fn all() -> Vec<Seed> {
    [
        decode_length_field(),
        decode_line(),
        decode_raw(),
        round_trip(),
        session_ops(),
        driver_ops(),
        rate_limit(),
        ws_handshake(),
        ws_frames(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The seeds of `decode_length_field`.
fn decode_length_field() -> Vec<Seed> {
    vec![
        // [type][len: u16, whole frame][body], max 16: a frame, an oversized frame skipped, then a frame after the resync.
        seed(
            "decode_length_field",
            "frame_mode_resync",
            DecodeLengthField {
                params: LengthInput {
                    offset: Offset::Near(1),
                    width: Width::W16,
                    little: false,
                    frame: true,
                    adjustment: Adjustment::Zero,
                    strip: Strip::Header,
                    max: MaxLen::Tiny(16),
                },
                chunking: Chunking(vec![5, 2]),
                buf: BufConfig {
                    read_capacity: 8,
                    retain_quarter: 4,
                },
                stream: b(b"\x07\0\x05ab\x07\0 zzzzzzzzzzzzzzzzzzzzzzzzzzzzz\x01\0\x04z"),
            },
        ),
        seed(
            "decode_length_field",
            "huge_offset",
            DecodeLengthField {
                params: LengthInput {
                    offset: Offset::Past(5),
                    ..NETTY
                },
                chunking: Chunking(vec![3]),
                buf: BufConfig {
                    read_capacity: 8,
                    retain_quarter: 2,
                },
                stream: b(b"\0\0\0\x01x"),
            },
        ),
        // laster40net(): little-endian, then a truncated frame.
        seed(
            "decode_length_field",
            "laster40net",
            DecodeLengthField {
                params: LengthInput {
                    little: true,
                    ..NETTY
                },
                chunking: Chunking(vec![1, 0, 7]),
                buf: BufConfig {
                    read_capacity: 4,
                    retain_quarter: 2,
                },
                stream: b(b"\x05\0\0\0hello\x05\0\0"),
            },
        ),
        seed(
            "decode_length_field",
            "negative_length",
            DecodeLengthField {
                params: LengthInput {
                    width: Width::W8,
                    adjustment: Adjustment::By(-32),
                    ..NETTY
                },
                chunking: Chunking(vec![255]),
                buf: BufConfig {
                    read_capacity: 8,
                    retain_quarter: 2,
                },
                stream: b(b"\x05abc"),
            },
        ),
        // netty(): two frames, read 3 bytes at a time.
        seed(
            "decode_length_field",
            "netty",
            DecodeLengthField {
                params: NETTY,
                chunking: Chunking(vec![3]),
                buf: BufConfig {
                    read_capacity: 16,
                    retain_quarter: 8,
                },
                stream: b(b"\0\0\0\x02hi\0\0\0\x03yo!"),
            },
        ),
        seed(
            "decode_length_field",
            "strip_exceeds_frame",
            DecodeLengthField {
                params: LengthInput {
                    width: Width::W8,
                    strip: Strip::Bytes(10),
                    ..NETTY
                },
                chunking: Chunking(vec![1]),
                buf: BufConfig {
                    read_capacity: 8,
                    retain_quarter: 2,
                },
                stream: b(b"\x02ab"),
            },
        ),
        seed(
            "decode_length_field",
            "u24_le_adjusted",
            DecodeLengthField {
                params: LengthInput {
                    offset: Offset::Near(2),
                    width: Width::W24,
                    little: true,
                    frame: false,
                    adjustment: Adjustment::By(-1),
                    strip: Strip::Bytes(0),
                    max: MaxLen::Tiny(40),
                },
                chunking: Chunking(vec![2, 9]),
                buf: BufConfig {
                    read_capacity: 0,
                    retain_quarter: 0,
                },
                stream: b(b"\xaa\xbb\x04\0\0abc\xcc\xdd\x01\0\0"),
            },
        ),
        // The wire length past usize::MAX while the delivered length fits.
        seed(
            "decode_length_field",
            "u64_past_usize",
            DecodeLengthField {
                params: LengthInput {
                    offset: Offset::Near(0),
                    width: Width::W64,
                    little: false,
                    frame: false,
                    adjustment: Adjustment::Exactly(9223372036854775807),
                    strip: Strip::Huge(63),
                    max: MaxLen::Unbounded,
                },
                chunking: Chunking(vec![4]),
                buf: BufConfig {
                    read_capacity: 8,
                    retain_quarter: 2,
                },
                stream: b(b"\xff\xff\xff\xff\xff\xff\xff\xfftail"),
            },
        ),
    ]
}

/// The seeds of `decode_line`.
fn decode_line() -> Vec<Seed> {
    vec![
        seed(
            "decode_line",
            "crlf_and_tail",
            DecodeLine {
                params: LineInput {
                    max: LineMax::LineDefault,
                    utf8: false,
                },
                chunking: Chunking(vec![4]),
                buf: BufConfig {
                    read_capacity: 8,
                    retain_quarter: 4,
                },
                stream: b(b"one\r\ntwo\nthree\r"),
            },
        ),
        seed(
            "decode_line",
            "max_0",
            DecodeLine {
                params: LineInput {
                    max: LineMax::Chars(0),
                    utf8: false,
                },
                chunking: Chunking(vec![0, 2]),
                buf: BufConfig {
                    read_capacity: 0,
                    retain_quarter: 0,
                },
                stream: b(b"\n\r\n\n x"),
            },
        ),
        seed(
            "decode_line",
            "max_2_cr",
            DecodeLine {
                params: LineInput {
                    max: LineMax::Chars(2),
                    utf8: false,
                },
                chunking: Chunking(vec![2]),
                buf: BufConfig {
                    read_capacity: 2,
                    retain_quarter: 1,
                },
                stream: b(b"ab\r\r\nab\r\nab\r"),
            },
        ),
        seed(
            "decode_line",
            "max_5",
            DecodeLine {
                params: LineInput {
                    max: LineMax::Chars(5),
                    utf8: false,
                },
                chunking: Chunking(vec![1, 3]),
                buf: BufConfig {
                    read_capacity: 4,
                    retain_quarter: 2,
                },
                stream: b(b"12345\n123456\nabcdefghij\r\nxy\r\n12345\r"),
            },
        ),
        seed(
            "decode_line",
            "utf8",
            DecodeLine {
                params: LineInput {
                    max: LineMax::LineDefault,
                    utf8: true,
                },
                chunking: Chunking(vec![1, 3]),
                buf: BufConfig {
                    read_capacity: 8,
                    retain_quarter: 2,
                },
                stream: b(b"h\xc3\xa9llo\n\xff\xfe\nok\n"),
            },
        ),
    ]
}

/// The seeds of `decode_raw`.
fn decode_raw() -> Vec<Seed> {
    vec![
        seed(
            "decode_raw",
            "empty_reads",
            DecodeRaw {
                chunking: Chunking(vec![0]),
                buf: BufConfig {
                    read_capacity: 0,
                    retain_quarter: 0,
                },
                stream: b(b"x"),
            },
        ),
        seed(
            "decode_raw",
            "reads",
            DecodeRaw {
                chunking: Chunking(vec![3, 0, 1]),
                buf: BufConfig {
                    read_capacity: 2,
                    retain_quarter: 1,
                },
                stream: b(b"raw bytes pass through"),
            },
        ),
    ]
}

/// The seeds of `round_trip`.
fn round_trip() -> Vec<Seed> {
    vec![
        // A header with an empty payload was queued as an empty chunk.
        seed("round_trip", "crash-wire-empty-payload-chunk", RoundTrip { codec: RoundTripCodec::Length { params: LengthInput { offset: Offset::Near(0), width: Width::W32, little: false, frame: false, adjustment: Adjustment::Zero, strip: Strip::Header, max: MaxLen::Standard }, prefix: Prefix::NoPrefix }, chunking: Chunking(vec![1]), buf: BufConfig { read_capacity: 8, retain_quarter: 2 }, copy_limit: 16, payloads: vec![Payload { bytes: b(b""), split: None, write: WriteStep::Drain }] }),
        seed("round_trip", "length_default", RoundTrip { codec: RoundTripCodec::Length { params: LengthInput { offset: Offset::Near(0), width: Width::W32, little: false, frame: false, adjustment: Adjustment::Zero, strip: Strip::Header, max: MaxLen::Standard }, prefix: Prefix::NoPrefix }, chunking: Chunking(vec![7]), buf: BufConfig { read_capacity: 32, retain_quarter: 4 }, copy_limit: 4, payloads: vec![Payload { bytes: b(b"hello"), split: None, write: WriteStep::Vectored(3) }, Payload { bytes: b(b""), split: None, write: WriteStep::Pop }, Payload { bytes: b(b"x"), split: None, write: WriteStep::Hold }, Payload { bytes: b(b"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"), split: Some(2), write: WriteStep::Pop }, Payload { bytes: b(b"z"), split: None, write: WriteStep::Pop }] }),
        seed("round_trip", "length_prefix_frame_mode", RoundTrip { codec: RoundTripCodec::Length { params: LengthInput { offset: Offset::Near(2), width: Width::W16, little: true, frame: true, adjustment: Adjustment::By(2), strip: Strip::Header, max: MaxLen::Tiny(16) }, prefix: Prefix::Given(b(b"\xab\xcd")) }, chunking: Chunking(vec![1, 5]), buf: BufConfig { read_capacity: 8, retain_quarter: 2 }, copy_limit: 0, payloads: vec![Payload { bytes: b(b"abc"), split: Some(1), write: WriteStep::Hold }, Payload { bytes: b(b"qqqqqqqqqqqqqqqqq"), split: None, write: WriteStep::Vectored(1) }, Payload { bytes: b(b"rrrrrrrrrrrrrrrr"), split: None, write: WriteStep::Drain }] }),
        seed("round_trip", "length_u8_negative_adjust", RoundTrip { codec: RoundTripCodec::Length { params: LengthInput { offset: Offset::Near(0), width: Width::W8, little: false, frame: false, adjustment: Adjustment::By(-3), strip: Strip::Header, max: MaxLen::Tiny(63) }, prefix: Prefix::NoPrefix }, chunking: Chunking(vec![2]), buf: BufConfig { read_capacity: 8, retain_quarter: 2 }, copy_limit: 255, payloads: vec![Payload { bytes: b(b""), split: None, write: WriteStep::Hold }, Payload { bytes: b(b"ab"), split: None, write: WriteStep::Vectored(0) }, Payload { bytes: b(b"sssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"), split: None, write: WriteStep::Vectored(20) }] }),
        seed("round_trip", "line", RoundTrip { codec: RoundTripCodec::Line(LineInput { max: LineMax::Chars(5), utf8: false }), chunking: Chunking(vec![3]), buf: BufConfig { read_capacity: 4, retain_quarter: 1 }, copy_limit: 8, payloads: vec![Payload { bytes: b(b"abc"), split: None, write: WriteStep::Pop }, Payload { bytes: b(b"abcdef"), split: None, write: WriteStep::Hold }, Payload { bytes: b(b"a\nb"), split: Some(1), write: WriteStep::Hold }, Payload { bytes: b(b""), split: None, write: WriteStep::Pop }, Payload { bytes: b(b"ab\r"), split: Some(2), write: WriteStep::Hold }] }),
        seed("round_trip", "line_utf8", RoundTrip { codec: RoundTripCodec::Line(LineInput { max: LineMax::LineDefault, utf8: true }), chunking: Chunking(vec![1, 2]), buf: BufConfig { read_capacity: 8, retain_quarter: 2 }, copy_limit: 8, payloads: vec![Payload { bytes: b(b"h\xc3\xa9llo"), split: None, write: WriteStep::Vectored(1) }, Payload { bytes: b(b"\xff\xfe"), split: None, write: WriteStep::Hold }, Payload { bytes: b(b"wwwwwwwww"), split: None, write: WriteStep::Drain }] }),
        seed("round_trip", "raw", RoundTrip { codec: RoundTripCodec::Raw, chunking: Chunking(vec![2, 0]), buf: BufConfig { read_capacity: 4, retain_quarter: 1 }, copy_limit: 1, payloads: vec![Payload { bytes: b(b"abc"), split: Some(1), write: WriteStep::Vectored(1) }, Payload { bytes: b(b""), split: None, write: WriteStep::Pop }, Payload { bytes: b(b"de"), split: None, write: WriteStep::Hold }] }),
    ]
}

/// The seeds of `session_ops`.
fn session_ops() -> Vec<Seed> {
    vec![
        seed("session_ops", "abort_then_everything", SessionOps { setup: SessionSetup { max_queue_messages: 1, max_queue_quarter: 1, marks: None, write_timeout: None, max_transmit: 1, timing: Timing { heartbeat: Some(Beat { interval: 0, timeout: 1 }), idle_timeout: None, frame_timeout: Some(1), close_timeout: 1, half_close: false }, skip_bad_frames: None, rate: None }, ops: vec![SessionOp::Send { policy: Policy::Disconnect, len: 200 }, SessionOp::Abort, SessionOp::Send { policy: Policy::Reject, len: 1 }, SessionOp::PeerFrame(b(b"\x01\x02")), SessionOp::Write(9), SessionOp::IoError, SessionOp::Close, SessionOp::Eof, SessionOp::Sleep(1000)] }),
        // Heartbeats on: pings, pongs, a timeout.
        seed("session_ops", "heartbeat", SessionOps { setup: SessionSetup { max_queue_messages: 8, max_queue_quarter: 255, marks: None, write_timeout: None, max_transmit: 63, timing: Timing { heartbeat: Some(Beat { interval: 3, timeout: 4 }), idle_timeout: Some(10), frame_timeout: Some(10), close_timeout: 10, half_close: true }, skip_bad_frames: None, rate: None }, ops: vec![SessionOp::NextDeadline, SessionOp::Write(50), SessionOp::PeerFrame(b(b"\0")), SessionOp::PeerBytes(b(b"\x01\0\0\0\x01")), SessionOp::NextDeadline, SessionOp::NextDeadline, SessionOp::NextDeadline] }),
        // Found by session_ops: bytes after end of stream made a message after EndOfStream.
        seed("session_ops", "regress-bytes-after-eof", SessionOps { setup: SessionSetup { max_queue_messages: 4, max_queue_quarter: 100, marks: None, write_timeout: None, max_transmit: 240, timing: Timing { heartbeat: Some(Beat { interval: 119, timeout: 255 }), idle_timeout: None, frame_timeout: None, close_timeout: 255, half_close: true }, skip_bad_frames: Some(15), rate: None }, ops: vec![SessionOp::PeerFrame(b(b"\xfe\n\0\x01\x03\x02\x02\x02\x05\xff\xfa\xfe\n\0\x01\x03\x02\x02\x05\x02\x05\0!\n\xff\xff\xfa\xfe\n\0\x01\x03\x02\x02\x05\x02\x05\"\xcd@\x08:\x0f\x01\x01\x01\x01\x01\x01\x01\x01\x01\0!\n\xff\xff\xfa\xfe\n\0\x01\x03\x02\x02\x05\x05\"\xcd@\x02\x05\x0f\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\xaf\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\xfb\x03\0\0\0\0\0\0\0\0\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\0\0\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x01")), SessionOp::PeerFrame(b(b"\x03\0\0\0\0\0\0\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01/\x01\0\x04\x04"))] }),
        // Queue of 4 messages / 400 bytes, batch 16, no heartbeat, timeouts on.
        seed("session_ops", "sends_writes_close", SessionOps { setup: SessionSetup { max_queue_messages: 4, max_queue_quarter: 100, marks: None, write_timeout: None, max_transmit: 15, timing: Timing { heartbeat: None, idle_timeout: Some(20), frame_timeout: Some(20), close_timeout: 20, half_close: false }, skip_bad_frames: None, rate: None }, ops: vec![SessionOp::Send { policy: Policy::Reject, len: 10 }, SessionOp::Send { policy: Policy::Disconnect, len: 3 }, SessionOp::Send { policy: Policy::KeepLatest(0), len: 5 }, SessionOp::Send { policy: Policy::KeepLatest(1), len: 5 }, SessionOp::Send { policy: Policy::Reject, len: 10 }, SessionOp::Write(7), SessionOp::PeerFrame(b(b"abc")), SessionOp::Write(100), SessionOp::Close, SessionOp::Write(100), SessionOp::Send { policy: Policy::Reject, len: 1 }] }),
        // Bad frames skipped (max_skipped_frames 2, codec max 64): two oversized frames skipped around a good one, the third closes.
        seed("session_ops", "skip_bad_frames", SessionOps { setup: SessionSetup { max_queue_messages: 4, max_queue_quarter: 100, marks: None, write_timeout: None, max_transmit: 0, timing: Timing { heartbeat: None, idle_timeout: Some(20), frame_timeout: Some(20), close_timeout: 20, half_close: false }, skip_bad_frames: Some(2), rate: None }, ops: vec![SessionOp::PeerBytes(b(b"P\0\0\0")), SessionOp::PeerBytes(b(b"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz")), SessionOp::PeerFrame(b(b"ab")), SessionOp::PeerBytes(b(b"A\0\0\0\x01\x02")), SessionOp::PeerBytes(b(b"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz")), SessionOp::PeerBytes(b(b"A\0\0\0")), SessionOp::PeerFrame(b(b"c"))] }),
        // A rate limit of 1 message a second, burst 2, under Pause: a
        // burst over it, the hold, its end.
        seed("session_ops", "rate_pause", SessionOps { setup: SessionSetup { max_queue_messages: 4, max_queue_quarter: 100, marks: None, write_timeout: None, max_transmit: 15, timing: Timing { heartbeat: None, idle_timeout: Some(20), frame_timeout: Some(20), close_timeout: 20, half_close: false }, skip_bad_frames: None, rate: Some(RateSetup { per_second: 0, burst: 1, bytes: false, policy: 0 }) }, ops: vec![SessionOp::PeerFrame(b(b"a")), SessionOp::PeerFrame(b(b"b")), SessionOp::PeerFrame(b(b"c")), SessionOp::ReadBudget(0), SessionOp::NextDeadline, SessionOp::ReadBudget(0), SessionOp::PeerFrame(b(b"d"))] }),
        // Found by session_ops: a closed session still said reading was held by the rate (with no deadline to end it).
        seed("session_ops", "regress-rate-held-after-close", SessionOps { setup: SessionSetup { max_queue_messages: 4, max_queue_quarter: 100, marks: None, write_timeout: None, max_transmit: 15, timing: Timing { heartbeat: None, idle_timeout: Some(20), frame_timeout: Some(20), close_timeout: 20, half_close: false }, skip_bad_frames: None, rate: Some(RateSetup { per_second: 0, burst: 1, bytes: false, policy: 0 }) }, ops: vec![SessionOp::PeerFrame(b(b"a")), SessionOp::PeerFrame(b(b"b")), SessionOp::PeerFrame(b(b"c")), SessionOp::ReadBudget(0), SessionOp::Close, SessionOp::ReadBudget(0)] }),
        // Payload bytes limited (2 a second, burst 3) under Disconnect.
        seed("session_ops", "rate_bytes_disconnect", SessionOps { setup: SessionSetup { max_queue_messages: 4, max_queue_quarter: 100, marks: Some(Marks { low: 8, high: 16, scale: 2 }), write_timeout: None, max_transmit: 15, timing: Timing { heartbeat: Some(Beat { interval: 9, timeout: 9 }), idle_timeout: None, frame_timeout: None, close_timeout: 20, half_close: false }, skip_bad_frames: None, rate: Some(RateSetup { per_second: 1, burst: 2, bytes: true, policy: 2 }) }, ops: vec![SessionOp::PeerFrame(b(b"ab")), SessionOp::PeerFrame(b(b"c")), SessionOp::PeerFrame(b(b"d")), SessionOp::Sleep(200)] }),
        // A trickled frame against the frame deadline, then end of stream.
        seed("session_ops", "trickle_eof", SessionOps { setup: SessionSetup { max_queue_messages: 2, max_queue_quarter: 10, marks: None, write_timeout: None, max_transmit: 0, timing: Timing { heartbeat: None, idle_timeout: Some(5), frame_timeout: Some(5), close_timeout: 5, half_close: false }, skip_bad_frames: None, rate: None }, ops: vec![SessionOp::PeerBytes(b(b"\t")), SessionOp::Sleep(5), SessionOp::PeerBytes(b(b"\0")), SessionOp::Sleep(5), SessionOp::PeerBytes(b(b"\0")), SessionOp::Eof, SessionOp::NextDeadline] }),
    ]
}

/// The seeds of `driver_ops`.
fn driver_ops() -> Vec<Seed> {
    vec![
        // Found by driver_ops: a driver dropped after its session was unregistered.
        seed("driver_ops", "crash-drop-after-unregister", DriverOps { setup: DriverSetup { max_queue_messages: 2, queue: 10, max_transmit: 0, timing: Timing { heartbeat: None, idle_timeout: None, frame_timeout: Some(5), close_timeout: 5, half_close: false }, backpressure: true, write_timeout: Some(5), max_sessions: 3, per_ip: 2, event_capacity: 0, memory_budget: None, budget_disconnect: false }, ops: vec![DriverOp::Open(OpenFlags { handler: false, ip: 1, unopened: false, held: false }), DriverOp::Open(OpenFlags { handler: false, ip: 2, unopened: false, held: true }), DriverOp::Open(OpenFlags { handler: false, ip: 3, unopened: true, held: false }), DriverOp::WriteMode { s: 0, mode: Writes::Refuse }, DriverOp::SendHandle { s: 0, how: HandleSend::Configured, len: 30 }, DriverOp::SendHandle { s: 0, how: HandleSend::Configured, len: 30 }, DriverOp::SendHandle { s: 0, how: HandleSend::With(Policy::Disconnect), len: 30 }, DriverOp::WriteMode { s: 0, mode: Writes::Fail }, DriverOp::PollOne(0), DriverOp::PollOne(0), DriverOp::PeerBytes { s: 1, bytes: b(b"\t\0") }, DriverOp::Time(20), DriverOp::ReadError(1), DriverOp::SendHub { s: 1, len: 3 }, DriverOp::WriteMode { s: 1, mode: Writes::Partial(0) }, DriverOp::ReadError(14), DriverOp::DropOrStart(2), DriverOp::PeerBytes { s: 0, bytes: b(b"\xff\xff\xff\xff") }] }),
        // Found by driver_ops: a slow drain of a full event stream.
        seed("driver_ops", "crash-slow-event-drain", DriverOps { setup: DriverSetup { max_queue_messages: 4, queue: 100, max_transmit: 15, timing: Timing { heartbeat: None, idle_timeout: None, frame_timeout: None, close_timeout: 20, half_close: false }, backpressure: true, write_timeout: Some(20), max_sessions: 3, per_ip: 0, event_capacity: 0, memory_budget: None, budget_disconnect: false }, ops: vec![DriverOp::Open(OpenFlags { handler: false, ip: 0, unopened: false, held: false }), DriverOp::Open(OpenFlags { handler: false, ip: 0, unopened: false, held: false }), DriverOp::Open(OpenFlags { handler: false, ip: 0, unopened: false, held: false }), DriverOp::PeerEof(1), DriverOp::Open(OpenFlags { handler: true, ip: 3, unopened: true, held: false }), DriverOp::Open(OpenFlags { handler: false, ip: 1, unopened: false, held: false }), DriverOp::Group { s: 0, b: true, leave: false }, DriverOp::PeerBytes { s: 99, bytes: b(b"\0") }, DriverOp::Time(65526), DriverOp::PollOne(2), DriverOp::WriteMode { s: 11, mode: Writes::All }, DriverOp::Open(OpenFlags { handler: true, ip: 2, unopened: false, held: true }), DriverOp::WriteMode { s: 117, mode: Writes::Refuse }, DriverOp::WriteMode { s: 117, mode: Writes::Refuse }, DriverOp::WriteMode { s: 117, mode: Writes::Refuse }, DriverOp::WriteMode { s: 117, mode: Writes::All }, DriverOp::WriteMode { s: 117, mode: Writes::Refuse }, DriverOp::WriteMode { s: 117, mode: Writes::Refuse }, DriverOp::WriteMode { s: 117, mode: Writes::Refuse }, DriverOp::PeerBytes { s: 41, bytes: b(b"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\\\0\0\x01") }, DriverOp::Open(OpenFlags { handler: false, ip: 0, unopened: false, held: false })] }),
        // Two sessions, queue 4 / 400 bytes, no timeouts, events capacity 2: frames both ways under partial writes, a broadcast to a group, close.
        seed("driver_ops", "echo_partial_writes", DriverOps { setup: DriverSetup { max_queue_messages: 4, queue: 100, max_transmit: 15, timing: Timing { heartbeat: None, idle_timeout: None, frame_timeout: None, close_timeout: 20, half_close: false }, backpressure: true, write_timeout: Some(20), max_sessions: 3, per_ip: 0, event_capacity: 1, memory_budget: None, budget_disconnect: false }, ops: vec![DriverOp::Open(OpenFlags { handler: false, ip: 0, unopened: false, held: false }), DriverOp::Open(OpenFlags { handler: false, ip: 1, unopened: false, held: false }), DriverOp::Group { s: 0, b: false, leave: false }, DriverOp::Group { s: 1, b: false, leave: false }, DriverOp::PeerFrame { s: 0, ping: false, body: b(b"abc") }, DriverOp::PeerFrame { s: 1, ping: false, body: b(b"z") }, DriverOp::WriteMode { s: 0, mode: Writes::Partial(2) }, DriverOp::SendHandle { s: 0, how: HandleSend::Configured, len: 10 }, DriverOp::SendHub { s: 1, len: 5 }, DriverOp::Broadcast { to: Target::Group(false), len: 8 }, DriverOp::ReadEvents(2), DriverOp::SendHandle { s: 0, how: HandleSend::With(Policy::KeepLatest(0)), len: 2 }, DriverOp::ReadEvents(0), DriverOp::Close { s: 0, how: CloseHow::HandleClose }, DriverOp::WriteMode { s: 0, mode: Writes::All }, DriverOp::ReadEvents(0), DriverOp::Close { s: 1, how: CloseHow::HubClose }] }),
        // Refused then failing writes, a read error, a trickled frame against the frame deadline, a driver dropped mid-way, a held Conn dropped.
        seed("driver_ops", "faults_and_drops", DriverOps { setup: DriverSetup { max_queue_messages: 2, queue: 10, max_transmit: 0, timing: Timing { heartbeat: None, idle_timeout: None, frame_timeout: Some(5), close_timeout: 5, half_close: false }, backpressure: true, write_timeout: Some(5), max_sessions: 3, per_ip: 2, event_capacity: 0, memory_budget: None, budget_disconnect: false }, ops: vec![DriverOp::Open(OpenFlags { handler: false, ip: 0, unopened: false, held: false }), DriverOp::Open(OpenFlags { handler: false, ip: 1, unopened: false, held: false }), DriverOp::Open(OpenFlags { handler: false, ip: 2, unopened: false, held: true }), DriverOp::Open(OpenFlags { handler: false, ip: 3, unopened: true, held: false }), DriverOp::WriteMode { s: 0, mode: Writes::Refuse }, DriverOp::SendHandle { s: 0, how: HandleSend::Configured, len: 30 }, DriverOp::SendHandle { s: 0, how: HandleSend::Configured, len: 30 }, DriverOp::SendHandle { s: 0, how: HandleSend::With(Policy::Disconnect), len: 30 }, DriverOp::WriteMode { s: 0, mode: Writes::Fail }, DriverOp::PollOne(0), DriverOp::PeerBytes { s: 1, bytes: b(b"\t\0") }, DriverOp::Time(20), DriverOp::ReadError(1), DriverOp::SendHub { s: 1, len: 3 }, DriverOp::WriteMode { s: 1, mode: Writes::Zero }, DriverOp::DropOrStart(1), DriverOp::DropOrStart(2), DriverOp::PeerBytes { s: 0, bytes: b(b"\xff\xff\xff\xff") }] }),
        // A handler session and a stream session; shutdown, then abort_all.
        seed("driver_ops", "handler_shutdown", DriverOps { setup: DriverSetup { max_queue_messages: 3, queue: 50, max_transmit: 7, timing: Timing { heartbeat: None, idle_timeout: None, frame_timeout: None, close_timeout: 50, half_close: false }, backpressure: true, write_timeout: Some(50), max_sessions: 0, per_ip: 2, event_capacity: 0, memory_budget: None, budget_disconnect: false }, ops: vec![DriverOp::Open(OpenFlags { handler: true, ip: 0, unopened: false, held: false }), DriverOp::Open(OpenFlags { handler: false, ip: 1, unopened: false, held: false }), DriverOp::PeerFrame { s: 0, ping: false, body: b(b"hi") }, DriverOp::PeerFrame { s: 1, ping: false, body: b(b"!") }, DriverOp::WriteMode { s: 0, mode: Writes::Partial(1) }, DriverOp::Broadcast { to: Target::Everyone, len: 6 }, DriverOp::HubWide(true), DriverOp::Open(OpenFlags { handler: false, ip: 0, unopened: false, held: false }), DriverOp::ReadEvents(1), DriverOp::Time(10), DriverOp::HubWide(false), DriverOp::ReadEvents(0)] }),
        // Heartbeats on, half close on: pings, end of stream, a reply, timeouts.
        seed("driver_ops", "heartbeat_half_close", DriverOps { setup: DriverSetup { max_queue_messages: 0, queue: 255, max_transmit: 63, timing: Timing { heartbeat: Some(Beat { interval: 3, timeout: 4 }), idle_timeout: Some(10), frame_timeout: Some(10), close_timeout: 10, half_close: true }, backpressure: true, write_timeout: Some(10), max_sessions: 0, per_ip: 0, event_capacity: 3, memory_budget: None, budget_disconnect: false }, ops: vec![DriverOp::Open(OpenFlags { handler: false, ip: 0, unopened: false, held: false }), DriverOp::Time(0), DriverOp::PeerFrame { s: 0, ping: true, body: b(b"") }, DriverOp::Time(0), DriverOp::PeerFrame { s: 0, ping: false, body: b(b"\x01\x02") }, DriverOp::PeerEof(0), DriverOp::ReadEvents(0), DriverOp::SendHandle { s: 0, how: HandleSend::With(Policy::Reject), len: 4 }, DriverOp::Close { s: 0, how: CloseHow::HandleClose }, DriverOp::Time(0), DriverOp::Time(0), DriverOp::ReadEvents(0)] }),
    ]
}

/// The seeds of `ws_handshake`.
fn ws_handshake() -> Vec<Seed> {
    let server = |name, stream: &[u8]| {
        seed(
            "ws_handshake",
            name,
            WsHandshake {
                client: false,
                max_len: 40,
                chunking: Chunking(vec![7, 1]),
                stream: b(stream),
            },
        )
    };
    vec![
        server("upgrade", &upgrade_request("/", &["Sec-WebSocket-Protocol: chat"])),
        server("page", b"GET /?q HTTP/1.1\r\nHost: x\r\n\r\n"),
        server("evil_origin", &upgrade_request("/", &["Origin: http://evil"])),
        server("old_version", b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n"),
        // The error named how many bytes were buffered when the head passed
        // its limit, which depends on the reads.
        seed(
            "ws_handshake",
            "regress_too_long_depends_on_reads",
            WsHandshake {
                client: true,
                max_len: 8,
                chunking: Chunking(vec![3]),
                stream: b(b"HTTP/1.1 101 Switching Protoco\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xffls\x0d\x0aUpgrade: web\xc7\xc7\xc7socket\x0d\x0aConnection: UpgrgrrrrrrbSrerocket-Accept: ?\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91x\x0d\x0a\x0d\x0a\x81\x01a"),
            },
        ),
        // A bad header past max_handshake_len was found or not depending
        // on the reads (400 against 431).
        seed(
            "ws_handshake",
            "regress_fault_past_the_limit",
            WsHandshake {
                client: false,
                max_len: 0,
                chunking: Chunking(vec![7, 1]),
                stream: b(b"GET / HTTP/1.1\x0d\x0aHoslIHN\x01\x00GET / HTTP/1.1\x0d\x0aHoRlIHNh$bXB\x00(s\x01\x07Z0hbXB\x00(s\x01\x07Z0\x01\x01\x00G"),
            },
        ),
        seed(
            "ws_handshake",
            "client_wrong_accept",
            WsHandshake {
                client: true,
                max_len: 8,
                chunking: Chunking(vec![3]),
                stream: b(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n\x81\x01a"),
            },
        ),
    ]
}

/// The seeds of `ws_frames`.
fn ws_frames() -> Vec<Seed> {
    let mask = Some([1, 2, 3, 4]);
    let frames = |name, max_message, frames: Vec<WireFrame>| {
        let stream: Vec<u8> = frames.iter().flat_map(WireFrame::encode).collect();
        seed(
            "ws_frames",
            name,
            WsFrames {
                max_message,
                chunking: Chunking(vec![5, 2, 0]),
                stream: Blob(stream),
            },
        )
    };
    let mut fragmented = fragments(opcode::TEXT, "frägments".as_bytes(), &[3, 1], mask);
    fragmented.insert(1, WireFrame::new(opcode::PING, "ping", mask));
    vec![
        frames(
            "text_and_binary",
            8,
            vec![
                WireFrame::new(opcode::TEXT, "Hello", mask),
                WireFrame::new(opcode::BINARY, [0, 1, 2], mask),
            ],
        ),
        frames("fragments_and_ping", 8, fragmented),
        frames(
            "close",
            8,
            vec![WireFrame::new(
                opcode::CLOSE,
                [0x03, 0xe8, b'o', b'k'],
                mask,
            )],
        ),
        frames(
            "too_big",
            1,
            vec![WireFrame::new(opcode::BINARY, [7; 5], mask)],
        ),
        frames(
            "unmasked",
            8,
            vec![WireFrame::new(opcode::BINARY, [7; 5], None)],
        ),
    ]
}

fn rate_limit() -> Vec<Seed> {
    let step = |advance_us, units, op| RateStep {
        advance_us,
        units,
        op,
    };
    let take = |advance_us, units| step(advance_us, units, RateOp::TryTake);
    vec![
        seed(
            "rate_limit",
            "burst-then-wait",
            RateOps {
                per_second: 10,
                burst: 3,
                steps: vec![
                    take(0, 1),
                    take(0, 1),
                    take(0, 1),
                    take(0, 1),
                    step(65_535, 0, RateOp::Check),
                    take(34_465, 1),
                    take(0, 1),
                ],
            },
        ),
        seed(
            "rate_limit",
            "debt-then-pay",
            RateOps {
                per_second: 1000,
                burst: 5,
                steps: vec![
                    step(0, 100, RateOp::Take),
                    step(1, 0, RateOp::Check),
                    take(65_535, 1),
                    take(30_000, 5),
                ],
            },
        ),
        seed(
            "rate_limit",
            "clamped",
            RateOps {
                per_second: u32::MAX,
                burst: 0,
                steps: vec![
                    take(0, 1),
                    take(0, 2),
                    step(0, u16::MAX, RateOp::Take),
                    step(1, 1, RateOp::Check),
                ],
            },
        ),
        seed(
            "rate_limit",
            "zero-rate",
            RateOps {
                per_second: 0,
                burst: u16::MAX,
                steps: vec![take(0, u16::MAX), take(0, 1), take(65_535, 1)],
            },
        ),
    ]
}
