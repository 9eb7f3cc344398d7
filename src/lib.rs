//! Tillcard terminal library: everything the `tillcard` binary does, reachable
//! from tests.
//!
//! Code map (data flows top to bottom):
//! - `tillcard_rules` (the `rules/` crate, re-exported as [`rules`]): the
//!   membership program, pure functions over data.
//! - [`clock`]: where "now" comes from (system or fake).
//! - [`store`]: the durable local store, the only module that writes SQL.
//! - [`scan`]: frames and keyboard-wedge scanners to a verified member
//!   (`docs/SCANNING.md`, card format in `docs/CREDENTIAL.md`).
//! - [`counter`]: the cashier's and manager's flows as controllers (no Slint
//!   types, no SQL, no clock).
//! - [`config`]: the terminal's configuration file.
//! - [`uplink`]: the terminal's side of sync (tokio + reqwest), off the UI thread.
//! - [`format`]: how money, discounts and personal data are shown (zh-CN, en).
//! - [`demo`]: the embedded demo program, member and basket.
//! - [`sound`]: beeps and chimes (rodio), silent without a sound card.
//! - [`terminal`]: the running terminal: store, scanning, uplink and sounds
//!   on their own threads, executing the counter's commands.
//! - [`threads`]: which thread is the UI thread (nothing may block it).
//! - [`ui`]: the Slint adapters, the only code touching generated Slint types.
//! - [`cli`]: the command line (`tillcard`, `tillcard decode ...`).
//! - [`logging`]: `tracing` to stderr/journald, never personal data.

pub use tillcard_rules as rules;

pub mod cli;
pub mod clock;
pub mod config;
pub mod counter;
pub mod demo;
pub mod format;
pub mod logging;
pub mod scan;
pub mod sound;
pub mod store;
pub mod terminal;
pub mod threads;
pub mod ui;
pub mod uplink;

/// Entry point of the `tillcard` binary: parses the arguments and runs the
/// chosen command.
pub fn run(args: Vec<String>) -> anyhow::Result<()> {
    cli::run(args)
}
