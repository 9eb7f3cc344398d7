//! What every head-office node on one PostgreSQL database shares besides
//! the data (issue 23): sign-in failure counts
//! ([`crate::store::throttles`]), counted by one upsert each so that
//! nodes counting at once add up, and the console's one-time notices by
//! session.

use deadpool_postgres::GenericClient;

use super::PgStore;
use crate::store::NodeStateStore;

use super::sql::{execute_cached, query_cached};
use crate::store::StoreResult;
use crate::store::throttles::{FLASH_KEPT, THROTTLE_KEPT, ThrottleRow, ThrottleRule};

fn row(r: &tokio_postgres::Row) -> StoreResult<ThrottleRow> {
    Ok(ThrottleRow {
        window_start_ms: r.try_get(0)?,
        failures: r.try_get(1)?,
        locked_until_ms: r.try_get(2)?,
    })
}

/// A key's count.
pub(super) async fn throttle<C: GenericClient>(
    client: &C,
    key: &str,
) -> StoreResult<Option<ThrottleRow>> {
    query_cached(
        client,
        "SELECT window_start_ms, failures, locked_until_ms FROM hq_throttles WHERE key = $1",
        &[&key],
    )
    .await?
    .first()
    .map(row)
    .transpose()
}

/// One failure more under `key` (the rules of [`crate::store::throttles`]
/// in one upsert), after sweeping counts older than [`THROTTLE_KEPT`].
pub(super) async fn count_failure<C: GenericClient>(
    client: &C,
    key: &str,
    rule: ThrottleRule,
    now_ms: i64,
) -> StoreResult<ThrottleRow> {
    let kept = i64::try_from(THROTTLE_KEPT.as_millis()).unwrap_or(i64::MAX / 4);
    execute_cached(
        client,
        "DELETE FROM hq_throttles WHERE window_start_ms < $1 \
         AND (locked_until_ms IS NULL OR locked_until_ms < $2)",
        &[&now_ms.saturating_sub(kept), &now_ms],
    )
    .await?;
    let rows = query_cached(
        client,
        "INSERT INTO hq_throttles AS t (key, window_start_ms, failures, locked_until_ms) \
         VALUES ($1, $2::bigint, 1, CASE WHEN $5::bigint > 0 AND $4::bigint <= 1 THEN $2 + $5 END) \
         ON CONFLICT (key) DO UPDATE SET \
           window_start_ms = CASE WHEN t.window_start_ms <= $2 - $3::bigint \
             OR t.locked_until_ms <= $2 THEN $2 ELSE t.window_start_ms END, \
           failures = CASE WHEN t.window_start_ms <= $2 - $3 OR t.locked_until_ms <= $2 \
             THEN 1 ELSE t.failures + 1 END, \
           locked_until_ms = CASE WHEN $5 <= 0 THEN NULL \
             WHEN t.window_start_ms <= $2 - $3 OR t.locked_until_ms <= $2 \
               THEN CASE WHEN $4 <= 1 THEN $2 + $5 END \
             WHEN t.failures + 1 >= $4 THEN $2 + $5 \
             ELSE t.locked_until_ms END \
         RETURNING window_start_ms, failures, locked_until_ms",
        &[
            &key,
            &now_ms,
            &rule.window_ms(),
            &i64::from(rule.max_failures),
            &rule.lock_ms(),
        ],
    )
    .await?;
    rows.first().map(row).transpose()?.ok_or_else(|| {
        crate::store::StoreError::Corrupt("hq_throttles upsert returned no row".into())
    })
}

/// Forgets `key`'s count.
pub(super) async fn clear_throttle<C: GenericClient>(client: &C, key: &str) -> StoreResult<()> {
    execute_cached(client, "DELETE FROM hq_throttles WHERE key = $1", &[&key]).await?;
    Ok(())
}

/// Keeps `body` as the session's notice (replacing one not yet shown),
/// after sweeping notices older than [`FLASH_KEPT`].
pub(super) async fn put_flash<C: GenericClient>(
    client: &C,
    session: &str,
    body: &str,
    now_ms: i64,
) -> StoreResult<()> {
    let kept = i64::try_from(FLASH_KEPT.as_millis()).unwrap_or(i64::MAX / 4);
    execute_cached(
        client,
        "DELETE FROM hq_flashes WHERE at_ms < $1",
        &[&now_ms.saturating_sub(kept)],
    )
    .await?;
    execute_cached(
        client,
        "INSERT INTO hq_flashes (session_hash, body, at_ms) VALUES ($1, $2, $3) \
         ON CONFLICT (session_hash) DO UPDATE SET body = excluded.body, at_ms = excluded.at_ms",
        &[&session, &body, &now_ms],
    )
    .await?;
    Ok(())
}

/// The session's notice, deleted as it is read.
pub(super) async fn take_flash<C: GenericClient>(
    client: &C,
    session: &str,
) -> StoreResult<Option<String>> {
    query_cached(
        client,
        "DELETE FROM hq_flashes WHERE session_hash = $1 RETURNING body",
        &[&session],
    )
    .await?
    .first()
    .map(|r| r.try_get(0))
    .transpose()
    .map_err(Into::into)
}

#[async_trait::async_trait]
impl NodeStateStore for PgStore {
    async fn throttle(&self, key: &str) -> StoreResult<Option<ThrottleRow>> {
        throttle(&self.client().await?, key).await
    }

    async fn count_failure(
        &self,
        key: &str,
        rule: ThrottleRule,
        now_ms: i64,
    ) -> StoreResult<ThrottleRow> {
        count_failure(&self.client().await?, key, rule, now_ms).await
    }

    async fn clear_throttle(&self, key: &str) -> StoreResult<()> {
        clear_throttle(&self.client().await?, key).await
    }

    async fn put_flash(&self, session_hash: &str, body: &str, now_ms: i64) -> StoreResult<()> {
        put_flash(&self.client().await?, session_hash, body, now_ms).await
    }

    async fn take_flash(&self, session_hash: &str) -> StoreResult<Option<String>> {
        take_flash(&self.client().await?, session_hash).await
    }
}
