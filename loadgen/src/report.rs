//! What a run measured, as a table row or JSON.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::modes::hostile::Outcome;

/// Counters shared by a run's connections.
#[derive(Debug)]
pub(crate) struct Tally {
    /// Latencies in microseconds.
    pub(crate) latency: Histogram<u64>,
    /// Replies received and verified (after the warm-up).
    pub(crate) messages: u64,
    /// Their bytes, frame headers included.
    pub(crate) bytes: u64,
    /// Replies that were corrupt, out of order or unexpected.
    pub(crate) errors: u64,
    /// The first few error messages.
    pub(crate) samples: Vec<String>,
}

impl Default for Tally {
    fn default() -> Self {
        Self {
            latency: Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds"),
            messages: 0,
            bytes: 0,
            errors: 0,
            samples: Vec::new(),
        }
    }
}

impl Tally {
    pub(crate) fn record(&mut self, micros: u64, bytes: usize) {
        self.latency.saturating_record(micros.max(1));
        self.messages += 1;
        self.bytes += bytes as u64;
    }

    pub(crate) fn error(&mut self, what: String) {
        self.errors += 1;
        if self.samples.len() < 5 {
            self.samples.push(what);
        }
    }

    pub(crate) fn merge(&mut self, other: &Tally) {
        self.latency.add(&other.latency).expect("same bounds");
        self.messages += other.messages;
        self.bytes += other.bytes;
        self.errors += other.errors;
        for sample in &other.samples {
            if self.samples.len() < 5 {
                self.samples.push(sample.clone());
            }
        }
    }
}

/// One run's figures.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    pub(crate) mode: &'static str,
    pub(crate) label: String,
    pub(crate) connections: usize,
    pub(crate) failed_connections: usize,
    pub(crate) seconds: f64,
    pub(crate) msgs_per_sec: f64,
    pub(crate) mb_per_sec: f64,
    pub(crate) p50_us: u64,
    pub(crate) p99_us: u64,
    pub(crate) p999_us: u64,
    pub(crate) max_us: u64,
    pub(crate) messages: u64,
    /// Replies that never came (echo: in flight at the end are not lost;
    /// broadcast: deliveries expected and not received).
    pub(crate) lost: u64,
    pub(crate) errors: u64,
    pub(crate) error_samples: Vec<String>,
    /// Idle mode: the server's resident set per connection, if its pid
    /// was given.
    pub(crate) rss_per_connection: Option<f64>,
    /// Hostile mode: what happened to each kind of hostile connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) hostile: Option<BTreeMap<&'static str, Outcome>>,
}

impl Report {
    pub(crate) fn new(mode: &'static str, label: &str, connections: usize, seconds: f64) -> Self {
        Self {
            mode,
            label: label.to_string(),
            connections,
            failed_connections: 0,
            seconds,
            msgs_per_sec: 0.0,
            mb_per_sec: 0.0,
            p50_us: 0,
            p99_us: 0,
            p999_us: 0,
            max_us: 0,
            messages: 0,
            lost: 0,
            errors: 0,
            error_samples: Vec::new(),
            rss_per_connection: None,
            hostile: None,
        }
    }

    pub(crate) fn with_tally(mut self, tally: &Tally) -> Self {
        let h = &tally.latency;
        self.messages = tally.messages;
        self.msgs_per_sec = tally.messages as f64 / self.seconds.max(1e-9);
        self.mb_per_sec = tally.bytes as f64 / 1e6 / self.seconds.max(1e-9);
        if !h.is_empty() {
            self.p50_us = h.value_at_quantile(0.5);
            self.p99_us = h.value_at_quantile(0.99);
            self.p999_us = h.value_at_quantile(0.999);
            self.max_us = h.max();
        }
        self.errors = tally.errors;
        self.error_samples = tally.samples.clone();
        self
    }

    /// Whether every reply was as sent and nothing was lost.
    pub(crate) fn clean(&self) -> bool {
        let hostile_closed = self
            .hostile
            .iter()
            .flatten()
            .all(|(_, outcome)| outcome.still_open == 0 && outcome.failed_connect == 0);
        self.errors == 0 && self.lost == 0 && self.failed_connections == 0 && hostile_closed
    }

    pub(crate) fn print(&self, json: bool) {
        if json {
            match serde_json::to_string(self) {
                Ok(line) => emit(&line),
                Err(err) => eprintln!("cannot write JSON: {err}"),
            }
            return;
        }
        emit(&format!(
            "| {} | {} | {} conns | {:.0} msgs/s | {:.1} MB/s | p50 {} µs | p99 {} µs | p999 {} µs | max {} µs | lost {} | errors {} | failed conns {} |{}",
            self.mode,
            self.label,
            self.connections,
            self.msgs_per_sec,
            self.mb_per_sec,
            self.p50_us,
            self.p99_us,
            self.p999_us,
            self.max_us,
            self.lost,
            self.errors,
            self.failed_connections,
            self.rss_per_connection
                .map(|b| format!(" {b:.0} B RSS per connection |"))
                .unwrap_or_default(),
        ));
        for (kind, o) in self.hostile.iter().flatten() {
            emit(&format!(
                "|   hostile {kind} | {} conns | closed by server {} | still open {} | failed to connect {} |",
                o.connections, o.closed_by_server, o.still_open, o.failed_connect
            ));
        }
        for sample in &self.error_samples {
            eprintln!("  error: {sample}");
        }
    }
}

#[allow(clippy::print_stdout)]
fn emit(line: &str) {
    println!("{line}");
}
