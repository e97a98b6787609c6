//! Admission: which new connections a hub accepts.

use std::collections::HashMap;
use std::net::IpAddr;

/// Limits on who may connect. Decided under the hub's registry lock when a
/// connection arrives, before any session exists, so concurrent accepts
/// cannot overshoot a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct AdmissionConfig {
    /// Most live sessions (default 10,000).
    pub max_sessions: usize,
    /// Most live sessions from one IP address (default: no limit).
    pub max_sessions_per_ip: Option<usize>,
}

impl Default for AdmissionConfig {
    fn default() -> Self {
        Self {
            max_sessions: 10_000,
            max_sessions_per_ip: None,
        }
    }
}

impl AdmissionConfig {
    /// Most live sessions.
    pub fn max_sessions(mut self, max: usize) -> Self {
        self.max_sessions = max;
        self
    }

    /// Most live sessions from one IP address (`None`: no limit).
    pub fn max_sessions_per_ip(mut self, max: Option<usize>) -> Self {
        self.max_sessions_per_ip = max;
        self
    }
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum Rejected {
    /// `max_sessions` sessions are live.
    #[error("connection refused: {max} sessions are live (max_sessions)")]
    TooManySessions {
        /// The configured limit.
        max: usize,
    },
    /// `max_sessions_per_ip` sessions from this address are live.
    #[error("connection refused: {max} sessions from {ip} are live (max_sessions_per_ip)")]
    TooManyFromIp {
        /// The peer's address.
        ip: IpAddr,
        /// The configured limit.
        max: usize,
    },
    /// The hub is shutting down.
    #[error("connection refused: shutting down")]
    ShuttingDown,
}

impl Rejected {
    /// A short stable name for the refusal's kind, for counters and logs
    /// ([`HubStats::rejected`](super::HubStats::rejected)):
    /// `too_many_sessions`, `too_many_from_ip`, `shutting_down`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::TooManySessions { .. } => "too_many_sessions",
            Self::TooManyFromIp { .. } => "too_many_from_ip",
            Self::ShuttingDown => "shutting_down",
        }
    }
}

/// Counts of live (and admitted, not yet registered) sessions.
#[derive(Debug, Default)]
pub(crate) struct Census {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

impl Census {
    /// Takes a place for a session from `ip` if the limits allow it.
    pub(crate) fn admit(&mut self, ip: IpAddr, config: &AdmissionConfig) -> Result<(), Rejected> {
        if self.total >= config.max_sessions {
            return Err(Rejected::TooManySessions {
                max: config.max_sessions,
            });
        }
        let from_ip = self.per_ip.get(&ip).copied().unwrap_or(0);
        if let Some(max) = config.max_sessions_per_ip {
            if from_ip >= max {
                return Err(Rejected::TooManyFromIp { ip, max });
            }
        }
        self.total += 1;
        self.per_ip.insert(ip, from_ip + 1);
        Ok(())
    }

    /// Gives a place back.
    pub(crate) fn leave(&mut self, ip: IpAddr) {
        self.total = self.total.saturating_sub(1);
        if let Some(n) = self.per_ip.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                self.per_ip.remove(&ip);
            }
        }
    }

    /// Places taken.
    pub(crate) fn total(&self) -> usize {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_hold_at_and_just_over() {
        let config = AdmissionConfig {
            max_sessions: 3,
            max_sessions_per_ip: Some(2),
        };
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        let mut census = Census::default();
        assert_eq!(census.admit(a, &config), Ok(()));
        assert_eq!(census.admit(a, &config), Ok(())); // exactly at the per-IP limit
        assert_eq!(
            census.admit(a, &config),
            Err(Rejected::TooManyFromIp { ip: a, max: 2 })
        );
        assert_eq!(census.admit(b, &config), Ok(())); // exactly at max_sessions
        assert_eq!(
            census.admit(b, &config),
            Err(Rejected::TooManySessions { max: 3 })
        );
        census.leave(a);
        assert_eq!(census.admit(b, &config), Ok(()));
        assert_eq!(census.total(), 3);
    }
}
