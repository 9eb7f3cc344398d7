//! The chain's product catalog as this terminal holds it: every item head
//! office sent down (`Change::Item`), keyed by SKU and looked up by the
//! barcode's catalog key ([`ItemCode::key`]), so a scan at the counter is
//! one index read however large the catalog (100,000 items per store is
//! the figure; [`MAX_CATALOG_ITEMS`] the bound).
//!
//! An item arrives already held to its bounds by head office, and is held
//! to them again here: an item that is not valid is not stored, recorded in
//! `downlink_refusals` (kind `item`, reason `invalid_item`) and the audit
//! log, and the page goes on, so one bad item cannot stop the downlink.

use rusqlite::{OptionalExtension, Transaction, params};
use tillcard_rules::catalog::{CatalogItem, ItemCode, MAX_CATALOG_ITEMS, ScaleLabelFormat};

use super::{Store, StoreError};

/// An item change that cannot be applied (the page it came in is not).
fn refused(why: String) -> StoreError {
    StoreError::Damaged(format!("catalog item from head office: {why}"))
}

/// Writes `item` as head office sent it, inside the caller's transaction,
/// replacing the item with its SKU; an invalid one is recorded as refused
/// instead (`at` is the page's moment).
pub(crate) fn upsert(tx: &Transaction<'_>, item: &CatalogItem, at: &str) -> Result<(), StoreError> {
    if !item.problems().is_empty() {
        tx.execute(
            "INSERT INTO downlink_refusals (at, kind, reason) VALUES (?1, 'item', 'invalid_item')",
            params![at],
        )?;
        super::audit::append(tx, at, "system", "downlink_change_refused", "item")?;
        tracing::error!("catalog item from head office refused: out of its bounds");
        return Ok(());
    }
    let body = serde_json::to_string(item).map_err(|e| refused(e.to_string()))?;
    let code = item.code().map(|c| c.key().to_string());
    let changed = tx
        .prepare_cached(
            "UPDATE catalog_items SET code = ?2, active = ?3, body = ?4 WHERE sku = ?1",
        )?
        .execute(params![item.sku, code, item.active, body])?;
    if changed == 0 {
        let held: i64 = tx
            .prepare_cached("SELECT count(*) FROM catalog_items")?
            .query_row([], |r| r.get(0))?;
        if usize::try_from(held).unwrap_or(usize::MAX) >= MAX_CATALOG_ITEMS {
            return Err(refused(format!(
                "the catalog holds {MAX_CATALOG_ITEMS} items already"
            )));
        }
        tx.prepare_cached(
            "INSERT INTO catalog_items (sku, code, active, body) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![item.sku, code, item.active, body])?;
    }
    Ok(())
}

fn parse(body: &str) -> Result<CatalogItem, StoreError> {
    serde_json::from_str(body).map_err(|_| StoreError::Damaged("a catalog item".into()))
}

impl Store {
    /// The item a scanned or typed barcode names: an active one first
    /// (a code moved from an old item to a new one finds the new one).
    pub fn item_by_code(&self, code: &ItemCode) -> Result<Option<CatalogItem>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT body FROM catalog_items WHERE code = ?1
                 ORDER BY active DESC, rowid DESC LIMIT 1",
            )?
            .query_row(params![code.key()], |r| r.get::<_, String>(0))
            .optional()?
            .map(|body| parse(&body))
            .transpose()
    }

    /// What a scanned code rings up: the item whose barcode it is; else,
    /// when `labels` reads it as a scale label, the item its PLU names
    /// (its SKU as printed, then without leading zeros) with the label's
    /// grams. A barcode the catalog holds wins over the label reading (a
    /// chain may give in-store items codes in the same range).
    pub fn item_for_scan(
        &self,
        code: &ItemCode,
        labels: Option<&ScaleLabelFormat>,
    ) -> Result<Option<(CatalogItem, Option<i64>)>, StoreError> {
        if let Some(item) = self.item_by_code(code)? {
            return Ok(Some((item, None)));
        }
        let Some(label) = labels.and_then(|format| format.read(code)) else {
            return Ok(None);
        };
        for sku in label.skus() {
            if let Some(item) = self.item_by_sku(&sku)? {
                return Ok(Some((item, Some(label.grams))));
            }
        }
        Ok(None)
    }

    /// The item with this SKU, if the catalog holds it.
    pub fn item_by_sku(&self, sku: &str) -> Result<Option<CatalogItem>, StoreError> {
        self.conn
            .prepare_cached("SELECT body FROM catalog_items WHERE sku = ?1")?
            .query_row(params![sku], |r| r.get::<_, String>(0))
            .optional()?
            .map(|body| parse(&body))
            .transpose()
    }

    /// Writes `items` into the catalog in one transaction, as the downlink
    /// would (the demo's catalog, a benchmark's); an invalid item is
    /// refused and recorded the same way.
    pub fn put_catalog_items(&mut self, items: &[CatalogItem]) -> Result<(), StoreError> {
        let at = self.clock.now().to_rfc3339();
        let tx = self.conn.transaction()?;
        for item in items {
            upsert(&tx, item, &at)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// How many items the catalog holds, and how many of them are sold.
    pub fn catalog_size(&self) -> Result<(u64, u64), StoreError> {
        let (all, active): (i64, i64) = self.conn.query_row(
            "SELECT count(*), coalesce(sum(active), 0) FROM catalog_items",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok((
            u64::try_from(all).unwrap_or(0),
            u64::try_from(active).unwrap_or(0),
        ))
    }
}
