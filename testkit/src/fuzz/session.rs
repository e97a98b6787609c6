//! The session harness: an arbitrary sequence of session inputs.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::input::Input;
use proto_core::frame::{LengthField, LengthFieldCodec};
use proto_core::session::{
    BadFramePolicy, CloseReason, Event, Heartbeat, Overflow, SendError, Session, SessionConfig,
    WaterMarks,
};

type S = Session<LengthFieldCodec, LengthFieldCodec>;

/// Input layout: `[config: 6 bytes]` then operations `[op][args...]` until
/// the input ends. The config's first byte holds the message limit (low
/// nibble) and, in its high nibble, back-pressure on (bit 4, marks scaled
/// by bits 6–7) and a write timeout (bit 5); the fifth byte's bit 3 turns
/// on [`BadFramePolicy::Skip`], with `max_skipped_frames` its high nibble.
///
/// | op % 16 | operation | arguments |
/// | --- | --- | --- |
/// | 0 | bytes from the peer | `[len][bytes]` |
/// | 1 | a whole frame from the peer | `[len][payload]` |
/// | 2 | send | `[policy][len]` (policy % 3: reject, disconnect, keep latest with key policy / 3 % 4) |
/// | 3 | time passes, then `handle_timeout` | `[ms: u16 LE]` |
/// | 4 | jump to the next deadline | |
/// | 5 | partial write (checking that `io_slices` and `transmit_chunks` offer the same bytes) | `[n: u16 LE]` |
/// | 6 | graceful close | |
/// | 7 | abort | |
/// | 8 | end of stream from the peer | |
/// | 9 | I/O error | |
/// | 10 | read budget (checking it against the marks) | `[pending: u16 LE]` |
/// | 11 | a write that took nothing | |
/// | 12 | last word | `[len]` |
/// | 13 | close with the caller's deadline | `[ms: u8]` (0: none) |
/// | 14, 15 | as 0 and 1 | |
///
/// Asserts: no panic; the queue within its limits (but for one last word);
/// `Opened` first and `Closed` once and last; closed stays closed, with no
/// deadline and nothing to write; sends refused once closing; every
/// deadline due fires in `handle_timeout`; the read budget 0 once closed
/// or ended, unlimited without marks, and never above the high mark; no
/// frame skipped under `Close`, never more than `max_skipped_frames` under
/// `Skip`, and a session closed for a frame too large only once the
/// skips are used up.
pub(super) fn run(data: &[u8], start: Instant) {
    let mut input = Input(data);
    let c = input.le::<6>();
    let hb = (c[3] & 1 == 1).then(|| Heartbeat {
        interval: Duration::from_millis(u64::from(c[3] >> 1) + 1),
        timeout: Duration::from_millis(u64::from(c[4]) + 1),
    });
    let max_messages = usize::from(c[0] % 16);
    let max_bytes = usize::from(c[1]) * 4;
    let scale = usize::from(c[0] >> 6);
    let marks = (c[0] & 0x10 != 0).then(|| WaterMarks {
        low: usize::from(c[2]) << scale,
        high: usize::from(c[1]) << scale,
    });
    let bad_frame = if c[4] & 8 != 0 {
        BadFramePolicy::Skip
    } else {
        BadFramePolicy::Close
    };
    let max_skipped = u64::from(c[4] >> 4);
    let write_timeout = (c[0] & 0x20 != 0).then(|| Duration::from_millis(u64::from(c[3]) * 2));
    let config = SessionConfig::default()
        .backpressure(marks)
        .write_timeout(write_timeout)
        .max_queue_messages(max_messages)
        .max_queue_bytes(max_bytes)
        .max_transmit_bytes(usize::from(c[2]) + 1)
        .heartbeat(hb)
        .idle_timeout((c[4] & 1 == 0).then(|| Duration::from_millis(u64::from(c[5]) * 10)))
        .frame_timeout((c[4] & 2 == 0).then(|| Duration::from_millis(u64::from(c[5]) * 3)))
        .close_timeout(Duration::from_millis(u64::from(c[5])))
        .half_close(c[4] & 4 != 0)
        .on_bad_frame(bad_frame)
        .max_skipped_frames(max_skipped);
    let codec = LengthField::laster40net().max_frame_length(64 + usize::from(c[2]));
    let mut now = start;
    let mut s = Session::new(codec.new_codec(), codec.new_codec(), config, now);
    let mut peer = codec.new_codec();
    let mut checker = Checker::default();
    // The last word, once accepted: its wire bytes may pass the limits.
    let mut last_word: Option<usize> = None;

    while !input.0.is_empty() {
        let op = input.u8();
        match op % 16 {
            0 | 14 => {
                let len = usize::from(input.u8());
                s.handle_input(input.bytes(len), now);
            }
            1 | 15 => {
                let len = usize::from(input.u8());
                let payload = Bytes::copy_from_slice(input.bytes(len));
                let mut wire = proto_core::frame::WireBuf::new();
                let head: &[u8] = if hb.is_some() { &[0] } else { &[] };
                if proto_core::message::MessageBuilder::encode_parts(
                    &mut peer, head, payload, &mut wire,
                )
                .is_ok()
                {
                    s.handle_input(&wire.to_vec(), now);
                }
            }
            2 => {
                let p = input.u8();
                let policy = match p % 3 {
                    0 => Overflow::Reject,
                    1 => Overflow::Disconnect,
                    _ => Overflow::KeepLatest(u64::from(p / 3 % 4)),
                };
                let len = usize::from(input.u8());
                let closing = s.is_closing();
                let result = s.send_with(Bytes::from(vec![p; len]), policy);
                if closing {
                    assert_eq!(
                        result,
                        Err(SendError::Closed),
                        "send accepted while closing"
                    );
                }
            }
            3 => {
                now += Duration::from_millis(u64::from(u16::from_le_bytes(input.le())));
                s.handle_timeout(now);
            }
            4 => {
                if let Some(deadline) = s.poll_timeout() {
                    now = now.max(deadline);
                    s.handle_timeout(now);
                }
            }
            5 => {
                let n = usize::from(u16::from_le_bytes(input.le()));
                let mut slices = [std::io::IoSlice::new(&[]); 16];
                let offered: Vec<u8> = {
                    let k = s.io_slices(&mut slices);
                    slices[..k].iter().flat_map(|s| s.iter().copied()).collect()
                };
                let mut chunks = Vec::new();
                s.transmit_chunks(&mut chunks);
                assert_eq!(
                    chunks.concat(),
                    offered,
                    "transmit_chunks and io_slices differ"
                );
                let offered = offered.len();
                s.handle_written(n.min(offered), now);
            }
            6 => s.close(CloseReason::Local, now),
            7 => s.abort(CloseReason::RateLimited),
            8 => {
                s.handle_eof(now);
                checker.eof = true;
            }
            9 => s.handle_io_error(std::io::ErrorKind::ConnectionReset),
            10 => {
                let pending = usize::from(u16::from_le_bytes(input.le()));
                let ended = s.is_closed() || checker.eof;
                let budget = s.read_budget(pending);
                match marks {
                    _ if ended => assert_eq!(budget, 0, "budget after close or end of stream"),
                    None => assert_eq!(budget, usize::MAX, "budget without marks"),
                    Some(m) => {
                        assert!(budget <= m.high, "budget {budget} over high {}", m.high);
                        assert_eq!(budget == 0, s.is_paused(), "budget 0 but not paused");
                    }
                }
            }
            11 => s.handle_written(0, now),
            12 => {
                let len = usize::from(input.u8());
                let closing = s.is_closing();
                let before = s.queued();
                let result = s.send_final(Bytes::from(vec![0xee; len]), CloseReason::Shutdown, now);
                match result {
                    Ok(()) => {
                        assert!(!closing, "last word accepted while closing");
                        assert!(s.is_closing(), "last word left the session open");
                        let after = s.queued();
                        if after.0 > before.0 {
                            last_word = Some(after.1 - before.1);
                        }
                    }
                    Err(SendError::Closed) => assert!(closing, "last word refused while open"),
                    Err(SendError::Frame(_)) => assert!(!s.is_closing() || closing),
                    Err(e) => panic!("last word refused: {e}"),
                }
            }
            _ => {
                let ms = input.u8();
                let deadline = (ms != 0).then(|| now + Duration::from_millis(u64::from(ms)));
                s.close_until(CloseReason::Shutdown, now, deadline);
            }
        }
        if s.queued() == (0, 0) {
            last_word = None;
        }
        let (messages, bytes) = s.queued();
        let (extra_messages, extra_bytes) = last_word.map_or((0, 0), |len| (1, len));
        assert!(
            messages <= max_messages + extra_messages,
            "{messages} messages queued, limit {max_messages}"
        );
        assert!(
            bytes <= max_bytes + extra_bytes,
            "{bytes} bytes queued, limit {max_bytes}"
        );
        if op % 16 == 3 || op % 16 == 4 {
            // Everything due at `now` fired.
            assert!(
                s.poll_timeout().is_none_or(|d| d > now),
                "a deadline at or before now survived handle_timeout"
            );
        }
        check_skips(&s, bad_frame, max_skipped);
        checker.drain(&mut s);
    }
}

