//! The events a terminal's outbox holds and uploads: the envelope every
//! event shares and the body of each kind, read from a flat JSON object
//! so an unknown field or kind is refused by name.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tillcard_rules::ids::{MemberId, SourceId, Timestamp};
use tillcard_rules::ledger::LedgerEntry;
use tillcard_rules::money::Money;
use tillcard_rules::pricing::{MonthDay, Quote};
use tillcard_rules::refund::RefundLine;
use tillcard_rules::shift::ShiftReport;
use tillcard_rules::tenders::{Payment, Tender};
use uuid::Uuid;

use super::*;

/// What every outbox event carries besides its body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Envelope {
    /// Unique id of the event (UUIDv7, drawn by the terminal).
    pub event_id: Uuid,
    /// The terminal that wrote it.
    pub terminal_id: TerminalId,
    /// Gapless per-terminal sequence number, starting at 1.
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_SEQ)))]
    pub seq: u64,
    /// Terminal's wall clock when the event was written (RFC 3339, offset).
    #[serde(with = "tillcard_rules::timestamp")]
    #[cfg_attr(feature = "schema", schemars(with = "tillcard_rules::ids::Timestamp"))]
    pub wall_time: Timestamp,
    /// Terminal's monotonic clock reading (ms since some boot).
    #[cfg_attr(feature = "schema", schemars(range(max = MAX_SEQ)))]
    pub monotonic_ms: u64,
    /// Schema version of `body`.
    #[cfg_attr(feature = "schema", schemars(range(min = SCHEMA_VERSION, max = SCHEMA_VERSION)))]
    pub schema_version: u16,
}

/// One outbox event as it travels. The body stays raw JSON on the wire so
/// that head office can dead-letter one undecodable body without refusing
/// the whole batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OutboxEvent {
    /// Envelope.
    #[serde(flatten)]
    pub envelope: Envelope,
    /// Body: an [`EventBody`] as JSON.
    #[cfg_attr(feature = "schema", schemars(with = "EventBody"))]
    pub body: serde_json::Value,
}

impl OutboxEvent {
    /// Wraps a typed body.
    pub fn new(envelope: Envelope, body: &EventBody) -> Result<OutboxEvent, ProtocolError> {
        Ok(OutboxEvent {
            envelope,
            body: serde_json::to_value(body).map_err(|e| ProtocolError::Encode(e.to_string()))?,
        })
    }

    /// Decodes the body.
    pub fn decode_body(&self) -> Result<EventBody, ProtocolError> {
        EventBody::deserialize(&self.body).map_err(|e| ProtocolError::Decode(e.to_string()))
    }

    /// SHA-256 over the event's canonical JSON (object keys sorted): two
    /// uploads of the same (terminal, seq) are the same event iff equal.
    pub fn content_hash(&self) -> String {
        // Deterministic without an intermediate tree: envelope fields in
        // declaration order, the body's object keys sorted (serde_json's
        // map is ordered by key).
        let canonical = serde_json::to_vec(self).unwrap_or_default();
        hex(&Sha256::digest(&canonical))
    }
}

/// Consent to keep the member's personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Consent {
    /// Whether consent was given.
    pub given: bool,
    /// When it was recorded.
    #[serde(with = "tillcard_rules::timestamp")]
    #[cfg_attr(feature = "schema", schemars(with = "tillcard_rules::ids::Timestamp"))]
    pub at: Timestamp,
}

