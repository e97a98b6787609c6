//! Flow control on real sockets: back-pressure from the application's
//! events and the send queue (pipelined echoes are never refused), the
//! write-stall deadline, end of stream in both `half_close` modes, the
//! shutdown's grace as its one deadline and its report, the refusal
//! message, a last word with `close_after`, and a producer paced by
//! `send_async`. Each behaviour is written once over the [`Runtime`];
//! `main.rs` runs it on every runtime.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::channel::{mpsc, oneshot};
use futures::future::join_all;
use proto_core::driver::ClientConfig;
use proto_core::frame::LengthField;
use proto_core::hub::{AdmissionConfig, Event, HubConfig, SessionHandle};
use proto_core::message::MessageFactory;
use proto_core::session::{CloseReason, SendError, SessionConfig, WaterMarks};
use socket2::{Domain, Socket, Type};

use crate::harness::{
    EchoServer, Rng, Runtime, Served, TestHub, WAIT, blocking, eventually, expect_opened, local,
    next_event, numbered, within,
};
use crate::peers::{RawOptions, RawPeer};

/// The default back-pressure high water mark (`SessionConfig::default`).
const HIGH: usize = 64 * 1024;
/// Wire bytes of a laster40Net frame's header.
const HEADER: usize = 4;

fn hub_with(session: SessionConfig) -> HubConfig {
    HubConfig::default().session(session)
}

/// `len` bytes whose content depends on `n` (any `len`, 0 included).
fn content(n: u32, len: usize) -> Bytes {
    numbered(n, len.max(4)).slice(..len)
}

/// A raw peer on a blocking thread.
async fn raw<R: Runtime>(addr: SocketAddr, recv_buffer: Option<usize>) -> RawPeer {
    blocking(move || {
        RawPeer::connect(
            addr,
            RawOptions {
                recv_buffer,
                ..RawOptions::default()
            },
        )
    })
    .await
}

/// A second handle on `peer`'s socket, for a writer thread.
fn writer_of(peer: &RawPeer) -> RawPeer {
    RawPeer {
        stream: peer.stream.try_clone().expect("clone the socket"),
    }
}

/// Waits until the send queue behind `handle` stops draining (the peer's
/// socket buffers are full: no change for 250 ms); returns the messages
/// left queued, which must be some.
async fn queue_stuck<R: Runtime>(handle: &SessionHandle) -> usize {
    let mut last = handle.queued();
    let mut still = 0;
    while still < 5 {
        R::sleep(Duration::from_millis(50)).await;
        let now = handle.queued();
        still = if now == last { still + 1 } else { 0 };
        last = now;
    }
    assert!(last.0 > 0, "the socket buffers took everything");
    last.0
}

// ----- 1. pipelining -----

/// Frames of the pipelined echo, and the codec's (and their) largest size.
const PIPELINED: u32 = 5_000;
const PIPELINED_MAX: usize = 16 * 1024;

/// Frame `n` of the pipelined echo: random sizes 0..=16 KiB from `rng`,
/// and every 500th exactly 16 KiB (the codec's maximum).
fn pipelined_frame(rng: &mut Rng, n: u32) -> Bytes {
    if n % 500 == 7 {
        content(n, PIPELINED_MAX)
    } else {
        rng.payload(PIPELINED_MAX)
    }
}

/// An echo server on the event stream (`max_frame_length` 16 KiB, default
/// limits) and a raw client that writes 5,000 frames (0..=16 KiB, ten of
/// exactly 16,384 bytes) without waiting for replies, while its reader
/// starts slowly: back-pressure stops the server reading instead of its
/// queue overflowing, so every echo arrives in order, none is refused, and
/// the queue never holds more than high water + one frame.
pub(crate) async fn pipelined_echo_loses_nothing<R: Runtime>() {
    const SEED: u64 = 0x5eed;
    let codec = LengthField::laster40net().max_frame_length(PIPELINED_MAX);
    let server = EchoServer::start::<R>(local(), codec, HubConfig::default(), true).await;
    let peer = raw::<R>(server.addr, None).await;
    let mut writer = writer_of(&peer);
    let wrote = blocking(move || {
        let mut rng = Rng::new(SEED);
        for n in 0..PIPELINED {
            writer.send(&pipelined_frame(&mut rng, n));
        }
        writer.shutdown_write();
    });
    let read = blocking(move || {
        let mut reader = peer;
        let mut rng = Rng::new(SEED);
        for n in 0..PIPELINED {
            // Slow at first: the server must stop reading, not refuse.
            if n < 2_000 && n % 250 == 0 {
                std::thread::sleep(Duration::from_millis(25));
            }
            let expected = pipelined_frame(&mut rng, n);
            match reader.recv() {
                Ok(Some(got)) if got == expected => {}
                Ok(Some(got)) => {
                    return Err(format!(
                        "echo {n}: {} bytes differ from the {} sent",
                        got.len(),
                        expected.len()
                    ));
                }
                other => return Err(format!("echo {n} lost: {other:?}")),
            }
        }
        match reader.recv() {
            Ok(None) => Ok(()),
            other => Err(format!("after the last echo: {other:?}")),
        }
    });
    let (read, ()) = futures::join!(read, wrote);
    read.unwrap_or_else(|err| panic!("{err}"));
    eventually::<R>("the session to close", || server.hub.is_empty()).await;
    server.assert_no_failures();
    let stats = server.hub.stats();
    assert_eq!(stats.messages_in, u64::from(PIPELINED), "{stats:?}");
    assert_eq!(stats.messages_out, u64::from(PIPELINED), "{stats:?}");
    assert_eq!(stats.sends_rejected, 0, "{stats:?}");
    assert_eq!(stats.sends_refused_closed, 0, "{stats:?}");
    assert!(
        stats.queue_high_water_bytes <= HIGH + HEADER + PIPELINED_MAX,
        "queue reached {} bytes, over high water + one frame",
        stats.queue_high_water_bytes
    );
}

