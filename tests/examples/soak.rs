//! Soak: an echo server on each runtime in turn (tokio, smol, async-std)
//! under clients that misbehave at random for a while — connect and
//! disconnect, reset, write frames in pieces with pauses, read slowly or
//! not at all, send garbage — beside well-behaved echo clients whose every
//! reply is checked. Afterwards, on each runtime: no session left, the
//! file descriptors back to where they were, and the resident memory
//! within 10 % of its level after the warm-up.
//!
//! ```text
//! cargo run --release -p proto-tests --example soak -- --seconds 180
//! ```
//!
//! It is not part of `cargo test` (it runs for minutes); it stops by
//! itself and exits non-zero on any failure.
#![allow(clippy::print_stdout)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use proto_core::driver::{Runtime, Server, ServerConfig};
use proto_core::frame::LengthField;
use proto_core::hub::{Event, HubConfig};
use proto_core::rng::SplitMix64;
use proto_core::session::SessionConfig;

/// Seconds per runtime (default 60; at most 200, so that three runtimes
/// stay within 10 minutes).
fn seconds() -> u64 {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--seconds" {
            if let Some(n) = args.next().and_then(|n| n.parse().ok()) {
                return n;
            }
        }
    }
    60
}

fn main() -> ExitCode {
    let seconds = seconds().clamp(5, 200);
    let mut failed = false;
    for (name, run) in [
        ("tokio", soak_tokio as fn(u64) -> Result<String, String>),
        ("smol", soak_smol),
        ("async-std", soak_async_std),
    ] {
        match run(seconds) {
            Ok(summary) => println!("{name}: ok — {summary}"),
            Err(err) => {
                println!("{name}: FAILED — {err}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn soak_tokio(seconds: u64) -> Result<String, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let handle = runtime.handle().clone();
    let result = runtime.block_on(async {
        let result = soak(proto_tokio::Tokio, seconds).await;
        // The accept loop and the event loop end with the shutdown; give
        // them a moment to return.
        let deadline = Instant::now() + Duration::from_secs(5);
        while tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks()
            > 0
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        result
    });
    let tasks = handle.metrics().num_alive_tasks();
    drop(runtime);
    let summary = result?;
    // Only the runtime's own tasks may be left (none of ours).
    if tasks > 0 {
        return Err(format!(
            "{tasks} tasks still alive after the soak; {summary}"
        ));
    }
    Ok(format!("{summary}, 0 tasks left"))
}

fn soak_smol(seconds: u64) -> Result<String, String> {
    smol::block_on(soak(proto_smol::Smol::default(), seconds))
}

fn soak_async_std(seconds: u64) -> Result<String, String> {
    let runtime = proto_smol::Smol::new(|task| {
        async_std::task::spawn(task);
    });
    async_std::task::block_on(soak(runtime, seconds))
}

/// What the clients saw.
#[derive(Default)]
struct Counts {
    echoes: AtomicU64,
    bad_echoes: AtomicU64,
    misbehaved: AtomicU64,
}

/// Serves on `runtime` for `seconds` under the clients; checks what is
/// left afterwards.
async fn soak<R: Runtime + Clone>(runtime: R, seconds: u64) -> Result<String, String> {
    let session = SessionConfig::default()
        .idle_timeout(Some(Duration::from_secs(2)))
        .frame_timeout(Some(Duration::from_secs(1)))
        .write_timeout(Some(Duration::from_secs(2)));
    let config = ServerConfig::default().hub(HubConfig::default().session(session));
    let codec = LengthField::laster40net().max_frame_length(64 * 1024);
    let mut server = Server::bind_on(runtime.clone(), "127.0.0.1:0", codec, config)
        .await
        .map_err(|e| e.to_string())?;
    let mut events = server.events();
    let addr = server.local_addr().map_err(|e| e.to_string())?;
    let hub = server.hub().clone();
    runtime.spawn(server.run());
    let echo = hub.clone();
    runtime.spawn(async move {
        while let Some(event) = events.recv().await {
            if let Event::Message { id, payload } = event {
                let _ = echo.send(id, payload);
            }
        }
    });

    let fds_before = open_fds();
    let counts = Arc::new(Counts::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for n in 0..40u64 {
        let (counts, stop) = (counts.clone(), stop.clone());
        clients.push(std::thread::spawn(move || client(addr, n, &counts, &stop)));
    }
    // Warm-up: a quarter of the run (the allocator's arenas and the
    // runtime's pools fill up), then the memory level to hold.
    let total = Duration::from_secs(seconds);
    let started = Instant::now();
    runtime.sleep(total / 4).await;
    let rss_warm = rss_kib().unwrap_or(0);
    let mut rss_peak = rss_warm;
    while started.elapsed() < total {
        runtime.sleep(Duration::from_millis(500)).await;
        rss_peak = rss_peak.max(rss_kib().unwrap_or(0));
    }
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().map_err(|_| "a client thread panicked")?;
    }
    // Every session goes (the misbehaving ones by their deadlines).
    let deadline = Instant::now() + Duration::from_secs(15);
    while !hub.is_empty() && Instant::now() < deadline {
        runtime.sleep(Duration::from_millis(100)).await;
    }
    let rss_end = rss_kib().unwrap_or(0);
    let fds_after = open_fds();
    let stats = hub.stats();
    let summary = format!(
        "{} sessions, {} echoes checked, {} misbehaving connections, closes {:?}; RSS after warm-up {} KiB, peak {} KiB, at the end {} KiB; fds {:?} → {:?}",
        stats.accepted,
        counts.echoes.load(Ordering::Relaxed),
        counts.misbehaved.load(Ordering::Relaxed),
        stats.closed,
        rss_warm,
        rss_peak,
        rss_end,
        fds_before,
        fds_after,
    );
    hub.shutdown(runtime.sleep(Duration::from_secs(2))).await;
    if !hub.is_empty() {
        return Err(format!("{} sessions left; {summary}", hub.len()));
    }
    if counts.bad_echoes.load(Ordering::Relaxed) > 0 {
        return Err(format!(
            "{} wrong echoes; {summary}",
            counts.bad_echoes.load(Ordering::Relaxed)
        ));
    }
    if let (Some(before), Some(after)) = (fds_before, fds_after) {
        if after > before {
            return Err(format!(
                "{} file descriptors leaked; {summary}",
                after - before
            ));
        }
    }
    if rss_warm > 0 && rss_end * 10 > rss_warm * 11 {
        return Err(format!(
            "RSS grew more than 10 % after the warm-up; {summary}"
        ));
    }
    Ok(summary)
}

/// One client thread: until `stop`, a random behaviour per connection.
fn client(addr: SocketAddr, n: u64, counts: &Counts, stop: &AtomicBool) {
    let mut rng = SplitMix64::new(0x50a6 + n);
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut stream) = TcpStream::connect(addr) else {
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = stream.set_nodelay(true);
        let behaviour = rng.next_u64() % 8;
        if behaviour >= 3 {
            echo(&mut stream, &mut rng, counts);
            continue;
        }
        counts.misbehaved.fetch_add(1, Ordering::Relaxed);
        match behaviour {
            // Reset at once.
            0 => {
                let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
            }
            // Half a frame, then gone.
            1 => {
                let _ = stream.write_all(&[9, 0, 0, 0, 1, 2]);
                std::thread::sleep(Duration::from_millis(rng.next_u64() % 300));
            }
            // A burst of echoes never read, then gone.
            _ => {
                for seq in 0..(rng.next_u64() % 200) {
                    if stream.write_all(&frame(seq, 512)).is_err() {
                        break;
                    }
                }
                std::thread::sleep(Duration::from_millis(rng.next_u64() % 500));
            }
        }
    }
}

/// Some echoes, frames written in random pieces; every reply checked.
fn echo(stream: &mut TcpStream, rng: &mut SplitMix64, counts: &Counts) {
    for seq in 0..(1 + rng.next_u64() % 20) {
        let len = (rng.next_u64() % 2048) as usize;
        let wire = frame(seq, len);
        let mut at = 0;
        while at < wire.len() {
            let piece = (1 + rng.next_u64() as usize % wire.len()).min(wire.len() - at);
            if stream.write_all(&wire[at..at + piece]).is_err() {
                return;
            }
            at += piece;
            if rng.next_u64() % 4 == 0 {
                std::thread::sleep(Duration::from_millis(rng.next_u64() % 20));
            }
        }
        let mut back = vec![0u8; wire.len()];
        match stream.read_exact(&mut back) {
            Ok(()) if back == wire => counts.echoes.fetch_add(1, Ordering::Relaxed),
            Ok(()) => counts.bad_echoes.fetch_add(1, Ordering::Relaxed),
            Err(_) => return,
        };
    }
}

/// A frame of `len` payload bytes derived from `seq`.
fn frame(seq: u64, len: usize) -> Vec<u8> {
    let mut wire = (len as u32).to_le_bytes().to_vec();
    wire.extend((0..len).map(|i| (seq as usize * 31 + i) as u8));
    wire
}

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn open_fds() -> Option<usize> {
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count())
}
