//! Scanning: camera frames (or a keyboard-wedge scanner) to a verified member.
//!
//! Data flows one way through these modules:
//! [`frame`] sources ([`camera`], [`file_source`]) → [`pipeline`] (its own
//! thread, newest frame wins) → [`decode`] (QR text) → [`credential`]
//! (offline signature check) → [`directory`] (member lookup) →
//! [`outcome`] (what the clerk is told). [`wedge`] turns a keyboard-wedge
//! scanner's keystrokes into the same text; [`card`] renders member cards;
//! [`signer`] issues them.

pub use tillcard_protocol::base45;
pub mod camera;
pub mod card;
pub mod credential;
pub mod decode;
pub mod directory;
pub mod file_source;
pub mod frame;
pub mod outcome;
pub mod pipeline;
pub mod product;
pub mod signer;
pub mod wedge;
