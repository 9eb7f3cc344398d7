//! The `Store` trait's test hooks on PostgreSQL (feature `test-support`,
//! never in the release binary): row counts, a search of every table's text
//! (erasure checks), and a simulated restore from an older backup.

use deadpool_postgres::GenericClient;
use tillcard_protocol::wire::TerminalId;

use super::rows::Chunk;
use crate::store::{Counts, StoreResult, from_sql_int, parse_json, to_json, to_sql_int};

/// Row counts (ledger entries, not chunks).
pub(super) async fn counts<C: GenericClient>(client: &C) -> StoreResult<Counts> {
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM events), (SELECT coalesce(sum(entry_count), 0)::bigint FROM ledger),
                    (SELECT count(*) FROM dead_letters), (SELECT count(*) FROM conflicts)",
            &[],
        )
        .await?;
    Ok(Counts {
        events: from_sql_int(row.try_get(0)?),
        ledger: from_sql_int(row.try_get(1)?),
        dead_letters: from_sql_int(row.try_get(2)?),
        conflicts: from_sql_int(row.try_get(3)?),
    })
}

/// Whether the newest change is older than the oldest transaction
/// running in the cluster (the downlink's horizon).
pub(super) async fn downlink_settled<C: GenericClient>(client: &C) -> StoreResult<bool> {
    let row = client
        .query_one(
            "SELECT coalesce(max(xid), 0) < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
               FROM changes",
            &[],
        )
        .await?;
    Ok(row.try_get(0)?)
}

/// The tables with a row whose text contains `needle`.
pub(super) async fn find_text<C: GenericClient>(
    client: &C,
    needle: &str,
) -> StoreResult<Vec<String>> {
    let tables: Vec<String> = client
        .query(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()",
            &[],
        )
        .await?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
    let mut hits = Vec::new();
    for table in tables {
        let found: i64 = client
            .query_one(
                &format!("SELECT count(*) FROM \"{table}\" t WHERE t::text LIKE '%' || $1 || '%'"),
                &[&needle],
            )
            .await?
            .try_get(0)?;
        if found > 0 {
            hits.push(table);
        }
    }
    Ok(hits)
}

/// Makes head office look restored from a backup taken when only events
/// 1..=keep of `terminal` were stored, in one transaction.
pub(super) async fn simulate_restore(
    client: &mut deadpool_postgres::Object,
    terminal: TerminalId,
    keep: u64,
) -> StoreResult<()> {
    let tx = client.transaction().await?;
    let (t, k) = (terminal.to_string(), to_sql_int(keep));
    tx.execute(
        "DELETE FROM events WHERE terminal_id = $1 AND seq > $2",
        &[&t, &k],
    )
    .await?;
    // Chunks reaching above `keep` lose their later entries (a chunk
    // holds one batch's entries of a member, and a backup could have
    // been taken between two of those entries' events only in a test).
    for r in tx
        .query(
            "SELECT entry_no, entries FROM ledger WHERE terminal_id = $1 AND seq > $2",
            &[&t, &k],
        )
        .await?
    {
        let no: i64 = r.try_get(0)?;
        let mut chunk: Chunk = parse_json(r.try_get(1)?)?;
        chunk.retain(|(seq, _)| seq.is_some_and(|s| s <= keep));
        if chunk.is_empty() {
            tx.execute("DELETE FROM ledger WHERE entry_no = $1", &[&no])
                .await?;
        } else {
            let (seq, count) = (
                chunk.iter().filter_map(|(s, _)| *s).max().map(to_sql_int),
                chunk.len(),
            );
            tx.execute(
                "UPDATE ledger SET entries = $2, seq = $3, entry_count = $4 WHERE entry_no = $1",
                &[
                    &no,
                    &to_json(&chunk)?,
                    &seq,
                    &i32::try_from(count).unwrap_or(i32::MAX),
                ],
            )
            .await?;
        }
    }
    tx.execute(
        "DELETE FROM dead_letters WHERE terminal_id = $1 AND seq > $2",
        &[&t, &k],
    )
    .await?;
    tx.execute("UPDATE members SET account = NULL, tier = NULL", &[])
        .await?;
    tx.execute(
        "DELETE FROM sales WHERE terminal_id = $1 AND seq > $2",
        &[&t, &k],
    )
    .await?;
    tx.execute(
        "DELETE FROM refunds WHERE terminal_id = $1 AND seq > $2",
        &[&t, &k],
    )
    .await?;
    tx.execute(
        "UPDATE terminals SET acked_seq = $2 WHERE terminal_id = $1",
        &[&t, &k],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