// ----- 2. maximum frames -----

/// The default codec's (laster40Net) largest payload.
const MAX_PAYLOAD: usize = 1_048_576;

/// Default codec and limits: 12 pipelined frames, four of exactly the
/// codec's maximum payload (1,048,576 bytes) and two of one less, are all
/// echoed; a frame announced one byte over closes its session with
/// `FrameTooLarge`.
pub(crate) async fn echo_of_maximum_frames_with_default_limits<R: Runtime>() {
    let codec = LengthField::laster40net();
    assert_eq!(codec.max_frame_wire_len(), Some(HEADER + MAX_PAYLOAD));
    let mut server = EchoServer::start::<R>(local(), codec, HubConfig::default(), true).await;
    let sizes = [
        MAX_PAYLOAD,
        MAX_PAYLOAD - 1,
        0,
        1,
        MAX_PAYLOAD,
        65_536,
        MAX_PAYLOAD - 1,
        12_345,
        MAX_PAYLOAD,
        7,
        HIGH + 1,
        MAX_PAYLOAD,
    ];
    let frames: Vec<Bytes> = (0u32..)
        .zip(sizes)
        .map(|(n, len)| content(n, len))
        .collect();
    let peer = raw::<R>(server.addr, None).await;
    let mut writer = writer_of(&peer);
    let sent = frames.clone();
    let wrote = blocking(move || {
        for frame in &sent {
            writer.send(frame);
        }
        writer.shutdown_write();
    });
    let read = blocking(move || {
        let mut reader = peer;
        let mut got = Vec::new();
        while let Some(frame) = reader.recv().expect("read an echo") {
            got.push(Bytes::from(frame));
        }
        got
    });
    let (got, ()) = futures::join!(read, wrote);
    assert_eq!(got.len(), frames.len(), "echoes before end of stream");
    for (n, (got, sent)) in got.iter().zip(&frames).enumerate() {
        assert!(got == sent, "echo {n} ({} bytes) differs", sent.len());
    }
    server.next_closed::<R>().await;

    // One byte over: refused from the header, before its body is buffered.
    let addr = server.addr;
    let _over = blocking(move || {
        let mut peer = RawPeer::connect(addr, RawOptions::default());
        let over = u32::try_from(MAX_PAYLOAD + 1).expect("fits");
        peer.stream
            .write_all(&over.to_le_bytes())
            .expect("write the header");
        peer
    })
    .await;
    let closed = server.next_closed::<R>().await;
    assert_eq!(
        closed.reason,
        CloseReason::FrameTooLarge {
            length: MAX_PAYLOAD as u64 + 1,
            max: MAX_PAYLOAD
        }
    );
    server.assert_no_failures();
    let stats = server.hub.stats();
    assert_eq!(stats.messages_out, frames.len() as u64, "{stats:?}");
    assert_eq!(stats.sends_rejected, 0, "{stats:?}");
}

// ----- 3. write stall -----

/// Clients that send and never read.
const HOSTILE: usize = 500;

/// Peak and current resident set size (`VmHWM`, `VmRSS`) in KiB.
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// Raises the open-file soft limit to what `HOSTILE` connections (both
/// ends in this process) need.
fn enough_files() {
    let want = 4 * HOSTILE as u64 + 1024;
    if let Ok((soft, hard)) = rlimit::Resource::NOFILE.get() {
        if soft < want {
            let _ = rlimit::Resource::NOFILE.set(want.min(hard), hard);
        }
    }
}

/// A non-blocking socket with small buffers, connected to `addr`.
fn hostile_socket(addr: SocketAddr) -> TcpStream {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    socket.set_send_buffer_size(4096).expect("SO_SNDBUF");
    socket
        .connect_timeout(&addr.into(), Duration::from_secs(5))
        .expect("connect");
    let stream: TcpStream = socket.into();
    stream.set_nonblocking(true).expect("non-blocking");
    stream
}

