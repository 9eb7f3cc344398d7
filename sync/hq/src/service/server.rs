//! Head office's HTTP server: the router built from the one route table
//! ([`super::routes`]) with its layers (body limit, panic to JSON 500, JSON
//! refusals, metrics), and serving with graceful shutdown: in-flight
//! requests (batches) finish before the server stops.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use tillcard_protocol::wire;

use super::Hq;
use super::http::observe;
use super::routes::routes;
use crate::error::HqError;

/// The HTTP API.
pub fn router(hq: Arc<Hq>) -> Router {
    let mut router = Router::new();
    for route in routes() {
        router = router.route(route.path, (route.handler)());
    }
    // The console's HTML pages: outside the API's table and openapi.json.
    router
        .merge(crate::console::router())
        .fallback(|| async { HqError::NotFound })
        .layer(axum::extract::DefaultBodyLimit::max(wire::MAX_BODY_BYTES))
        // A panic in a handler answers 500 `internal` (and, below it, the
        // stores release or roll back what the panic held) instead of
        // dropping the connection.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            crate::error::panic_response,
        ))
        .layer(axum::middleware::from_fn(crate::error::json_errors))
        // A write through this node is seen by the next poll it answers.
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&hq),
            super::poll_cache::written_through_this_node,
        ))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&hq),
            observe,
        ))
        // Head office's time on every answer (issue 22, clock skew).
        .layer(axum::middleware::map_response(
            super::clock_skew::server_time,
        ))
        .with_state(hq)
}

/// Serves until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    hq: Arc<Hq>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The peer's address reaches the handlers (`/metrics` for loopback
    // peers only, the sign-in throttle per address).
    axum::serve(
        listener,
        router(hq).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
