//! The chat server; `--help` lists the options. See the `proto_chat` docs.

use std::process::ExitCode;

use clap::Parser;
use proto_chat::config::ServerArgs;

fn main() -> ExitCode {
    proto_cli::init_logging("info");
    let args = ServerArgs::parse();
    proto_cli::block_on(args.runtime, args).unwrap_or_else(|err| {
        tracing::error!("cannot start the runtime: {err}");
        ExitCode::FAILURE
    })
}
