//! Resilience: a hardened proto-tokio echo server (this process) keeps
//! serving legitimate clients while hostile ones attack it (the load
//! generator's `hostile` mode, another process): every legitimate reply
//! verified, every hostile connection closed by the server with the reason
//! its attack calls for, and the session count back to 0 afterwards.
//!
//! The CI size runs in seconds. The full size (5,000 hostile connections
//! beside 50 legitimate clients, as SECURITY.md reports) is the same test
//! with `RESILIENCE=full`:
//!
//! ```text
//! RESILIENCE=full cargo test --release -p proto-loadgen --test resilience -- --nocapture
//! ```
//!
//! The figures (legitimate p99, the server's peak RSS) are printed, not
//! asserted: speed and memory targets live in benchmarks.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::process::Command;
use std::time::{Duration, Instant};

use proto_core::frame::LengthField;
use proto_core::hub::{Event, HubConfig};
use proto_tokio::{Server, ServerConfig};
use serde_json::Value;

use proto_core::session::SessionConfig;

/// How many of each, and for how long.
struct Size {
    legit: usize,
    silent: usize,
    garbage: usize,
    oversize: usize,
    trickle: usize,
    never_read: usize,
    churn: usize,
    seconds: u64,
}

const SMALL: Size = Size {
    legit: 20,
    silent: 100,
    garbage: 50,
    oversize: 50,
    trickle: 20,
    never_read: 10,
    churn: 200,
    seconds: 5,
};

const FULL: Size = Size {
    legit: 50,
    silent: 2000,
    garbage: 1000,
    oversize: 1000,
    trickle: 500,
    never_read: 500,
    churn: 2000,
    seconds: 15,
};

/// The peak resident set of this process (the server), in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn hostile_clients_are_closed_with_their_reasons_and_legitimate_ones_lose_nothing() {
    let size = match std::env::var("RESILIENCE").as_deref() {
        Ok("full") => FULL,
        _ => SMALL,
    };
    let max_frame = 1 << 20;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let session = SessionConfig::default()
        .idle_timeout(Some(Duration::from_secs(2)))
        .frame_timeout(Some(Duration::from_secs(1)))
        .write_timeout(Some(Duration::from_secs(2)));
    let config = ServerConfig::default().hub(
        HubConfig::default()
            .session(session)
            .admission(proto_core::hub::AdmissionConfig::default().max_sessions(20_000)),
    );
    let codec = LengthField::laster40net().max_frame_length(max_frame);
    let mut server = runtime
        .block_on(Server::bind("127.0.0.1:0", codec, config))
        .unwrap();
    let mut events = server.events();
    let addr = server.local_addr().unwrap();
    let hub = server.hub().clone();
    runtime.spawn(server.run());
    let echo_hub = hub.clone();
    runtime.spawn(async move {
        while let Some(event) = events.recv().await {
            if let Event::Message { id, payload } = event {
                // A never-reading client's replies are refused once its
                // queue is full: that is the attack, not a failure.
                let _ = echo_hub.send(id, payload);
            }
        }
    });

    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(["hostile", "--addr", &addr.to_string(), "--json", "--quiet"])
        .args(["--legit", &size.legit.to_string(), "--rate", "100"])
        .args(["--silent", &size.silent.to_string()])
        .args(["--garbage", &size.garbage.to_string()])
        .args(["--oversize", &size.oversize.to_string()])
        .args(["--trickle", &size.trickle.to_string()])
        .args(["--never-read", &size.never_read.to_string()])
        .args(["--churn", &size.churn.to_string()])
        .args(["--max-frame", &max_frame.to_string()])
        .args(["--seconds", &size.seconds.to_string(), "--warmup", "1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: Value = serde_json::from_str(stdout.trim().lines().last().unwrap_or("{}"))
        .unwrap_or_else(|err| panic!("no report ({err}): {stdout} {:?}", output.stderr));
    println!("load generator: {report}");

    // The legitimate clients: every reply as sent, none lost.
    assert_eq!(report["errors"], 0, "{report}");
    assert_eq!(report["lost"], 0, "{report}");
    assert_eq!(report["failed_connections"], 0, "{report}");
    assert!(report["messages"].as_u64().unwrap() > 0, "{report}");
    // Every hostile connection closed by the server within the run.
    for (kind, expected) in [
        ("silent", size.silent),
        ("garbage", size.garbage),
        ("oversize", size.oversize),
        ("trickle", size.trickle),
        ("never_read", size.never_read),
    ] {
        let outcome = &report["hostile"][kind];
        assert_eq!(outcome["connections"], expected, "{kind}: {outcome}");
        assert_eq!(outcome["closed_by_server"], expected, "{kind}: {outcome}");
    }
    assert_eq!(report["hostile"]["churn"]["failed_connect"], 0, "{report}");
    assert!(output.status.success(), "load generator failed: {report}");

    // The server: back to no session, each attack closed for its reason.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !hub.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(hub.len(), 0, "sessions left after the attack");
    let stats = hub.stats();
    let closed = |label: &str| stats.closed.get(label).copied().unwrap_or(0);
    assert_eq!(closed("idle_timeout"), size.silent as u64, "{stats:?}");
    assert_eq!(
        closed("frame_too_large"),
        (size.garbage + size.oversize) as u64,
        "{stats:?}"
    );
    assert_eq!(closed("frame_timeout"), size.trickle as u64, "{stats:?}");
    assert_eq!(closed("slow_consumer"), size.never_read as u64, "{stats:?}");
    let hostile = size.silent + size.garbage + size.oversize + size.trickle + size.never_read;
    let all = (size.legit + hostile + size.churn) as u64;
    assert_eq!(stats.accepted, all, "{stats:?}");
    assert_eq!(stats.closed.values().sum::<u64>(), all, "{stats:?}");
    println!(
        "legitimate: p50 {} µs, p99 {} µs, max {} µs over {} replies; hostile: {hostile} + {} churned; \
         server peak RSS {} MiB; {:.1} s",
        report["p50_us"],
        report["p99_us"],
        report["max_us"],
        report["messages"],
        size.churn,
        peak_rss_kib().unwrap_or(0) / 1024,
        started.elapsed().as_secs_f64()
    );
    runtime.shutdown_timeout(Duration::from_secs(1));
}
