//! The suite on tokio, through proto-tokio.

use std::future::Future;

use crate::harness::Runtime;

/// tokio's multi-threaded runtime, a fresh one per test.
pub(crate) struct Tokio;

impl Runtime for Tokio {
    type Rt = proto_tokio::Tokio;

    fn rt() -> Self::Rt {
        proto_tokio::Tokio
    }

    fn block_on<T>(fut: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime")
            .block_on(fut)
    }
}
