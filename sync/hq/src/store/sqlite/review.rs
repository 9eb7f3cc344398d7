//! The conflicts work queue on SQLite: the queue, assigning and closing a
//! conflict, each change with its audit row in one transaction.

use rusqlite::{Connection, OptionalExtension, params};

use super::back_office::audit;
use crate::store::back_office::{AuditEntry, BackOfficeRefusal};
use crate::store::rows::{columns, conflict_case_from_row};
use crate::store::{BackOffice, ConflictCase, ConflictClose, ConflictId, StoreResult};

/// The queue: open conflicts first, newest first in each part.
pub(super) fn conflict_cases(c: &Connection, limit: i64) -> StoreResult<Vec<ConflictCase>> {
    let mut stmt = c.prepare(concat!(
        "SELECT ",
        columns!(conflict_case),
        " FROM conflicts ORDER BY state = 'open' DESC, conflict_no DESC LIMIT ?1"
    ))?;
    stmt.query_and_then(params![limit], |row| conflict_case_from_row(row))?
        .collect()
}

/// One conflict, if it exists.
pub(super) fn conflict_case(c: &Connection, id: ConflictId) -> StoreResult<Option<ConflictCase>> {
    let mut stmt = c.prepare(concat!(
        "SELECT ",
        columns!(conflict_case),
        " FROM conflicts WHERE member_id = ?1 AND conflict_no = ?2"
    ))?;
    let mut rows = stmt.query_and_then(params![id.member.to_string(), id.number], |row| {
        conflict_case_from_row(row)
    })?;
    rows.next().transpose()
}

/// Why an update of an open conflict touched no row.
fn not_open(tx: &Connection, id: ConflictId) -> StoreResult<BackOfficeRefusal> {
    let exists = tx
        .query_row(
            "SELECT 1 FROM conflicts WHERE member_id = ?1 AND conflict_no = ?2",
            params![id.member.to_string(), id.number],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    Ok(if exists {
        BackOfficeRefusal::ConflictClosed
    } else {
        BackOfficeRefusal::UnknownConflict
    })
}

/// Ends an update of an open conflict that touched `n` rows: refused when
/// none (unknown or closed), else audited and committed.
fn finish(
    tx: rusqlite::Transaction<'_>,
    n: usize,
    id: ConflictId,
    entry: &AuditEntry,
) -> BackOffice<()> {
    if n == 0 {
        return Ok(Err(not_open(&tx, id)?));
    }
    audit(&tx, entry)?;
    tx.commit()?;
    Ok(Ok(()))
}

/// Assigns an open conflict.
pub(super) fn assign_conflict(
    c: &mut Connection,
    id: ConflictId,
    assignee: &str,
    entry: &AuditEntry,
) -> BackOffice<()> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let n = tx.execute(
        "UPDATE conflicts SET assignee = ?3
         WHERE member_id = ?1 AND conflict_no = ?2 AND state = 'open'",
        params![id.member.to_string(), id.number, assignee],
    )?;
    finish(tx, n, id, entry)
}

/// Closes an open conflict.
pub(super) fn close_conflict(
    c: &mut Connection,
    id: ConflictId,
    close: &ConflictClose,
    entry: &AuditEntry,
) -> BackOffice<()> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let n = tx.execute(
        "UPDATE conflicts SET state = ?3, resolution = ?4, note = ?5, closed_by = ?6, closed_at = ?7
         WHERE member_id = ?1 AND conflict_no = ?2 AND state = 'open'",
        params![
            id.member.to_string(),
            id.number,
            close.state,
            close.resolution,
            close.note,
            close.by,
            close.at
        ],
    )?;
    finish(tx, n, id, entry)
}
