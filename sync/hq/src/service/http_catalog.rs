//! The admin API's catalog handlers (`/v1/admin/catalog/...`, issue 24):
//! each authorizes the request for its operation, decodes, and calls
//! [`Hq`] (`service::catalog`).

use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::response::Response;
use serde::Deserialize;
use tillcard_rules::catalog::CatalogItem;

use super::http::admin_body;
use super::http_back_office::{OfficeRequest, json};
use super::roles::Operation;
use crate::error::HqError;

#[derive(Deserialize)]
pub(super) struct PageQuery {
    after: Option<String>,
    limit: Option<i64>,
}

/// A page of the catalog.
pub(super) async fn list(
    office: OfficeRequest,
    Query(query): Query<PageQuery>,
) -> Result<Response, HqError> {
    let (hq, _) = office.authorize(Operation::ReadBackOffice).await?;
    Ok(json(
        &hq.catalog_page(query.after.as_deref(), query.limit).await?,
    ))
}

/// One item.
pub(super) async fn show(
    office: OfficeRequest,
    Path(sku): Path<String>,
) -> Result<Response, HqError> {
    let (hq, _) = office.authorize(Operation::ReadBackOffice).await?;
    Ok(json(&hq.catalog_item(&sku).await?))
}

/// Adds or changes items given as a JSON array.
pub(super) async fn put(office: OfficeRequest, body: Bytes) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::WriteCatalog).await?;
    let items: Vec<CatalogItem> = admin_body(&body)?;
    Ok(json(&hq.put_catalog_items(&actor, &items, "API").await?))
}

/// Imports a CSV file (`catalog_import`).
pub(super) async fn import(office: OfficeRequest, body: Bytes) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::WriteCatalog).await?;
    Ok(json(&hq.import_catalog(&actor, &body).await?))
}
