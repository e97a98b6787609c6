//! The echo server; `--help` lists the options. See the `proto_echo` docs.

use clap::Parser;
use proto_echo::server::ServerArgs;

fn main() -> std::io::Result<()> {
    proto_cli::init_logging("info");
    let args = ServerArgs::parse();
    proto_cli::block_on(args.runtime, args)?
}
