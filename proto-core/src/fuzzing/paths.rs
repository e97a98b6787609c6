//! The three decode paths every harness compares: `decode`, `for_each_frame`
//! and a `FrameReader`.

use bytes::{Bytes, BytesMut};

use crate::frame::{FrameError, FrameReader, ReadBufConfig, for_each_frame};
use crate::message::MessageResolver;

/// What one decode run produced, in order: frames and errors.
pub(super) type Events = Vec<Result<Bytes, FrameError>>;

/// Runs `decode`, `for_each_frame` and a `FrameReader` (alternating its two
/// ways of reading and of draining) over `chunks`, asserts they produced the
/// same events, and returns them.
pub(super) fn decode_all_paths<R: MessageResolver>(
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

/// Bounds a drain loop: every frame consumes a byte and every recoverable
/// error is followed by consumption or a wait, so more calls than this mean
/// the decoder is stuck.
fn budget(buffered: usize) -> impl FnMut() {
    let mut left = 2 * buffered + 4;
    move || {
        assert!(left > 0, "decoder makes no progress");
        left -= 1;
    }
}

/// Pushes a decode result; returns whether the stream can go on.
fn record(events: &mut Events, result: Result<Bytes, FrameError>) -> bool {
    let go_on = result
        .as_ref()
        .map_or_else(FrameError::is_recoverable, |_| true);
    events.push(result);
    go_on
}

fn run_owned<R: MessageResolver>(mut codec: R, chunks: &[&[u8]]) -> Events {
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        let mut tick = budget(buf.len());
        loop {
            tick();
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
        let mut tick = budget(buf.len());
        loop {
            tick();
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
        let mut tick = budget(reader.buffered());
        loop {
            tick();
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
    let mut tick = budget(buffered);
    loop {
        tick();
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
