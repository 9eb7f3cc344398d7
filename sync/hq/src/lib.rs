//! Tillcard head office (`tillcard-hq`): receives every terminal's signed
//! event batches, holds the chain's membership ledger on SQLite or
//! PostgreSQL, sends program rules, member updates and revocations back
//! down, and serves the dashboard and admin API.
//!
//! It speaks the wire protocol of `tillcard-protocol`, shares the
//! membership rules with the terminal through `tillcard-rules`, and never
//! depends on GUI or camera crates: head office runs on servers with
//! neither. Where each module sits, its invariants and entry points:
//! ARCHITECTURE.md's code map.

pub mod admin;
pub mod campaigns;
pub mod catalog_import;
pub mod cli;
pub mod config;
pub mod console;
pub mod dashboard;
pub mod error;
pub mod figures;
pub mod ingest;
pub mod jobs;
pub mod loadgen;
pub mod metrics;
pub mod openapi;
pub mod personal;
pub mod service;
pub mod store;

pub use tillcard_rules as rules;
