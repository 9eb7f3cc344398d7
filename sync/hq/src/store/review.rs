//! The conflicts as a work queue: what the stores hold about each one
//! beyond what ingest recorded (its state, who has it, how it closed).
//!
//! A conflict is `open` when a batch records it. An operator may assign it
//! to a head-office user; it closes once, `resolved` (with the action taken:
//! `accept`, `freeze`) or `dismissed` (with the reason). A closed conflict
//! changes no more.

use serde::Serialize;
use tillcard_protocol::wire::TerminalId;
use tillcard_rules::ids::MemberId;

/// A conflict by its key: the member's, and its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ConflictId {
    /// The member concerned.
    pub member: MemberId,
    /// The conflict's number (unique across the chain).
    pub number: i64,
}

/// One conflict in the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ConflictCase {
    /// The member concerned.
    pub member_id: MemberId,
    /// The conflict's number.
    pub conflict_no: i64,
    /// `duplicate_phone`, `coupon_used_twice`, `negative_balance`, ...
    pub kind: String,
    /// What exactly (no personal data).
    pub reason: String,
    /// The terminal whose event raised it.
    pub terminal_id: Option<TerminalId>,
    /// That event's sequence number.
    pub seq: Option<u64>,
    /// When head office recorded it (RFC 3339).
    pub at: String,
    /// `open`, `resolved` or `dismissed`.
    pub state: String,
    /// The head-office user it is assigned to, if any.
    pub assignee: Option<String>,
    /// How it was resolved (`accept`, `freeze`), once resolved.
    pub resolution: Option<String>,
    /// The closing note or the dismissal's reason.
    pub note: Option<String>,
    /// Who closed it.
    pub closed_by: Option<String>,
    /// When (RFC 3339).
    pub closed_at: Option<String>,
}

/// How an open conflict closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictClose {
    /// `resolved` or `dismissed`.
    pub state: &'static str,
    /// The action taken, for a resolution.
    pub resolution: Option<&'static str>,
    /// The note or reason.
    pub note: String,
    /// Who closes it.
    pub by: String,
    /// When (RFC 3339).
    pub at: String,
}

/// What waits for review by kind and age, one statement for both backends
/// (`$1` a day ago, `$2` a week ago, UTC to the second: head office records
/// every item's moment at its own clock in UTC, so they compare as text):
/// open conflicts by their kind, every dead letter and terminal flag.
/// Rows: kind, under a day, a day to a week, older.
pub(crate) const REVIEW_AGES_SQL: &str = "SELECT kind,
        coalesce(sum(CASE WHEN at >= $1 THEN 1 ELSE 0 END), 0),
        coalesce(sum(CASE WHEN at < $1 AND at >= $2 THEN 1 ELSE 0 END), 0),
        coalesce(sum(CASE WHEN at < $2 THEN 1 ELSE 0 END), 0)
     FROM (SELECT kind, at FROM conflicts WHERE state = 'open'
           UNION ALL SELECT 'dead_letter' AS kind, at FROM dead_letters
           UNION ALL SELECT 'terminal_flag' AS kind, at FROM terminal_flags) items
     GROUP BY kind ORDER BY kind";
