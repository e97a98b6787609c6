//! The `chat_server` program: [`ServerArgs`] run as a [`Main`] on the
//! runtime `--runtime` names.

use std::process::ExitCode;

use proto_cli::Main;
use proto_core::driver::Runtime;

use super::ChatServer;
use crate::config::{ServerArgs, secs};

impl Main for ServerArgs {
    type Output = ExitCode;

    /// Binds both doors, serves until Ctrl-C, SIGTERM or `--run-for`, then
    /// shuts down gracefully.
    async fn run<R: Runtime + Default>(self) -> ExitCode {
        let settings = match self.settings() {
            Ok(settings) => settings,
            Err(err) => {
                tracing::error!("{err}");
                return ExitCode::from(2);
            }
        };
        let history = match super::open_history(&settings) {
            Ok(history) => history,
            Err(err) => {
                let file = settings.history_file.display();
                tracing::error!("cannot open the history file {file}: {err}");
                return ExitCode::FAILURE;
            }
        };
        let server = match ChatServer::<R>::bind(settings).await {
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
                    Some(s) if s.is_finite() && s >= 0.0 => R::default().sleep(secs(s)).await,
                    _ => std::future::pending().await,
                }
            };
            smol::future::or(signalled, limit).await;
        };
        server.run(stop).await;
        ExitCode::SUCCESS
    }
}
