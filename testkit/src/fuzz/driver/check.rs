//! What the driver harness checks: each session's event order, and the
//! bytes each transport received.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};

use proto_core::driver::Handler;
use proto_core::frame::LengthField;
use proto_core::hub::{Hub, SessionHandle};

use crate::mock::lock;
use proto_core::message::{MessageFactory, MessageResolver};
use proto_core::session::{CloseReason, SessionStats};

/// What a handler saw, shared with the harness.
#[derive(Debug, Default)]
pub(super) struct HandlerLog {
    pub(super) events: Vec<Ev>,
}

/// A session event, in short.
#[derive(Debug, Clone)]
pub(super) enum Ev {
    Opened,
    Message,
    EndOfStream,
    Closed(CloseReason, SessionStats),
}

/// Payloads sent by anyone: a counter for fresh ones, and which sessions
/// accepted which (`(session index, seq)`).
#[derive(Debug, Default)]
pub(super) struct Sent {
    next: AtomicU32,
    pub(super) accepted: Mutex<HashSet<(usize, u32)>>,
}

impl Sent {
    /// A fresh payload: its sequence number, then `len` filler bytes.
    pub(super) fn payload(&self, len: usize) -> (u32, Bytes) {
        let seq = self.next.fetch_add(1, Ordering::Relaxed);
        let mut p = seq.to_le_bytes().to_vec();
        p.resize(4 + len, seq as u8);
        (seq, Bytes::from(p))
    }

    pub(super) fn accept(&self, index: usize, seq: u32) {
        lock(&self.accepted).insert((index, seq));
    }
}

/// A handler that records its calls and answers each message.
pub(super) struct Recorder {
    pub(super) index: usize,
    pub(super) log: Arc<Mutex<HandlerLog>>,
    pub(super) sent: Arc<Sent>,
    pub(super) hub: Hub<LengthField>,
}

impl Recorder {
    fn record(&self, ev: Ev) {
        lock(&self.log).events.push(ev);
    }
}

impl Handler for Recorder {
    fn on_open(&mut self, _session: &SessionHandle) {
        self.record(Ev::Opened);
    }

    fn on_message(&mut self, session: &SessionHandle, _payload: Bytes) {
        self.record(Ev::Message);
        let (seq, payload) = self.sent.payload(1);
        if session.send(payload).is_ok() {
            self.sent.accept(self.index, seq);
        }
    }

    fn on_end_of_stream(&mut self, session: &SessionHandle) {
        self.record(Ev::EndOfStream);
        session.close();
    }

    fn on_close(&mut self, session: &SessionHandle, reason: &CloseReason, stats: &SessionStats) {
        assert!(
            self.hub.get(session.id()).is_none(),
            "on_close while the hub lists the session"
        );
        self.record(Ev::Closed(reason.clone(), *stats));
    }
}

/// The bytes a transport received are frames of accepted payloads,
/// each at most once, and control frames; a torn last frame only if
/// `may_tear`.
pub(super) fn check_wire(
    codec: &LengthField,
    heartbeat: bool,
    index: usize,
    wire: &[u8],
    may_tear: bool,
    sent: &HashSet<(usize, u32)>,
) {
    let mut resolver = codec.new_resolver();
    let mut buf = BytesMut::from(wire);
    let mut seen = HashSet::new();
    while let Some(frame) = resolver.decode(&mut buf).expect("written bytes decode") {
        let payload = match (heartbeat, frame.first()) {
            (true, Some(0)) => frame.slice(1..),
            (true, Some(1 | 2)) if frame.len() == 1 => continue,
            (true, _) => panic!("written frame with a bad kind: {frame:?}"),
            (false, _) => frame,
        };
        let seq = payload
            .get(..4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .expect("a written payload holds its sequence number");
        assert!(
            sent.contains(&(index, seq)),
            "wrote payload {seq} never sent"
        );
        assert!(seen.insert(seq), "wrote payload {seq} twice");
    }
    if !buf.is_empty() && !may_tear {
        // A control frame cut by a close timeout is not counted as a
        // dropped message.
        let control = heartbeat
            && buf.len() < 5
            && ([1, 0, 0, 0, 1].starts_with(&buf) || [1, 0, 0, 0, 2].starts_with(&buf));
        assert!(
            control,
            "torn frame of {} bytes after a clean close",
            buf.len()
        );
    }
}

/// Whether `ev` may follow `log` in one session's events.
pub(super) fn check_next(log: &[Ev], ev: &Ev) {
    let opened = matches!(log.first(), Some(Ev::Opened));
    let ended = log.iter().any(|e| matches!(e, Ev::EndOfStream));
    let closed = log.iter().any(|e| matches!(e, Ev::Closed(..)));
    match ev {
        Ev::Opened => assert!(log.is_empty(), "Opened not first: {log:?}"),
        Ev::Message => {
            assert!(opened, "Message before Opened");
            assert!(!ended, "Message after EndOfStream");
            assert!(!closed, "Message after Closed");
        }
        Ev::EndOfStream => {
            assert!(opened, "EndOfStream before Opened");
            assert!(!ended, "EndOfStream twice");
            assert!(!closed, "EndOfStream after Closed");
        }
        Ev::Closed(..) => {
            assert!(opened, "Closed before Opened: {log:?}");
            assert!(!closed, "Closed twice");
        }
    }
}
