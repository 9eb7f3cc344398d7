//! The head-office console (`/console/...`): stores, staff, enrollment
//! codes, terminals, head-office users and the audit trail, as HTML pages
//! rendered on the server, behind the dashboard's sign-in.
//!
//! Why server-side templates with htmx rather than hand-written DOM code or
//! an npm front end: the console grows (program versions, campaigns, member
//! care come next) and each page is a list plus a few forms. Templates
//! ([minijinja], Jinja2 syntax, autoescaped, no proc macros and so no build
//! cost on a small machine) keep the markup in files under `templates/`,
//! render with the same types the admin API answers, and need no build step
//! or node toolchain. htmx (one pinned, vendored file) makes a form swap
//! the page's `<main>` instead of reloading; without script every form is
//! a plain POST answered by a redirect (progressive enhancement).
//!
//! Every change calls the same operation on [`Hq`] as the admin API, with
//! the session's user as the actor; the role table ([`may`]) decides what
//! each user sees (read-only roles get no forms) and a forbidden POST is
//! 403. Every POST carries a per-session CSRF token (on top of the session
//! cookie's `SameSite=Strict`). A setup or enrollment code is shown once:
//! kept, sealed under the session's token, for the session's next page
//! after the redirect, whichever head-office node serves it
//! ([`keep_flash`]), then deleted.

mod campaigns;
mod catalog;
mod draft_problems;
mod forms;
mod member_money;
mod member_search;
mod pages;
mod preview;
mod program;
mod refusals;
pub mod shift_closes;
pub mod text;
mod text_catalog;
mod text_shift_closes;
mod text_walk_in_returns;

use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use minijinja::{Environment, UndefinedBehavior, Value, context};
use serde::{Deserialize, Serialize};
use tillcard_protocol::auth;

use crate::dashboard::{self, Lang};
use crate::error::HqError;
use crate::service::Hq;
use crate::service::back_office::Actor;
use crate::service::roles::{Operation, Role, may};

/// htmx 2.0.11 (`dist/htmx.min.js` of the npm package `htmx.org`), Zero-Clause
/// BSD licence (no conditions); vendored so head office serves it itself
/// (no CDN). Upgrade by replacing the file and its name here.
pub const HTMX_JS: &[u8] = include_bytes!("assets/htmx-2.0.11.min.js");
/// The console's stylesheet.
pub const CONSOLE_CSS: &str = include_str!("assets/console.css");
/// The cookie that remembers the console's language.
pub const LANG_COOKIE: &str = "tillcard_lang";
/// The form field (and htmx header) holding the CSRF token.
pub const CSRF_FIELD: &str = "csrf";
/// The header htmx sends the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Every template, by name (its file under `templates/`).
pub const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("forms.html", include_str!("templates/forms.html")),
    ("error.html", include_str!("templates/error.html")),
    ("stores.html", include_str!("templates/stores.html")),
    ("staff.html", include_str!("templates/staff.html")),
    ("codes.html", include_str!("templates/codes.html")),
    ("terminals.html", include_str!("templates/terminals.html")),
    ("users.html", include_str!("templates/users.html")),
    ("audit.html", include_str!("templates/audit.html")),
    ("jobs.html", include_str!("templates/jobs.html")),
    ("program.html", include_str!("templates/program.html")),
    ("catalog.html", include_str!("templates/catalog.html")),
    ("members.html", include_str!("templates/members.html")),
    ("conflicts.html", include_str!("templates/conflicts.html")),
    ("campaigns.html", include_str!("templates/campaigns.html")),
    (
        "member_money.html",
        include_str!("templates/member_money.html"),
    ),
    (
        "shift_closes.html",
        include_str!("templates/shift_closes.html"),
    ),
    (
        "shift_close.html",
        include_str!("templates/shift_close.html"),
    ),
];

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    // A key missing from the string table or a misspelt field is an error,
    // never an empty string.
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    for (name, source) in TEMPLATES {
        // Autoescape is on for `.html` names (minijinja's default). A
        // template that does not parse fails the console's tests.
        if let Err(e) = env.add_template(name, source) {
            tracing::error!(template = name, error = %e, "console template");
        }
    }
    env
});

