//! The product catalog on SQLite ([`crate::store::catalog`]): a write's
//! items, their change rows and its audit row in one immediate
//! transaction; an item identical to the one held is left alone.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tillcard_rules::catalog::CatalogItem;

use super::SqliteStore;
use super::back_office::audit;
use super::batch::push_change;
use crate::store::back_office::AuditEntry;
use crate::store::catalog::{CatalogStore, CatalogWrite, CodeTaken, item_row};
use crate::store::{StoreResult, parse_json};

fn put_items(
    c: &mut Connection,
    items: &[CatalogItem],
    entry: &AuditEntry,
) -> StoreResult<Result<CatalogWrite, CodeTaken>> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut write = CatalogWrite {
        written: 0,
        unchanged: 0,
    };
    {
        let mut upsert = tx.prepare_cached(
            "INSERT INTO catalog_items (sku, code, active, body, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (sku) DO UPDATE SET code = excluded.code, active = excluded.active,
                body = excluded.body, updated_at = excluded.updated_at
             WHERE catalog_items.body IS NOT excluded.body",
        )?;
        for item in items {
            let (sku, code, active, body) = item_row(item)?;
            if upsert.execute(params![sku, code, active, body, entry.at])? == 1 {
                push_change(&tx, "item", None, Some(&body))?;
                write.written += 1;
            } else {
                write.unchanged += 1;
            }
        }
    }
    let taken = tx
        .query_row(
            "SELECT code, min(sku), max(sku) FROM catalog_items
             WHERE code IS NOT NULL AND active GROUP BY code HAVING count(*) > 1 LIMIT 1",
            [],
            |r| {
                Ok(CodeTaken {
                    code: r.get(0)?,
                    skus: (r.get(1)?, r.get(2)?),
                })
            },
        )
        .optional()?;
    if let Some(taken) = taken {
        // Dropping the transaction rolls every row of the write back.
        return Ok(Err(taken));
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
        )?;
    }
    tx.commit()?;
    Ok(Ok(write))
}

fn catalog_items(c: &Connection, after: Option<&str>, limit: i64) -> StoreResult<Vec<CatalogItem>> {
    let mut stmt = c.prepare_cached(
        "SELECT body FROM catalog_items WHERE sku > coalesce(?1, '') ORDER BY sku LIMIT ?2",
    )?;
    let bodies = stmt
        .query_map(params![after, limit], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    bodies.iter().map(|b| parse_json(b)).collect()
}

fn catalog_item(c: &Connection, sku: &str) -> StoreResult<Option<CatalogItem>> {
    c.prepare_cached("SELECT body FROM catalog_items WHERE sku = ?1")?
        .query_row(params![sku], |r| r.get::<_, String>(0))
        .optional()?
        .map(|b| parse_json(&b))
        .transpose()
}

#[async_trait::async_trait]
impl CatalogStore for SqliteStore {
    async fn put_items(
        &self,
        items: &[CatalogItem],
        audit: &AuditEntry,
    ) -> StoreResult<Result<CatalogWrite, CodeTaken>> {
        let (items, audit) = (items.to_vec(), audit.clone());
        self.run(move |c| put_items(c, &items, &audit)).await
    }

    async fn catalog_items(
        &self,
        after: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<CatalogItem>> {
        let after = after.map(str::to_string);
        self.run(move |c| catalog_items(c, after.as_deref(), limit))
            .await
    }

    async fn catalog_item(&self, sku: &str) -> StoreResult<Option<CatalogItem>> {
        let sku = sku.to_string();
        self.run(move |c| catalog_item(c, &sku)).await
    }
}
