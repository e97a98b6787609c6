//! Command-line glue shared by the workspace's application binaries
//! (`proto-echo`, `proto-chat`), so that each binary is a thin shell:
//!
//! - [`RuntimeKind`] and [`block_on`]: the `--runtime tokio|smol` flag, and
//!   running a [`Main`] written once against the driver's
//!   [`Runtime`](proto_core::driver::Runtime) trait on either;
//! - [`tls`]: each of those runtimes with its adapter's TLS layer
//!   ([`TlsRuntime`]), and rustls configurations from PEM files;
//! - [`init_logging`]: `tracing` to stderr, `RUST_LOG` or a default, colours
//!   only on a terminal;
//! - [`interrupts`]: Ctrl-C and SIGTERM as an async stream, on any runtime;
//! - [`Console`]: a line editor whose output from other threads does not
//!   break the line being typed.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod console;
mod runtime;
pub mod tls;

pub use console::{Console, Input, Printer};
pub use runtime::{Main, RuntimeKind, block_on, interrupts};
pub use tls::TlsRuntime;

/// Logs to stderr with `tracing`: the level from `RUST_LOG`, else
/// `default` (`"info"` for servers; interactive clients use `"warn"` so
/// that the session's own logs do not mix with the conversation); ANSI
/// colours only when stderr is a terminal.
pub fn init_logging(default: &str) {
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_env_filter(filter)
        .init();
}
