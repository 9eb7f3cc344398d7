//! Member money at head office: a stored-value cash-out (退卡) or a points
//! adjustment, booked into the member's ledger with the pure rules, and the
//! requests that wait for a second head-office user's approval.
//!
//! What both backends share, with no SQL: the records, the refusals, the
//! one pure plan each backend runs inside its transaction on the ledger it
//! has just read under the member's lock ([`plan`]), and the mapper of a
//! request row. Planning inside the transaction is what makes "a cash-out
//! above the balance is refused" hold at the moment of writing: a batch
//! that spent the stored value a moment earlier is in the ledger read.

use serde::Serialize;
use tillcard_rules::account::MemberAccount;
use tillcard_rules::booking::{self, BookingError};
use tillcard_rules::ids::{MemberId, SourceId, Timestamp};
use tillcard_rules::ledger::LedgerEntry;
use tillcard_rules::money::Money;
use tillcard_rules::program::Program;

use crate::store::rows::SqlRow;
use crate::store::{StoreResult, parse_member};

/// What a member-money action moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoneyMove {
    /// Pays back this much principal (all of it when `None`); the bonus
    /// that goes with it is forfeited ([`booking::book_cash_out`]).
    CashOut(Option<Money>),
    /// Adds (or, negative, takes away) points
    /// ([`booking::book_points_adjustment`]).
    Points(i64),
}

impl MoneyMove {
    /// The kind as stored and listed: `cash_out`, `points_adjustment`.
    pub fn kind(self) -> &'static str {
        match self {
            MoneyMove::CashOut(_) => "cash_out",
            MoneyMove::Points(_) => "points_adjustment",
        }
    }
}

/// A pending request approved by a second user: the booking closes it in
/// the same transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// The request.
    pub request_no: i64,
    /// The approving head-office user (never the requester).
    pub by: String,
    /// When (RFC 3339).
    pub at: String,
}

/// One member-money action to book.
#[derive(Debug, Clone, PartialEq)]
pub struct MoneyBooking {
    /// Whose ledger.
    pub member: MemberId,
    /// What moves.
    pub movement: MoneyMove,
    /// The action's id (every entry carries it).
    pub source: SourceId,
    /// When it is booked.
    pub at: Timestamp,
    /// The program in force (a points lot's expiry follows its policy).
    pub program: Program,
    /// The pending request this booking approves, if any.
    pub approves: Option<Approval>,
}

/// A request to wait for a second approver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMoneyRequest {
    /// Whose money.
    pub member: MemberId,
    /// What would move: a cash-out's amount is fixed when asked.
    pub movement: MoneyMove,
    /// The requester's reason.
    pub reason: String,
    /// The requester.
    pub requested_by: String,
    /// When (RFC 3339).
    pub requested_at: String,
}

/// A rejection of a pending request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoneyDecision {
    /// The request.
    pub request_no: i64,
    /// Who rejects it (never the requester).
    pub by: String,
    /// When (RFC 3339).
    pub at: String,
    /// Why.
    pub note: String,
}

/// A member-money request as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct MoneyRequest {
    /// Its number.
    pub request_no: i64,
    /// Whose money.
    pub member_id: MemberId,
    /// `cash_out` or `points_adjustment`.
    pub kind: String,
    /// A cash-out's principal to pay back, in fen.
    pub amount_fen: Option<i64>,
    /// An adjustment's points (signed).
    pub points: Option<i64>,
    /// The requester's reason.
    pub reason: String,
    /// The requester.
    pub requested_by: String,
    /// When (RFC 3339).
    pub requested_at: String,
    /// `pending`, `approved` or `rejected`.
    pub state: String,
    /// Who approved or rejected it.
    pub decided_by: Option<String>,
    /// When (RFC 3339).
    pub decided_at: Option<String>,
    /// A rejection's reason.
    pub decision_note: Option<String>,
    /// The action booked once approved.
    pub source: Option<String>,
}

impl MoneyRequest {
    /// What the request would move.
    pub fn movement(&self) -> Option<MoneyMove> {
        match self.kind.as_str() {
            "cash_out" => Some(MoneyMove::CashOut(self.amount_fen.map(Money::from_fen))),
            "points_adjustment" => self.points.map(MoneyMove::Points),
            _ => None,
        }
    }
}

/// Why a member-money step was refused. Nothing is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoneyRefusal {
    /// No such member (or erased).
    UnknownMember,
    /// A cash-out of zero or less.
    NonPositiveAmount,
    /// An adjustment of zero points.
    ZeroPoints,
    /// A cash-out above the refundable principal held now.
    AboveBalance {
        /// Asked.
        asked: Money,
        /// Held.
        available: Money,
    },
    /// Taking away more points than the member can use now.
    InsufficientPoints {
        /// Asked.
        asked: i64,
        /// Available.
        available: i64,
    },
    /// The entries would take a balance out of the protocol's bounds.
    OutOfBounds(String),
    /// No such request.
    UnknownRequest,
    /// The request was approved or rejected already.
    RequestClosed,
    /// The requester may not approve or reject their own request.
    SameApprover,
}

/// What a member-money change answers: the refusal, or its result.
pub type MoneyAnswer<T> = StoreResult<Result<T, MoneyRefusal>>;

