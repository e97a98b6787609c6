//! One direction of a simulated connection.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::rng::{Draw, Rng};

/// How a simulated pipe treats bytes. `Default` plus chained setters.
///
/// The defaults make an ordinary loopback-like link: segments of up to
/// 1460 bytes, 1–5 ms of delay, no bandwidth limit, 256 KiB of buffering,
/// reads of up to 64 KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PipeConfig {
    pub(crate) max_segment: usize,
    pub(crate) min_delay: Duration,
    pub(crate) max_delay: Duration,
    pub(crate) bytes_per_sec: Option<u64>,
    pub(crate) buffer: usize,
    pub(crate) max_read: usize,
}

impl Default for PipeConfig {
    fn default() -> Self {
        Self {
            max_segment: 1460,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            bytes_per_sec: None,
            buffer: 256 * 1024,
            max_read: 64 * 1024,
        }
    }
}

impl PipeConfig {
    /// Largest segment a write is cut into (at least 1); segments are cut at
    /// random sizes up to it.
    pub fn max_segment(mut self, bytes: usize) -> Self {
        self.max_segment = bytes.max(1);
        self
    }

    /// Each segment is delayed by a random time in `min..=max` (order is
    /// kept, as in TCP).
    pub fn delay(mut self, min: Duration, max: Duration) -> Self {
        self.min_delay = min;
        self.max_delay = max.max(min);
        self
    }

    /// Bandwidth limit in bytes per second (`None`: unlimited).
    pub fn bytes_per_sec(mut self, rate: Option<u64>) -> Self {
        self.bytes_per_sec = rate.filter(|&r| r > 0);
        self
    }

    /// Bytes in flight or unread before writes are refused (the socket
    /// buffers of both ends together); at least 1.
    pub fn buffer(mut self, bytes: usize) -> Self {
        self.buffer = bytes.max(1);
        self
    }

    /// Largest single read; arrived bytes are read in random sizes up to it
    /// (at least 1).
    pub fn max_read(mut self, bytes: usize) -> Self {
        self.max_read = bytes.max(1);
        self
    }
}

/// How the writer ended its side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shutdown {
    /// Orderly close: the reader sees end of stream after the last byte.
    Fin,
    /// Reset: bytes in flight are lost; the reader sees a reset.
    Reset,
}

/// Bytes on their way from one session to the other.
#[derive(Debug)]
pub(crate) struct Pipe {
    pub(crate) config: PipeConfig,
    /// Segments and when they arrive, in order.
    in_flight: VecDeque<(Instant, Bytes)>,
    in_flight_bytes: usize,
    /// Arrival time of the last segment (arrivals never reorder).
    last_arrival: Option<Instant>,
    /// When the link is free to send the next byte (bandwidth limit).
    next_departure: Option<Instant>,
    /// Whether the receiving application reads.
    pub(crate) reading: bool,
    /// Set once the writer closed; delivered after the last segment.
    shutdown: Option<(Instant, Shutdown)>,
    /// Whether the shutdown was delivered.
    pub(crate) shutdown_delivered: bool,
}

impl Pipe {
    pub(crate) fn new(config: PipeConfig) -> Self {
        Self {
            config,
            in_flight: VecDeque::new(),
            in_flight_bytes: 0,
            last_arrival: None,
            next_departure: None,
            reading: true,
            shutdown: None,
            shutdown_delivered: false,
        }
    }

    /// Bytes the pipe accepts now.
    pub(crate) fn room(&self) -> usize {
        if self.shutdown.is_some() {
            return 0;
        }
        self.config.buffer.saturating_sub(self.in_flight_bytes)
    }

