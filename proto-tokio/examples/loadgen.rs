//! Load generator: echo throughput and round-trip latency of a server, ours
//! and a tokio-util `Framed` echo server measured in the same run.
//!
//! ```text
//! cargo run --release -p proto-tokio --example loadgen -- --connections 100 --window 32 --seconds 5
//! ```
//!
//! The server runs in this process on `--server-threads` worker threads;
//! the clients run in a child process (the same binary), each connection
//! keeping `--window` messages in flight and sending a new one for every
//! echo. Prints one Markdown table row per server. Loopback only; stops by
//! itself.
#![allow(clippy::print_stdout)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use futures::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use proto_core::frame::LengthField;
use proto_core::hub::{AdmissionConfig, Event, HubConfig, SessionHandle};
use proto_tokio::{Server, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader as AsyncBufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::{Framed, LengthDelimitedCodec};

/// Which server to load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Target {
    /// proto-tokio's server with the `tokio_util` preset.
    Ours,
    /// proto-tokio's server with a per-session handler (no event stream).
    OursHandler,
    /// A tokio-util `Framed` echo server, one task per connection.
    TokioUtil,
    /// All, one after the other.
    Both,
}

/// Echo load against a local server.
#[derive(Debug, Parser)]
struct Args {
    /// Server(s) to measure.
    #[arg(long, value_enum, default_value = "both")]
    server: Target,
    /// Client connections.
    #[arg(long, default_value_t = 100)]
    connections: usize,
    /// Messages in flight per connection.
    #[arg(long, default_value_t = 32)]
    window: usize,
    /// Payload bytes per message (at least 8).
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Seconds of load per server.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Worker threads of the server's runtime.
    #[arg(long, default_value_t = 1)]
    server_threads: usize,
    /// Internal: run as the client process against this address.
    #[arg(long, hide = true)]
    client: Option<SocketAddr>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if let Some(addr) = args.client {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        return rt.block_on(clients(addr, &args));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.server_threads.max(1))
        .enable_all()
        .build()?;
    println!("| server | connections × window | payload | echoes/s | p50 µs | p99 µs | p99.9 µs |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    if matches!(args.server, Target::Ours | Target::Both) {
        let addr = rt.block_on(start_ours(args.connections, false))?;
        run_clients("proto-tokio, event stream", addr, &args)?;
    }
    if matches!(args.server, Target::OursHandler | Target::Both) {
        let addr = rt.block_on(start_ours(args.connections, true))?;
        run_clients("proto-tokio, handler", addr, &args)?;
    }
    if matches!(args.server, Target::TokioUtil | Target::Both) {
        let addr = rt.block_on(start_tokio_util())?;
        run_clients("tokio-util Framed", addr, &args)?;
    }
    rt.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}

async fn start_ours(connections: usize, handler: bool) -> std::io::Result<SocketAddr> {
    let config = ServerConfig::default().hub(
        HubConfig::default().admission(
            AdmissionConfig::default()
                .max_sessions(connections)
                .max_sessions_per_ip(None),
        ),
    );
    let (server, mut events) =
        Server::bind("127.0.0.1:0", LengthField::tokio_util(), config).await?;
    let addr = server.local_addr()?;
    let hub = server.hub().clone();
    if handler {
        let echo = |session: &SessionHandle, payload| {
            let _ = session.send(payload);
        };
        tokio::spawn(server.run_with(move |_: &SessionHandle| echo));
        return Ok(addr);
    }
    tokio::spawn(server.run());
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            if let Event::Message { id, payload } = event {
                let _ = hub.send(id, payload);
            }
        }
    });
    Ok(addr)
}

async fn start_tokio_util() -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let (mut sink, mut stream) =
                    Framed::new(stream, LengthDelimitedCodec::new()).split();
                while let Some(Ok(frame)) = stream.next().await {
                    // Batch: feed what is ready, flush once.
                    if sink.feed(frame.freeze()).await.is_err() {
                        return;
                    }
                    while let Some(Some(Ok(frame))) = stream.now_or_never_ready() {
                        if sink.feed(frame.freeze()).await.is_err() {
                            return;
                        }
                    }
                    if sink.flush().await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Ok(addr)
}

