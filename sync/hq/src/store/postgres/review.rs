//! What head office keeps for a person to review, on PostgreSQL: the
//! conflicts batches recorded, the events they dead-lettered and the
//! terminals flagged; the review queue of all three (listed, assigned and
//! closed, each change with its audit row in one transaction). A dead
//! letter's re-apply runs on the batch's own transaction (`batch.rs`).

use deadpool_postgres::GenericClient;

use super::back_office::audit;
use crate::store::back_office::{AuditEntry, BackOfficeRefusal};
use crate::store::review::{DeadLetterCase, DeadLetterId, FlagCase, ReviewItem};
use crate::store::rows::{
    columns, conflict_case_from_row, conflict_record_from_row, dead_letter_case_from_row,
    dead_letter_from_row, flag_case_from_row, stored_dead_letter_from_row,
};
use crate::store::{
    BackOffice, ConflictCase, ConflictClose, ConflictId, ConflictRecord, DeadLetterRecord,
    StoreResult, to_sql_int,
};

/// Every conflict, oldest first.
pub(super) async fn conflicts<C: GenericClient>(client: &C) -> StoreResult<Vec<ConflictRecord>> {
    client
        .query(
            concat!(
                "SELECT ",
                columns!(conflict),
                " FROM conflicts ORDER BY conflict_no"
            ),
            &[],
        )
        .await?
        .iter()
        .map(conflict_record_from_row)
        .collect()
}

/// Every dead letter, by terminal and seq.
pub(super) async fn dead_letters<C: GenericClient>(
    client: &C,
) -> StoreResult<Vec<DeadLetterRecord>> {
    client
        .query(
            concat!(
                "SELECT ",
                columns!(dead_letter),
                " FROM dead_letters
             ORDER BY terminal_id, seq"
            ),
            &[],
        )
        .await?
        .iter()
        .map(dead_letter_from_row)
        .collect()
}

/// The queue: open conflicts first, newest first in each part.
pub(super) async fn conflict_cases<C: GenericClient>(
    client: &C,
    limit: i64,
) -> StoreResult<Vec<ConflictCase>> {
    client
        .query(
            concat!(
                "SELECT ",
                columns!(conflict_case),
                " FROM conflicts ORDER BY state = 'open' DESC, conflict_no DESC LIMIT $1"
            ),
            &[&limit],
        )
        .await?
        .iter()
        .map(conflict_case_from_row)
        .collect()
}

/// One conflict, if it exists.
pub(super) async fn conflict_case<C: GenericClient>(
    client: &C,
    id: ConflictId,
) -> StoreResult<Option<ConflictCase>> {
    client
        .query_opt(
            concat!(
                "SELECT ",
                columns!(conflict_case),
                " FROM conflicts WHERE member_id = $1 AND conflict_no = $2"
            ),
            &[&id.member.to_string(), &id.number],
        )
        .await?
        .as_ref()
        .map(conflict_case_from_row)
        .transpose()
}

/// Why an update of an open conflict touched no row.
async fn not_open<C: GenericClient>(tx: &C, id: ConflictId) -> StoreResult<BackOfficeRefusal> {
    let exists = tx
        .query_opt(
            "SELECT 1 FROM conflicts WHERE member_id = $1 AND conflict_no = $2",
            &[&id.member.to_string(), &id.number],
        )
        .await?
        .is_some();
    Ok(if exists {
        BackOfficeRefusal::ConflictClosed
    } else {
        BackOfficeRefusal::UnknownConflict
    })
}

