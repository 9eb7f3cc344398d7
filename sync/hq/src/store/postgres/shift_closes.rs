//! Terminals' shift closes on PostgreSQL ([`crate::store::shift_closes`]).

use super::PgStore;
use super::sql::query_cached;
use crate::store::shift_closes::{ShiftCloseRecord, ShiftCloseStore};
use crate::store::{StoreResult, parse_json};

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
        .map(|r| {
            Ok(ShiftCloseRecord {
                terminal_id: r.try_get(0)?,
                shift_id: r.try_get(1)?,
                seq: r.try_get(2)?,
                store: r.try_get(3)?,
                closed_at_ms: r.try_get(4)?,
                closed_by: r.try_get(5)?,
                report: parse_json(&r.try_get::<_, String>(6)?)?,
            })
        })
        .collect()
    }
}
