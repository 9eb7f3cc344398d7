//! Walk-in sales returned twice (issue 24) at head office: a sale with no
//! member refunded beyond what was sold, across terminals
//! ([`crate::ingest::returns`]). A member's sale becomes a `returned_twice`
//! conflict in the member's queue; a walk-in has no member, so it becomes
//! a store-level flag here (`walk_in_returns`), written by ingest in the
//! batch's transaction. Head-office staff who work the conflicts see the
//! open flags beside them and acknowledge each (audited, subject
//! `walk_in_return:<flag_no>`): acknowledged, a flag keeps who and when
//! and leaves the open list. A trait of its own beside [`super::Store`],
//! which requires it; each backend keeps it in its `walk_in_returns` file.
//! No personal data: a walk-in has none.

use super::back_office::{AuditEntry, BackOfficeRefusal};
use super::rows::SqlRow;
use super::{BackOffice, StoreResult, parse_source, parse_terminal};

/// The most open flags one listing returns.
pub const WALK_IN_RETURNS_SHOWN: i64 = 500;

// One statement text for both backends: SQLite reads `$n` as a named
// parameter numbered by first appearance, so each statement names its
// parameters in order.

/// The open flags, newest first (`$1`: at most).
pub(crate) const OPEN_SQL: &str = "SELECT flag_no, sale_id, sold_at, returned_at, lines,
        terminal_id, seq, at, state, acknowledged_by, acknowledged_at
     FROM walk_in_returns WHERE state = 'open' ORDER BY flag_no DESC LIMIT $1";

/// Every flag of one sale, oldest first (`$1`: the sale id).
pub(crate) const OF_SALE_SQL: &str = "SELECT flag_no, sale_id, sold_at, returned_at, lines,
        terminal_id, seq, at, state, acknowledged_by, acknowledged_at
     FROM walk_in_returns WHERE sale_id = $1 ORDER BY flag_no";

/// A flag raised by a batch: sale, sold at, returned at, lines, the
/// uploading terminal, the event's seq, head office's moment (RFC 3339).
pub(crate) const INSERT_SQL: &str = "INSERT INTO walk_in_returns
        (sale_id, sold_at, returned_at, lines, terminal_id, seq, at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// Acknowledges an open flag (`$1` by whom, `$2` when, `$3` its number):
/// no row when it is unknown or acknowledged already.
pub(crate) const ACKNOWLEDGE_SQL: &str = "UPDATE walk_in_returns
     SET state = 'acknowledged', acknowledged_by = $1, acknowledged_at = $2
     WHERE flag_no = $3 AND state = 'open'";

/// Whether a flag exists (`$1` its number).
pub(crate) const EXISTS_SQL: &str = "SELECT count(*) FROM walk_in_returns WHERE flag_no = $1";

/// How the terminals that returned a sale are stored: one column, in
/// order, comma-separated.
pub(crate) fn joined_terminals(terminals: &[tillcard_protocol::wire::TerminalId]) -> String {
    terminals
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// How the lines are stored: one column, `; `-separated.
pub(crate) fn joined_lines(lines: &[String]) -> String {
    lines.join("; ")
}

/// One walk-in sale returned twice, as head office keeps it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct WalkInReturnCase {
    /// The flag's number.
    pub flag_no: i64,
    /// The sale's id.
    pub sale_id: String,
    /// The terminal that sold it.
    pub sold_at: String,
    /// The terminals that returned it, in order.
    pub returned_at: Vec<String>,
    /// The lines refunded beyond what was sold, each
    /// `line N: sold S, refunded R`.
    pub lines: Vec<String>,
    /// The terminal whose batch raised the flag.
    pub terminal_id: String,
    /// The event of that batch that raised it.
    pub seq: i64,
    /// When head office detected it (RFC 3339).
    pub at: String,
    /// `open` or `acknowledged`.
    pub state: String,
    /// The head-office user who acknowledged it.
    pub acknowledged_by: Option<String>,
    /// When (RFC 3339).
    pub acknowledged_at: Option<String>,
}

/// A flag from a row of [`OPEN_SQL`]'s columns (ids checked as they are read).
pub(crate) fn walk_in_return_from_row(row: &impl SqlRow) -> StoreResult<WalkInReturnCase> {
    let split = |text: &str, by: &str| -> Vec<String> {
        text.split(by)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let returned_at = split(row.text(3)?, ",");
    for terminal in &returned_at {
        parse_terminal(terminal)?;
    }
    Ok(WalkInReturnCase {
        flag_no: row.integer(0)?,
        sale_id: parse_source(row.text(1)?)?.0.to_string(),
        sold_at: parse_terminal(row.text(2)?)?.to_string(),
        returned_at,
        lines: split(row.text(4)?, "; "),
        terminal_id: parse_terminal(row.text(5)?)?.to_string(),
        seq: row.integer(6)?,
        at: row.string(7)?,
        state: row.string(8)?,
        acknowledged_by: row.optional_string(9)?,
        acknowledged_at: row.optional_string(10)?,
    })
}

/// The subject of a flag in the audit trail.
pub fn subject(flag_no: i64) -> String {
    format!("walk_in_return:{flag_no}")
}

/// Why an acknowledgement touched no row: `exists` says whether the flag
/// exists at all.
pub(crate) fn not_open(exists: bool) -> BackOfficeRefusal {
    if exists {
        BackOfficeRefusal::WalkInReturnAcknowledged
    } else {
        BackOfficeRefusal::UnknownWalkInReturn
    }
}

/// Head office's walk-in sales returned twice.
#[async_trait::async_trait]
pub trait WalkInReturnStore {
    /// The open flags, newest first, at most `limit`.
    async fn open_walk_in_returns(&self, limit: i64) -> StoreResult<Vec<WalkInReturnCase>>;
    /// Every flag of one sale (open or not), oldest first.
    async fn walk_in_returns_of(&self, sale_id: &str) -> StoreResult<Vec<WalkInReturnCase>>;
    /// Acknowledges an open flag as `by` at `at` (RFC 3339), with its
    /// audit row, in one transaction. Refused: unknown, or acknowledged
    /// already.
    async fn acknowledge_walk_in_return(
        &self,
        flag_no: i64,
        by: &str,
        at: &str,
        audit: &AuditEntry,
    ) -> BackOffice<()>;
}