/// What happened at the terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventBody {
    /// A member enrolled.
    MemberEnrolled {
        /// New member id (UUIDv7 drawn by the terminal).
        member: MemberId,
        /// Masked name for clerks (`张*`), if a name was given.
        masked_name: Option<String>,
        /// Masked phone for clerks (`138****5678`).
        masked_phone: String,
        /// The phone number sealed to head office's X25519 key (base64):
        /// only head office can read it.
        phone_sealed: String,
        /// Name sealed to head office (base64), if given.
        name_sealed: Option<String>,
        /// Birthday month and day, if given.
        birthday: Option<MonthDay>,
        /// Recorded consent.
        consent: Consent,
        /// Who referred the member, if anyone.
        referrer: Option<MemberId>,
        /// Ledger entries booked (the welcome coupon...).
        entries: Vec<LedgerEntry>,
    },
    /// A sale booked.
    SaleBooked {
        /// The quote as booked.
        quote: Box<Quote>,
        /// Ledger entries booked.
        entries: Vec<LedgerEntry>,
        /// How the amount due was paid (issue 24); absent from sales of
        /// terminals from before tenders were recorded, and then not
        /// written, so their events read and hash as they did.
        #[serde(skip_serializing_if = "Option::is_none")]
        payment: Option<Payment>,
    },
    /// A refund.
    Refunded {
        /// The sale refunded.
        sale: SourceId,
        /// The refund action.
        refund: SourceId,
        /// Lines and quantities.
        lines: Vec<RefundLine>,
        /// Manager who approved.
        approved_by: String,
        /// Ledger entries booked.
        entries: Vec<LedgerEntry>,
        /// The money handed back, over the sale's own tender kinds
        /// (`tillcard_rules::tenders::refund_to_tenders`, issue 24); absent
        /// from refunds of terminals from before tenders were recorded.
        #[serde(skip_serializing_if = "Option::is_none")]
        tenders: Option<Vec<Tender>>,
        /// The terminal that sold it, when the sale is another terminal's
        /// and was refunded from its receipt's signed code (issue 24,
        /// `crate::receipt`); absent for a refund of a sale of this
        /// terminal's own ledger, and in every refund from before.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sale_terminal: Option<TerminalId>,
    },
    /// Stored value topped up.
    TopUp {
        /// The member.
        member: MemberId,
        /// Paid by the member.
        principal: Money,
        /// Given by the program.
        bonus: Money,
        /// The package bought, if any.
        package: Option<String>,
        /// Ledger entries booked.
        entries: Vec<LedgerEntry>,
    },
    /// A manual adjustment by a manager.
    ManualAdjustment {
        /// The member.
        member: MemberId,
        /// Why.
        reason: String,
        /// Manager who approved.
        approved_by: String,
        /// Ledger entries booked.
        entries: Vec<LedgerEntry>,
    },
    /// A gift of the program's catalogue taken for points at the counter
    /// (积分兑礼).
    GiftRedeemed {
        /// The member.
        member: MemberId,
        /// The gift's code in the catalogue.
        gift: String,
        /// The points it cost (its price in the catalogue when redeemed).
        points: i64,
        /// Ledger entries booked: one `points_redeemed_for_gift`.
        entries: Vec<LedgerEntry>,
    },
    /// A coupon issued at the terminal (birthday coupon...).
    CouponIssued {
        /// The member.
        member: MemberId,
        /// Ledger entries booked.
        entries: Vec<LedgerEntry>,
    },
    /// The member asked to be erased at the terminal.
    MemberErased {
        /// The member.
        member: MemberId,
    },
    /// A shift closed at the terminal (Z report, issue 24). Books nothing.
    ShiftClosed {
        /// The close's id (UUIDv7, drawn by the terminal).
        shift: SourceId,
        /// The clerk who closed it (their id, never a name).
        closed_by: String,
        /// The report as printed.
        report: Box<ShiftReport>,
    },
}

/// The kinds of [`EventBody`], as its `type` names them.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum BodyKind {
    MemberEnrolled,
    SaleBooked,
    Refunded,
    TopUp,
    ManualAdjustment,
    GiftRedeemed,
    CouponIssued,
    MemberErased,
    ShiftClosed,
}

/// Every field an [`EventBody`] may have, read in one pass. Derived
/// deserialization of an internally tagged enum first copies the whole
/// object into a buffer (its tag may come last: bodies are sent with their
/// keys sorted), then reads the variant from that copy; that was a seventh
/// of head office's CPU on uploads. Fields are as in the enum, each one
/// optional here; [`FlatBody::into_body`] asks for the variant's own.
/// Unknown fields are ignored, as before; a field of another kind is
/// read and must then have its own type.
#[derive(Deserialize)]
struct FlatBody {
    #[serde(rename = "type")]
    kind: Option<BodyKind>,
    member: Option<MemberId>,
    masked_name: Option<String>,
    masked_phone: Option<String>,
    phone_sealed: Option<String>,
    name_sealed: Option<String>,
    birthday: Option<MonthDay>,
    consent: Option<Consent>,
    referrer: Option<MemberId>,
    entries: Option<Vec<LedgerEntry>>,
    quote: Option<Box<Quote>>,
    sale: Option<SourceId>,
    refund: Option<SourceId>,
    lines: Option<Vec<RefundLine>>,
    approved_by: Option<String>,
    sale_terminal: Option<TerminalId>,
    principal: Option<Money>,
    bonus: Option<Money>,
    package: Option<String>,
    reason: Option<String>,
    gift: Option<String>,
    points: Option<i64>,
    payment: Option<Payment>,
    tenders: Option<Vec<Tender>>,
    shift: Option<SourceId>,
    closed_by: Option<String>,
    report: Option<Box<ShiftReport>>,
}

