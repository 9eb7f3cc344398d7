//! Where the terminal gets the time from. Everything that needs "now" takes a
//! [`Clock`], so tests and the crash harness can run with a fake one, and the
//! pure rules never see a clock at all.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tillcard_rules::Timestamp;

/// A source of wall time and of a monotonic reading.
pub trait Clock: Send + Sync {
    /// Wall time, in the store's local offset.
    fn now(&self) -> Timestamp;
    /// Milliseconds on a clock that never goes backwards (unaffected by the
    /// wall clock being set). Events carry it so head office can order a
    /// terminal's events even when its wall clock jumped.
    fn monotonic_ms(&self) -> u64;
    /// Head office's time (Unix ms) heard in an answer to a request sent
    /// at monotonic `sent_mono` and answered at `received_mono`. A clock
    /// that corrects itself (`server_time::CorrectedClock`) adopts it and
    /// returns the offset to persist (head office's time minus the wall
    /// clock, ms) when its estimate moved; the plain clocks ignore it.
    fn observe_server_time(
        &self,
        _server_ms: i64,
        _sent_mono: u64,
        _received_mono: u64,
    ) -> Option<i64> {
        None
    }
    /// This terminal's wall clock minus head office's time (ms, positive
    /// when ahead), once head office's time is known; `None` on the plain
    /// clocks.
    fn wall_skew_ms(&self) -> Option<i64> {
        None
    }
}

/// The machine's clocks.
#[derive(Debug)]
pub struct SystemClock {
    started: Instant,
}

impl SystemClock {
    /// A clock whose monotonic reading starts at zero now.
    pub fn new() -> SystemClock {
        SystemClock {
            started: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        chrono::Local::now().fixed_offset()
    }

    fn monotonic_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// A clock that only moves when told to (tests, demos, benchmarks).
#[derive(Debug)]
pub struct FakeClock {
    now: Mutex<Timestamp>,
    monotonic: AtomicU64,
}

impl FakeClock {
    /// A clock stopped at `now`.
    pub fn at(now: Timestamp) -> FakeClock {
        FakeClock {
            now: Mutex::new(now),
            monotonic: AtomicU64::new(0),
        }
    }

    /// Moves both clocks forward.
    pub fn advance(&self, by: chrono::Duration) {
        if let Ok(mut now) = self.now.lock() {
            *now += by;
        }
        let ms = u64::try_from(by.num_milliseconds()).unwrap_or(0);
        self.monotonic.fetch_add(ms, Ordering::SeqCst);
    }

    /// Sets the wall clock alone, forwards or back (someone changing the
    /// PC's time): the monotonic reading does not move.
    pub fn set_wall(&self, to: Timestamp) {
        if let Ok(mut now) = self.now.lock() {
            *now = to;
        }
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Timestamp {
        match self.now.lock() {
            Ok(now) => *now,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }

    fn monotonic_ms(&self) -> u64 {
        // Each reading is distinct so events stay strictly ordered.
        self.monotonic.fetch_add(1, Ordering::SeqCst)
    }
}
