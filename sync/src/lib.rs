//! Tillcard sync: the wire protocol both ends speak and the head-office
//! service `tillcard-hq`.
//!
//! This crate must never depend on GUI or camera crates: head office runs on
//! servers with neither. It shares the membership rules with the terminal
//! through `tillcard-rules`.
//!
//! Code map:
//! - [`protocol`]: versioned wire types and their encoding (no I/O).
//! - [`auth`]: request signatures, sealed personal data, phone lookup keys.
//! - [`client`]: the terminal's side, so its uplink stays a thin loop.
//! - [`ingest`]: how a batch is applied, as pure planning over loaded state.
//! - [`figures`]: the chain's figures, from store aggregates by pure functions.
//! - [`store`]: the storage trait and its SQLite and PostgreSQL backends.
//! - [`error`]: head office's one HTTP error type.
//! - [`service`]: the HTTP API (its one route table), jobs and graceful
//!   shutdown.
//! - [`admin`]: the typed bodies of the admin API.
//! - [`openapi`]: openapi.json, generated from the route table and the
//!   types' JSON Schemas.
//! - [`dashboard`]: head-office users, sessions and the dashboard web page.
//! - [`metrics`]: the Prometheus `/metrics` registry.
//! - [`loadgen`]: simulated terminals for the load generator and benchmark.
//! - [`config`]: configuration of `tillcard-hq` from its TOML file and the
//!   environment.
//! - [`logging`]: structured logs for both ends, with the privacy caps.
//!
//! Everything but `protocol`, `auth` and `client` is behind the default
//! feature `server`; the terminal uses `default-features = false`.

#[cfg(feature = "server")]
pub mod admin;
pub mod auth;
pub mod client;
#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
pub mod dashboard;
#[cfg(feature = "server")]
pub mod error;
#[cfg(feature = "server")]
pub mod figures;
#[cfg(feature = "server")]
pub mod ingest;
#[cfg(feature = "server")]
pub mod loadgen;
#[cfg(feature = "logging")]
pub mod logging;
#[cfg(feature = "server")]
pub mod metrics;
#[cfg(feature = "server")]
pub mod openapi;
pub mod protocol;
#[cfg(feature = "server")]
pub mod service;
#[cfg(feature = "server")]
pub mod store;

pub use tillcard_rules as rules;
