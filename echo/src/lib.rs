//! Echo server and client over proto-core, on tokio or smol
//! (`--runtime`). The binaries are thin shells over this library:
//!
//! ```text
//! cargo run --release -p proto-echo --bin echo_server                    # tokio, 127.0.0.1:7000, laster40net
//! cargo run --release -p proto-echo --bin echo_server -- --runtime smol
//! cargo run --release -p proto-echo --bin echo_client                    # interactive: type lines
//! cargo run --release -p proto-echo --bin echo_client -- --count 10000   # send, verify every echo
//! ```
//!
//! - [`server`]: the concurrent echo server; its flags (`--addr --preset
//!   --max-sessions --max-per-ip --idle-timeout --write-timeout
//!   --memory-budget-mib --grace --run-for --handler`) are what the
//!   benchmark scripts use.
//! - [`client`]: the interactive client (each typed line a frame, replies
//!   printed as they arrive, `quit` exits) and the `--count/--size` check
//!   (sends N messages paced by `writable()`, verifies every echo).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod client;
pub mod preset;
pub mod server;

pub use preset::Preset;
