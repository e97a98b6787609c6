//! The write-stall deadline against clients that never read.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use proto_core::driver::ClientConfig;
use proto_core::frame::LengthField;
use proto_core::hub::Event;
use proto_core::session::{CloseReason, SessionConfig};
use socket2::{Domain, Socket, Type};

use super::hub_with;
use crate::harness::{EchoServer, Runtime, blocking, expect_opened, local, next_event, numbered};

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
