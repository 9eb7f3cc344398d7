//! Members, their ledger and the change log on PostgreSQL, outside the
//! upload path: a member with its ledger (read back from its chunks), the
//! jobs' entries, erasure on request, and the change log terminals download.
//!
//! The change log is read in (writing transaction id, position) order and
//! only up to the oldest transaction still running (the snapshot's xmin):
//! every transaction below it has finished, so no change can later appear
//! before a cursor already handed out. Writers need no lock, and batches of
//! different terminals commit in parallel.

use deadpool_postgres::GenericClient;
use tillcard_rules::ids::{MemberId, Timestamp};
use tillcard_rules::ledger::LedgerEntry;

use super::locks::{LOCK_KEYS, member_lock_key};
use super::rows::ledger_entries_of_chunk;
use super::sql::execute_cached;
use crate::store::rows::{change_from_row, columns, member_record_from_row};
use crate::store::{
    ChangeRow, MemberRecord, MemberWithLedger, StoreError, StoreResult, parse_member, to_json,
    with_ledgers,
};

/// A member's ledger, in booking order.
pub(super) async fn load_entries<C: GenericClient>(
    client: &C,
    id: MemberId,
) -> StoreResult<Vec<LedgerEntry>> {
    let statement = client
        .prepare_cached("SELECT entries FROM ledger WHERE member_id = $1 ORDER BY entry_no")
        .await?;
    let mut entries = Vec::new();
    for row in client.query(&statement, &[&id.to_string()]).await? {
        entries.extend(ledger_entries_of_chunk(row.try_get(0)?)?);
    }
    Ok(entries)
}

/// Appends a change to the downlink log.
pub(super) async fn push_change<C: GenericClient>(
    client: &C,
    kind: &str,
    member: Option<MemberId>,
    payload: Option<&str>,
) -> StoreResult<()> {
    // A member's change goes to the stores in their scope.
    if let ("member", Some(member), None) = (kind, member, payload) {
        return super::scope::push_member_change(client, member).await;
    }
    execute_cached(
        client,
        "INSERT INTO changes (kind, member_id, payload) VALUES ($1, $2, $3)",
        &[&kind, &member.map(|m| m.to_string()), &payload],
    )
    .await?;
    Ok(())
}

/// Erases a member's personal fields and the dead-lettered bodies that
/// mention the member, and logs an erasure; whether the member existed.
pub(super) async fn erase<C: GenericClient>(
    client: &C,
    id: MemberId,
    now: Timestamp,
) -> StoreResult<bool> {
    let member = id.to_string();
    let erased = execute_cached(
        client,
        "UPDATE members SET masked_name = NULL, masked_phone = NULL, phone_ct = NULL,
                name_ct = NULL, phone_key = NULL, birthday_ct = NULL, birthday_month = NULL,
                erased_at = $2 WHERE member_id = $1",
        &[&member, &now.to_rfc3339()],
    )
    .await?;
    // Crypto-shred: without its data key no copy of the ciphertext opens.
    execute_cached(
        client,
        "DELETE FROM member_keys WHERE member_id = $1",
        &[&member],
    )
    .await?;
    execute_cached(
        client,
        "UPDATE dead_letters SET body = NULL WHERE body LIKE '%' || $1 || '%'",
        &[&member],
    )
    .await?;
    push_change(client, "erasure", Some(id), None).await?;
    Ok(erased > 0)
}

/// Changes after an (xid, position) cursor that no transaction still
/// running can precede.
pub(super) async fn changes_after<C: GenericClient>(
    client: &C,
    after: (i64, i64),
    limit: i64,
) -> StoreResult<Vec<ChangeRow>> {
    // Prepared once per connection: every downlink request checks its
    // cursor's change with it.
    let statement = client
        .prepare_cached(concat!(
            "SELECT ",
            columns!(change with "xid"),
            " FROM changes
             WHERE (xid, position) > ($1, $2)
               AND xid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
             ORDER BY xid, position LIMIT $3"
        ))
        .await?;
    client
        .query(&statement, &[&after.0, &after.1, &limit])
        .await?
        .iter()
        .map(change_from_row)
        .collect()
}

/// A member and their ledger.
pub(super) async fn member<C: GenericClient>(
    client: &C,
    id: MemberId,
) -> StoreResult<Option<(MemberRecord, Vec<LedgerEntry>)>> {
    let Some(row) = client
        .query_opt(
            concat!(
                "SELECT ",
                columns!(member_record),
                " FROM members WHERE member_id = $1"
            ),
            &[&id.to_string()],
        )
        .await?
    else {
        return Ok(None);
    };
    let record = member_record_from_row(&row)?;
    Ok(Some((record, load_entries(client, id).await?)))
}

