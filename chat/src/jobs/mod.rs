//! [`JobQueue`]: blocking work (a disk write, a database call) on a
//! thread of its own, behind a bounded queue — laster40Net's
//! `DBQueryProcess`, with a bound, a policy when full, batches, a drain on
//! shutdown and counters.
//!
//! Async tasks [`submit`](JobQueue::submit) jobs; one worker thread takes
//! every job waiting (up to `max_batch`) and hands them to a
//! [`BatchWorker`] in one call, so a store can write a batch in one
//! transaction. A slow worker never blocks a submitter that chose not to
//! wait: at most `capacity` jobs wait in the queue (plus the batch the
//! worker holds), and past that a job is refused and counted
//! ([`WhenFull::DropAndCount`]) or the submitter waits for room
//! ([`WhenFull::Wait`]).
//!
//! ```
//! use proto_chat::jobs::{BatchWorker, JobConfig, JobQueue};
//!
//! struct Print;
//! impl BatchWorker<String> for Print {
//!     fn run(&mut self, batch: &[String]) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//!         for line in batch { let _ = line.len(); }
//!         Ok(())
//!     }
//! }
//! let queue = JobQueue::start(JobConfig::default(), Print).expect("thread");
//! queue.try_submit("hello".to_string()).expect("room in the queue");
//! let stats = smol::block_on(queue.drain());     // waits for the worker
//! assert_eq!((stats.submitted, stats.done), (1, 1));
//! ```

mod stats;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::thread::JoinHandle;
use std::time::Instant;

use smol::channel::{Receiver, Sender, TryRecvError, TrySendError};

use stats::Counters;
pub use stats::{JobStats, LATENCY_BUCKETS, Latency};

/// Handles the jobs of one batch, in submission order, on the worker
/// thread (it may block).
pub trait BatchWorker<J>: Send + 'static {
    /// Runs one batch; an error counts the batch's jobs as failed and is
    /// logged, and the worker goes on with the next batch.
    fn run(&mut self, batch: &[J]) -> Result<(), Box<dyn std::error::Error + Send + Sync>>;
}

/// What [`JobQueue::submit`] does when `capacity` jobs are waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WhenFull {
    /// Wait until the worker makes room (back-pressure on the submitter).
    Wait,
    /// Refuse the job at once, count it in [`JobStats::dropped`] and log
    /// a warning (the first drop, then every 1,000th).
    #[default]
    DropAndCount,
}

/// A queue's size, batch size and policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobConfig {
    /// For logs and the worker thread's name.
    pub name: String,
    /// Most jobs waiting at once (at least 1).
    pub capacity: usize,
    /// Most jobs in one batch (at least 1).
    pub max_batch: usize,
    /// What a submission does when the queue is full.
    pub when_full: WhenFull,
}

impl Default for JobConfig {
    /// `jobs`, 1,024 waiting, batches of up to 256, drop and count.
    fn default() -> Self {
        Self {
            name: "jobs".into(),
            capacity: 1024,
            max_batch: 256,
            when_full: WhenFull::DropAndCount,
        }
    }
}

/// Why a job was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refused {
    /// `capacity` jobs were waiting; the job was dropped and counted.
    #[error("job queue full ({capacity} waiting): job dropped")]
    Full {
        /// The queue's capacity.
        capacity: usize,
    },
    /// The queue is draining or drained.
    #[error("job queue closed: job dropped")]
    Closed,
}

/// A job and when it was submitted.
struct Queued<J> {
    job: J,
    at: Instant,
}

/// A bounded queue in front of a worker thread; see the [module
/// docs](self). Dropping it closes the queue: the worker finishes what
/// is queued and exits on its own ([`drain`](Self::drain) waits for it).
pub struct JobQueue<J> {
    config: JobConfig,
    tx: Sender<Queued<J>>,
    counters: Arc<Counters>,
    finished: Receiver<()>,
    thread: Option<JoinHandle<()>>,
}

impl<J> std::fmt::Debug for JobQueue<J> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobQueue")
            .field("config", &self.config)
            .field("depth", &self.tx.len())
            .finish_non_exhaustive()
    }
}

