//! The one route table: every route's method, path, OpenAPI description
//! and handler. The router ([`super::router`]) and the OpenAPI document
//! ([`openapi_document`]) are both made from it, so neither can name a
//! route the other lacks.

use std::sync::Arc;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};

use super::Hq;
use super::http::*;
use super::http_back_office as office;
use super::http_campaigns as campaigns;
use super::http_member_money as money;
use crate::admin;
use crate::dashboard::{self};
use crate::figures::Figures;
use crate::openapi::{self, Access, Body, Doc};
use tillcard_protocol::staff::{SetPinRequest, StaffSnapshot};
use tillcard_protocol::wire::{self, ChangesPage, Provisioned, RedeemRequest, UploadAck};

/// One route: its method and path, what the OpenAPI document says of it,
/// and its handler. [`ROUTES`] is the one list both the router and
/// openapi.json are made from.
pub struct Route {
    /// `get` or `post`.
    pub method: &'static str,
    /// The path, with `{name}` parameters.
    pub path: &'static str,
    /// Its documentation.
    pub doc: Doc,
    pub(super) handler: fn() -> MethodRouter<Arc<Hq>>,
}

const fn route(
    method: &'static str,
    path: &'static str,
    doc: Doc,
    handler: fn() -> MethodRouter<Arc<Hq>>,
) -> Route {
    Route {
        method,
        path,
        doc,
        handler,
    }
}

/// A back-office route: the admin token or a dashboard session whose
/// user's role allows the operation (`super::roles::may`).
#[allow(clippy::too_many_arguments, reason = "one row of the table, by name")]
const fn office(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    query: &'static [openapi::Query],
    request: Option<Body>,
    response: Option<Body>,
    errors: &'static [u16],
    handler: fn() -> MethodRouter<Arc<Hq>>,
) -> Route {
    let status = if response.is_some() { 200 } else { 204 };
    route(
        method,
        path,
        Doc {
            summary,
            access: Access::AdminOrSession,
            query,
            request,
            status,
            response,
            errors,
        },
        handler,
    )
}

const NO_QUERY: &[openapi::Query] = &[];
const OFFICE_READ: &[u16] = &[400, 401, 403];
const OFFICE_WRITE: &[u16] = &[400, 401, 403, 404, 409];
const STORE_QUERY: &[openapi::Query] = &[openapi::Query {
    name: "store",
    description: "Only the clerks working at this store",
    format: None,
}];
const AUDIT_QUERY: &[openapi::Query] = &[
    openapi::Query {
        name: "subject",
        description: "Only rows about this subject (store:S001, staff:wang, terminal:<id>, \
            user:<name>, code:<code id>)",
        format: None,
    },
    openapi::Query {
        name: "limit",
        description: "At most this many rows (1 to 1000, the default)",
        format: None,
    },
];
const ADMIN_ERRORS: &[u16] = &[401, 403];
const ADMIN_BODY_ERRORS: &[u16] = &[400, 401, 403];

