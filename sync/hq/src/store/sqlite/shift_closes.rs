//! Terminals' shift closes on SQLite ([`crate::store::shift_closes`]).

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::SqliteStore;
use crate::store::shift_closes::{
    ShiftCloseKey, ShiftClosePage, ShiftCloseRecord, ShiftCloseStore,
};
use crate::store::{StoreResult, parse_json};

/// The columns every query reads, in [`read`]'s order.
const COLUMNS: &str = "terminal_id, shift_id, seq, store, closed_at_ms, closed_by, report";

/// A row's columns, the report still text (parsed outside rusqlite's
/// closure, whose error type is rusqlite's own).
type Raw = (String, String, i64, String, i64, String, String);

fn raw(r: &Row<'_>) -> rusqlite::Result<Raw> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

fn read(
    (terminal_id, shift_id, seq, store, closed_at_ms, closed_by, report): Raw,
) -> StoreResult<ShiftCloseRecord> {
    Ok(ShiftCloseRecord {
        terminal_id,
        shift_id,
        seq,
        store,
        closed_at_ms,
        closed_by,
        report: parse_json(&report)?,
    })
}

fn shift_closes(c: &Connection, store: &str, limit: i64) -> StoreResult<Vec<ShiftCloseRecord>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM shift_closes WHERE store = ?1
         ORDER BY closed_at_ms DESC, terminal_id, seq DESC LIMIT ?2"
    ))?;
    let rows = stmt
        .query_map(params![store, limit], raw)?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().map(read).collect()
}

fn shift_close_page(c: &Connection, page: &ShiftClosePage) -> StoreResult<Vec<ShiftCloseRecord>> {
    // From the newest, the key sorts before every close (no close is at
    // i64::MAX ms: the protocol bounds its moments), so one statement
    // serves the first page and the next ones.
    let after = page.after.clone().unwrap_or(ShiftCloseKey {
        closed_at_ms: i64::MAX,
        terminal_id: String::new(),
        seq: i64::MAX,
    });
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM shift_closes
         WHERE store = ?1 AND closed_at_ms >= ?2 AND closed_at_ms < ?3
           AND (closed_at_ms < ?4 OR (closed_at_ms = ?4
                AND (terminal_id > ?5 OR (terminal_id = ?5 AND seq < ?6))))
         ORDER BY closed_at_ms DESC, terminal_id, seq DESC LIMIT ?7"
    ))?;
    let rows = stmt
        .query_map(
            params![
                page.store,
                page.since_ms,
                page.until_ms,
                after.closed_at_ms,
                after.terminal_id,
                after.seq,
                page.limit
            ],
            raw,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().map(read).collect()
}

fn shift_close(
    c: &Connection,
    terminal_id: &str,
    shift_id: &str,
) -> StoreResult<Option<ShiftCloseRecord>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM shift_closes WHERE terminal_id = ?1 AND shift_id = ?2"
    ))?;
    stmt.query_row(params![terminal_id, shift_id], raw)
        .optional()?
        .map(read)
        .transpose()
}

#[async_trait::async_trait]
impl ShiftCloseStore for SqliteStore {
    async fn shift_closes(&self, store: &str, limit: i64) -> StoreResult<Vec<ShiftCloseRecord>> {
        let store = store.to_string();
        self.run(move |c| shift_closes(c, &store, limit)).await
    }

    async fn shift_close_page(&self, page: &ShiftClosePage) -> StoreResult<Vec<ShiftCloseRecord>> {
        let page = page.clone();
        self.run(move |c| shift_close_page(c, &page)).await
    }

    async fn shift_close(
        &self,
        terminal_id: &str,
        shift_id: &str,
    ) -> StoreResult<Option<ShiftCloseRecord>> {
        let (terminal_id, shift_id) = (terminal_id.to_string(), shift_id.to_string());
        self.run(move |c| shift_close(c, &terminal_id, &shift_id))
            .await
    }
}
