//! Runs [proto-core](proto_core) on tokio sockets.
//!
//! This adapter is being built: the session and hub layers it drives land
//! first in proto-core. Today it re-exports the framing layer.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use proto_core::frame;