/// Writes whole 1 KiB frames to every stream, without ever reading, until
/// `stop`; a stream that fails (the server reset it) is dropped. Returns
/// how many failed.
fn flood(streams: Vec<TcpStream>, stop: &AtomicBool) -> usize {
    let chunk: Vec<u8> = (0..64u32)
        .flat_map(|n| {
            let payload = numbered(n, 1020);
            let mut frame = (payload.len() as u32).to_le_bytes().to_vec();
            frame.extend_from_slice(&payload);
            frame
        })
        .collect();
    let mut live: Vec<(TcpStream, usize)> = streams.into_iter().map(|s| (s, 0)).collect();
    let mut failed = 0;
    while !stop.load(Ordering::Relaxed) {
        let mut progressed = false;
        live.retain_mut(|(stream, at)| match stream.write(&chunk[*at..]) {
            Ok(0) => {
                failed += 1;
                false
            }
            Ok(n) => {
                *at = (*at + n) % chunk.len();
                progressed = true;
                true
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => true,
            Err(_) => {
                failed += 1;
                false
            }
        });
        if !progressed {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    failed
}

/// `write_timeout` 1 s, an echo server: 500 clients send without pause
/// and never read. Each one's session stops reading at high water, its
/// socket takes nothing for a second, and it closes with `SlowConsumer`;
/// meanwhile a legitimate client's round trips keep succeeding. Prints the
/// legitimate client's p99 round trip and the peak RSS before and after
/// (shared with the tests running alongside, so only a generous bound is
/// asserted); the hub is left with the legitimate session only.
pub(crate) async fn never_reading_clients_are_closed_by_write_stall<R: Runtime>() {
    enough_files();
    let (hwm_before, rss_before) = memory_kib();
    let config = hub_with(SessionConfig::default().write_timeout(Some(Duration::from_secs(1))));
    let mut server =
        EchoServer::start::<R>(local(), LengthField::laster40net(), config, true).await;
    let addr = server.addr;
    let mut legit = R::connect(addr, LengthField::laster40net(), ClientConfig::default())
        .await
        .expect("connect the legitimate client");
    let legit_handle = expect_opened::<R>(&mut legit.events).await;
    let legit_id = server.next_opened::<R>().await.id();

    let stop = Arc::new(AtomicBool::new(false));
    let mut floods = Vec::new();
    for _ in 0..2 {
        let streams =
            blocking(move || (0..HOSTILE / 2).map(|_| hostile_socket(addr)).collect()).await;
        let stop = stop.clone();
        // A thread started now (a `blocking` future would start only when
        // awaited).
        floods.push(std::thread::spawn(move || flood(streams, &stop)));
    }
    for _ in 0..HOSTILE {
        server.next_opened::<R>().await;
    }

    let started = Instant::now();
    let mut round_trips = Vec::new();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut closed = 0;
    let mut n = 0u32;
    while closed < HOSTILE {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{closed} of {HOSTILE} hostile sessions closed after 20 s: {reasons:?}"
        );
        let payload = numbered(n, 64);
        let sent_at = Instant::now();
        legit_handle.send(payload.clone()).expect("legitimate send");
        match next_event::<R>(&mut legit.events, "the legitimate echo").await {
            Event::Message { payload: echo, .. } => assert_eq!(echo, payload, "echo {n}"),
            other => panic!("legitimate client: {other:?} instead of echo {n}"),
        }
        round_trips.push(sent_at.elapsed());
        n += 1;
        while let Ok(session) = server.closed.try_recv() {
            assert_ne!(session.id, legit_id, "the legitimate session closed");
            *reasons.entry(session.reason.to_string()).or_default() += 1;
            closed += 1;
        }
        R::sleep(Duration::from_millis(5)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let failed: usize = blocking(move || {
        floods
            .into_iter()
            .map(|f| f.join().expect("flood thread"))
            .sum()
    })
    .await;
    let (hwm_after, rss_after) = memory_kib();

    round_trips.sort_unstable();
    let p99 = round_trips[(round_trips.len() * 99 / 100).min(round_trips.len() - 1)];
    eprintln!(
        "write stall, {HOSTILE} never-reading clients: {} legitimate round trips, p99 {p99:?}, \
         max {:?}; all closed after {:?} ({failed} saw the reset); VmHWM {hwm_before} -> {hwm_after} KiB, \
         VmRSS {rss_before} -> {rss_after} KiB",
        round_trips.len(),
        round_trips[round_trips.len() - 1],
        started.elapsed()
    );
    let stats = server.hub.stats();
    eprintln!(
        "write stall: the server read {} KiB and wrote {} KiB per session on average",
        stats.bytes_in / 1024 / (HOSTILE as u64 + 1),
        stats.bytes_out / 1024 / (HOSTILE as u64 + 1)
    );
    let slow = CloseReason::SlowConsumer.to_string();
    assert_eq!(reasons.get(&slow), Some(&HOSTILE), "{reasons:?}");
    assert!(
        hwm_after.saturating_sub(hwm_before) < 512 * 1024,
        "peak RSS grew from {hwm_before} to {hwm_after} KiB"
    );
    assert_eq!(server.hub.sessions(), vec![legit_id]);
    assert_eq!(
        stats.closed.get("slow_consumer"),
        Some(&(HOSTILE as u64)),
        "{stats:?}"
    );
    assert_eq!(stats.sends_rejected, 0, "{stats:?}");
    legit_handle.close();
}

// ----- 4. end of stream -----

/// Clients of the half-close behaviour, and the frames each sends.
const HALF_CLOSERS: usize = 100;
const HALF_CLOSE_FRAMES: u32 = 5;

/// A server that sends "welcome" on `Opened`, echoes every message, and on
/// `EndOfStream` closes the session if `close_at_eof` (else does nothing).
/// Returns its address and a channel of `(id, reason)` for every close.
async fn welcome_echo_server<R: Runtime>(
    config: HubConfig,
    close_at_eof: bool,
) -> (
    SocketAddr,
    TestHub,
    mpsc::UnboundedReceiver<CloseReason>,
    Arc<std::sync::Mutex<Vec<String>>>,
) {
    let Served {
        addr,
        hub,
        mut events,
    } = R::serve(local(), LengthField::laster40net(), config)
        .await
        .expect("bind");
    let (closed_tx, closed) = mpsc::unbounded();
    let failures = Arc::new(std::sync::Mutex::new(Vec::new()));
    let errors = failures.clone();
    let server = hub.clone();
    R::spawn(async move {
        let fail = |what: String| errors.lock().expect("failures").push(what);
        while let Some(event) = events.recv().await {
            match event {
                Event::Opened(handle) => {
                    if let Err(err) = handle.send(Bytes::from_static(b"welcome")) {
                        fail(format!("welcome to {}: {err}", handle.id()));
                    }
                }
                Event::Message { id, payload } => {
                    if let Err(err) = server.send(id, payload) {
                        fail(format!("echo on {id}: {err}"));
                    }
                }
                Event::EndOfStream { id } => {
                    if close_at_eof {
                        server.close(id, CloseReason::Local);
                    }
                }
                Event::Closed { reason, .. } => {
                    let _ = closed_tx.unbounded_send(reason);
                }
                other => fail(format!("unknown event {other:?}")),
            }
        }
    });
    (addr, hub, closed, failures)
}

/// 100 raw clients each send 5 frames and shut their side down, then read
/// to end of stream: each gets the welcome sent on `Opened` and all 5
/// echoes. With `half_close` off the sessions close themselves
/// (`RemoteClosed`) once the application is done with their events; with
/// it on, the application closes them at `EndOfStream` (`Local`).
pub(crate) async fn half_close_clients_get_every_reply<R: Runtime>(half_close: bool) {
    let config = hub_with(SessionConfig::default().half_close(half_close));
    let (addr, hub, mut closed, failures) = welcome_echo_server::<R>(config, half_close).await;
    let clients = (0..HALF_CLOSERS as u32).map(|c| {
        blocking(move || {
            let mut peer = RawPeer::connect(addr, RawOptions::default());
            for k in 0..HALF_CLOSE_FRAMES {
                peer.send(&numbered(c * HALF_CLOSE_FRAMES + k, 32));
            }
            peer.shutdown_write();
            let mut got = Vec::new();
            while let Some(frame) = peer.recv().expect("read a reply") {
                got.push(frame);
            }
            got
        })
    });
    let replies = join_all(clients).await;
    let mut complete = 0;
    for (c, got) in (0u32..).zip(&replies) {
        let mut expected = vec![b"welcome".to_vec()];
        expected.extend(
            (0..HALF_CLOSE_FRAMES).map(|k| numbered(c * HALF_CLOSE_FRAMES + k, 32).to_vec()),
        );
        if *got == expected {
            complete += 1;
        } else {
            eprintln!("client {c} got {} replies: {got:?}", got.len());
        }
    }
    assert_eq!(complete, HALF_CLOSERS, "clients with every reply");
    let reason = if half_close {
        CloseReason::Local
    } else {
        CloseReason::RemoteClosed
    };
    for _ in 0..HALF_CLOSERS {
        use futures::StreamExt;
        let got = within::<R, _>(WAIT, "a session to close", closed.next())
            .await
            .expect("server loop");
        assert_eq!(got, reason);
    }
    let failures = failures.lock().expect("failures");
    assert!(failures.is_empty(), "server failures: {failures:?}");
    assert!(hub.is_empty());
}

// ----- 5. shutdown's grace -----

/// Messages and their size queued for the shutdown behaviours: 4 MiB.
const PUSHES: u32 = 1024;
const PUSH_LEN: usize = 4096;

/// A server (no echo) with `close_timeout` 100 ms and room for 8 MiB per
/// queue, a raw peer with a small receive buffer that does not read yet,
/// and 4 MiB queued for it; returns them once the socket buffers are full,
/// with the messages still queued.
async fn pushed_to_a_stuck_peer<R: Runtime>() -> (EchoServer, SessionHandle, RawPeer, usize) {
    let config = hub_with(
        SessionConfig::default()
            .close_timeout(Duration::from_millis(100))
            .max_queue_bytes(8 << 20),
    );
    let mut server =
        EchoServer::start::<R>(local(), LengthField::laster40net(), config, false).await;
    let peer = raw::<R>(server.addr, Some(4096)).await;
    let handle = server.next_opened::<R>().await;
    for n in 0..PUSHES {
        handle.send(numbered(n, PUSH_LEN)).expect("queue a push");
    }
    let queued = queue_stuck::<R>(&handle).await;
    (server, handle, peer, queued)
}

/// `close_timeout` 100 ms does not cut a shutdown short: with a grace of
/// 10 s, a peer that reads 4 MiB of pushes slowly over about a second gets
/// every one (the report counts all that was queued as flushed, none
/// dropped); with a grace of 300 ms and a peer that never reads, the
/// shutdown returns after the grace, not at the close timeout, and
/// reports everything queued as dropped.
pub(crate) async fn shutdown_grace_is_the_one_deadline<R: Runtime>() {
    // A slow reader and a long grace: everything is delivered.
    let (server, handle, peer, _) = pushed_to_a_stuck_peer::<R>().await;
    let queued = handle.queued().0;
    let (report_tx, report_rx) = oneshot::channel();
    let hub = server.hub.clone();
    R::spawn(async move {
        let _ = report_tx.send(R::shutdown(hub, Duration::from_secs(10)).await);
    });
    eventually::<R>("shutdown to begin", || server.hub.is_shutting_down()).await;
    let read = blocking(move || {
        let mut peer = peer;
        let mut got = 0u32;
        while let Some(frame) = peer.recv().expect("read a push") {
            assert!(frame == numbered(got, PUSH_LEN), "push {got} differs");
            got += 1;
            if got % 64 == 0 {
                std::thread::sleep(Duration::from_millis(60));
            }
        }
        got
    })
    .await;
    assert_eq!(read, PUSHES, "pushes read before end of stream");
    let report = within::<R, _>(WAIT, "the shutdown report", report_rx)
        .await
        .expect("shutdown task");
    assert_eq!(report.sessions, 1, "{report:?}");
    assert_eq!(report.flushed, queued as u64, "{report:?}");
    assert_eq!(report.dropped, 0, "{report:?}");
    // From the hub's counters, not the `Closed` event: the stream may end
    // before it (see `shutdown_stream_ends_after_every_closed`).
    let stats = server.hub.stats();
    assert_eq!(stats.closed.get("shutdown"), Some(&1), "{stats:?}");
    assert_eq!(stats.messages_dropped_at_close, 0, "{stats:?}");

    // A peer that never reads and a short grace: the grace ends it.
    let grace = Duration::from_millis(300);
    let (server, handle, peer, _) = pushed_to_a_stuck_peer::<R>().await;
    let queued = handle.queued().0;
    let began = Instant::now();
    let report = within::<R, _>(WAIT, "the shutdown", R::shutdown(server.hub.clone(), grace)).await;
    let took = began.elapsed();
    assert!(
        took >= grace,
        "shutdown returned after {took:?}, before its grace {grace:?}"
    );
    assert_eq!(report.sessions, 1, "{report:?}");
    // A peer whose window is closed still takes a trickle now and then
    // (seen: 45 of 340 messages within the grace, after 50 ms without
    // progress), so what was queued splits into the two, exactly; the
    // socket was full, so nearly all of it is dropped.
    assert_eq!(report.flushed + report.dropped, queued as u64, "{report:?}");
    assert!(report.dropped * 2 > queued as u64, "{report:?}");
    if report.flushed > 0 {
        eprintln!(
            "shutdown grace: the full socket took {} more",
            report.flushed
        );
    }
    let stats = server.hub.stats();
    assert_eq!(stats.closed.get("shutdown"), Some(&1), "{stats:?}");
    assert_eq!(stats.messages_dropped_at_close, report.dropped, "{stats:?}");
    drop(peer);
}

// ----- 6. shutdown report -----

/// The application takes `Opened` and then no more events; a client sends
/// exactly 25 messages; a shutdown with a 300 ms grace reports all 25 as
/// unread (they wait in the stream), and the stream then yields them, the
/// `Closed` and its end. Sends through the closed session's handle and the
/// hub are refused, each counted once in `sends_refused_closed`.
pub(crate) async fn shutdown_report_counts_exactly<R: Runtime>() {
    const N: u64 = 25;
    let Served {
        addr,
        hub,
        mut events,
    } = R::serve(local(), LengthField::laster40net(), HubConfig::default())
        .await
        .expect("bind");
    let mut peer = raw::<R>(addr, None).await;
    // The application takes `Opened`, then no more events; only then does
    // the client send (so the messages wait in the stream, not in a batch
    // the receiver took with `Opened`).
    let handle = expect_opened::<R>(&mut events).await;
    let peer = blocking(move || {
        for n in 0..N as u32 {
            peer.send(&numbered(n, 100));
        }
        peer
    })
    .await;
    // Received, then (on the driver's next turn) put in the stream.
    eventually::<R>("every message to wait in the stream", || {
        hub.stats().messages_unread == N
    })
    .await;
    assert_eq!(hub.stats().messages_in, N);

    let report = within::<R, _>(
        WAIT,
        "the shutdown",
        R::shutdown(hub.clone(), Duration::from_millis(300)),
    )
    .await;
    assert_eq!(report.sessions, 1, "{report:?}");
    assert_eq!(
        (report.flushed, report.dropped, report.refused),
        (0, 0, 0),
        "{report:?}"
    );
    for n in 0..N as u32 {
        match next_event::<R>(&mut events, "a message left in the stream").await {
            Event::Message { payload, .. } => assert_eq!(payload, numbered(n, 100)),
            other => panic!("expected message {n}, got {other:?}"),
        }
    }
    // Then `Closed` and the end (the stream ends only once every driver
    // is gone, so the `Closed` is never cut off).
    match within::<R, _>(WAIT, "the Closed event", events.recv()).await {
        Some(Event::Closed { reason, .. }) => assert_eq!(reason, CloseReason::Shutdown),
        other => panic!("expected Closed, got {other:?}"),
    }
    let last = within::<R, _>(WAIT, "the end of the stream", events.recv()).await;
    assert!(last.is_none(), "after the shutdown's last event: {last:?}");

    let before = hub.stats().sends_refused_closed;
    for n in 0..7 {
        assert_eq!(handle.send(numbered(n, 8)), Err(SendError::Closed));
    }
    for n in 0..3 {
        assert_eq!(
            hub.send(handle.id(), numbered(n, 8)),
            Err(SendError::Closed)
        );
    }
    assert_eq!(hub.stats().sends_refused_closed, before + 10);
    assert_eq!(
        hub.shutdown_report().refused,
        10,
        "refused since shutdown began"
    );
    drop(peer);
    // Last, so that a failure here leaves the checks above run: the 25
    // messages waited in the stream when the shutdown began and when it
    // ended, and the application never took them before the report.
    assert_eq!(
        report.unread, N,
        "messages the application never took before the report: {report:?}"
    );
}

/// Sessions of the stream-end behaviour.
const DRAINED: usize = 50;

/// The documented pattern: run the shutdown on a task of its own and
/// handle events until the stream ends. With 50 sessions, each with 256
/// KiB queued for a peer that reads it to end of stream, the stream
/// yields every session's `Closed` (`Shutdown`) before it ends, not just
/// some.
pub(crate) async fn shutdown_stream_ends_after_every_closed<R: Runtime>() {
    let Served {
        addr,
        hub,
        mut events,
    } = R::serve(local(), LengthField::laster40net(), HubConfig::default())
        .await
        .expect("bind");
    let peers = blocking(move || {
        (0..DRAINED)
            .map(|_| {
                RawPeer::connect(
                    addr,
                    RawOptions {
                        recv_buffer: Some(4096),
                        ..RawOptions::default()
                    },
                )
            })
            .collect::<Vec<_>>()
    })
    .await;
    for _ in 0..DRAINED {
        let handle = expect_opened::<R>(&mut events).await;
        for n in 0..64 {
            handle.send(numbered(n, 4096)).expect("queue");
        }
    }
    let (report_tx, report_rx) = oneshot::channel();
    let shut = hub.clone();
    R::spawn(async move {
        let _ = report_tx.send(R::shutdown(shut, Duration::from_secs(5)).await);
    });
    eventually::<R>("shutdown to begin", || hub.is_shutting_down()).await;
    // Threads started now, reading while the events are handled below.
    let readers: Vec<_> = peers
        .into_iter()
        .map(|mut peer| {
            std::thread::spawn(move || {
                let mut got = 0;
                while peer.recv().expect("read").is_some() {
                    got += 1;
                }
                got
            })
        })
        .collect();
    let mut closed = 0;
    while let Some(event) = within::<R, _>(WAIT, "the end of the stream", events.recv()).await {
        match event {
            Event::Closed { reason, .. } => {
                assert_eq!(reason, CloseReason::Shutdown);
                closed += 1;
            }
            other => panic!("during the shutdown: {other:?}"),
        }
    }
    let report = within::<R, _>(WAIT, "the shutdown report", report_rx)
        .await
        .expect("shutdown task");
    let read: Vec<i32> = blocking(move || {
        readers
            .into_iter()
            .map(|r| r.join().expect("reader"))
            .collect()
    })
    .await;
    assert!(read.iter().all(|&n| n == 64), "{read:?}");
    assert_eq!(report.sessions, DRAINED, "{report:?}");
    assert_eq!(report.dropped, 0, "{report:?}");
    assert_eq!(hub.stats().closed.get("shutdown"), Some(&(DRAINED as u64)));
    assert_eq!(
        closed, DRAINED,
        "Closed events before the stream ended (the hub closed all {DRAINED})"
    );
}

// ----- 7. refusal message -----

/// `max_sessions` 1 and a refusal message: the session at the limit
/// works; the connection over it reads exactly the framed "server full",
/// then end of stream, and is counted once as `too_many_sessions`; once
/// the first leaves, a new connection is admitted.
pub(crate) async fn refused_connection_gets_the_refusal_message<R: Runtime>() {
    let config = HubConfig::default()
        .admission(AdmissionConfig::default().max_sessions(1))
        .refusal_message(Some(Bytes::from_static(b"server full")));
    let mut server =
        EchoServer::start::<R>(local(), LengthField::laster40net(), config, true).await;
    let addr = server.addr;
    let at_limit = blocking(move || {
        let mut peer = RawPeer::connect(addr, RawOptions::default());
        peer.send(b"at the limit");
        assert_eq!(
            peer.recv().expect("read").as_deref(),
            Some(&b"at the limit"[..])
        );
        peer
    })
    .await;
    server.next_opened::<R>().await;
    let refused = blocking(move || {
        let mut peer = RawPeer::connect(addr, RawOptions::default());
        let first = peer.recv().expect("read the refusal");
        let then = peer.recv().expect("read end of stream");
        (first, then)
    })
    .await;
    assert_eq!(refused.0.as_deref(), Some(&b"server full"[..]));
    assert_eq!(refused.1, None, "end of stream after the refusal");
    let stats = server.hub.stats();
    assert_eq!(
        stats.rejected.get("too_many_sessions"),
        Some(&1),
        "{stats:?}"
    );
    assert_eq!((stats.accepted, stats.live), (1, 1), "{stats:?}");

    drop(at_limit);
    server.next_closed::<R>().await;
    let echo = blocking(move || {
        let mut peer = RawPeer::connect(addr, RawOptions::default());
        peer.send(b"admitted again");
        peer.recv().expect("read")
    })
    .await;
    assert_eq!(echo.as_deref(), Some(&b"admitted again"[..]));
    assert_eq!(
        server.hub.stats().rejected.get("too_many_sessions"),
        Some(&1)
    );
    server.assert_no_failures();
}

// ----- 8. close_after -----

/// `close_after("bye")` on `Opened`: the peer reads "bye", then end of
/// stream. And with the send queue at its limit (a peer that does not read
/// yet, sends refused with `QueueFull`): the last word is still queued, and
/// the peer reads every message queued before it, then "bye", then end of
/// stream.
pub(crate) async fn close_after_sends_a_last_word<R: Runtime>() {
    let bye = Bytes::from_static(b"bye");
    let mut server = EchoServer::start::<R>(
        local(),
        LengthField::laster40net(),
        HubConfig::default(),
        false,
    )
    .await;
    let peer = raw::<R>(server.addr, None).await;
    let handle = server.next_opened::<R>().await;
    handle
        .close_after(bye.clone(), CloseReason::Local)
        .expect("close_after");
    let got = blocking(move || {
        let mut peer = peer;
        (peer.recv().expect("read"), peer.recv().expect("read"))
    })
    .await;
    assert_eq!(got, (Some(b"bye".to_vec()), None));
    assert_eq!(server.next_closed::<R>().await.reason, CloseReason::Local);

    // The queue at its limit: 16 KiB, frames up to 1 KiB, high water 8 KiB.
    let config = hub_with(
        SessionConfig::default()
            .backpressure(Some(WaterMarks {
                low: 4 * 1024,
                high: 8 * 1024,
            }))
            .max_queue_bytes(16 * 1024),
    );
    let codec = LengthField::laster40net().max_frame_length(1024);
    let mut server = EchoServer::start::<R>(local(), codec, config, false).await;
    let peer = raw::<R>(server.addr, Some(4096)).await;
    let handle = server.next_opened::<R>().await;
    let mut sent = 0u32;
    let mut full_at = None;
    // Fill until refused, until the socket buffers take no more.
    loop {
        match handle.send(numbered(sent, 1000)) {
            Ok(()) => sent += 1,
            Err(SendError::QueueFull { .. }) => {
                let now = handle.queued();
                if full_at == Some(now) {
                    break;
                }
                full_at = Some(now);
                R::sleep(Duration::from_millis(50)).await;
            }
            Err(err) => panic!("filling the queue: {err}"),
        }
        assert!(sent < 100_000, "100 MB queued to a peer that does not read");
    }
    // A window that is closed still takes a trickle now and then: top the
    // queue up to its limit once more, and say the last word at once.
    loop {
        match handle.send(numbered(sent, 1000)) {
            Ok(()) => sent += 1,
            Err(SendError::QueueFull { .. }) => break,
            Err(err) => panic!("filling the queue: {err}"),
        }
    }
    handle
        .close_after(bye, CloseReason::Local)
        .expect("a last word on a full queue");
    let got = blocking(move || {
        let mut peer = peer;
        let mut got = Vec::new();
        while let Some(frame) = peer.recv().expect("read") {
            got.push(frame);
        }
        got
    })
    .await;
    assert_eq!(got.len(), sent as usize + 1, "messages then the last word");
    for (n, frame) in (0u32..).zip(&got[..sent as usize]) {
        assert!(*frame == numbered(n, 1000), "message {n} differs");
    }
    assert_eq!(got.last().map(Vec::as_slice), Some(&b"bye"[..]));
    let closed = server.next_closed::<R>().await;
    assert_eq!(closed.reason, CloseReason::Local);
    assert_eq!(closed.stats.messages_out, u64::from(sent) + 1);
    assert_eq!(closed.stats.messages_dropped_at_close, 0);
}

// ----- 9. send_async -----

/// The server pushes 8 MiB as 512 payloads of 16 KiB with `send_async` to
/// a raw peer that reads slowly (about a second in all): no send fails,
/// every byte arrives in order, and the session's queue never held more
/// than high water + one frame.
pub(crate) async fn send_async_paces_a_producer<R: Runtime>() {
    const PUSHES: u32 = 512;
    const LEN: usize = 16 * 1024;
    let mut server = EchoServer::start::<R>(
        local(),
        LengthField::laster40net(),
        HubConfig::default(),
        false,
    )
    .await;
    let peer = raw::<R>(server.addr, Some(16 * 1024)).await;
    let handle = server.next_opened::<R>().await;
    let (done_tx, done_rx) = oneshot::channel();
    let producer = handle.clone();
    R::spawn(async move {
        let mut result = Ok(());
        for n in 0..PUSHES {
            if let Err(err) = producer.send_async(numbered(n, LEN)).await {
                result = Err(format!("send_async {n}: {err}"));
                break;
            }
        }
        producer.close();
        let _ = done_tx.send(result);
    });
    let read = blocking(move || {
        let mut peer = peer;
        let mut got = 0u32;
        while let Some(frame) = peer.recv().expect("read a push") {
            assert!(frame == numbered(got, LEN), "push {got} differs");
            got += 1;
            if got % 8 == 0 {
                std::thread::sleep(Duration::from_millis(15));
            }
        }
        got
    })
    .await;
    within::<R, _>(WAIT, "the producer", done_rx)
        .await
        .expect("producer task")
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(read, PUSHES, "pushes read before end of stream");
    let closed = server.next_closed::<R>().await;
    assert_eq!(closed.reason, CloseReason::Local);
    assert_eq!(closed.stats.messages_out, u64::from(PUSHES));
    assert_eq!(closed.stats.sends_rejected, 0);
    assert!(
        closed.stats.queue_high_water_bytes <= HIGH + HEADER + LEN,
        "queue reached {} bytes, over high water + one frame",
        closed.stats.queue_high_water_bytes
    );
    assert_eq!(
        server.hub.stats().queue_high_water_bytes,
        closed.stats.queue_high_water_bytes
    );
}

// ----- 10. both ends of our own -----

/// Our client pipelines 2,000 messages of 60 KB (120 MB, far more than the
/// kernels' buffers hold) to our echo server, both with default settings,
/// sending with `send_async` on one task while the application reads the
/// echoes on another: every echo arrives. (A client that paused its reads
/// while its own send queue was full would deadlock with a server that
/// pauses its reads while its replies wait: the client adapters' default
/// `backpressure_counts_sends(false)` is what keeps the client reading.)
pub(crate) async fn our_client_pipelining_large_messages_gets_every_echo<R: Runtime>() {
    const N: u32 = 2000;
    const LEN: usize = 60_000;
    let server = EchoServer::start::<R>(
        local(),
        LengthField::laster40net(),
        HubConfig::default(),
        true,
    )
    .await;
    let mut client = R::connect(
        server.addr,
        LengthField::laster40net(),
        ClientConfig::default(),
    )
    .await
    .expect("connect");
    let handle = expect_opened::<R>(&mut client.events).await;
    let (done_tx, done_rx) = oneshot::channel();
    R::spawn(async move {
        let mut result = Ok(());
        for n in 0..N {
            if let Err(err) = handle.send_async(numbered(n, LEN)).await {
                result = Err(format!("send {n}: {err}"));
                break;
            }
        }
        let _ = done_tx.send(result);
    });
    for n in 0..N {
        match next_event::<R>(&mut client.events, "an echo").await {
            Event::Message { payload, .. } => assert_eq!(payload, numbered(n, LEN), "echo {n}"),
            other => panic!("expected echo {n}, got {other:?}"),
        }
    }
    within::<R, _>(WAIT, "the sender", done_rx)
        .await
        .expect("sender task")
        .expect("every send taken");
    server.assert_no_failures();
    assert_eq!(server.hub.stats().sends_rejected, 0);
}
