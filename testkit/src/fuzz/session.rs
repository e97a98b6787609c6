//! The session harness: an arbitrary sequence of session inputs.

use std::time::{Duration, Instant};

use bytes::Bytes;

use arbitrary::Arbitrary;

use super::input::Blob;
use proto_core::frame::{LengthField, LengthFieldCodec};
use proto_core::policy::Rate;
use proto_core::session::{
    BadFramePolicy, CloseReason, Heartbeat, Overflow, RateLimit, RatePolicy, SendError, Session,
    SessionConfig, SessionEvent, WaterMarks,
};

type S = Session<LengthFieldCodec, LengthFieldCodec>;

/// Back-pressure marks: `low << scale` and `high << scale` (scale % 4).
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marks {
    /// The low mark, before scaling.
    pub low: u8,
    /// The high mark, before scaling.
    pub high: u8,
    /// The shift (% 4).
    pub scale: u8,
}

/// Heartbeats: interval and timeout, `ms + 1` each.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Beat {
    /// Interval, in ms minus 1.
    pub interval: u8,
    /// Timeout, in ms minus 1.
    pub timeout: u8,
}

impl Beat {
    /// The heartbeat.
    pub fn heartbeat(self) -> Heartbeat {
        Heartbeat {
            interval: Duration::from_millis(u64::from(self.interval) + 1),
            timeout: Duration::from_millis(u64::from(self.timeout) + 1),
        }
    }
}

/// The deadlines and the end-of-stream mode, as both the session and the
/// driver harness configure them.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Heartbeats.
    pub heartbeat: Option<Beat>,
    /// `idle_timeout` in ms / 10.
    pub idle_timeout: Option<u8>,
    /// `frame_timeout` in ms / 3.
    pub frame_timeout: Option<u8>,
    /// `close_timeout` in ms.
    pub close_timeout: u8,
    /// `half_close`.
    pub half_close: bool,
}

impl Timing {
    /// `config` with these settings.
    pub fn apply(self, config: SessionConfig) -> SessionConfig {
        let ms = |n: u8, times: u64| Duration::from_millis(u64::from(n) * times);
        config
            .heartbeat(self.heartbeat.map(Beat::heartbeat))
            .idle_timeout(self.idle_timeout.map(|n| ms(n, 10)))
            .frame_timeout(self.frame_timeout.map(|n| ms(n, 3)))
            .close_timeout(ms(self.close_timeout, 1))
            .half_close(self.half_close)
    }
}

/// The session's configuration; the codec is laster40Net's with a
/// `max_frame_length` of `64 + max_transmit`.
#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub struct SessionSetup {
    /// `max_queue_messages` (% 16).
    pub max_queue_messages: u8,
    /// A quarter of `max_queue_bytes`.
    pub max_queue_quarter: u8,
    /// Back-pressure (none: off).
    pub marks: Option<Marks>,
    /// `write_timeout` in ms / 2.
    pub write_timeout: Option<u8>,
    /// `max_transmit_bytes` minus 1.
    pub max_transmit: u8,
    /// Deadlines and end of stream.
    pub timing: Timing,
    /// [`BadFramePolicy::Skip`] with this `max_skipped_frames` (% 16);
    /// none: [`BadFramePolicy::Close`].
    pub skip_bad_frames: Option<u8>,
    /// A rate limit (none: off).
    pub rate: Option<RateSetup>,
}

/// A session's rate limit: `per_second + 1` units a second with a burst
/// of `burst + 1`, on messages or payload bytes, under `policy % 3`
/// (pause, drop, disconnect).
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateSetup {
    /// Units a second, minus 1.
    pub per_second: u8,
    /// The burst, minus 1.
    pub burst: u8,
    /// Limit payload bytes instead of messages.
    pub bytes: bool,
    /// The policy (% 3).
    pub policy: u8,
}

