//! The typed input of the driver harness, read from fuzz bytes by
//! `#[derive(Arbitrary)]`.

use arbitrary::Arbitrary;

use crate::fuzz::input::Blob;
use crate::fuzz::session::{Policy, Timing};

/// The hub's configuration; the codec is laster40Net's with a
/// `max_frame_length` of `64 + max_transmit`. Only valid configurations
/// are built (`Hub::new` refuses the others): the queue holds the high
/// water mark plus the largest frame.
#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub struct DriverSetup {
    /// `max_queue_messages` (% 8).
    pub max_queue_messages: u8,
    /// The high water mark is `2 * queue + 1`; the queue holds it, the
    /// largest frame and `2 * queue` more bytes.
    pub queue: u8,
    /// `max_transmit_bytes` minus 1.
    pub max_transmit: u8,
    /// Back-pressure (low mark half the high one).
    pub backpressure: bool,
    /// `write_timeout` in ms / 7.
    pub write_timeout: Option<u8>,
    /// Deadlines and end of stream.
    pub timing: Timing,
    /// `max_sessions` (% 4 + 1).
    pub max_sessions: u8,
    /// `max_sessions_per_ip`: none, 1 or 2 (% 3).
    pub per_ip: u8,
    /// `event_capacity` (% 4 + 1).
    pub event_capacity: u8,
    /// A small memory budget, `4096 * (n % 8 + 1)` bytes; none: the
    /// default.
    pub memory_budget: Option<u8>,
    /// [`BudgetPolicy::Disconnect`](proto_core::hub::BudgetPolicy::Disconnect) (else `Refuse`).
    pub budget_disconnect: bool,
}

/// How a session is opened.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFlags {
    /// A handler instead of the event stream.
    pub handler: bool,
    /// The peer's IP is `10.0.0.<ip % 4>`.
    pub ip: u8,
    /// Drop the admission unopened.
    pub unopened: bool,
    /// Open, but do not drive yet.
    pub held: bool,
}

/// How a transport takes writes.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writes {
    /// In full.
    All,
    /// At most `n + 1` bytes per write.
    Partial(u8),
    /// `Pending`.
    Refuse,
    /// An error.
    Fail,
    /// `Ok(0)`.
    Zero,
}

/// How the application sends through a handle.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandleSend {
    /// `send`, under the configured policy.
    Configured,
    /// `send_with` this policy.
    With(Policy),
}

/// Who a broadcast goes to.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Every session.
    Everyone,
    /// Group `b` (else `a`).
    Group(bool),
    /// One session (`s`).
    One(u8),
}

/// How a session is closed.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseHow {
    /// `handle.close()`.
    HandleClose,
    /// `handle.abort(RateLimited)`.
    HandleAbort,
    /// `hub.close(id, Local)`.
    HubClose,
    /// `handle.close_with(Shutdown)`.
    CloseShutdown,
    /// `close_after` a last word of `n` bytes.
    LastWord(u8),
}

/// One operation; `s` picks a session, modulo those opened.
#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub enum DriverOp {
    /// Admit and open a session.
    Open(OpenFlags),
    /// The peer sends a frame (a ping when heartbeats are on and `ping`;
    /// at most 127 bytes).
    PeerFrame {
        /// The session.
        s: u8,
        /// A ping, not a message.
        ping: bool,
        /// The payload.
        body: Blob,
    },
    /// The peer sends raw bytes.
    PeerBytes {
        /// The session.
        s: u8,
        /// The bytes.
        bytes: Blob,
    },
    /// The peer ends its stream.
    PeerEof(u8),
    /// The next read fails.
    ReadError(u8),
    /// How the transport takes writes.
    WriteMode {
        /// The session.
        s: u8,
        /// The mode.
        mode: Writes,
    },
    /// Time passes, in ms (0: to the earliest armed deadline).
    Time(u16),
    /// A send through the handle.
    SendHandle {
        /// The session.
        s: u8,
        /// How.
        how: HandleSend,
        /// Payload length.
        len: u8,
    },
    /// A send through the hub.
    SendHub {
        /// The session.
        s: u8,
        /// Payload length.
        len: u8,
    },
    /// A broadcast.
    Broadcast {
        /// To whom.
        to: Target,
        /// Payload length.
        len: u8,
    },
    /// Join or leave a group.
    Group {
        /// The session.
        s: u8,
        /// Group `b` (else `a`).
        b: bool,
        /// Leave (else join).
        leave: bool,
    },
    /// Close a session.
    Close {
        /// The session.
        s: u8,
        /// How.
        how: CloseHow,
    },
    /// `begin_shutdown` (else `abort_all`).
    HubWide(bool),
    /// The application reads `n` events (0: all).
    ReadEvents(u8),
    /// Drop the driver mid-way, or start a held one.
    DropOrStart(u8),
    /// Poll one driver only.
    PollOne(u8),
}

/// The input of [`driver_ops`](crate::fuzz::driver_ops): a configuration, then
/// operations until the input ends.
///
/// Then every driver is started, writes are taken in full, events are
/// read, and after a few rounds `abort_all` closes what is left. Asserts:
/// no panic; per session the hub's events are `Opened` first, messages and
/// at most one `EndOfStream` before `Closed`, `Closed` exactly once and last
/// and only once the hub no longer lists the session, with the reason the
/// driver returned; a finished driver is never polled again; at the end the
/// hub is empty, drained, its census free and its counters consistent; the
/// bytes each transport received are whole frames of the sent messages
/// (each at most once), with a torn last frame only where an abort, a
/// fault, a dropped driver or a close timeout cut the stream; nothing is
/// written after the write side was shut down.
#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub struct DriverOps {
    /// The configuration.
    pub setup: DriverSetup,
    /// The operations.
    pub ops: Vec<DriverOp>,
}
