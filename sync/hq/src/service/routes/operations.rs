//! Operating head office: its users, the audit trail, erasure, jobs run
//! now, figures, metrics and the dashboard's pages and assets.

use axum::routing::{get, post};

use crate::admin;
use crate::dashboard;
use crate::figures::Figures;
use crate::openapi::{self, Access, Body, Doc};
use crate::service::http::*;

use super::{
    ADMIN_BODY_ERRORS, ADMIN_ERRORS, AUDIT_QUERY, NO_QUERY, OFFICE_READ, OFFICE_WRITE, Route,
    office, route,
};

/// The operations routes, in the order openapi.json lists them.
pub(super) const ROUTES: &[Route] = &[
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