impl RateSetup {
    /// The rate limit.
    pub fn limit(self) -> RateLimit {
        let rate =
            Rate::per_second(u64::from(self.per_second) + 1).burst(u64::from(self.burst) + 1);
        let limit = if self.bytes {
            RateLimit::none().bytes(rate)
        } else {
            RateLimit::messages(rate)
        };
        limit.policy(match self.policy % 3 {
            0 => RatePolicy::Pause,
            1 => RatePolicy::Drop,
            _ => RatePolicy::Disconnect,
        })
    }
}

/// How a send treats a full queue.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// [`Overflow::Reject`].
    Reject,
    /// [`Overflow::Disconnect`].
    Disconnect,
    /// [`Overflow::KeepLatest`] with key `n % 4`.
    KeepLatest(u8),
}

impl Policy {
    /// The overflow policy.
    pub fn overflow(self) -> Overflow {
        match self {
            Policy::Reject => Overflow::Reject,
            Policy::Disconnect => Overflow::Disconnect,
            Policy::KeepLatest(key) => Overflow::KeepLatest(u64::from(key % 4)),
        }
    }
}

/// One input to the session.
#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub enum SessionOp {
    /// Bytes from the peer.
    PeerBytes(Blob),
    /// A whole frame from the peer.
    PeerFrame(Blob),
    /// A send of `len` bytes.
    Send {
        /// The overflow policy.
        policy: Policy,
        /// Payload length.
        len: u8,
    },
    /// Time passes (ms), then `handle_timeout`.
    Sleep(u16),
    /// Jump to the next deadline.
    NextDeadline,
    /// A write that takes up to `n` bytes (checking that `io_slices` and
    /// `transmit_chunks` offer the same bytes).
    Write(u16),
    /// Graceful close.
    Close,
    /// Abort.
    Abort,
    /// End of stream from the peer.
    Eof,
    /// An I/O error.
    IoError,
    /// The read budget with this much pending (checking it against the
    /// marks).
    ReadBudget(u16),
    /// A write that took nothing.
    WriteNothing,
    /// A last word of `len` bytes.
    LastWord(u8),
    /// Close with the caller's deadline, in ms (0: none).
    CloseUntil(u8),
}

/// The input of [`session_ops`](super::session_ops): a configuration, then
/// operations until the input ends.
///
/// Asserts: no panic; the queue within its limits (but for one last word);
/// `Opened` first and `Closed` once and last; closed stays closed, with no
/// deadline and nothing to write; sends refused once closing; every
/// deadline due fires in `handle_timeout`; the read budget 0 once closed
/// or ended, unlimited without marks, and never above the high mark; no
/// frame skipped under `Close`, never more than `max_skipped_frames` under
/// `Skip`, and a session closed for a frame too large only once the
/// skips are used up.
#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub struct SessionOps {
    /// The configuration.
    pub setup: SessionSetup,
    /// The operations.
    pub ops: Vec<SessionOp>,
}

