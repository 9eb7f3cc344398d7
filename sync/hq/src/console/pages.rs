//! The console's pages (`GET /console/...`): each reads through the same
//! operations on [`Hq`] as the admin API and renders its template; no
//! session sends to the login page (and back here after it).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;

use super::{Flash, Session, forbidden, html, lang, render, to_login};
use crate::dashboard::Lang;
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
}

/// The audit trail's page shows this many rows at most.
const AUDIT_ROWS: i64 = 500;

/// The signed-in session, its language and its flash; or the redirect to
/// the login page.
async fn enter(
    hq: &Hq,
    headers: &HeaderMap,
    query: &PageQuery,
    path: &str,
) -> Result<Result<(Session, Lang, Option<Flash>), Response>, HqError> {
    let lang = lang(headers, query.lang.as_deref());
    match super::session(hq, headers).await? {
        None => Ok(Err(to_login(path, lang))),
        Some(session) => {
            let flash = super::FLASHES.take(&session.key);
            Ok(Ok((session, lang, flash)))
        }
    }
}

fn page(query: &PageQuery, lang: Lang, body: String) -> Response {
    html(StatusCode::OK, body, query.lang.is_some().then_some(lang))
}

pub(super) async fn stores(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> Result<Response, HqError> {
    let (session, lang, flash) = match enter(&hq, &headers, &query, "/console/stores").await? {
        Ok(entered) => entered,
        Err(login) => return Ok(login),
    };
    let stores = hq.list_stores().await?;
    let body = render(
        "stores.html",
        lang,
        &session,
        "stores",
        flash,
        context! { stores => stores },
    )?;
    Ok(page(&query, lang, body))
}

pub(super) async fn staff(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> Result<Response, HqError> {
    let (session, lang, flash) = match enter(&hq, &headers, &query, "/console/staff").await? {
        Ok(entered) => entered,
        Err(login) => return Ok(login),
    };
    let filter = query.store.as_deref().filter(|s| !s.is_empty());
    let staff = hq.list_staff(filter).await?;
    let stores = hq.list_stores().await?;
    let body = render(
        "staff.html",
        lang,
        &session,
        "staff",
        flash,
        context! { staff => staff, stores => stores, filter => filter.unwrap_or("") },
    )?;
    Ok(page(&query, lang, body))
}

pub(super) async fn codes(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> Result<Response, HqError> {
    let (session, lang, flash) = match enter(&hq, &headers, &query, "/console/codes").await? {
        Ok(entered) => entered,
        Err(login) => return Ok(login),
    };
    let codes = hq.list_enroll_codes().await?;
    let stores = hq.list_stores().await?;
    let body = render(
        "codes.html",
        lang,
        &session,
        "codes",
        flash,
        context! { codes => codes, stores => stores, default_days => 7 },
    )?;
    Ok(page(&query, lang, body))
}

pub(super) async fn terminals(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> Result<Response, HqError> {
    let (session, lang, flash) = match enter(&hq, &headers, &query, "/console/terminals").await? {
        Ok(entered) => entered,
        Err(login) => return Ok(login),
    };
    let terminals = hq.list_terminals().await?;
    let body = render(
        "terminals.html",
        lang,
        &session,
        "terminals",
        flash,
        context! { terminals => terminals },
    )?;
    Ok(page(&query, lang, body))
}

pub(super) async fn users(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> Result<Response, HqError> {
    let (session, lang, flash) = match enter(&hq, &headers, &query, "/console/users").await? {
        Ok(entered) => entered,
        Err(login) => return Ok(login),
    };
    if !session.may(Operation::ReadUsers) {
        return forbidden(lang, &session, "forbidden_detail");
    }
    let users = hq.list_users().await?;
    let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
    let body = render(
        "users.html",
        lang,
        &session,
        "users",
        flash,
        context! { users => users, roles => roles },
    )?;
    Ok(page(&query, lang, body))
}

pub(super) async fn audit(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> Result<Response, HqError> {
    let (session, lang, flash) = match enter(&hq, &headers, &query, "/console/audit").await? {
        Ok(entered) => entered,
        Err(login) => return Ok(login),
    };
    if !session.may(Operation::ReadAudit) {
        return forbidden(lang, &session, "forbidden_detail");
    }
    let subject = query
        .subject
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let rows = hq.audit_trail(subject, Some(AUDIT_ROWS)).await?;
    let body = render(
        "audit.html",
        lang,
        &session,
        "audit",
        flash,
        context! { rows => rows, subject => subject.unwrap_or("") },
    )?;
    Ok(page(&query, lang, body))
}