/// Members and their ledgers in two queries (`= ANY($1)`).
pub(super) async fn members_with_ledgers<C: GenericClient>(
    client: &C,
    ids: &[MemberId],
) -> StoreResult<Vec<MemberWithLedger>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let statement = client
        .prepare_cached(concat!(
            "SELECT ",
            columns!(member_record),
            " FROM members WHERE member_id = ANY($1)"
        ))
        .await?;
    let records = client
        .query(&statement, &[&list])
        .await?
        .iter()
        .map(member_record_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    let statement = client
        .prepare_cached(
            "SELECT member_id, entries FROM ledger WHERE member_id = ANY($1)
             ORDER BY member_id, entry_no",
        )
        .await?;
    let mut ledgers: std::collections::HashMap<String, Vec<LedgerEntry>> =
        std::collections::HashMap::new();
    for row in client.query(&statement, &[&list]).await? {
        let member: String = row.try_get(0)?;
        ledgers
            .entry(member)
            .or_default()
            .extend(ledger_entries_of_chunk(row.try_get(1)?)?);
    }
    Ok(with_ledgers(records, ledgers))
}

/// Every member id, in order.
pub(super) async fn member_ids<C: GenericClient>(client: &C) -> StoreResult<Vec<MemberId>> {
    client
        .query("SELECT member_id FROM members ORDER BY member_id", &[])
        .await?
        .iter()
        .map(|row| parse_member(row.try_get(0)?))
        .collect()
}

/// Appends head office's own entries (jobs) as one chunk, drops the cached
/// fold and logs a member change, in one transaction.
pub(super) async fn append_entries(
    client: &mut deadpool_postgres::Object,
    member: MemberId,
    entries: &[LedgerEntry],
) -> StoreResult<()> {
    let tx = client.transaction().await?;
    // The member's lock, as a batch takes it: no batch is planning
    // against the fold this invalidates.
    tx.execute(LOCK_KEYS, &[&vec![member_lock_key(member)]])
        .await?;
    if !entries.is_empty() {
        let chunk: Vec<(Option<u64>, &LedgerEntry)> = entries.iter().map(|e| (None, e)).collect();
        tx.execute(
            "INSERT INTO ledger (member_id, entry_count, entries) VALUES ($1, $2, $3)",
            &[
                &member.to_string(),
                &i32::try_from(chunk.len())
                    .map_err(|_| StoreError::Corrupt("chunk size".into()))?,
                &to_json(&chunk)?,
            ],
        )
        .await?;
    }
    // The cached fold no longer matches the ledger: refold next time
    // (the figures too: no summary until then).
    tx.execute(
        "UPDATE members SET account = NULL, tier = NULL WHERE member_id = $1",
        &[&member.to_string()],
    )
    .await?;
    push_change(&tx, "member", Some(member), None).await?;
    tx.commit().await?;
    Ok(())
}

/// Up to `limit` member ids after `after`, in order.
pub(super) async fn member_ids_after<C: GenericClient>(
    client: &C,
    after: Option<MemberId>,
    limit: i64,
) -> StoreResult<Vec<MemberId>> {
    let after = after.map(|m| m.to_string()).unwrap_or_default();
    let statement = client
        .prepare_cached(
            "SELECT member_id FROM members WHERE member_id > $1 ORDER BY member_id LIMIT $2",
        )
        .await?;
    client
        .query(&statement, &[&after, &limit])
        .await?
        .iter()
        .map(|row| parse_member(row.try_get(0)?))
        .collect()
}

/// [`append_entries`] for several members in one transaction, their locks
/// taken at once in key order (as a batch takes them: no deadlock with
/// one).
pub(super) async fn append_entries_many(
    client: &mut deadpool_postgres::Object,
    booked: &[(MemberId, Vec<LedgerEntry>)],
) -> StoreResult<()> {
    let tx = client.transaction().await?;
    let mut keys: Vec<i64> = booked.iter().map(|(m, _)| member_lock_key(*m)).collect();
    keys.sort_unstable();
    keys.dedup();
    tx.execute(LOCK_KEYS, &[&keys]).await?;
    let insert = tx
        .prepare_cached("INSERT INTO ledger (member_id, entry_count, entries) VALUES ($1, $2, $3)")
        .await?;
    let unfold = tx
        .prepare_cached("UPDATE members SET account = NULL, tier = NULL WHERE member_id = $1")
        .await?;
    for (member, entries) in booked {
        let id = member.to_string();
        if !entries.is_empty() {
            let chunk: Vec<(Option<u64>, &LedgerEntry)> =
                entries.iter().map(|e| (None, e)).collect();
            let count =
                i32::try_from(chunk.len()).map_err(|_| StoreError::Corrupt("chunk size".into()))?;
            tx.execute(&insert, &[&id, &count, &to_json(&chunk)?])
                .await?;
        }
        tx.execute(&unfold, &[&id]).await?;
        push_change(&tx, "member", Some(*member), None).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Erases a member on request, in one transaction; whether it existed.
pub(super) async fn erase_member(
    client: &mut deadpool_postgres::Object,
    id: MemberId,
    now: Timestamp,
) -> StoreResult<bool> {
    let tx = client.transaction().await?;
    let existed = erase(&tx, id, now).await?;
    tx.commit().await?;
    Ok(existed)
}
