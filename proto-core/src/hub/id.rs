//! [`SessionId`]: a session's number within its hub.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// Identifies one session within its [`Hub`](super::Hub): a hub numbers
/// its sessions 1, 2, 3, ... in the order they are opened and never reuses
/// a number, so a stale id can only miss, never reach a newer session of
/// the same hub. Ids of different hubs are unrelated (two hubs both have a
/// session 1): an id means something only to the hub that gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId(u64);

impl SessionId {
    /// The number.
    pub fn get(self) -> u64 {
        self.0
    }
}

/// A hub's id counter: hands out 1, 2, 3, ... A `u64` counting a billion
/// sessions a second would last five centuries, so it is not checked for
/// wrapping.
#[derive(Debug)]
pub(crate) struct IdSource(AtomicU64);

impl Default for IdSource {
    fn default() -> Self {
        Self(AtomicU64::new(1))
    }
}

impl IdSource {
    /// The next id. Only uniqueness matters, not order with other memory,
    /// hence `Relaxed`.
    pub(crate) fn next(&self) -> SessionId {
        SessionId(self.0.fetch_add(1, Ordering::Relaxed))
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Hashes a [`SessionId`] with one multiplication (ids are sequential
/// numbers, not attacker-chosen keys, so SipHash's protection buys nothing
/// on the hub's per-message lookups). The high bits, which the map's
/// probing uses, mix all bits of the id.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by `SessionId`; fold anything else in.
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// Builds [`IdHasher`]s.
pub(crate) type IdHash = std::hash::BuildHasherDefault<IdHasher>;
