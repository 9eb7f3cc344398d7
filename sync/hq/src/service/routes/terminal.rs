//! The routes terminals and anyone may call: health, the OpenAPI document,
//! registration, uploads, the downlink and a clerk's PIN set-up.

use axum::routing::{get, post};

use crate::admin;
use crate::openapi::{self, Access, Body, Doc};
use crate::service::http::*;
use tillcard_protocol::staff::{SetPinRequest, StaffSnapshot};
use tillcard_protocol::wire::{self, Change, ChangesPage, Provisioned, RedeemRequest, UploadAck};

use super::{NO_QUERY, Route, office, openapi_json, route};

/// The terminal routes, in the order openapi.json lists them.
pub(super) const ROUTES: &[Route] = &[
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
            errors: &[400, 401, 403, 409, 503],
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
        "get",
        "/v1/members/{member_id}",
        Doc {
            summary: "A member fetched on demand: a card not held by the terminal scanned online; \
                the member joins the terminal's store's downlink scope (a `member` or `erasure` change)",
            access: Access::Terminal,
            query: NO_QUERY,
            request: None,
            status: 200,
            response: Some(Body::gzip_json(openapi::schema::<Change>)),
            errors: &[400, 401, 403, 404],
        },
        || get(fetch_member),
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
];
