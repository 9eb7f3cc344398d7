//! Head office's daily jobs: tier evaluation and points expiry, each run
//! once per business day at a configured store-local time, exactly once
//! even when several `tillcard-hq` processes share one database.
//!
//! How "exactly once" holds:
//! - **One claim a job a day.** Before running `job` for `day`, a process
//!   claims the pair in the database (`JobRunStore::claim_job`, one statement on
//!   `job_runs`' primary key): only one process gets it. The claim is a
//!   lease: a process that dies mid-run leaves a run whose lease passes
//!   ([`JobsConfig::lease`]), and the next process's tick takes it up.
//! - **An idempotent run.** Each run books under an action id derived from
//!   the job and the day ([`schedule::run_id`]), and skips members whose
//!   ledger already holds it, so a run taken up after a crash books nothing
//!   twice.
//! - **Long runs.** Tier evaluation and expiry go a page of members at a
//!   time; after each page the run records how far it got and renews its
//!   lease ([`crate::service::job_progress`]). A run that finds its lease
//!   taken stops; a process taking a run up goes on after the last page
//!   recorded.
//! - **Days in order.** A job runs its owed days oldest first
//!   ([`schedule::days_due`]: a missed day is caught up) and stops at the
//!   first day it cannot run now (another process holds it, or it failed
//!   and waits [`JobsConfig::retry_after`]), so no day is skipped.
//!
//! Each run records its holder, start, finish, outcome and what it did;
//! `GET /v1/admin/jobs` and the console's jobs page show them.
//!
//! After expiry and tiers come the marketing jobs ([`crate::campaigns`]):
//! the RFM segments are scored, the program's birthday coupons issued to
//! members whose birthday month it is, then every active campaign runs
//! (a sleeping-member campaign reaches members the day they fall asleep).
//! Those are idempotent by what they record (a member is reached by a
//! campaign once), so a run taken up again issues nothing twice.

pub mod schedule;

pub use schedule::JobsConfig;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;

use crate::service::job_progress::RunProgress;
use tillcard_rules::ids::Timestamp;

use crate::error::HqError;
use crate::service::Hq;
use crate::store::{JobClaim, JobFinish};

/// A daily job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Every member's tier checked against the rolling spend of all stores.
    TierEvaluation,
    /// Every due points lot expired.
    PointsExpiry,
    /// Every member scored into an RFM segment.
    Rfm,
    /// The program's birthday coupon to members whose birthday month it is.
    BirthdayCoupons,
    /// Every active campaign run.
    Campaigns,
    /// Members not seen at a store within the scope window leave its
    /// terminals (`crate::store::scope`).
    DownlinkScope,
}

impl Job {
    /// Every daily job, in the order a tick runs them.
    pub const ALL: [Job; 6] = [
        Job::PointsExpiry,
        Job::TierEvaluation,
        Job::Rfm,
        Job::BirthdayCoupons,
        Job::Campaigns,
        Job::DownlinkScope,
    ];

    /// The job's name in `job_runs` and the API.
    pub fn name(self) -> &'static str {
        match self {
            Job::TierEvaluation => "tier_evaluation",
            Job::PointsExpiry => "points_expiry",
            Job::Rfm => "rfm",
            Job::BirthdayCoupons => "birthday_coupons",
            Job::Campaigns => "campaigns",
            Job::DownlinkScope => "downlink_scope",
        }
    }
}

/// One run this process made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    /// The job.
    pub job: Job,
    /// The business day.
    pub day: NaiveDate,
    /// What it changed (members for tiers, entries for expiry), or why it
    /// failed.
    pub outcome: Result<usize, String>,
}

