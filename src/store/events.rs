//! The outbox events the terminal sends to head office: one per business
//! action, carrying the ledger entries the action booked. Their JSON form is
//! what the outbox stores; the uplink wraps them for the wire.

use serde::{Deserialize, Serialize};
use tillcard_rules::ledger::LedgerEntry;
use tillcard_rules::pricing::{MonthDay, Quote};
use tillcard_rules::refund::{RefundLine, RefundOutcome};
use tillcard_rules::{MemberId, Money, SourceId, Timestamp};

/// Version of the event bodies below; bumped on any incompatible change.
pub const EVENT_SCHEMA_VERSION: u32 = 1;

/// One business action, as head office needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventBody {
    /// A member enrolled at this terminal.
    MemberEnrolled {
        /// The new member.
        member: MemberId,
        /// The enrollment action.
        source: SourceId,
        /// Phone as clerks see it.
        phone_masked: String,
        /// Name as clerks see it.
        name_masked: String,
        /// Birthday month and day, if given.
        birthday: Option<MonthDay>,
        /// Referrer, if any.
        referred_by: Option<MemberId>,
        /// When consent was given.
        consent_at: Timestamp,
        /// Who enrolled the member.
        clerk: String,
        /// Entries booked (the welcome coupon).
        entries: Vec<LedgerEntry>,
    },
    /// A sale, member or walk-in.
    SaleCommitted {
        /// Who rang it up.
        clerk: String,
        /// The quote as booked (its id is the sale id).
        quote: Box<Quote>,
        /// Entries booked.
        entries: Vec<LedgerEntry>,
    },
    /// A refund of (part of) a sale.
    RefundCommitted {
        /// The refund action.
        refund: SourceId,
        /// The sale refunded.
        sale: SourceId,
        /// Lines and quantities.
        lines: Vec<RefundLine>,
        /// Who did it.
        clerk: String,
        /// The manager who approved it.
        approved_by: String,
        /// What was given back and booked.
        outcome: RefundOutcome,
    },
    /// A stored-value top-up.
    StoredValueToppedUp {
        /// The member.
        member: MemberId,
        /// Package bought, if any.
        package: Option<String>,
        /// Money paid.
        paid: Money,
        /// Who did it.
        clerk: String,
        /// Entries booked.
        entries: Vec<LedgerEntry>,
    },
    /// A manual points adjustment.
    PointsAdjusted {
        /// The member.
        member: MemberId,
        /// Points added (negative: taken away).
        delta: i64,
        /// Why, in the manager's words.
        reason: String,
        /// Who did it.
        clerk: String,
        /// The manager who approved it.
        approved_by: String,
        /// Entries booked.
        entries: Vec<LedgerEntry>,
    },
    /// A coupon issued at the counter (e.g. the birthday coupon).
    CouponIssued {
        /// The member.
        member: MemberId,
        /// Who did it.
        clerk: String,
        /// Entries booked.
        entries: Vec<LedgerEntry>,
    },
}

impl EventBody {
    /// Short name stored beside the payload.
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::MemberEnrolled { .. } => "member_enrolled",
            EventBody::SaleCommitted { .. } => "sale_committed",
            EventBody::RefundCommitted { .. } => "refund_committed",
            EventBody::StoredValueToppedUp { .. } => "stored_value_topped_up",
            EventBody::PointsAdjusted { .. } => "points_adjusted",
            EventBody::CouponIssued { .. } => "coupon_issued",
        }
    }

    /// The ledger entries the action booked.
    pub fn entries(&self) -> &[LedgerEntry] {
        match self {
            EventBody::MemberEnrolled { entries, .. }
            | EventBody::SaleCommitted { entries, .. }
            | EventBody::StoredValueToppedUp { entries, .. }
            | EventBody::PointsAdjusted { entries, .. }
            | EventBody::CouponIssued { entries, .. } => entries,
            EventBody::RefundCommitted { outcome, .. } => &outcome.entries,
        }
    }
}
