//! The echo client; `--help` lists the options. See the `proto_echo` docs.

use std::process::ExitCode;

use clap::Parser;
use proto_echo::client::ClientArgs;

fn main() -> ExitCode {
    let args = ClientArgs::parse();
    // The check reports at info level; the interactive client keeps quiet.
    proto_cli::init_logging(if args.count.is_some() { "info" } else { "warn" });
    match proto_cli::block_on(args.runtime, args) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(err)) => {
            tracing::error!("{err}");
            ExitCode::FAILURE
        }
        Err(err) => {
            tracing::error!("{err}");
            ExitCode::FAILURE
        }
    }
}
