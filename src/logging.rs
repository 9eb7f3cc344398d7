//! The terminal's logs: `tracing` events from the store and the uplink (ids,
//! counts, sequence numbers: never a phone, a name or a birthday), written to
//! stderr, where the kiosk unit hands them to journald
//! (`journalctl -u tillcard-kiosk`). The filter is `RUST_LOG`, default
//! `info`. The policy (privacy caps on chatty dependencies, the
//! `TILLCARD_LOG_DIR` copy used by the test suite's no-personal-data proof)
//! is shared with head office in `tillcard_protocol::logging`.

use tillcard_protocol::logging::{self, LogSettings};

/// Starts logging for the `tillcard` binary. A filter that does not parse is
/// reported and replaced by `info`: a typo in `RUST_LOG` must not keep a
/// till from starting.
pub fn init() {
    if let Err(first) = logging::init("tillcard", &LogSettings::default()) {
        eprintln!("tillcard: {first}; logging at info");
        if let Err(e) = logging::init_fallback("tillcard") {
            eprintln!("tillcard: no logs: {e}");
        }
    }
}

/// For the terminal's test helpers: logs to `TILLCARD_LOG_DIR` at `RUST_LOG`
/// (default `debug`) when that variable is set, else nothing. Safe to call
/// from every test.
pub fn init_for_tests() {
    logging::init_for_tests("tillcard-tests");
}
