//! Two accounts of one phone merged on SQLite: the checks (both members
//! held, neither erased nor merged before, one phone), the merged-away
//! member's ledger moved onto the survivor (each entry rewritten to name
//! it), both cached folds dropped, both members sent down and the audit
//! rows, in one transaction; and the sweep that moves entries an upload
//! booked on a merged-away member meanwhile.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use tillcard_rules::ids::MemberId;
use tillcard_rules::ledger::LedgerEntry;

use super::back_office::audit;
use super::batch::push_change;
use crate::store::back_office::{AuditEntry, BackOfficeRefusal};
use crate::store::{BackOffice, StoreResult, parse_json, parse_member, to_json};

/// A member's row as a merge checks it: phone key, erased, merged into.
type MergeRow = (Option<String>, bool, Option<String>);

fn merge_row(tx: &Connection, member: MemberId) -> StoreResult<Option<MergeRow>> {
    Ok(tx
        .query_row(
            "SELECT phone_key, erased_at IS NOT NULL, merged_into FROM members WHERE member_id = ?1",
            [member.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?)
}

/// Merges `merged` into `survivor` (see the module's documentation).
pub(super) fn merge_members(
    c: &mut Connection,
    merged: MemberId,
    survivor: MemberId,
    audits: &[AuditEntry],
) -> BackOffice<()> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let (Some(gone), Some(kept)) = (merge_row(&tx, merged)?, merge_row(&tx, survivor)?) else {
        return Ok(Err(BackOfficeRefusal::UnknownMember));
    };
    if gone.1 || kept.1 {
        return Ok(Err(BackOfficeRefusal::UnknownMember));
    }
    if gone.2.is_some() || kept.2.is_some() {
        return Ok(Err(BackOfficeRefusal::AlreadyMerged));
    }
    if gone.0.is_none() || gone.0 != kept.0 {
        return Ok(Err(BackOfficeRefusal::DifferentPhones));
    }
    move_ledger(&tx, merged, survivor)?;
    // The merged-away member never owns the phone again (a later
    // enrollment of it is the survivor's duplicate), and the survivor does.
    tx.execute(
        "UPDATE members SET merged_into = ?2, duplicate_of = ?2, account = NULL, tier = NULL
         WHERE member_id = ?1",
        params![merged.to_string(), survivor.to_string()],
    )?;
    tx.execute(
        "UPDATE members SET duplicate_of = NULL, account = NULL, tier = NULL WHERE member_id = ?1",
        params![survivor.to_string()],
    )?;
    tx.execute(
        "UPDATE sales SET member_id = ?2 WHERE member_id = ?1",
        params![merged.to_string(), survivor.to_string()],
    )?;
    // One customer: each member goes to the stores either was seen at
    // (the merged-away member's stores serve the survivor now; the
    // survivor's find the old card's id there).
    for (from, to) in [(merged, survivor), (survivor, merged)] {
        tx.execute(
            "INSERT INTO member_scope (member_id, store, seen_on, active)
             SELECT ?2, store, seen_on, active FROM member_scope WHERE member_id = ?1 AND active
             ON CONFLICT (member_id, store) DO UPDATE SET active = 1,
                seen_on = max(member_scope.seen_on, excluded.seen_on)",
            params![from.to_string(), to.to_string()],
        )?;
    }
    push_change(&tx, "member", Some(merged), None)?;
    push_change(&tx, "member", Some(survivor), None)?;
    for entry in audits {
        audit(&tx, entry)?;
    }
    tx.commit()?;
    Ok(Ok(()))
}

/// Moves every ledger entry of `merged` onto `survivor`, each rewritten
/// to name the survivor; how many moved.
fn move_ledger(tx: &Transaction<'_>, merged: MemberId, survivor: MemberId) -> StoreResult<usize> {
    let rows: Vec<(i64, String)> = {
        let mut stmt = tx.prepare("SELECT entry_no, entry FROM ledger WHERE member_id = ?1")?;
        stmt.query_map([merged.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?
    };
    let mut update =
        tx.prepare("UPDATE ledger SET member_id = ?2, entry = ?3 WHERE entry_no = ?1")?;
    for (entry_no, text) in &rows {
        let mut entry: LedgerEntry = parse_json(text)?;
        entry.member = survivor;
        update.execute(params![entry_no, survivor.to_string(), to_json(&entry)?])?;
    }
    Ok(rows.len())
}

/// Moves onto its survivor whatever an upload booked on `merged` after it
/// was merged (a batch whose members were read just before the merge
/// committed), telling terminals when anything moved; how many entries.
pub(super) fn sweep_merged(c: &mut Connection, merged: MemberId) -> StoreResult<usize> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let Some((_, _, Some(survivor))) = merge_row(&tx, merged)? else {
        return Ok(0);
    };
    let survivor = parse_member(&survivor)?;
    let moved = move_ledger(&tx, merged, survivor)?;
    if moved > 0 {
        tx.execute(
            "UPDATE members SET account = NULL, tier = NULL WHERE member_id IN (?1, ?2)",
            params![merged.to_string(), survivor.to_string()],
        )?;
        push_change(&tx, "member", Some(survivor), None)?;
    }
    tx.commit()?;
    Ok(moved)
}

/// The merges `members` take part in, either side: (merged, survivor).
pub(super) fn merges_of(
    c: &Connection,
    members: &[MemberId],
) -> StoreResult<Vec<(MemberId, MemberId)>> {
    let ids: Vec<String> = members.iter().map(ToString::to_string).collect();
    let mut out = Vec::new();
    let mut stmt = c.prepare_cached(
        "SELECT member_id, merged_into FROM members
         WHERE merged_into IS NOT NULL AND (member_id = ?1 OR merged_into = ?1)",
    )?;
    for id in &ids {
        let rows = stmt.query_map([id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        for row in rows {
            let (merged, survivor) = row?;
            let pair = (parse_member(&merged)?, parse_member(&survivor)?);
            if !out.contains(&pair) {
                out.push(pair);
            }
        }
    }
    Ok(out)
}