    fn arrival(&mut self, len: usize, now: Instant, rng: &mut Rng) -> Instant {
        let mut depart = self.next_departure.map_or(now, |d| d.max(now));
        if let Some(rate) = self.config.bytes_per_sec {
            let nanos = (len as u128 * 1_000_000_000).div_ceil(u128::from(rate));
            depart += Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
            self.next_departure = Some(depart);
        }
        let delay = rng.duration(self.config.min_delay, self.config.max_delay);
        let at = depart + delay;
        let at = self.last_arrival.map_or(at, |last| at.max(last));
        self.last_arrival = Some(at);
        at
    }

    /// Sends `chunk` (no larger than [`room`](Self::room)), cut into random
    /// segments.
    pub(crate) fn send(&mut self, mut chunk: Bytes, now: Instant, rng: &mut Rng) {
        while !chunk.is_empty() {
            let n = 1 + rng.below(self.config.max_segment.min(chunk.len()));
            let segment = chunk.split_to(n);
            let at = self.arrival(n, now, rng);
            self.in_flight_bytes += n;
            self.in_flight.push_back((at, segment));
        }
    }

    /// The writer closed its side.
    pub(crate) fn shut(&mut self, how: Shutdown, now: Instant, rng: &mut Rng) {
        if self.shutdown.is_some() {
            return;
        }
        if how == Shutdown::Reset {
            self.in_flight.clear();
            self.in_flight_bytes = 0;
        }
        let at = self.arrival(0, now, rng);
        self.shutdown = Some((at, how));
    }

    /// When something next happens on this pipe that the reader would see;
    /// `can_read` is false while the reading session's budget is 0 (it then
    /// sees only a reset).
    pub(crate) fn next_event(&self, can_read: bool) -> Option<Instant> {
        if !self.reading || !can_read {
            // A reset arrives even when nobody reads.
            return match self.shutdown {
                Some((at, Shutdown::Reset)) if !self.shutdown_delivered => Some(at),
                _ => None,
            };
        }
        match self.in_flight.front() {
            Some(&(at, _)) => Some(at),
            None if !self.shutdown_delivered => self.shutdown.map(|(at, _)| at),
            None => None,
        }
    }

    /// Whether bytes that arrived by `now` wait to be read.
    pub(crate) fn has_arrived(&self, now: Instant) -> bool {
        self.reading && self.in_flight.front().is_some_and(|&(at, _)| at <= now)
    }

    /// Moves up to `max` bytes of the segments that have arrived by `now`
    /// to `out`, in order, splitting a segment if need be (its rest stays
    /// in the pipe, as unread bytes stay in a socket buffer); returns the
    /// bytes moved.
    pub(crate) fn read_arrived(&mut self, now: Instant, max: usize, out: &mut Vec<Bytes>) -> usize {
        if !self.reading {
            return 0;
        }
        let mut moved = 0;
        while moved < max {
            let Some((at, segment)) = self.in_flight.front_mut() else {
                break;
            };
            if *at > now {
                break;
            }
            let piece = if segment.len() <= max - moved {
                std::mem::take(segment)
            } else {
                segment.split_to(max - moved)
            };
            if segment.is_empty() {
                self.in_flight.pop_front();
            }
            moved += piece.len();
            self.in_flight_bytes -= piece.len();
            out.push(piece);
        }
        moved
    }

    /// The shutdown, if it is due at `now` and every byte before it is read.
    pub(crate) fn due_shutdown(&mut self, now: Instant) -> Option<Shutdown> {
        if self.shutdown_delivered {
            return None;
        }
        let (at, how) = self.shutdown?;
        let ready = match how {
            Shutdown::Reset => true,
            Shutdown::Fin => self.reading && self.in_flight.is_empty(),
        };
        if ready && at <= now {
            self.shutdown_delivered = true;
            Some(how)
        } else {
            None
        }
    }

    /// Drops every byte sent and not yet read (the reader is gone).
    pub(crate) fn drop_unread(&mut self) {
        self.in_flight.clear();
        self.in_flight_bytes = 0;
    }

    /// Bytes sent and not yet read.
    pub(crate) fn in_flight_bytes(&self) -> usize {
        self.in_flight_bytes
    }
}
