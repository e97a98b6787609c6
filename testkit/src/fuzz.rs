//! The fuzz harness: the code behind the targets in `fuzz/` (feature `fuzz`).
//!
//! Each target in `fuzz/fuzz_targets/` is a shim of a few lines over one
//! function here. It is compiled only with the `fuzz` feature (which the
//! `fuzz/` crate enables) and for this crate's own tests, which replay the
//! checked-in seeds in `fuzz/corpus/`; never into a user's build.
//! A panic in any of these functions is a bug: either a codec panicked on
//! peer bytes, or it broke an invariant the harness asserts.
//!
//! Each harness takes a typed input that `arbitrary` reads from the fuzz
//! bytes (`#[derive(Arbitrary)]`, [`input`], [`SessionOps`],
//! [`DriverOps`]); [`run_bytes`] decodes bytes and runs the harness of a
//! target, as the corpus replay does. The checked-in seeds are typed values
//! too ([`seeds`]), written to `fuzz/corpus/<target>/` by the `fuzz-seeds`
//! binary of this crate and checked against the corpus by its tests.

use bytes::Bytes;

use proto_core::frame::{FrameError, Line, Raw, WireBuf};
use proto_core::message::{MessageBuilder, MessageResolver};

use crate::model::{line_model, normalise_line_errors};
use crate::paths::{Events, decode_all_paths};

pub mod driver;
pub mod encode;
pub mod input;
pub mod rate;
pub mod seeds;
pub mod session;
#[cfg(test)]
mod tests;
pub mod ws;

use arbitrary::{Arbitrary, Unstructured};

pub use driver::{DriverOp, DriverOps, DriverSetup};
use input::{
    DecodeLengthField, DecodeLine, DecodeRaw, Payload, Prefix, RoundTrip, RoundTripCodec, WriteStep,
};
pub use rate::{RateOp, RateOps, RateStep};
pub use session::{SessionOp, SessionOps, SessionSetup};

/// Every fuzz target, by the name of its corpus directory.
pub const TARGETS: &[&str] = &[
    "decode_length_field",
    "decode_line",
    "decode_raw",
    "round_trip",
    "session_ops",
    "driver_ops",
    "rate_limit",
    "ws_handshake",
    "ws_frames",
];

/// Decodes `data` as `arbitrary` does for a fuzz target (the whole input,
/// [`Arbitrary::arbitrary_take_rest`]).
///
/// # Errors
/// When `arbitrary` rejects the bytes.
pub fn decode<'a, T: Arbitrary<'a>>(data: &'a [u8]) -> arbitrary::Result<T> {
    T::arbitrary_take_rest(Unstructured::new(data))
}

/// Decodes `data` as the input of `target` and runs its harness; `start`
/// is the origin of virtual time. Returns false for bytes `arbitrary`
/// rejects (the fuzzer skips them too).
///
/// # Panics
/// On a bug, as the harness does, and on an unknown target.
pub fn run_bytes(target: &str, data: &[u8], start: std::time::Instant) -> bool {
    fn run<'a, T: Arbitrary<'a>>(data: &'a [u8], harness: impl FnOnce(T)) -> bool {
        decode(data).map(harness).is_ok()
    }
    match target {
        "decode_length_field" => run(data, decode_length_field),
        "decode_line" => run(data, decode_line),
        "decode_raw" => run(data, decode_raw),
        "round_trip" => run(data, round_trip),
        "session_ops" => run(data, |ops| session_ops(ops, start)),
        "driver_ops" => run(data, |ops| driver_ops(ops, start)),
        "rate_limit" => run(data, |ops| rate_limit(ops, start)),
        "ws_handshake" => run(data, ws::ws_handshake),
        "ws_frames" => run(data, ws::ws_frames),
        other => panic!("no fuzz target {other}"),
    }
}

