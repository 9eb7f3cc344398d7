//! The product catalog on PostgreSQL ([`crate::store::catalog`]): a write's
//! items, their change rows and its audit row in one transaction under the
//! back office's advisory lock (two writers cannot each leave a barcode
//! on an item the other just gave it), in statements of
//! [`ROWS_PER_STATEMENT`] items; an item identical to the one held is left
//! alone.

use deadpool_postgres::{GenericClient, Object};
use tillcard_rules::catalog::CatalogItem;

use super::PgStore;
use super::back_office::audit;
use super::locks::LOCK_BACK_OFFICE;
use super::sql::query_cached;
use crate::store::back_office::AuditEntry;
use crate::store::catalog::{CatalogStore, CatalogWrite, CodeTaken, item_row};
use crate::store::{StoreResult, parse_json};

/// Items written per statement: a 100,000-item import is 20 round trips.
const ROWS_PER_STATEMENT: usize = 5_000;

/// Upserts a chunk and logs a change for each item written (in the
/// chunk's order); how many were written.
const PUT_CHUNK: &str = "
WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::bool[], $4::text[])
        WITH ORDINALITY AS i(sku, code, active, body, n)),
written AS (
    INSERT INTO catalog_items AS c (sku, code, active, body, updated_at)
    SELECT sku, code, active, body, $5 FROM input ORDER BY n
    ON CONFLICT (sku) DO UPDATE SET code = excluded.code, active = excluded.active,
        body = excluded.body, updated_at = excluded.updated_at
    WHERE c.body IS DISTINCT FROM excluded.body
    RETURNING sku)
INSERT INTO changes (kind, payload)
SELECT 'item', i.body FROM input i JOIN written w USING (sku) ORDER BY i.n";

async fn put_items(
    client: &mut Object,
    items: &[CatalogItem],
    entry: &AuditEntry,
) -> StoreResult<Result<CatalogWrite, CodeTaken>> {
    let tx = client.transaction().await?;
    tx.execute(LOCK_BACK_OFFICE, &[]).await?;
    let statement = tx.prepare_cached(PUT_CHUNK).await?;
    let mut written = 0u64;
    for chunk in items.chunks(ROWS_PER_STATEMENT) {
        let mut skus = Vec::with_capacity(chunk.len());
        let mut codes = Vec::with_capacity(chunk.len());
        let mut active = Vec::with_capacity(chunk.len());
        let mut bodies = Vec::with_capacity(chunk.len());
        for item in chunk {
            let (sku, code, sold, body) = item_row(item)?;
            skus.push(sku);
            codes.push(code);
            active.push(sold);
            bodies.push(body);
        }
        written += tx
            .execute(&statement, &[&skus, &codes, &active, &bodies, &entry.at])
            .await?;
    }
    let write = CatalogWrite {
        written,
        unchanged: u64::try_from(items.len()).unwrap_or(u64::MAX) - written,
    };
    let taken = query_cached(
        &tx,
        "SELECT code, min(sku), max(sku) FROM catalog_items
         WHERE code IS NOT NULL AND active GROUP BY code HAVING count(*) > 1 LIMIT 1",
        &[],
    )
    .await?;
    if let Some(row) = taken.first() {
        // Dropping the transaction rolls every row of the write back.
        return Ok(Err(CodeTaken {
            code: row.try_get(0)?,
            skus: (row.try_get(1)?, row.try_get(2)?),
        }));
    }
    if write.written > 0 {
        audit(
            &tx,
            &AuditEntry {
                detail: format!(
                    "{} items written, {} unchanged. {}",
                    write.written, write.unchanged, entry.detail
                ),
                ..entry.clone()
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Ok(write))
}

async fn catalog_items<C: GenericClient>(
    client: &C,
    after: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<CatalogItem>> {
    query_cached(
        client,
        "SELECT body FROM catalog_items WHERE sku > coalesce($1, '') ORDER BY sku LIMIT $2",
        &[&after, &limit],
    )
    .await?
    .iter()
    .map(|r| parse_json(&r.try_get::<_, String>(0)?))
    .collect()
}

#[async_trait::async_trait]
impl CatalogStore for PgStore {
    async fn put_items(
        &self,
        items: &[CatalogItem],
        audit: &AuditEntry,
    ) -> StoreResult<Result<CatalogWrite, CodeTaken>> {
        let mut client = self.client().await?;
        put_items(&mut client, items, audit).await
    }

    async fn catalog_items(
        &self,
        after: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<CatalogItem>> {
        let client = self.client().await?;
        catalog_items(&client, after, limit).await
    }

    async fn catalog_item(&self, sku: &str) -> StoreResult<Option<CatalogItem>> {
        let client = self.client().await?;
        query_cached(
            &client,
            "SELECT body FROM catalog_items WHERE sku = $1",
            &[&sku],
        )
        .await?
        .first()
        .map(|r| parse_json(&r.try_get::<_, String>(0)?))
        .transpose()
    }
}
