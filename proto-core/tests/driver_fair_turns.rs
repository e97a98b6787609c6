//! Fair turns: one poll of a driver reads at most 256 KiB and writes at
//! most 1 MiB, then yields (wakes itself and returns), so a peer that sends
//! or takes without pause cannot hold its thread. Exactly the allowance is
//! moved in a poll, not a byte more, and the next poll goes on.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

use bytes::Bytes;
use proto_core::driver::AdmissionExt;
use proto_core::hub::{Hub, HubConfig};
use proto_core::session::SessionConfig;
use proto_testkit::mock::{Clock, MockTimer, Op, WriteMode, addr, codec, frame, mock_io};

const READ_PER_POLL: usize = 256 * 1024;
const WRITE_PER_POLL: usize = 1024 * 1024;

/// Counts its wakes.
#[derive(Default)]
struct Wakes(AtomicUsize);

impl Wake for Wakes {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn read_in(ops: &[Op]) -> usize {
    ops.iter()
        .map(|op| match op {
            Op::Read { n, .. } => *n,
            _ => 0,
        })
        .sum()
}

fn written_in(ops: &[Op]) -> usize {
    ops.iter()
        .map(|op| match op {
            Op::Write(n) => *n,
            _ => 0,
        })
        .sum()
}

fn hub(session: SessionConfig) -> (Hub<proto_core::frame::LengthField>, proto_core::hub::Events) {
    let config = HubConfig::default().session(session);
    Hub::new(codec(), config).expect("valid config")
}

#[test]
fn one_poll_reads_exactly_its_allowance_then_yields() {
    // No back-pressure, so only the allowance limits the reads.
    let (hub, _events) = hub(SessionConfig::default().backpressure(None));
    let conn = hub
        .admit(addr(1, 1), Instant::now())
        .expect("admitted")
        .open(Instant::now());
    let (io, ctl) = mock_io();
    // 64 frames of 16 KiB: 1 MiB and change waiting in the socket.
    let wire: Vec<u8> = (0..64).flat_map(|_| frame(&[7u8; 16 * 1024])).collect();
    ctl.push(&wire);
    let mut drive = pin!(conn.drive(io, MockTimer::new(Clock::new(Instant::now()))));
    let wakes = Arc::new(Wakes::default());
    let waker = Waker::from(wakes.clone());
    let mut cx = Context::from_waker(&waker);

    assert!(drive.as_mut().poll(&mut cx).is_pending());
    assert_eq!(read_in(&ctl.ops()), READ_PER_POLL, "exactly the allowance");
    assert_eq!(wakes.0.load(Ordering::SeqCst), 1, "it yielded: woke itself");
    assert!(drive.as_mut().poll(&mut cx).is_pending());
    assert_eq!(
        read_in(&ctl.ops()),
        2 * READ_PER_POLL,
        "the next poll goes on"
    );
}

#[test]
fn one_poll_writes_exactly_its_allowance_then_yields() {
    let (hub, _events) = hub(SessionConfig::default());
    let conn = hub
        .admit(addr(1, 2), Instant::now())
        .expect("admitted")
        .open(Instant::now());
    let handle = conn.handle();
    let (io, ctl) = mock_io();
    ctl.set_write_mode(WriteMode::Partial(32 * 1024));
    // 1.5 MiB queued (the queue holds 2 MiB by default).
    for _ in 0..24 {
        handle
            .send(Bytes::from(vec![1u8; 64 * 1024 - 4]))
            .expect("queued");
    }
    let mut drive = pin!(conn.drive(io, MockTimer::new(Clock::new(Instant::now()))));
    let wakes = Arc::new(Wakes::default());
    let waker = Waker::from(wakes.clone());
    let mut cx = Context::from_waker(&waker);

    assert!(drive.as_mut().poll(&mut cx).is_pending());
    assert_eq!(
        written_in(&ctl.ops()),
        WRITE_PER_POLL,
        "exactly the allowance"
    );
    assert!(
        wakes.0.load(Ordering::SeqCst) >= 1,
        "it yielded: woke itself"
    );
    assert!(matches!(drive.as_mut().poll(&mut cx), Poll::Pending));
    assert_eq!(
        written_in(&ctl.ops()),
        24 * 64 * 1024,
        "the next poll writes the rest"
    );
}