/// Drives one session through an arbitrary sequence of inputs — peer bytes
/// and frames, sends under every overflow policy, time jumps, partial
/// writes, closes, aborts, end of stream, I/O errors — and asserts that it
/// never panics, keeps its queue within bounds and only makes legal
/// transitions (see [`SessionOps`]).
///
/// `start` is the origin of the session's virtual time: the core reads no
/// clock, so the caller (the fuzz target) supplies one.
pub fn session_ops(input: SessionOps, start: std::time::Instant) {
    session::run(input, start);
}

/// Runs a few hub sessions with [`Drive`](proto_core::driver::Drive) over an
/// in-memory transport and a virtual clock, polled by hand: the peer sends
/// frames, garbage, end of stream or read errors, writes are taken in full,
/// in part, refused or fail, time passes, the application sends under every
/// overflow policy, broadcasts, joins and leaves groups, closes, aborts,
/// shuts down, reads its events or lets them pile up, and drops drivers
/// mid-way. Asserts that nothing panics, every session's events come in a
/// legal order, the hub forgets a session before its `Closed` event, ends
/// empty with its census free, and every transport received whole frames
/// of sent messages (see [`DriverOps`]).
///
/// `start` is the origin of the virtual clock.
pub fn driver_ops(input: DriverOps, start: std::time::Instant) {
    driver::run(input, start);
}

/// Charges and checks one rate meter under an arbitrary rate, in virtual
/// time from `start`, and asserts that its answers agree with each other
/// and that it never lets through more than the rate earned (see
/// [`rate::run`]).
pub fn rate_limit(input: RateOps, start: std::time::Instant) {
    rate::run(input, start);
}

/// Decodes a stream with a length-field codec built from the input, cut into
/// reads of fuzzed sizes, along three paths (`decode`, `for_each_frame`,
/// `FrameReader`); asserts that they agree with each other and with a
/// straight-line model of the wire format, recoverable errors and resync
/// included, and that no frame exceeds `max_frame_length`.
pub fn decode_length_field(input: DecodeLengthField) {
    let params = input.params.params(false);
    let (chunking, buf_config, stream) = (input.chunking, input.buf.config(), &input.stream.0[..]);
    let config = params.config();
    let events = decode_all_paths(|| config.new_codec(), &chunking.split(stream), buf_config);
    for frame in events.iter().flatten() {
        assert!(frame.len() <= params.max, "frame over max");
    }
    assert_eq!(events, params.model(stream), "codec and model disagree");
}

/// Like [`decode_length_field`] for the line codec: frames are the lines of
/// the stream without their ending, overlong and (in UTF-8 mode) invalid
/// lines are reported once each and skipped, whatever the read sizes.
pub fn decode_line(input: DecodeLine) {
    let (max, utf8) = (input.params.max(), input.params.utf8);
    let (chunking, buf_config, stream) = (input.chunking, input.buf.config(), &input.stream.0[..]);
    // The sender keeps to the receiver's limit, so that every line sent
    // comes back.
    let config = Line::default()
        .max_line_length(max)
        .max_send_length(Some(max))
        .utf8(utf8);
    let events = decode_all_paths(|| config.new_codec(), &chunking.split(stream), buf_config);
    for line in events.iter().flatten() {
        assert!(line.len() <= max, "line over max");
        assert!(!line.contains(&b'\n'), "line holds its ending");
        assert!(!utf8 || std::str::from_utf8(line).is_ok(), "invalid UTF-8");
    }
    // How much of an overlong line was seen when it was reported depends on
    // the read sizes; everything else must not.
    assert_eq!(
        normalise_line_errors(events),
        normalise_line_errors(line_model(stream, max, utf8)),
        "codec and model disagree"
    );
}

/// Like [`decode_length_field`] for the raw codec: every non-empty read is
/// one frame, and the frames put together are the stream.
pub fn decode_raw(input: DecodeRaw) {
    let chunks = input.chunking.split(&input.stream.0);
    let buf_config = input.buf.config();
    let events = decode_all_paths(|| Raw.new_codec(), &chunks, buf_config);
    let frames = ok_frames(&events);
    let expected: Vec<&[u8]> = chunks.into_iter().filter(|c| !c.is_empty()).collect();
    assert_eq!(frames, expected, "raw frames are not the reads");
}

