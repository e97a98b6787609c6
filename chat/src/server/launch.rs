//! The `chat_server` program: [`ServerArgs`] run as a [`Main`] on the
//! runtime `--runtime` names, through TLS when `--tls-cert` and
//! `--tls-key` are given.

use std::process::ExitCode;

use proto_cli::{Main, TlsRuntime};
use proto_core::driver::Runtime;

use super::ChatServer;
use crate::config::{ServerArgs, Settings, secs};

impl Main for ServerArgs {
    type Output = ExitCode;

    /// Reads the settings (and the TLS files), binds every door, serves
    /// until Ctrl-C, SIGTERM or `--run-for`, then shuts down gracefully.
    async fn run<R: TlsRuntime>(self) -> ExitCode {
        let tls = self.settings().and_then(|s| Ok((s.tls()?, s)));
        match tls {
            Ok((Some(tls), settings)) => {
                tracing::info!("TLS on every door");
                self.serve(R::default().tls_server(tls), settings).await
            }
            Ok((None, settings)) => self.serve(R::default(), settings).await,
            Err(err) => {
                tracing::error!("{err}");
                ExitCode::from(2)
            }
        }
    }
}

impl ServerArgs {
    /// Opens the history, binds every door on `runtime` and serves.
    async fn serve<R: Runtime>(self, runtime: R, settings: Settings) -> ExitCode {
        let history = match super::open_history(&settings) {
            Ok(history) => history,
            Err(err) => {
                let file = settings.history_file.display();
                tracing::error!("cannot open the history file {file}: {err}");
                return ExitCode::FAILURE;
            }
        };
        let server = match ChatServer::bind_on(runtime.clone(), settings).await {
            Ok(server) => server,
            Err(err) => {
                tracing::error!("{err}");
                return ExitCode::FAILURE;
            }
        };
        let server = match history {
            Some(store) => server.with_history(store),
            None => server,
        };
        let interrupts = match proto_cli::interrupts() {
            Ok(rx) => rx,
            Err(err) => {
                tracing::error!("cannot catch Ctrl-C: {err}");
                return ExitCode::FAILURE;
            }
        };
        let run_for = self.run_for;
        let stop = async move {
            let signalled = async {
                let _ = interrupts.recv().await;
            };
            let limit = async {
                match run_for {
                    Some(s) if s.is_finite() && s >= 0.0 => runtime.sleep(secs(s)).await,
                    _ => std::future::pending().await,
                }
            };
            smol::future::or(signalled, limit).await;
        };
        server.run(stop).await;
        ExitCode::SUCCESS
    }
}
