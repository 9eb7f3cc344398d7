//! Tillcard terminal library.
//!
//! Code map:
//! - `tillcard_rules` (the `rules/` crate): the membership program, pure.
//! - [`scan`]: frames and keyboard-wedge scanners to a verified member
//!   (`docs/SCANNING.md`, card format in `docs/CREDENTIAL.md`).
//! - [`cli`]: the command line (`tillcard decode ...`).

pub use tillcard_rules as rules;

pub mod cli;
pub mod scan;

/// Entry point of the `tillcard` binary: parses the arguments and runs the
/// chosen command.
pub fn run(args: Vec<String>) -> anyhow::Result<()> {
    cli::run(args)
}
