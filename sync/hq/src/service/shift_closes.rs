//! Terminals' shift closes (Z reports, issue 24) for the back office:
//! `GET /v1/admin/shift-closes?store=S001` lists a store's closes, newest
//! first, each with its report as the terminal printed it.

use axum::extract::Query;
use axum::response::Response;
use serde::Deserialize;

use super::Hq;
use super::http_back_office::{OfficeRequest, json};
use super::roles::Operation;
use crate::error::HqError;
use crate::store::shift_closes::{SHIFT_CLOSES_LIMIT, ShiftCloseRecord};

impl Hq {
    /// The shift closes of `store`'s terminals, newest first, at most
    /// `limit` (and at most [`SHIFT_CLOSES_LIMIT`]).
    pub async fn shift_closes(
        &self,
        store: &str,
        limit: Option<i64>,
    ) -> Result<Vec<ShiftCloseRecord>, HqError> {
        let limit = limit
            .unwrap_or(SHIFT_CLOSES_LIMIT)
            .clamp(1, SHIFT_CLOSES_LIMIT);
        Ok(self.store.shift_closes(store, limit).await?)
    }
}

#[derive(Deserialize)]
pub(super) struct ShiftClosesQuery {
    store: Option<String>,
    limit: Option<i64>,
}

/// `GET /v1/admin/shift-closes?store=S001[&limit=n]`.
pub(super) async fn list(
    office: OfficeRequest,
    Query(query): Query<ShiftClosesQuery>,
) -> Result<Response, HqError> {
    let (hq, _) = office.authorize(Operation::ReadShiftCloses).await?;
    let store = query
        .store
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| HqError::BadRequest("name the store: ?store=S001".into()))?;
    Ok(json(&hq.shift_closes(&store, query.limit).await?))
}
