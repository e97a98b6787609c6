//! The suite on smol, through proto-smol (smol's global executor).

use std::future::Future;

use crate::harness::Runtime;

/// smol: `smol::block_on` on the test's thread, tasks on the global
/// executor, async-io sockets and timers.
pub(crate) struct Smol;

impl Runtime for Smol {
    type Rt = proto_smol::Smol;

    fn rt() -> Self::Rt {
        proto_smol::Smol::default()
    }

    fn block_on<T>(fut: impl Future<Output = T>) -> T {
        smol::block_on(fut)
    }
}