/// What the next page of a session shows once: a notice, a refusal, and
/// perhaps a one-time code.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Flash {
    /// A string-table key saying what was done.
    pub notice: Option<String>,
    /// A refusal's words: the service's message until the page words it
    /// by [`Flash::error_code`] in its own language ([`Flash::worded`]).
    pub error: Option<String>,
    /// The refusal's stable code.
    pub error_code: Option<String>,
    /// A setup or enrollment code, shown this once.
    pub secret: Option<String>,
    /// The service's own words kept beside the refusal's, for a code whose
    /// message lists what to fix (`invalid_campaign`: every problem of the
    /// definition, each naming its field).
    pub detail: Option<String>,
}

/// Refusals whose service message is shown under the console's words: it
/// lists the problems, which the words alone do not.
const DETAILED: &[&str] = &["invalid_campaign", "invalid_item"];

impl Flash {
    /// The flash with its refusal worded in `lang` where the console has
    /// words for the refusal's code (`refusals`).
    fn worded(mut self, lang: Lang) -> Flash {
        if let Some(words) = self
            .error_code
            .as_deref()
            .and_then(|code| refusals::words(lang, code))
        {
            let said = self.error.replace(words.to_owned());
            if self
                .error_code
                .as_deref()
                .is_some_and(|code| DETAILED.contains(&code))
            {
                self.detail = said;
            }
        }
        self
    }
}

/// Keeps `flash` for the session's next page, in the database (issue 23:
/// the page after a form may be served by another head-office node),
/// sealed under a key derived from the session's token, which only the
/// browser holds: the row is unreadable without the cookie, so a one-time
/// code in it is no weaker for being stored. Swept after
/// [`crate::store::throttles::FLASH_KEPT`] if never shown.
pub(crate) async fn keep_flash(hq: &Hq, session: &Session, flash: &Flash) -> Result<(), HqError> {
    let plain = serde_json::to_vec(flash)
        .map_err(|e| HqError::Internal(crate::store::StoreError::Corrupt(e.to_string())))?;
    let sealed = crate::personal::seal(&session.flash_key, &flash_aad(&session.key), &plain);
    let now_ms = crate::figures::millis(chrono::Utc::now().fixed_offset());
    hq.store().put_flash(&session.key, &sealed, now_ms).await?;
    Ok(())
}

/// The session's flash, if one waits: shown once, then gone. One that does
/// not open (another token's, damaged) is dropped.
async fn take_flash(hq: &Hq, session: &Session) -> Result<Option<Flash>, HqError> {
    let Some(sealed) = hq.store().take_flash(&session.key).await? else {
        return Ok(None);
    };
    let flash = crate::personal::unseal(&session.flash_key, &flash_aad(&session.key), &sealed)
        .and_then(|plain| serde_json::from_slice(&plain).ok());
    if flash.is_none() {
        tracing::warn!("a console notice did not open; dropped");
    }
    Ok(flash)
}

fn flash_aad(session_key: &str) -> String {
    format!("tillcard-hq flash v1|{session_key}")
}

/// The key a session's flashes are sealed under: derived from its secret
/// token, like the CSRF token, so nothing more is stored.
fn flash_key(session_token: &str) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(format!("tillcard-console-flash:{session_token}")).into()
}

/// A signed-in console user.
pub(crate) struct Session {
    actor: Actor,
    /// The hash of the session token (the flash key).
    key: String,
    /// The CSRF token of this session.
    csrf: String,
    /// What its flashes are sealed under ([`keep_flash`]).
    flash_key: [u8; 32],
}

impl Session {
    fn may(&self, operation: Operation) -> bool {
        may(self.actor.role, operation)
    }
}

/// The CSRF token of a session: derived from its secret token, so nothing
/// more is stored and it dies with the session.
pub fn csrf_token(session_token: &str) -> String {
    auth::sha256_hex(&format!("tillcard-console-csrf:{session_token}"))
}

