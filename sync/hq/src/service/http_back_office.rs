//! The admin API's back-office handlers (`/v1/admin/stores`, `staff`,
//! `enroll-codes`, `terminals`, `users`, `audit`) and the terminals' PIN
//! set-up (`POST /v1/staff/pin`): each authorizes the request for its
//! operation ([`Hq::authorize`]: the admin token, or a dashboard session
//! whose user's role allows it), decodes, and calls [`Hq`].

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tillcard_protocol::staff::SetPinRequest;
use tillcard_protocol::wire::{self, TerminalId};
use tillcard_rules::ids::MemberId;
use uuid::Uuid;

use super::Hq;
use super::back_office::Actor;
use super::http::{SignedByTerminal, admin_body};
use super::roles::Operation;
use crate::admin;
use crate::error::HqError;

/// A back-office request: head office and the request's headers (the admin
/// token or the session cookie). An extractor, so each handler says only
/// which operation it needs, what it reads and what it calls.
pub(super) struct OfficeRequest {
    hq: Arc<Hq>,
    headers: HeaderMap,
}

impl FromRequestParts<Arc<Hq>> for OfficeRequest {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, hq: &Arc<Hq>) -> Result<Self, Self::Rejection> {
        Ok(OfficeRequest {
            hq: Arc::clone(hq),
            headers: parts.headers.clone(),
        })
    }
}

impl OfficeRequest {
    /// Head office and who is acting, once the request is authorized for
    /// `operation` ([`Hq::authorize`]); before any body is read.
    pub(super) async fn authorize(&self, operation: Operation) -> Result<(&Hq, Actor), HqError> {
        let actor = self.hq.authorize(&self.headers, operation).await?;
        Ok((&self.hq, actor))
    }
}

/// An answer in JSON.
pub(super) fn json<T: serde::Serialize>(value: &T) -> Response {
    axum::Json(value).into_response()
}

/// An answer with nothing to say (204).
pub(super) fn done() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// Every program version published, oldest first.
pub(super) async fn list_programs(office: OfficeRequest) -> Result<Response, HqError> {
    let (hq, _) = office.authorize(Operation::ReadBackOffice).await?;
    Ok(json(&hq.programs().await?))
}

/// Publishes a program version (`service::programs`).
pub(super) async fn publish_program(
    office: OfficeRequest,
    body: Bytes,
) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::WriteProgram).await?;
    let program: tillcard_rules::Program = admin_body(&body)?;
    Ok(json(&hq.publish_program(&actor, &program).await?))
}

pub(super) async fn list_stores(office: OfficeRequest) -> Result<Response, HqError> {
    let (hq, _) = office.authorize(Operation::ReadBackOffice).await?;
    Ok(json(&hq.list_stores().await?))
}

pub(super) async fn create_store(office: OfficeRequest, body: Bytes) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::WriteStores).await?;
    let request: admin::NewStore = admin_body(&body)?;
    Ok(json(&hq.create_store(&actor, &request).await?))
}

pub(super) async fn update_store(
    office: OfficeRequest,
    Path(code): Path<String>,
    body: Bytes,
) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::WriteStores).await?;
    let change: admin::StoreChange = admin_body(&body)?;
    Ok(json(&hq.update_store(&actor, &code, &change).await?))
}

#[derive(Deserialize)]
pub(super) struct StoreQuery {
    store: Option<String>,
}

pub(super) async fn list_staff(
    office: OfficeRequest,
    Query(query): Query<StoreQuery>,
) -> Result<Response, HqError> {
    let (hq, _) = office.authorize(Operation::ReadBackOffice).await?;
    Ok(json(&hq.list_staff(query.store.as_deref()).await?))
}

pub(super) async fn create_staff(office: OfficeRequest, body: Bytes) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::WriteStaff).await?;
    let request: admin::NewStaff = admin_body(&body)?;
    Ok(json(&hq.create_staff(&actor, &request).await?))
}

/// `POST .../deactivate` (`active` false) and `POST .../activate` (true).
async fn set_staff_active(
    office: OfficeRequest,
    staff_id: &str,
    active: bool,
) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::WriteStaff).await?;
    Ok(json(&hq.set_staff_active(&actor, staff_id, active).await?))
}

pub(super) async fn deactivate_staff(
    office: OfficeRequest,
    Path(staff_id): Path<String>,
) -> Result<Response, HqError> {
    set_staff_active(office, &staff_id, false).await
}

pub(super) async fn activate_staff(
    office: OfficeRequest,
    Path(staff_id): Path<String>,
) -> Result<Response, HqError> {
    set_staff_active(office, &staff_id, true).await
}

pub(super) async fn rename_staff(
    office: OfficeRequest,
    Path(staff_id): Path<String>,
    body: Bytes,
) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::WriteStaff).await?;
    let request: admin::RenameStaff = admin_body(&body)?;
    let renamed = hq.rename_staff(&actor, &staff_id, &request.display_name);
    Ok(json(&renamed.await?))
}

