//! Tillcard's wire protocol: what a terminal and head office say to each
//! other, with no I/O. The terminal links this package alone (never head
//! office's service, storage or web stack); head office builds on it.
//!
//! The contract, precise enough to write a client from, is
//! `sync/PROTOCOL.md`; where each module sits in the whole system is
//! ARCHITECTURE.md's code map.
//!
//! Features: `schema` adds the JSON Schema derives head office's
//! openapi.json is made from; `logging` the one log set-up (with the
//! privacy caps) both ends use.

pub mod auth;
pub mod base45;
pub mod card;
pub mod client;
pub mod enrollment;
#[cfg(feature = "logging")]
pub mod logging;
pub mod receipt;
pub mod refusal;
pub mod registration;
pub mod server_clock;
pub mod staff;
pub mod trust;
pub mod wire;

pub use tillcard_rules as rules;
