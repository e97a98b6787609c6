//! A broadcast server on tokio: every session joins one group, and every
//! message any session sends goes to all of them, framed once and shared
//! (zero copy) by every member's queue. The handler path: no hop between
//! tasks per message. For the fan-out benchmark
//! (`loadgen broadcast --codec tokio-util`).
//!
//! ```text
//! cargo run --release -p proto-tokio --example broadcast_server -- --addr 127.0.0.1:7200
//! ```

use std::time::Duration;

use bytes::Bytes;
use clap::Parser;
use proto_core::frame::LengthField;
use proto_core::hub::{AdmissionConfig, HubConfig, SessionHandle};
use proto_tokio::{Server, ServerConfig};

/// Send every message to every session.
#[derive(Debug, Parser)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7200")]
    addr: String,
    /// Runtime worker threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Most live sessions.
    #[arg(long, default_value_t = 20_000)]
    max_sessions: usize,
    /// Stop after this many seconds.
    #[arg(long, default_value_t = 600)]
    run_for: u64,
}

const GROUP: &str = "all";

fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()?
        .block_on(serve(&args))
}

async fn serve(args: &Args) -> std::io::Result<()> {
    let config = ServerConfig::default().hub(
        HubConfig::default().admission(
            AdmissionConfig::default()
                .max_sessions(args.max_sessions)
                .max_sessions_per_ip(None),
        ),
    );
    let server = Server::bind(args.addr.clone(), LengthField::tokio_util(), config).await?;
    let hub = server.hub().clone();
    let run = server.run_with({
        let hub = hub.clone();
        move |_session: &SessionHandle| {
            let hub = hub.clone();
            Member { hub, refused: 0 }
        }
    });
    tokio::select! {
        () = run => {}
        () = tokio::time::sleep(Duration::from_secs(args.run_for)) => {}
    }
    let report = hub
        .shutdown(tokio::time::sleep(Duration::from_secs(2)))
        .await;
    tracing::info!(?report, stats = ?hub.stats(), "stopped");
    Ok(())
}

/// One session's handler: joins the group, broadcasts what it receives.
struct Member {
    hub: proto_core::hub::Hub<LengthField>,
    refused: u64,
}

impl proto_core::driver::Handler for Member {
    fn on_open(&mut self, session: &SessionHandle) {
        self.hub.join(GROUP, session.id());
    }

    fn on_message(&mut self, _session: &SessionHandle, payload: Bytes) {
        match self.hub.broadcast_group(GROUP, payload) {
            Ok(report) if report.failed.is_empty() => {}
            Ok(report) => {
                self.refused += report.failed.len() as u64;
                tracing::warn!(
                    failed = report.failed.len(),
                    refused = self.refused,
                    "broadcast refused by some members"
                );
            }
            Err(err) => tracing::warn!(%err, "broadcast not framed"),
        }
    }
}
