//! The echo server: every message a client sends comes back to it.
//! Ctrl-C or SIGTERM (or `--run-for`) shuts it down gracefully: queued
//! replies are flushed first.

use std::marker::PhantomData;
use std::time::Duration;

use bytes::Bytes;
use clap::Parser;
use proto_cli::{Main, RuntimeKind};
use proto_core::driver::{Runtime, Server, ServerConfig};
use proto_core::hub::{AdmissionConfig, Event, HubConfig, SessionHandle};
use proto_core::message::MessageFactory;
use proto_core::session::SessionConfig;

use crate::Preset;
use crate::preset::WithCodec;

/// Echo every message back to its sender.
#[derive(Debug, Clone, Parser)]
#[command(name = "echo_server", version)]
pub struct ServerArgs {
    /// The async runtime to run on.
    #[arg(long, value_enum, default_value = "tokio")]
    pub runtime: RuntimeKind,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7000")]
    pub addr: String,
    /// Wire format.
    #[arg(long, value_enum, default_value = "laster40net")]
    pub preset: Preset,
    /// Most live sessions.
    #[arg(long, default_value_t = 10_000)]
    pub max_sessions: usize,
    /// Most live sessions per IP address (default: no limit).
    #[arg(long)]
    pub max_per_ip: Option<usize>,
    /// Close sessions that send nothing for this many seconds (0: never).
    #[arg(long, default_value_t = 300)]
    pub idle_timeout: u64,
    /// Close a session whose socket takes no bytes for this many seconds
    /// while replies wait (0: never).
    #[arg(long, default_value_t = 30)]
    pub write_timeout: u64,
    /// Most MiB queued for sending across all sessions.
    #[arg(long, default_value_t = 256)]
    pub memory_budget_mib: usize,
    /// Seconds queued replies may take to flush on shutdown.
    #[arg(long, default_value_t = 5)]
    pub grace: u64,
    /// Also shut down by itself after this many seconds.
    #[arg(long)]
    pub run_for: Option<u64>,
    /// Echo on each session's own task (a `Handler`) instead of through
    /// the event stream: no hop between tasks per message.
    #[arg(long)]
    pub handler: bool,
}

impl ServerArgs {
    /// The server's configuration from the flags.
    pub fn config(&self) -> ServerConfig {
        let secs = |s: u64| (s > 0).then(|| Duration::from_secs(s));
        ServerConfig::default().hub(
            HubConfig::default()
                .session(
                    SessionConfig::default()
                        .idle_timeout(secs(self.idle_timeout))
                        .write_timeout(secs(self.write_timeout)),
                )
                .memory_budget(self.memory_budget_mib << 20)
                .admission(
                    AdmissionConfig::default()
                        .max_sessions(self.max_sessions)
                        .max_sessions_per_ip(self.max_per_ip),
                ),
        )
    }
}

impl Main for ServerArgs {
    type Output = std::io::Result<()>;

    async fn run<R: Runtime + Default>(self) -> Self::Output {
        let preset = self.preset;
        preset
            .with_codec(Serve::<R> {
                args: self,
                runtime: PhantomData,
            })
            .await
    }
}

/// [`ServerArgs`] on runtime `R`, waiting for its codec.
struct Serve<R> {
    args: ServerArgs,
    runtime: PhantomData<R>,
}

impl<R: Runtime + Default> WithCodec for Serve<R> {
    type Output = std::io::Result<()>;

    async fn call<F>(self, codec: F) -> Self::Output
    where
        F: MessageFactory + 'static,
    {
        serve::<F, R>(codec, &self.args).await
    }
}

/// Runs the echo server with `codec` on runtime `R` until a signal or
/// `--run-for` ends it and the last session has closed.
pub async fn serve<F, R>(codec: F, args: &ServerArgs) -> std::io::Result<()>
where
    F: MessageFactory + 'static,
    R: Runtime + Default,
{
    let runtime = R::default();
    let mut server = Server::<F, R>::bind(args.addr.clone(), codec, args.config()).await?;
    // With handlers, the stream carries no session's events; it ends when
    // the shutdown completes, which the loop below waits for either way.
    let mut events = server.events();
    let hub = server.hub().clone();
    if args.handler {
        runtime.spawn(server.run_with(|_: &SessionHandle| {
            |session: &SessionHandle, payload: Bytes| {
                if let Err(err) = session.send(payload) {
                    tracing::warn!(id = %session.id(), error = %err, "reply refused");
                }
            }
        }));
    } else {
        runtime.spawn(server.run());
    }

    // Shutdown runs on a task of its own once a signal (or --run-for)
    // arrives; the loop below keeps handling events meanwhile (replies to
    // what was read, and every Closed), until the stream ends after the
    // last session has closed.
    let interrupts = proto_cli::interrupts()?;
    let grace = Duration::from_secs(args.grace);
    let run_for = args.run_for.map(Duration::from_secs);
    runtime.spawn({
        let hub = hub.clone();
        let runtime = runtime.clone();
        async move {
            let signalled = async {
                let _ = interrupts.recv().await;
            };
            let limit = async {
                match run_for {
                    Some(limit) => runtime.sleep(limit).await,
                    None => std::future::pending().await,
                }
            };
            smol::future::or(signalled, limit).await;
            hub.shutdown(runtime.sleep(grace)).await;
        }
    });
    // The event loop runs on a task of the runtime that drives the
    // sessions, not in the `block_on` that runs this function: there it
    // would run on the main thread, apart from the runtime's workers, and
    // every event would cost a wake-up across threads (measured: about
    // 1.5× the CPU per message, and twice the round-trip latency).
    let (done, finished) = smol::channel::bounded(1);
    runtime.spawn({
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
            let _ = done.send(refused).await;
        }
    });
    let refused = finished.recv().await.unwrap_or_default();
    let report = hub.shutdown_report();
    tracing::info!(?report, refused, stats = ?hub.stats(), "stopped");
    Ok(())
}
