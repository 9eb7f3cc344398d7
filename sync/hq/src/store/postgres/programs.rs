//! Program versions on PostgreSQL: every version head office published
//! (the change log's `program` rows, which also carry them down to
//! terminals) and publishing one under the back office's advisory lock, so
//! two operators publishing at once get two numbers: its number, its
//! change row and its audit row in one transaction.

use deadpool_postgres::{GenericClient, Object};
use tillcard_rules::Program;

use super::back_office::audit;
use super::locks::LOCK_BACK_OFFICE;
use super::members::push_change;
use crate::store::back_office::AuditEntry;
use crate::store::{StoreResult, next_program_version, parse_json, to_json};

/// Every published version, oldest first.
pub(super) async fn programs<C: GenericClient>(client: &C) -> StoreResult<Vec<Program>> {
    let rows = client
        .query(
            "SELECT payload FROM changes WHERE kind = 'program' ORDER BY position",
            &[],
        )
        .await?;
    let mut programs = Vec::with_capacity(rows.len());
    for row in rows {
        if let Some(payload) = row.try_get::<_, Option<String>>(0)? {
            programs.push(parse_json(&payload)?);
        }
    }
    Ok(programs)
}

/// Publishes `program` as the next version; the audit row's subject names
/// it.
pub(super) async fn publish_program(
    client: &mut Object,
    program: &Program,
    entry: &AuditEntry,
) -> StoreResult<Program> {
    let tx = client.transaction().await?;
    tx.execute(LOCK_BACK_OFFICE, &[]).await?;
    let published = Program {
        version: next_program_version(&programs(&tx).await?),
        ..program.clone()
    };
    push_change(&tx, "program", None, Some(&to_json(&published)?)).await?;
    audit(
        &tx,
        &AuditEntry {
            subject: format!("program:{}", published.version),
            ..entry.clone()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(published)
}
