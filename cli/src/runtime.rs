//! [`RuntimeKind`], [`Main`] and [`block_on`]: one program, two runtimes.

use std::future::Future;
use std::io;

use crate::TlsRuntime;

/// The async runtime a binary runs on (`--runtime`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum RuntimeKind {
    /// tokio, multi-threaded (`proto_tokio::Tokio`).
    #[default]
    Tokio,
    /// smol's global executor (`proto_smol::Smol`).
    Smol,
}

/// A program written once against the driver's
/// [`Runtime`](proto_core::driver::Runtime) trait.
pub trait Main {
    /// What the program returns.
    type Output;

    /// Runs the program on runtime `R` (its default value spawns on the
    /// runtime [`block_on`] started; [`TlsRuntime::Tls`] is the same
    /// through TLS).
    fn run<R: TlsRuntime>(self) -> impl Future<Output = Self::Output>;
}

/// Runs `main` to completion on the runtime `kind` names. Fails only if
/// the tokio runtime cannot be built.
pub fn block_on<M: Main>(kind: RuntimeKind, main: M) -> io::Result<M::Output> {
    Ok(match kind {
        RuntimeKind::Tokio => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(main.run::<proto_tokio::Tokio>()),
        RuntimeKind::Smol => smol::block_on(main.run::<proto_smol::Smol>()),
    })
}

/// Ctrl-C and SIGTERM, as a channel any runtime can await: one `()` per
/// signal. Fails if a handler was installed already.
pub fn interrupts() -> io::Result<smol::channel::Receiver<()>> {
    let (tx, rx) = smol::channel::bounded(1);
    ctrlc::set_handler(move || {
        let _ = tx.try_send(());
    })
    .map_err(io::Error::other)?;
    Ok(rx)
}
