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
    match path {
        Path::Owned | Path::Frames | Path::Borrowed => run_buf(path, codec, chunks),
        Path::Reader | Path::ReaderBorrowed => run_reader_path(path, codec, chunks),
    }
}

fn run_buf<R: MessageResolver>(path: Path, mut codec: R, chunks: &[&[u8]]) -> Run {
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        let mut budget = Budget::new(4 * buf.len() + 16);
        loop {
            budget.tick();
            let result = match path {
                Path::Owned => codec.decode(&mut buf).map(|f| match f {
                    Some(frame) => {
                        events.push(Ok(frame));
                        true
                    }
                    None => false,
                }),
                Path::Frames => {
                    let mut err = None;
                    for item in codec.frames(&mut buf) {
                        budget.tick();
                        match item {
                            Ok(frame) => events.push(Ok(frame)),
                            Err(e) => err = Some(e),
                        }
                    }
                    err.map_or(Ok(false), Err)
                }
                _ => for_each_frame(&mut codec, &mut buf, |f| {
                    events.push(Ok(Bytes::copy_from_slice(f)));
                })
                .map(|_| false),
            };
            match result {
                // `Owned` delivered one frame: ask for the next.
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    if !record(&mut events, Err(e.clone())) {
                        let again = match path {
                            Path::Borrowed => for_each_frame(&mut codec, &mut buf, |_| {
                                panic!("frame after a fatal error")
                            })
                            .map(|_| None),
                            _ => codec.decode(&mut buf),
                        };
                        assert_eq!(again, Err(e), "fatal error is not sticky");
                        return Run {
                            events,
                            left: buf.len(),
                            failed: true,
                        };
                    }
                }
            }
        }
    }
    Run {
        events,
        left: buf.len(),
        failed: false,
    }
}

fn run_reader_path<R: MessageResolver>(path: Path, codec: R, chunks: &[&[u8]]) -> Run {
    let mut reader = FrameReader::with_config(codec, READ_BUF);
    let mut events = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        match i % 3 {
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
        }
        let mut budget = Budget::new(4 * reader.buffered() + 16);
        loop {
            budget.tick();
            let result = match path {
                Path::Reader => reader.next_frame().map(|f| match f {
                    Some(frame) => {
                        events.push(Ok(frame));
                        true
                    }
                    None => false,
                }),
                _ => reader
                    .for_each_frame(|f| events.push(Ok(Bytes::copy_from_slice(f))))
                    .map(|_| false),
            };
            match result {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    if !record(&mut events, Err(e.clone())) {
                        assert_eq!(reader.next_frame(), Err(e), "fatal error is not sticky");
                        return Run {
                            events,
                            left: reader.buffered(),
                            failed: true,
                        };
                    }
                }
            }
        }
        // The reader never keeps a large buffer once it holds little.
        if reader.buffered() <= READ_BUF.read_capacity {
            assert!(
                reader.capacity() <= READ_BUF.retain_capacity,
                "FrameReader kept a {}-byte buffer for {} bytes",
                reader.capacity(),
                reader.buffered()
            );
        }
    }
    Run {
        events,
        left: reader.buffered(),
        failed: false,
    }
}

/// Runs `decode`, `for_each_frame` and a `FrameReader` (alternating its two
/// ways of reading and of draining) over `chunks`, asserts they produced the
/// same events, and returns them.
pub fn decode_all_paths<R: MessageResolver>(
    make: impl Fn() -> R,
    chunks: &[&[u8]],
    buf_config: ReadBufConfig,
) -> Events {
    let owned = run_owned(make(), chunks);
    let borrowed = run_borrowed(make(), chunks);
    let reader = run_reader(make(), chunks, buf_config);
    assert_eq!(owned, borrowed, "decode and for_each_frame disagree");
    assert_eq!(owned, reader, "decode and FrameReader disagree");
    owned
}

fn run_owned<R: MessageResolver>(mut codec: R, chunks: &[&[u8]]) -> Events {
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        let mut budget = Budget::new(2 * buf.len() + 4);
        loop {
            budget.tick();
            match codec.decode(&mut buf) {
                Ok(None) => break,
                Ok(Some(frame)) => events.push(Ok(frame)),
                Err(e) => {
                    if !record(&mut events, Err(e.clone())) {
                        assert_eq!(codec.decode(&mut buf), Err(e), "fatal error not sticky");
                        return events;
                    }
                }
            }
        }
    }
    if finish(&mut events, buf.len(), || codec.decode_eof(&mut buf)) {
        assert!(buf.is_empty(), "decode_eof left bytes without an error");
    }
    events
}

fn run_borrowed<R: MessageResolver>(mut codec: R, chunks: &[&[u8]]) -> Events {
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        let mut budget = Budget::new(2 * buf.len() + 4);
        loop {
            budget.tick();
            let mut frames = Vec::new();
            let result = for_each_frame(&mut codec, &mut buf, |f| {
                frames.push(Ok(Bytes::copy_from_slice(f)));
            });
            let delivered = frames.len();
            events.append(&mut frames);
            match result {
                Ok(n) => {
                    assert_eq!(n, delivered, "for_each_frame count");
                    break;
                }
                Err(e) => {
                    if !record(&mut events, Err(e.clone())) {
                        let again = for_each_frame(&mut codec, &mut buf, |_| {
                            panic!("frame after a fatal error");
                        });
                        assert_eq!(again, Err(e), "fatal error not sticky");
                        return events;
                    }
                }
            }
        }
    }
    finish(&mut events, buf.len(), || codec.decode_eof(&mut buf));
    events
}

fn run_reader<R: MessageResolver>(codec: R, chunks: &[&[u8]], config: ReadBufConfig) -> Events {
    let mut reader = FrameReader::with_config(codec, config);
    let mut events = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        if i % 2 == 0 {
            reader.extend_from_slice(chunk);
        } else {
            // As a socket read would: at most the free space `read_buf` gives.
            let buf = reader.read_buf();
            let (now, later) = chunk.split_at(chunk.len().min(buf.capacity() - buf.len()));
            buf.extend_from_slice(now);
            reader.extend_from_slice(later);
        }
        let mut budget = Budget::new(2 * reader.buffered() + 4);
        loop {
            budget.tick();
            let result = if i % 3 == 0 {
                let mut frames = Vec::new();
                let n = reader.for_each_frame(|f| frames.push(Ok(Bytes::copy_from_slice(f))));
                events.append(&mut frames);
                n.map(|_| None)
            } else {
                reader.next_frame()
            };
            match result {
                Ok(None) => break,
                Ok(Some(frame)) => events.push(Ok(frame)),
                Err(e) => {
                    if !record(&mut events, Err(e)) {
                        return events;
                    }
                }
            }
        }
        if reader.buffered() <= config.read_capacity {
            let bound = config.read_capacity.max(config.retain_capacity);
            assert!(
                reader.capacity() <= bound,
                "FrameReader kept a large buffer"
            );
        }
    }
    let buffered = reader.buffered();
    finish(&mut events, buffered, || reader.next_frame_eof());
    events
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
