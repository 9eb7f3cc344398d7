//! The chain's product catalog at head office (issue 24): items written
//! one by one from the console or the API, or a whole CSV file at once
//! ([`crate::catalog_import`]), and read in pages. Every item added or
//! changed goes down to every terminal of the chain as an `item` change;
//! an item is never deleted, only made inactive (old receipts name it).
//!
//! A write is all or nothing: refused with every problem listed when an
//! item is invalid, two items of the write share a SKU, or the write would
//! leave one barcode on two items that are sold.

use axum::http::StatusCode;
use tillcard_rules::catalog::CatalogItem;

use super::Hq;
use super::back_office::Actor;
use crate::catalog_import::{self, RowProblem};
use crate::error::HqError;
use crate::store::catalog::{CATALOG_PAGE_LIMIT, CatalogWrite};

/// The most items one JSON write may hold (an import file: see
/// [`catalog_import::MAX_IMPORT_ROWS`]).
pub const MAX_ITEMS_PER_WRITE: usize = catalog_import::MAX_IMPORT_ROWS;

fn invalid(problems: &[String]) -> HqError {
    HqError::Refused(StatusCode::BAD_REQUEST, "invalid_item", problems.join("; "))
}

/// A refused file's problems in one message: `row 3, price: ...; ...`.
pub fn describe(problems: &[RowProblem]) -> Vec<String> {
    problems
        .iter()
        .map(|p| match (p.row, p.column.as_str()) {
            (0, "") => p.problem.clone(),
            (row, "") => format!("row {row}: {}", p.problem),
            (row, column) => format!("row {row}, {column}: {}", p.problem),
        })
        .collect()
}

impl Hq {
    /// Writes `items` (each checked, SKUs distinct) as one transaction,
    /// audited as `catalog_written` (`how` says from where).
    pub async fn put_catalog_items(
        &self,
        actor: &Actor,
        items: &[CatalogItem],
        how: &str,
    ) -> Result<CatalogWrite, HqError> {
        if items.is_empty() {
            return Err(invalid(&["no items".to_string()]));
        }
        if items.len() > MAX_ITEMS_PER_WRITE {
            return Err(invalid(&[format!(
                "at most {MAX_ITEMS_PER_WRITE} items in one write"
            )]));
        }
        let mut problems = Vec::new();
        let mut skus = std::collections::HashSet::new();
        for (i, item) in items.iter().enumerate() {
            for p in item.problems() {
                problems.push(format!("items[{i}] {p}"));
            }
            if !skus.insert(item.sku.as_str()) {
                problems.push(format!("items[{i}] sku: given twice"));
            }
        }
        if !problems.is_empty() {
            problems.truncate(catalog_import::MAX_REPORTED);
            return Err(invalid(&problems));
        }
        let subject = match items {
            [one] => format!("item:{}", one.sku),
            _ => "catalog".to_string(),
        };
        let audit = actor.audit("catalog_written", subject, how.to_string());
        match self.store.put_items(items, &audit).await? {
            Ok(write) => {
                tracing::info!(
                    written = write.written,
                    unchanged = write.unchanged,
                    actor = %actor.name,
                    "catalog written"
                );
                Ok(write)
            }
            Err(taken) => Err(HqError::Refused(
                StatusCode::CONFLICT,
                "barcode_taken",
                format!(
                    "barcode {} would be on two items that are sold ({} and {}): \
                     make one inactive or give it another barcode",
                    taken.code, taken.skus.0, taken.skus.1
                ),
            )),
        }
    }

    /// Imports a CSV file ([`crate::catalog_import`]): all of it, or
    /// nothing with every problem listed by row.
    pub async fn import_catalog(
        &self,
        actor: &Actor,
        file: &[u8],
    ) -> Result<CatalogWrite, HqError> {
        let items = catalog_import::parse(file).map_err(|p| invalid(&describe(&p)))?;
        self.put_catalog_items(
            actor,
            &items,
            &format!("CSV import of {} rows", items.len()),
        )
        .await
    }

    /// A page of the catalog in SKU order after `after`.
    pub async fn catalog_page(
        &self,
        after: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Vec<CatalogItem>, HqError> {
        let limit = limit
            .unwrap_or(CATALOG_PAGE_LIMIT)
            .clamp(1, CATALOG_PAGE_LIMIT);
        Ok(self.store.catalog_items(after, limit).await?)
    }

    /// The item with this SKU.
    pub async fn catalog_item(&self, sku: &str) -> Result<CatalogItem, HqError> {
        self.store.catalog_item(sku).await?.ok_or(HqError::NotFound)
    }
}