pub(super) async fn set_staff_stores(
    office: OfficeRequest,
    Path(staff_id): Path<String>,
    body: Bytes,
) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::WriteStaff).await?;
    let request: admin::StaffStores = admin_body(&body)?;
    let moved = hq.set_staff_stores(&actor, &staff_id, &request.stores);
    Ok(json(&moved.await?))
}

pub(super) async fn reset_staff_pin(
    office: OfficeRequest,
    Path(staff_id): Path<String>,
) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::WriteStaff).await?;
    Ok(json(&hq.reset_staff_pin(&actor, &staff_id).await?))
}

pub(super) async fn issue_code(office: OfficeRequest, body: Bytes) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::WriteTerminals).await?;
    let request: admin::IssueCode = admin_body(&body)?;
    let issued = hq.issue_enroll_code(&actor, &request.store, request.expires_in_days);
    Ok(json(&issued.await?))
}

pub(super) async fn list_codes(office: OfficeRequest) -> Result<Response, HqError> {
    let (hq, _) = office.authorize(Operation::ReadBackOffice).await?;
    Ok(json(&hq.list_enroll_codes().await?))
}

pub(super) async fn list_terminals(office: OfficeRequest) -> Result<Response, HqError> {
    let (hq, _) = office.authorize(Operation::ReadBackOffice).await?;
    Ok(json(&hq.list_terminals().await?))
}

pub(super) async fn revoke(
    office: OfficeRequest,
    Path(id): Path<Uuid>,
) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::WriteTerminals).await?;
    hq.revoke_terminal(&actor, TerminalId(id)).await?;
    Ok(done())
}

pub(super) async fn freeze_member(
    office: OfficeRequest,
    Path(id): Path<Uuid>,
    body: Bytes,
) -> Result<Response, HqError> {
    set_member_frozen(office, id, body, true).await
}

pub(super) async fn unfreeze_member(
    office: OfficeRequest,
    Path(id): Path<Uuid>,
    body: Bytes,
) -> Result<Response, HqError> {
    set_member_frozen(office, id, body, false).await
}

async fn set_member_frozen(
    office: OfficeRequest,
    id: Uuid,
    body: Bytes,
    frozen: bool,
) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::MemberCare).await?;
    let request: admin::StandingChange = admin_body(&body)?;
    hq.set_member_frozen(&actor, MemberId(id), frozen, &request.reason)
        .await?;
    Ok(done())
}

pub(super) async fn merge_members(
    office: OfficeRequest,
    Path(id): Path<Uuid>,
    body: Bytes,
) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::MemberCare).await?;
    let request: admin::MergeMembers = admin_body(&body)?;
    hq.merge_members(&actor, MemberId(id), request.into, &request.reason)
        .await?;
    Ok(done())
}

pub(super) async fn reissue_card(
    office: OfficeRequest,
    Path(id): Path<Uuid>,
    body: Bytes,
) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::MemberCare).await?;
    let request: admin::StandingChange = admin_body(&body)?;
    let member = MemberId(id);
    let card_serial = hq.reissue_card(&actor, member, &request.reason).await?;
    Ok(json(&admin::ReissuedCard {
        member,
        card_serial,
    }))
}

pub(super) async fn set_member_tags(
    office: OfficeRequest,
    Path(id): Path<Uuid>,
    body: Bytes,
) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::MemberCare).await?;
    let request: admin::MemberTags = admin_body(&body)?;
    let tags = hq
        .set_member_tags(&actor, MemberId(id), &request.tags)
        .await?;
    Ok(json(&admin::MemberTags { tags }))
}

pub(super) async fn conflict_queue(office: OfficeRequest) -> Result<Response, HqError> {
    let (hq, _) = office.authorize(Operation::MemberCare).await?;
    Ok(json(&hq.conflict_queue().await?))
}

pub(super) async fn assign_conflict(
    office: OfficeRequest,
    Path((member, number)): Path<(Uuid, i64)>,
    body: Bytes,
) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::MemberCare).await?;
    let request: admin::AssignConflict = admin_body(&body)?;
    hq.assign_conflict(&actor, conflict_id(member, number), &request.assignee)
        .await?;
    Ok(done())
}

pub(super) async fn resolve_conflict(
    office: OfficeRequest,
    Path((member, number)): Path<(Uuid, i64)>,
    body: Bytes,
) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::MemberCare).await?;
    let request: admin::ResolveConflict = admin_body(&body)?;
    hq.resolve_conflict(
        &actor,
        conflict_id(member, number),
        request.action,
        request.points,
        &request.note,
    )
    .await?;
    Ok(done())
}

pub(super) async fn dismiss_conflict(
    office: OfficeRequest,
    Path((member, number)): Path<(Uuid, i64)>,
    body: Bytes,
) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::MemberCare).await?;
    let request: admin::StandingChange = admin_body(&body)?;
    hq.dismiss_conflict(&actor, conflict_id(member, number), &request.reason)
        .await?;
    Ok(done())
}

pub(super) async fn dead_letter_queue(office: OfficeRequest) -> Result<Response, HqError> {
    let (hq, _) = office.authorize(Operation::WriteTerminals).await?;
    Ok(json(&hq.dead_letter_queue().await?))
}

