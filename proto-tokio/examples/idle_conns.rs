//! Measures the memory an idle connection costs a server: opens N
//! connections from a child process, exchanges one message on each, lets
//! them sit idle, and reads the server process's resident memory (Linux
//! `/proc/self/status`). Runs the same with a tokio-util `Framed` echo
//! server beside ours for comparison.
//!
//! ```text
//! cargo run --release -p proto-tokio --example idle_conns -- --connections 10000
//! ```
//!
//! The client side runs in a child process (the same binary) so that each
//! process stays under the file-descriptor limit. Stops by itself.
#![allow(clippy::print_stdout)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use clap::{Parser, ValueEnum};
use futures::{SinkExt, StreamExt};
use proto_core::frame::LengthField;
use proto_core::hub::{AdmissionConfig, Event, HubConfig};
use proto_tokio::{Server, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::{Framed, LengthDelimitedCodec};

/// Which server to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Peer {
    /// proto-tokio's server.
    Ours,
    /// A tokio-util `Framed` echo server, one task per connection.
    TokioUtil,
    /// Both, one after the other.
    Both,
}

/// Resident memory per idle connection.
#[derive(Debug, Parser)]
struct Args {
    /// Connections to open.
    #[arg(long, default_value_t = 10_000)]
    connections: usize,
    /// Which server(s) to measure.
    #[arg(long, value_enum, default_value = "both")]
    peer: Peer,
    /// Open the connections without exchanging a message on them.
    #[arg(long)]
    silent: bool,
    /// Internal: run as the client process against this address.
    #[arg(long, hide = true)]
    client: Option<SocketAddr>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    if let Some(addr) = args.client {
        return rt.block_on(client(addr, args.connections, args.silent));
    }
    println!("| server | connections | RSS before | RSS idle | per connection |");
    println!("| --- | --- | --- | --- | --- |");
    if matches!(args.peer, Peer::Ours | Peer::Both) {
        rt.block_on(measure_ours(args.connections, args.silent))?;
    }
    if matches!(args.peer, Peer::TokioUtil | Peer::Both) {
        rt.block_on(measure_tokio_util(args.connections, args.silent))?;
    }
    Ok(())
}

async fn measure_ours(n: usize, silent: bool) -> Result<(), Box<dyn std::error::Error>> {
    let config = ServerConfig::default().hub(
        HubConfig::default().admission(
            AdmissionConfig::default()
                .max_sessions(n)
                .max_sessions_per_ip(None),
        ),
    );
    let mut server = Server::bind("127.0.0.1:0", LengthField::tokio_util(), config).await?;
    let mut events = server.events();
    let addr = server.local_addr()?;
    let hub = server.hub().clone();
    tokio::spawn(server.run());
    let echo_hub = hub.clone();
    let echo = tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            if let Event::Message { id, payload } = event {
                let _ = echo_hub.send(id, payload);
            }
        }
    });
    let live = run_clients(addr, n, silent, || hub.len()).await?;
    echo.abort();
    report("proto-tokio", n, live);
    hub.shutdown(tokio::time::sleep(Duration::from_secs(1)))
        .await;
    Ok(())
}

async fn measure_tokio_util(n: usize, silent: bool) -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let accept = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let mut framed = Framed::new(stream, LengthDelimitedCodec::new());
                while let Some(Ok(frame)) = framed.next().await {
                    if framed.send(frame.freeze()).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    let live = run_clients(addr, n, silent, || n).await?;
    accept.abort();
    report("tokio-util Framed", n, live);
    Ok(())
}

/// RSS before, RSS with `n` idle connections.
struct Live(u64, u64);

fn report(name: &str, n: usize, Live(before, after): Live) {
    let per = after.saturating_sub(before) as f64 * 1024.0 / n as f64;
    println!(
        "| {name} | {n} | {} MiB | {} MiB | {per:.0} B |",
        before / 1024,
        after / 1024
    );
}

/// Starts the client process, waits until all `n` connections have echoed
/// a message and gone idle, and reads the RSS.
async fn run_clients(
    addr: SocketAddr,
    n: usize,
    silent: bool,
    live: impl Fn() -> usize,
) -> Result<Live, Box<dyn std::error::Error>> {
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = rss_kib()?;
    let mut child = Command::new(std::env::current_exe()?)
        .args([
            "--client",
            &addr.to_string(),
            "--connections",
            &n.to_string(),
        ])
        .args(silent.then_some("--silent"))
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no child stdout")?;
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    })
    .await??;
    if line.trim() != "ready" {
        let _ = child.kill();
        return Err(format!("client failed: {line:?}").into());
    }
    // Let the last drivers go idle and release their buffers.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = rss_kib()?;
    let seen = live();
    let _ = child.kill();
    let _ = child.wait();
    if seen != n {
        return Err(format!("{seen} sessions live, expected {n}").into());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(Live(before, after))
}

/// The client process: `n` connections, one echoed 64-byte frame each, then
/// idle until killed.
async fn client(
    addr: SocketAddr,
    n: usize,
    silent: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut streams = Vec::with_capacity(n);
    let mut frame = (64u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&[7u8; 64]);
    let frame = Bytes::from(frame);
    for _ in 0..n {
        let mut stream = TcpStream::connect(addr).await?;
        if silent {
            streams.push(stream);
            continue;
        }
        stream.write_all(&frame).await?;
        let mut echo = vec![0u8; frame.len()];
        stream.read_exact(&mut echo).await?;
        if echo != frame {
            return Err("echo differs".into());
        }
        streams.push(stream);
    }
    println!("ready");
    // Idle until the parent kills us (bounded, in case it does not).
    tokio::time::sleep(Duration::from_secs(120)).await;
    Ok(())
}

/// The process's resident set size in KiB.
fn rss_kib() -> Result<u64, Box<dyn std::error::Error>> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .ok_or("no VmRSS in /proc/self/status")?;
    let kib = line
        .split_whitespace()
        .nth(1)
        .ok_or("malformed VmRSS")?
        .parse()?;
    Ok(kib)
}
