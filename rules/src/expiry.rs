//! Points expiry: when a lot expires under each policy, and the entries that
//! expire the lots due. Expiry only ever touches lots whose expiry moment has
//! passed, and only their positive remainder (a debt never expires away).

use chrono::{Datelike, Months, NaiveDate, TimeZone};

use crate::account::MemberAccount;
use crate::ids::{SourceId, Timestamp};
use crate::ledger::{EntryKind, LedgerEntry};
use crate::program::ExpiryPolicy;

/// The moment a lot earned at `earned_at` stops being spendable (exclusive):
/// local midnight starting the day after the last day of validity. Points
/// that never expire, and any expiry past the last day of year 9999, expire
/// on [`never_date`] (31 December 9999): every moment stays a four-digit
/// year, as RFC 3339 and the wire bounds ([`crate::limits`]) want.
pub fn lot_expiry(policy: ExpiryPolicy, earned_at: Timestamp) -> Timestamp {
    let earned = earned_at.date_naive();
    let first_of_month = earned.with_day(1).unwrap_or(earned);
    let first_invalid_day = match policy {
        // End of the Nth month after the month earned = the first day of
        // the (N+1)th month after it.
        ExpiryPolicy::EndOfNthMonth { months } => first_of_month
            .checked_add_months(Months::new(months.saturating_add(1)))
            .unwrap_or(never_date()),
        ExpiryPolicy::EndOfNextYear => {
            NaiveDate::from_ymd_opt(earned.year() + 2, 1, 1).unwrap_or(never_date())
        }
        ExpiryPolicy::Never => never_date(),
    }
    .min(never_date());
    let midnight = first_invalid_day.and_hms_opt(0, 0, 0).unwrap_or_default();
    earned_at
        .offset()
        .from_local_datetime(&midnight)
        .single()
        .unwrap_or_else(|| earned_at.offset().from_utc_datetime(&midnight))
}

/// The day points that never expire stop being spendable: 31 December 9999.
pub fn never_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(NaiveDate::MAX)
}

/// Entries expiring every lot of `account` that is due at `now` and still
/// holds points, booked under `source` (the expiry run).
pub fn expire_due(account: &MemberAccount, now: Timestamp, source: SourceId) -> Vec<LedgerEntry> {
    account
        .lots
        .iter()
        // A lot still awaiting its earning has no expiry of its own yet.
        .filter(|lot| lot.remaining > 0 && lot.expires_at <= now && !lot.awaiting_earning)
        .map(|lot| LedgerEntry {
            member: account.member,
            source,
            at: now,
            kind: EntryKind::PointsExpired {
                lot: lot.lot,
                points: lot.remaining,
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse_from_rfc3339(text).unwrap()
    }

    #[test]
    fn twelve_month_policy_expires_at_the_end_of_the_twelfth_month_after() {
        let policy = ExpiryPolicy::EndOfNthMonth { months: 12 };
        assert_eq!(
            lot_expiry(policy, at("2026-03-15T10:00:00+08:00")),
            at("2027-04-01T00:00:00+08:00")
        );
        assert_eq!(
            lot_expiry(policy, at("2026-12-31T23:59:00+08:00")),
            at("2028-01-01T00:00:00+08:00")
        );
    }

    #[test]
    fn next_year_policy_expires_after_31_december_of_the_next_year() {
        assert_eq!(
            lot_expiry(ExpiryPolicy::EndOfNextYear, at("2026-01-02T09:00:00+08:00")),
            at("2028-01-01T00:00:00+08:00")
        );
    }
}
