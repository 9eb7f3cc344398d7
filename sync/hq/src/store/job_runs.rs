//! What the store keeps of the daily jobs' runs ([`crate::jobs`]): each
//! job's run for a business day, claimed under a lease, its progress and
//! how it ended. A trait of its own beside [`super::Store`], which requires
//! it, so each backend keeps the runs' statements (one text for both:
//! [`super::job_sql`]) in one file.

use super::StoreResult;

/// One daily job's run for one business day (`job_runs`): who holds or
/// held its lease, when it started and finished, and how it went.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct JobRunRecord {
    /// The job (`tier_evaluation`, `points_expiry`).
    pub job: String,
    /// The business day run for (`YYYY-MM-DD`).
    pub day: String,
    /// The head-office process that holds or held the lease.
    pub holder: String,
    /// Started (ms since the epoch).
    pub started_at_ms: i64,
    /// Finished (ms since the epoch), if it has.
    pub finished_at_ms: Option<i64>,
    /// `ok` or `failed`, once finished.
    pub outcome: Option<String>,
    /// What the run did, or why it failed (counts and error text, no
    /// personal data).
    pub detail: Option<String>,
    /// Attempts so far (a failed or abandoned run is taken up again).
    pub attempts: i64,
}

/// A claim on a job's run, for [`JobRunStore::claim_job`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobClaim {
    /// The job.
    pub job: String,
    /// The business day (`YYYY-MM-DD`).
    pub day: String,
    /// The process claiming it.
    pub holder: String,
    /// Now (ms since the epoch).
    pub now_ms: i64,
    /// Until when the claim holds (ms since the epoch).
    pub lease_until_ms: i64,
}

/// How a job's run ended, for [`JobRunStore::finish_job`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFinish {
    /// The job.
    pub job: String,
    /// The business day.
    pub day: String,
    /// The lease holder finishing it.
    pub holder: String,
    /// Finished (ms since the epoch).
    pub finished_at_ms: i64,
    /// `ok` or `failed`.
    pub outcome: String,
    /// What it did, or why it failed.
    pub detail: String,
    /// Until when no other process may take a failed run up again.
    pub retry_after_ms: i64,
}

/// The daily jobs' runs.
#[async_trait::async_trait]
pub trait JobRunStore {
    /// Claims a job's run for a day for its holder until the lease's end:
    /// true when this caller now holds it (no run yet, or a failed or
    /// abandoned one whose lease has passed), false when another process
    /// holds it or it ran well. One statement, so two head offices on one
    /// database never both get it.
    async fn claim_job(&self, claim: &JobClaim) -> StoreResult<bool>;
    /// Records how a claimed run ended; false when `holder` no longer holds
    /// it (its lease passed and another process took it up).
    async fn finish_job(&self, finish: &JobFinish) -> StoreResult<bool>;
    /// Records that the run `claim` names got as far as `progress` (a key
    /// of its own: the last member id it booked a page up to) and renews
    /// its lease to `claim.lease_until_ms`; false when `claim.holder` no
    /// longer holds it (the run must stop: another process took it up).
    async fn record_job_progress(&self, claim: &JobClaim, progress: &str) -> StoreResult<bool>;
    /// How far a day's run got ([`JobRunStore::record_job_progress`]), if it
    /// recorded anything: where a process taking it up goes on from.
    async fn job_progress(&self, job: &str, day: &str) -> StoreResult<Option<String>>;
    /// The last business day `job` ran well for.
    async fn last_ok_job_day(&self, job: &str) -> StoreResult<Option<String>>;
    /// The newest `limit` runs of every job, newest day first.
    async fn job_runs(&self, limit: i64) -> StoreResult<Vec<JobRunRecord>>;
}
