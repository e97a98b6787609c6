//! The echo client: interactive by default (each typed line is sent as a
//! frame and replies are printed as they arrive; `quit`, Ctrl-C or Ctrl-D
//! exits), or, with `--count`, a check that sends N numbered messages and
//! verifies that every echo comes back intact and in order.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use proto_cli::{Console, Input, Main, RuntimeKind};
use proto_core::driver::{Client, ClientConfig, Runtime};
use proto_core::frame::LengthField;
use proto_core::hub::{Event, Events};

/// Talk to an echo server (laster40net wire format).
#[derive(Debug, Clone, Parser)]
#[command(name = "echo_client", version)]
pub struct ClientArgs {
    /// The async runtime to run on.
    #[arg(long, value_enum, default_value = "tokio")]
    pub runtime: RuntimeKind,
    /// The echo server.
    #[arg(long, default_value = "127.0.0.1:7000")]
    pub addr: SocketAddr,
    /// Send this many numbered messages and verify every echo, instead of
    /// reading lines from the terminal.
    #[arg(long, alias = "messages")]
    pub count: Option<u64>,
    /// Payload bytes per message with `--count` (at least 8).
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// Messages in flight at once with `--count`.
    #[arg(long, default_value_t = 256)]
    pub window: u64,
}

/// How a client run ended.
pub type Outcome = Result<(), Box<dyn std::error::Error + Send + Sync>>;

impl Main for ClientArgs {
    type Output = Outcome;

    async fn run<R: Runtime + Default>(self) -> Outcome {
        let (client, events) = Client::<LengthField, R>::connect(
            self.addr,
            LengthField::laster40net(),
            ClientConfig::default(),
        )
        .await?;
        let result = match self.count {
            Some(count) => check(&client, events, count, &self).await,
            None => interactive(&client, events).await,
        };
        client
            .hub()
            .shutdown(R::default().sleep(Duration::from_secs(1)))
            .await;
        result
    }
}

/// Message `n` of a check: its number, then filler.
pub fn message(n: u64, size: usize) -> Bytes {
    let mut payload = vec![(n % 251) as u8; size.max(8)];
    payload[..8].copy_from_slice(&n.to_le_bytes());
    Bytes::from(payload)
}

/// Sends `count` messages, at most `window` in flight and only while the
/// session's queue has room, and verifies every echo.
async fn check<R: Runtime>(
    client: &Client<LengthField, R>,
    mut events: Events,
    count: u64,
    args: &ClientArgs,
) -> Outcome {
    let handle = client.handle().ok_or("not connected")?;
    let start = Instant::now();
    let (mut sent, mut received) = (0, 0);
    while received < count {
        let can_send = sent < count && sent - received < args.window;
        // Send only while our own queue has room (so a large window of
        // large messages is paced by what the server takes), and keep
        // reading echoes meanwhile: a client that only wrote would stop
        // the server, which reads no more than it can answer.
        let next = async { Step::Event(events.recv().await) };
        let room = async {
            if can_send {
                Step::Writable(handle.writable().await.is_ok())
            } else {
                std::future::pending().await
            }
        };
        match smol::future::or(next, room).await {
            Step::Event(Some(Event::Message { payload, .. })) => {
                if payload != message(received, args.size) {
                    return Err(format!("echo {received} differs").into());
                }
                received += 1;
            }
            Step::Event(Some(Event::Closed { reason, .. })) => {
                return Err(format!("closed after {received} echoes: {reason}").into());
            }
            Step::Event(Some(_)) => {}
            Step::Event(None) => return Err("event stream ended".into()),
            Step::Writable(true) => {
                handle.send(message(sent, args.size))?;
                sent += 1;
            }
            Step::Writable(false) => return Err("session closed while sending".into()),
        }
    }
    let elapsed = start.elapsed();
    tracing::info!(
        messages = count,
        ?elapsed,
        per_second = (count as f64 / elapsed.as_secs_f64()) as u64,
        "all echoes received intact"
    );
    Ok(())
}

/// What the check loop woke up for.
enum Step {
    Event(Option<Event>),
    Writable(bool),
}

/// Sends each typed line, prints each echo as it arrives.
async fn interactive<R: Runtime>(client: &Client<LengthField, R>, mut events: Events) -> Outcome {
    let console = Console::start("> ")?;
    let out = console.printer().clone();
    out.print("connected; type a line to have it echoed, `quit` (or Ctrl-C) to exit");
    let result = loop {
        let event = async { Ok(events.recv().await) };
        let typed = async { Err(console.next().await) };
        match smol::future::or(event, typed).await {
            Ok(Some(Event::Message { payload, .. })) => {
                out.print(format!("echo: {}", String::from_utf8_lossy(&payload)));
            }
            Ok(Some(Event::Closed { reason, .. })) => {
                out.print(format!("the server closed the connection ({reason})"));
                break Err("connection lost".into());
            }
            Ok(Some(_)) => {}
            Ok(None) => break Err("connection lost".into()),
            Err(Input::Line(line)) if line.trim() == "quit" => break Ok(()),
            Err(Input::Line(line)) => {
                if let Err(err) = client.send(Bytes::from(line)) {
                    out.print(format!("not sent: {err}"));
                }
            }
            Err(Input::Interrupted | Input::Eof) => break Ok(()),
        }
    };
    console.restore();
    result
}
