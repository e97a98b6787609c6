//! Drivers shared by the property tests: feed a stream to a codec in given
//! chunks along each of the decode paths and record what comes out.
#![allow(dead_code)] // each test crate uses a different subset

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use proto_core::frame::{FrameError, FrameReader, ReadBufConfig, for_each_frame};
use proto_core::message::MessageResolver;

/// One output of a decoder: a frame, or an error.
pub(crate) type Event = Result<Bytes, FrameError>;

/// A way to get frames out of a resolver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Path {
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
pub(crate) const PATHS: [Path; 5] = [
    Path::Owned,
    Path::Frames,
    Path::Borrowed,
    Path::Reader,
    Path::ReaderBorrowed,
];

/// A small read buffer, so that the reader paths grow and shrink often.
pub(crate) const READ_BUF: ReadBufConfig = ReadBufConfig {
    read_capacity: 16,
    retain_capacity: 64,
};

/// Random read sizes (cycled by [`split`]); 0 stands for an empty read.
pub(crate) fn read_sizes() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0usize..24, 1..12)
}

/// Cuts `stream` into reads of the given sizes, cycled. A size of 0 is an
/// empty read (decoders must cope); it never repeats, so splitting ends.
pub(crate) fn split<'a>(mut stream: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut chunks = Vec::new();
    let mut sizes = sizes.iter().copied().cycle();
    let mut last_empty = false;
    while !stream.is_empty() {
        let size = sizes.next().unwrap_or(1);
        let size = if size == 0 && !last_empty {
            0
        } else {
            size.clamp(1, stream.len())
        };
        let (chunk, rest) = stream.split_at(size);
        chunks.push(chunk);
        last_empty = size == 0;
        stream = rest;
    }
    chunks
}

/// The three chunkings every property is checked under: one byte per read,
/// random reads, and the whole stream in one read.
pub(crate) fn chunkings<'a>(
    stream: &'a [u8],
    sizes: &[usize],
) -> [(&'static str, Vec<&'a [u8]>); 3] {
    [
        ("1-byte reads", stream.chunks(1).collect()),
        ("random reads", split(stream, sizes)),
        ("one read", vec![stream]),
    ]
}

/// What a run produced: the events, and the bytes left buffered at the end.
#[derive(Debug)]
pub(crate) struct Run {
    /// Frames and errors, in order.
    pub(crate) events: Vec<Event>,
    /// Bytes received and not consumed when the input ran out.
    pub(crate) left: usize,
    /// Whether the run ended on a fatal (non-recoverable) error.
    pub(crate) failed: bool,
}

/// Guards a drain loop against a decoder that stops making progress.
struct Budget(usize);

impl Budget {
    fn new(bytes: usize) -> Self {
        Self(4 * bytes + 16)
    }

    fn tick(&mut self) {
        self.0 = self
            .0
            .checked_sub(1)
            .expect("decoder made no progress (possible infinite loop)");
    }
}

/// Feeds `chunks` to `codec` along `path`, draining every whole frame after
/// each read. A recoverable error is recorded and decoding goes on (so the
/// codec must skip the bad frame); a fatal error is recorded, checked to be
/// sticky, and ends the run.
pub(crate) fn run<R: MessageResolver>(path: Path, codec: R, chunks: &[&[u8]]) -> Run {
    match path {
        Path::Owned | Path::Frames | Path::Borrowed => run_buf(path, codec, chunks),
        Path::Reader | Path::ReaderBorrowed => run_reader(path, codec, chunks),
    }
}

/// Records `e`; returns whether decoding may go on.
fn record(events: &mut Vec<Event>, e: FrameError) -> bool {
    let go_on = e.is_recoverable();
    events.push(Err(e));
    go_on
}

fn run_buf<R: MessageResolver>(path: Path, mut codec: R, chunks: &[&[u8]]) -> Run {
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        let mut budget = Budget::new(buf.len());
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
                    if !record(&mut events, e.clone()) {
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

fn run_reader<R: MessageResolver>(path: Path, codec: R, chunks: &[&[u8]]) -> Run {
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
        let mut budget = Budget::new(reader.buffered());
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
                    if !record(&mut events, e.clone()) {
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
