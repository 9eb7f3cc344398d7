//! The console's forms (`POST /console/...`): each checks the session, the
//! CSRF token and the role ([`may`](crate::service::roles::may)), calls the
//! same operation on [`Hq`] as the admin API with the session's user as the
//! actor, and answers with a redirect to its page (POST/redirect/GET; htmx
//! follows it and swaps `<main>`). What the service refuses is shown on
//! that page; a code it made is shown there once.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use tillcard_protocol::staff::StaffRole;
use tillcard_protocol::wire::TerminalId;
use uuid::Uuid;

use super::{CSRF_FIELD, CSRF_HEADER, Flash, Session, forbidden, lang, redirect, to_login};
use crate::admin;
use crate::dashboard::Lang;
use crate::error::HqError;
use crate::service::Hq;
use crate::service::roles::{Operation, Role};

/// A form accepted: who sent it, in which language, and its fields (in
/// order; a field may repeat).
struct Posted {
    session: Session,
    lang: Lang,
    fields: Vec<(String, String)>,
}

impl Posted {
    fn field(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.trim())
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect()
    }
}

/// Equal in time independent of where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The session, CSRF token and role check every form passes first; the
/// answer to send instead when one fails.
async fn accept(
    hq: &Hq,
    headers: &HeaderMap,
    body: &[u8],
    back: &str,
    operation: Operation,
) -> Result<Result<Posted, Response>, HqError> {
    let lang = lang(headers, None);
    let Some(session) = super::session(hq, headers).await? else {
        return Ok(Err(to_login(back, lang)));
    };
    let fields: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let sent = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| {
            fields
                .iter()
                .find(|(k, _)| k == CSRF_FIELD)
                .map(|(_, v)| v.clone())
        })
        .unwrap_or_default();
    if !same(&sent, &session.csrf) {
        return Ok(Err(forbidden(lang, &session, "csrf_refused")?));
    }
    if !session.may(operation) {
        return Ok(Err(forbidden(lang, &session, "forbidden_detail")?));
    }
    Ok(Ok(Posted {
        session,
        lang,
        fields,
    }))
}

/// Keeps what the page after the redirect shows once, and redirects there.
/// A refusal is shown on the page; a failure of head office itself is 500.
fn finish(
    posted: &Posted,
    back: &str,
    outcome: Result<Flash, HqError>,
) -> Result<Response, HqError> {
    let flash = match outcome {
        Ok(flash) => flash,
        Err(e @ (HqError::Internal(_) | HqError::Unavailable(_))) => return Err(e),
        Err(e) => Flash {
            error: Some(e.to_string()),
            ..Flash::default()
        },
    };
    super::FLASHES.put(&posted.session.key, flash);
    Ok(redirect(back))
}

fn notice(key: &'static str) -> Flash {
    Flash {
        notice: Some(key),
        ..Flash::default()
    }
}

/// The form's answer before any field is read.
macro_rules! accept_or_answer {
    ($hq:expr, $headers:expr, $body:expr, $back:expr, $op:expr) => {
        match accept(&$hq, &$headers, &$body, $back, $op).await? {
            Ok(posted) => posted,
            Err(answer) => return Ok(answer),
        }
    };
}