pub(super) fn run(input: SessionOps, start: Instant) {
    let c = input.setup;
    let hb = c.timing.heartbeat;
    let max_messages = usize::from(c.max_queue_messages % 16);
    let max_bytes = usize::from(c.max_queue_quarter) * 4;
    let marks = c.marks.map(|m| WaterMarks {
        low: usize::from(m.low) << (m.scale % 4),
        high: usize::from(m.high) << (m.scale % 4),
    });
    let bad_frame = if c.skip_bad_frames.is_some() {
        BadFramePolicy::Skip
    } else {
        BadFramePolicy::Close
    };
    let max_skipped = u64::from(c.skip_bad_frames.unwrap_or(0) % 16);
    let ms = |n: u8, times: u64| Duration::from_millis(u64::from(n) * times);
    let config = c
        .timing
        .apply(SessionConfig::default())
        .backpressure(marks)
        .write_timeout(c.write_timeout.map(|n| ms(n, 2)))
        .max_queue_messages(max_messages)
        .max_queue_bytes(max_bytes)
        .max_transmit_bytes(usize::from(c.max_transmit) + 1)
        .on_bad_frame(bad_frame)
        .max_skipped_frames(max_skipped)
        .rate_limit(c.rate.map_or(RateLimit::none(), RateSetup::limit));
    let codec = LengthField::laster40net().max_frame_length(64 + usize::from(c.max_transmit));
    let mut now = start;
    let mut s = Session::new(codec.new_codec(), codec.new_codec(), config, now);
    let mut peer = codec.new_codec();
    let mut checker = Checker::default();
    // The last word, once accepted: its wire bytes may pass the limits.
    let mut last_word: Option<usize> = None;

    for op in input.ops {
        let timed = matches!(op, SessionOp::Sleep(_) | SessionOp::NextDeadline);
        match op {
            SessionOp::PeerBytes(bytes) => s.handle_input(&bytes.0, now),
            SessionOp::PeerFrame(payload) => {
                let mut wire = proto_core::frame::WireBuf::new();
                let head: &[u8] = if hb.is_some() { &[0] } else { &[] };
                if proto_core::message::MessageBuilder::encode_parts(
                    &mut peer,
                    head,
                    Bytes::from(payload.0),
                    &mut wire,
                )
                .is_ok()
                {
                    s.handle_input(&wire.to_vec(), now);
                }
            }
            SessionOp::Send { policy, len } => {
                let closing = s.is_closing();
                let result =
                    s.send_with(Bytes::from(vec![len; usize::from(len)]), policy.overflow());
                if closing {
                    assert_eq!(
                        result,
                        Err(SendError::Closed),
                        "send accepted while closing"
                    );
                }
            }
            SessionOp::Sleep(ms) => {
                now += Duration::from_millis(u64::from(ms));
                s.handle_timeout(now);
            }
            SessionOp::NextDeadline => {
                if let Some(deadline) = s.poll_timeout() {
                    now = now.max(deadline);
                    s.handle_timeout(now);
                }
            }
            SessionOp::Write(n) => {
                let n = usize::from(n);
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
            SessionOp::Close => s.close(CloseReason::Local, now),
            SessionOp::Abort => s.abort(CloseReason::RateLimited),
            SessionOp::Eof => {
                s.handle_eof(now);
                checker.eof = true;
            }
            SessionOp::IoError => s.handle_io_error(std::io::ErrorKind::ConnectionReset),
            SessionOp::ReadBudget(pending) => {
                let pending = usize::from(pending);
                let ended = s.is_closed() || checker.eof;
                let budget = s.read_budget(pending);
                let held = s.is_rate_held();
                match marks {
                    _ if ended => assert_eq!(budget, 0, "budget after close or end of stream"),
                    _ if held => assert_eq!(budget, 0, "budget while past the rate"),
                    None => assert_eq!(budget, usize::MAX, "budget without marks"),
                    Some(m) => {
                        assert!(budget <= m.high, "budget {budget} over high {}", m.high);
                        assert_eq!(budget == 0, s.is_paused(), "budget 0 but not paused");
                    }
                }
                if held {
                    // A deadline ends the hold (it may be another one, due
                    // already: the caller fires it and asks again).
                    assert!(
                        s.poll_timeout().is_some(),
                        "held with no deadline to end it"
                    );
                }
            }
            SessionOp::WriteNothing => s.handle_written(0, now),
            SessionOp::LastWord(len) => {
                let closing = s.is_closing();
                let before = s.queued();
                let result = s.send_final(
                    Bytes::from(vec![0xee; usize::from(len)]),
                    CloseReason::Shutdown,
                    now,
                );
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
            SessionOp::CloseUntil(ms) => {
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
        if timed {
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
                SessionEvent::Opened => {
                    assert!(!self.opened, "Opened twice");
                    self.opened = true;
                }
                SessionEvent::Message(_) => {
                    assert!(self.opened, "message before Opened");
                    assert!(!self.ended, "message after EndOfStream");
                    assert!(self.closed.is_none(), "message after Closed");
                }
                SessionEvent::EndOfStream => {
                    assert!(self.opened, "EndOfStream before Opened");
                    assert!(!self.ended, "EndOfStream twice");
                    assert!(self.closed.is_none(), "EndOfStream after Closed");
                    self.ended = true;
                }
                SessionEvent::Closed(reason) => {
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
