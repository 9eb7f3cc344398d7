//! What every head-office node on one SQLite database shares besides the
//! data (issue 23): sign-in failure counts ([`crate::store::throttles`])
//! and the console's one-time notices by session.

use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteStore;
use crate::store::NodeStateStore;

use crate::store::StoreResult;
use crate::store::throttles::{FLASH_KEPT, THROTTLE_KEPT, ThrottleRow, ThrottleRule};

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ThrottleRow> {
    Ok(ThrottleRow {
        window_start_ms: r.get(0)?,
        failures: r.get(1)?,
        locked_until_ms: r.get(2)?,
    })
}

/// A key's count.
pub(super) fn throttle(c: &Connection, key: &str) -> StoreResult<Option<ThrottleRow>> {
    Ok(c.prepare_cached(
        "SELECT window_start_ms, failures, locked_until_ms FROM hq_throttles WHERE key = ?1",
    )?
    .query_row(params![key], row)
    .optional()?)
}

/// One failure more under `key` (the rules of [`crate::store::throttles`]
/// in one upsert), after sweeping counts older than [`THROTTLE_KEPT`].
pub(super) fn count_failure(
    c: &Connection,
    key: &str,
    rule: ThrottleRule,
    now_ms: i64,
) -> StoreResult<ThrottleRow> {
    let kept = i64::try_from(THROTTLE_KEPT.as_millis()).unwrap_or(i64::MAX / 4);
    c.prepare_cached(
        "DELETE FROM hq_throttles WHERE window_start_ms < ?1 \
         AND (locked_until_ms IS NULL OR locked_until_ms < ?2)",
    )?
    .execute(params![now_ms.saturating_sub(kept), now_ms])?;
    Ok(c.prepare_cached(
        "INSERT INTO hq_throttles AS t (key, window_start_ms, failures, locked_until_ms) \
         VALUES (?1, ?2, 1, CASE WHEN ?5 > 0 AND ?4 <= 1 THEN ?2 + ?5 END) \
         ON CONFLICT (key) DO UPDATE SET \
           window_start_ms = CASE WHEN t.window_start_ms <= ?2 - ?3 OR t.locked_until_ms <= ?2 \
             THEN ?2 ELSE t.window_start_ms END, \
           failures = CASE WHEN t.window_start_ms <= ?2 - ?3 OR t.locked_until_ms <= ?2 \
             THEN 1 ELSE t.failures + 1 END, \
           locked_until_ms = CASE WHEN ?5 <= 0 THEN NULL \
             WHEN t.window_start_ms <= ?2 - ?3 OR t.locked_until_ms <= ?2 \
               THEN CASE WHEN ?4 <= 1 THEN ?2 + ?5 END \
             WHEN t.failures + 1 >= ?4 THEN ?2 + ?5 \
             ELSE t.locked_until_ms END \
         RETURNING window_start_ms, failures, locked_until_ms",
    )?
    .query_row(
        params![
            key,
            now_ms,
            rule.window_ms(),
            i64::from(rule.max_failures),
            rule.lock_ms()
        ],
        row,
    )?)
}

/// Forgets `key`'s count.
pub(super) fn clear_throttle(c: &Connection, key: &str) -> StoreResult<()> {
    c.prepare_cached("DELETE FROM hq_throttles WHERE key = ?1")?
        .execute(params![key])?;
    Ok(())
}

/// Keeps `body` as the session's notice (replacing one not yet shown),
/// after sweeping notices older than [`FLASH_KEPT`].
pub(super) fn put_flash(c: &Connection, session: &str, body: &str, now_ms: i64) -> StoreResult<()> {
    let kept = i64::try_from(FLASH_KEPT.as_millis()).unwrap_or(i64::MAX / 4);
    c.prepare_cached("DELETE FROM hq_flashes WHERE at_ms < ?1")?
        .execute(params![now_ms.saturating_sub(kept)])?;
    c.prepare_cached(
        "INSERT INTO hq_flashes (session_hash, body, at_ms) VALUES (?1, ?2, ?3) \
         ON CONFLICT (session_hash) DO UPDATE SET body = excluded.body, at_ms = excluded.at_ms",
    )?
    .execute(params![session, body, now_ms])?;
    Ok(())
}

/// The session's notice, deleted as it is read.
pub(super) fn take_flash(c: &Connection, session: &str) -> StoreResult<Option<String>> {
    Ok(
        c.prepare_cached("DELETE FROM hq_flashes WHERE session_hash = ?1 RETURNING body")?
            .query_row(params![session], |r| r.get(0))
            .optional()?,
    )
}

#[async_trait::async_trait]
impl NodeStateStore for SqliteStore {
    async fn throttle(&self, key: &str) -> StoreResult<Option<ThrottleRow>> {
        let key = key.to_string();
        self.run(move |c| throttle(c, &key)).await
    }

    async fn count_failure(
        &self,
        key: &str,
        rule: ThrottleRule,
        now_ms: i64,
    ) -> StoreResult<ThrottleRow> {
        let key = key.to_string();
        self.run(move |c| count_failure(c, &key, rule, now_ms))
            .await
    }

    async fn clear_throttle(&self, key: &str) -> StoreResult<()> {
        let key = key.to_string();
        self.run(move |c| clear_throttle(c, &key)).await
    }

    async fn put_flash(&self, session_hash: &str, body: &str, now_ms: i64) -> StoreResult<()> {
        let (session, body) = (session_hash.to_string(), body.to_string());
        self.run(move |c| put_flash(c, &session, &body, now_ms))
            .await
    }

    async fn take_flash(&self, session_hash: &str) -> StoreResult<Option<String>> {
        let session = session_hash.to_string();
        self.run(move |c| take_flash(c, &session)).await
    }
}
