//! The one error type of head office's HTTP API. Each variant maps to a
//! status and a stable code; internal failures are logged (never with
//! personal data) and reach the client only as `internal`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::protocol::ErrorBody;
use crate::store::StoreError;

/// Everything an HTTP handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum HqError {
    /// The request is malformed (400 `bad_request`).
    #[error("{0}")]
    BadRequest(String),
    /// Unknown terminal, missing or bad signature, stale timestamp (401).
    #[error("{1}")]
    Unauthorized(&'static str, String),
    /// Known but refused: revoked terminal, used code, no admin token (403).
    #[error("{1}")]
    Forbidden(&'static str, String),
    /// No such resource (404 `not_found`).
    #[error("not found")]
    NotFound,
    /// The batch conflicts with what is stored (409 `sequence_conflict`).
    #[error("{0}")]
    Conflict(String),
    /// Body too large (413 `too_large`).
    #[error("body too large")]
    TooLarge,
    /// Anything else (500 `internal`): details go to the log only.
    #[error("internal error")]
    Internal(#[source] StoreError),
}

impl From<StoreError> for HqError {
    fn from(e: StoreError) -> Self {
        HqError::Internal(e)
    }
}

impl HqError {
    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            HqError::BadRequest(_) => StatusCode::BAD_REQUEST,
            HqError::Unauthorized(..) => StatusCode::UNAUTHORIZED,
            HqError::Forbidden(..) => StatusCode::FORBIDDEN,
            HqError::NotFound => StatusCode::NOT_FOUND,
            HqError::Conflict(_) => StatusCode::CONFLICT,
            HqError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            HqError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            HqError::BadRequest(_) => "bad_request",
            HqError::Unauthorized(code, _) | HqError::Forbidden(code, _) => code,
            HqError::NotFound => "not_found",
            HqError::Conflict(_) => "sequence_conflict",
            HqError::TooLarge => "too_large",
            HqError::Internal(_) => "internal",
        }
    }
}

/// The error code of a response, left in its extensions for the request
/// middleware (metrics by code, one log line per refusal).
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode(pub &'static str);

impl IntoResponse for HqError {
    fn into_response(self) -> Response {
        if let HqError::Internal(source) = &self {
            tracing::error!(error = %source, "internal error");
        }
        let code = self.code();
        let body = ErrorBody {
            error: code.to_string(),
            message: self.to_string(),
        };
        let mut response = (self.status(), axum::Json(body)).into_response();
        response.extensions_mut().insert(ErrorCode(code));
        response
    }
}
