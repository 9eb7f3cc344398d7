//! The PostgreSQL side of the row mappers (`store/rows`): the column
//! readers ([`SqlRow`]) for a `tokio_postgres::Row`, PostgreSQL's aggregate
//! of a clerk's stores, and a ledger chunk's entries. Readers use
//! `try_get`: a column of an unexpected type is an error, not a panic. A
//! leaf: it uses nothing else of the backend.

use tillcard_rules::ledger::LedgerEntry;
use tokio_postgres::Row;
use tokio_postgres::types::Type;

use crate::store::rows::SqlRow;
use crate::store::{StoreResult, parse_json};

/// A clerk's stores as PostgreSQL aggregates them (JSON text, `[]` for
/// none), for `columns!(staff_record with staff_stores_json!())`.
macro_rules! staff_stores_json {
    () => {
        "coalesce((SELECT json_agg(store)::text FROM staff_stores ss
                   WHERE ss.staff_id = s.staff_id), '[]')"
    };
}
pub(super) use staff_stores_json;

/// Whether a column is an `INT` (the staff's setup failures) rather than a
/// `BIGINT` (every other integer head office keeps): integers are read at
/// the width the schema gives them.
fn is_int4(row: &Row, index: usize) -> bool {
    row.columns()
        .get(index)
        .is_some_and(|column| *column.type_() == Type::INT4)
}

impl SqlRow for Row {
    fn text(&self, index: usize) -> StoreResult<&str> {
        Ok(self.try_get(index)?)
    }

    fn optional_text(&self, index: usize) -> StoreResult<Option<&str>> {
        Ok(self.try_get(index)?)
    }

    fn integer(&self, index: usize) -> StoreResult<i64> {
        if is_int4(self, index) {
            Ok(i64::from(self.try_get::<_, i32>(index)?))
        } else {
            Ok(self.try_get(index)?)
        }
    }

    fn optional_integer(&self, index: usize) -> StoreResult<Option<i64>> {
        if is_int4(self, index) {
            Ok(self.try_get::<_, Option<i32>>(index)?.map(i64::from))
        } else {
            Ok(self.try_get(index)?)
        }
    }

    fn flag(&self, index: usize) -> StoreResult<bool> {
        Ok(self.try_get(index)?)
    }
}

/// A ledger chunk's entries (migration 4), each with the seq of the event
/// that booked it (none for head office's own jobs).
pub(super) type Chunk = Vec<(Option<u64>, LedgerEntry)>;

/// The entries of a ledger chunk (its `entries` column), in booking order.
pub(super) fn ledger_entries_of_chunk(
    text: &str,
) -> StoreResult<impl Iterator<Item = LedgerEntry>> {
    let chunk: Chunk = parse_json(text)?;
    Ok(chunk.into_iter().map(|(_, entry)| entry))
}