/// Ends an update of an open conflict that touched `n` rows: refused when
/// none (unknown or closed), else audited and committed.
async fn finish(
    tx: deadpool_postgres::Transaction<'_>,
    n: u64,
    id: ConflictId,
    entry: &AuditEntry,
) -> BackOffice<()> {
    if n == 0 {
        return Ok(Err(not_open(&tx, id).await?));
    }
    audit(&tx, entry).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Assigns an open conflict.
pub(super) async fn assign_conflict(
    client: &mut deadpool_postgres::Object,
    id: ConflictId,
    assignee: &str,
    entry: &AuditEntry,
) -> BackOffice<()> {
    let tx = client.transaction().await?;
    let n = tx
        .execute(
            "UPDATE conflicts SET assignee = $3
             WHERE member_id = $1 AND conflict_no = $2 AND state = 'open'",
            &[&id.member.to_string(), &id.number, &assignee],
        )
        .await?;
    finish(tx, n, id, entry).await
}

/// Closes an open conflict.
pub(super) async fn close_conflict(
    client: &mut deadpool_postgres::Object,
    id: ConflictId,
    close: &ConflictClose,
    entry: &AuditEntry,
) -> BackOffice<()> {
    let tx = client.transaction().await?;
    let n = tx
        .execute(
            "UPDATE conflicts SET state = $3, resolution = $4, note = $5, closed_by = $6,
                 closed_at = $7
             WHERE member_id = $1 AND conflict_no = $2 AND state = 'open'",
            &[
                &id.member.to_string(),
                &id.number,
                &close.state,
                &close.resolution,
                &close.note,
                &close.by,
                &close.at,
            ],
        )
        .await?;
    finish(tx, n, id, entry).await
}

/// Dead letters as a work queue: open ones first, newest first in each
/// part.
pub(super) async fn dead_letter_cases<C: GenericClient>(
    client: &C,
    limit: i64,
) -> StoreResult<Vec<DeadLetterCase>> {
    client
        .query(
            concat!(
                "SELECT ",
                columns!(dead_letter_case),
                " FROM dead_letters
                 ORDER BY state = 'open' DESC, at DESC, terminal_id, seq DESC LIMIT $1"
            ),
            &[&limit],
        )
        .await?
        .iter()
        .map(dead_letter_case_from_row)
        .collect()
}

/// One dead letter with its stored body, if it exists.
pub(super) async fn dead_letter_case<C: GenericClient>(
    client: &C,
    id: DeadLetterId,
) -> StoreResult<Option<(DeadLetterCase, Option<String>)>> {
    client
        .query_opt(
            concat!(
                "SELECT ",
                columns!(dead_letter_case),
                " FROM dead_letters WHERE terminal_id = $1 AND seq = $2"
            ),
            &[&id.terminal.to_string(), &to_sql_int(id.seq)],
        )
        .await?
        .as_ref()
        .map(stored_dead_letter_from_row)
        .transpose()
}

/// Terminal flags as a work queue: open ones first, newest first in each
/// part.
pub(super) async fn flag_cases<C: GenericClient>(
    client: &C,
    limit: i64,
) -> StoreResult<Vec<FlagCase>> {
    client
        .query(
            concat!(
                "SELECT ",
                columns!(flag_case),
                " FROM terminal_flags ORDER BY state = 'open' DESC, id DESC LIMIT $1"
            ),
            &[&limit],
        )
        .await?
        .iter()
        .map(flag_case_from_row)
        .collect()
}

/// One terminal flag, if it exists.
pub(super) async fn flag_case<C: GenericClient>(
    client: &C,
    id: i64,
) -> StoreResult<Option<FlagCase>> {
    client
        .query_opt(
            concat!(
                "SELECT ",
                columns!(flag_case),
                " FROM terminal_flags WHERE id = $1"
            ),
            &[&id],
        )
        .await?
        .as_ref()
        .map(flag_case_from_row)
        .transpose()
}

/// Ends an update of an open dead letter or flag that touched `n` rows:
/// refused when none (unknown or closed), else audited and committed.
async fn finish_item(
    tx: deadpool_postgres::Transaction<'_>,
    n: u64,
    item: ReviewItem,
    entry: &AuditEntry,
) -> BackOffice<()> {
    if n == 0 {
        let exists = match item {
            ReviewItem::DeadLetter(id) => {
                tx.query_opt(
                    "SELECT 1 FROM dead_letters WHERE terminal_id = $1 AND seq = $2",
                    &[&id.terminal.to_string(), &to_sql_int(id.seq)],
                )
                .await?
            }
            ReviewItem::Flag(id) => {
                tx.query_opt("SELECT 1 FROM terminal_flags WHERE id = $1", &[&id])
                    .await?
            }
        };
        return Ok(Err(item.not_open(exists.is_some())));
    }
    audit(&tx, entry).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Assigns an open dead letter or flag.
pub(super) async fn assign_item(
    client: &mut deadpool_postgres::Object,
    item: ReviewItem,
    assignee: &str,
    entry: &AuditEntry,
) -> BackOffice<()> {
    let tx = client.transaction().await?;
    let n = match item {
        ReviewItem::DeadLetter(id) => {
            tx.execute(
                "UPDATE dead_letters SET assignee = $3
                 WHERE terminal_id = $1 AND seq = $2 AND state = 'open'",
                &[&id.terminal.to_string(), &to_sql_int(id.seq), &assignee],
            )
            .await?
        }
        ReviewItem::Flag(id) => {
            tx.execute(
                "UPDATE terminal_flags SET assignee = $2 WHERE id = $1 AND state = 'open'",
                &[&id, &assignee],
            )
            .await?
        }
    };
    finish_item(tx, n, item, entry).await
}

/// Closes an open dead letter (dismissed) or flag.
pub(super) async fn close_item(
    client: &mut deadpool_postgres::Object,
    item: ReviewItem,
    close: &ConflictClose,
    entry: &AuditEntry,
) -> BackOffice<()> {
    let tx = client.transaction().await?;
    let n = match item {
        ReviewItem::DeadLetter(id) => {
            tx.execute(
                "UPDATE dead_letters SET state = $3, note = $4, closed_by = $5, closed_at = $6
                 WHERE terminal_id = $1 AND seq = $2 AND state = 'open'",
                &[
                    &id.terminal.to_string(),
                    &to_sql_int(id.seq),
                    &close.state,
                    &close.note,
                    &close.by,
                    &close.at,
                ],
            )
            .await?
        }
        ReviewItem::Flag(id) => {
            tx.execute(
                "UPDATE terminal_flags SET state = $2, resolution = $3, note = $4, closed_by = $5,
                     closed_at = $6
                 WHERE id = $1 AND state = 'open'",
                &[
                    &id,
                    &close.state,
                    &close.resolution,
                    &close.note,
                    &close.by,
                    &close.at,
                ],
            )
            .await?
        }
    };
    finish_item(tx, n, item, entry).await
}
