//! Head office's daily jobs on SQLite (`job_runs`): claiming a day's run
//! under a lease, finishing it, and reading the runs back (the statements:
//! `store/job_sql`, the same text as PostgreSQL's).

use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteStore;
use crate::store::JobRunStore;

use crate::store::job_sql::{CLAIM, FINISH, LAST_OK_DAY, PROGRESS, PROGRESS_OF};
use crate::store::rows::{columns, job_run_from_row};
use crate::store::{JobClaim, JobFinish, JobRunRecord, StoreResult};

pub(super) fn claim_job(c: &Connection, claim: &JobClaim) -> StoreResult<bool> {
    let attempts: Option<i64> = c
        .query_row(
            CLAIM,
            params![
                claim.job,
                claim.day,
                claim.holder,
                claim.now_ms,
                claim.lease_until_ms
            ],
            |r| r.get(0),
        )
        .optional()?;
    Ok(attempts.is_some())
}

pub(super) fn finish_job(c: &Connection, f: &JobFinish) -> StoreResult<bool> {
    let updated = c.execute(
        FINISH,
        params![
            f.finished_at_ms,
            f.outcome,
            f.detail,
            f.retry_after_ms,
            f.job,
            f.day,
            f.holder
        ],
    )?;
    Ok(updated == 1)
}

pub(super) fn record_job_progress(
    c: &Connection,
    claim: &JobClaim,
    progress: &str,
) -> StoreResult<bool> {
    let updated = c.execute(
        PROGRESS,
        params![
            progress,
            claim.lease_until_ms,
            claim.job,
            claim.day,
            claim.holder
        ],
    )?;
    Ok(updated == 1)
}

pub(super) fn job_progress(c: &Connection, job: &str, day: &str) -> StoreResult<Option<String>> {
    Ok(c.query_row(PROGRESS_OF, params![job, day], |r| {
        r.get::<_, Option<String>>(0)
    })
    .optional()?
    .flatten())
}

pub(super) fn last_ok_job_day(c: &Connection, job: &str) -> StoreResult<Option<String>> {
    Ok(c.query_row(LAST_OK_DAY, params![job], |r| r.get(0))?)
}

pub(super) fn job_runs(c: &Connection, limit: i64) -> StoreResult<Vec<JobRunRecord>> {
    let mut stmt = c.prepare(concat!(
        "SELECT ",
        columns!(job_run),
        " FROM job_runs ORDER BY day DESC, job LIMIT ?1"
    ))?;
    stmt.query_and_then(params![limit], |row| job_run_from_row(row))?
        .collect()
}

#[async_trait::async_trait]
impl JobRunStore for SqliteStore {
    async fn claim_job(&self, claim: &JobClaim) -> StoreResult<bool> {
        let claim = claim.clone();
        self.run(move |c| claim_job(c, &claim)).await
    }

    async fn finish_job(&self, finish: &JobFinish) -> StoreResult<bool> {
        let finish = finish.clone();
        self.run(move |c| finish_job(c, &finish)).await
    }

    async fn record_job_progress(&self, claim: &JobClaim, progress: &str) -> StoreResult<bool> {
        let (claim, progress) = (claim.clone(), progress.to_string());
        self.run(move |c| record_job_progress(c, &claim, &progress))
            .await
    }

    async fn job_progress(&self, job: &str, day: &str) -> StoreResult<Option<String>> {
        let (job, day) = (job.to_string(), day.to_string());
        self.run(move |c| job_progress(c, &job, &day)).await
    }

    async fn last_ok_job_day(&self, job: &str) -> StoreResult<Option<String>> {
        let job = job.to_string();
        self.run(move |c| last_ok_job_day(c, &job)).await
    }

    async fn job_runs(&self, limit: i64) -> StoreResult<Vec<JobRunRecord>> {
        self.run(move |c| job_runs(c, limit)).await
    }
}