async fn session(hq: &Hq, headers: &HeaderMap) -> Result<Option<Session>, HqError> {
    let Some(token) = dashboard::session_token(headers) else {
        return Ok(None);
    };
    let Some(username) = hq.session_user(headers).await? else {
        return Ok(None);
    };
    let Some(user) = hq.store().user(&username).await? else {
        return Ok(None);
    };
    let role = Role::parse(&user.role)
        .ok_or_else(|| HqError::Internal(crate::store::StoreError::Corrupt("user role".into())))?;
    Ok(Some(Session {
        actor: Actor {
            name: username,
            role,
        },
        key: auth::sha256_hex(&token),
        csrf: csrf_token(&token),
        flash_key: flash_key(&token),
    }))
}

/// The console's language: `?lang=`, else the cookie, else zh-CN (the
/// dashboard's default).
fn lang(headers: &HeaderMap, param: Option<&str>) -> Lang {
    if param.is_some() {
        return Lang::parse(param);
    }
    Lang::parse(dashboard::cookie(headers, LANG_COOKIE).as_deref())
}

fn lang_cookie(lang: Lang) -> String {
    format!(
        "{LANG_COOKIE}={}; Path=/; SameSite=Strict; Max-Age=31536000",
        lang.tag()
    )
}

/// A console page in HTML with the dashboard's security headers (and the
/// language cookie when the page was asked for in a language).
fn html(status: StatusCode, body: String, set_lang: Option<Lang>) -> Response {
    let mut response = dashboard::html(status, body);
    if let Some(cookie) = set_lang.and_then(|l| HeaderValue::from_str(&lang_cookie(l)).ok()) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

fn redirect(to: &str) -> Response {
    let mut response =
        (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response();
    response.headers_mut().extend(dashboard::security_headers());
    response
}

/// The login page, coming back to `path` after sign-in.
fn to_login(path: &str, lang: Lang) -> Response {
    let next: String = url_encode(path);
    redirect(&format!("/dashboard/login?lang={}&next={next}", lang.tag()))
}

/// Percent-encodes a query value.
pub fn url_encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Renders `template` with the page's common context (strings, user, role,
/// CSRF token, what the role may do) and `page`.
fn render(
    template: &str,
    lang: Lang,
    session: &Session,
    nav: &str,
    flash: Option<Flash>,
    page: Value,
) -> Result<String, HqError> {
    let may_op = |op| session.may(op);
    let common = context! {
        t => text::strings(lang),
        lang => lang.tag(),
        other_lang => match lang { Lang::ZhCn => "en", Lang::En => "zh-CN" },
        user => session.actor.name,
        role => session.actor.role.as_str(),
        csrf => session.csrf,
        nav => nav,
        flash => flash,
        can => context! {
            write_stores => may_op(Operation::WriteStores),
            write_staff => may_op(Operation::WriteStaff),
            write_terminals => may_op(Operation::WriteTerminals),
            read_users => may_op(Operation::ReadUsers),
            write_users => may_op(Operation::WriteUsers),
            read_audit => may_op(Operation::ReadAudit),
            write_program => may_op(Operation::WriteProgram),
            write_catalog => may_op(Operation::WriteCatalog),
            member_care => may_op(Operation::MemberCare),
            member_money => may_op(Operation::MemberMoney),
            approve_member_money => may_op(Operation::ApproveMemberMoney),
            campaigns => may_op(Operation::Campaigns),
            read_campaigns => may_op(Operation::ReadBackOffice),
            read_shift_closes => may_op(Operation::ReadShiftCloses),
        },
    };
    ENV.get_template(template)
        .and_then(|t| t.render(context! { ..page, ..common }))
        .map_err(|e| {
            tracing::error!(template, error = %e, "console render");
            HqError::Internal(crate::store::StoreError::Task(format!(
                "console template {template}"
            )))
        })
}

/// The 403 page: the role may not do this (or the form's CSRF token is
/// wrong).
fn forbidden(lang: Lang, session: &Session, why: &'static str) -> Result<Response, HqError> {
    let body = render(
        "error.html",
        lang,
        session,
        "",
        None,
        context! { why => why },
    )?;
    Ok(html(StatusCode::FORBIDDEN, body, None))
}

/// A file the console serves as it is, with its type and caching.
fn asset(
    content_type: &'static str,
    cache_control: &'static str,
    body: &'static [u8],
) -> MethodRouter<Arc<Hq>> {
    get(move || async move {
        (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, cache_control),
            ],
            body,
        )
    })
}

