//! How long a hub-wide operation waits on the sessions' drivers: a tokio
//! server whose `--sessions` members all join one group, and a broadcaster
//! thread (a game loop's tick, outside the runtime) that calls
//! `Hub::broadcast_group` with a `--payload`-byte message `--rate` times a
//! second, and after each one `Hub::send`s a small message to one member
//! (round robin). Each call is timed; the histograms (p50, p99, p99.9, max,
//! in µs) go out as one JSON line. The clients (`clients` mode, another
//! process) read everything.
//!
//! ```text
//! cargo build --release -p proto-tokio --example broadcast_contention
//! E=target/release/examples/broadcast_contention
//! taskset -c 1 $E server --sessions 500 --payload 2048 --rate 200 --seconds 10 &
//! taskset -c 0 $E clients --sessions 500 --seconds 12
//! ```
//!
//! Loopback only; both sides stop by themselves.
#![allow(clippy::print_stdout)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{Parser, Subcommand};
use hdrhistogram::Histogram;
use proto_core::driver::Handler;
use proto_core::frame::LengthField;
use proto_core::hub::{AdmissionConfig, Hub, HubConfig, SessionHandle};
use proto_tokio::{Server, ServerConfig};
use tokio::io::AsyncReadExt;

#[derive(Debug, Parser)]
struct Args {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// The server and its broadcaster thread.
    Server {
        #[arg(long, default_value = "127.0.0.1:7300")]
        addr: String,
        /// Members to wait for before broadcasting.
        #[arg(long, default_value_t = 500)]
        sessions: usize,
        /// Payload bytes of each broadcast.
        #[arg(long, default_value_t = 2048)]
        payload: usize,
        /// Broadcasts a second (0: back to back).
        #[arg(long, default_value_t = 200)]
        rate: u64,
        /// Seconds of broadcasting.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Runtime worker threads.
        #[arg(long, default_value_t = 2)]
        threads: usize,
    },
    /// Clients that read everything.
    Clients {
        #[arg(long, default_value = "127.0.0.1:7300")]
        addr: SocketAddr,
        #[arg(long, default_value_t = 500)]
        sessions: usize,
        /// Seconds until the clients stop reading.
        #[arg(long, default_value_t = 12)]
        seconds: u64,
    },
}

const GROUP: &str = "all";

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    match Args::parse().mode {
        Mode::Server {
            addr,
            sessions,
            payload,
            rate,
            seconds,
            threads,
        } => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads.max(1))
                .enable_all()
                .build()?;
            let config = ServerConfig::default().hub(
                HubConfig::default().admission(
                    AdmissionConfig::default()
                        .max_sessions(sessions + 16)
                        .max_sessions_per_ip(None),
                ),
            );
            let server = runtime.block_on(Server::bind(addr, LengthField::tokio_util(), config))?;
            let hub = server.hub().clone();
            runtime.spawn(server.run_with({
                let hub = hub.clone();
                move |_: &SessionHandle| Member { hub: hub.clone() }
            }));
            let tick = Tick {
                sessions,
                payload,
                rate,
                seconds,
            };
            let report = std::thread::spawn(move || tick.run(&hub)).join();
            let report = report.map_err(|_| "broadcaster panicked")??;
            println!("{report}");
            runtime.shutdown_timeout(Duration::from_secs(1));
            Ok(())
        }
        Mode::Clients {
            addr,
            sessions,
            seconds,
        } => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(clients(addr, sessions, seconds)),
    }
}

/// Joins the group on open.
struct Member {
    hub: Hub<LengthField>,
}

impl Handler for Member {
    fn on_open(&mut self, session: &SessionHandle) {
        self.hub.join(GROUP, session.id());
    }

    fn on_message(&mut self, _: &SessionHandle, _: Bytes) {}
}

/// The broadcaster's settings.
struct Tick {
    sessions: usize,
    payload: usize,
    rate: u64,
    seconds: u64,
}

impl Tick {
    fn run(
        &self,
        hub: &Hub<LengthField>,
    ) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
        let waited = Instant::now();
        while hub.members(GROUP).len() < self.sessions {
            if waited.elapsed() > Duration::from_secs(60) {
                return Err("members did not all join within 60 s".into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let members = hub.members(GROUP);
        let payload = Bytes::from(vec![0x5a; self.payload]);
        let small = Bytes::from_static(b"ping");
        let mut broadcast = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
        let mut send = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
        let (mut delivered, mut failed, mut calls) = (0u64, 0u64, 0u64);
        let period = (self.rate > 0).then(|| Duration::from_secs_f64(1.0 / self.rate as f64));
        let start = Instant::now();
        let end = start + Duration::from_secs(self.seconds);
        let mut next = start;
        while Instant::now() < end {
            if let Some(period) = period {
                next += period;
                if let Some(wait) = next.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
            }
            let t0 = Instant::now();
            let report = hub.broadcast_group(GROUP, payload.clone())?;
            let t1 = Instant::now();
            let to = members[(calls as usize) % members.len()];
            let sent = hub.send(to, small.clone());
            let t2 = Instant::now();
            broadcast.saturating_record(micros(t1 - t0));
            send.saturating_record(micros(t2 - t1));
            delivered += report.delivered as u64;
            failed += report.failed.len() as u64 + u64::from(sent.is_err());
            calls += 1;
        }
        let elapsed = start.elapsed().as_secs_f64();
        let stats = hub.stats();
        Ok(format!(
            "{{\"sessions\":{},\"payload\":{},\"rate\":{},\"calls\":{calls},\"calls_per_s\":{:.0},\
             \"delivered\":{delivered},\"failed\":{failed},\"bytes_out\":{},\
             \"broadcast_us\":{},\"send_us\":{}}}",
            self.sessions,
            self.payload,
            self.rate,
            calls as f64 / elapsed,
            stats.bytes_out,
            percentiles(&broadcast),
            percentiles(&send),
        ))
    }
}

fn micros(d: Duration) -> u64 {
    d.as_micros().try_into().unwrap_or(u64::MAX).max(1)
}

fn percentiles(h: &Histogram<u64>) -> String {
    format!(
        "{{\"p50\":{},\"p99\":{},\"p999\":{},\"max\":{},\"mean\":{:.1}}}",
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.99),
        h.value_at_quantile(0.999),
        h.max(),
        h.mean()
    )
}

async fn clients(
    addr: SocketAddr,
    sessions: usize,
    seconds: u64,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let total = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..sessions {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        let total = total.clone();
        tasks.push(tokio::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            while let Ok(n) = stream.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                total.fetch_add(n as u64, Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    for task in &tasks {
        task.abort();
    }
    println!("{{\"client_bytes\":{}}}", total.load(Ordering::Relaxed));
    Ok(())
}
