//! The console's forms (`POST /console/...`): each checks the session, the
//! CSRF token and the role ([`may`](crate::service::roles::may)), calls the
//! same operation on [`Hq`] as the admin API with the session's user as the
//! actor, and answers with a redirect to its page (POST/redirect/GET; htmx
//! follows it and swaps `<main>`). What the service refuses is shown on
//! that page; a code it made is shown there once.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Path, Request};
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
pub(super) struct Posted {
    pub(super) session: Session,
    pub(super) lang: Lang,
    fields: Vec<(String, String)>,
}

impl Posted {
    pub(super) fn field(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.trim())
    }

    pub(super) fn all(&self, name: &str) -> Vec<String> {
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
pub(super) async fn accept(
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
async fn finish(
    hq: &Hq,
    posted: &Posted,
    back: &str,
    outcome: Result<Flash, HqError>,
) -> Result<Response, HqError> {
    let flash = match outcome {
        Ok(flash) => flash,
        Err(e @ (HqError::Internal(_) | HqError::Unavailable(_))) => return Err(e),
        Err(e) => Flash {
            error: Some(e.to_string()),
            error_code: Some(e.code().to_owned()),
            ..Flash::default()
        },
    };
    super::keep_flash(hq, &posted.session, &flash).await?;
    Ok(redirect(back))
}

pub(super) fn notice(key: &'static str) -> Flash {
    Flash {
        notice: Some(key.to_owned()),
        ..Flash::default()
    }
}

/// A notice with a code the page after the redirect shows this once.
fn shown_once(key: &'static str, secret: String) -> Flash {
    Flash {
        notice: Some(key.to_owned()),
        error: None,
        error_code: None,
        secret: Some(secret),
        detail: None,
    }
}

/// The forms of one page: the page their answers redirect to, and the
/// operation the user's role must allow.
#[derive(Debug, Clone, Copy)]
pub(super) struct FormsOf {
    pub(super) back: &'static str,
    pub(super) operation: Operation,
}

const STORES: FormsOf = FormsOf {
    back: "/console/stores",
    operation: Operation::WriteStores,
};
const STAFF: FormsOf = FormsOf {
    back: "/console/staff",
    operation: Operation::WriteStaff,
};
const CODES: FormsOf = FormsOf {
    back: "/console/codes",
    operation: Operation::WriteTerminals,
};
const TERMINALS: FormsOf = FormsOf {
    back: "/console/terminals",
    operation: Operation::WriteTerminals,
};
const MEMBERS: FormsOf = FormsOf {
    back: "/console/members",
    operation: Operation::MemberCare,
};
const USERS: FormsOf = FormsOf {
    back: "/console/users",
    operation: Operation::WriteUsers,
};

/// A form sent to the console: head office, the request's headers (the
/// session cookie, the CSRF header) and the url-encoded body. An extractor
/// that reads the body, so it comes last among a handler's arguments.
pub(super) struct Submission {
    hq: Arc<Hq>,
    headers: HeaderMap,
    body: Bytes,
}

impl FromRequest<Arc<Hq>> for Submission {
    /// A body that cannot be read, as `Bytes` answers it.
    type Rejection = BytesRejection;

    async fn from_request(request: Request, hq: &Arc<Hq>) -> Result<Self, Self::Rejection> {
        let headers = request.headers().clone();
        let body = Bytes::from_request(request, hq).await?;
        Ok(Submission {
            hq: Arc::clone(hq),
            headers,
            body,
        })
    }
}

impl Submission {
    /// Head office, the request's headers and its body, for a form that
    /// answers with a page of its own rather than a redirect.
    pub(super) fn parts(&self) -> (&Hq, &HeaderMap, &[u8]) {
        (&self.hq, &self.headers, &self.body)
    }

    /// Every form's steps: [`accept`] (session, CSRF token, the page's
    /// operation), then `act` with the accepted form, then [`finish`]: what
    /// `act` made or refused shown on the page after the redirect.
    pub(super) async fn submit(
        &self,
        page: FormsOf,
        act: impl AsyncFnOnce(&Hq, &Posted) -> Result<Flash, HqError>,
    ) -> Result<Response, HqError> {
        let FormsOf { back, operation } = page;
        let posted = match accept(&self.hq, &self.headers, &self.body, back, operation).await? {
            Ok(posted) => posted,
            Err(answer) => return Ok(answer),
        };
        let outcome = act(&self.hq, &posted).await;
        finish(&self.hq, &posted, back, outcome).await
    }
}

pub(super) async fn create_store(form: Submission) -> Result<Response, HqError> {
    form.submit(STORES, async |hq, posted| {
        let request = admin::NewStore {
            code: posted.field("code").to_string(),
            name: posted.field("name").to_string(),
            time_zone: posted.field("time_zone").to_string(),
            address: posted.field("address").to_string(),
        };
        hq.create_store(&posted.session.actor, &request)
            .await
            .map(|_| notice("store_created"))
    })
    .await
}

pub(super) async fn create_staff(form: Submission) -> Result<Response, HqError> {
    form.submit(STAFF, async |hq, posted| {
        let Some(role) = StaffRole::parse(posted.field("role")) else {
            return Err(HqError::BadRequest("role: cashier or manager".into()));
        };
        let staff_id = Some(posted.field("staff_id").to_string()).filter(|s| !s.is_empty());
        let request = admin::NewStaff {
            staff_id,
            display_name: posted.field("display_name").to_string(),
            role,
            stores: posted.all("stores"),
        };
        hq.create_staff(&posted.session.actor, &request)
            .await
            .map(|made| shown_once("staff_created", made.setup_code))
    })
    .await
}

pub(super) async fn staff_active(
    Path(staff_id): Path<String>,
    form: Submission,
) -> Result<Response, HqError> {
    form.submit(STAFF, async |hq, posted| {
        let active = posted.field("active") == "true";
        hq.set_staff_active(&posted.session.actor, &staff_id, active)
            .await
            .map(|_| notice("staff_changed"))
    })
    .await
}

pub(super) async fn reset_pin(
    Path(staff_id): Path<String>,
    form: Submission,
) -> Result<Response, HqError> {
    form.submit(STAFF, async |hq, posted| {
        hq.reset_staff_pin(&posted.session.actor, &staff_id)
            .await
            .map(|made| shown_once("pin_reset", made.setup_code))
    })
    .await
}

pub(super) async fn staff_stores(
    Path(staff_id): Path<String>,
    form: Submission,
) -> Result<Response, HqError> {
    form.submit(STAFF, async |hq, posted| {
        hq.set_staff_stores(&posted.session.actor, &staff_id, &posted.all("stores"))
            .await
            .map(|_| notice("staff_changed"))
    })
    .await
}

pub(super) async fn issue_code(form: Submission) -> Result<Response, HqError> {
    form.submit(CODES, async |hq, posted| {
        let days = match posted.field("expires_in_days") {
            "" => None,
            typed => Some(typed.parse::<u32>().map_err(|_| {
                HqError::BadRequest("expires_in_days: a whole number of days".into())
            })?),
        };
        hq.issue_enroll_code(&posted.session.actor, posted.field("store"), days)
            .await
            .map(|issued| shown_once("code_issued", issued.code))
    })
    .await
}

pub(super) async fn revoke(
    Path(terminal_id): Path<String>,
    form: Submission,
) -> Result<Response, HqError> {
    form.submit(TERMINALS, async |hq, posted| {
        if posted.field("confirm") != "yes" {
            return Err(HqError::BadRequest(
                super::text::strings(posted.lang)
                    .get("confirm_needed")
                    .copied()
                    .unwrap_or_default()
                    .to_string(),
            ));
        }
        let id = Uuid::parse_str(&terminal_id).map_err(|_| HqError::NotFound)?;
        hq.revoke_terminal(&posted.session.actor, TerminalId(id))
            .await
            .map(|()| notice("terminal_revoked"))
    })
    .await
}

/// Member care: a member's tags, comma-separated (`,` or `，`).
pub(super) async fn member_tags(
    Path(member_id): Path<String>,
    form: Submission,
) -> Result<Response, HqError> {
    form.submit(MEMBERS, async |hq, posted| {
        let id = Uuid::parse_str(&member_id).map_err(|_| HqError::NotFound)?;
        let tags: Vec<String> = posted
            .field("tags")
            .split([',', '，'])
            .map(str::to_string)
            .collect();
        hq.set_member_tags(
            &posted.session.actor,
            tillcard_rules::ids::MemberId(id),
            &tags,
        )
        .await
        .map(|_| notice("member_tags_saved"))
    })
    .await
}

/// Member care: freeze (`frozen=yes`) or unfreeze a member, with a reason.
pub(super) async fn member_frozen(
    Path(member_id): Path<String>,
    form: Submission,
) -> Result<Response, HqError> {
    form.submit(MEMBERS, async |hq, posted| {
        let id = Uuid::parse_str(&member_id).map_err(|_| HqError::NotFound)?;
        let frozen = posted.field("frozen") == "yes";
        hq.set_member_frozen(
            &posted.session.actor,
            tillcard_rules::ids::MemberId(id),
            frozen,
            posted.field("reason"),
        )
        .await
        .map(|()| {
            notice(if frozen {
                "member_frozen"
            } else {
                "member_unfrozen"
            })
        })
    })
    .await
}

/// Member care: re-issue a member's card, with a reason.
pub(super) async fn member_reissue_card(
    Path(member_id): Path<String>,
    form: Submission,
) -> Result<Response, HqError> {
    form.submit(MEMBERS, async |hq, posted| {
        let id = Uuid::parse_str(&member_id).map_err(|_| HqError::NotFound)?;
        hq.reissue_card(
            &posted.session.actor,
            tillcard_rules::ids::MemberId(id),
            posted.field("reason"),
        )
        .await
        .map(|_| notice("card_reissued"))
    })
    .await
}

/// Member care: merge a member into another of the same phone (`into`,
/// a member id), with a reason.
pub(super) async fn member_merge(
    Path(member_id): Path<String>,
    form: Submission,
) -> Result<Response, HqError> {
    form.submit(MEMBERS, async |hq, posted| {
        let id = Uuid::parse_str(&member_id).map_err(|_| HqError::NotFound)?;
        let into = Uuid::parse_str(posted.field("into").trim()).map_err(|_| {
            HqError::Refused(
                axum::http::StatusCode::NOT_FOUND,
                "unknown_member",
                "no such member (or erased)".into(),
            )
        })?;
        hq.merge_members(
            &posted.session.actor,
            tillcard_rules::ids::MemberId(id),
            tillcard_rules::ids::MemberId(into),
            posted.field("reason"),
        )
        .await
        .map(|()| notice("members_merged"))
    })
    .await
}

const CONFLICTS: FormsOf = FormsOf {
    back: "/console/conflicts",
    operation: Operation::MemberCare,
};

fn conflict_id(member_id: &str, number: i64) -> Result<crate::store::ConflictId, HqError> {
    let member = Uuid::parse_str(member_id).map_err(|_| HqError::NotFound)?;
    Ok(crate::store::ConflictId {
        member: tillcard_rules::ids::MemberId(member),
        number,
    })
}

/// Assigns an open conflict to the user chosen.
pub(super) async fn assign_conflict(
    Path((member_id, number)): Path<(String, i64)>,
    form: Submission,
) -> Result<Response, HqError> {
    form.submit(CONFLICTS, async |hq, posted| {
        let id = conflict_id(&member_id, number)?;
        hq.assign_conflict(&posted.session.actor, id, posted.field("assignee"))
            .await
            .map(|()| notice("conflict_assigned"))
    })
    .await
}

/// Closes an open conflict: resolved with `accept` or `freeze`, or
/// dismissed, with the note as its reason.
pub(super) async fn close_conflict(
    Path((member_id, number)): Path<(String, i64)>,
    form: Submission,
) -> Result<Response, HqError> {
    use crate::service::conflicts::Resolution;
    form.submit(CONFLICTS, async |hq, posted| {
        let id = conflict_id(&member_id, number)?;
        let actor = &posted.session.actor;
        let note = posted.field("note");
        match posted.field("action") {
            "dismiss" => hq
                .dismiss_conflict(actor, id, note)
                .await
                .map(|()| notice("conflict_dismissed_notice")),
            "freeze" => hq
                .resolve_conflict(actor, id, Resolution::Freeze, None, note)
                .await
                .map(|()| notice("conflict_resolved_notice")),
            "accept" => hq
                .resolve_conflict(actor, id, Resolution::Accept, None, note)
                .await
                .map(|()| notice("conflict_resolved_notice")),
            "merge" => hq
                .resolve_conflict(actor, id, Resolution::Merge, None, note)
                .await
                .map(|()| notice("conflict_resolved_notice")),
            "adjust" => {
                let points = posted.field("points").trim().parse::<i64>().map_err(|_| {
                    HqError::Refused(
                        axum::http::StatusCode::BAD_REQUEST,
                        "invalid_points",
                        "points: a whole number".into(),
                    )
                })?;
                hq.resolve_conflict(actor, id, Resolution::Adjust, Some(points), note)
                    .await
                    .map(|()| notice("conflict_resolved_notice"))
            }
            _ => Err(HqError::BadRequest(
                "action: accept, freeze, adjust, merge or dismiss".into(),
            )),
        }
    })
    .await
}

/// Acknowledges an open walk-in sale returned twice (whoever works the
/// conflicts may).
pub(super) async fn acknowledge_walk_in_return(
    Path(flag_no): Path<i64>,
    form: Submission,
) -> Result<Response, HqError> {
    form.submit(CONFLICTS, async |hq, posted| {
        hq.acknowledge_walk_in_return(&posted.session.actor, flag_no)
            .await
            .map(|()| notice("walk_in_return_acknowledged_notice"))
    })
    .await
}

const REVIEW: FormsOf = FormsOf {
    back: "/console/conflicts",
    operation: Operation::WriteTerminals,
};

fn dead_letter(terminal_id: &str, seq: u64) -> Result<crate::store::ReviewItem, HqError> {
    let terminal = Uuid::parse_str(terminal_id).map_err(|_| HqError::NotFound)?;
    Ok(crate::store::ReviewItem::DeadLetter(
        crate::store::DeadLetterId {
            terminal: tillcard_protocol::wire::TerminalId(terminal),
            seq,
        },
    ))
}

/// Assigns an open dead letter to the user chosen.
pub(super) async fn assign_dead_letter(
    Path((terminal_id, seq)): Path<(String, u64)>,
    form: Submission,
) -> Result<Response, HqError> {
    form.submit(REVIEW, async |hq, posted| {
        let item = dead_letter(&terminal_id, seq)?;
        hq.assign_review_item(&posted.session.actor, item, posted.field("assignee"))
            .await
            .map(|()| notice("item_assigned"))
    })
    .await
}

/// Dismisses an open dead letter with the note as its reason.
pub(super) async fn dismiss_dead_letter(
    Path((terminal_id, seq)): Path<(String, u64)>,
    form: Submission,
) -> Result<Response, HqError> {
    form.submit(REVIEW, async |hq, posted| {
        let item = dead_letter(&terminal_id, seq)?;
        hq.dismiss_review_item(&posted.session.actor, item, posted.field("note"))
            .await
            .map(|()| notice("item_dismissed"))
    })
    .await
}

/// Re-applies an open dead letter; the notice says whether it applied or
/// was refused again (its new reason shows in the queue).
pub(super) async fn reapply_dead_letter(
    Path((terminal_id, seq)): Path<(String, u64)>,
    form: Submission,
) -> Result<Response, HqError> {
    form.submit(REVIEW, async |hq, posted| {
        let crate::store::ReviewItem::DeadLetter(id) = dead_letter(&terminal_id, seq)? else {
            return Err(HqError::NotFound);
        };
        hq.reapply_dead_letter(&posted.session.actor, id)
            .await
            .map(|outcome| match outcome.state.as_str() {
                "applied" => notice("dead_letter_reapplied_notice"),
                _ => notice("dead_letter_still_refused_notice"),
            })
    })
    .await
}

/// Assigns an open terminal flag to the user chosen.
pub(super) async fn assign_flag(
    Path(id): Path<i64>,
    form: Submission,
) -> Result<Response, HqError> {
    form.submit(REVIEW, async |hq, posted| {
        hq.assign_review_item(
            &posted.session.actor,
            crate::store::ReviewItem::Flag(id),
            posted.field("assignee"),
        )
        .await
        .map(|()| notice("item_assigned"))
    })
    .await
}

/// Closes an open terminal flag: resolved with `accept` or `revoke`, or
/// dismissed, with the note as its reason.
pub(super) async fn close_flag(Path(id): Path<i64>, form: Submission) -> Result<Response, HqError> {
    use crate::admin::FlagResolution;
    form.submit(REVIEW, async |hq, posted| {
        let actor = &posted.session.actor;
        let note = posted.field("note");
        let resolve = async |action| {
            hq.resolve_flag(actor, id, action, note)
                .await
                .map(|()| notice("flag_resolved_notice"))
        };
        match posted.field("action") {
            "dismiss" => hq
                .dismiss_review_item(actor, crate::store::ReviewItem::Flag(id), note)
                .await
                .map(|()| notice("item_dismissed")),
            "accept" => resolve(FlagResolution::Accept).await,
            "revoke" => resolve(FlagResolution::Revoke).await,
            _ => Err(HqError::BadRequest(
                "action: accept, revoke or dismiss".into(),
            )),
        }
    })
    .await
}

/// The role a users form names; `role: unknown` when none.
fn posted_role(posted: &Posted) -> Result<Role, HqError> {
    Role::parse(posted.field("role")).ok_or_else(|| HqError::BadRequest("role: unknown".into()))
}

pub(super) async fn save_user(form: Submission) -> Result<Response, HqError> {
    form.submit(USERS, async |hq, posted| {
        let role = posted_role(posted)?;
        // A password is taken as typed, spaces included.
        let password = posted
            .fields
            .iter()
            .find(|(k, _)| k == "password")
            .map_or("", |(_, v)| v.as_str());
        hq.save_user(
            &posted.session.actor,
            posted.field("username"),
            password,
            Some(role),
        )
        .await
        .map(|()| notice("user_saved"))
    })
    .await
}

pub(super) async fn user_role(
    Path(username): Path<String>,
    form: Submission,
) -> Result<Response, HqError> {
    form.submit(USERS, async |hq, posted| {
        let role = posted_role(posted)?;
        hq.set_user_role(&posted.session.actor, &username, role)
            .await
            .map(|()| notice("user_saved"))
    })
    .await
}