pub(super) async fn assign_dead_letter(
    office: OfficeRequest,
    Path((terminal, seq)): Path<(Uuid, u64)>,
    body: Bytes,
) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::WriteTerminals).await?;
    let request: admin::AssignConflict = admin_body(&body)?;
    hq.assign_review_item(&actor, dead_letter(terminal, seq), &request.assignee)
        .await?;
    Ok(done())
}

pub(super) async fn dismiss_dead_letter(
    office: OfficeRequest,
    Path((terminal, seq)): Path<(Uuid, u64)>,
    body: Bytes,
) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::WriteTerminals).await?;
    let request: admin::StandingChange = admin_body(&body)?;
    hq.dismiss_review_item(&actor, dead_letter(terminal, seq), &request.reason)
        .await?;
    Ok(done())
}

pub(super) async fn reapply_dead_letter(
    office: OfficeRequest,
    Path((terminal, seq)): Path<(Uuid, u64)>,
) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::WriteTerminals).await?;
    let id = crate::store::DeadLetterId {
        terminal: TerminalId(terminal),
        seq,
    };
    Ok(json(&hq.reapply_dead_letter(&actor, id).await?))
}

pub(super) async fn flag_queue(office: OfficeRequest) -> Result<Response, HqError> {
    let (hq, _) = office.authorize(Operation::WriteTerminals).await?;
    Ok(json(&hq.flag_queue().await?))
}

/// The open walk-in sales returned twice: for whoever works the conflicts.
pub(super) async fn walk_in_return_queue(office: OfficeRequest) -> Result<Response, HqError> {
    let (hq, _) = office.authorize(Operation::MemberCare).await?;
    Ok(json(&hq.walk_in_return_queue().await?))
}

pub(super) async fn acknowledge_walk_in_return(
    office: OfficeRequest,
    Path(flag_no): Path<i64>,
) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::MemberCare).await?;
    hq.acknowledge_walk_in_return(&actor, flag_no).await?;
    Ok(done())
}

pub(super) async fn assign_flag(
    office: OfficeRequest,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::WriteTerminals).await?;
    let request: admin::AssignConflict = admin_body(&body)?;
    hq.assign_review_item(
        &actor,
        crate::store::ReviewItem::Flag(id),
        &request.assignee,
    )
    .await?;
    Ok(done())
}

pub(super) async fn resolve_flag(
    office: OfficeRequest,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::WriteTerminals).await?;
    let request: admin::ResolveFlag = admin_body(&body)?;
    hq.resolve_flag(&actor, id, request.action, &request.note)
        .await?;
    Ok(done())
}

pub(super) async fn dismiss_flag(
    office: OfficeRequest,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::WriteTerminals).await?;
    let request: admin::StandingChange = admin_body(&body)?;
    hq.dismiss_review_item(&actor, crate::store::ReviewItem::Flag(id), &request.reason)
        .await?;
    Ok(done())
}

fn dead_letter(terminal: Uuid, seq: u64) -> crate::store::ReviewItem {
    crate::store::ReviewItem::DeadLetter(crate::store::DeadLetterId {
        terminal: TerminalId(terminal),
        seq,
    })
}

fn conflict_id(member: Uuid, number: i64) -> crate::store::ConflictId {
    crate::store::ConflictId {
        member: MemberId(member),
        number,
    }
}

pub(super) async fn list_users(office: OfficeRequest) -> Result<Response, HqError> {
    let (hq, _) = office.authorize(Operation::ReadUsers).await?;
    Ok(json(&hq.list_users().await?))
}

pub(super) async fn save_user(office: OfficeRequest, body: Bytes) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::WriteUsers).await?;
    let request: admin::NewUser = admin_body(&body)?;
    hq.save_user(&actor, &request.username, &request.password, request.role)
        .await?;
    Ok(done())
}

pub(super) async fn set_user_role(
    office: OfficeRequest,
    Path(username): Path<String>,
    body: Bytes,
) -> Result<Response, HqError> {
    let (hq, actor) = office.authorize(Operation::WriteUsers).await?;
    let request: admin::UserRole = admin_body(&body)?;
    hq.set_user_role(&actor, &username, request.role).await?;
    Ok(done())
}

#[derive(Deserialize)]
pub(super) struct AuditQuery {
    subject: Option<String>,
    limit: Option<i64>,
}

pub(super) async fn audit(
    office: OfficeRequest,
    Query(query): Query<AuditQuery>,
) -> Result<Response, HqError> {
    let (hq, _) = office.authorize(Operation::ReadAudit).await?;
    let rows = hq.audit_trail(query.subject.as_deref(), query.limit);
    Ok(json(&rows.await?))
}

/// A clerk's PIN set-up, signed by a terminal like an upload; answered
/// with the clerk's record sealed to that terminal (gzip JSON).
pub(super) async fn set_pin(signed: SignedByTerminal) -> Result<Response, HqError> {
    let SignedByTerminal { hq, terminal, body } = signed;
    let request: SetPinRequest = wire::decode(&body)?;
    let snapshot = hq.set_pin(&terminal, &request).await?;
    Ok(super::http::wire_response(&snapshot))
}
