//! Tillcard's membership program as pure functions over data.
//!
//! Nothing in this crate reads a clock, touches a file or the network, or
//! draws a random number: time, identifiers and configuration are arguments.
//! That is what makes every rule exhaustively testable, and what lets the
//! terminal and head office price and book with exactly the same code.
//!
//! Code map (data flows top to bottom):
//! - [`money`]: the `Money` newtype (fen), half-up rounding, largest-remainder
//!   allocation.

pub mod money;

pub use money::Money;