impl FlatBody {
    fn into_body<E: serde::de::Error>(self) -> Result<EventBody, E> {
        fn required<T, E: serde::de::Error>(value: Option<T>, field: &'static str) -> Result<T, E> {
            value.ok_or_else(|| E::missing_field(field))
        }
        let kind = required(self.kind, "type")?;
        Ok(match kind {
            BodyKind::MemberEnrolled => EventBody::MemberEnrolled {
                member: required(self.member, "member")?,
                masked_name: self.masked_name,
                masked_phone: required(self.masked_phone, "masked_phone")?,
                phone_sealed: required(self.phone_sealed, "phone_sealed")?,
                name_sealed: self.name_sealed,
                birthday: self.birthday,
                consent: required(self.consent, "consent")?,
                referrer: self.referrer,
                entries: required(self.entries, "entries")?,
            },
            BodyKind::SaleBooked => EventBody::SaleBooked {
                quote: required(self.quote, "quote")?,
                entries: required(self.entries, "entries")?,
                payment: self.payment,
            },
            BodyKind::Refunded => EventBody::Refunded {
                sale: required(self.sale, "sale")?,
                refund: required(self.refund, "refund")?,
                lines: required(self.lines, "lines")?,
                approved_by: required(self.approved_by, "approved_by")?,
                entries: required(self.entries, "entries")?,
                tenders: self.tenders,
                sale_terminal: self.sale_terminal,
            },
            BodyKind::TopUp => EventBody::TopUp {
                member: required(self.member, "member")?,
                principal: required(self.principal, "principal")?,
                bonus: required(self.bonus, "bonus")?,
                package: self.package,
                entries: required(self.entries, "entries")?,
            },
            BodyKind::ManualAdjustment => EventBody::ManualAdjustment {
                member: required(self.member, "member")?,
                reason: required(self.reason, "reason")?,
                approved_by: required(self.approved_by, "approved_by")?,
                entries: required(self.entries, "entries")?,
            },
            BodyKind::GiftRedeemed => EventBody::GiftRedeemed {
                member: required(self.member, "member")?,
                gift: required(self.gift, "gift")?,
                points: required(self.points, "points")?,
                entries: required(self.entries, "entries")?,
            },
            BodyKind::CouponIssued => EventBody::CouponIssued {
                member: required(self.member, "member")?,
                entries: required(self.entries, "entries")?,
            },
            BodyKind::MemberErased => EventBody::MemberErased {
                member: required(self.member, "member")?,
            },
            BodyKind::ShiftClosed => EventBody::ShiftClosed {
                shift: required(self.shift, "shift")?,
                closed_by: required(self.closed_by, "closed_by")?,
                report: required(self.report, "report")?,
            },
        })
    }
}

impl<'de> Deserialize<'de> for EventBody {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        FlatBody::deserialize(deserializer)?.into_body()
    }
}

impl EventBody {
    /// The member the event is about, if any.
    pub fn member(&self) -> Option<MemberId> {
        match self {
            EventBody::MemberEnrolled { member, .. }
            | EventBody::TopUp { member, .. }
            | EventBody::ManualAdjustment { member, .. }
            | EventBody::GiftRedeemed { member, .. }
            | EventBody::CouponIssued { member, .. }
            | EventBody::MemberErased { member } => Some(*member),
            EventBody::SaleBooked { quote, .. } => quote.member,
            EventBody::Refunded { entries, .. } => entries.first().map(|e| e.member),
            EventBody::ShiftClosed { .. } => None,
        }
    }

    /// Ledger entries the event carries.
    pub fn entries(&self) -> &[LedgerEntry] {
        match self {
            EventBody::MemberEnrolled { entries, .. }
            | EventBody::SaleBooked { entries, .. }
            | EventBody::Refunded { entries, .. }
            | EventBody::TopUp { entries, .. }
            | EventBody::ManualAdjustment { entries, .. }
            | EventBody::GiftRedeemed { entries, .. }
            | EventBody::CouponIssued { entries, .. } => entries,
            EventBody::MemberErased { .. } | EventBody::ShiftClosed { .. } => &[],
        }
    }

    /// Short name of the kind, for logs and tables (never personal data).
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::MemberEnrolled { .. } => "member_enrolled",
            EventBody::SaleBooked { .. } => "sale_booked",
            EventBody::Refunded { .. } => "refunded",
            EventBody::TopUp { .. } => "top_up",
            EventBody::ManualAdjustment { .. } => "manual_adjustment",
            EventBody::GiftRedeemed { .. } => "gift_redeemed",
            EventBody::CouponIssued { .. } => "coupon_issued",
            EventBody::MemberErased { .. } => "member_erased",
            EventBody::ShiftClosed { .. } => "shift_closed",
        }
    }
}
