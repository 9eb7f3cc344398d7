//! Terminals on PostgreSQL: the terminal lookup every upload starts with,
//! and the flags raised about a terminal for review (enrollment codes,
//! the terminal list and revocation are the back office's).

use deadpool_postgres::GenericClient;
use tillcard_protocol::wire::TerminalId;
use tillcard_rules::ids::Timestamp;

use crate::store::rows::{columns, terminal_flag_from_row, terminal_record_from_row};
use crate::store::{StoreResult, TerminalRecord};

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

/// Records a terminal's clock skew (ms) at `now`.
pub(super) async fn record_clock_skew<C: GenericClient>(
    client: &C,
    id: TerminalId,
    skew_ms: i64,
    now: Timestamp,
) -> StoreResult<()> {
    client
        .execute(
            "UPDATE terminals SET clock_skew_ms = $2, clock_skew_at = $3 WHERE terminal_id = $1",
            &[&id.to_string(), &skew_ms, &now.to_rfc3339()],
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
