//! Decode-path runners: feed a stream to a codec in given chunks along each
//! of the ways proto-core gets frames out of a [`MessageResolver`], and
//! record what comes out.
//!
//! [`run`] follows one [`Path`] and returns a [`Run`] to compare with a
//! model; [`decode_all_paths`] runs every path (end of stream included),
//! asserts that they agree, and returns the one answer. Both assert the
//! decode contract on the way: a fatal error is sticky, a drain loop makes
//! progress, and a [`FrameReader`] never keeps a large buffer once it holds
//! little.

use bytes::{Bytes, BytesMut};
use proto_core::frame::{FrameError, FrameReader, ReadBufConfig, for_each_frame};
use proto_core::message::MessageResolver;

/// One output of a decoder: a frame, or an error.
pub type Event = Result<Bytes, FrameError>;

/// A way to get frames out of a resolver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// `MessageResolver::decode`, called until `Ok(None)`.
    Owned,
    /// `MessageResolver::frames`, restarted after a recoverable error.
    Frames,
    /// `frame::for_each_frame`.
    Borrowed,
    /// `FrameReader::next_frame`, bytes put in through both
    /// `extend_from_slice` and `read_buf`.
    Reader,
    /// `FrameReader::for_each_frame`.
    ReaderBorrowed,
}

/// Every decode path.
pub const PATHS: [Path; 5] = [
    Path::Owned,
    Path::Frames,
    Path::Borrowed,
    Path::Reader,
    Path::ReaderBorrowed,
];

/// A small read buffer, so that the reader paths grow and shrink often.
pub const READ_BUF: ReadBufConfig = ReadBufConfig {
    read_capacity: 16,
    retain_capacity: 64,
};

/// What one decode run produced, in order: frames and errors.
pub type Events = Vec<Event>;

/// Guards a drain loop against a decoder that stops making progress: every
/// frame consumes a byte and every recoverable error is followed by
/// consumption or a wait, so more calls than the budget mean it is stuck.
struct Budget(usize);

impl Budget {
    fn new(calls: usize) -> Self {
        Self(calls)
    }

    fn tick(&mut self) {
        self.0 = self
            .0
            .checked_sub(1)
            .expect("decoder made no progress (possible infinite loop)");
    }
}

/// Pushes a decode result; returns whether the stream can go on (a frame,
/// or a recoverable error).
fn record(events: &mut Events, result: Event) -> bool {
    let go_on = result
        .as_ref()
        .map_or_else(FrameError::is_recoverable, |_| true);
    events.push(result);
    go_on
}

/// What a run produced: the events, and the bytes left buffered at the end.
#[derive(Debug)]
pub struct Run {
    /// Frames and errors, in order.
    pub events: Vec<Event>,
    /// Bytes received and not consumed when the input ran out.
    pub left: usize,
    /// Whether the run ended on a fatal (non-recoverable) error.
    pub failed: bool,
}

/// Feeds `chunks` to `codec` along `path`, draining every whole frame after
/// each read. A recoverable error is recorded and decoding goes on (so the
/// codec must skip the bad frame); a fatal error is recorded, checked to be
/// sticky, and ends the run.
pub fn run<R: MessageResolver>(path: Path, codec: R, chunks: &[&[u8]]) -> Run {
    let mut decoder = Decoder::new(path, codec, READ_BUF, false);
    let (events, failed) = decoder.feed(chunks);
    Run {
        events,
        left: decoder.buffered(),
        failed,
    }
}

