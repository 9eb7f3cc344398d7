//! Program versions on SQLite: every version head office published (the
//! change log's `program` rows, which also carry them down to terminals)
//! and publishing one: its number, its change row and its audit row in one
//! transaction.

use rusqlite::{Connection, TransactionBehavior};
use tillcard_rules::Program;

use super::back_office::audit;
use super::batch::push_change;
use crate::store::back_office::AuditEntry;
use crate::store::{StoreResult, next_program_version, parse_json, to_json};

/// Every published version, oldest first.
pub(super) fn programs(c: &Connection) -> StoreResult<Vec<Program>> {
    let mut stmt =
        c.prepare("SELECT payload FROM changes WHERE kind = 'program' ORDER BY position")?;
    let payloads = stmt
        .query_map([], |r| r.get::<_, Option<String>>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    payloads.iter().flatten().map(|p| parse_json(p)).collect()
}

/// Publishes `program` as the next version (writers are serialized, so no
/// two publications get one number); the audit row's subject names it.
pub(super) fn publish_program(
    c: &mut Connection,
    program: &Program,
    entry: &AuditEntry,
) -> StoreResult<Program> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let published = Program {
        version: next_program_version(&programs(&tx)?),
        ..program.clone()
    };
    push_change(&tx, "program", None, Some(&to_json(&published)?))?;
    audit(
        &tx,
        &AuditEntry {
            subject: format!("program:{}", published.version),
            ..entry.clone()
        },
    )?;
    tx.commit()?;
    Ok(published)
}
