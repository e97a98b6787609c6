//! The queue's limits and promises with a worker the test holds still: a
//! gate the worker waits on inside a batch.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;

type Batches = Arc<Mutex<Vec<Vec<u32>>>>;

/// Records each batch; the first batch waits until the gate opens (the
/// gate's sender is dropped or sent to), and reports that it started.
struct Gated {
    batches: Batches,
    started: smol::channel::Sender<()>,
    gate: Receiver<()>,
}

impl BatchWorker<u32> for Gated {
    fn run(&mut self, batch: &[u32]) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let _ = self.started.try_send(());
        let _ = self.gate.recv_blocking();
        self.batches.lock().expect("lock").push(batch.to_vec());
        if batch.contains(&666) {
            return Err("a failing job".into());
        }
        Ok(())
    }
}

struct Held {
    queue: JobQueue<u32>,
    batches: Batches,
    open: smol::channel::Sender<()>,
}

/// A queue whose worker holds job 0 inside its first batch until
/// `open` is dropped.
fn held(capacity: usize, when_full: WhenFull) -> Held {
    let batches = Batches::default();
    let (started, is_started) = smol::channel::bounded(1);
    let (open, gate) = smol::channel::bounded(1);
    let worker = Gated {
        batches: batches.clone(),
        started,
        gate,
    };
    let config = JobConfig {
        name: "test".into(),
        capacity,
        max_batch: 256,
        when_full,
    };
    let queue = JobQueue::start(config, worker).expect("worker thread");
    queue.try_submit(0).expect("the first job");
    smol::block_on(is_started.recv()).expect("the worker took job 0");
    Held {
        queue,
        batches,
        open,
    }
}

#[test]
fn refuses_the_job_over_capacity_and_counts_it() {
    let Held {
        queue,
        batches,
        open,
    } = held(8, WhenFull::DropAndCount);
    for job in 1..=8 {
        assert_eq!(queue.try_submit(job), Ok(()), "job {job} of capacity 8");
    }
    assert_eq!(queue.try_submit(9), Err(Refused::Full { capacity: 8 }));
    assert_eq!(
        smol::block_on(queue.submit(10)),
        Err(Refused::Full { capacity: 8 })
    );
    let stats = queue.stats();
    assert_eq!(
        (
            stats.depth,
            stats.depth_high_water,
            stats.submitted,
            stats.dropped
        ),
        (8, 8, 9, 2)
    );
    drop(open);
    let stats = smol::block_on(queue.drain());
    assert_eq!((stats.done, stats.dropped, stats.depth), (9, 2, 0));
    let batches = batches.lock().expect("lock").clone();
    assert_eq!(batches, vec![vec![0], (1..=8).collect::<Vec<_>>()]);
}

#[test]
fn a_stuck_worker_never_blocks_a_submitter() {
    // 10,000 submissions while the worker is stuck in its first batch:
    // every call returns (this test would hang otherwise), 8 are queued,
    // the rest are dropped and counted.
    let Held { queue, open, .. } = held(8, WhenFull::DropAndCount);
    let refused = (1..=10_000)
        .filter(|&j| queue.try_submit(j).is_err())
        .count();
    assert_eq!(refused, 10_000 - 8);
    assert_eq!(queue.stats().dropped, 10_000 - 8);
    drop(open);
    let stats = smol::block_on(queue.drain());
    assert_eq!(stats.done, 9);
    assert_eq!(stats.latency.count, 9);
}

#[test]
fn wait_policy_waits_for_room() {
    let Held { queue, open, .. } = held(2, WhenFull::Wait);
    smol::block_on(async {
        queue.submit(1).await.expect("room");
        queue.submit(2).await.expect("room");
        let mut third = Box::pin(queue.submit(3));
        assert_eq!(
            smol::future::poll_once(&mut third).await,
            None,
            "waits while full"
        );
        drop(open);
        assert_eq!(third.await, Ok(()));
    });
    let stats = smol::block_on(queue.drain());
    assert_eq!((stats.submitted, stats.dropped, stats.done), (4, 0, 4));
}

#[test]
fn drain_runs_every_queued_job_then_refuses_more() {
    let Held {
        queue,
        batches,
        open,
    } = held(1000, WhenFull::DropAndCount);
    for job in 1..=600 {
        queue.try_submit(job).expect("room");
    }
    let handle = queue.stats_handle();
    drop(open);
    let stats = smol::block_on(queue.drain());
    assert_eq!(
        (stats.done, stats.batches),
        (601, 4),
        "batches of at most 256"
    );
    let all: Vec<u32> = batches.lock().expect("lock").concat();
    assert_eq!(all, (0..=600).collect::<Vec<_>>(), "in submission order");
    assert_eq!(handle.stats().done, 601, "the handle outlives the queue");
}

#[test]
fn a_failed_batch_is_counted_and_the_worker_goes_on() {
    let Held { queue, open, .. } = held(8, WhenFull::DropAndCount);
    queue.try_submit(666).expect("room");
    drop(open);
    queue.try_submit(7).expect("room");
    let stats = smol::block_on(queue.drain());
    assert_eq!(stats.done + stats.failed, 3);
    assert!(stats.failed >= 1, "{stats:?}");
}

#[test]
fn latency_lands_in_its_bucket() {
    let counters = Counters::default();
    counters.observe(Duration::from_micros(100));
    counters.observe(Duration::from_millis(30));
    counters.observe(Duration::from_secs(10));
    let latency = counters.snapshot(0).latency;
    let buckets = latency.per_bucket();
    assert_eq!(buckets.first(), Some(&(0.000_5, 1)));
    assert_eq!(buckets[5], (0.05, 1), "30 ms: over 25 ms, at most 50 ms");
    assert_eq!(buckets.last(), Some(&(f64::INFINITY, 1)));
    assert_eq!(buckets.iter().map(|b| b.1).sum::<u64>(), 3);
    assert_eq!(latency.count, 3);
    assert!((latency.max_seconds - 10.0).abs() < 1e-9);
}
