//! Tillcard sync: the wire protocol both ends speak and, later, the
//! head-office service `tillcard-hq`.
//!
//! This crate must never depend on GUI or camera crates: head office runs on
//! servers with neither. It shares the membership rules with the terminal
//! through `tillcard-rules`.

pub use tillcard_rules as rules;
