//! Terminals' shift closes (Z reports, issue 24) at head office: each
//! `shift_closed` event's report, kept under the store its terminal
//! uploaded from (`shift_closes`, written by ingest with the batch). A
//! trait of its own beside [`super::Store`], which requires it; each
//! backend keeps it in its `shift_closes` file.

use tillcard_rules::shift::ShiftReport;

use super::StoreResult;

/// The most closes one listing returns.
pub const SHIFT_CLOSES_LIMIT: i64 = 500;

/// A shift close as head office holds it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct ShiftCloseRecord {
    /// The terminal that closed the shift.
    pub terminal_id: String,
    /// The close's id.
    pub shift_id: String,
    /// The close event's sequence number at that terminal.
    pub seq: i64,
    /// The store the terminal uploaded it from.
    pub store: String,
    /// The terminal's wall time of the close, ms since the Unix epoch.
    pub closed_at_ms: i64,
    /// The clerk who closed it (id).
    pub closed_by: String,
    /// The report as the terminal printed it.
    pub report: ShiftReport,
}

/// Head office's shift closes.
#[async_trait::async_trait]
pub trait ShiftCloseStore {
    /// The closes of `store`'s terminals, newest first, at most `limit`.
    async fn shift_closes(&self, store: &str, limit: i64) -> StoreResult<Vec<ShiftCloseRecord>>;
}
