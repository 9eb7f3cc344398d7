//! Head office's time as a terminal learns it (issue 22, clock skew), with
//! no I/O: every answer of head office carries its clock
//! ([`HEADER_SERVER_TIME`], Unix milliseconds), refusals included; the
//! terminal anchors the latest reading to its monotonic clock, so the
//! corrected time it signs with ([`ServerClock::now_ms`]) moves with the
//! monotonic clock alone: setting the terminal's wall clock forwards or back
//! afterwards does not move it. Each signed request then tells head office
//! how far the terminal's wall clock is off ([`HEADER_CLOCK_SKEW`]).
//!
//! The anchor is the midpoint of the exchange (NTP's assumption: the answer
//! was stamped halfway between sending and receiving), so the error is at
//! most half the round trip. A new reading replaces the anchor only when it
//! disagrees with the running estimate by more than [`REANCHOR_MS`] (or
//! when there was none): the corrected time does not jitter with every
//! round trip's noise.

/// Header on every answer of head office, refusals included: head office's
/// clock when it answered (Unix milliseconds, decimal digits).
pub const HEADER_SERVER_TIME: &str = "x-tillcard-server-time";
/// Header a terminal adds to each signed request once it has heard head
/// office's time: its own wall clock minus head office's time, in
/// milliseconds (signed decimal; positive = the terminal is ahead).
pub const HEADER_CLOCK_SKEW: &str = "x-tillcard-clock-skew";
/// A skew beyond this (either way, milliseconds) raises a terminal flag at
/// head office (`clock_skew`): two minutes, well inside the five-minute
/// freshness window, so a drifting clock is seen before it is refused.
pub const CLOCK_SKEW_FLAG_MS: i64 = 120_000;
/// The largest skew the header may state (ten years, in milliseconds);
/// anything beyond is ignored as garbage.
pub const MAX_CLOCK_SKEW_MS: i64 = 10 * 366 * 24 * 3_600_000;
/// A reading further than this from the running estimate re-anchors it.
pub const REANCHOR_MS: i64 = 1_000;
/// The error code of a request refused for its timestamp (outside the
/// freshness window): the terminal adopts head office's time from the same
/// answer and retries at once.
pub const SKEW_REFUSAL: &str = "stale_request";

/// Reads [`HEADER_SERVER_TIME`]: decimal digits, after 2000-01-01 and
/// before 2200-01-01 (else `None`: a proxy's or a broken clock's value is
/// not adopted).
pub fn parse_server_time(text: &str) -> Option<i64> {
    const LOW: i64 = 946_684_800_000;
    const HIGH: i64 = 7_258_118_400_000;
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<i64>()
        .ok()
        .filter(|ms| (LOW..HIGH).contains(ms))
}

/// Reads [`HEADER_CLOCK_SKEW`]: an optional `-` and decimal digits within
/// [`MAX_CLOCK_SKEW_MS`] either way.
pub fn parse_clock_skew(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<i64>()
        .ok()
        .filter(|ms| ms.unsigned_abs() <= MAX_CLOCK_SKEW_MS.unsigned_abs())
}

/// Head office's time anchored to the terminal's monotonic clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerClock {
    /// (head office's Unix ms, the monotonic reading it corresponds to).
    anchor: Option<(i64, u64)>,
}

impl ServerClock {
    /// Nothing heard yet.
    pub fn new() -> ServerClock {
        ServerClock::default()
    }

    /// An anchor taken from elsewhere (a time estimate at start-up: the
    /// wall clock plus the offset learned before the restart).
    pub fn anchored(server_ms: i64, mono_ms: u64) -> ServerClock {
        ServerClock {
            anchor: Some((server_ms, mono_ms)),
        }
    }

    /// Whether a time is anchored.
    pub fn is_anchored(&self) -> bool {
        self.anchor.is_some()
    }

    /// The corrected time (Unix ms) at monotonic reading `mono_ms`; `None`
    /// before any anchor.
    pub fn now_ms(&self, mono_ms: u64) -> Option<i64> {
        let (server_ms, at) = self.anchor?;
        let elapsed = i64::try_from(mono_ms.saturating_sub(at)).unwrap_or(i64::MAX);
        // A reading before the anchor (a clock read on another thread just
        // before) counts as the anchor itself: never earlier than it.
        Some(server_ms.saturating_add(elapsed))
    }

    /// Takes head office's time `server_ms` from an answer to a request
    /// sent at monotonic `sent_mono` and received at `received_mono`.
    /// Returns whether the anchor moved (then the caller may persist the
    /// new offset).
    pub fn observe(&mut self, server_ms: i64, sent_mono: u64, received_mono: u64) -> bool {
        let (low, high) = if sent_mono <= received_mono {
            (sent_mono, received_mono)
        } else {
            (received_mono, sent_mono)
        };
        let midpoint = low + (high - low) / 2;
        if let Some(estimate) = self.now_ms(midpoint)
            && estimate.abs_diff(server_ms) <= REANCHOR_MS.unsigned_abs()
        {
            return false;
        }
        self.anchor = Some((server_ms, midpoint));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_corrected_time_moves_with_the_monotonic_clock_only() {
        let mut clock = ServerClock::new();
        assert_eq!(clock.now_ms(5), None);
        assert!(clock.observe(1_800_000_000_000, 100, 300));
        assert_eq!(clock.now_ms(200), Some(1_800_000_000_000));
        assert_eq!(clock.now_ms(10_200), Some(1_800_000_010_000));
        // A reading within the tolerance leaves the anchor alone.
        assert!(!clock.observe(1_800_000_010_400, 10_100, 10_300));
        assert_eq!(clock.now_ms(10_200), Some(1_800_000_010_000));
        // One beyond it re-anchors.
        assert!(clock.observe(1_800_000_020_000, 10_100, 10_300));
        assert_eq!(clock.now_ms(10_200), Some(1_800_000_020_000));
        // Readings before the anchor never go earlier than it.
        assert_eq!(clock.now_ms(0), Some(1_800_000_020_000));
    }

    #[test]
    fn header_values_are_held_to_their_shapes() {
        assert_eq!(parse_server_time("1800000000000"), Some(1_800_000_000_000));
        for bad in [
            "",
            "-1",
            "+1800000000000",
            "18e11",
            "1",
            "99999999999999999999",
        ] {
            assert_eq!(parse_server_time(bad), None, "{bad}");
        }
        assert_eq!(parse_clock_skew("-10800000"), Some(-10_800_000));
        assert_eq!(parse_clock_skew("0"), Some(0));
        for bad in ["", "-", "+5", "1.5", "--1", "9999999999999999"] {
            assert_eq!(parse_clock_skew(bad), None, "{bad}");
        }
    }
}
