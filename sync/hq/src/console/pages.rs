//! The console's pages (`GET /console/...`): each reads through the same
//! operations on [`Hq`] as the admin API and renders its template; no
//! session sends to the login page (and back here after it).

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::{Value, context};
use serde::Deserialize;

use super::{forbidden, html, lang, render, to_login};
use crate::error::HqError;
use crate::service::Hq;
use crate::service::roles::{Operation, Role};

/// A page's query: its language, and the staff page's store or the audit
/// trail's subject.
#[derive(Debug, Default, Deserialize)]
pub(super) struct PageQuery {
    lang: Option<String>,
    store: Option<String>,
    subject: Option<String>,
    /// The catalog page's first SKU.
    from: Option<String>,
}

/// The audit trail's page shows this many rows at most.
const AUDIT_ROWS: i64 = 500;

/// A request for a console page: head office, the request's headers (the
/// session and language cookies) and its query. An extractor, so each page
/// handler names only what it shows.
pub(super) struct Visit {
    hq: Arc<Hq>,
    headers: HeaderMap,
    query: PageQuery,
}

impl FromRequestParts<Arc<Hq>> for Visit {
    /// A query that does not decode is 400, as `Query` answers it.
    type Rejection = QueryRejection;

    async fn from_request_parts(parts: &mut Parts, hq: &Arc<Hq>) -> Result<Self, Self::Rejection> {
        let Query(query) = Query::<PageQuery>::from_request_parts(parts, hq).await?;
        Ok(Visit {
            hq: Arc::clone(hq),
            headers: parts.headers.clone(),
            query,
        })
    }
}

impl Visit {
    /// Page `name` (at `/console/<name>`, rendered from `<name>.html`, its
    /// tab in the navigation): no session sends to the login page and back
    /// here; a role without the page's `read` operation gets the 403 page;
    /// otherwise `read` loads what the template shows, and the page goes out
    /// (with the language cookie when `?lang=` chose the language).
    pub(super) async fn show(
        &self,
        name: &str,
        needs: Option<Operation>,
        read: impl AsyncFnOnce(&Hq, &PageQuery) -> Result<Value, HqError>,
    ) -> Result<Response, HqError> {
        let lang = lang(&self.headers, self.query.lang.as_deref());
        let Some(session) = super::session(&self.hq, &self.headers).await? else {
            // A page's path spells its name with hyphens (`member_money`
            // at `/console/member-money`).
            return Ok(to_login(
                &format!("/console/{}", name.replace('_', "-")),
                lang,
            ));
        };
        let flash = super::take_flash(&self.hq, &session)
            .await?
            .map(|f| f.worded(lang));
        if needs.is_some_and(|operation| !session.may(operation)) {
            return forbidden(lang, &session, "forbidden_detail");
        }
        let page = read(&self.hq, &self.query).await?;
        let body = render(&format!("{name}.html"), lang, &session, name, flash, page)?;
        Ok(html(
            StatusCode::OK,
            body,
            self.query.lang.is_some().then_some(lang),
        ))
    }

