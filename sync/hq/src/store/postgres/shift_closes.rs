//! Terminals' shift closes on PostgreSQL ([`crate::store::shift_closes`]).

use tokio_postgres::Row;

use super::PgStore;
use super::sql::query_cached;
use crate::store::shift_closes::{
    ShiftCloseKey, ShiftClosePage, ShiftCloseRecord, ShiftCloseStore,
};
use crate::store::{StoreResult, parse_json};

fn read(r: &Row) -> StoreResult<ShiftCloseRecord> {
    Ok(ShiftCloseRecord {
        terminal_id: r.try_get(0)?,
        shift_id: r.try_get(1)?,
        seq: r.try_get(2)?,
        store: r.try_get(3)?,
        closed_at_ms: r.try_get(4)?,
        closed_by: r.try_get(5)?,
        report: parse_json(&r.try_get::<_, String>(6)?)?,
    })
}

#[async_trait::async_trait]
impl ShiftCloseStore for PgStore {
    async fn shift_closes(&self, store: &str, limit: i64) -> StoreResult<Vec<ShiftCloseRecord>> {
        let client = self.client().await?;
        query_cached(
            &client,
            "SELECT terminal_id, shift_id, seq, store, closed_at_ms, closed_by, report
             FROM shift_closes WHERE store = $1
             ORDER BY closed_at_ms DESC, terminal_id, seq DESC LIMIT $2",
            &[&store, &limit],
        )
        .await?
        .iter()
        .map(read)
        .collect()
    }

    async fn shift_close_page(&self, page: &ShiftClosePage) -> StoreResult<Vec<ShiftCloseRecord>> {
        // From the newest, the key sorts before every close (no close is at
        // i64::MAX ms: the protocol bounds its moments), so one statement
        // serves the first page and the next ones.
        let after = page.after.clone().unwrap_or(ShiftCloseKey {
            closed_at_ms: i64::MAX,
            terminal_id: String::new(),
            seq: i64::MAX,
        });
        let client = self.client().await?;
        query_cached(
            &client,
            "SELECT terminal_id, shift_id, seq, store, closed_at_ms, closed_by, report
             FROM shift_closes
             WHERE store = $1 AND closed_at_ms >= $2 AND closed_at_ms < $3
               AND (closed_at_ms < $4 OR (closed_at_ms = $4
                    AND (terminal_id > $5 OR (terminal_id = $5 AND seq < $6))))
             ORDER BY closed_at_ms DESC, terminal_id, seq DESC LIMIT $7",
            &[
                &page.store,
                &page.since_ms,
                &page.until_ms,
                &after.closed_at_ms,
                &after.terminal_id,
                &after.seq,
                &page.limit,
            ],
        )
        .await?
        .iter()
        .map(read)
        .collect()
    }

    async fn shift_close(
        &self,
        terminal_id: &str,
        shift_id: &str,
    ) -> StoreResult<Option<ShiftCloseRecord>> {
        let client = self.client().await?;
        query_cached(
            &client,
            "SELECT terminal_id, shift_id, seq, store, closed_at_ms, closed_by, report
             FROM shift_closes WHERE terminal_id = $1 AND shift_id = $2",
            &[&terminal_id, &shift_id],
        )
        .await?
        .first()
        .map(read)
        .transpose()
    }
}
