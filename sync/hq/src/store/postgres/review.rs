//! What head office keeps for a person to review, on PostgreSQL: the
//! conflicts batches recorded and the events they dead-lettered.

use deadpool_postgres::GenericClient;

use crate::store::rows::{columns, conflict_record_from_row, dead_letter_from_row};
use crate::store::{ConflictRecord, DeadLetterRecord, StoreResult};

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
