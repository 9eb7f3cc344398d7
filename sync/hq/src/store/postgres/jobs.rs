//! Head office's daily jobs on PostgreSQL (`job_runs`): claiming a day's
//! run under a lease, finishing it, and reading the runs back (the
//! statements: `store/job_sql`).

use deadpool_postgres::GenericClient;

use super::PgStore;
use crate::store::JobRunStore;

use crate::store::job_sql::{CLAIM, FINISH, LAST_OK_DAY, PROGRESS, PROGRESS_OF};
use crate::store::rows::{columns, job_run_from_row};
use crate::store::{JobClaim, JobFinish, JobRunRecord, StoreResult};

pub(super) async fn claim_job<C: GenericClient>(client: &C, c: &JobClaim) -> StoreResult<bool> {
    let rows = client
        .query(
            CLAIM,
            &[&c.job, &c.day, &c.holder, &c.now_ms, &c.lease_until_ms],
        )
        .await?;
    Ok(!rows.is_empty())
}

pub(super) async fn finish_job<C: GenericClient>(client: &C, f: &JobFinish) -> StoreResult<bool> {
    let updated = client
        .execute(
            FINISH,
            &[
                &f.finished_at_ms,
                &f.outcome,
                &f.detail,
                &f.retry_after_ms,
                &f.job,
                &f.day,
                &f.holder,
            ],
        )
        .await?;
    Ok(updated == 1)
}

pub(super) async fn record_job_progress<C: GenericClient>(
    client: &C,
    c: &JobClaim,
    progress: &str,
) -> StoreResult<bool> {
    let updated = client
        .execute(
            PROGRESS,
            &[&progress, &c.lease_until_ms, &c.job, &c.day, &c.holder],
        )
        .await?;
    Ok(updated == 1)
}

pub(super) async fn job_progress<C: GenericClient>(
    client: &C,
    job: &str,
    day: &str,
) -> StoreResult<Option<String>> {
    match client.query_opt(PROGRESS_OF, &[&job, &day]).await? {
        Some(row) => Ok(row.try_get(0)?),
        None => Ok(None),
    }
}

pub(super) async fn last_ok_job_day<C: GenericClient>(
    client: &C,
    job: &str,
) -> StoreResult<Option<String>> {
    Ok(client.query_one(LAST_OK_DAY, &[&job]).await?.try_get(0)?)
}

pub(super) async fn job_runs<C: GenericClient>(
    client: &C,
    limit: i64,
) -> StoreResult<Vec<JobRunRecord>> {
    client
        .query(
            concat!(
                "SELECT ",
                columns!(job_run),
                " FROM job_runs ORDER BY day DESC, job LIMIT $1"
            ),
            &[&limit],
        )
        .await?
        .iter()
        .map(job_run_from_row)
        .collect()
}

#[async_trait::async_trait]
impl JobRunStore for PgStore {
    async fn claim_job(&self, claim: &JobClaim) -> StoreResult<bool> {
        claim_job(&self.client().await?, claim).await
    }

    async fn finish_job(&self, finish: &JobFinish) -> StoreResult<bool> {
        finish_job(&self.client().await?, finish).await
    }

    async fn record_job_progress(&self, claim: &JobClaim, progress: &str) -> StoreResult<bool> {
        record_job_progress(&self.client().await?, claim, progress).await
    }

    async fn job_progress(&self, job: &str, day: &str) -> StoreResult<Option<String>> {
        job_progress(&self.client().await?, job, day).await
    }

    async fn last_ok_job_day(&self, job: &str) -> StoreResult<Option<String>> {
        last_ok_job_day(&self.client().await?, job).await
    }

    async fn job_runs(&self, limit: i64) -> StoreResult<Vec<JobRunRecord>> {
        job_runs(&self.client().await?, limit).await
    }
}
