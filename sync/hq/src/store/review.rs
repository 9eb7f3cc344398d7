//! The review queue: conflicts, dead letters and terminal flags, and what
//! the stores hold about each one beyond what ingest recorded (its state,
//! who has it, how it closed).
//!
//! A conflict is `open` when a batch records it. An operator may assign it
//! to a head-office user; it closes once, `resolved` (with the action taken:
//! `accept`, `freeze`) or `dismissed` (with the reason). A closed conflict
//! changes no more.

use serde::Serialize;
use tillcard_protocol::wire::TerminalId;
use tillcard_rules::ids::MemberId;

use crate::ingest::Plan;
use crate::store::back_office::{AuditEntry, BackOfficeRefusal};

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
/// open conflicts by their kind, open dead letters, open terminal flags and
/// open walk-in sales returned twice (what was closed, dismissed,
/// re-applied or acknowledged waits for no one).
/// Rows: kind, under a day, a day to a week, older.
pub(crate) const REVIEW_AGES_SQL: &str = "SELECT kind,
        coalesce(sum(CASE WHEN at >= $1 THEN 1 ELSE 0 END), 0),
        coalesce(sum(CASE WHEN at < $1 AND at >= $2 THEN 1 ELSE 0 END), 0),
        coalesce(sum(CASE WHEN at < $2 THEN 1 ELSE 0 END), 0)
     FROM (SELECT kind, at FROM conflicts WHERE state = 'open'
           UNION ALL SELECT 'dead_letter' AS kind, at FROM dead_letters WHERE state = 'open'
           UNION ALL SELECT 'terminal_flag' AS kind, at FROM terminal_flags WHERE state = 'open'
           UNION ALL SELECT 'walk_in_return' AS kind, at FROM walk_in_returns WHERE state = 'open') items
     GROUP BY kind ORDER BY kind";

/// A dead letter by its key: the terminal's, and the event's sequence
/// number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DeadLetterId {
    /// The terminal that uploaded the event.
    pub terminal: TerminalId,
    /// The event's sequence number.
    pub seq: u64,
}

/// One dead-lettered event in the review queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct DeadLetterCase {
    /// The terminal that uploaded it.
    pub terminal_id: TerminalId,
    /// Its sequence number.
    pub seq: u64,
    /// The event's id.
    pub event_id: String,
    /// The event's kind (`member_enrolled`, `sale_booked`, ...), or
    /// `undecodable`.
    pub kind: Option<String>,
    /// Why: `<code>: <detail>` (the poison codes of PROTOCOL.md).
    pub reason: String,
    /// When head office refused it (RFC 3339).
    pub at: String,
    /// The event's wall time at the terminal (RFC 3339; for a dead letter
    /// from before head office kept it, when it was refused).
    pub wall_time: String,
    /// The body's schema version.
    pub schema_version: u16,
    /// `open` or `dismissed` (a re-applied event leaves the queue).
    pub state: String,
    /// The head-office user it is assigned to, if any.
    pub assignee: Option<String>,
    /// The dismissal's reason.
    pub note: Option<String>,
    /// Who closed it.
    pub closed_by: Option<String>,
    /// When (RFC 3339).
    pub closed_at: Option<String>,
}

/// One suspicion about a terminal in the review queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct FlagCase {
    /// The flag's number.
    pub id: i64,
    /// The terminal flagged.
    pub terminal_id: TerminalId,
    /// Why (a bad signature, a sequence conflict, ...).
    pub reason: String,
    /// When head office flagged it (RFC 3339).
    pub at: String,
    /// `open`, `resolved` or `dismissed`.
    pub state: String,
    /// The head-office user it is assigned to, if any.
    pub assignee: Option<String>,
    /// How it was resolved (`accept`: a false alarm; `revoke`: the
    /// terminal revoked), once resolved.
    pub resolution: Option<String>,
    /// The closing note or the dismissal's reason.
    pub note: Option<String>,
    /// Who closed it.
    pub closed_by: Option<String>,
    /// When (RFC 3339).
    pub closed_at: Option<String>,
}

/// A dead letter or a terminal flag: the items of the review queue beside
/// the conflicts, assigned and closed alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewItem {
    /// A dead-lettered event.
    DeadLetter(DeadLetterId),
    /// A terminal flag, by its number.
    Flag(i64),
}

impl ReviewItem {
    /// The item's subject in the audit trail: `dead_letter:<terminal>/<seq>`
    /// or `flag:<id>`.
    pub fn subject(self) -> String {
        match self {
            ReviewItem::DeadLetter(id) => format!("dead_letter:{}/{}", id.terminal, id.seq),
            ReviewItem::Flag(id) => format!("flag:{id}"),
        }
    }

    /// Why an update of the open item touched no row: `exists` says
    /// whether the item exists at all.
    pub(crate) fn not_open(self, exists: bool) -> BackOfficeRefusal {
        match (self, exists) {
            (ReviewItem::DeadLetter(_), true) => BackOfficeRefusal::DeadLetterClosed,
            (ReviewItem::DeadLetter(_), false) => BackOfficeRefusal::UnknownDeadLetter,
            (ReviewItem::Flag(_), true) => BackOfficeRefusal::FlagClosed,
            (ReviewItem::Flag(_), false) => BackOfficeRefusal::UnknownFlag,
        }
    }
}

/// What a re-applied dead letter came to, inside its one transaction.
#[derive(Debug, Clone)]
pub enum Reapplied {
    /// The event was planned and written like a batch of one: applied
    /// (`plan.dead` empty), or dead-lettered again (`plan.dead` holds its
    /// new reason).
    Planned(Box<Plan>),
    /// The event was not (or no longer) dead-lettered and open: nothing
    /// was written.
    NotDeadLettered,
}

/// The audit row of a re-apply, once planned: `dead_letter_reapplied`, or
/// `dead_letter_still_refused` with the new reason's code. `base` names
/// the actor, moment and subject.
pub fn reapply_audit(base: &AuditEntry, plan: &Plan) -> AuditEntry {
    let (action, detail) = match plan.dead.first() {
        None => ("dead_letter_reapplied", String::new()),
        Some(dead) => (
            "dead_letter_still_refused",
            dead.reason.code.as_str().to_string(),
        ),
    };
    AuditEntry {
        action: action.into(),
        detail,
        ..base.clone()
    }
}
