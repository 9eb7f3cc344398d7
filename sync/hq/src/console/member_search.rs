//! Member care's look-up (`POST /console/members`): a member id or a whole
//! phone number, with the reason. A POST, not a query string: a phone in a
//! URL would stay in the browser's history and in the access log of the
//! reverse proxy in front of head office. The answer is the page itself
//! with the members found (each view audited by [`Hq::look_up_member`]),
//! as the program editor's preview is.

use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;

use super::forms::{Posted, Submission, accept};
use super::{html, render};
use crate::error::HqError;
use crate::service::roles::Operation;

/// Where member care lives.
pub(super) const PATH: &str = "/console/members";

/// `POST /console/members`: find, show, audit.
pub(super) async fn post(form: Submission) -> Result<Response, HqError> {
    let (hq, headers, body) = form.parts();
    let posted: Posted = match accept(hq, headers, body, PATH, Operation::MemberCare).await? {
        Ok(posted) => posted,
        Err(answer) => return Ok(answer),
    };
    let (q, why) = (posted.field("q"), posted.field("why"));
    let (found, problem) = match hq.look_up_member(&posted.session.actor, q, why).await {
        Ok(found) => (Some(found), None),
        Err(HqError::Refused(_, code, _)) => (None, Some(code)),
        Err(e) => return Err(e),
    };
    let page = context! { q => q, why => why, found => found, problem => problem };
    let body = render(
        "members.html",
        posted.lang,
        &posted.session,
        "members",
        None,
        page,
    )?;
    // 200 with the members or the problem on the page: htmx swaps only
    // successful answers, and this page is the answer.
    Ok(html(StatusCode::OK, body, None))
}
