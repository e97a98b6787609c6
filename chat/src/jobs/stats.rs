//! [`JobStats`]: what a [`JobQueue`](super::JobQueue) has done, read from
//! counters the submitters and the worker update without a lock.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

/// Upper bounds, in seconds, of the latency histogram's buckets (the
/// last bucket, `+Inf`, is implied).
pub const LATENCY_BUCKETS: [f64; 10] =
    [0.000_5, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0, 5.0];

/// A job's latency, from submission to the end of its batch: counts per
/// bucket (not cumulative), their sum and how many.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Latency {
    /// Jobs per bucket of [`LATENCY_BUCKETS`], then the `+Inf` bucket.
    pub buckets: Vec<u64>,
    /// Sum of the latencies, in seconds.
    pub sum_seconds: f64,
    /// Jobs measured.
    pub count: u64,
    /// The longest, in seconds.
    pub max_seconds: f64,
}

impl Latency {
    /// `(upper bound, jobs in that bucket)`, not cumulative (the
    /// Prometheus encoder sums them up); the last bound is `+Inf`.
    pub fn per_bucket(&self) -> Vec<(f64, u64)> {
        let bounds = LATENCY_BUCKETS.iter().copied().chain([f64::INFINITY]);
        bounds.zip(self.buckets.iter().copied()).collect()
    }
}

/// A snapshot of a queue's counters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobStats {
    /// Jobs waiting in the queue now (not counting the batch the worker
    /// is running).
    pub depth: usize,
    /// The most jobs ever waiting at once.
    pub depth_high_water: usize,
    /// Jobs queued.
    pub submitted: u64,
    /// Jobs refused because the queue was full (the
    /// [`WhenFull::DropAndCount`](super::WhenFull::DropAndCount) policy,
    /// or [`try_submit`](super::JobQueue::try_submit)), or closed.
    pub dropped: u64,
    /// Jobs whose batch succeeded.
    pub done: u64,
    /// Jobs whose batch failed (logged; the worker goes on).
    pub failed: u64,
    /// Batches run.
    pub batches: u64,
    /// Submission-to-completion latency of every finished job.
    pub latency: Latency,
}

/// The live counters behind [`JobStats`].
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) depth_high_water: AtomicUsize,
    pub(super) submitted: AtomicU64,
    pub(super) dropped: AtomicU64,
    pub(super) done: AtomicU64,
    pub(super) failed: AtomicU64,
    pub(super) batches: AtomicU64,
    buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
    max_nanos: AtomicU64,
}

impl Counters {
    /// Records one finished job's latency.
    pub(super) fn observe(&self, latency: Duration) {
        let secs = latency.as_secs_f64();
        let bucket = LATENCY_BUCKETS
            .iter()
            .position(|&bound| secs <= bound)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.buckets[bucket].fetch_add(1, Relaxed);
        let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Relaxed);
        self.max_nanos.fetch_max(nanos, Relaxed);
    }

    /// The counters now, with `depth` as the queue reports it.
    pub(super) fn snapshot(&self, depth: usize) -> JobStats {
        let buckets: Vec<u64> = self.buckets.iter().map(|b| b.load(Relaxed)).collect();
        let nanos = |n: &AtomicU64| Duration::from_nanos(n.load(Relaxed)).as_secs_f64();
        JobStats {
            depth,
            depth_high_water: self.depth_high_water.load(Relaxed),
            submitted: self.submitted.load(Relaxed),
            dropped: self.dropped.load(Relaxed),
            done: self.done.load(Relaxed),
            failed: self.failed.load(Relaxed),
            batches: self.batches.load(Relaxed),
            latency: Latency {
                count: buckets.iter().sum(),
                buckets,
                sum_seconds: nanos(&self.sum_nanos),
                max_seconds: nanos(&self.max_nanos),
            },
        }
    }
}
