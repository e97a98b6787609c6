//! The load generator's modes.

pub(crate) mod broadcast;
pub(crate) mod echo;
pub(crate) mod hostile;
pub(crate) mod idle;
pub(crate) mod rate;
mod reader;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use crate::wire::Codec;

/// What every mode is given.
#[derive(Debug, Clone)]
pub(crate) struct Common {
    pub(crate) target: SocketAddr,
    pub(crate) codec: Codec,
    pub(crate) size: usize,
    /// When the run began: payload timestamps count from here.
    pub(crate) start: Instant,
    /// Replies before this (after `start`) are left out of the figures.
    pub(crate) warmup: Duration,
    /// When senders stop.
    pub(crate) stop: Instant,
    /// Verified replies so far, for the progress bar.
    pub(crate) progress: Arc<AtomicU64>,
}

impl Common {
    /// Nanoseconds since the run began.
    pub(crate) fn now_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// The measured stretch, in seconds.
    pub(crate) fn measured_secs(&self) -> f64 {
        (self.stop - self.start)
            .saturating_sub(self.warmup)
            .as_secs_f64()
    }
}

/// Waits for every connection's task; returns the merged tally, how many
/// connections failed, and how many replies never came.
pub(crate) async fn gather(
    tasks: Vec<tokio::task::JoinHandle<std::io::Result<(crate::report::Tally, u64)>>>,
) -> (crate::report::Tally, usize, u64) {
    let (mut tally, mut failed, mut lost) = (crate::report::Tally::default(), 0, 0);
    for task in tasks {
        match task.await {
            Ok(Ok((t, l))) => {
                tally.merge(&t);
                lost += l;
            }
            Ok(Err(_)) | Err(_) => failed += 1,
        }
    }
    (tally, failed, lost)
}
