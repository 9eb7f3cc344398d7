//! The one error type of head office's HTTP API. Each variant maps to a
//! status and a stable code; internal failures are logged (never with
//! personal data) and reach the client only as `internal`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::store::StoreError;
use tillcard_protocol::refusal::RefusalClass;
use tillcard_protocol::wire::ErrorBody;

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
    /// A refusal with its own status and stable code: a back-office
    /// request naming what does not exist (404), contradicting what does
    /// (409), or out of bounds (400); a PIN set-up or enrollment code
    /// refused (403). The message never quotes a code, a hash or a name.
    #[error("{2}")]
    Refused(StatusCode, &'static str, String),
    /// No such resource (404 `not_found`).
    #[error("not found")]
    NotFound,
    /// The batch conflicts with what is stored (409 `sequence_conflict`).
    #[error("{0}")]
    Conflict(String),
    /// An upload's sequence conflict (409 `sequence_conflict`), with the
    /// highest seq head office holds of the terminal (`held_seq` in the
    /// body): a rolled-back terminal renumbers above it.
    #[error("{0}")]
    SequenceConflict(String, u64),
    /// Body too large (413 `too_large`).
    #[error("body too large")]
    TooLarge,
    /// The store does not answer (503 `store_unavailable`, from `/health`).
    #[error("the store does not answer")]
    Unavailable(#[source] StoreError),
    /// Anything else (500 `internal`): details go to the log only.
    #[error("internal error")]
    Internal(#[source] StoreError),
}

impl From<StoreError> for HqError {
    fn from(e: StoreError) -> Self {
        HqError::Internal(e)
    }
}

/// The one conversion from a body that does not decode to an answer: too
/// large is 413, anything else 400.
impl From<tillcard_protocol::wire::ProtocolError> for HqError {
    fn from(e: tillcard_protocol::wire::ProtocolError) -> Self {
        match e {
            tillcard_protocol::wire::ProtocolError::TooLarge => HqError::TooLarge,
            other => HqError::BadRequest(other.to_string()),
        }
    }
}

impl HqError {
    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            HqError::BadRequest(_) => StatusCode::BAD_REQUEST,
            HqError::Unauthorized(..) => StatusCode::UNAUTHORIZED,
            HqError::Forbidden(..) => StatusCode::FORBIDDEN,
            HqError::Refused(status, ..) => *status,
            HqError::NotFound => StatusCode::NOT_FOUND,
            HqError::Conflict(_) | HqError::SequenceConflict(..) => StatusCode::CONFLICT,
            HqError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            HqError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            HqError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            HqError::BadRequest(_) => "bad_request",
            HqError::Unauthorized(code, _) | HqError::Forbidden(code, _) => code,
            HqError::Refused(_, code, _) => code,
            HqError::NotFound => "not_found",
            HqError::Conflict(_) | HqError::SequenceConflict(..) => "sequence_conflict",
            HqError::TooLarge => "too_large",
            HqError::Unavailable(_) => "store_unavailable",
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
        match &self {
            HqError::Internal(source) => tracing::error!(error = %source, "internal error"),
            HqError::Unavailable(source) => {
                tracing::error!(error = %source, "store unavailable");
            }
            _ => {}
        }
        if let HqError::SequenceConflict(message, held_seq) = &self {
            let body = ErrorBody {
                error: self.code().to_string(),
                message: message.clone(),
                held_seq: Some(*held_seq),
                class: Some(refusal_class(self.code(), self.status())),
            };
            let mut response = (self.status(), axum::Json(body)).into_response();
            response.extensions_mut().insert(ErrorCode(self.code()));
            return response;
        }
        error_response(self.status(), self.code(), self.to_string())
    }
}

/// The one table of refusal classes (`sync/PROTOCOL.md`, "Refusal
/// classes"): the class of every error code a terminal's requests can be
/// refused with. A code not listed has its status's class
/// ([`RefusalClass::for_status`]); listing it anyway states it.
pub const REFUSAL_CLASSES: &[(&str, RefusalClass)] = &[
    ("bad_request", RefusalClass::FixAndRetry),
    ("bad_event", RefusalClass::Never),
    ("too_large", RefusalClass::Never),
    ("unsigned", RefusalClass::FixAndRetry),
    ("unknown_terminal", RefusalClass::FixAndRetry),
    ("bad_signature", RefusalClass::FixAndRetry),
    ("stale_request", RefusalClass::RetryLater),
    ("terminal_revoked", RefusalClass::FixAndRetry),
    ("sequence_conflict", RefusalClass::FixAndRetry),
    ("not_found", RefusalClass::FixAndRetry),
    ("internal", RefusalClass::RetryLater),
    ("store_unavailable", RefusalClass::RetryLater),
];

/// The class an error answer with `code` and `status` carries: its row of
/// [`REFUSAL_CLASSES`], else its status's.
pub fn refusal_class(code: &str, status: StatusCode) -> RefusalClass {
    REFUSAL_CLASSES
        .iter()
        .find(|(listed, _)| *listed == code)
        .map_or_else(|| RefusalClass::for_status(status.as_u16()), |(_, c)| *c)
}

/// A JSON error answer: [`ErrorBody`] with `code` and its class, and the
/// code left in the extensions for the request middleware.
fn error_response(status: StatusCode, code: &'static str, message: String) -> Response {
    let body = ErrorBody {
        error: code.to_string(),
        message,
        held_seq: None,
        class: Some(refusal_class(code, status)),
    };
    let mut response = (status, axum::Json(body)).into_response();
    response.extensions_mut().insert(ErrorCode(code));
    response
}

/// What a handler's panic answers (through `CatchPanicLayer`): 500
/// `internal`, never the panic's message.
pub fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    error_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal error".into(),
    )
}

/// Makes every error answer JSON with a documented code: the refusals
/// axum's extractors and router write themselves (a body over the limit, a
/// path id that is not a UUID, a form that does not parse, an unknown route
/// or method) come as plain text; they become [`ErrorBody`]s here. The
/// dashboard's HTML pages are left alone. An extractor's 422 (a body that
/// parses but does not fit) is a 400 `bad_request` like every other
/// malformed request.
pub async fn json_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_html = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if status.is_success()
        || status.is_redirection()
        || is_html
        || response.extensions().get::<ErrorCode>().is_some()
    {
        return response;
    }
    let (status, code) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (status, "too_large"),
        StatusCode::NOT_FOUND => (status, "not_found"),
        StatusCode::METHOD_NOT_ALLOWED => (status, "method_not_allowed"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (status, "unsupported_media_type"),
        s if s.is_server_error() => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        _ => (StatusCode::BAD_REQUEST, "bad_request"),
    };
    // The extractor's own words (e.g. "Invalid URL: UUID parsing failed"),
    // short and about the request's shape, never its values' meaning.
    let (parts, body) = response.into_parts();
    let message = match axum::body::to_bytes(body, 4096).await {
        Ok(bytes) if !bytes.is_empty() => String::from_utf8_lossy(&bytes).into_owned(),
        _ => status
            .canonical_reason()
            .unwrap_or("refused")
            .to_lowercase(),
    };
    let mut answer = error_response(status, code, message);
    // Keep what the refusal said besides its body (a 405's `Allow`).
    for (name, value) in &parts.headers {
        if name != axum::http::header::CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            answer.headers_mut().insert(name.clone(), value.clone());
        }
    }
    answer
}
