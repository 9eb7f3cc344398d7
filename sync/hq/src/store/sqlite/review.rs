//! The review queue on SQLite: conflicts, dead letters and terminal flags
//! listed, assigned and closed, each change with its audit row in one
//! transaction; a dead letter re-applied through the batch's own load,
//! plan and write in one transaction.

use rusqlite::{Connection, OptionalExtension, params};
use tillcard_rules::ids::Timestamp;

use super::back_office::audit;
use super::batch::{load, write};
use crate::ingest::{self, Prepared};
use crate::store::back_office::{AuditEntry, BackOfficeRefusal};
use crate::store::review::{
    DeadLetterCase, DeadLetterId, FlagCase, Reapplied, ReviewItem, reapply_audit,
};
use crate::store::rows::{
    columns, conflict_case_from_row, dead_letter_case_from_row, flag_case_from_row,
    stored_dead_letter_from_row,
};
use crate::store::{
    BackOffice, ConflictCase, ConflictClose, ConflictId, StoreResult, TerminalRecord, to_sql_int,
};

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

/// Dead letters as a work queue: open ones first, newest first in each
/// part.
pub(super) fn dead_letter_cases(c: &Connection, limit: i64) -> StoreResult<Vec<DeadLetterCase>> {
    let mut stmt = c.prepare(concat!(
        "SELECT ",
        columns!(dead_letter_case),
        " FROM dead_letters ORDER BY state = 'open' DESC, at DESC, terminal_id, seq DESC LIMIT ?1"
    ))?;
    stmt.query_and_then(params![limit], |row| dead_letter_case_from_row(row))?
        .collect()
}

/// One dead letter with its stored body, if it exists.
pub(super) fn dead_letter_case(
    c: &Connection,
    id: DeadLetterId,
) -> StoreResult<Option<(DeadLetterCase, Option<String>)>> {
    let mut stmt = c.prepare(concat!(
        "SELECT ",
        columns!(dead_letter_case),
        " FROM dead_letters WHERE terminal_id = ?1 AND seq = ?2"
    ))?;
    let mut rows = stmt.query_and_then(
        params![id.terminal.to_string(), to_sql_int(id.seq)],
        |row| stored_dead_letter_from_row(row),
    )?;
    rows.next().transpose()
}

/// Terminal flags as a work queue: open ones first, newest first in each
/// part.
pub(super) fn flag_cases(c: &Connection, limit: i64) -> StoreResult<Vec<FlagCase>> {
    let mut stmt = c.prepare(concat!(
        "SELECT ",
        columns!(flag_case),
        " FROM terminal_flags ORDER BY state = 'open' DESC, id DESC LIMIT ?1"
    ))?;
    stmt.query_and_then(params![limit], |row| flag_case_from_row(row))?
        .collect()
}

/// One terminal flag, if it exists.
pub(super) fn flag_case(c: &Connection, id: i64) -> StoreResult<Option<FlagCase>> {
    let mut stmt = c.prepare(concat!(
        "SELECT ",
        columns!(flag_case),
        " FROM terminal_flags WHERE id = ?1"
    ))?;
    let mut rows = stmt.query_and_then(params![id], |row| flag_case_from_row(row))?;
    rows.next().transpose()
}

/// Ends an update of an open dead letter or flag that touched `n` rows:
/// refused when none (unknown or closed), else audited and committed.
fn finish_item(
    tx: rusqlite::Transaction<'_>,
    n: usize,
    item: ReviewItem,
    entry: &AuditEntry,
) -> BackOffice<()> {
    if n == 0 {
        let exists = match item {
            ReviewItem::DeadLetter(id) => tx
                .query_row(
                    "SELECT 1 FROM dead_letters WHERE terminal_id = ?1 AND seq = ?2",
                    params![id.terminal.to_string(), to_sql_int(id.seq)],
                    |_| Ok(()),
                )
                .optional()?,
            ReviewItem::Flag(id) => tx
                .query_row(
                    "SELECT 1 FROM terminal_flags WHERE id = ?1",
                    params![id],
                    |_| Ok(()),
                )
                .optional()?,
        };
        return Ok(Err(item.not_open(exists.is_some())));
    }
    audit(&tx, entry)?;
    tx.commit()?;
    Ok(Ok(()))
}

