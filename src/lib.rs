//! Tillcard terminal library: everything the `tillcard` binary does, reachable
//! from tests.
//!
//! Code map (data flows top to bottom):
//! - `tillcard_rules` (the `rules/` crate, re-exported as [`rules`]): the
//!   membership program, pure functions over data.
//! - [`format`]: how money, discounts and personal data are shown (zh-CN, en).
//! - [`demo`]: the embedded demo program, member and basket.

pub mod demo;
pub mod format;

pub use tillcard_rules as rules;

/// Entry point of the `tillcard` binary: parses the arguments and runs the
/// chosen command.
pub fn run(args: Vec<String>) -> anyhow::Result<()> {
    let _ = args;
    let now = chrono::Local::now().fixed_offset();
    print!("{}", demo::demo_text(now)?);
    Ok(())
}
