//! Limits on what a flood of bad requests can cost head office, each
//! taking the moment as an argument (a clock passed in, so tests drive them
//! with made-up moments):
//!
//! - [`FlagLimiter`] (in memory): a request whose signature does not verify
//!   is always refused, but flags its terminal at most once per
//!   [`FLAG_INTERVAL`], so a flood of forged requests cannot fill
//!   `terminal_flags`, nor write to the database for each. It is per node: with N head-office nodes, a terminal is flagged at
//!   most N times per interval (the point is to bound the table, and it
//!   still is).
//! - [`ADDRESS_RULE`], [`OVERALL_RULE`]: failed dashboard and console
//!   sign-ins counted per client address ([`ADDRESS_MAX_FAILURES`] per
//!   [`SIGN_IN_WINDOW`]; an IPv6 client by its /64) and overall
//!   ([`OVERALL_MAX_FAILURES`] per window), beside the per-user lockout of
//!   [`crate::dashboard`]. Counted in the database
//!   ([`crate::store::throttles`]), so every node refuses the same guesses
//!   and a restart forgets nothing.
//!
//! - [`UploadLimits`]: the largest batch head office takes (the protocol's
//!   limits; lower ones only in tests, to refuse batches as too large
//!   without 8 MiB bodies).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::store::throttles::ThrottleRule;

/// A terminal is flagged for a bad signature at most once this often.
pub const FLAG_INTERVAL: Duration = Duration::from_secs(10 * 60);
/// Failed sign-ins from one address allowed per window.
pub const ADDRESS_MAX_FAILURES: u32 = 5;
/// Failed sign-ins from all addresses together allowed per window.
pub const OVERALL_MAX_FAILURES: u32 = 100;
/// The sign-in throttle's window.
pub const SIGN_IN_WINDOW: Duration = Duration::from_secs(60);
/// Terminals the flag limiter remembers at most (memory bound).
const CAPACITY: usize = 100_000;

/// The largest upload head office takes: over either, `413 too_large`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadLimits {
    /// Bytes of a body, as sent and decompressed (at most the protocol's
    /// [`tillcard_protocol::wire::MAX_BODY_BYTES`], which the server's
    /// body limit enforces before anything else).
    pub max_body_bytes: usize,
    /// Events in one batch.
    pub max_events: usize,
}

impl Default for UploadLimits {
    /// The protocol's limits.
    fn default() -> UploadLimits {
        UploadLimits {
            max_body_bytes: tillcard_protocol::wire::MAX_BODY_BYTES,
            max_events: tillcard_protocol::wire::MAX_BATCH_EVENTS,
        }
    }
}

/// At most one bad-signature flag per terminal per [`FLAG_INTERVAL`].
#[derive(Debug, Default)]
pub struct FlagLimiter {
    last: Mutex<HashMap<String, Instant>>,
}

impl FlagLimiter {
    /// Whether a bad signature of `terminal` at `now` raises a flag (and,
    /// if so, the interval starts again from `now`).
    pub fn should_flag(&self, terminal: &str, now: Instant) -> bool {
        let Ok(mut last) = self.last.lock() else {
            return true;
        };
        if let Some(at) = last.get(terminal)
            && now.saturating_duration_since(*at) < FLAG_INTERVAL
        {
            return false;
        }
        if last.len() >= CAPACITY {
            last.retain(|_, at| now.saturating_duration_since(*at) < FLAG_INTERVAL);
        }
        last.insert(terminal.to_owned(), now);
        true
    }
}

/// Failed sign-ins from one client address (its [`address_key`]).
pub const ADDRESS_RULE: ThrottleRule = ThrottleRule {
    window: SIGN_IN_WINDOW,
    max_failures: ADDRESS_MAX_FAILURES,
    lock: Duration::ZERO,
};

/// Failed sign-ins from everyone together (under [`OVERALL_KEY`]).
pub const OVERALL_RULE: ThrottleRule = ThrottleRule {
    window: SIGN_IN_WINDOW,
    max_failures: OVERALL_MAX_FAILURES,
    lock: Duration::ZERO,
};

/// The key everyone's failures are counted under.
pub const OVERALL_KEY: &str = "overall";

/// Which limit refused a sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInLimit {
    /// Too many failures from this address.
    Address(Duration),
    /// Too many failures from everyone.
    Overall(Duration),
}

impl SignInLimit {
    /// How long until a sign-in is looked at again.
    pub fn retry_after(self) -> Duration {
        match self {
            SignInLimit::Address(d) | SignInLimit::Overall(d) => d,
        }
    }
}

/// The key a client address's failures are counted under: an IPv6 client
/// by its /64 (one site gets a whole /64), IPv4 as is.
pub fn address_key(addr: IpAddr) -> String {
    let key = match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
    };
    format!("address:{key}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use super::*;

    #[test]
    fn a_terminal_is_flagged_once_per_interval_however_many_bad_signatures() {
        let limiter = FlagLimiter::default();
        let t0 = Instant::now();
        let mut flagged = 0;
        // 1,000 bad requests over 9 minutes 59 seconds.
        for i in 0..1000u64 {
            if limiter.should_flag("T-1", t0 + Duration::from_millis(i * 599)) {
                flagged += 1;
            }
        }
        assert_eq!(flagged, 1);
        assert!(
            limiter.should_flag("T-2", t0),
            "another terminal has its own"
        );
        assert!(
            limiter.should_flag("T-1", t0 + FLAG_INTERVAL),
            "a new interval"
        );
        assert!(!limiter.should_flag("T-1", t0 + FLAG_INTERVAL + Duration::from_secs(1)));
        println!("1000 bad signatures in {FLAG_INTERVAL:?}: {flagged} flag");
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64_and_ipv4_by_its_address() {
        let key = |a: &str| address_key(a.parse().unwrap());
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::1"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:203.0.113.7"), key("203.0.113.7"));
        assert_ne!(key("203.0.113.7"), key("203.0.113.8"));
    }
}