/// The `on_bad_frame` rules, from the counter and the close reason.
fn check_skips(s: &S, policy: BadFramePolicy, max: u64) {
    let skipped = s.stats().frames_skipped;
    match policy {
        BadFramePolicy::Skip => assert!(skipped <= max, "{skipped} skipped, limit {max}"),
        _ => assert_eq!(skipped, 0, "a frame skipped under Close"),
    }
    // The session's codec reports only `FrameTooLarge` among the errors
    // that can be skipped: it closes the session only past the limit.
    if let Some(CloseReason::FrameTooLarge { .. }) = s.close_reason() {
        if policy == BadFramePolicy::Skip {
            assert_eq!(skipped, max, "closed for a bad frame with skips left");
        }
    }
}

/// Checks the event sequence and the closed state.
#[derive(Default)]
struct Checker {
    opened: bool,
    ended: bool,
    /// End of stream was handed in (whether or not its event was polled).
    eof: bool,
    closed: Option<CloseReason>,
}

impl Checker {
    fn drain(&mut self, s: &mut S) {
        while let Some(event) = s.poll_event() {
            match event {
                Event::Opened => {
                    assert!(!self.opened, "Opened twice");
                    self.opened = true;
                }
                Event::Message(_) => {
                    assert!(self.opened, "message before Opened");
                    assert!(!self.ended, "message after EndOfStream");
                    assert!(self.closed.is_none(), "message after Closed");
                }
                Event::EndOfStream => {
                    assert!(self.opened, "EndOfStream before Opened");
                    assert!(!self.ended, "EndOfStream twice");
                    assert!(self.closed.is_none(), "EndOfStream after Closed");
                    self.ended = true;
                }
                Event::Closed(reason) => {
                    assert!(self.opened, "Closed before Opened");
                    assert!(self.closed.is_none(), "Closed twice");
                    self.closed = Some(reason);
                }
                other => panic!("an event the harness does not know: {other:?}"),
            }
        }
        assert_eq!(
            s.is_closed(),
            self.closed.is_some(),
            "closed state and events disagree"
        );
        if let Some(reason) = &self.closed {
            assert_eq!(s.close_reason(), Some(reason), "close reason changed");
            assert_eq!(s.poll_timeout(), None, "a closed session has a deadline");
            assert!(!s.wants_write(), "a closed session wants to write");
            assert_eq!(s.queued(), (0, 0), "a closed session keeps a queue");
        }
    }
}