/// Runs every path over `chunks` — `decode`, `frames`, `for_each_frame`,
/// and a `FrameReader` drained through `next_frame` (alternating, on the
/// same reader, with its `for_each_frame`) and through `for_each_frame` —
/// then the end of stream; asserts they produced the same events, and
/// returns them.
pub fn decode_all_paths<R: MessageResolver>(
    make: impl Fn() -> R,
    chunks: &[&[u8]],
    buf_config: ReadBufConfig,
) -> Events {
    let mut answers = PATHS.into_iter().map(|path| {
        let mut decoder = Decoder::new(path, make(), buf_config, true);
        let (mut events, failed) = decoder.feed(chunks);
        if !failed {
            decoder.finish(&mut events);
        }
        (path, events)
    });
    let (_, first) = answers.next().expect("there are paths");
    for (path, events) in answers {
        assert_eq!(first, events, "{:?} and {path:?} disagree", PATHS[0]);
    }
    first
}

/// A decoder along one path: a codec over a plain buffer, or a
/// [`FrameReader`].
enum Decoder<R> {
    /// [`Path::Owned`], [`Path::Frames`] or [`Path::Borrowed`].
    Buf { path: Path, codec: R, buf: BytesMut },
    /// [`Path::Reader`] or [`Path::ReaderBorrowed`]; `mixed`: a `Reader`
    /// drains through `for_each_frame` after every third read.
    Reader {
        path: Path,
        reader: FrameReader<R>,
        config: ReadBufConfig,
        mixed: bool,
    },
}

impl<R: MessageResolver> Decoder<R> {
    fn new(path: Path, codec: R, config: ReadBufConfig, mixed: bool) -> Self {
        match path {
            Path::Owned | Path::Frames | Path::Borrowed => Self::Buf {
                path,
                codec,
                buf: BytesMut::new(),
            },
            Path::Reader | Path::ReaderBorrowed => Self::Reader {
                path,
                reader: FrameReader::with_config(codec, config),
                config,
                mixed,
            },
        }
    }

    fn buffered(&self) -> usize {
        match self {
            Self::Buf { buf, .. } => buf.len(),
            Self::Reader { reader, .. } => reader.buffered(),
        }
    }

    /// Puts chunk `i` in, as a socket read would.
    fn put(&mut self, i: usize, chunk: &[u8]) {
        match self {
            Self::Buf { buf, .. } => buf.extend_from_slice(chunk),
            Self::Reader { reader, .. } => match i % 3 {
                0 => reader.extend_from_slice(chunk),
                1 => {
                    // As a socket read would: no more than the free space
                    // `read_buf` guarantees, the rest in a second read.
                    let buf = reader.read_buf();
                    let spare = buf.capacity() - buf.len();
                    let (now, later) = chunk.split_at(chunk.len().min(spare));
                    buf.extend_from_slice(now);
                    reader.extend_from_slice(later);
                }
                // Appended whole, growing the buffer behind the reader's back.
                _ => reader.read_buf().extend_from_slice(chunk),
            },
        }
    }

    /// One drain call after read `i`: `Ok(true)` when it delivered one frame
    /// and another call may deliver more, `Ok(false)` when it waits for
    /// bytes.
    fn drain(
        &mut self,
        i: usize,
        events: &mut Events,
        budget: &mut Budget,
    ) -> Result<bool, FrameError> {
        let one = |frame: Option<Bytes>, events: &mut Events| match frame {
            Some(frame) => {
                events.push(Ok(frame));
                true
            }
            None => false,
        };
        let mut copy = |f: &[u8]| events.push(Ok(Bytes::copy_from_slice(f)));
        match self {
            Self::Buf {
                path: Path::Owned,
                codec,
                buf,
            } => codec.decode(buf).map(|f| one(f, events)),
            Self::Buf {
                path: Path::Frames,
                codec,
                buf,
            } => {
                let mut err = None;
                for item in codec.frames(buf) {
                    budget.tick();
                    match item {
                        Ok(frame) => events.push(Ok(frame)),
                        Err(e) => err = Some(e),
                    }
                }
                err.map_or(Ok(false), Err)
            }
            Self::Buf { codec, buf, .. } => for_each_frame(codec, buf, copy).map(|_| false),
            Self::Reader {
                path: Path::Reader,
                reader,
                mixed,
                ..
            } if !(*mixed && i % 3 == 0) => reader.next_frame().map(|f| one(f, events)),
            Self::Reader { reader, .. } => reader.for_each_frame(&mut copy).map(|_| false),
        }
    }