/// Encodes fuzzed payloads (whole, or as a head and the rest through
/// `encode_parts`) with a fuzzed codec, writes the wire bytes out in fuzzed
/// steps through `io_slices`/`advance` and `pop_chunk`, and decodes them
/// under fuzzed read sizes: exactly the payloads the encoder accepted come
/// back (for the raw codec, their concatenation), a refused payload leaves
/// no bytes behind, and the length-field encoder refuses exactly the
/// payloads that do not fit its field or `max_frame_length`.
pub fn round_trip(input: RoundTrip) {
    match input.codec.clone() {
        RoundTripCodec::Length { params, prefix } => {
            let params = params.params(true);
            let prefix = match prefix {
                Prefix::NoPrefix => None,
                Prefix::Fill(b) => Some(vec![b; params.offset]),
                Prefix::Given(bytes) => Some(bytes.0),
            };
            let config = params.config();
            let mut codec = config.new_codec();
            round_trip_with(
                &input,
                false,
                || config.new_codec(),
                |piece, wire| {
                    let (result, fits) = match (piece, &prefix) {
                        (Piece::Whole(p), Some(prefix)) => (
                            codec.encode_with_prefix(prefix, p.clone(), wire),
                            prefix.len() == params.offset && params.encodable(p.len()),
                        ),
                        (piece, _) => {
                            let len = piece.len();
                            (piece.encode(&mut codec, wire), params.encodable(len))
                        }
                    };
                    assert_eq!(result.is_ok(), fits, "encoder verdict: {result:?}");
                    result
                },
            );
        }
        RoundTripCodec::Line(line) => {
            let (max, utf8) = (line.max(), line.utf8);
            // The sender keeps to the receiver's limit, so that every line sent
            // comes back.
            let config = Line::default()
                .max_line_length(max)
                .max_send_length(Some(max))
                .utf8(utf8);
            let mut codec = config.new_codec();
            round_trip_with(
                &input,
                false,
                || config.new_codec(),
                |piece, wire| piece.encode(&mut codec, wire),
            );
        }
        RoundTripCodec::Raw => round_trip_with(
            &input,
            true,
            || Raw.new_codec(),
            |piece, wire| piece.encode(&mut Raw.new_codec(), wire),
        ),
    }
}

/// How a round trip hands one payload to the encoder.
enum Piece<'a> {
    /// To `encode`.
    Whole(Bytes),
    /// To `encode_parts`, as a head and the rest.
    Parts(&'a [u8], Bytes),
}

impl Piece<'_> {
    /// Length of the whole payload.
    fn len(&self) -> usize {
        match self {
            Piece::Whole(p) => p.len(),
            Piece::Parts(head, rest) => head.len() + rest.len(),
        }
    }

    fn encode(
        self,
        builder: &mut impl MessageBuilder,
        dst: &mut WireBuf,
    ) -> Result<(), FrameError> {
        match self {
            Piece::Whole(p) => builder.encode(p, dst),
            Piece::Parts(head, rest) => builder.encode_parts(head, rest, dst),
        }
    }
}

fn ok_frames(events: &Events) -> Vec<&[u8]> {
    events
        .iter()
        .map(|e| match e {
            Ok(frame) => &frame[..],
            Err(e) => panic!("unexpected error {e}"),
        })
        .collect()
}

