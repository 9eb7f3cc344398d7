//! The HTTP handlers of head office: thin functions that check
//! authentication, decode and call [`Hq`], and the request middleware
//! (metrics, one log line per refusal). The route table names them
//! ([`super::routes`]); the server builds its router from that table.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tillcard_rules::ids::{MemberId, Timestamp};
use uuid::Uuid;

use super::{Hq, LoginOutcome, now};
use crate::admin;
use crate::dashboard::{self, Lang, LoginNotice};
use crate::error::HqError;
use crate::figures;
use crate::ingest::{self, ReceivedBatch};
use crate::metrics::{CodeLabels, HttpLabels};
use crate::store::TerminalRecord;
use std::time::Instant;
use tillcard_protocol::auth;
use tillcard_protocol::wire::{self, RedeemRequest};
use tracing::Instrument as _;

/// A gzipped JSON response.
pub(super) fn wire_response<T: Serialize>(value: &T) -> Response {
    wire(value)
}

/// A gzipped JSON response.
fn wire<T: Serialize>(value: &T) -> Response {
    match wire::encode(value) {
        Ok(bytes) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(wire::CONTENT_TYPE),
                ),
                (
                    header::CONTENT_ENCODING,
                    HeaderValue::from_static(wire::CONTENT_ENCODING),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// A terminal's gzipped JSON body (the protocol's encoding).
fn decode_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, HqError> {
    Ok(wire::decode(body)?)
}

/// An admin request's plain JSON body; what does not decode is 400 in
/// serde's words.
pub(super) fn admin_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, HqError> {
    serde_json::from_slice(body).map_err(|e| HqError::BadRequest(e.to_string()))
}

fn gunzip_body(body: &[u8]) -> Result<Vec<u8>, HqError> {
    Ok(ingest::gunzip(body)?)
}

pub(super) async fn redeem(State(hq): State<Arc<Hq>>, body: Bytes) -> Result<Response, HqError> {
    let request: RedeemRequest = decode_body(&body)?;
    Ok(wire(&hq.redeem(&request).await?))
}

pub(super) async fn reintroduce(
    State(hq): State<Arc<Hq>>,
    body: Bytes,
) -> Result<Response, HqError> {
    let request: tillcard_protocol::registration::Reintroduce = decode_body(&body)?;
    Ok(wire(&hq.reintroduce(&request).await?))
}

/// A request a terminal signed: head office, the terminal (once
/// [`Hq::authenticate`] has checked the signature over the method, path
/// and body) and the body. An extractor that reads the body, so it comes
/// last among a handler's arguments; a body that cannot be read is
/// answered as `Bytes` answers it, a bad signature as [`HqError`] does.
pub(super) struct SignedByTerminal {
    pub(super) hq: Arc<Hq>,
    pub(super) terminal: TerminalRecord,
    pub(super) body: Bytes,
}

impl FromRequest<Arc<Hq>> for SignedByTerminal {
    type Rejection = Response;

    async fn from_request(request: Request, hq: &Arc<Hq>) -> Result<Self, Self::Rejection> {
        let (method, uri) = (request.method().clone(), request.uri().clone());
        let headers = request.headers().clone();
        let body = Bytes::from_request(request, hq)
            .await
            .map_err(IntoResponse::into_response)?;
        let terminal = hq
            .authenticate(&method, &uri, &headers, &body)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(SignedByTerminal {
            hq: Arc::clone(hq),
            terminal,
            body,
        })
    }
}

pub(super) async fn upload(signed: SignedByTerminal) -> Result<Response, HqError> {
    let SignedByTerminal { hq, terminal, body } = signed;
    // The bodies stay text borrowed from `json` until each is decoded once.
    let json = gunzip_body(&body)?;
    let limit = hq.upload_limits().max_body_bytes;
    if body.len() > limit || json.len() > limit {
        return Err(HqError::TooLarge);
    }
    let batch = ReceivedBatch::from_json(&json)?;
    let _turn = hq.upload_turn().await?;
    let span = tracing::info_span!(
        "batch",
        terminal = %terminal.terminal_id,
        store = %terminal.store,
        events = batch.events.len()
    );
    Ok(wire(&hq.upload(&terminal, &batch).instrument(span).await?))
}

#[derive(Deserialize)]
pub(super) struct CursorQuery {
    cursor: Option<String>,
}

/// A downlink poll a terminal signed: [`SignedByTerminal`], checked
/// against the terminal as the node remembers it ([`Hq::authenticate_poll`]);
/// `fresh` when read from the database for this request.
pub(super) struct PolledByTerminal {
    hq: Arc<Hq>,
    terminal: TerminalRecord,
    fresh: bool,
}

impl FromRequest<Arc<Hq>> for PolledByTerminal {
    type Rejection = Response;

    async fn from_request(request: Request, hq: &Arc<Hq>) -> Result<Self, Self::Rejection> {
        let (method, uri) = (request.method().clone(), request.uri().clone());
        let headers = request.headers().clone();
        let body = Bytes::from_request(request, hq)
            .await
            .map_err(IntoResponse::into_response)?;
        let (terminal, fresh) = hq
            .authenticate_poll(&method, &uri, &headers, &body)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(PolledByTerminal {
            hq: Arc::clone(hq),
            terminal,
            fresh,
        })
    }
}

/// `GET /v1/changes`: nothing new answered from the node's reading of the
/// logs' ends when it can (`poll_cache`), else a page read from the
/// database for the terminal as the database holds it now.
pub(super) async fn changes(
    Query(query): Query<CursorQuery>,
    polled: PolledByTerminal,
) -> Result<Response, HqError> {
    let PolledByTerminal {
        hq,
        terminal,
        fresh,
    } = polled;
    let cursor = query.cursor.as_deref();
    if let Some(page) = hq.nothing_new(&terminal, fresh, cursor).await? {
        return Ok(wire(&page));
    }
    let terminal = if fresh {
        terminal
    } else {
        hq.terminal_again(&terminal).await?
    };
    Ok(wire(&hq.changes(&terminal, cursor).await?))
}

/// `GET /v1/members/{member_id}`: a member fetched on demand
/// (`member_fetch`).
pub(super) async fn fetch_member(
    Path(member): Path<String>,
    signed: SignedByTerminal,
) -> Result<Response, HqError> {
    let SignedByTerminal { hq, terminal, .. } = signed;
    let member = Uuid::parse_str(&member)
        .map(MemberId)
        .map_err(|_| HqError::BadRequest("the member id is not a UUID".into()))?;
    Ok(wire(&hq.fetch_member(&terminal, member).await?))
}

pub(super) async fn revoke_card(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, HqError> {
    hq.check_admin(&headers)?;
    let r: admin::Revocation = admin_body(&body)?;
    if r.member.is_none() && r.card_serial.is_none() {
        return Err(HqError::BadRequest("give member or card_serial".into()));
    }
    if let Some(serial) = &r.card_serial
        && let Err(e) = tillcard_rules::limits::check_short_text("card_serial", serial)
    {
        return Err(HqError::BadRequest(e.to_string()));
    }
    let payload = crate::store::to_json(&r)?;
    hq.store
        .push_change("revocation", r.member, Some(&payload))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) async fn erase(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> Result<Response, HqError> {
    hq.check_admin(&headers)?;
    if hq.erase(MemberId(id)).await? {
        Ok(axum::Json(admin::Erased { erased: true }).into_response())
    } else {
        Err(HqError::NotFound)
    }
}

pub(super) async fn job_tiers(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
) -> Result<Response, HqError> {
    hq.check_admin(&headers)?;
    let n = hq.evaluate_tiers(now()).await?;
    Ok(axum::Json(admin::TierJobDone {
        tier_changes: n as u64,
    })
    .into_response())
}

pub(super) async fn job_expiry(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
) -> Result<Response, HqError> {
    hq.check_admin(&headers)?;
    let n = hq.expire_points(now()).await?;
    Ok(axum::Json(admin::ExpiryJobDone { entries: n as u64 }).into_response())
}

pub(super) async fn conflicts(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
) -> Result<Response, HqError> {
    hq.check_admin(&headers)?;
    let list: Vec<admin::ConflictForReview> = hq
        .store
        .conflicts()
        .await?
        .into_iter()
        .map(|c| admin::ConflictForReview {
            member_id: c.member,
            kind: c.kind,
            reason: c.reason,
            terminal_id: c.terminal_id,
            seq: c.seq,
        })
        .collect();
    Ok(axum::Json(list).into_response())
}

/// The daily jobs' newest runs, newest day first (`crate::jobs`).
pub(super) async fn job_runs(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
) -> Result<Response, HqError> {
    hq.check_admin_or_session(&headers).await?;
    let runs = hq.store.job_runs(crate::jobs::schedule::RUNS_SHOWN).await?;
    Ok(axum::Json(runs).into_response())
}

/// Whether head office can serve: 200 when its store answers a query, 503
/// `store_unavailable` when not (so a supervisor or load balancer takes it
/// out of service instead of sending it every terminal's requests).
pub(super) async fn health(State(hq): State<Arc<Hq>>) -> Response {
    if hq.is_draining() {
        return HqError::Refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "draining",
            "this head-office node is shutting down; send the request to another".into(),
        )
        .into_response();
    }
    match hq.store.ping().await {
        Ok(()) => axum::Json(admin::Health {
            status: "ok".into(),
            store: "ok".into(),
        })
        .into_response(),
        Err(error) => HqError::Unavailable(error).into_response(),
    }
}

/// Every dead-lettered event with its reason: `code` is one of the poison
/// codes of PROTOCOL.md (or `unclassified` for reasons stored before codes
/// existed), `detail` says what exactly, with quoted values withheld.
pub(super) async fn dead_letters(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
) -> Result<Response, HqError> {
    hq.check_admin_or_session(&headers).await?;
    let list: Vec<admin::DeadLetter> = hq
        .store
        .dead_letters()
        .await?
        .into_iter()
        .map(|d| {
            let (code, detail) = ingest::Poison::parse_stored(&d.reason);
            admin::DeadLetter {
                terminal_id: d.terminal_id,
                seq: d.seq,
                event_id: d.event_id.clone(),
                code: code.to_string(),
                detail: ingest::withhold_quoted(detail),
                at: d.at.clone(),
            }
        })
        .collect();
    Ok(axum::Json(list).into_response())
}

/// Every suspicion recorded about a terminal (a clone, a bad signature).
pub(super) async fn terminal_flags(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
) -> Result<Response, HqError> {
    hq.check_admin_or_session(&headers).await?;
    let list: Vec<admin::TerminalFlag> = hq
        .store
        .terminal_flags()
        .await?
        .into_iter()
        .map(|(terminal_id, reason)| admin::TerminalFlag {
            terminal_id,
            reason,
        })
        .collect();
    Ok(axum::Json(list).into_response())
}

/// Every request: a span (method, route template), a counter by route and
/// status, and a log line for each refusal with its error code (never the
/// message, which may quote the request).
pub(super) async fn observe(
    State(hq): State<Arc<Hq>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_string();
    let method = request.method().clone();
    let span = tracing::info_span!("request", method = %method, route = %route);
    let started = Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status();
    hq.metrics
        .http_requests
        .get_or_create(&HttpLabels {
            method: method.to_string(),
            route: route.clone(),
            status: status.as_u16().to_string(),
        })
        .inc();
    let _entered = span.enter();
    if let Some(code) = response.extensions().get::<crate::error::ErrorCode>() {
        if status.is_client_error() {
            hq.metrics
                .refusals
                .get_or_create(&CodeLabels {
                    code: code.0.to_string(),
                })
                .inc();
            tracing::warn!(status = status.as_u16(), code = code.0, "request refused");
        }
    } else {
        tracing::debug!(
            status = status.as_u16(),
            ms = started.elapsed().as_millis() as u64,
            "request"
        );
    }
    response
}

pub(super) fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        body,
    )
        .into_response()
}

#[derive(Deserialize)]
pub(super) struct FiguresQuery {
    /// Compute as of this moment (RFC 3339) instead of now.
    at: Option<String>,
}

pub(super) async fn figures_json(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
    Query(query): Query<FiguresQuery>,
) -> Result<Response, HqError> {
    hq.check_admin_or_session(&headers).await?;
    let at = match query.at.as_deref() {
        None | Some("") => crate::figures::in_business_offset(now()),
        Some(text) => Timestamp::parse_from_rfc3339(text)
            .map_err(|_| HqError::BadRequest("at must be an RFC 3339 time".into()))?,
    };
    let figures = hq.figures(at).await?;
    Ok((
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        axum::Json(figures),
    )
        .into_response())
}

/// The client's address as the server saw it (none when the router runs
/// without connection info, as in tests that call it directly).
type Peer = Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>;

fn peer_addr(peer: &Peer) -> Option<std::net::SocketAddr> {
    peer.as_ref().map(|p| p.0.0)
}

pub(super) async fn metrics(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
    peer: Peer,
) -> Result<Response, HqError> {
    hq.check_metrics(&headers, peer_addr(&peer))?;
    let terminals = hq.store.terminal_rows().await?;
    hq.metrics.set_terminals(&terminals, figures::millis(now()));
    let body = hq.metrics.encode().map_err(|_| {
        HqError::Internal(crate::store::StoreError::Task("encoding metrics".into()))
    })?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
        )],
        body,
    )
        .into_response())
}

