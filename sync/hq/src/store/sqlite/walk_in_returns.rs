//! Walk-in sales returned twice on SQLite
//! ([`crate::store::walk_in_returns`]): listed, and acknowledged with the
//! audit row in one transaction (the batch writes them: `batch::write`).

use rusqlite::{Connection, params};

use super::SqliteStore;
use super::back_office::audit;
use crate::store::back_office::AuditEntry;
use crate::store::walk_in_returns::{
    ACKNOWLEDGE_SQL, EXISTS_SQL, OF_SALE_SQL, OPEN_SQL, WalkInReturnCase, WalkInReturnStore,
    not_open, walk_in_return_from_row,
};
use crate::store::{BackOffice, StoreResult};

fn listed(
    c: &Connection,
    sql: &str,
    param: &dyn rusqlite::ToSql,
) -> StoreResult<Vec<WalkInReturnCase>> {
    let mut stmt = c.prepare_cached(sql)?;
    let mut rows = stmt.query([param])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(walk_in_return_from_row(row)?);
    }
    Ok(out)
}

fn acknowledge(
    c: &mut Connection,
    flag_no: i64,
    by: &str,
    at: &str,
    entry: &AuditEntry,
) -> BackOffice<()> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let n = tx.execute(ACKNOWLEDGE_SQL, params![by, at, flag_no])?;
    if n == 0 {
        let exists: i64 = tx.query_row(EXISTS_SQL, params![flag_no], |r| r.get(0))?;
        return Ok(Err(not_open(exists > 0)));
    }
    audit(&tx, entry)?;
    tx.commit()?;
    Ok(Ok(()))
}

#[async_trait::async_trait]
impl WalkInReturnStore for SqliteStore {
    async fn open_walk_in_returns(&self, limit: i64) -> StoreResult<Vec<WalkInReturnCase>> {
        self.run(move |c| listed(c, OPEN_SQL, &limit)).await
    }

    async fn walk_in_returns_of(&self, sale_id: &str) -> StoreResult<Vec<WalkInReturnCase>> {
        let sale_id = sale_id.to_string();
        self.run(move |c| listed(c, OF_SALE_SQL, &sale_id)).await
    }

    async fn acknowledge_walk_in_return(
        &self,
        flag_no: i64,
        by: &str,
        at: &str,
        audit: &AuditEntry,
    ) -> BackOffice<()> {
        let (by, at, audit) = (by.to_string(), at.to_string(), audit.clone());
        self.run(move |c| acknowledge(c, flag_no, &by, &at, &audit))
            .await
    }
}
