//! Terminals on SQLite: a terminal's record, the flags raised against it
//! and the clock skew it last reported.

use rusqlite::{Connection, params};
use tillcard_protocol::wire::TerminalId;
use tillcard_rules::ids::Timestamp;

use crate::store::rows::{columns, terminal_flag_from_row, terminal_record_from_row};
use crate::store::{StoreResult, TerminalRecord};

/// A terminal by id.
pub(super) fn terminal(c: &Connection, id: TerminalId) -> StoreResult<Option<TerminalRecord>> {
    let mut stmt = c.prepare_cached(concat!(
        "SELECT ",
        columns!(terminal_record),
        " FROM terminals WHERE terminal_id = ?1"
    ))?;
    stmt.query_and_then(params![id.to_string()], |row| terminal_record_from_row(row))?
        .next()
        .transpose()
}

/// Raises a flag against a terminal (a bad signature, a rewritten audit).
pub(super) fn flag_terminal(
    c: &Connection,
    id: TerminalId,
    reason: &str,
    now: Timestamp,
) -> StoreResult<()> {
    c.execute(
        "INSERT INTO terminal_flags (terminal_id, reason, at) VALUES (?1, ?2, ?3)",
        params![id.to_string(), reason, now.to_rfc3339()],
    )?;
    Ok(())
}

/// The skew a terminal's last signed request reported.
pub(super) fn record_clock_skew(
    c: &Connection,
    id: TerminalId,
    skew_ms: i64,
    now: Timestamp,
) -> StoreResult<()> {
    c.execute(
        "UPDATE terminals SET clock_skew_ms = ?2, clock_skew_at = ?3 WHERE terminal_id = ?1",
        params![id.to_string(), skew_ms, now.to_rfc3339()],
    )?;
    Ok(())
}

/// Every flag, oldest first.
pub(super) fn terminal_flags(c: &Connection) -> StoreResult<Vec<(TerminalId, String)>> {
    let mut stmt = c.prepare(concat!(
        "SELECT ",
        columns!(terminal_flag),
        " FROM terminal_flags ORDER BY id"
    ))?;
    stmt.query_and_then([], |row| terminal_flag_from_row(row))?
        .collect()
}
