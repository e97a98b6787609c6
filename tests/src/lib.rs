//! Workspace-level tests: differential tests against peer implementations
//! (tokio-util), and, as the adapters grow, one behaviour suite run on every
//! runtime. The tests live in `tests/tests/`; this library holds shared
//! helpers.
#![forbid(unsafe_code)]