fn redirect(to: &str, cookie: Option<String>) -> Response {
    let mut response =
        (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response();
    if let Some(cookie) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response.headers_mut().extend(dashboard::security_headers());
    response
}

#[derive(Deserialize)]
pub(super) struct LangQuery {
    lang: Option<String>,
    signed_out: Option<String>,
    next: Option<String>,
}

pub(super) async fn dashboard_page(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
) -> Result<Response, HqError> {
    if hq.session_user(&headers).await?.is_none() {
        return Ok(redirect("/dashboard/login", None));
    }
    Ok(dashboard::html(
        StatusCode::OK,
        dashboard::DASHBOARD_HTML.to_string(),
    ))
}

pub(super) async fn login_page(Query(query): Query<LangQuery>) -> Response {
    let notice = if query.signed_out.is_some() {
        LoginNotice::SignedOut
    } else {
        LoginNotice::None
    };
    dashboard::html(
        StatusCode::OK,
        dashboard::login_page(
            Lang::parse(query.lang.as_deref()),
            notice,
            "",
            query.next.as_deref(),
        ),
    )
}

pub(super) async fn login(
    State(hq): State<Arc<Hq>>,
    peer: Peer,
    headers: HeaderMap,
    axum::extract::Form(form): axum::extract::Form<admin::LoginForm>,
) -> Result<Response, HqError> {
    let lang = Lang::parse(form.lang.as_deref());
    let next = form.next.as_deref();
    let username = form.username.trim();
    if !dashboard::valid_username(username) {
        return Ok(dashboard::html(
            StatusCode::UNAUTHORIZED,
            dashboard::login_page(lang, LoginNotice::Wrong, "", next),
        ));
    }
    let from = hq.client_addr(&headers, peer_addr(&peer).map(|p| p.ip()));
    Ok(match hq.login_from(username, &form.password, from).await? {
        LoginOutcome::Session(token) => redirect(
            &match dashboard::safe_next(next) {
                Some(page) => format!("{page}?lang={}", lang.tag()),
                None => format!("/dashboard?lang={}", lang.tag()),
            },
            Some(dashboard::session_cookie(&token)),
        ),
        LoginOutcome::Wrong => dashboard::html(
            StatusCode::UNAUTHORIZED,
            dashboard::login_page(lang, LoginNotice::Wrong, username, next),
        ),
        LoginOutcome::Locked(left) => {
            let mut response = dashboard::html(
                StatusCode::TOO_MANY_REQUESTS,
                dashboard::login_page(
                    lang,
                    LoginNotice::Locked(left.as_secs().div_ceil(60).max(1)),
                    username,
                    next,
                ),
            );
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(left.as_secs().max(1)),
            );
            response
        }
    })
}

pub(super) async fn logout(
    State(hq): State<Arc<Hq>>,
    headers: HeaderMap,
) -> Result<Response, HqError> {
    if let Some(token) = dashboard::session_token(&headers) {
        hq.store
            .delete_session(&auth::sha256_hex(&token), figures::millis(now()))
            .await?;
    }
    Ok(redirect(
        "/dashboard/login?signed_out=1",
        Some(dashboard::clear_cookie()),
    ))
}