/// Every route of the API.
pub const ROUTES: &[Route] = &[
    route(
        "get",
        "/health",
        Doc {
            summary: "Whether head office can serve: 200 when its store answers a query",
            access: Access::Public,
            query: NO_QUERY,
            request: None,
            status: 200,
            response: Some(Body::json(openapi::schema::<admin::Health>)),
            errors: &[503],
        },
        || get(health),
    ),
    route(
        "get",
        "/openapi.json",
        Doc {
            summary: "This document",
            access: Access::Public,
            query: NO_QUERY,
            request: None,
            status: 200,
            response: Some(Body::other("application/json")),
            errors: &[],
        },
        || get(openapi_json),
    ),
    route(
        "post",
        "/v1/terminals/redeem",
        Doc {
            summary: "Provision a terminal with a one-time enrollment code (body gzip)",
            access: Access::Public,
            query: NO_QUERY,
            request: Some(Body::gzip_json(openapi::schema::<RedeemRequest>)),
            status: 200,
            response: Some(Body::gzip_json(openapi::schema::<Provisioned>)),
            errors: &[400, 403],
        },
        || post(redeem),
    ),
    route(
        "post",
        tillcard_protocol::registration::REINTRODUCE_PATH,
        Doc {
            summary: "A terminal head office registered before a restore from an older backup registers again with its registration certificate (body gzip)",
            access: Access::Public,
            query: NO_QUERY,
            request: Some(Body::gzip_json(
                openapi::schema::<tillcard_protocol::registration::Reintroduce>,
            )),
            status: 200,
            response: Some(Body::gzip_json(
                openapi::schema::<tillcard_protocol::registration::Reintroduced>,
            )),
            errors: &[400, 403],
        },
        || post(reintroduce),
    ),
    route(
        "post",
        "/v1/batches",
        Doc {
            summary: "Upload a batch of outbox events (idempotent; body gzip)",
            access: Access::Terminal,
            query: NO_QUERY,
            request: Some(Body::gzip_json(openapi::schema::<wire::UploadBatch>)),
            status: 200,
            response: Some(Body::gzip_json(openapi::schema::<UploadAck>)),
            errors: &[400, 401, 403, 409],
        },
        || post(upload),
    ),
    route(
        "get",
        "/v1/changes",
        Doc {
            summary: "The downlink: the page of changes after a cursor",
            access: Access::Terminal,
            query: &[openapi::Query {
                name: "cursor",
                description: "The cursor of the previous page; absent for the first page",
                format: None,
            }],
            request: None,
            status: 200,
            response: Some(Body::gzip_json(openapi::schema::<ChangesPage>)),
            errors: &[400, 401, 403],
        },
        || get(changes),
    ),
    route(
        "post",
        "/v1/staff/pin",
        Doc {
            summary: "A clerk sets their PIN with the one-time setup code (body gzip): \
                the answer is the clerk's record, the PIN hash sealed to the asking terminal",
            access: Access::Terminal,
            query: NO_QUERY,
            request: Some(Body::gzip_json(openapi::schema::<SetPinRequest>)),
            status: 200,
            response: Some(Body::gzip_json(openapi::schema::<StaffSnapshot>)),
            errors: &[400, 401, 403, 404],
        },
        || post(office::set_pin),
    ),
    office(
        "get",
        "/v1/admin/program-versions",
        "Every program version published, oldest first",
        NO_QUERY,
        None,
        Some(Body::json(openapi::list::<tillcard_rules::Program>)),
        OFFICE_READ,
        || get(office::list_programs),
    ),
    office(
        "post",
        "/v1/admin/program-versions",
        "Publish a program version taking effect at its effective_from (in the future); refused with every problem listed",
        NO_QUERY,
        Some(Body::json(openapi::schema::<tillcard_rules::Program>)),
        Some(Body::json(openapi::schema::<tillcard_rules::Program>)),
        OFFICE_WRITE,
        || post(office::publish_program),
    ),
    office(
        "get",
        "/v1/admin/stores",
        "Every store",
        NO_QUERY,
        None,
        Some(Body::json(openapi::list::<admin::StoreView>)),
        OFFICE_READ,
        || get(office::list_stores),
    ),
    office(
        "post",
        "/v1/admin/stores",
        "Create a store",
        NO_QUERY,
        Some(Body::json(openapi::schema::<admin::NewStore>)),
        Some(Body::json(openapi::schema::<admin::StoreView>)),
        OFFICE_WRITE,
        || post(office::create_store),
    ),
    office(
        "post",
        "/v1/admin/stores/{code}",
        "Change a store's name, time zone or address",
        NO_QUERY,
        Some(Body::json(openapi::schema::<admin::StoreChange>)),
        Some(Body::json(openapi::schema::<admin::StoreView>)),
        OFFICE_WRITE,
        || post(office::update_store),
    ),
    office(
        "get",
        "/v1/admin/staff",
        "Every clerk, or a store's",
        STORE_QUERY,
        None,
        Some(Body::json(openapi::list::<admin::StaffView>)),
        OFFICE_READ,
        || get(office::list_staff),
    ),
    office(
        "post",
        "/v1/admin/staff",
        "Create a clerk: the answer holds their one-time setup code (shown once)",
        NO_QUERY,
        Some(Body::json(openapi::schema::<admin::NewStaff>)),
        Some(Body::json(openapi::schema::<admin::SetupCode>)),
        OFFICE_WRITE,
        || post(office::create_staff),
    ),
    office(
        "post",
        "/v1/admin/staff/{staff_id}/deactivate",
        "Deactivate a clerk: refused at sign-in on every terminal after its next sync",
        NO_QUERY,
        None,
        Some(Body::json(openapi::schema::<admin::StaffView>)),
        OFFICE_WRITE,
        || post(office::deactivate_staff),
    ),
    office(
        "post",
        "/v1/admin/staff/{staff_id}/activate",
        "Reactivate a clerk",
        NO_QUERY,
        None,
        Some(Body::json(openapi::schema::<admin::StaffView>)),
        OFFICE_WRITE,
        || post(office::activate_staff),
    ),
    office(
        "post",
        "/v1/admin/staff/{staff_id}/rename",
        "Rename a clerk",
        NO_QUERY,
        Some(Body::json(openapi::schema::<admin::RenameStaff>)),
        Some(Body::json(openapi::schema::<admin::StaffView>)),
        OFFICE_WRITE,
        || post(office::rename_staff),
    ),
    office(
        "post",
        "/v1/admin/staff/{staff_id}/stores",
        "Set the stores a clerk works at (a move between stores)",
        NO_QUERY,
        Some(Body::json(openapi::schema::<admin::StaffStores>)),
        Some(Body::json(openapi::schema::<admin::StaffView>)),
        OFFICE_WRITE,
        || post(office::set_staff_stores),
    ),
    office(
        "post",
        "/v1/admin/staff/{staff_id}/reset-pin",
        "Clear a clerk's PIN and issue a new setup code (shown once)",
        NO_QUERY,
        None,
        Some(Body::json(openapi::schema::<admin::SetupCode>)),
        OFFICE_WRITE,
        || post(office::reset_staff_pin),
    ),
    office(
        "get",
        "/v1/admin/enroll-codes",
        "Every enrollment code: used (when, by which terminal), unused or expired; \
            never the code itself",
        NO_QUERY,
        None,
        Some(Body::json(openapi::list::<admin::EnrollCodeView>)),
        OFFICE_READ,
        || get(office::list_codes),
    ),
    office(
        "post",
        "/v1/admin/enroll-codes",
        "Issue a one-time enrollment code for an existing store (shown once)",
        NO_QUERY,
        Some(Body::json(openapi::schema::<admin::IssueCode>)),
        Some(Body::json(openapi::schema::<admin::IssuedCode>)),
        OFFICE_WRITE,
        || post(office::issue_code),
    ),
    office(
        "get",
        "/v1/admin/campaigns",
        "Every campaign, newest first, with its state and counts (coupons issued, members treated and held back)",
        NO_QUERY,
        None,
        Some(Body::json(
            openapi::list::<crate::campaigns::CampaignRecord>,
        )),
        OFFICE_READ,
        || get(campaigns::list),
    ),
    office(
        "post",
        "/v1/admin/campaigns",
        "Create a campaign: a coupon to a segment over a window, with a per-member count, a budget and a control group (audited); the daily campaigns job issues it",
        NO_QUERY,
        Some(Body::json(
            openapi::schema::<crate::campaigns::CampaignSpec>,
        )),
        Some(Body::json(
            openapi::schema::<crate::campaigns::CampaignRecord>,
        )),
        OFFICE_WRITE,
        || post(campaigns::create),
    ),
    office(
        "get",
        "/v1/admin/campaigns/{code}",
        "A campaign and its figures: issued, redeemed, redemption rate, sales of redeeming orders, buyers and reactivated sleeping members, against the control group",
        NO_QUERY,
        None,
        Some(Body::json(
            openapi::schema::<super::campaigns::CampaignView>,
        )),
        &[400, 401, 403, 404],
        || get(campaigns::show),
    ),
    office(
        "post",
        "/v1/admin/campaigns/{code}/run",
        "Run a campaign now (as the daily job does): members of its segment not reached yet get its coupons or join its control group, up to its budget",
        NO_QUERY,
        None,
        Some(Body::json(openapi::schema::<super::campaigns::CampaignRun>)),
        &[400, 401, 403, 404],
        || post(campaigns::run),
    ),
    office(
        "post",
        "/v1/admin/campaigns/{code}/stop",
        "Stop a campaign for good with the reason (audited); coupons issued stay valid",
        NO_QUERY,
        Some(Body::json(openapi::schema::<admin::StandingChange>)),
        None,
        &[400, 401, 403, 404, 409],
        || post(campaigns::stop),
    ),
    office(
        "get",
        "/v1/admin/terminals",
        "Every terminal: store, registration, last batch, pending events, revoked",
        NO_QUERY,
        None,
        Some(Body::json(openapi::list::<admin::TerminalView>)),
        OFFICE_READ,
        || get(office::list_terminals),
    ),
    office(
        "post",
        "/v1/admin/terminals/{terminal_id}/revoke",
        "Revoke a terminal: its requests are refused from now on",
        NO_QUERY,
        None,
        None,
        &[400, 401, 403, 404],
        || post(office::revoke),
    ),
    office(
        "get",
        "/v1/admin/conflict-queue",
        "The conflicts as a work queue: open ones first (newest first), then closed ones, with their state, assignee and how they closed",
        NO_QUERY,
        None,
        Some(Body::json(openapi::list::<crate::store::ConflictCase>)),
        OFFICE_READ,
        || get(office::conflict_queue),
    ),
    office(
        "post",
        "/v1/admin/conflicts/{member_id}/{conflict_no}/assign",
        "Assign an open conflict to a head-office user (audited)",
        NO_QUERY,
        Some(Body::json(openapi::schema::<admin::AssignConflict>)),
        None,
        &[400, 401, 403, 404, 409],
        || post(office::assign_conflict),
    ),
    office(
        "post",
        "/v1/admin/conflicts/{member_id}/{conflict_no}/resolve",
        "Resolve an open conflict with an action (accept; freeze the member; adjust: book a points adjustment within member money's threshold; merge: a duplicate_phone conflict's member merged into the one it duplicates) and a note (audited)",
        NO_QUERY,
        Some(Body::json(openapi::schema::<admin::ResolveConflict>)),
        None,
        &[400, 401, 403, 404, 409],
        || post(office::resolve_conflict),
    ),
    office(
        "post",
        "/v1/admin/conflicts/{member_id}/{conflict_no}/dismiss",
        "Dismiss an open conflict with the reason (audited)",
        NO_QUERY,
        Some(Body::json(openapi::schema::<admin::StandingChange>)),
        None,
        &[400, 401, 403, 404, 409],
        || post(office::dismiss_conflict),
    ),
    office(
        "get",
        "/v1/admin/dead-letter-queue",
        "The dead letters as a work queue: open ones first (newest first), then dismissed ones, with their state, assignee, the event's kind, wall time and schema version",
        NO_QUERY,
        None,
        Some(Body::json(openapi::list::<crate::store::DeadLetterCase>)),
        OFFICE_READ,
        || get(office::dead_letter_queue),
    ),
    office(
        "post",
        "/v1/admin/dead-letters/{terminal_id}/{seq}/assign",
        "Assign an open dead letter to a head-office user (audited)",
        NO_QUERY,
        Some(Body::json(openapi::schema::<admin::AssignConflict>)),
        None,
        &[400, 401, 403, 404, 409],
        || post(office::assign_dead_letter),
    ),
    office(
        "post",
        "/v1/admin/dead-letters/{terminal_id}/{seq}/dismiss",
        "Dismiss an open dead letter with the reason (audited)",
        NO_QUERY,
        Some(Body::json(openapi::schema::<admin::StandingChange>)),
        None,
        &[400, 401, 403, 404, 409],
        || post(office::dismiss_dead_letter),
    ),
    office(
        "post",
        "/v1/admin/dead-letters/{terminal_id}/{seq}/reapply",
        "Re-apply an open dead letter after the fix, in one transaction through the batch's own path: applied (it leaves the queue) or still_refused (dead-lettered again with the new reason, nothing else changed); audited",
        NO_QUERY,
        None,
        Some(Body::json(openapi::schema::<admin::ReapplyOutcome>)),
        &[400, 401, 403, 404, 409],
        || post(office::reapply_dead_letter),
    ),
    office(
        "get",
        "/v1/admin/flag-queue",
        "The terminal flags as a work queue: open ones first (newest first), then closed ones, with their state, assignee and how they closed",
        NO_QUERY,
        None,
        Some(Body::json(openapi::list::<crate::store::FlagCase>)),
        OFFICE_READ,
        || get(office::flag_queue),
    ),
    office(
        "post",
        "/v1/admin/terminal-flags/{id}/assign",
        "Assign an open terminal flag to a head-office user (audited)",
        NO_QUERY,
        Some(Body::json(openapi::schema::<admin::AssignConflict>)),
        None,
        &[400, 401, 403, 404, 409],
        || post(office::assign_flag),
    ),
    office(
        "post",
        "/v1/admin/terminal-flags/{id}/resolve",
        "Resolve an open terminal flag: accept (a false alarm) or revoke (the terminal revoked, audited on it), with a note (audited)",
        NO_QUERY,
        Some(Body::json(openapi::schema::<admin::ResolveFlag>)),
        None,
        &[400, 401, 403, 404, 409],
        || post(office::resolve_flag),
    ),
    office(
        "post",
        "/v1/admin/terminal-flags/{id}/dismiss",
        "Dismiss an open terminal flag with the reason (audited)",
        NO_QUERY,
        Some(Body::json(openapi::schema::<admin::StandingChange>)),
        None,
        &[400, 401, 403, 404, 409],
        || post(office::dismiss_flag),
    ),
    office(
        "post",
        "/v1/admin/members/{member_id}/freeze",
        "Freeze a member: they buy and earn, but terminals redeem no points or stored value for them after their next sync (audited with the reason)",
        NO_QUERY,
        Some(Body::json(openapi::schema::<admin::StandingChange>)),
        None,
        &[400, 401, 403, 404],
        || post(office::freeze_member),
    ),
    office(
        "post",
        "/v1/admin/members/{member_id}/merge",
        "Merge a member into another of the same phone (audited on both with the reason): the ledger moves to the survivor, the merged member is marked merged into it, and every terminal learns both after its next sync",
        NO_QUERY,
        Some(Body::json(openapi::schema::<admin::MergeMembers>)),
        None,
        &[400, 401, 403, 404, 409],
        || post(office::merge_members),
    ),
    office(
        "post",
        "/v1/admin/members/{member_id}/reissue-card",
        "Re-issue a member's card (audited with the reason): the serial raised, the card before revoked at every terminal after its next sync, the new serial sent down with the member; the terminal that next serves them prints the new card",
        NO_QUERY,
        Some(Body::json(openapi::schema::<admin::StandingChange>)),
        Some(Body::json(openapi::schema::<admin::ReissuedCard>)),
        &[400, 401, 403, 404, 409],
        || post(office::reissue_card),
    ),
    office(
        "post",
        "/v1/admin/members/{member_id}/tags",
        "Set a member's tags (replacing theirs), shown to clerks at every terminal after its next sync (audited); answers the tags kept",
        NO_QUERY,
        Some(Body::json(openapi::schema::<admin::MemberTags>)),
        Some(Body::json(openapi::schema::<admin::MemberTags>)),
        &[400, 401, 403, 404],
        || post(office::set_member_tags),
    ),
    office(
        "post",
        "/v1/admin/members/{member_id}/unfreeze",
        "Unfreeze a member (audited with the reason)",
        NO_QUERY,
        Some(Body::json(openapi::schema::<admin::StandingChange>)),
        None,
        &[400, 401, 403, 404],
        || post(office::unfreeze_member),
    ),
    // Member money: a cash-out and a points adjustment, each with a
    // reason, above its threshold a second user's approval.
    office(
        "post",
        "/v1/admin/members/{member_id}/cash-out",
        "Cash out a member's stored value (退卡): pay back the refundable principal (amount_fen, all of it when absent), the bonus that goes with it forfeited; above the threshold a request waits for a second user's approval (audited with the reason)",
        NO_QUERY,
        Some(Body::json(openapi::schema::<admin::CashOut>)),
        Some(Body::json(openapi::schema::<admin::MoneyOutcome>)),
        &[400, 401, 403, 404, 409],
        || post(money::cash_out),
    ),
    office(
        "post",
        "/v1/admin/members/{member_id}/points-adjustment",
        "Add or take away a member's points; above the threshold either way a request waits for a second user's approval (audited with the reason)",
        NO_QUERY,
        Some(Body::json(openapi::schema::<admin::PointsAdjustment>)),
        Some(Body::json(openapi::schema::<admin::MoneyOutcome>)),
        &[400, 401, 403, 404, 409],
        || post(money::adjust_points),
    ),
    office(
        "get",
        "/v1/admin/member-money/requests",
        "Member-money requests: the pending ones first (newest first), then the approved and rejected ones",
        NO_QUERY,
        None,
        Some(Body::json(
            openapi::list::<crate::store::member_money::MoneyRequest>,
        )),
        OFFICE_READ,
        || get(money::requests),
    ),
    office(
        "post",
        "/v1/admin/member-money/requests/{request_no}/approve",
        "Approve another user's pending request: booked on the balance held now, refused above it (the request stays pending)",
        NO_QUERY,
        None,
        Some(Body::json(openapi::schema::<admin::MoneyOutcome>)),
        &[400, 401, 403, 404, 409],
        || post(money::approve),
    ),
    office(
        "post",
        "/v1/admin/member-money/requests/{request_no}/reject",
        "Reject another user's pending request with the reason (audited)",
        NO_QUERY,
        Some(Body::json(openapi::schema::<admin::StandingChange>)),
        None,
        &[400, 401, 403, 404, 409],
        || post(money::reject),
    ),
    office(
        "get",
        "/v1/admin/member-money/thresholds",
        "The thresholds above which a cash-out or an adjustment waits for a second approver",
        NO_QUERY,
        None,
        Some(Body::json(openapi::schema::<admin::MoneyThresholds>)),
        OFFICE_READ,
        || get(money::thresholds),
    ),
    office(
        "post",
        "/v1/admin/member-money/thresholds",
        "Set the thresholds (audited)",
        NO_QUERY,
        Some(Body::json(openapi::schema::<admin::MoneyThresholds>)),
        None,
        OFFICE_WRITE,
        || post(money::set_thresholds),
    ),
    office(
        "get",
        "/v1/admin/users",
        "Every head-office user and their role",
        NO_QUERY,
        None,
        Some(Body::json(openapi::list::<admin::UserView>)),
        OFFICE_READ,
        || get(office::list_users),
    ),
    office(
        "post",
        "/v1/admin/users",
        "Create a head-office user, or set a new password (and role)",
        NO_QUERY,
        Some(Body::json(openapi::schema::<admin::NewUser>)),
        None,
        OFFICE_WRITE,
        || post(office::save_user),
    ),
    office(
        "post",
        "/v1/admin/users/{username}/role",
        "Change a head-office user's role",
        NO_QUERY,
        Some(Body::json(openapi::schema::<admin::UserRole>)),
        None,
        OFFICE_WRITE,
        || post(office::set_user_role),
    ),
    office(
        "get",
        "/v1/admin/audit",
        "The audit trail of back-office changes, newest first",
        AUDIT_QUERY,
        None,
        Some(Body::json(openapi::list::<admin::AuditView>)),
        OFFICE_READ,
        || get(office::audit),
    ),
    route(
        "post",
        "/v1/admin/members/{member_id}/erase",
        Doc {
            summary: "Erase a member's personal data everywhere",
            access: Access::Admin,
            query: NO_QUERY,
            request: None,
            status: 200,
            response: Some(Body::json(openapi::schema::<admin::Erased>)),
            errors: &[400, 401, 403, 404],
        },
        || post(erase),
    ),
    route(
        "post",
        "/v1/admin/jobs/tier-evaluation",
        Doc {
            summary: "Run the chain-wide tier evaluation now",
            access: Access::Admin,
            query: NO_QUERY,
            request: None,
            status: 200,
            response: Some(Body::json(openapi::schema::<admin::TierJobDone>)),
            errors: ADMIN_ERRORS,
        },
        || post(job_tiers),
    ),
    route(
        "post",
        "/v1/admin/jobs/expiry",
        Doc {
            summary: "Run points expiry now",
            access: Access::Admin,
            query: NO_QUERY,
            request: None,
            status: 200,
            response: Some(Body::json(openapi::schema::<admin::ExpiryJobDone>)),
            errors: ADMIN_ERRORS,
        },
        || post(job_expiry),
    ),
    route(
        "get",
        "/v1/admin/conflicts",
        Doc {
            summary: "Conflicts for review",
            access: Access::Admin,
            query: NO_QUERY,
            request: None,
            status: 200,
            response: Some(Body::json(openapi::list::<admin::ConflictForReview>)),
            errors: ADMIN_ERRORS,
        },
        || get(conflicts),
    ),
    route(
        "get",
        "/v1/admin/jobs",
        Doc {
            summary: "The daily jobs' newest runs (job, business day, outcome, times, holder)",
            access: Access::AdminOrSession,
            query: NO_QUERY,
            request: None,
            status: 200,
            response: Some(Body::json(openapi::list::<crate::store::JobRunRecord>)),
            errors: ADMIN_ERRORS,
        },
        || get(job_runs),
    ),
    route(
        "post",
        "/v1/admin/revocations",
        Doc {
            summary: "Revoke a member or a card serial (sent down to every terminal)",
            access: Access::Admin,
            query: NO_QUERY,
            request: Some(Body::json(openapi::schema::<admin::Revocation>)),
            status: 204,
            response: None,
            errors: ADMIN_BODY_ERRORS,
        },
        || post(revoke_card),
    ),
    route(
        "get",
        "/v1/admin/figures",
        Doc {
            summary: "The chain's figures (the dashboard's data)",
            access: Access::AdminOrSession,
            query: &[openapi::Query {
                name: "at",
                description: "Compute as of this moment (RFC 3339) instead of now",
                format: Some("date-time"),
            }],
            request: None,
            status: 200,
            response: Some(Body::json(openapi::schema::<Figures>)),
            errors: ADMIN_BODY_ERRORS,
        },
        || get(figures_json),
    ),
    route(
        "get",
        "/v1/admin/dead-letters",
        Doc {
            summary: "Every dead-lettered event with its poison code and detail",
            access: Access::AdminOrSession,
            query: NO_QUERY,
            request: None,
            status: 200,
            response: Some(Body::json(openapi::list::<admin::DeadLetter>)),
            errors: ADMIN_ERRORS,
        },
        || get(dead_letters),
    ),
    route(
        "get",
        "/v1/admin/terminal-flags",
        Doc {
            summary: "Every suspicion recorded about a terminal",
            access: Access::AdminOrSession,
            query: NO_QUERY,
            request: None,
            status: 200,
            response: Some(Body::json(openapi::list::<admin::TerminalFlag>)),
            errors: ADMIN_ERRORS,
        },
        || get(terminal_flags),
    ),
    route(
        "get",
        "/metrics",
        Doc {
            summary: "Prometheus metrics (OpenMetrics text): HTTP requests by route and \
                status, batches and events ingested, dead letters, conflicts, refusals, \
                ingest latency, per-terminal acked seq, pending events and lag, bad \
                signatures, throttled sign-ins. With a metrics token configured, only with \
                Authorization: Bearer <metrics token> (else 401 metrics_token_required); \
                without one, only to loopback clients not forwarded by a proxy (else 403 \
                metrics_not_local).",
            access: Access::Public,
            query: NO_QUERY,
            request: None,
            status: 200,
            response: Some(Body::other(crate::metrics::CONTENT_TYPE)),
            errors: &[401, 403],
        },
        || get(metrics),
    ),
    route(
        "get",
        "/dashboard",
        Doc {
            summary: "The dashboard page (its script reads /v1/admin/figures); \
                without a session, a redirect to the login page",
            access: Access::Session,
            query: NO_QUERY,
            request: None,
            status: 200,
            response: Some(Body::other("text/html")),
            errors: &[303],
        },
        || get(dashboard_page),
    ),
    route(
        "get",
        "/dashboard/login",
        Doc {
            summary: "The login page",
            access: Access::Public,
            query: &[
                openapi::Query {
                    name: "lang",
                    description: "zh or en",
                    format: None,
                },
                openapi::Query {
                    name: "signed_out",
                    description: "Present after a sign-out: the page says so",
                    format: None,
                },
                openapi::Query {
                    name: "next",
                    description: "A console page (/console/...) to go back to after sign-in",
                    format: None,
                },
            ],
            request: None,
            status: 200,
            response: Some(Body::other("text/html")),
            errors: &[],
        },
        || get(login_page),
    ),
    route(
        "post",
        "/dashboard/login",
        Doc {
            summary: "Log in (form: username, password, lang): a redirect to the \
                dashboard with the session cookie (HttpOnly, Secure, SameSite=Strict). Five \
                consecutive failures lock the user name for 5 minutes; five failures from one \
                address in a minute, or 100 from all addresses, refuse sign-ins (429 with \
                Retry-After) until that minute ends.",
            access: Access::Public,
            query: NO_QUERY,
            request: Some(Body::form(openapi::schema::<admin::LoginForm>)),
            status: 303,
            response: None,
            errors: &[400, 401, 415, 429],
        },
        || post(login),
    ),
    route(
        "post",
        "/dashboard/logout",
        Doc {
            summary: "Log out: ends the session, clears the cookie",
            access: Access::Public,
            query: NO_QUERY,
            request: None,
            status: 303,
            response: None,
            errors: &[],
        },
        || post(logout),
    ),
    route(
        "get",
        "/dashboard/assets/dashboard.js",
        Doc {
            summary: "The dashboard script (served by head office; no CDN)",
            access: Access::Public,
            query: NO_QUERY,
            request: None,
            status: 200,
            response: Some(Body::other("text/javascript")),
            errors: &[],
        },
        || get(|| async { asset("text/javascript; charset=utf-8", dashboard::DASHBOARD_JS) }),
    ),
    route(
        "get",
        "/dashboard/assets/dashboard.css",
        Doc {
            summary: "The dashboard stylesheet",
            access: Access::Public,
            query: NO_QUERY,
            request: None,
            status: 200,
            response: Some(Body::other("text/css")),
            errors: &[],
        },
        || get(|| async { asset("text/css; charset=utf-8", dashboard::DASHBOARD_CSS) }),
    ),
];

/// The OpenAPI document of [`ROUTES`] (what `GET /openapi.json` serves and
/// `sync/hq/openapi.json` holds).
pub fn openapi_document() -> serde_json::Value {
    openapi::document(ROUTES.iter().map(|r| (r.method, r.path, &r.doc)))
}

static OPENAPI_TEXT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    serde_json::to_string_pretty(&openapi_document()).unwrap_or_default()
});

async fn openapi_json() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        OPENAPI_TEXT.as_str(),
    )
        .into_response()
}
