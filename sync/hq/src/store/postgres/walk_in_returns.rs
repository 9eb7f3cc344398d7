//! Walk-in sales returned twice on PostgreSQL
//! ([`crate::store::walk_in_returns`]): listed, and acknowledged with the
//! audit row in one transaction. The batch writes them in its own flight
//! (`batch.rs`, [`INSERT_SQL`](crate::store::walk_in_returns::INSERT_SQL)).

use super::PgStore;
use super::back_office::audit;
use super::sql::query_cached;
use crate::store::back_office::AuditEntry;
use crate::store::walk_in_returns::{
    ACKNOWLEDGE_SQL, EXISTS_SQL, OF_SALE_SQL, OPEN_SQL, WalkInReturnCase, WalkInReturnStore,
    not_open, walk_in_return_from_row,
};
use crate::store::{BackOffice, StoreResult};

#[async_trait::async_trait]
impl WalkInReturnStore for PgStore {
    async fn open_walk_in_returns(&self, limit: i64) -> StoreResult<Vec<WalkInReturnCase>> {
        let client = self.client().await?;
        query_cached(&client, OPEN_SQL, &[&limit])
            .await?
            .iter()
            .map(walk_in_return_from_row)
            .collect()
    }

    async fn walk_in_returns_of(&self, sale_id: &str) -> StoreResult<Vec<WalkInReturnCase>> {
        let client = self.client().await?;
        query_cached(&client, OF_SALE_SQL, &[&sale_id])
            .await?
            .iter()
            .map(walk_in_return_from_row)
            .collect()
    }

    async fn acknowledge_walk_in_return(
        &self,
        flag_no: i64,
        by: &str,
        at: &str,
        entry: &AuditEntry,
    ) -> BackOffice<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let n = tx.execute(ACKNOWLEDGE_SQL, &[&by, &at, &flag_no]).await?;
        if n == 0 {
            let exists: i64 = tx.query_one(EXISTS_SQL, &[&flag_no]).await?.try_get(0)?;
            return Ok(Err(not_open(exists > 0)));
        }
        audit(&tx, entry).await?;
        tx.commit().await?;
        Ok(Ok(()))
    }
}