/// `now_or_never` for a stream's next item.
trait NowOrNever: StreamExt + Unpin {
    fn now_or_never_ready(&mut self) -> Option<Option<Self::Item>> {
        futures::FutureExt::now_or_never(self.next())
    }
}

impl<S: StreamExt + Unpin> NowOrNever for S {}

fn run_clients(
    name: &str,
    addr: SocketAddr,
    args: &Args,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut child = Command::new(std::env::current_exe()?)
        .args(["--client", &addr.to_string()])
        .args(["--connections", &args.connections.to_string()])
        .args(["--window", &args.window.to_string()])
        .args(["--size", &args.size.to_string()])
        .args(["--seconds", &args.seconds.to_string()])
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no child stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let status = child.wait()?;
    if !status.success() || line.is_empty() {
        return Err(format!("client process failed ({status}): {line:?}").into());
    }
    println!(
        "| {name} | {} × {} | {} B | {}",
        args.connections,
        args.window,
        args.size,
        line.trim()
    );
    Ok(())
}

/// The client process: prints `echoes/s | p50 | p99 | p99.9 |`.
async fn clients(addr: SocketAddr, args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let stop = Arc::new(AtomicBool::new(false));
    let origin = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.connections {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        tasks.push(tokio::spawn(connection(
            stream,
            args.window,
            args.size.max(8),
            origin,
            stop.clone(),
        )));
    }
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = start.elapsed();
    let mut total = 0u64;
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for task in tasks {
        let (count, h) = task.await?.map_err(|e| e.to_string())?;
        total += count;
        hist.add(h)?;
    }
    println!(
        "{:.0} | {} | {} | {} |",
        total as f64 / elapsed.as_secs_f64(),
        hist.value_at_quantile(0.5),
        hist.value_at_quantile(0.99),
        hist.value_at_quantile(0.999)
    );
    Ok(())
}

type ConnResult = Result<(u64, Histogram<u64>), Box<dyn std::error::Error + Send + Sync>>;

/// One connection: `window` messages in flight; each carries its send time.
async fn connection(
    stream: TcpStream,
    window: usize,
    size: usize,
    origin: Instant,
    stop: Arc<AtomicBool>,
) -> ConnResult {
    let (read, mut write) = stream.into_split();
    let mut read = AsyncBufReader::with_capacity(64 * 1024, read);
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let frame = |buf: &mut Vec<u8>| {
        let micros = origin.elapsed().as_micros() as u64;
        buf.extend_from_slice(&(size as u32).to_be_bytes());
        buf.extend_from_slice(&micros.to_le_bytes());
        buf.resize(buf.len() + size - 8, 0x5a);
    };
    let mut out = Vec::with_capacity(window * (size + 4));
    for _ in 0..window {
        frame(&mut out);
    }
    write.write_all(&out).await?;
    let mut count = 0u64;
    let mut payload = vec![0u8; size];
    let mut in_flight = window;
    loop {
        let len = read.read_u32().await? as usize;
        if len != size {
            return Err(format!("echo of {len} bytes, sent {size}").into());
        }
        read.read_exact(&mut payload).await?;
        let sent = u64::from_le_bytes(payload[..8].try_into()?);
        hist.saturating_record(origin.elapsed().as_micros() as u64 - sent);
        count += 1;
        in_flight -= 1;
        if stop.load(Ordering::Relaxed) {
            if in_flight == 0 {
                break;
            }
            continue;
        }
        // Refill the window once the read buffer holds no more echoes.
        if read.buffer().len() < 4 + size || in_flight < window / 2 {
            out.clear();
            while in_flight < window {
                frame(&mut out);
                in_flight += 1;
            }
            write.write_all(&out).await?;
        }
    }
    Ok((count, hist))
}