    /// A file to download from the page at `page_path` (a CSV export),
    /// under the same rules as [`Visit::show`]: no session sends to the
    /// login page and back to `page_path`, a role without `needs` gets the
    /// 403 page; otherwise `read` makes the file, sent as `file_name`.
    pub(super) async fn download(
        &self,
        page_path: &str,
        needs: Operation,
        (content_type, file_name): (&'static str, &str),
        read: impl AsyncFnOnce(&Hq) -> Result<Vec<u8>, HqError>,
    ) -> Result<Response, HqError> {
        let lang = lang(&self.headers, self.query.lang.as_deref());
        let Some(session) = super::session(&self.hq, &self.headers).await? else {
            return Ok(to_login(page_path, lang));
        };
        if !session.may(needs) {
            return forbidden(lang, &session, "forbidden_detail");
        }
        let body = read(&self.hq).await?;
        let disposition = format!("attachment; filename=\"{file_name}\"");
        Response::builder()
            .status(StatusCode::OK)
            .header(axum::http::header::CONTENT_TYPE, content_type)
            .header(axum::http::header::CONTENT_DISPOSITION, disposition)
            .header(axum::http::header::CACHE_CONTROL, "no-store")
            .body(axum::body::Body::from(body))
            .map_err(|e| HqError::Internal(crate::store::StoreError::Corrupt(e.to_string())))
    }
}

pub(super) async fn stores(visit: Visit) -> Result<Response, HqError> {
    visit
        .show("stores", None, async |hq, _| {
            Ok(context! { stores => hq.list_stores().await? })
        })
        .await
}

/// The staff, all of them or one store's (`?store=`).
pub(super) async fn staff(visit: Visit) -> Result<Response, HqError> {
    visit
        .show("staff", None, async |hq, query| {
            let filter = query.store.as_deref().filter(|s| !s.is_empty());
            let staff = hq.list_staff(filter).await?;
            let stores = hq.list_stores().await?;
            Ok(context! { staff => staff, stores => stores, filter => filter.unwrap_or("") })
        })
        .await
}

pub(super) async fn codes(visit: Visit) -> Result<Response, HqError> {
    visit
        .show("codes", None, async |hq, _| {
            let codes = hq.list_enroll_codes().await?;
            let stores = hq.list_stores().await?;
            Ok(context! { codes => codes, stores => stores, default_days => 7 })
        })
        .await
}

pub(super) async fn terminals(visit: Visit) -> Result<Response, HqError> {
    visit
        .show("terminals", None, async |hq, _| {
            Ok(context! { terminals => hq.list_terminals().await? })
        })
        .await
}

/// The daily jobs' newest runs (`crate::jobs`).
pub(super) async fn jobs(visit: Visit) -> Result<Response, HqError> {
    visit
        .show("jobs", None, async |hq, _| {
            let runs = hq
                .store()
                .job_runs(crate::jobs::schedule::RUNS_SHOWN)
                .await?;
            Ok(context! { runs => runs, at => hq.jobs_at().format("%H:%M").to_string() })
        })
        .await
}

/// The program editor: the versions, and a draft of the next one starting
/// from the version in force, taking effect tomorrow at 00:00 store time.
pub(super) async fn catalog(visit: Visit) -> Result<Response, HqError> {
    visit
        .show("catalog", None, async |hq, query| {
            super::catalog::page(hq, query.from.as_deref()).await
        })
        .await
}

pub(super) async fn program(visit: Visit) -> Result<Response, HqError> {
    visit
        .show("program", None, async |hq, _| {
            let current = hq.program().await?;
            let tomorrow = crate::figures::in_business_offset(chrono::Utc::now().fixed_offset())
                .date_naive()
                .succ_opt()
                .map(|d| format!("{d}T00:00"))
                .unwrap_or_default();
            super::program::page(hq, &super::program::to_toml(&current), &tomorrow, &[], &[]).await
        })
        .await
}

pub(super) async fn users(visit: Visit) -> Result<Response, HqError> {
    visit
        .show("users", Some(Operation::ReadUsers), async |hq, _| {
            let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
            Ok(context! { users => hq.list_users().await?, roles => roles })
        })
        .await
}

/// The newest rows of the audit trail, all or one subject's (`?subject=`).
pub(super) async fn audit(visit: Visit) -> Result<Response, HqError> {
    visit
        .show("audit", Some(Operation::ReadAudit), async |hq, query| {
            let subject = query
                .subject
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty());
            let rows = hq.audit_trail(subject, Some(AUDIT_ROWS)).await?;
            Ok(context! { rows => rows, subject => subject.unwrap_or("") })
        })
        .await
}

/// Member care: the look-up form (the look-up itself is a POST,
/// `super::member_search`); a notice after a freeze or tags saved.
pub(super) async fn members(visit: Visit) -> Result<Response, HqError> {
    visit
        .show("members", Some(Operation::MemberCare), async |_, _| {
            Ok(context! { q => "", why => "", found => Value::from(()), problem => Value::from(()) })
        })
        .await
}

/// The review queue: conflicts' counts by kind and age, then the
/// conflicts with assign, resolve (accept, freeze, adjust, merge) and
/// dismiss beside each open one; the open walk-in sales returned twice
/// with acknowledge; the dead letters with assign, re-apply
/// and dismiss; the terminal flags with assign, resolve (accept, revoke)
/// and dismiss.
pub(super) async fn conflicts(visit: Visit) -> Result<Response, HqError> {
    visit
        .show("conflicts", Some(Operation::MemberCare), async |hq, _| {
            let cases = hq.conflict_queue().await?;
            let counts =
                crate::service::conflicts::counts(&cases, chrono::Utc::now().fixed_offset());
            let users: Vec<String> = hq
                .list_users()
                .await?
                .into_iter()
                .map(|u| u.username)
                .collect();
            let dead_letters = hq.dead_letter_queue().await?;
            let flags = hq.flag_queue().await?;
            let walk_in_returns = hq.walk_in_return_queue().await?;
            Ok(context! {
                walk_in_returns => walk_in_returns,
                cases => cases,
                counts => counts,
                users => users,
                dead_letters => dead_letters,
                flags => flags,
            })
        })
        .await
}
