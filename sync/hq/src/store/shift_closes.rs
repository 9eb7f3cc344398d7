//! Terminals' shift closes (Z reports, issue 24) at head office: each
//! `shift_closed` event's report, kept under the store its terminal
//! uploaded from (`shift_closes`, written by ingest with the batch). A
//! trait of its own beside [`super::Store`], which requires it; each
//! backend keeps it in its `shift_closes` file. The API lists a store's
//! newest closes; the console pages through a time range by key
//! ([`ShiftClosePage`]) and opens one close.

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

/// Where a page of closes resumes: the last close of the page before, in
/// the listing's order (closed at, newest first; then terminal id; then
/// sequence number, highest first). A key rather than an offset, so a
/// close uploaded while an operator pages does not shift the pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftCloseKey {
    /// The close's moment, ms since the Unix epoch.
    pub closed_at_ms: i64,
    /// Its terminal.
    pub terminal_id: String,
    /// Its sequence number at that terminal.
    pub seq: i64,
}

impl ShiftCloseKey {
    /// The key of `close`.
    pub fn of(close: &ShiftCloseRecord) -> ShiftCloseKey {
        ShiftCloseKey {
            closed_at_ms: close.closed_at_ms,
            terminal_id: close.terminal_id.clone(),
            seq: close.seq,
        }
    }
}

/// One page of a store's closes, as the console asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftClosePage {
    /// The store.
    pub store: String,
    /// Closes at or after this moment (ms since the Unix epoch).
    pub since_ms: i64,
    /// Closes before this moment.
    pub until_ms: i64,
    /// Closes after this one in the listing's order; `None` from the
    /// newest.
    pub after: Option<ShiftCloseKey>,
    /// At most this many (the caller bounds it).
    pub limit: i64,
}

/// Head office's shift closes.
#[async_trait::async_trait]
pub trait ShiftCloseStore {
    /// The closes of `store`'s terminals, newest first, at most `limit`.
    async fn shift_closes(&self, store: &str, limit: i64) -> StoreResult<Vec<ShiftCloseRecord>>;

    /// One page of a store's closes in a time range, in the same order as
    /// [`ShiftCloseStore::shift_closes`].
    async fn shift_close_page(&self, page: &ShiftClosePage) -> StoreResult<Vec<ShiftCloseRecord>>;

    /// The close `shift_id` of `terminal_id`, if head office holds it.
    async fn shift_close(
        &self,
        terminal_id: &str,
        shift_id: &str,
    ) -> StoreResult<Option<ShiftCloseRecord>>;
}
