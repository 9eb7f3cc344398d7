//! The admin API's member-money handlers: a cash-out and a points
//! adjustment (`/v1/admin/members/{id}/cash-out`, `/points-adjustment`),
//! the requests waiting for a second approver, approving and rejecting
//! one, and the thresholds. Each authorizes the request for its operation
//! first, decodes, and calls [`Hq`] (`service/member_money`).

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tillcard_rules::ids::MemberId;
use tillcard_rules::money::Money;
use uuid::Uuid;

use super::http::admin_body;
use super::http_back_office::OfficeRequest;
use super::roles::Operation;
use crate::admin;
use crate::error::HqError;

fn json<T: serde::Serialize>(value: &T) -> Response {
    axum::Json(value).into_response()
}

pub(super) async fn cash_out(
    office: OfficeRequest,
    Path(id): Path<Uuid>,
    body: Bytes,
) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::MemberMoney).await?;
    let request: admin::CashOut = admin_body(&body)?;
    let amount = request.amount_fen.map(Money::from_fen);
    let outcome = hq.cash_out(&actor, MemberId(id), amount, &request.reason);
    Ok(json(&outcome.await?))
}

pub(super) async fn adjust_points(
    office: OfficeRequest,
    Path(id): Path<Uuid>,
    body: Bytes,
) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::MemberMoney).await?;
    let request: admin::PointsAdjustment = admin_body(&body)?;
    let outcome = hq.adjust_member_points(&actor, MemberId(id), request.points, &request.reason);
    Ok(json(&outcome.await?))
}

pub(super) async fn requests(office: OfficeRequest) -> Result<Response, HqError> {
    let (hq, _) = office.authorize(Operation::MemberMoney).await?;
    Ok(json(&hq.member_money_requests().await?))
}

pub(super) async fn approve(
    office: OfficeRequest,
    Path(request_no): Path<i64>,
) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::ApproveMemberMoney).await?;
    Ok(json(&hq.approve_member_money(&actor, request_no).await?))
}

pub(super) async fn reject(
    office: OfficeRequest,
    Path(request_no): Path<i64>,
    body: Bytes,
) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::ApproveMemberMoney).await?;
    let request: admin::StandingChange = admin_body(&body)?;
    hq.reject_member_money(&actor, request_no, &request.reason)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) async fn thresholds(office: OfficeRequest) -> Result<Response, HqError> {
    let (hq, _) = office.authorize(Operation::MemberMoney).await?;
    Ok(json(&hq.member_money_thresholds().await?))
}

pub(super) async fn set_thresholds(
    office: OfficeRequest,
    body: Bytes,
) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::ApproveMemberMoney).await?;
    let request: admin::MoneyThresholds = admin_body(&body)?;
    hq.set_member_money_thresholds(&actor, request).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
