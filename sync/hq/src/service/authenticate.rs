//! Who is asking: a terminal's signed request checked (key, timestamp,
//! revocation, replay) and its clock skew recorded; bad signatures flag
//! the terminal, rate-limited per terminal id.

use axum::http::{HeaderMap, Method, Uri};

use super::{Hq, clock_skew, now};
use crate::error::HqError;
use crate::store::TerminalRecord;
use std::time::Instant;
use tillcard_protocol::auth::{self, AuthError};
use tillcard_protocol::wire::TerminalId;

impl Hq {
    /// Checks a signed request; flags the terminal when a signature does not
    /// verify with its registered key (a clone, or a tampered request).
    pub async fn authenticate(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<TerminalRecord, HqError> {
        self.authenticate_from(method, uri, headers, body, false)
            .await
            .map(|(terminal, _)| terminal)
    }

    /// [`Hq::authenticate`] for a downlink poll: against the terminal as
    /// this node remembers it, when read within its bound
    /// ([`super::poll_cache`]); also whether it was read from the database
    /// for this request.
    pub async fn authenticate_poll(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(TerminalRecord, bool), HqError> {
        self.authenticate_from(method, uri, headers, body, true)
            .await
    }

    async fn authenticate_from(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
        remembered: bool,
    ) -> Result<(TerminalRecord, bool), HqError> {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| HqError::Unauthorized("unsigned", format!("missing header {name}")))
        };
        let terminal_id = header(auth::HEADER_TERMINAL)?
            .parse()
            .map(TerminalId)
            .map_err(|_| HqError::Unauthorized("unknown_terminal", "unknown terminal".into()))?;
        // The text signed is the number written back, so only its one
        // canonical form (no sign, no leading zero) is taken.
        let timestamp_text = header(auth::HEADER_TIMESTAMP)?;
        let timestamp: i64 = timestamp_text
            .parse()
            .ok()
            .filter(|t: &i64| t.to_string() == timestamp_text)
            .ok_or_else(|| {
                HqError::Unauthorized(
                    "unsigned",
                    "x-tillcard-timestamp must be Unix seconds in decimal digits".into(),
                )
            })?;
        let signature = header(auth::HEADER_SIGNATURE)?;
        let cached = if remembered {
            self.poll_cache.terminal(terminal_id)
        } else {
            None
        };
        let fresh = cached.is_none();
        let terminal = match cached {
            Some(terminal) => terminal,
            None => {
                let read = Instant::now();
                let Some(terminal) = self.store.terminal(terminal_id).await? else {
                    return Err(HqError::Unauthorized(
                        "unknown_terminal",
                        "unknown terminal".into(),
                    ));
                };
                if remembered {
                    self.poll_cache.remember(&terminal, read);
                }
                terminal
            }
        };
        if terminal.revoked {
            return Err(HqError::Forbidden(
                "terminal_revoked",
                "terminal revoked".into(),
            ));
        }
        let key = auth::decode_public_key(&terminal.public_key).map_err(|_| {
            HqError::Internal(crate::store::StoreError::Corrupt("terminal key".into()))
        })?;
        let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
        match auth::verify_request(
            &key,
            method.as_str(),
            path,
            timestamp,
            signature,
            body,
            now().timestamp(),
        ) {
            Ok(()) => {
                let skew = clock_skew::reported(headers)
                    .unwrap_or_else(|| clock_skew::from_timestamp(timestamp));
                self.record_skew(&terminal, skew).await;
                Ok((terminal, fresh))
            }
            Err(AuthError::Stale) => {
                // Signed by the terminal, only at another time: its skew is
                // recorded (and flagged) before the refusal, which carries
                // head office's time for the terminal to adopt.
                if auth::verify_request(
                    &key,
                    method.as_str(),
                    path,
                    timestamp,
                    signature,
                    body,
                    timestamp,
                )
                .is_ok()
                {
                    let skew = clock_skew::from_timestamp(timestamp);
                    self.record_skew(&terminal, skew).await;
                }
                Err(HqError::Unauthorized(
                    "stale_request",
                    "timestamp outside the freshness window; check the clock (the answer's x-tillcard-server-time is head office's)".into(),
                ))
            }
            // Not 64 bytes of standard base64: a client's bug, not a
            // signature by another key, so the terminal is not flagged.
            Err(AuthError::Malformed) => Err(HqError::Unauthorized(
                "unsigned",
                "x-tillcard-signature must be 64 bytes in standard base64 with padding".into(),
            )),
            Err(_) => {
                self.metrics.bad_signatures.inc();
                // Every such request is refused; its terminal is flagged
                // at most once per interval, so a flood cannot fill the
                // review queue.
                if self
                    .flags
                    .should_flag(&terminal_id.to_string(), Instant::now())
                {
                    tracing::warn!(terminal = %terminal_id, "signature did not verify: flagged");
                    self.store
                        .flag_terminal(
                            terminal_id,
                            "signature did not verify with the registered key (possible clone)",
                            now(),
                        )
                        .await?;
                } else {
                    self.metrics.bad_signature_flags_suppressed.inc();
                    tracing::debug!(terminal = %terminal_id, "signature did not verify: flagged recently");
                }
                Err(HqError::Unauthorized(
                    "bad_signature",
                    "signature does not verify".into(),
                ))
            }
        }
    }

    /// [`Hq::note_clock_skew`], a failure logged: recording a skew never
    /// refuses a request.
    async fn record_skew(&self, terminal: &TerminalRecord, skew_ms: i64) {
        if let Err(error) = self.note_clock_skew(terminal, skew_ms).await {
            tracing::warn!(terminal = %terminal.terminal_id, %error, "clock skew not recorded");
        }
    }
}