/// Runs every job's owed days that this process can claim at `now`, as
/// `holder` (a name unique to the process). Returns the runs it made.
pub async fn run_due(
    hq: &Hq,
    config: &JobsConfig,
    holder: &str,
    now: Timestamp,
) -> Result<Vec<Ran>, HqError> {
    let store = hq.store();
    let now_ms = now.timestamp_millis();
    let mut ran = Vec::new();
    for job in Job::ALL {
        let last_ok = store
            .last_ok_job_day(job.name())
            .await?
            .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok());
        for day in schedule::days_due(last_ok, now, config.time_of_day) {
            let Some(moment) = schedule::moment(day, config.time_of_day) else {
                break;
            };
            let day_text = day.format("%Y-%m-%d").to_string();
            let lease_until = now_ms.saturating_add(config.lease.num_milliseconds());
            let claim = JobClaim {
                job: job.name().into(),
                day: day_text.clone(),
                holder: holder.into(),
                now_ms,
                lease_until_ms: lease_until,
            };
            if !store.claim_job(&claim).await? {
                // Held by another process, or failed and waiting: the
                // next tick looks again; later days wait for this one.
                break;
            }
            let started = Instant::now();
            let run = schedule::run_id(job.name(), day, moment);
            let progress = RunProgress::resume(
                Arc::clone(store),
                claim.clone(),
                config.lease.num_milliseconds(),
            )
            .await?;
            let outcome = match job {
                Job::TierEvaluation => hq.evaluate_tiers_in(moment, run, Some(&progress)).await,
                Job::PointsExpiry => hq.expire_points_in(moment, run, Some(&progress)).await,
                Job::Rfm => hq.refresh_rfm(moment).await,
                Job::BirthdayCoupons => hq.issue_birthday_coupons(moment).await,
                Job::Campaigns => hq.run_campaigns(moment).await,
                Job::DownlinkScope => hq.lapse_scopes(moment, config.scope_days).await,
            }
            .map_err(|e| e.to_string());
            let took_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
            let finished_at_ms = now_ms.saturating_add(took_ms);
            let (result, detail) = match &outcome {
                Ok(n) => ("ok", format!("{n} {}", unit(job))),
                Err(e) => ("failed", e.clone()),
            };
            let still_held = store
                .finish_job(&JobFinish {
                    job: job.name().into(),
                    day: day_text.clone(),
                    holder: holder.into(),
                    finished_at_ms,
                    outcome: result.into(),
                    detail: detail.clone(),
                    retry_after_ms: finished_at_ms
                        .saturating_add(config.retry_after.num_milliseconds()),
                })
                .await?;
            if still_held {
                tracing::info!(job = job.name(), day = %day_text, outcome = result, detail = %detail, took_ms, "daily job ran");
            } else {
                tracing::warn!(job = job.name(), day = %day_text, took_ms, "daily job's lease passed before it finished; another process took it up");
            }
            let failed = outcome.is_err();
            ran.push(Ran { job, day, outcome });
            if failed {
                break;
            }
        }
    }
    Ok(ran)
}

/// What a job's count counts.
fn unit(job: Job) -> &'static str {
    match job {
        Job::TierEvaluation => "tier changes",
        Job::PointsExpiry => "expiry entries",
        Job::Rfm => "members scored",
        Job::BirthdayCoupons | Job::Campaigns => "coupons issued",
        Job::DownlinkScope => "scopes lapsed",
    }
}

/// A name for this process in `job_runs` (the process id and a random
/// suffix: unique among processes sharing a database).
pub fn holder_name() -> String {
    let id = uuid::Uuid::now_v7().simple().to_string();
    format!("pid{}-{}", std::process::id(), &id[id.len() - 8..])
}

/// Runs [`run_due`] every `tick` until `shutdown` resolves, reading the
/// moment from `clock`. An error is logged and the next tick tries again.
pub async fn run_scheduler(
    hq: Arc<Hq>,
    config: JobsConfig,
    clock: Arc<dyn Fn() -> Timestamp + Send + Sync>,
    tick: std::time::Duration,
    shutdown: impl Future<Output = ()>,
) {
    let holder = holder_name();
    tracing::info!(holder = %holder, at = %config.time_of_day, "daily jobs scheduled");
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = interval.tick() => {
                if let Err(e) = run_due(&hq, &config, &holder, clock()).await {
                    tracing::warn!(error = %e, "daily jobs: the tick failed; trying again at the next");
                }
            }
        }
    }
}
