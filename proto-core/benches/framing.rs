//! Framing benchmarks (filled in by the benchmark work).
#![allow(missing_docs)]
fn main() {}