/// Assigns an open dead letter or flag.
pub(super) fn assign_item(
    c: &mut Connection,
    item: ReviewItem,
    assignee: &str,
    entry: &AuditEntry,
) -> BackOffice<()> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let n = match item {
        ReviewItem::DeadLetter(id) => tx.execute(
            "UPDATE dead_letters SET assignee = ?3
             WHERE terminal_id = ?1 AND seq = ?2 AND state = 'open'",
            params![id.terminal.to_string(), to_sql_int(id.seq), assignee],
        )?,
        ReviewItem::Flag(id) => tx.execute(
            "UPDATE terminal_flags SET assignee = ?2 WHERE id = ?1 AND state = 'open'",
            params![id, assignee],
        )?,
    };
    finish_item(tx, n, item, entry)
}

/// Closes an open dead letter (dismissed) or flag.
pub(super) fn close_item(
    c: &mut Connection,
    item: ReviewItem,
    close: &ConflictClose,
    entry: &AuditEntry,
) -> BackOffice<()> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let n = match item {
        ReviewItem::DeadLetter(id) => tx.execute(
            "UPDATE dead_letters SET state = ?3, note = ?4, closed_by = ?5, closed_at = ?6
             WHERE terminal_id = ?1 AND seq = ?2 AND state = 'open'",
            params![
                id.terminal.to_string(),
                to_sql_int(id.seq),
                close.state,
                close.note,
                close.by,
                close.at
            ],
        )?,
        ReviewItem::Flag(id) => tx.execute(
            "UPDATE terminal_flags SET state = ?2, resolution = ?3, note = ?4, closed_by = ?5,
                closed_at = ?6
             WHERE id = ?1 AND state = 'open'",
            params![
                id,
                close.state,
                close.resolution,
                close.note,
                close.by,
                close.at
            ],
        )?,
    };
    finish_item(tx, n, item, entry)
}

/// Re-applies a dead-lettered event (`prepared`: the one event, rebuilt
/// from its dead letter) in one transaction: its dead `events` row and its
/// open dead letter deleted (neither there: nothing written), then loaded,
/// planned and written exactly as a batch, with the original content hash
/// and the audit row ([`reapply_audit`]).
pub(super) fn reapply_dead_letter(
    c: &mut Connection,
    terminal: &TerminalRecord,
    mut prepared: Prepared,
    now: Timestamp,
    entry: &AuditEntry,
) -> StoreResult<Reapplied> {
    let Some(seq) = prepared.events.first().map(|e| e.seq) else {
        return Ok(Reapplied::NotDeadLettered);
    };
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let key = params![terminal.terminal_id.to_string(), to_sql_int(seq)];
    let assignee: Option<Option<String>> = tx
        .query_row(
            "DELETE FROM dead_letters WHERE terminal_id = ?1 AND seq = ?2 AND state = 'open'
             RETURNING assignee",
            key,
            |r| r.get(0),
        )
        .optional()?;
    let hash: Option<String> = tx
        .query_row(
            "DELETE FROM events WHERE terminal_id = ?1 AND seq = ?2 AND status = 'dead'
             RETURNING content_hash",
            key,
            |r| r.get(0),
        )
        .optional()?;
    // Dropping the transaction rolls a half-done reopening back.
    let (Some(assignee), Some(hash)) = (assignee, hash) else {
        return Ok(Reapplied::NotDeadLettered);
    };
    for event in &mut prepared.events {
        event.hash.clone_from(&hash);
    }
    let loaded = load(&tx, terminal.terminal_id, &prepared)?;
    let Ok(mut plan) = ingest::plan(prepared, loaded, &terminal.store) else {
        return Ok(Reapplied::NotDeadLettered);
    };
    plan.reapplied = true;
    for dead in &mut plan.dead {
        dead.assignee.clone_from(&assignee);
    }
    write(&tx, terminal.terminal_id, &plan, now)?;
    audit(&tx, &reapply_audit(entry, &plan))?;
    tx.commit()?;
    Ok(Reapplied::Planned(Box::new(plan)))
}
