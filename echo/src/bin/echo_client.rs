//! The echo client; `--help` lists the options. See the `proto_echo` docs.

use std::process::ExitCode;

use clap::Parser;
use proto_echo::client::ClientArgs;

fn main() -> ExitCode {
    proto_cli::init_logging();
    let args = ClientArgs::parse();
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
