//! Tillcard terminal library: everything the `tillcard` binary does, reachable
//! from tests.
//!
//! Data flows from a camera frame to a verified member ([`scan`]), through
//! the cashier's flows ([`counter`], driven by the Slint adapters in [`ui`])
//! and one SQLite transaction each ([`store`]), to head office ([`uplink`]).
//! What every module owns, the invariants that hold across them and the
//! entry points are in ARCHITECTURE.md, the one code map (section "Inside
//! the terminal").

pub use tillcard_rules as rules;

pub mod assets;
pub mod cli;
pub mod clock;
pub mod config;
pub mod counter;
pub mod demo;
pub mod demo_catalog;
pub mod format;
pub mod headless;
pub mod logging;
pub mod pins;
pub mod saved_files;
pub mod scan;
pub mod sealed_store;
pub mod server_time;
pub mod sound;
pub mod store;
pub mod store_key;
pub mod terminal;
pub mod threads;
pub mod ui;
pub mod uplink;

/// Entry point of the `tillcard` binary: parses the arguments and runs the
/// chosen command.
pub fn run(args: Vec<String>) -> anyhow::Result<()> {
    cli::run(args)
}
