//! The terminal's corrected clock (issue 22, clock skew): head office's
//! time, learned from every answer (`tillcard_protocol::server_clock`),
//! anchored to the monotonic clock. What the store, the uplink and the
//! counter read as "now" on a running terminal:
//!
//! - Before head office was ever heard, the time is anchored once, at the
//!   first reading, to the wall clock (plus the offset learned before the
//!   last restart, `store::clock_offset`); from then on it moves with the
//!   monotonic clock only. Setting the wall clock forwards or back changes
//!   nothing a running terminal reads: not the signed timestamps, not the
//!   day of the offline allowance, not the lockouts (those run on the
//!   monotonic clock anyway).
//! - Every answer of head office (refusals included) re-anchors it when
//!   it is more than a second off (`ServerClock::observe`); the uplink then
//!   persists the offset, so a restart offline still knows it.
//! - [`Clock::wall_skew_ms`] (the wall clock minus the corrected time) is
//!   what every signed request reports to head office.
//!
//! What a restart cannot know: how far the wall clock moved while the
//! terminal was off. A restart anchors to the wall clock plus the persisted
//! offset; the next answer of head office corrects it (and head office
//! records the skew the terminal reports).

use std::sync::{Arc, Mutex, PoisonError};

use tillcard_protocol::server_clock::ServerClock;
use tillcard_rules::Timestamp;

use crate::clock::Clock;

/// A [`Clock`] corrected to head office's time.
pub struct CorrectedClock {
    inner: Arc<dyn Clock>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    clock: ServerClock,
    /// Head office's time is known (heard this run, or its offset restored
    /// from before a restart): the skew may be reported.
    known: bool,
    /// Heard from head office in this run (a restored offset no longer
    /// re-anchors).
    heard: bool,
}

impl CorrectedClock {
    /// `inner` corrected (its wall clock until head office is heard).
    pub fn new(inner: Arc<dyn Clock>) -> Arc<CorrectedClock> {
        Arc::new(CorrectedClock {
            inner,
            state: Mutex::new(State::default()),
        })
    }

    /// At start-up: head office's time minus the wall clock as learned
    /// before the restart (ms). Re-anchors to the wall clock plus it, unless
    /// head office was heard since the start.
    pub fn restore_offset(&self, offset_ms: i64) {
        let mono = self.inner.monotonic_ms();
        let wall = self.inner.now().timestamp_millis();
        let mut state = self.lock();
        if !state.heard {
            state.clock = ServerClock::anchored(wall.saturating_add(offset_ms), mono);
            state.known = true;
        }
    }

    /// The corrected time minus the wall clock (ms): what is persisted.
    pub fn offset_ms(&self) -> Option<i64> {
        self.wall_skew_ms().map(i64::saturating_neg)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The corrected Unix ms at monotonic `mono`, anchoring to the wall
    /// clock on the first reading.
    fn corrected_ms(&self, mono: u64) -> i64 {
        let mut state = self.lock();
        if let Some(ms) = state.clock.now_ms(mono) {
            return ms;
        }
        let wall = self.inner.now().timestamp_millis();
        state.clock = ServerClock::anchored(wall, mono);
        wall
    }
}

impl Clock for CorrectedClock {
    fn now(&self) -> Timestamp {
        let wall = self.inner.now();
        let ms = self.corrected_ms(self.inner.monotonic_ms());
        chrono::DateTime::from_timestamp_millis(ms)
            .map_or(wall, |utc| utc.with_timezone(wall.offset()))
    }

    fn monotonic_ms(&self) -> u64 {
        self.inner.monotonic_ms()
    }

    fn observe_server_time(
        &self,
        server_ms: i64,
        sent_mono: u64,
        received_mono: u64,
    ) -> Option<i64> {
        let moved = {
            let mut state = self.lock();
            let first = !state.heard;
            state.heard = true;
            state.known = true;
            // The first answer of a run always anchors: a restored offset is
            // a guess.
            if first {
                state.clock = ServerClock::new();
            }
            state.clock.observe(server_ms, sent_mono, received_mono) || first
        };
        if moved { self.offset_ms() } else { None }
    }

    fn wall_skew_ms(&self) -> Option<i64> {
        if !self.lock().known {
            return None;
        }
        let wall = self.inner.now().timestamp_millis();
        let corrected = self.corrected_ms(self.inner.monotonic_ms());
        Some(wall.saturating_sub(corrected))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;

    fn start() -> Timestamp {
        Timestamp::parse_from_rfc3339("2026-12-01T10:00:00+08:00").unwrap()
    }

    #[test]
    fn a_wall_clock_jump_does_not_move_the_corrected_time() {
        let fake = Arc::new(FakeClock::at(start()));
        let clock = CorrectedClock::new(fake.clone());
        let before = clock.now();
        fake.set_wall(start() + chrono::Duration::days(3));
        let after = clock.now();
        println!("before {before}, after a 3-day jump {after}");
        assert!((after - before).num_seconds().abs() < 1);
        assert_eq!(clock.wall_skew_ms(), None, "head office not heard yet");
    }

    #[test]
    fn head_offices_time_is_adopted_and_the_skew_reported() {
        let fake = Arc::new(FakeClock::at(start()));
        let clock = CorrectedClock::new(fake.clone());
        let server = (start() - chrono::Duration::hours(3)).timestamp_millis();
        let mono = fake.monotonic_ms();
        let offset = clock.observe_server_time(server, mono, mono);
        println!(
            "offset learned {offset:?} ms, skew {:?} ms",
            clock.wall_skew_ms()
        );
        assert!(offset.is_some_and(|o| (o + 10_800_000).abs() < 100));
        assert!(
            clock
                .wall_skew_ms()
                .is_some_and(|s| (s - 10_800_000).abs() < 100)
        );
        assert!((clock.now().timestamp_millis() - server).abs() < 100);
        // A restart that restores the offset starts from the same time.
        let restarted = CorrectedClock::new(fake.clone());
        restarted.restore_offset(offset.unwrap_or_default());
        assert!((restarted.now().timestamp_millis() - server).abs() < 100);
    }
}