/// The entries `booking` books on the member's ledger `entries` as read in
/// the booking's transaction, or why not. Pure: the rules' booking on the
/// fold, then the fold's bounds.
pub fn plan(
    booking: &MoneyBooking,
    entries: &[LedgerEntry],
) -> Result<Vec<LedgerEntry>, MoneyRefusal> {
    let account = MemberAccount::fold(MemberAccount::new(booking.member), entries);
    let booked = match booking.movement {
        MoneyMove::CashOut(amount) => {
            booking::book_cash_out(&account, amount, booking.at, booking.source)
        }
        MoneyMove::Points(delta) => booking::book_points_adjustment(
            &booking.program,
            &account,
            delta,
            booking.at,
            booking.source,
        ),
    };
    let planned = booked.map_err(|e| match e {
        BookingError::CashOutAboveBalance { asked, available } => {
            MoneyRefusal::AboveBalance { asked, available }
        }
        BookingError::InsufficientPoints { asked, available } => {
            MoneyRefusal::InsufficientPoints { asked, available }
        }
        BookingError::NonPositiveCashOut => MoneyRefusal::NonPositiveAmount,
        BookingError::ZeroAdjustment => MoneyRefusal::ZeroPoints,
        other => MoneyRefusal::OutOfBounds(other.to_string()),
    })?;
    tillcard_rules::limits::check_entries("entries", &planned)
        .and_then(|()| account.check_entries(&planned))
        .map_err(|e| MoneyRefusal::OutOfBounds(e.to_string()))?;
    Ok(planned)
}

/// Why a request cannot be decided by `by`: unknown, closed, or `by`'s own.
pub(crate) fn decision_refusal(state: Option<(&str, &str)>, by: &str) -> Option<MoneyRefusal> {
    match state {
        None => Some(MoneyRefusal::UnknownRequest),
        Some((state, _)) if state != "pending" => Some(MoneyRefusal::RequestClosed),
        Some((_, requested_by)) if requested_by == by => Some(MoneyRefusal::SameApprover),
        Some(_) => None,
    }
}

/// The columns a new request's INSERT writes, from `request`: kind, amount
/// (fen), points.
pub(crate) fn request_columns(
    request: &NewMoneyRequest,
) -> (&'static str, Option<i64>, Option<i64>) {
    match request.movement {
        MoneyMove::CashOut(amount) => ("cash_out", amount.map(Money::fen), None),
        MoneyMove::Points(points) => ("points_adjustment", None, Some(points)),
    }
}

/// The select list [`money_request_from_row`] reads.
macro_rules! money_request_columns {
    () => {
        "request_no, member_id, kind, amount_fen, points, reason, requested_by, requested_at,
         state, decided_by, decided_at, decision_note, source"
    };
}
pub(crate) use money_request_columns;

/// A request row ([`money_request_columns`]).
pub(crate) fn money_request_from_row(row: &impl SqlRow) -> StoreResult<MoneyRequest> {
    Ok(MoneyRequest {
        request_no: row.integer(0)?,
        member_id: parse_member(row.text(1)?)?,
        kind: row.string(2)?,
        amount_fen: row.optional_integer(3)?,
        points: row.optional_integer(4)?,
        reason: row.string(5)?,
        requested_by: row.string(6)?,
        requested_at: row.string(7)?,
        state: row.string(8)?,
        decided_by: row.optional_string(9)?,
        decided_at: row.optional_string(10)?,
        decision_note: row.optional_string(11)?,
        source: row.optional_string(12)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tillcard_rules::ledger::EntryKind;

    fn booking(movement: MoneyMove) -> MoneyBooking {
        MoneyBooking {
            member: MemberId(uuid::Uuid::from_u128(1)),
            movement,
            source: SourceId(uuid::Uuid::from_u128(9)),
            at: Timestamp::parse_from_rfc3339("2026-03-10T10:00:00+08:00").unwrap(),
            program: Program::default(),
            approves: None,
        }
    }

    fn top_up(principal: i64, bonus: i64) -> Vec<LedgerEntry> {
        vec![LedgerEntry {
            member: MemberId(uuid::Uuid::from_u128(1)),
            source: SourceId(uuid::Uuid::from_u128(2)),
            at: Timestamp::parse_from_rfc3339("2026-03-01T10:00:00+08:00").unwrap(),
            kind: EntryKind::StoredValueCredited {
                principal: Money::from_fen(principal),
                bonus: Money::from_fen(bonus),
                package: None,
            },
        }]
    }

    #[test]
    fn a_cash_out_is_planned_on_the_ledger_read_and_refused_above_it() {
        let ledger = top_up(50_000, 5_000);
        let planned = plan(&booking(MoneyMove::CashOut(None)), &ledger).unwrap();
        assert_eq!(
            planned[0].kind,
            EntryKind::StoredValueCashedOut {
                principal: Money::from_fen(50_000),
                bonus: Money::from_fen(5_000)
            }
        );
        assert_eq!(
            plan(
                &booking(MoneyMove::CashOut(Some(Money::from_fen(50_001)))),
                &ledger
            ),
            Err(MoneyRefusal::AboveBalance {
                asked: Money::from_fen(50_001),
                available: Money::from_fen(50_000)
            })
        );
        assert_eq!(
            plan(&booking(MoneyMove::Points(-1)), &ledger),
            Err(MoneyRefusal::InsufficientPoints {
                asked: 1,
                available: 0
            })
        );
    }

    #[test]
    fn only_another_user_decides_a_pending_request() {
        assert_eq!(
            decision_refusal(None, "b"),
            Some(MoneyRefusal::UnknownRequest)
        );
        assert_eq!(
            decision_refusal(Some(("approved", "a")), "b"),
            Some(MoneyRefusal::RequestClosed)
        );
        assert_eq!(
            decision_refusal(Some(("pending", "a")), "a"),
            Some(MoneyRefusal::SameApprover)
        );
        assert_eq!(decision_refusal(Some(("pending", "a")), "b"), None);
    }
}
