//! Workspace-level tests. They live in `tests/tests/`:
//!
//! - `differential_tokio_util.rs`: proto-core's length-field codec against
//!   tokio-util's `LengthDelimitedCodec`, byte for byte.
//! - `suite/`: one behaviour suite run on tokio, smol and async-std.
//!   `suite/behaviours.rs` holds each behaviour once, as an async body
//!   generic over the `Runtime` trait of `suite/harness.rs`; `suite/rt_*.rs`
//!   implement that trait per runtime (through proto-tokio and proto-smol);
//!   `suite/peers.rs` holds the peers that are not ours (blocking std
//!   sockets that misbehave on purpose, tokio-util `Framed`); `suite/main.rs`
//!   generates one `#[test]` per (behaviour, runtime) and per (server
//!   runtime, client runtime) pair. Everything runs on loopback sockets,
//!   each test under a time limit so that a hang fails.
//!
//! This library is empty; the harness is test code, so the adapters and
//! runtimes stay dev-dependencies.
#![forbid(unsafe_code)]
