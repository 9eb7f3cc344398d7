//! Members and the change log on SQLite, outside an upload: the log read
//! in pages, every member's id, and entries booked by head office's jobs
//! (the upload path's own member reads and writes are in `batch`).

use std::collections::HashMap;

use rusqlite::{Connection, params};
use tillcard_rules::ids::MemberId;
use tillcard_rules::ledger::LedgerEntry;

use super::batch::push_change;
use crate::store::rows::{change_from_row, columns, member_record_from_row};
use crate::store::{
    ChangeRow, MemberWithLedger, StoreResult, parse_json, parse_member, to_json, with_ledgers,
};

/// The change log after `position`, oldest first. SQLite's writers are
/// serialized: no transaction id (0), the position alone orders changes.
pub(super) fn changes_after(
    c: &Connection,
    position: i64,
    limit: i64,
) -> StoreResult<Vec<ChangeRow>> {
    let mut stmt = c.prepare_cached(concat!(
        "SELECT ",
        columns!(change with "0"),
        " FROM changes WHERE position > ?1
         ORDER BY position LIMIT ?2"
    ))?;
    stmt.query_and_then(params![position, limit], |row| change_from_row(row))?
        .collect()
}

/// Members and their ledgers in two queries: the ids go in as one JSON
/// array (`json_each`), so the statement is the same for any number.
pub(super) fn members_with_ledgers(
    c: &Connection,
    ids: &[MemberId],
) -> StoreResult<Vec<MemberWithLedger>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = to_json(&ids.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    let mut stmt = c.prepare_cached(concat!(
        "SELECT ",
        columns!(member_record),
        " FROM members WHERE member_id IN (SELECT value FROM json_each(?1))"
    ))?;
    let records = stmt
        .query_and_then([&list], |row| member_record_from_row(row))?
        .collect::<StoreResult<Vec<_>>>()?;
    let mut ledgers: HashMap<String, Vec<LedgerEntry>> = HashMap::new();
    let mut stmt = c.prepare_cached(
        "SELECT member_id, entry FROM ledger
         WHERE member_id IN (SELECT value FROM json_each(?1))
         ORDER BY member_id, entry_no",
    )?;
    let mut rows = stmt.query([&list])?;
    while let Some(row) = rows.next()? {
        let member: String = row.get(0)?;
        let entry: String = row.get(1)?;
        ledgers.entry(member).or_default().push(parse_json(&entry)?);
    }
    Ok(with_ledgers(records, ledgers))
}

/// Every member's id, in order.
pub(super) fn member_ids(c: &Connection) -> StoreResult<Vec<MemberId>> {
    let mut stmt = c.prepare("SELECT member_id FROM members ORDER BY member_id")?;
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    rows.iter().map(|m| parse_member(m)).collect()
}

/// Books head office's entries for one member in one transaction, with
/// the member's change on the log.
pub(super) fn append_entries(
    c: &mut Connection,
    member: MemberId,
    entries: &[LedgerEntry],
) -> StoreResult<()> {
    let tx = c.transaction()?;
    book_entries(&tx, member, entries)?;
    tx.commit()?;
    Ok(())
}

/// Up to `limit` member ids after `after`, in order.
pub(super) fn member_ids_after(
    c: &Connection,
    after: Option<MemberId>,
    limit: i64,
) -> StoreResult<Vec<MemberId>> {
    let after = after.map(|m| m.to_string()).unwrap_or_default();
    let mut stmt = c.prepare_cached(
        "SELECT member_id FROM members WHERE member_id > ?1 ORDER BY member_id LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![after, limit], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    rows.iter().map(|m| parse_member(m)).collect()
}

/// [`append_entries`] inside the caller's transaction.
pub(super) fn book_entries(
    tx: &rusqlite::Transaction<'_>,
    member: MemberId,
    entries: &[LedgerEntry],
) -> StoreResult<()> {
    let mut insert =
        tx.prepare_cached("INSERT INTO ledger (member_id, source, entry) VALUES (?1, ?2, ?3)")?;
    for entry in entries {
        insert.execute(params![
            entry.member.to_string(),
            entry.source.to_string(),
            to_json(entry)?
        ])?;
    }
    // The cached fold no longer matches the ledger: refold next time
    // (the figures too: no summary until then).
    tx.prepare_cached("UPDATE members SET account = NULL, tier = NULL WHERE member_id = ?1")?
        .execute(params![member.to_string()])?;
    push_change(tx, "member", Some(member), None)?;
    Ok(())
}
