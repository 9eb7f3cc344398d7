//! The SQLite side of the row mappers (`store/rows`): the column readers
//! ([`SqlRow`]) for a `rusqlite::Row`, and SQLite's aggregate of a clerk's
//! stores. A leaf: it uses nothing else of the backend.

use rusqlite::Row;

use crate::store::StoreResult;
use crate::store::rows::SqlRow;

/// A clerk's stores as SQLite aggregates them (JSON text), for
/// `columns!(staff_record with staff_stores_json!())`.
macro_rules! staff_stores_json {
    () => {
        "(SELECT json_group_array(store) FROM staff_stores ss WHERE ss.staff_id = s.staff_id)"
    };
}
pub(super) use staff_stores_json;

/// SQLite's columns hold what was written, whatever the declared type: a
/// reader refuses a value of another kind (rusqlite's `FromSql` rules).
impl SqlRow for Row<'_> {
    fn text(&self, index: usize) -> StoreResult<&str> {
        Ok(self
            .get_ref(index)?
            .as_str()
            .map_err(rusqlite::Error::from)?)
    }

    fn optional_text(&self, index: usize) -> StoreResult<Option<&str>> {
        Ok(self
            .get_ref(index)?
            .as_str_or_null()
            .map_err(rusqlite::Error::from)?)
    }

    fn integer(&self, index: usize) -> StoreResult<i64> {
        Ok(self.get(index)?)
    }

    fn optional_integer(&self, index: usize) -> StoreResult<Option<i64>> {
        Ok(self.get(index)?)
    }

    /// An integer, 0 for false (SQLite has no boolean).
    fn flag(&self, index: usize) -> StoreResult<bool> {
        Ok(self.get::<_, i64>(index)? != 0)
    }
}
