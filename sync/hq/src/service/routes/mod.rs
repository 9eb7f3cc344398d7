//! The one route table: every route's method, path, OpenAPI description
//! and handler. The router ([`super::router`]) and the OpenAPI document
//! ([`openapi_document`]) are both made from it, so neither can name a
//! route the other lacks.

use std::sync::Arc;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;

use super::Hq;
use super::http_back_office as office;
use crate::openapi::{self, Access, Body, Doc};

/// One route: its method and path, what the OpenAPI document says of it,
/// and its handler. [`routes`] is the one list both the router and
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
const PAGE_QUERY: &[openapi::Query] = &[
    openapi::Query {
        name: "after",
        description: "Only items whose SKU sorts after this one (the last of the previous page)",
        format: None,
    },
    openapi::Query {
        name: "limit",
        description: "At most this many items (1 to 1000, the default)",
        format: None,
    },
];
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

mod back_office;
mod member_care;
mod operations;
mod terminal;

/// Every route of the API, table by table, in the order openapi.json lists
/// them.
const TABLES: &[&[Route]] = &[
    terminal::ROUTES,
    back_office::ROUTES,
    member_care::ROUTES,
    operations::ROUTES,
];

/// Every route of the API: the one list both the router and openapi.json
/// are made from.
pub fn routes() -> impl Iterator<Item = &'static Route> {
    TABLES.iter().flat_map(|table| table.iter())
}

/// The OpenAPI document of [`routes`] (what `GET /openapi.json` serves and
/// `sync/hq/openapi.json` holds).
pub fn openapi_document() -> serde_json::Value {
    openapi::document(routes().map(|r| (r.method, r.path, &r.doc)))
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
