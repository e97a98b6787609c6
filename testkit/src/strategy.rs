//! Proptest strategies shared by the property tests (feature `proptest`):
//! simulated links and echo payloads.

use std::ops::{Range, RangeInclusive};
use std::time::Duration;

use proptest::prelude::*;

use crate::sim::PipeConfig;

/// The ranges a [`pipe`] strategy draws from.
#[derive(Debug, Clone)]
pub struct PipeRanges {
    /// `max_segment`.
    pub segment: Range<usize>,
    /// The minimum delay, in µs.
    pub min_delay_us: Range<u64>,
    /// The delay's spread above the minimum, in µs.
    pub extra_delay_us: Range<u64>,
    /// `bytes_per_sec` (`None` or a rate from it); `None`: no limit, and
    /// nothing drawn.
    pub rate: Option<Range<u64>>,
    /// `buffer`.
    pub buffer: Range<usize>,
    /// `max_read`.
    pub read: Range<usize>,
}

/// Pipe settings drawn from `ranges`.
pub fn pipe(ranges: PipeRanges) -> impl Strategy<Value = PipeConfig> {
    let rate = match ranges.rate {
        Some(rate) => prop::option::of(rate).boxed(),
        None => Just(None).boxed(),
    };
    (
        ranges.segment,
        ranges.min_delay_us,
        ranges.extra_delay_us,
        rate,
        ranges.buffer,
        ranges.read,
    )
        .prop_map(|(segment, min_us, extra_us, rate, buffer, read)| {
            PipeConfig::default()
                .max_segment(segment)
                .delay(
                    Duration::from_micros(min_us),
                    Duration::from_micros(min_us + extra_us),
                )
                .bytes_per_sec(rate)
                .buffer(buffer)
                .max_read(read)
        })
}

/// `count` payloads of up to `max` bytes: short ones often, some of any
/// size, some of exactly `max`; byte `i` of each is `i % 251`.
pub fn echo_payloads(max: usize, count: Range<usize>) -> impl Strategy<Value = Vec<Vec<u8>>> {
    let len: RangeInclusive<usize> = 0..=max;
    prop::collection::vec(
        prop_oneof![
            3 => 0usize..64,
            2 => len,
            1 => Just(max),
        ]
        .prop_map(|len| (0..len).map(|i| (i % 251) as u8).collect()),
        count,
    )
}
