//! Failed sign-ins counted in the database, so every head-office node on
//! it refuses the same guesses (issue 23: sessions, throttles and leases
//! live where all nodes agree). A leaf: the records and the one pure
//! decision both backends' counts are read with.
//!
//! A count is kept per key (`address:<ip>`, `overall`, `user:<name>`) as
//! a fixed window: its start, the failures in it, and for a rule with a
//! lockout the moment the lockout ends. Counting a failure is one
//! statement on either backend (an upsert, atomic under concurrent nodes):
//! a window that is over, or a lockout that has ended, starts again at
//! this failure; a rule with a lockout locks the key when the failures
//! reach its limit.

use std::time::Duration;

/// How failures under one kind of key are limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleRule {
    /// The window failures are counted in.
    pub window: Duration,
    /// Failures in a window that refuse further attempts.
    pub max_failures: u32,
    /// With a lockout: the key is refused this long after the failure that
    /// reached `max_failures` (then counting starts again). Without
    /// (zero): refused until the window ends.
    pub lock: Duration,
}

/// A key's count as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleRow {
    /// When the current window began (ms since the epoch).
    pub window_start_ms: i64,
    /// Failures in it.
    pub failures: i64,
    /// The end of a lockout, for a rule with one.
    pub locked_until_ms: Option<i64>,
}

impl ThrottleRule {
    /// The window in ms, as the statements take it.
    pub fn window_ms(&self) -> i64 {
        i64::try_from(self.window.as_millis()).unwrap_or(i64::MAX / 4)
    }

    /// The lockout in ms (0: none).
    pub fn lock_ms(&self) -> i64 {
        i64::try_from(self.lock.as_millis()).unwrap_or(i64::MAX / 4)
    }

    /// How long attempts under a key whose count is `row` are refused at
    /// `now_ms`; `None` when one may be checked.
    pub fn refusal(&self, row: Option<&ThrottleRow>, now_ms: i64) -> Option<Duration> {
        let row = row?;
        let until = if self.lock.is_zero() {
            let window_end = row.window_start_ms.saturating_add(self.window_ms());
            (row.failures >= i64::from(self.max_failures)).then_some(window_end)?
        } else {
            row.locked_until_ms?
        };
        let left = until.saturating_sub(now_ms);
        (left > 0).then(|| Duration::from_millis(u64::try_from(left).unwrap_or(0)))
    }
}

/// Counts older than this are swept when a failure is counted (no rule's
/// window or lockout is longer).
pub const THROTTLE_KEPT: Duration = Duration::from_secs(24 * 60 * 60);

/// Console notices older than this are swept (a notice is read on the
/// very next page).
pub const FLASH_KEPT: Duration = Duration::from_secs(60 * 60);

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOWED: ThrottleRule = ThrottleRule {
        window: Duration::from_secs(60),
        max_failures: 5,
        lock: Duration::ZERO,
    };
    const LOCKING: ThrottleRule = ThrottleRule {
        window: Duration::from_secs(3600),
        max_failures: 5,
        lock: Duration::from_secs(300),
    };

    fn row(start: i64, failures: i64, locked_until_ms: Option<i64>) -> ThrottleRow {
        ThrottleRow {
            window_start_ms: start,
            failures,
            locked_until_ms,
        }
    }

    #[test]
    fn a_window_refuses_from_its_limit_until_it_ends() {
        assert_eq!(WINDOWED.refusal(None, 0), None);
        assert_eq!(WINDOWED.refusal(Some(&row(0, 4, None)), 10_000), None);
        assert_eq!(
            WINDOWED.refusal(Some(&row(0, 5, None)), 10_000),
            Some(Duration::from_secs(50))
        );
        assert_eq!(WINDOWED.refusal(Some(&row(0, 9, None)), 60_000), None);
    }

    #[test]
    fn a_lockout_refuses_until_its_end_whatever_the_count() {
        assert_eq!(LOCKING.refusal(Some(&row(0, 4, None)), 10), None);
        assert_eq!(
            LOCKING.refusal(Some(&row(0, 5, Some(300_000))), 100_000),
            Some(Duration::from_secs(200))
        );
        assert_eq!(
            LOCKING.refusal(Some(&row(0, 5, Some(300_000))), 300_000),
            None
        );
    }
}