pub(super) async fn create_store(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, HqError> {
    const BACK: &str = "/console/stores";
    let posted = accept_or_answer!(hq, headers, body, BACK, Operation::WriteStores);
    let request = admin::NewStore {
        code: posted.field("code").to_string(),
        name: posted.field("name").to_string(),
        time_zone: posted.field("time_zone").to_string(),
        address: posted.field("address").to_string(),
    };
    let outcome = hq
        .create_store(&posted.session.actor, &request)
        .await
        .map(|_| notice("store_created"));
    finish(&posted, BACK, outcome)
}

pub(super) async fn create_staff(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, HqError> {
    const BACK: &str = "/console/staff";
    let posted = accept_or_answer!(hq, headers, body, BACK, Operation::WriteStaff);
    let outcome = match StaffRole::parse(posted.field("role")) {
        None => Err(HqError::BadRequest("role: cashier or manager".into())),
        Some(role) => {
            let staff_id = Some(posted.field("staff_id").to_string()).filter(|s| !s.is_empty());
            let request = admin::NewStaff {
                staff_id,
                display_name: posted.field("display_name").to_string(),
                role,
                stores: posted.all("stores"),
            };
            hq.create_staff(&posted.session.actor, &request)
                .await
                .map(|made| Flash {
                    notice: Some("staff_created"),
                    error: None,
                    secret: Some(made.setup_code),
                })
        }
    };
    finish(&posted, BACK, outcome)
}

pub(super) async fn staff_active(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
    Path(staff_id): Path<String>,
    body: Bytes,
) -> Result<Response, HqError> {
    const BACK: &str = "/console/staff";
    let posted = accept_or_answer!(hq, headers, body, BACK, Operation::WriteStaff);
    let active = posted.field("active") == "true";
    let outcome = hq
        .set_staff_active(&posted.session.actor, &staff_id, active)
        .await
        .map(|_| notice("staff_changed"));
    finish(&posted, BACK, outcome)
}

pub(super) async fn reset_pin(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
    Path(staff_id): Path<String>,
    body: Bytes,
) -> Result<Response, HqError> {
    const BACK: &str = "/console/staff";
    let posted = accept_or_answer!(hq, headers, body, BACK, Operation::WriteStaff);
    let outcome = hq
        .reset_staff_pin(&posted.session.actor, &staff_id)
        .await
        .map(|made| Flash {
            notice: Some("pin_reset"),
            error: None,
            secret: Some(made.setup_code),
        });
    finish(&posted, BACK, outcome)
}

pub(super) async fn staff_stores(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
    Path(staff_id): Path<String>,
    body: Bytes,
) -> Result<Response, HqError> {
    const BACK: &str = "/console/staff";
    let posted = accept_or_answer!(hq, headers, body, BACK, Operation::WriteStaff);
    let outcome = hq
        .set_staff_stores(&posted.session.actor, &staff_id, &posted.all("stores"))
        .await
        .map(|_| notice("staff_changed"));
    finish(&posted, BACK, outcome)
}

pub(super) async fn issue_code(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, HqError> {
    const BACK: &str = "/console/codes";
    let posted = accept_or_answer!(hq, headers, body, BACK, Operation::WriteTerminals);
    let days = posted.field("expires_in_days");
    let outcome = match (days.is_empty(), days.parse::<u32>()) {
        (false, Err(_)) => Err(HqError::BadRequest(
            "expires_in_days: a whole number of days".into(),
        )),
        (empty, parsed) => {
            let days = if empty { None } else { parsed.ok() };
            hq.issue_enroll_code(&posted.session.actor, posted.field("store"), days)
                .await
                .map(|issued| Flash {
                    notice: Some("code_issued"),
                    error: None,
                    secret: Some(issued.code),
                })
        }
    };
    finish(&posted, BACK, outcome)
}

pub(super) async fn revoke(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
    Path(terminal_id): Path<String>,
    body: Bytes,
) -> Result<Response, HqError> {
    const BACK: &str = "/console/terminals";
    let posted = accept_or_answer!(hq, headers, body, BACK, Operation::WriteTerminals);
    let outcome = if posted.field("confirm") != "yes" {
        Err(HqError::BadRequest(
            super::text::strings(posted.lang)
                .get("confirm_needed")
                .copied()
                .unwrap_or_default()
                .to_string(),
        ))
    } else {
        match Uuid::parse_str(&terminal_id) {
            Err(_) => Err(HqError::NotFound),
            Ok(id) => hq
                .revoke_terminal(&posted.session.actor, TerminalId(id))
                .await
                .map(|()| notice("terminal_revoked")),
        }
    };
    finish(&posted, BACK, outcome)
}

pub(super) async fn save_user(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, HqError> {
    const BACK: &str = "/console/users";
    let posted = accept_or_answer!(hq, headers, body, BACK, Operation::WriteUsers);
    let outcome = match Role::parse(posted.field("role")) {
        None => Err(HqError::BadRequest("role: unknown".into())),
        Some(role) => hq
            .save_user(
                &posted.session.actor,
                posted.field("username"),
                // A password is taken as typed, spaces included.
                posted
                    .fields
                    .iter()
                    .find(|(k, _)| k == "password")
                    .map_or("", |(_, v)| v.as_str()),
                Some(role),
            )
            .await
            .map(|()| notice("user_saved")),
    };
    finish(&posted, BACK, outcome)
}

pub(super) async fn user_role(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
    Path(username): Path<String>,
    body: Bytes,
) -> Result<Response, HqError> {
    const BACK: &str = "/console/users";
    let posted = accept_or_answer!(hq, headers, body, BACK, Operation::WriteUsers);
    let outcome = match Role::parse(posted.field("role")) {
        None => Err(HqError::BadRequest("role: unknown".into())),
        Some(role) => hq
            .set_user_role(&posted.session.actor, &username, role)
            .await
            .map(|()| notice("user_saved")),
    };
    finish(&posted, BACK, outcome)
}