impl<J: Send + 'static> JobQueue<J> {
    /// Starts the worker thread with `worker`. Fails only if the thread
    /// cannot be spawned.
    pub fn start(config: JobConfig, worker: impl BatchWorker<J>) -> std::io::Result<Self> {
        let config = JobConfig {
            capacity: config.capacity.max(1),
            max_batch: config.max_batch.max(1),
            ..config
        };
        let (tx, rx) = smol::channel::bounded(config.capacity);
        let (done_tx, finished) = smol::channel::bounded(1);
        let counters = Arc::new(Counters::default());
        let thread = std::thread::Builder::new()
            .name(config.name.clone())
            .spawn({
                let (counters, name, max_batch) =
                    (counters.clone(), config.name.clone(), config.max_batch);
                move || {
                    work(&rx, worker, &counters, &name, max_batch);
                    let _ = done_tx.try_send(());
                }
            })?;
        Ok(Self {
            config,
            tx,
            counters,
            finished,
            thread: Some(thread),
        })
    }

    /// Queues `job` as the policy says: under [`WhenFull::Wait`], waits
    /// for room; under [`WhenFull::DropAndCount`], as
    /// [`try_submit`](Self::try_submit).
    pub async fn submit(&self, job: J) -> Result<(), Refused> {
        match self.config.when_full {
            WhenFull::DropAndCount => self.try_submit(job),
            WhenFull::Wait => {
                let queued = Queued {
                    job,
                    at: Instant::now(),
                };
                match self.tx.send(queued).await {
                    Ok(()) => self.queued(),
                    Err(_) => Err(self.dropped(Refused::Closed)),
                }
            }
        }
    }

    /// Queues `job` without waiting, whatever the policy: a job that
    /// finds the queue full (or closed) is dropped and counted.
    pub fn try_submit(&self, job: J) -> Result<(), Refused> {
        let queued = Queued {
            job,
            at: Instant::now(),
        };
        match self.tx.try_send(queued) {
            Ok(()) => self.queued(),
            Err(TrySendError::Full(_)) => Err(self.dropped(Refused::Full {
                capacity: self.config.capacity,
            })),
            Err(TrySendError::Closed(_)) => Err(self.dropped(Refused::Closed)),
        }
    }

    /// Counts a job queued.
    fn queued(&self) -> Result<(), Refused> {
        self.counters.submitted.fetch_add(1, Relaxed);
        self.counters
            .depth_high_water
            .fetch_max(self.tx.len(), Relaxed);
        Ok(())
    }

    fn dropped(&self, why: Refused) -> Refused {
        let n = self.counters.dropped.fetch_add(1, Relaxed) + 1;
        if n == 1 || n % 1000 == 0 {
            tracing::warn!(queue = %self.config.name, dropped = n, "{why}");
        }
        why
    }

    /// The counters now.
    pub fn stats(&self) -> JobStats {
        self.counters.snapshot(self.tx.len())
    }

    /// A handle that reads the counters from anywhere (a metrics
    /// endpoint).
    pub fn stats_handle(&self) -> StatsHandle {
        StatsHandle {
            counters: self.counters.clone(),
            depth: Arc::new({
                let tx = self.tx.clone();
                move || tx.len()
            }),
        }
    }

    /// The queue's settings (capacity and batch size at least 1).
    pub fn config(&self) -> &JobConfig {
        &self.config
    }

    /// Closes the queue (later submissions are refused and counted),
    /// waits until the worker has run every job already queued, and
    /// returns the final counters.
    pub async fn drain(mut self) -> JobStats {
        self.tx.close();
        let _ = self.finished.recv().await;
        if let Some(thread) = self.thread.take() {
            // The worker signalled its end: this join does not wait.
            if thread.join().is_err() {
                tracing::error!(queue = %self.config.name, "the job worker panicked");
            }
        }
        self.stats()
    }
}

impl<J> Drop for JobQueue<J> {
    fn drop(&mut self) {
        self.tx.close();
    }
}

/// Reads a queue's counters from anywhere; cheap to clone. It does not
/// keep the queue open: [`JobQueue::drain`] and dropping the queue close
/// it all the same.
#[derive(Clone)]
pub struct StatsHandle {
    counters: Arc<Counters>,
    depth: Arc<dyn Fn() -> usize + Send + Sync>,
}

impl std::fmt::Debug for StatsHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatsHandle").finish_non_exhaustive()
    }
}

impl StatsHandle {
    /// The counters now.
    pub fn stats(&self) -> JobStats {
        self.counters.snapshot((self.depth)())
    }
}

/// The worker thread: a batch of every job waiting (up to `max_batch`),
/// until the queue is closed and empty.
fn work<J>(
    rx: &Receiver<Queued<J>>,
    mut worker: impl BatchWorker<J>,
    counters: &Counters,
    name: &str,
    max_batch: usize,
) {
    let mut batch = Vec::with_capacity(max_batch);
    let mut times = Vec::with_capacity(max_batch);
    while let Ok(first) = rx.recv_blocking() {
        batch.push(first.job);
        times.push(first.at);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(next) => {
                    batch.push(next.job);
                    times.push(next.at);
                }
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        let n = batch.len() as u64;
        match worker.run(&batch) {
            Ok(()) => counters.done.fetch_add(n, Relaxed),
            Err(err) => {
                tracing::warn!(queue = %name, jobs = n, error = %err, "job batch failed");
                counters.failed.fetch_add(n, Relaxed)
            }
        };
        counters.batches.fetch_add(1, Relaxed);
        let end = Instant::now();
        for at in times.drain(..) {
            counters.observe(end.saturating_duration_since(at));
        }
        batch.clear();
    }
}