/// The console's routes (HTML, outside the API's route table and
/// openapi.json).
pub fn router() -> Router<Arc<Hq>> {
    Router::new()
        .route("/console", get(|| async { redirect("/console/stores") }))
        .route("/console/", get(|| async { redirect("/console/stores") }))
        .route(
            "/console/assets/htmx.min.js",
            asset(
                "text/javascript; charset=utf-8",
                "public, max-age=86400",
                HTMX_JS,
            ),
        )
        .route(
            "/console/assets/console.css",
            asset(
                "text/css; charset=utf-8",
                "no-cache",
                CONSOLE_CSS.as_bytes(),
            ),
        )
        .route(
            "/console/stores",
            get(pages::stores).post(forms::create_store),
        )
        .route(
            "/console/staff",
            get(pages::staff).post(forms::create_staff),
        )
        .route(
            "/console/staff/{staff_id}/active",
            post(forms::staff_active),
        )
        .route(
            "/console/staff/{staff_id}/reset-pin",
            post(forms::reset_pin),
        )
        .route(
            "/console/staff/{staff_id}/stores",
            post(forms::staff_stores),
        )
        .route("/console/codes", get(pages::codes).post(forms::issue_code))
        .route("/console/terminals", get(pages::terminals))
        .route("/console/jobs", get(pages::jobs))
        .route(program::PATH, get(pages::program).post(program::post))
        .route(catalog::PATH, get(pages::catalog).post(catalog::post))
        .route(
            "/console/terminals/{terminal_id}/revoke",
            post(forms::revoke),
        )
        .route("/console/users", get(pages::users).post(forms::save_user))
        .route("/console/users/{username}/role", post(forms::user_role))
        .route("/console/audit", get(pages::audit))
        .route(
            member_search::PATH,
            get(pages::members).post(member_search::post),
        )
        .route("/console/conflicts", get(pages::conflicts))
        .route(
            "/console/conflicts/{member_id}/{conflict_no}/assign",
            post(forms::assign_conflict),
        )
        .route(
            "/console/conflicts/{member_id}/{conflict_no}/close",
            post(forms::close_conflict),
        )
        .route(
            "/console/walk-in-returns/{flag_no}/acknowledge",
            post(forms::acknowledge_walk_in_return),
        )
        .route(
            "/console/dead-letters/{terminal_id}/{seq}/assign",
            post(forms::assign_dead_letter),
        )
        .route(
            "/console/dead-letters/{terminal_id}/{seq}/reapply",
            post(forms::reapply_dead_letter),
        )
        .route(
            "/console/dead-letters/{terminal_id}/{seq}/dismiss",
            post(forms::dismiss_dead_letter),
        )
        .route("/console/flags/{id}/assign", post(forms::assign_flag))
        .route("/console/flags/{id}/close", post(forms::close_flag))
        .route(
            "/console/members/{member_id}/frozen",
            post(forms::member_frozen),
        )
        .route(
            "/console/members/{member_id}/tags",
            post(forms::member_tags),
        )
        .route(
            "/console/members/{member_id}/reissue-card",
            post(forms::member_reissue_card),
        )
        .route(
            "/console/members/{member_id}/merge",
            post(forms::member_merge),
        )
        .merge(member_money::routes())
        .merge(campaigns::routes())
        .merge(shift_closes::routes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        for (name, _) in TEMPLATES {
            assert!(ENV.get_template(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn the_csrf_token_is_per_session() {
        assert_ne!(csrf_token("a"), csrf_token("b"));
        assert_eq!(csrf_token("a"), csrf_token("a"));
    }
}