/// Encodes the payloads left in `input`, writing some of the wire bytes out
/// between encodes as a socket writer would, then decodes everything
/// written; `concatenated` when frames need not keep the payloads'
/// boundaries (raw).
fn round_trip_with<R, E>(input: &RoundTrip, concatenated: bool, make: impl Fn() -> R, mut encode: E)
where
    R: MessageResolver,
    E: FnMut(Piece<'_>, &mut WireBuf) -> Result<(), FrameError>,
{
    let mut wire = WireBuf::with_copy_limit(usize::from(input.copy_limit));
    let mut sent = Vec::new();
    let mut accepted = Vec::new();
    for Payload {
        bytes,
        split,
        write,
    } in input.payloads.iter().take(64)
    {
        let payload = &bytes.0[..];
        let piece = match split {
            None => Piece::Whole(Bytes::copy_from_slice(payload)),
            Some(n) => {
                let (head, rest) = payload.split_at(usize::from(*n).min(payload.len()));
                Piece::Parts(head, Bytes::copy_from_slice(rest))
            }
        };
        let payload = Bytes::copy_from_slice(payload);
        let before = wire.len();
        match encode(piece, &mut wire) {
            Ok(()) => accepted.push(payload),
            Err(_) => assert_eq!(wire.len(), before, "refused payload left bytes"),
        }
        write_out(&mut wire, *write, &mut sent);
    }
    sent.extend_from_slice(&wire_bytes(&wire));
    let events = decode_all_paths(make, &input.chunking.split(&sent), input.buf.config());
    let frames = ok_frames(&events);
    if concatenated {
        assert_eq!(
            frames.concat(),
            accepted.concat(),
            "payloads did not come back"
        );
    } else {
        assert_eq!(frames, accepted, "payloads did not come back");
    }
}

/// Moves bytes from `wire` to `sent` as a writer would, as `how` says.
fn write_out(wire: &mut WireBuf, how: WriteStep, sent: &mut Vec<u8>) {
    match how {
        WriteStep::Hold => {}
        WriteStep::Vectored(n) => write_vectored(wire, 4 * usize::from(n % 64), sent),
        WriteStep::Pop => {
            let before = wire.len();
            if let Some(chunk) = wire.pop_chunk() {
                assert!(!chunk.is_empty(), "pop_chunk returned an empty chunk");
                assert_eq!(wire.len() + chunk.len(), before, "pop_chunk length");
                sent.extend_from_slice(&chunk);
            } else {
                assert!(
                    wire.is_empty(),
                    "pop_chunk returned nothing from {before} bytes"
                );
            }
        }
        WriteStep::Drain => {
            while !wire.is_empty() {
                write_vectored(wire, usize::MAX, sent);
            }
        }
    }
}

/// One vectored write of at most two slices that accepts up to `limit`
/// bytes, then `advance` past what it accepted.
fn write_vectored(wire: &mut WireBuf, limit: usize, sent: &mut Vec<u8>) {
    let before = wire.len();
    let mut slices = [std::io::IoSlice::new(&[]); 2];
    let n = wire.io_slices(&mut slices);
    assert_eq!(n, wire.chunk_count().min(2), "io_slices count");
    let mut written = 0;
    for slice in &slices[..n] {
        assert!(!slice.is_empty(), "io_slices gave an empty slice");
        let take = slice.len().min(limit - written);
        sent.extend_from_slice(&slice[..take]);
        written += take;
    }
    wire.advance(written);
    assert_eq!(wire.len(), before - written, "advance length");
    assert_eq!(
        wire.is_empty(),
        wire.chunk_count() == 0,
        "chunk_count when empty"
    );
}

/// The wire bytes, checked to read the same through every `WireBuf` view.
fn wire_bytes(wire: &WireBuf) -> Vec<u8> {
    let bytes = wire.to_vec();
    assert_eq!(bytes.len(), wire.len(), "WireBuf::len");
    let mut slices = vec![std::io::IoSlice::new(&[]); wire.chunk_count()];
    let n = wire.io_slices(&mut slices);
    assert_eq!(n, wire.chunk_count(), "io_slices count");
    assert_eq!(
        slices
            .iter()
            .flat_map(|s| s.iter())
            .copied()
            .collect::<Vec<u8>>(),
        bytes
    );
    let mut popped = wire.clone();
    let mut chunks = Vec::new();
    while let Some(chunk) = popped.pop_chunk() {
        chunks.extend_from_slice(&chunk);
    }
    assert_eq!(chunks, bytes, "pop_chunk");
    assert!(popped.is_empty(), "pop_chunk left bytes");
    bytes
}
