//! Tillcard terminal library.
//!
//! Code map:
//! - `tillcard_rules` (the `rules/` crate): the membership program, pure.

pub use tillcard_rules as rules;

/// Entry point of the `tillcard` binary: parses the arguments and runs the
/// chosen command.
pub fn run(args: Vec<String>) -> anyhow::Result<()> {
    let _ = args;
    println!("tillcard {}", env!("CARGO_PKG_VERSION"));
    Ok(())
}
