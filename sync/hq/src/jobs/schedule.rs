//! When the daily jobs are due, as pure functions of the moment: the
//! business days whose run is owed, each day's moment, and each run's
//! action id; and the jobs' settings ([`JobsConfig`]).
//!
//! A day's run is due once its moment (the configured store-local time of
//! day, in the chain's business offset, `figures::BUSINESS_OFFSET_SECONDS`)
//! has passed. The days owed are those after the last day that ran well,
//! up to the newest due day: a head office that was down for two days runs
//! both missed days, oldest first, then today's. At most
//! [`CATCH_UP_DAYS`] are caught up; a job that never ran starts with the
//! newest due day (head office does not invent a history before it).

use chrono::{Duration, NaiveDate, NaiveTime, TimeZone};
use tillcard_rules::ids::{SourceId, Timestamp};

use crate::figures::{BUSINESS_OFFSET_SECONDS, in_business_offset};

/// When and how the daily jobs run (`tillcard_hq::config`: `jobs.at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobsConfig {
    /// Store-local time of day of each day's run (business offset).
    pub time_of_day: NaiveTime,
    /// How long a claim holds before another process may take the run up.
    pub lease: Duration,
    /// How long a failed run waits before it is tried again.
    pub retry_after: Duration,
    /// Days a member stays in a store's downlink scope after last seen
    /// there (`crate::store::scope`).
    pub scope_days: u32,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            time_of_day: NaiveTime::from_hms_opt(3, 0, 0).unwrap_or(NaiveTime::MIN),
            lease: Duration::minutes(30),
            retry_after: Duration::minutes(10),
            scope_days: crate::store::scope::SCOPE_DAYS_DEFAULT,
        }
    }
}

/// How many of the newest runs the console and `GET /v1/admin/jobs` show
/// (two jobs, about two months).
pub const RUNS_SHOWN: i64 = 120;

/// The most days a job catches up after head office was down.
pub const CATCH_UP_DAYS: i64 = 31;

/// The business day `at` falls on.
pub fn business_day(at: Timestamp) -> NaiveDate {
    in_business_offset(at).date_naive()
}

/// The moment of `day`'s run: `time_of_day` on `day` in the business
/// offset.
pub fn moment(day: NaiveDate, time_of_day: NaiveTime) -> Option<Timestamp> {
    let offset = chrono::FixedOffset::east_opt(BUSINESS_OFFSET_SECONDS)?;
    offset
        .from_local_datetime(&day.and_time(time_of_day))
        .single()
}

/// The business days whose run is owed at `now`, oldest first: after
/// `last_ok` (the last day that ran well) up to the newest day whose moment
/// has passed, at most [`CATCH_UP_DAYS`] of them.
pub fn days_due(
    last_ok: Option<NaiveDate>,
    now: Timestamp,
    time_of_day: NaiveTime,
) -> Vec<NaiveDate> {
    let today = business_day(now);
    let newest = match moment(today, time_of_day) {
        Some(m) if m <= now => today,
        _ => today - Duration::days(1),
    };
    let oldest_allowed = newest - Duration::days(CATCH_UP_DAYS - 1);
    let first = match last_ok {
        Some(day) => (day + Duration::days(1)).max(oldest_allowed),
        None => newest,
    };
    first.iter_days().take_while(|d| *d <= newest).collect()
}

/// The action id of `job`'s run for `day`: the same on every head-office
/// process and every attempt, so a run retried after a crash books nothing
/// twice (`MemberAccount::has_booked`). Shaped as a UUIDv7 stamped with the
/// day's moment (action ids sort by time, which head office's cached folds
/// rely on), its random bits a hash of the job and the day.
pub fn run_id(job: &str, day: NaiveDate, moment: Timestamp) -> SourceId {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("tillcard-job/{job}/{day}"));
    let mut random = [0u8; 10];
    random.copy_from_slice(&digest[..10]);
    let millis = u64::try_from(moment.timestamp_millis()).unwrap_or(0);
    SourceId(uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse_from_rfc3339(text).unwrap()
    }

    fn three_am() -> NaiveTime {
        NaiveTime::from_hms_opt(3, 0, 0).unwrap()
    }

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_day_is_due_once_its_moment_in_store_time_has_passed() {
        // 02:59 in Shanghai is 18:59 UTC the day before: yesterday is due.
        let before = at("2026-12-03T18:59:00Z");
        assert_eq!(
            days_due(Some(day("2026-12-03")), before, three_am()),
            Vec::<NaiveDate>::new()
        );
        let after = at("2026-12-03T19:00:00Z");
        assert_eq!(
            days_due(Some(day("2026-12-03")), after, three_am()),
            vec![day("2026-12-04")]
        );
    }

    #[test]
    fn missed_days_are_caught_up_oldest_first_and_a_first_run_owes_one_day() {
        let now = at("2026-12-06T10:00:00+08:00");
        assert_eq!(
            days_due(Some(day("2026-12-03")), now, three_am()),
            vec![day("2026-12-04"), day("2026-12-05"), day("2026-12-06")]
        );
        assert_eq!(days_due(None, now, three_am()), vec![day("2026-12-06")]);
        let long_down = days_due(Some(day("2025-01-01")), now, three_am());
        assert_eq!(long_down.len(), CATCH_UP_DAYS as usize);
        assert_eq!(long_down.last(), Some(&day("2026-12-06")));
    }

    #[test]
    fn a_runs_id_is_the_same_everywhere_and_differs_by_job_and_day() {
        let m = moment(day("2026-12-04"), three_am()).unwrap();
        let a = run_id("tier_evaluation", day("2026-12-04"), m);
        assert_eq!(a, run_id("tier_evaluation", day("2026-12-04"), m));
        assert_ne!(a, run_id("points_expiry", day("2026-12-04"), m));
        assert_ne!(a, run_id("tier_evaluation", day("2026-12-05"), m));
        assert_eq!(a.0.get_version_num(), 7, "shaped as a UUIDv7");
        assert_eq!(
            m.to_rfc3339(),
            "2026-12-04T03:00:00+08:00",
            "the moment is store time"
        );
    }
}
