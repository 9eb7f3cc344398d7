//! Terminals' clocks (issue 22, clock skew): head office's time on every
//! answer, and each terminal's skew recorded and flagged.
//!
//! - Every answer, refusals and errors included, carries
//!   `x-tillcard-server-time` (Unix ms): the terminal adopts it
//!   (`tillcard_protocol::server_clock`), so a terminal refused for its
//!   timestamp (`stale_request`) signs its retry with head office's time.
//! - Each authenticated request records the terminal's skew (its wall clock
//!   minus head office's, ms): the `x-tillcard-clock-skew` the terminal
//!   measured, or else what its signed timestamp shows (older terminals,
//!   to the second). A request refused as stale whose signature verifies
//!   outside the window records it too, from the signed timestamp (or the
//!   header). Written only when it moved by [`RECORD_STEP_MS`] or more, so
//!   an idle terminal's polls write nothing.
//! - A skew beyond [`CLOCK_SKEW_FLAG_MS`] either way raises one terminal
//!   flag (the review queue's), when it crosses the threshold (and at most
//!   once per flag interval per terminal).

use std::time::Instant;

use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use tillcard_protocol::server_clock::{
    CLOCK_SKEW_FLAG_MS, HEADER_CLOCK_SKEW, HEADER_SERVER_TIME, parse_clock_skew,
};

use super::{Hq, now};
use crate::error::HqError;
use crate::store::TerminalRecord;

/// A skew is written again once it moved this far (ms) from the one
/// recorded.
pub const RECORD_STEP_MS: i64 = 2_000;

/// Puts head office's time on an answer (the outermost layer: every
/// answer has it).
pub(super) async fn server_time(mut response: Response) -> Response {
    if let Ok(value) = HeaderValue::from_str(&now().timestamp_millis().to_string()) {
        response.headers_mut().insert(HEADER_SERVER_TIME, value);
    }
    response
}

/// The skew a request reports (`x-tillcard-clock-skew`), if well formed.
pub(super) fn reported(headers: &HeaderMap) -> Option<i64> {
    headers
        .get(HEADER_CLOCK_SKEW)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_clock_skew)
}

/// The skew a signed timestamp (Unix s) shows against head office's clock.
pub(super) fn from_timestamp(timestamp: i64) -> i64 {
    timestamp
        .saturating_mul(1000)
        .saturating_sub(now().timestamp_millis())
}

/// Whether a skew is beyond the flag threshold.
pub fn beyond_threshold(skew_ms: i64) -> bool {
    skew_ms.unsigned_abs() > CLOCK_SKEW_FLAG_MS.unsigned_abs()
}

/// The flag's reason for a skew (no personal data).
pub fn flag_reason(skew_ms: i64) -> String {
    let way = if skew_ms >= 0 { "ahead of" } else { "behind" };
    format!(
        "clock_skew: terminal clock {} s {way} head office (flagged beyond {} s)",
        skew_ms.unsigned_abs() / 1000,
        CLOCK_SKEW_FLAG_MS / 1000
    )
}

impl Hq {
    /// Records `terminal`'s skew when it moved, and flags it when it
    /// crossed the threshold.
    pub(super) async fn note_clock_skew(
        &self,
        terminal: &TerminalRecord,
        skew_ms: i64,
    ) -> Result<(), HqError> {
        let previous = terminal.clock_skew_ms;
        if previous.is_some_and(|p| p.abs_diff(skew_ms) < RECORD_STEP_MS.unsigned_abs()) {
            return Ok(());
        }
        let at = now();
        self.store
            .record_clock_skew(terminal.terminal_id, skew_ms, at)
            .await?;
        // A remembered record would record it again at each poll.
        self.poll_cache.forget(terminal.terminal_id);
        if beyond_threshold(skew_ms)
            && !previous.is_some_and(beyond_threshold)
            && self.flags.should_flag(
                &format!("clock_skew:{}", terminal.terminal_id),
                Instant::now(),
            )
        {
            tracing::warn!(terminal = %terminal.terminal_id, skew_ms, "terminal clock skewed: flagged");
            self.store
                .flag_terminal(terminal.terminal_id, &flag_reason(skew_ms), at)
                .await?;
        }
        Ok(())
    }
}
