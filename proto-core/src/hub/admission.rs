//! Admission: which new connections a hub accepts.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

use crate::policy::{Rate, RateMeter};

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
    /// How fast one IP address may open connections (default: no limit),
    /// counting every attempt that the other limits let through.
    pub connection_rate_per_ip: Option<Rate>,
}

impl Default for AdmissionConfig {
    fn default() -> Self {
        Self {
            max_sessions: 10_000,
            max_sessions_per_ip: None,
            connection_rate_per_ip: None,
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

    /// How fast one IP address may open connections (`None`: no limit):
    /// a client that reconnects in a loop is refused with
    /// [`Rejected::ConnectingTooFast`] once past `rate`, and admitted
    /// again once back within it.
    pub fn connection_rate_per_ip(mut self, rate: Option<Rate>) -> Self {
        self.connection_rate_per_ip = rate;
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
    /// This address opened connections faster than
    /// `connection_rate_per_ip`.
    #[error(
        "connection refused: {ip} connects faster than {} a second (connection_rate_per_ip)",
        rate.per_second_value()
    )]
    ConnectingTooFast {
        /// The peer's address.
        ip: IpAddr,
        /// The configured rate.
        rate: Rate,
    },
    /// The hub is shutting down.
    #[error("connection refused: shutting down")]
    ShuttingDown,
}

impl Rejected {
    /// A short stable name for the refusal's kind, for counters and logs
    /// ([`HubStats::rejected`](super::HubStats::rejected)):
    /// `too_many_sessions`, `too_many_from_ip`, `connecting_too_fast`,
    /// `shutting_down`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::TooManySessions { .. } => "too_many_sessions",
            Self::TooManyFromIp { .. } => "too_many_from_ip",
            Self::ConnectingTooFast { .. } => "connecting_too_fast",
            Self::ShuttingDown => "shutting_down",
        }
    }
}

/// Counts of live (and admitted, not yet registered) sessions, and the
/// connection rate of each address.
#[derive(Debug, Default)]
pub(crate) struct Census {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
    /// Addresses' connection-rate meters. An address back within its rate
    /// needs no meter: those are swept out once the map has doubled since
    /// the last sweep, so it stays within twice the addresses that
    /// connected within the last burst's time.
    rates: HashMap<IpAddr, RateMeter>,
    swept_at_len: usize,
}

impl Census {
    /// Takes a place for a session from `ip` if the limits allow it.
    pub(crate) fn admit(
        &mut self,
        ip: IpAddr,
        config: &AdmissionConfig,
        now: Instant,
    ) -> Result<(), Rejected> {
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
        if let Some(rate) = config.connection_rate_per_ip {
            self.sweep_rates(now);
            if !self.rates.entry(ip).or_default().try_take(&rate, 1, now) {
                return Err(Rejected::ConnectingTooFast { ip, rate });
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

    /// Forgets the meters of addresses whose connections are all paid for
    /// (a new meter would decide the same), once the map has doubled.
    fn sweep_rates(&mut self, now: Instant) {
        if self.rates.len() < 64.max(self.swept_at_len * 2) {
            return;
        }
        self.rates.retain(|_, meter| !meter.is_idle(now));
        self.swept_at_len = self.rates.len();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn limits_hold_at_and_just_over() {
        let config = AdmissionConfig::default()
            .max_sessions(3)
            .max_sessions_per_ip(Some(2));
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        let now = Instant::now();
        let mut census = Census::default();
        assert_eq!(census.admit(a, &config, now), Ok(()));
        assert_eq!(census.admit(a, &config, now), Ok(())); // exactly at the per-IP limit
        assert_eq!(
            census.admit(a, &config, now),
            Err(Rejected::TooManyFromIp { ip: a, max: 2 })
        );
        assert_eq!(census.admit(b, &config, now), Ok(())); // exactly at max_sessions
        assert_eq!(
            census.admit(b, &config, now),
            Err(Rejected::TooManySessions { max: 3 })
        );
        census.leave(a);
        assert_eq!(census.admit(b, &config, now), Ok(()));
        assert_eq!(census.total(), 3);
    }

    #[test]
    fn connection_rate_per_ip_at_and_just_over_its_burst() {
        let rate = Rate::per_second(2).burst(3);
        let config = AdmissionConfig::default().connection_rate_per_ip(Some(rate));
        let (a, b): (IpAddr, IpAddr) = ([10, 0, 0, 1].into(), [10, 0, 0, 2].into());
        let t0 = Instant::now();
        let mut census = Census::default();
        for _ in 0..3 {
            assert_eq!(census.admit(a, &config, t0), Ok(()));
            census.leave(a); // connects and goes at once: still counted
        }
        assert_eq!(
            census.admit(a, &config, t0),
            Err(Rejected::ConnectingTooFast { ip: a, rate })
        );
        // Another address is not affected; `a` is let in once one
        // connection's time (500 ms) has passed, and not a moment before.
        assert_eq!(census.admit(b, &config, t0), Ok(()));
        let later = t0 + Duration::from_millis(500);
        assert!(
            census
                .admit(a, &config, later - Duration::from_nanos(1))
                .is_err()
        );
        assert_eq!(census.admit(a, &config, later), Ok(()));
    }

    #[test]
    fn connection_rate_meters_of_quiet_addresses_are_swept() {
        let config =
            AdmissionConfig::default().connection_rate_per_ip(Some(Rate::per_second(10).burst(10)));
        let t0 = Instant::now();
        let mut census = Census::default();
        for host in 0..1000u32 {
            let ip = IpAddr::from(host.to_be_bytes());
            assert_eq!(census.admit(ip, &config, t0), Ok(()));
            census.leave(ip);
        }
        assert!(census.rates.len() <= 1000);
        // A second later every meter is paid for: the map is swept down as
        // new addresses come, never past twice the live ones.
        let t1 = t0 + Duration::from_secs(1);
        for host in 1000..3000u32 {
            let ip = IpAddr::from(host.to_be_bytes());
            assert_eq!(census.admit(ip, &config, t1), Ok(()));
            census.leave(ip);
            assert!(
                census.rates.len() <= 2 * 2000 + 64,
                "{}",
                census.rates.len()
            );
        }
        assert!(census.rates.len() < 3000, "quiet meters were never swept");
    }
}
