//! The admin API's back-office handlers (`/v1/admin/stores`, `staff`,
//! `enroll-codes`, `terminals`, `users`, `audit`) and the terminals' PIN
//! set-up (`POST /v1/staff/pin`): each authorizes the request for its
//! operation ([`Hq::authorize`]: the admin token, or a dashboard session
//! whose user's role allows it), decodes, and calls [`Hq`].

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tillcard_protocol::staff::SetPinRequest;
use tillcard_protocol::wire::{self, TerminalId};
use uuid::Uuid;

use super::Hq;
use super::http::admin_body;
use super::roles::Operation;
use crate::admin;
use crate::error::HqError;

/// An admin request's plain JSON body; what does not decode is 400 in
/// serde's words.
fn json<T: serde::Serialize>(value: &T) -> Response {
    axum::Json(value).into_response()
}

pub(super) async fn list_stores(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
) -> Result<Response, HqError> {
    hq.authorize(&headers, Operation::ReadBackOffice).await?;
    Ok(json(&hq.list_stores().await?))
}

pub(super) async fn create_store(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, HqError> {
    let actor = hq.authorize(&headers, Operation::WriteStores).await?;
    let request: admin::NewStore = admin_body(&bytes)?;
    Ok(json(&hq.create_store(&actor, &request).await?))
}

pub(super) async fn update_store(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
    Path(code): Path<String>,
    bytes: Bytes,
) -> Result<Response, HqError> {
    let actor = hq.authorize(&headers, Operation::WriteStores).await?;
    let change: admin::StoreChange = admin_body(&bytes)?;
    Ok(json(&hq.update_store(&actor, &code, &change).await?))
}

#[derive(Deserialize)]
pub(super) struct StoreQuery {
    store: Option<String>,
}

pub(super) async fn list_staff(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
    Query(query): Query<StoreQuery>,
) -> Result<Response, HqError> {
    hq.authorize(&headers, Operation::ReadBackOffice).await?;
    Ok(json(&hq.list_staff(query.store.as_deref()).await?))
}

pub(super) async fn create_staff(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, HqError> {
    let actor = hq.authorize(&headers, Operation::WriteStaff).await?;
    let request: admin::NewStaff = admin_body(&bytes)?;
    Ok(json(&hq.create_staff(&actor, &request).await?))
}

pub(super) async fn deactivate_staff(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
    Path(staff_id): Path<String>,
) -> Result<Response, HqError> {
    let actor = hq.authorize(&headers, Operation::WriteStaff).await?;
    Ok(json(&hq.set_staff_active(&actor, &staff_id, false).await?))
}

pub(super) async fn activate_staff(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
    Path(staff_id): Path<String>,
) -> Result<Response, HqError> {
    let actor = hq.authorize(&headers, Operation::WriteStaff).await?;
    Ok(json(&hq.set_staff_active(&actor, &staff_id, true).await?))
}

pub(super) async fn rename_staff(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
    Path(staff_id): Path<String>,
    bytes: Bytes,
) -> Result<Response, HqError> {
    let actor = hq.authorize(&headers, Operation::WriteStaff).await?;
    let request: admin::RenameStaff = admin_body(&bytes)?;
    Ok(json(
        &hq.rename_staff(&actor, &staff_id, &request.display_name)
            .await?,
    ))
}

pub(super) async fn set_staff_stores(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
    Path(staff_id): Path<String>,
    bytes: Bytes,
) -> Result<Response, HqError> {
    let actor = hq.authorize(&headers, Operation::WriteStaff).await?;
    let request: admin::StaffStores = admin_body(&bytes)?;
    Ok(json(
        &hq.set_staff_stores(&actor, &staff_id, &request.stores)
            .await?,
    ))
}

pub(super) async fn reset_staff_pin(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
    Path(staff_id): Path<String>,
) -> Result<Response, HqError> {
    let actor = hq.authorize(&headers, Operation::WriteStaff).await?;
    Ok(json(&hq.reset_staff_pin(&actor, &staff_id).await?))
}

pub(super) async fn issue_code(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, HqError> {
    let actor = hq.authorize(&headers, Operation::WriteTerminals).await?;
    let request: admin::IssueCode = admin_body(&bytes)?;
    Ok(json(
        &hq.issue_enroll_code(&actor, &request.store, request.expires_in_days)
            .await?,
    ))
}

pub(super) async fn list_codes(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
) -> Result<Response, HqError> {
    hq.authorize(&headers, Operation::ReadBackOffice).await?;
    Ok(json(&hq.list_enroll_codes().await?))
}

pub(super) async fn list_terminals(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
) -> Result<Response, HqError> {
    hq.authorize(&headers, Operation::ReadBackOffice).await?;
    Ok(json(&hq.list_terminals().await?))
}

pub(super) async fn revoke(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> Result<Response, HqError> {
    let actor = hq.authorize(&headers, Operation::WriteTerminals).await?;
    hq.revoke_terminal(&actor, TerminalId(id)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) async fn list_users(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
) -> Result<Response, HqError> {
    hq.authorize(&headers, Operation::ReadUsers).await?;
    Ok(json(&hq.list_users().await?))
}

pub(super) async fn save_user(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, HqError> {
    let actor = hq.authorize(&headers, Operation::WriteUsers).await?;
    let request: admin::NewUser = admin_body(&bytes)?;
    hq.save_user(&actor, &request.username, &request.password, request.role)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) async fn set_user_role(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
    Path(username): Path<String>,
    bytes: Bytes,
) -> Result<Response, HqError> {
    let actor = hq.authorize(&headers, Operation::WriteUsers).await?;
    let request: admin::UserRole = admin_body(&bytes)?;
    hq.set_user_role(&actor, &username, request.role).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
pub(super) struct AuditQuery {
    subject: Option<String>,
    limit: Option<i64>,
}

pub(super) async fn audit(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
    Query(query): Query<AuditQuery>,
) -> Result<Response, HqError> {
    hq.authorize(&headers, Operation::ReadAudit).await?;
    Ok(json(
        &hq.audit_trail(query.subject.as_deref(), query.limit)
            .await?,
    ))
}

/// A clerk's PIN set-up, signed by a terminal like an upload; answered
/// with the clerk's record sealed to that terminal (gzip JSON).
pub(super) async fn set_pin(
    State(hq): State<Arc<Hq>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, HqError> {
    let terminal = hq.authenticate(&method, &uri, &headers, &bytes).await?;
    let request: SetPinRequest = wire::decode(&bytes)?;
    let snapshot = hq.set_pin(&terminal, &request).await?;
    Ok(super::http::wire_response(&snapshot))
}
