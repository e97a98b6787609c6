//! An echo client on tokio: sends numbered messages to an echo server and
//! checks that each comes back intact and in order.
//!
//! ```text
//! cargo run --release -p proto-tokio --example echo_server &
//! cargo run --release -p proto-tokio --example echo_client -- --messages 100000
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use proto_core::frame::LengthField;
use proto_core::hub::Event;
use proto_tokio::{Client, ClientConfig};

/// Send messages to an echo server and check the replies.
#[derive(Debug, Parser)]
struct Args {
    /// The echo server (laster40net wire format).
    #[arg(long, default_value = "127.0.0.1:7000")]
    addr: SocketAddr,
    /// Messages to send.
    #[arg(long, default_value_t = 10_000)]
    messages: u64,
    /// Messages in flight at once.
    #[arg(long, default_value_t = 256)]
    window: u64,
    /// Payload bytes per message (at least 8).
    #[arg(long, default_value_t = 64)]
    size: usize,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        // Colours only on a terminal, not in a log file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    match run(&args).await {
        Ok(elapsed) => {
            tracing::info!(
                messages = args.messages,
                ?elapsed,
                per_second = (args.messages as f64 / elapsed.as_secs_f64()) as u64,
                "all echoes received intact"
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            tracing::error!("{err}");
            ExitCode::FAILURE
        }
    }
}

fn message(n: u64, size: usize) -> Bytes {
    let mut payload = vec![(n % 251) as u8; size.max(8)];
    payload[..8].copy_from_slice(&n.to_le_bytes());
    Bytes::from(payload)
}

async fn run(args: &Args) -> Result<Duration, Box<dyn std::error::Error>> {
    let (client, mut events) = Client::connect(
        args.addr,
        LengthField::laster40net(),
        ClientConfig::default(),
    )
    .await?;
    let handle = client.handle().ok_or("not connected")?;
    let start = Instant::now();
    let (mut sent, mut received) = (0, 0);
    while received < args.messages {
        let can_send = sent < args.messages && sent - received < args.window;
        // Send only while our own queue has room (so a large window of
        // large messages is paced by what the server takes), and keep
        // reading echoes meanwhile: a client that only wrote would stop
        // the server, which reads no more than it can answer.
        tokio::select! {
            biased;
            event = events.recv() => match event {
                Some(Event::Message { payload, .. }) => {
                    if payload != message(received, args.size) {
                        return Err(format!("echo {received} differs").into());
                    }
                    received += 1;
                }
                Some(Event::Closed { reason, .. }) => {
                    return Err(format!("closed after {received} echoes: {reason}").into());
                }
                Some(_) => {}
                None => return Err("event stream ended".into()),
            },
            ready = handle.writable(), if can_send => {
                ready?;
                handle.send(message(sent, args.size))?;
                sent += 1;
            }
        }
    }
    let elapsed = start.elapsed();
    proto_tokio::shutdown(client.hub(), Duration::from_secs(1)).await;
    Ok(elapsed)
}
