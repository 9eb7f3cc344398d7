//! Two accounts of one phone merged on PostgreSQL, as on SQLite: the
//! checks, the merged-away member's ledger chunks moved onto the survivor
//! (each entry rewritten to name it), both cached folds dropped, both
//! members sent down and the audit rows, in one transaction under both
//! members' locks (a batch about either waits, and plans on the moved
//! ledger after); and the sweep of entries an upload booked on a
//! merged-away member meanwhile.

use deadpool_postgres::GenericClient;
use tillcard_rules::ids::MemberId;

use super::back_office::audit;
use super::locks::{LOCK_KEYS, member_lock_key};
use super::members::push_change;
use super::rows::Chunk;
use crate::store::back_office::{AuditEntry, BackOfficeRefusal};
use crate::store::{BackOffice, StoreResult, parse_json, parse_member, to_json};

type Object = deadpool_postgres::Object;

/// A member's row as a merge checks it: phone key, erased, merged into.
type MergeRow = (Option<String>, bool, Option<String>);

async fn merge_row<C: GenericClient>(tx: &C, member: MemberId) -> StoreResult<Option<MergeRow>> {
    let row = tx
        .query_opt(
            "SELECT phone_key, erased_at IS NOT NULL, merged_into FROM members
             WHERE member_id = $1 FOR UPDATE",
            &[&member.to_string()],
        )
        .await?;
    row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .transpose()
}

/// Both members' advisory locks, ascending, as a batch takes them.
async fn lock_both<C: GenericClient>(tx: &C, a: MemberId, b: MemberId) -> StoreResult<()> {
    let mut keys = vec![member_lock_key(a), member_lock_key(b)];
    keys.sort_unstable();
    keys.dedup();
    tx.execute(LOCK_KEYS, &[&keys]).await?;
    Ok(())
}

/// Merges `merged` into `survivor` (see the module's documentation).
pub(super) async fn merge_members(
    client: &mut Object,
    merged: MemberId,
    survivor: MemberId,
    audits: &[AuditEntry],
) -> BackOffice<()> {
    let tx = client.transaction().await?;
    lock_both(&tx, merged, survivor).await?;
    let (Some(gone), Some(kept)) = (
        merge_row(&tx, merged).await?,
        merge_row(&tx, survivor).await?,
    ) else {
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
    move_ledger(&tx, merged, survivor).await?;
    let (merged_id, survivor_id) = (merged.to_string(), survivor.to_string());
    // The merged-away member never owns the phone again (a later
    // enrollment of it is the survivor's duplicate), and the survivor does.
    tx.execute(
        "UPDATE members SET merged_into = $2, duplicate_of = $2, account = NULL, tier = NULL
         WHERE member_id = $1",
        &[&merged_id, &survivor_id],
    )
    .await?;
    tx.execute(
        "UPDATE members SET duplicate_of = NULL, account = NULL, tier = NULL WHERE member_id = $1",
        &[&survivor_id],
    )
    .await?;
    tx.execute(
        "UPDATE sales SET member_id = $2 WHERE member_id = $1",
        &[&merged_id, &survivor_id],
    )
    .await?;
    // One customer: each member goes to the stores either was seen at
    // (the merged-away member's stores serve the survivor now; the
    // survivor's find the old card's id there).
    for (from, to) in [(&merged_id, &survivor_id), (&survivor_id, &merged_id)] {
        tx.execute(
            "INSERT INTO member_scope (member_id, store, seen_on, active)
             SELECT $2, store, seen_on, active FROM member_scope WHERE member_id = $1 AND active
             ON CONFLICT (member_id, store) DO UPDATE SET active = true,
                seen_on = greatest(member_scope.seen_on, EXCLUDED.seen_on)",
            &[from, to],
        )
        .await?;
    }
    push_change(&tx, "member", Some(merged), None).await?;
    push_change(&tx, "member", Some(survivor), None).await?;
    for entry in audits {
        audit(&tx, entry).await?;
    }
    tx.commit().await?;
    Ok(Ok(()))
}

/// Moves every ledger chunk of `merged` onto `survivor`, each entry
/// rewritten to name the survivor (a chunk keeps its number, which is
/// unique across members); how many entries moved.
async fn move_ledger<C: GenericClient>(
    tx: &C,
    merged: MemberId,
    survivor: MemberId,
) -> StoreResult<usize> {
    let rows = tx
        .query(
            "SELECT entry_no, entries FROM ledger WHERE member_id = $1",
            &[&merged.to_string()],
        )
        .await?;
    let mut moved = 0;
    for row in rows {
        let entry_no: i64 = row.try_get(0)?;
        let mut chunk: Chunk = parse_json(row.try_get(1)?)?;
        for (_, entry) in &mut chunk {
            entry.member = survivor;
        }
        moved += chunk.len();
        tx.execute(
            "UPDATE ledger SET member_id = $3, entries = $4 WHERE member_id = $1 AND entry_no = $2",
            &[
                &merged.to_string(),
                &entry_no,
                &survivor.to_string(),
                &to_json(&chunk)?,
            ],
        )
        .await?;
    }
    Ok(moved)
}

/// Moves onto its survivor whatever an upload booked on `merged` after it
/// was merged, telling terminals when anything moved; how many entries.
pub(super) async fn sweep_merged(client: &mut Object, merged: MemberId) -> StoreResult<usize> {
    let tx = client.transaction().await?;
    let survivor: Option<String> = tx
        .query_opt(
            "SELECT merged_into FROM members WHERE member_id = $1",
            &[&merged.to_string()],
        )
        .await?
        .map(|r| r.try_get(0))
        .transpose()?
        .flatten();
    let Some(survivor) = survivor else {
        return Ok(0);
    };
    let survivor = parse_member(&survivor)?;
    lock_both(&tx, merged, survivor).await?;
    let moved = move_ledger(&tx, merged, survivor).await?;
    if moved > 0 {
        tx.execute(
            "UPDATE members SET account = NULL, tier = NULL WHERE member_id = ANY($1)",
            &[&vec![merged.to_string(), survivor.to_string()]],
        )
        .await?;
        push_change(&tx, "member", Some(survivor), None).await?;
    }
    tx.commit().await?;
    Ok(moved)
}

/// The merges `members` take part in, either side: (merged, survivor).
pub(super) async fn merges_of<C: GenericClient>(
    client: &C,
    members: &[MemberId],
) -> StoreResult<Vec<(MemberId, MemberId)>> {
    let ids: Vec<String> = members.iter().map(ToString::to_string).collect();
    // Every upload asks this twice (`Hq::book_merged_onto_survivors`), so
    // each side is its own index's range: the OR of both read every
    // member (a sequential scan, 2.7 ms a batch at 20,000 members).
    let statement = client
        .prepare_cached(
            "SELECT member_id, merged_into FROM members
             WHERE member_id = ANY($1) AND merged_into IS NOT NULL
             UNION
             SELECT member_id, merged_into FROM members WHERE merged_into = ANY($1)",
        )
        .await?;
    client
        .query(&statement, &[&ids])
        .await?
        .iter()
        .map(|r| Ok((parse_member(r.try_get(0)?)?, parse_member(r.try_get(1)?)?)))
        .collect()
}
