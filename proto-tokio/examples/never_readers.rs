//! Abuse check: `--attackers` clients connect to an echo server and send
//! without pause but never read, while one legitimate client measures echo
//! round trips (each reply verified). Prints the legitimate client's
//! latency percentiles and how many attackers the server closed (their
//! connection reset or ended) within `--seconds`. Run it with
//! `--attackers 0` for the baseline.
//!
//! ```text
//! cargo run --release -p proto-echo --bin echo_server -- --write-timeout 2 &
//! cargo run --release -p proto-tokio --example never_readers -- --attackers 500
//! ```
//!
//! Loopback only; stops by itself.
#![allow(clippy::print_stdout)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use hdrhistogram::Histogram;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Never-reading clients beside a legitimate one.
#[derive(Debug, Parser)]
struct Args {
    /// The echo server (laster40net wire format: u32 LE length).
    #[arg(long, default_value = "127.0.0.1:7000")]
    addr: SocketAddr,
    /// Clients that send and never read.
    #[arg(long, default_value_t = 500)]
    attackers: usize,
    /// Payload bytes of each attacker frame.
    #[arg(long, default_value_t = 16 * 1024)]
    frame: usize,
    /// Seconds to run.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let closed = Arc::new(AtomicUsize::new(0));
    let mut attackers = Vec::new();
    for _ in 0..args.attackers {
        let stream = TcpStream::connect(args.addr).await?;
        let closed = closed.clone();
        let frame = frame_of(&vec![7u8; args.frame]);
        attackers.push(tokio::spawn(async move {
            let mut stream = stream;
            loop {
                let write = stream.write_all(&frame);
                match tokio::time::timeout_at(deadline.into(), write).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => {
                        closed.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    Err(_) => return, // time is up
                }
            }
        }));
    }
    let mut legit = TcpStream::connect(args.addr).await?;
    legit.set_nodelay(true)?;
    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut errors = 0u64;
    let mut n = 0u64;
    let mut reply = vec![0u8; 4 + 64];
    while Instant::now() < deadline {
        let payload: Vec<u8> = (0..64).map(|i| (n as u8).wrapping_add(i)).collect();
        let frame = frame_of(&payload);
        let start = Instant::now();
        let round = async {
            legit.write_all(&frame).await?;
            legit.read_exact(&mut reply).await?;
            Ok::<_, std::io::Error>(())
        };
        match tokio::time::timeout(Duration::from_secs(5), round).await {
            Ok(Ok(())) if reply == frame => {
                let micros = start.elapsed().as_micros() as u64;
                latency.record(micros.max(1))?;
            }
            _ => {
                errors += 1;
                break;
            }
        }
        n += 1;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    for attacker in attackers {
        let _ = attacker.await;
    }
    println!(
        "attackers {} closed_by_server {} | legit round trips {} errors {} p50 {} µs p99 {} µs max {} µs",
        args.attackers,
        closed.load(Ordering::Relaxed),
        latency.len(),
        errors,
        latency.value_at_quantile(0.5),
        latency.value_at_quantile(0.99),
        latency.max(),
    );
    Ok(())
}

fn frame_of(payload: &[u8]) -> Vec<u8> {
    let mut frame = (payload.len() as u32).to_le_bytes().to_vec();
    frame.extend_from_slice(payload);
    frame
}