    /// The call after a fatal error, which must return it again.
    fn again(&mut self) -> Result<Option<Bytes>, FrameError> {
        match self {
            Self::Buf {
                path: Path::Borrowed,
                codec,
                buf,
            } => for_each_frame(codec, buf, |_| panic!("frame after a fatal error")).map(|_| None),
            Self::Buf { codec, buf, .. } => codec.decode(buf),
            Self::Reader { reader, .. } => reader.next_frame(),
        }
    }

    /// Feeds `chunks`, draining after each; returns the events and whether
    /// a fatal error ended the run.
    fn feed(&mut self, chunks: &[&[u8]]) -> (Events, bool) {
        let mut events = Vec::new();
        for (i, chunk) in chunks.iter().enumerate() {
            self.put(i, chunk);
            let mut budget = Budget::new(4 * self.buffered() + 16);
            loop {
                budget.tick();
                match self.drain(i, &mut events, &mut budget) {
                    // One frame delivered: ask for the next.
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => {
                        if !record(&mut events, Err(e.clone())) {
                            assert_eq!(self.again(), Err(e), "fatal error is not sticky");
                            return (events, true);
                        }
                    }
                }
            }
            // The reader never keeps a large buffer once it holds little.
            if let Self::Reader { reader, config, .. } = self {
                if reader.buffered() <= config.read_capacity {
                    let bound = config.read_capacity.max(config.retain_capacity);
                    assert!(
                        reader.capacity() <= bound,
                        "FrameReader kept a {}-byte buffer for {} bytes",
                        reader.capacity(),
                        reader.buffered()
                    );
                }
            }
        }
        (events, false)
    }

    /// The end of stream: drains `decode_eof` or `next_frame_eof` into
    /// `events`.
    fn finish(&mut self, events: &mut Events) {
        let buffered = self.buffered();
        match self {
            Self::Buf { codec, buf, .. } => {
                if finish(events, buffered, || codec.decode_eof(buf)) {
                    assert!(buf.is_empty(), "decode_eof left bytes without an error");
                }
            }
            Self::Reader { reader, .. } => {
                finish(events, buffered, || reader.next_frame_eof());
            }
        }
    }
}

/// Drains an end-of-stream decode (`decode_eof` or `next_frame_eof`);
/// returns whether it ended without a fatal error.
fn finish(
    events: &mut Events,
    buffered: usize,
    mut eof: impl FnMut() -> Result<Option<Bytes>, FrameError>,
) -> bool {
    let mut budget = Budget::new(2 * buffered + 4);
    loop {
        budget.tick();
        match eof() {
            Ok(None) => return true,
            Ok(Some(frame)) => events.push(Ok(frame)),
            Err(e) => {
                if !record(events, Err(e)) {
                    return false;
                }
            }
        }
    }
}

/// Feeds `bytes` to `codec` one at a time; returns the outcome after the
/// last one, asserting that every earlier byte gave `Ok(None)` (a decoder
/// decides nothing before the byte that decides it).
///
/// # Panics
///
/// If `bytes` is empty, or the codec decided before the last byte.
pub fn feed_bytewise<R: MessageResolver>(
    codec: &mut R,
    buf: &mut BytesMut,
    bytes: &[u8],
) -> Result<Option<Bytes>, FrameError> {
    let (last, init) = bytes
        .split_last()
        .expect("feed_bytewise is given at least one byte");
    for &b in init {
        buf.extend_from_slice(&[b]);
        assert_eq!(codec.decode(buf), Ok(None), "decided before the last byte");
    }
    buf.extend_from_slice(&[*last]);
    codec.decode(buf)
}
