//! The chain's product catalog at head office (issue 24): one row per item
//! (`catalog_items`), every new or changed item also written to the change
//! log as an `item` change that every terminal of the chain downloads. A
//! trait of its own beside [`super::Store`], which requires it; each
//! backend keeps it in its `catalog` file.
//!
//! Writes take a list (one item from the editor, a whole CSV file) and are
//! one transaction with one audit row: an item identical to the one held is
//! left alone (no change row, so re-importing a file costs the terminals
//! nothing), and the write is refused whole when it leaves one barcode on
//! two items that are sold.

use tillcard_rules::catalog::CatalogItem;

use super::StoreResult;
use super::back_office::AuditEntry;

/// The most items read in one page of the catalog.
pub const CATALOG_PAGE_LIMIT: i64 = 1_000;

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct CatalogWrite {
    /// Items added or changed: each is sent down to every terminal.
    pub written: u64,
    /// Items identical to the ones held, left alone.
    pub unchanged: u64,
}

/// A barcode the write would leave on two items that are sold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeTaken {
    /// The barcode's catalog key.
    pub code: String,
    /// Two of the items that would carry it.
    pub skus: (String, String),
}

/// Head office's catalog.
#[async_trait::async_trait]
pub trait CatalogStore {
    /// Writes `items` (already valid, SKUs distinct) in one transaction.
    async fn put_items(
        &self,
        items: &[CatalogItem],
        audit: &AuditEntry,
    ) -> StoreResult<Result<CatalogWrite, CodeTaken>>;
    /// Up to `limit` items in SKU order, after `after` (a page).
    async fn catalog_items(&self, after: Option<&str>, limit: i64)
    -> StoreResult<Vec<CatalogItem>>;
    /// The item with this SKU.
    async fn catalog_item(&self, sku: &str) -> StoreResult<Option<CatalogItem>>;
}

/// What the backends store for an item: its SKU, its barcode's key, whether
/// it is sold, and its JSON.
pub(crate) fn item_row(item: &CatalogItem) -> StoreResult<(String, Option<String>, bool, String)> {
    Ok((
        item.sku.clone(),
        item.code().map(|c| c.key().to_string()),
        item.active,
        super::to_json(item)?,
    ))
}
