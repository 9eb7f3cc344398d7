//! Shared by the printer's integration tests: a spooler tuned for tests
//! (short retries and timeouts) and a wait for an event on its channel.

#![allow(dead_code, reason = "each test binary uses some of the helpers")]

use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use tillcard_print::transport::Timeouts;
use tillcard_print::{Paper, SpoolEvent, SpoolerConfig, Transport};

/// A spooler configuration with waits short enough for tests.
pub fn quick_config(transport: Transport, paper: Paper) -> SpoolerConfig {
    let mut config = SpoolerConfig::new(transport, paper);
    config.timeouts = Timeouts {
        connect: Duration::from_millis(500),
        write: Duration::from_millis(500),
        status: Duration::from_millis(200),
    };
    config.retry_every = Duration::from_millis(30);
    config.give_up_after = Duration::from_secs(20);
    config.idle_poll = None;
    config
}

/// Waits (at most ten seconds) for an event that `wanted` accepts; returns
/// every event seen up to and including it.
pub fn wait_for(
    events: &Receiver<SpoolEvent>,
    wanted: impl Fn(&SpoolEvent) -> bool,
) -> Vec<SpoolEvent> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match events.recv_timeout(left) {
            Ok(event) => {
                let done = wanted(&event);
                seen.push(event);
                if done {
                    return seen;
                }
            }
            Err(_) => break,
        }
    }
    panic!("the event did not come; seen: {seen:?}");
}
