//! Terminals' shift closes on SQLite ([`crate::store::shift_closes`]).

use rusqlite::{Connection, params};

use super::SqliteStore;
use crate::store::shift_closes::{ShiftCloseRecord, ShiftCloseStore};
use crate::store::{StoreResult, parse_json};

fn shift_closes(c: &Connection, store: &str, limit: i64) -> StoreResult<Vec<ShiftCloseRecord>> {
    let mut stmt = c.prepare_cached(
        "SELECT terminal_id, shift_id, seq, store, closed_at_ms, closed_by, report
         FROM shift_closes WHERE store = ?1
         ORDER BY closed_at_ms DESC, terminal_id, seq DESC LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![store, limit], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(
            |(terminal_id, shift_id, seq, store, closed_at_ms, closed_by, report)| {
                Ok(ShiftCloseRecord {
                    terminal_id,
                    shift_id,
                    seq,
                    store,
                    closed_at_ms,
                    closed_by,
                    report: parse_json(&report)?,
                })
            },
        )
        .collect()
}

#[async_trait::async_trait]
impl ShiftCloseStore for SqliteStore {
    async fn shift_closes(&self, store: &str, limit: i64) -> StoreResult<Vec<ShiftCloseRecord>> {
        let store = store.to_string();
        self.run(move |c| shift_closes(c, &store, limit)).await
    }
}
