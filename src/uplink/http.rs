//! One signed request to head office over HTTP: the pinned or
//! platform-verified client, the answer's status mapped to an
//! [`UplinkError`] (a refusal with its code and class, a server error, a
//! refused certificate), and head office's time read from every answer.

use std::time::Duration;

use tillcard_protocol::client::SignedRequest;
use tillcard_protocol::enrollment::CertificatePin;
use tillcard_protocol::refusal::RefusalClass;
use tillcard_protocol::wire;

use super::UplinkError;
use super::pinning;

/// The HTTP client for head office (`pinning::http_client`): no redirects,
/// the pinned certificate or the platform's roots.
pub(super) fn http_client(
    timeout: Option<Duration>,
    pin: Option<CertificatePin>,
) -> Result<reqwest::Client, UplinkError> {
    pinning::http_client(timeout, pin).map_err(UplinkError::Unreachable)
}

/// A failed request: a refused certificate said as such (the person must
/// not go on), anything else as head office out of reach.
fn request_failed(error: reqwest::Error) -> UplinkError {
    match pinning::certificate_problem(&error) {
        Some(problem) => UplinkError::Certificate(problem),
        None => UplinkError::Unreachable(error.to_string()),
    }
}

/// Sends a signed request and returns the body of a 2xx answer.
pub async fn send(
    http: &reqwest::Client,
    base_url: &str,
    request: SignedRequest,
) -> Result<Vec<u8>, UplinkError> {
    exchange(http, base_url, request).await.0
}

/// [`send`], with head office's time from the answer's
/// `x-tillcard-server-time` (Unix ms) whatever its status: `None` without
/// an answer or the header.
pub(super) async fn exchange(
    http: &reqwest::Client,
    base_url: &str,
    request: SignedRequest,
) -> (Result<Vec<u8>, UplinkError>, Option<i64>) {
    let mut server_ms = None;
    let result = exchange_inner(http, base_url, request, &mut server_ms).await;
    (result, server_ms)
}

async fn exchange_inner(
    http: &reqwest::Client,
    base_url: &str,
    request: SignedRequest,
    server_ms: &mut Option<i64>,
) -> Result<Vec<u8>, UplinkError> {
    let method = reqwest::Method::from_bytes(request.method.as_bytes())
        .map_err(|e| UplinkError::BadAnswer(e.to_string()))?;
    let mut builder = http.request(method, format!("{base_url}{}", request.path_and_query));
    for (name, value) in &request.headers {
        builder = builder.header(*name, value);
    }
    if !request.body.is_empty() {
        builder = builder
            .header("content-type", wire::CONTENT_TYPE)
            .header("content-encoding", wire::CONTENT_ENCODING)
            .body(request.body);
    }
    let response = builder.send().await.map_err(request_failed)?;
    *server_ms = response
        .headers()
        .get(tillcard_protocol::server_clock::HEADER_SERVER_TIME)
        .and_then(|v| v.to_str().ok())
        .and_then(tillcard_protocol::server_clock::parse_server_time);
    let status = response.status().as_u16();
    let body = response
        .bytes()
        .await
        .map_err(|e| UplinkError::Unreachable(e.to_string()))?;
    match status {
        200..=299 => Ok(body.to_vec()),
        400 | 401 | 403 | 404 | 409 | 413 => {
            let answer: Option<wire::ErrorBody> = serde_json::from_slice(&body).ok();
            let (code, detail, class, held_seq) = match answer {
                Some(answer) => (answer.error, answer.message, answer.class, answer.held_seq),
                None => (
                    String::new(),
                    String::from_utf8_lossy(&body).into_owned(),
                    None,
                    None,
                ),
            };
            Err(UplinkError::Refused {
                status,
                class: class.unwrap_or_else(|| RefusalClass::for_status(status)),
                code,
                detail: detail.chars().take(200).collect(),
                held_seq,
            })
        }
        _ => Err(UplinkError::Server(status)),
    }
}
