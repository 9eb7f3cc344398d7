//! In-memory limits on what a flood of bad requests can cost head office,
//! each taking the moment as an argument (a clock passed in, so tests
//! drive them with made-up instants):
//!
//! - [`FlagLimiter`]: a request whose signature does not verify is always
//!   refused, but flags its terminal at most once per [`FLAG_INTERVAL`], so
//!   a flood of forged requests cannot fill `terminal_flags`.
//! - [`SignInThrottle`]: failed dashboard and console sign-ins counted per
//!   client address ([`ADDRESS_MAX_FAILURES`] per [`SIGN_IN_WINDOW`]; an
//!   IPv6 client by its /64) and overall ([`OVERALL_MAX_FAILURES`] per
//!   window), beside the per-user lockout of [`crate::dashboard`].
//!
//! Both forget everything on a restart.
//!
//! - [`UploadLimits`]: the largest batch head office takes (the protocol's
//!   limits; lower ones only in tests, to refuse batches as too large
//!   without 8 MiB bodies).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A terminal is flagged for a bad signature at most once this often.
pub const FLAG_INTERVAL: Duration = Duration::from_secs(10 * 60);
/// Failed sign-ins from one address allowed per window.
pub const ADDRESS_MAX_FAILURES: u32 = 5;
/// Failed sign-ins from all addresses together allowed per window.
pub const OVERALL_MAX_FAILURES: u32 = 100;
/// The sign-in throttle's window.
pub const SIGN_IN_WINDOW: Duration = Duration::from_secs(60);
/// Entries kept at most by either limiter (memory bound).
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

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    failures: u32,
}

impl Window {
    /// The window as of `now`: a new one once the old one is over.
    fn current(slot: &mut Option<Window>, now: Instant) -> &mut Window {
        let over = slot.is_none_or(|w| now.saturating_duration_since(w.start) >= SIGN_IN_WINDOW);
        if over {
            *slot = Some(Window {
                start: now,
                failures: 0,
            });
        }
        slot.get_or_insert(Window {
            start: now,
            failures: 0,
        })
    }

    /// How long it stays full, if it is.
    fn full(&self, max: u32, now: Instant) -> Option<Duration> {
        (self.failures >= max)
            .then(|| (self.start + SIGN_IN_WINDOW).saturating_duration_since(now))
            .filter(|left| !left.is_zero())
    }
}

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

/// Failed sign-ins per client address and overall, in fixed windows.
#[derive(Debug, Default)]
pub struct SignInThrottle {
    per_address: Mutex<HashMap<IpAddr, Window>>,
    overall: Mutex<Option<Window>>,
}

/// The key an address is counted under: an IPv6 client by its /64 (one
/// site gets a whole /64), IPv4 as is.
fn client_key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
    }
}

impl SignInThrottle {
    /// Whether a sign-in from `addr` (none: not known) may be checked at
    /// `now`.
    pub fn gate(&self, addr: Option<IpAddr>, now: Instant) -> Result<(), SignInLimit> {
        if let Ok(mut overall) = self.overall.lock()
            && let Some(left) = Window::current(&mut overall, now).full(OVERALL_MAX_FAILURES, now)
        {
            return Err(SignInLimit::Overall(left));
        }
        if let (Some(addr), Ok(map)) = (addr, self.per_address.lock()) {
            let mut slot = map.get(&client_key(addr)).copied();
            if let Some(left) = Window::current(&mut slot, now).full(ADDRESS_MAX_FAILURES, now) {
                return Err(SignInLimit::Address(left));
            }
        }
        Ok(())
    }

    /// Counts a failed sign-in from `addr` at `now`.
    pub fn failed(&self, addr: Option<IpAddr>, now: Instant) {
        if let Ok(mut overall) = self.overall.lock() {
            let window = Window::current(&mut overall, now);
            window.failures = window.failures.saturating_add(1);
        }
        if let (Some(addr), Ok(mut map)) = (addr, self.per_address.lock()) {
            if map.len() >= CAPACITY {
                map.retain(|_, w| now.saturating_duration_since(w.start) < SIGN_IN_WINDOW);
            }
            let key = client_key(addr);
            let mut slot = map.get(&key).copied();
            let window = Window::current(&mut slot, now);
            window.failures = window.failures.saturating_add(1);
            let window = *window;
            map.insert(key, window);
        }
    }
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
    fn five_failures_from_one_address_close_it_for_the_rest_of_the_minute() {
        let throttle = SignInThrottle::default();
        let t0 = Instant::now();
        let attacker: IpAddr = "203.0.113.7".parse().unwrap();
        let neighbour: IpAddr = "203.0.113.8".parse().unwrap();
        for i in 0..ADDRESS_MAX_FAILURES {
            assert_eq!(throttle.gate(Some(attacker), t0), Ok(()), "attempt {i}");
            throttle.failed(Some(attacker), t0 + Duration::from_secs(u64::from(i)));
        }
        let refused = throttle.gate(Some(attacker), t0 + Duration::from_secs(10));
        assert_eq!(refused, Err(SignInLimit::Address(Duration::from_secs(50))));
        assert_eq!(throttle.gate(Some(neighbour), t0), Ok(()));
        assert_eq!(throttle.gate(Some(attacker), t0 + SIGN_IN_WINDOW), Ok(()));
        println!("address refused with {refused:?}; open again after {SIGN_IN_WINDOW:?}");
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64() {
        let throttle = SignInThrottle::default();
        let t0 = Instant::now();
        for i in 0..ADDRESS_MAX_FAILURES {
            let addr: IpAddr = format!("2001:db8:1:2::{}", i + 1).parse().unwrap();
            throttle.failed(Some(addr), t0);
        }
        let other_host: IpAddr = "2001:db8:1:2:ffff::1".parse().unwrap();
        let other_site: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(matches!(
            throttle.gate(Some(other_host), t0),
            Err(SignInLimit::Address(_))
        ));
        assert_eq!(throttle.gate(Some(other_site), t0), Ok(()));
    }

    #[test]
    fn failures_from_many_addresses_close_sign_in_for_everyone_until_the_window_ends() {
        let throttle = SignInThrottle::default();
        let t0 = Instant::now();
        for i in 0..OVERALL_MAX_FAILURES {
            let addr = IpAddr::from([198, 51, (i / 250) as u8, (i % 250) as u8]);
            assert_eq!(throttle.gate(Some(addr), t0), Ok(()), "failure {i}");
            throttle.failed(Some(addr), t0 + Duration::from_millis(u64::from(i)));
        }
        let fresh: IpAddr = "192.0.2.1".parse().unwrap();
        let refused = throttle.gate(Some(fresh), t0 + Duration::from_secs(30));
        assert_eq!(refused, Err(SignInLimit::Overall(Duration::from_secs(30))));
        assert_eq!(throttle.gate(None, t0 + Duration::from_secs(30)), refused);
        assert_eq!(throttle.gate(Some(fresh), t0 + SIGN_IN_WINDOW), Ok(()));
        println!("{OVERALL_MAX_FAILURES} failures from as many addresses: {refused:?}");
    }
}
