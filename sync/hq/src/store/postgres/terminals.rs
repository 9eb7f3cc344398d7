//! Terminals on PostgreSQL: one-time enrollment codes and their
//! redemption, the terminal lookup every upload starts with, revocation,
//! and the flags raised about a terminal for review.

use deadpool_postgres::GenericClient;
use tillcard_protocol::wire::TerminalId;
use tillcard_rules::ids::Timestamp;

use super::rows::{columns, terminal_flag_from_row, terminal_record_from_row};
use crate::store::{Redeemed, StoreResult, TerminalRecord};

/// Stores a one-time enrollment code (hashed) for a store.
pub(super) async fn insert_code<C: GenericClient>(
    client: &C,
    code_hash: &str,
    store: &str,
    now: Timestamp,
) -> StoreResult<()> {
    client
        .execute(
            "INSERT INTO enroll_codes (code_hash, store, issued_at) VALUES ($1, $2, $3)",
            &[&code_hash, &store, &now.to_rfc3339()],
        )
        .await?;
    Ok(())
}

/// Redeems a code once and registers the terminal, in one transaction.
pub(super) async fn redeem_code(
    client: &mut deadpool_postgres::Object,
    code_hash: &str,
    terminal: &TerminalRecord,
    now: Timestamp,
) -> StoreResult<Redeemed> {
    let tx = client.transaction().await?;
    let tid = terminal.terminal_id.to_string();
    let Some(row) = tx
        .query_opt(
            "UPDATE enroll_codes SET redeemed_by = $2 WHERE code_hash = $1 AND redeemed_by IS NULL RETURNING store",
            &[&code_hash, &tid],
        )
        .await?
    else {
        return Ok(Redeemed::Refused);
    };
    let store: String = row.try_get(0)?;
    tx.execute(
        "INSERT INTO terminals (terminal_id, store, public_key, lookup_key, created_at) VALUES ($1, $2, $3, $4, $5)",
        &[&tid, &store, &terminal.public_key, &terminal.lookup_key, &now.to_rfc3339()],
    )
    .await?;
    tx.commit().await?;
    Ok(Redeemed::Ok { store })
}

/// A terminal by id (every upload's signature check starts here: prepared
/// once per connection).
pub(super) async fn terminal<C: GenericClient>(
    client: &C,
    id: TerminalId,
) -> StoreResult<Option<TerminalRecord>> {
    let statement = client
        .prepare_cached(concat!(
            "SELECT ",
            columns!(terminal_record),
            " FROM terminals WHERE terminal_id = $1"
        ))
        .await?;
    client
        .query_opt(&statement, &[&id.to_string()])
        .await?
        .as_ref()
        .map(terminal_record_from_row)
        .transpose()
}

/// Revokes a terminal.
pub(super) async fn revoke_terminal<C: GenericClient>(
    client: &C,
    id: TerminalId,
) -> StoreResult<()> {
    client
        .execute(
            "UPDATE terminals SET revoked = TRUE WHERE terminal_id = $1",
            &[&id.to_string()],
        )
        .await?;
    Ok(())
}

/// Records a suspicion about a terminal.
pub(super) async fn flag_terminal<C: GenericClient>(
    client: &C,
    id: TerminalId,
    reason: &str,
    now: Timestamp,
) -> StoreResult<()> {
    client
        .execute(
            "INSERT INTO terminal_flags (terminal_id, reason, at) VALUES ($1, $2, $3)",
            &[&id.to_string(), &reason, &now.to_rfc3339()],
        )
        .await?;
    Ok(())
}

/// Every flag, oldest first.
pub(super) async fn terminal_flags<C: GenericClient>(
    client: &C,
) -> StoreResult<Vec<(TerminalId, String)>> {
    client
        .query(
            concat!(
                "SELECT ",
                columns!(terminal_flag),
                " FROM terminal_flags ORDER BY id"
            ),
            &[],
        )
        .await?
        .iter()
        .map(terminal_flag_from_row)
        .collect()
}
