//! An echo server on smol: every message a client sends comes back to it.
//! Ctrl-C or SIGTERM shuts it down gracefully (queued replies are flushed
//! first).
//!
//! ```text
//! cargo run --release -p proto-smol --example smol_echo_server -- --addr 127.0.0.1:7000 --preset laster40net
//! ```

use std::time::Duration;

use clap::{Parser, ValueEnum};
use proto_core::frame::{LengthField, Line};
use proto_core::hub::{AdmissionConfig, Event, HubConfig};
use proto_core::message::MessageFactory;
use proto_core::session::SessionConfig;
use proto_smol::{Server, ServerConfig};
use smol::future;

/// Wire formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Preset {
    /// laster40Net's SimpleBinaryMessage: u32 little-endian payload length.
    Laster40net,
    /// Netty's LengthFieldPrepender(4): u32 big-endian payload length.
    Netty,
    /// tokio-util's LengthDelimitedCodec defaults.
    TokioUtil,
    /// Text lines ended by `\n`.
    Line,
}

/// Echo every message back to its sender.
#[derive(Debug, Parser)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7000")]
    addr: String,
    /// Wire format.
    #[arg(long, value_enum, default_value = "laster40net")]
    preset: Preset,
    /// Most live sessions.
    #[arg(long, default_value_t = 10_000)]
    max_sessions: usize,
    /// Most live sessions per IP address (default: no limit).
    #[arg(long)]
    max_per_ip: Option<usize>,
    /// Close sessions that send nothing for this many seconds (0: never).
    #[arg(long, default_value_t = 300)]
    idle_timeout: u64,
    /// Close a session whose socket takes no bytes for this many seconds
    /// while replies wait (0: never).
    #[arg(long, default_value_t = 30)]
    write_timeout: u64,
    /// Most MiB queued for sending across all sessions.
    #[arg(long, default_value_t = 256)]
    memory_budget_mib: usize,
    /// Seconds queued replies may take to flush on shutdown.
    #[arg(long, default_value_t = 5)]
    grace: u64,
    /// Also shut down by itself after this many seconds.
    #[arg(long)]
    run_for: Option<u64>,
}

fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        // Colours only on a terminal, not in a log file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    smol::block_on(async {
        match args.preset {
            Preset::Laster40net => serve(LengthField::laster40net(), &args).await,
            Preset::Netty => serve(LengthField::netty(), &args).await,
            Preset::TokioUtil => serve(LengthField::tokio_util(), &args).await,
            Preset::Line => serve(Line::default(), &args).await,
        }
    })
}

async fn serve<F>(codec: F, args: &Args) -> std::io::Result<()>
where
    F: MessageFactory + 'static,
    F::Resolver: std::fmt::Debug + 'static,
    F::Builder: std::fmt::Debug + 'static,
{
    let secs = |s: u64| (s > 0).then(|| Duration::from_secs(s));
    let idle = secs(args.idle_timeout);
    let config = ServerConfig::default().hub(
        HubConfig::default()
            .session(
                SessionConfig::default()
                    .idle_timeout(idle)
                    .write_timeout(secs(args.write_timeout)),
            )
            .memory_budget(args.memory_budget_mib << 20)
            .admission(
                AdmissionConfig::default()
                    .max_sessions(args.max_sessions)
                    .max_sessions_per_ip(args.max_per_ip),
            ),
    );
    let (server, mut events) = Server::bind(args.addr.clone(), codec, config).await?;
    let hub = server.hub().clone();
    smol::spawn(server.run()).detach();

    // Shutdown runs on a task of its own once Ctrl-C (or --run-for)
    // arrives; the loop below keeps handling events meanwhile (replies to
    // what was read, and every Closed), until the stream ends after the
    // last session has closed.
    let (ctrl_c, stopped) = smol::channel::bounded(1);
    ctrlc::set_handler(move || {
        let _ = ctrl_c.try_send(());
    })
    .map_err(std::io::Error::other)?;
    let grace = Duration::from_secs(args.grace);
    let run_for = args.run_for.map(Duration::from_secs);
    let stopper = smol::spawn({
        let hub = hub.clone();
        async move {
            let signalled = async {
                let _ = stopped.recv().await;
            };
            match run_for {
                Some(limit) => {
                    let timer = async {
                        smol::Timer::after(limit).await;
                    };
                    future::or(timer, signalled).await;
                }
                None => signalled.await,
            }
            proto_smol::shutdown(&hub, grace).await
        }
    });
    // The event loop runs on a task of the executor that drives the
    // sessions, not in `main`'s `block_on`: there it would run on the main
    // thread, and every event would cost a wake-up across threads.
    let refused = smol::spawn({
        let hub = hub.clone();
        async move {
            let mut refused = 0u64;
            while let Some(event) = events.recv().await {
                match event {
                    Event::Message { id, payload } => {
                        if let Err(err) = hub.send(id, payload) {
                            refused += 1;
                            tracing::warn!(%id, error = %err, refused, "reply refused");
                        }
                    }
                    Event::Closed { id, reason, .. } if reason.is_fault() => {
                        tracing::info!(%id, %reason, "session closed");
                    }
                    _ => {}
                }
            }
            refused
        }
    })
    .await;
    let report = stopper.await;
    tracing::info!(?report, refused, stats = ?hub.stats(), "stopped");
    Ok(())
}
