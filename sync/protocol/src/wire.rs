//! The wire protocol between a terminal and head office: versioned serde
//! types and their encoding. No I/O happens here, so the terminal's uplink
//! and head office share exactly these types and functions.
//!
//! Encoding: JSON, gzip-compressed (`Content-Type: application/json`,
//! `Content-Encoding: gzip`). See `sync/PROTOCOL.md` for the full contract.

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tillcard_rules::ids::{MemberId, SourceId, Timestamp};
use tillcard_rules::ledger::LedgerEntry;
use tillcard_rules::money::Money;
use tillcard_rules::pricing::{MonthDay, Quote};
use tillcard_rules::refund::RefundLine;
use tillcard_rules::{MemberAccount, Program};
use uuid::Uuid;

use crate::refusal::RefusalClass;
use crate::staff::StaffSnapshot;

/// Version of this protocol; sent in every request body.
pub const PROTOCOL_VERSION: u16 = 1;

/// The member-card key ids head office gives terminals (the upper half of
/// the 16-bit space; the lower half is head office's own keys). A
/// `card_key_id` asked for at redemption outside them is refused.
pub const TERMINAL_CARD_KEY_IDS: std::ops::RangeInclusive<u16> = 0x8000..=0xFFFF;
/// Version of the event body schema this crate writes.
pub const SCHEMA_VERSION: u16 = 1;
/// Content type of every request and response body.
pub const CONTENT_TYPE: &str = "application/json";
/// Content encoding of every request and response body.
pub const CONTENT_ENCODING: &str = "gzip";
/// Largest decompressed body head office accepts (bytes).
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Largest number of events in one upload batch.
pub const MAX_BATCH_EVENTS: usize = 1000;
/// Largest sequence number (and outbox head, and monotonic clock reading):
/// 2^53 - 1, the largest integer every JSON reader holds exactly. At one
/// event a millisecond a terminal would need 285,000 years to reach it. A
/// batch with a sequence number above it is refused as a whole.
pub const MAX_SEQ: u64 = (1 << 53) - 1;
/// Longest sealed personal datum (base64 text of a sealed box), in characters.
pub const MAX_SEALED_CHARS: usize = 1024;
/// Longest software version a terminal reports with an upload
/// ([`UploadBatch::app_version`]), in characters.
pub const MAX_APP_VERSION_CHARS: usize = 32;
/// The characters of [`UploadBatch::app_version`] as a JSON Schema pattern
/// (with the length, what [`is_app_version`] accepts).
pub const APP_VERSION_PATTERN: &str = "^[0-9A-Za-z.+-]+$";

/// Whether `version` may be sent as [`UploadBatch::app_version`]: 1 to
/// [`MAX_APP_VERSION_CHARS`] characters of `0-9 A-Z a-z . + -`
/// (`0.4.0+g1a2b3c`). Head office refuses a batch with any other as a whole.
pub const fn is_app_version(version: &str) -> bool {
    let bytes = version.as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_APP_VERSION_CHARS {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !(b.is_ascii_alphanumeric() || b == b'.' || b == b'+' || b == b'-') {
            return false;
        }
        i += 1;
    }
    true
}

/// A terminal, as named by head office at provisioning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct TerminalId(pub Uuid);

impl std::fmt::Display for TerminalId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

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
    principal: Option<Money>,
    bonus: Option<Money>,
    package: Option<String>,
    reason: Option<String>,
    gift: Option<String>,
    points: Option<i64>,
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
            },
            BodyKind::Refunded => EventBody::Refunded {
                sale: required(self.sale, "sale")?,
                refund: required(self.refund, "refund")?,
                lines: required(self.lines, "lines")?,
                approved_by: required(self.approved_by, "approved_by")?,
                entries: required(self.entries, "entries")?,
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
            EventBody::MemberErased { .. } => &[],
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
        }
    }
}

/// `POST /v1/batches` request body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UploadBatch {
    /// [`PROTOCOL_VERSION`].
    #[cfg_attr(feature = "schema", schemars(range(min = PROTOCOL_VERSION, max = PROTOCOL_VERSION)))]
    pub protocol_version: u16,
    /// The uploading terminal (must match the signing terminal).
    pub terminal_id: TerminalId,
    /// Events in ascending `seq` order.
    #[cfg_attr(feature = "schema", schemars(length(max = MAX_BATCH_EVENTS)))]
    pub events: Vec<OutboxEvent>,
    /// Highest sequence number in the terminal's outbox when the batch was
    /// built (optional; older terminals omit it). Head office reports
    /// `outbox_head_seq - acked_seq` as the terminal's pending events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(range(max = MAX_SEQ)))]
    pub outbox_head_seq: Option<u64>,
    /// The version of the terminal's software, such as `0.4.0` or
    /// `0.4.0+g1a2b3c` (optional; older terminals omit it): 1 to 32
    /// characters of `0-9 A-Z a-z . + -`, else head office refuses the
    /// batch. Head office keeps the latest one per terminal and lists it
    /// with the terminals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "schema",
        schemars(length(min = 1, max = MAX_APP_VERSION_CHARS), pattern(APP_VERSION_PATTERN))
    )]
    pub app_version: Option<String>,
    /// The terminal's audit chain as it stands when the batch is built
    /// (optional; older terminals omit it): head office compares it with
    /// the head it acknowledged last and flags a terminal whose audit was
    /// rewritten or truncated (PROTOCOL.md, "The audit chain").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<UploadAudit>,
    /// The outbox epoch the terminal numbers its events in (optional;
    /// terminals that predate it omit it and are never renumbered): epoch 0
    /// from seq 1 until the terminal finds head office holding more of it
    /// than its store does (a store rolled back) and renumbers its waiting
    /// events above what head office holds (PROTOCOL.md, "A terminal rolled
    /// back").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<OutboxEpoch>,
}

/// A terminal's outbox epoch: the `n`th numbering of its events, whose
/// sequence numbers start at `first_seq` (epoch 0 starts at 1). A terminal
/// opens epoch `n + 1` when it learns its store was rolled back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OutboxEpoch {
    /// The epoch's number, from 0.
    #[cfg_attr(feature = "schema", schemars(range(max = MAX_SEQ)))]
    pub n: u64,
    /// Its first sequence number: above everything head office held of
    /// the terminal when the epoch was opened.
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_SEQ)))]
    pub first_seq: u64,
}

impl OutboxEpoch {
    /// Epoch 0: the numbering every terminal starts with.
    pub const FIRST: OutboxEpoch = OutboxEpoch { n: 0, first_seq: 1 };
}

/// Most links of the audit chain one batch carries
/// ([`UploadAudit::links`]). A terminal with more rows since the head head
/// office acknowledged sends the oldest ones, and the rest with its next
/// batches.
pub const MAX_AUDIT_LINKS: usize = 256;

/// A terminal's audit chain in an upload batch: the links from the head
/// head office acknowledged last, each recomputed by the terminal from its
/// rows' content when the batch is built (so a row rewritten in the
/// database gives another link than the one head office holds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UploadAudit {
    /// The links in ascending `n`, from the head head office acknowledged
    /// last (from row 1 when none was) onward, at most
    /// [`MAX_AUDIT_LINKS`]; empty when the terminal has no row there.
    #[cfg_attr(feature = "schema", schemars(length(max = MAX_AUDIT_LINKS)))]
    pub links: Vec<AuditLink>,
    /// The newest row of the terminal's audit chain (0: none).
    #[cfg_attr(feature = "schema", schemars(range(max = MAX_SEQ)))]
    pub rows: u64,
    /// The first row where the terminal's own check of its chain fails (a
    /// row edited, removed or its stored link replaced), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_SEQ)))]
    pub broken_at: Option<u64>,
}

/// One link of the audit chain: row `n`'s HMAC-SHA256 under the terminal's
/// audit key, which covers the link before it and the row's fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AuditLink {
    /// The row's number in the chain, from 1.
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_SEQ)))]
    pub n: u64,
    /// The link (32 bytes, standard base64 with padding).
    #[cfg_attr(feature = "schema", schemars(length(min = 44, max = 44)))]
    pub mac: String,
}

/// `POST /v1/batches` response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UploadAck {
    /// Highest sequence number such that head office has durably stored
    /// every event 1..=acked_seq of this terminal. The terminal may delete
    /// those from its outbox and resumes uploading at `acked_seq + 1`.
    pub acked_seq: u64,
    /// Events of this batch applied now.
    pub applied: u32,
    /// Events of this batch already stored before (identical content).
    pub duplicates: u32,
    /// Events of this batch dead-lettered now (stored, not applied).
    pub dead_lettered: u32,
    /// The highest sequence number head office holds of this terminal,
    /// acknowledged or not (optional; head offices that predate it omit
    /// it). Above anything the terminal issued: the terminal's store was
    /// rolled back, and it renumbers (PROTOCOL.md, "A terminal rolled
    /// back").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_seq: Option<u64>,
}

/// `POST /v1/terminals/redeem` request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RedeemRequest {
    /// [`PROTOCOL_VERSION`].
    #[cfg_attr(feature = "schema", schemars(range(min = PROTOCOL_VERSION, max = PROTOCOL_VERSION)))]
    pub protocol_version: u16,
    /// The one-time enrollment code.
    pub code: String,
    /// The terminal's request-signing Ed25519 public key (base64, 32
    /// bytes): head office checks every signed request with it.
    pub public_key: String,
    /// The terminal's member-card Ed25519 public key (base64, 32 bytes), a
    /// key of its own purpose: head office registers it as the terminal's
    /// card key, certified for a validity window. Absent from older
    /// terminals, whose one key signs both: `public_key` is then also the
    /// card key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_public_key: Option<String>,
    /// When the card key (`card_public_key`, or `public_key` from older
    /// terminals) already signed member cards before the terminal was
    /// registered (offline enrollment), the id
    /// those cards name: head office registers the key under this id when
    /// no other key holds it, so those cards verify chain-wide. Absent from
    /// older terminals and from terminals that issued no card yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(range(min = 0x8000)))]
    pub card_key_id: Option<u16>,
    /// The store code the terminal is configured for, if any: a code issued
    /// for another store is then refused (`code_for_other_store`) rather
    /// than registering the till in the wrong store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
}

/// A key terminals trust to verify member cards, with the window head
/// office certifies it for. A card is honoured only when its `issued_at`
/// lies in `[valid_from, valid_until)` and, for a withdrawn key, is at or
/// before `revoked_at` (`docs/CREDENTIAL.md`). The three times are Unix
/// seconds and each optional: absent from head offices before them (and on
/// head office's own key), an absent bound does not limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TrustedKey {
    /// Key id, as named in card tokens.
    pub key_id: String,
    /// Ed25519 public key (base64, 32 bytes).
    pub public_key: String,
    /// First second a card signed by this key may carry as `issued_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<u64>,
    /// Cards issued at or after this second are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<u64>,
    /// The key was withdrawn (its terminal revoked) at this second: cards
    /// issued after it are refused as revoked; those issued before are
    /// honoured, and head office re-issues them. A terminal never forgets
    /// a withdrawal (a later change without it does not restore the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<u64>,
}

impl TrustedKey {
    /// A key trusted without a window (head office's own key).
    pub fn unbounded(key_id: impl Into<String>, public_key: impl Into<String>) -> TrustedKey {
        TrustedKey {
            key_id: key_id.into(),
            public_key: public_key.into(),
            valid_from: None,
            valid_until: None,
            revoked_at: None,
        }
    }
}

/// `POST /v1/terminals/redeem` response body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Provisioned {
    /// The terminal's id from now on.
    pub terminal_id: TerminalId,
    /// Store the terminal belongs to.
    pub store: String,
    /// Head office's X25519 public key (base64) to seal personal data to.
    pub hq_box_public_key: String,
    /// Keys to verify member cards with.
    pub trusted_keys: Vec<TrustedKey>,
    /// This terminal's phone lookup key (base64, 32 bytes): member snapshots
    /// carry `HMAC-SHA256(lookup_key, phone)` instead of the phone.
    pub lookup_key: String,
    /// The member-card key id head office registered for this terminal: the
    /// terminal signs the cards it issues at enrollment with its Ed25519 key
    /// under this id, and every terminal receives the key as a trusted key
    /// through the downlink. Absent from head offices before this field.
    #[serde(default)]
    pub card_key_id: Option<u16>,
    /// Head office's downlink-signing Ed25519 public key (base64, 32
    /// bytes), a key of its own purpose: the terminal pins it and from then
    /// on applies a trust-bearing change (program, trusted key, revocation,
    /// staff) only with a valid signature by it ([`Change::signature`]).
    /// Absent from head offices before this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downlink_key: Option<String>,
    /// What head office registered, signed with its downlink key: the
    /// terminal keeps it to re-introduce itself to a head office restored
    /// from a backup older than this registration
    /// ([`crate::registration`]). Absent from older head offices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<RegistrationCertificate>,
}

/// What head office registered for a terminal, signed with its downlink
/// key ([`crate::registration`] signs and checks it). Sent in `Provisioned.registration`; kept by the terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RegistrationCertificate {
    /// The terminal's id.
    pub terminal_id: TerminalId,
    /// Its store.
    pub store: String,
    /// Its request-signing Ed25519 public key (base64).
    pub public_key: String,
    /// Its phone lookup key (base64, 32 bytes).
    pub lookup_key: String,
    /// Its member-card Ed25519 public key (base64).
    pub card_public_key: String,
    /// The member-card key id head office gave it.
    pub card_key_id: u16,
    /// When head office registered it (Unix seconds).
    pub registered_at: u64,
    /// Base64 of head office's Ed25519 signature (downlink key) over
    /// [`crate::registration::REGISTRATION_CONTEXT`] and the canonical JSON of the other fields.
    #[serde(default)]
    pub signature: String,
}

/// `POST /v1/terminals/reintroduce` request body (unsigned, as redeem: the
/// terminal is unknown to the restored head office; the certificate is the
/// authority).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Reintroduce {
    /// [`crate::wire::PROTOCOL_VERSION`].
    pub protocol_version: u16,
    /// The certificate head office gave at registration.
    pub certificate: RegistrationCertificate,
}

/// `POST /v1/terminals/reintroduce` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Reintroduced {
    /// The terminal.
    pub terminal_id: TerminalId,
    /// `true`: registered again now; `false`: head office knew it already.
    pub registered: bool,
    /// The highest sequence head office holds of it (0 when registered now).
    pub acked_seq: u64,
}

/// What a member looks like on a terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MemberSnapshot {
    /// The member.
    pub member: MemberId,
    /// Masked name for clerks.
    pub masked_name: Option<String>,
    /// Masked phone for clerks.
    pub masked_phone: Option<String>,
    /// `HMAC-SHA256(terminal lookup key, phone)`, hex; `None` if unknown.
    pub phone_lookup: Option<String>,
    /// Birthday month and day.
    pub birthday: Option<MonthDay>,
    /// Tags set at head office.
    pub tags: Vec<String>,
    /// The member who referred this one, as enrolled at whichever store: a
    /// terminal that books the member's first purchase rewards the referrer
    /// too (`booking::book_sale`), also when the member enrolled elsewhere.
    /// Absent from head offices before this field.
    #[serde(default)]
    pub referrer: Option<MemberId>,
    /// Frozen by head office (member care): the member buys and earns but
    /// redeems no points or stored value (`pricing` refuses with
    /// `member_frozen`). Absent when not frozen.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub frozen: bool,
    /// The serial of the member's current card once head office re-issued
    /// it (member care; the card before is revoked): the terminal that
    /// next serves the member prints them a card with this serial, signed
    /// with its own registered key (`docs/CREDENTIAL.md`). Absent while
    /// the member holds their enrollment card (serial 1), and from head
    /// offices before this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_serial: Option<u16>,
    /// The member this account was merged into at head office (one
    /// phone's two accounts): a terminal serves that member for this one's
    /// card or id, and this snapshot carries no phone and an empty account
    /// (the ledger moved to the survivor). Absent otherwise, and from head
    /// offices before this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<MemberId>,
    /// A card head office signed for the member (`TC1:` token, issuer
    /// head office's key) because the key that signed their card was
    /// withdrawn: the terminal that next serves the member hands it over.
    /// Absent otherwise, and from head offices before this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<String>,
    /// Authoritative balances: the opening account the terminal folds its
    /// own unsynced entries onto (`account.tier` is the tier).
    pub account: MemberAccount,
}

/// One change on the downlink.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    /// The program in force (replaces the previous one).
    Program {
        /// The program.
        program: Box<Program>,
        /// Head office's downlink signature ([`crate::trust`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<String>,
    },
    /// A member's current state (replaces the cached one).
    Member {
        /// The snapshot.
        snapshot: Box<MemberSnapshot>,
    },
    /// A coupon campaign made available to a member by head office.
    Coupon {
        /// The member.
        member: MemberId,
        /// The coupon.
        coupon: tillcard_rules::ledger::Coupon,
    },
    /// A card serial or member no longer to be served.
    Revocation {
        /// The member, if the whole member is revoked.
        member: Option<MemberId>,
        /// A card serial, if one card is revoked.
        card_serial: Option<String>,
        /// Head office's downlink signature ([`crate::trust`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<String>,
    },
    /// A key to trust for member cards.
    TrustedKey {
        /// The key.
        key: TrustedKey,
        /// Head office's downlink signature ([`crate::trust`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<String>,
    },
    /// Delete everything cached about this member.
    Erasure {
        /// The member.
        member: MemberId,
    },
    /// A clerk of the receiving terminal's store: added, renamed, given a
    /// PIN, reset or deactivated (replaces the cached clerk).
    Staff {
        /// The clerk, the PIN hash sealed to the receiving terminal.
        staff: StaffSnapshot,
        /// Head office's downlink signature ([`crate::trust`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<String>,
    },
    /// A clerk who no longer works at the receiving terminal's store
    /// (moved to other stores): forget them there.
    StaffRemoved {
        /// The clerk.
        staff_id: String,
        /// Head office's downlink signature ([`crate::trust`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<String>,
    },
}

/// `GET /v1/changes` response body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ChangesPage {
    /// Changes in order; apply them in order.
    pub changes: Vec<Change>,
    /// Cursor to send next time (store it only after applying `changes`).
    pub cursor: String,
    /// More changes wait: ask again at once.
    pub more: bool,
    /// The highest sequence head office holds of the asking terminal (its
    /// upload ack). Below what the terminal recorded as acknowledged: head
    /// office was restored from a backup, and the terminal sends again what
    /// it still has after it. Absent from older head offices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acked_seq: Option<u64>,
    /// The cursor sent names a change this head office does not hold (it
    /// was restored from a backup): this page starts the log again from
    /// its beginning. Absent (false) otherwise.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resync: bool,
}

/// Error body of every non-2xx response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ErrorBody {
    /// Stable machine-readable code (see PROTOCOL.md).
    pub error: String,
    /// Human-readable message (never internals, never personal data).
    pub message: String,
    /// With `sequence_conflict`: the highest sequence number head office
    /// holds of the terminal (absent otherwise, and from head offices that
    /// predate it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_seq: Option<u64>,
    /// What the terminal should do about it (`retry_later`,
    /// `fix_and_retry`, `never`). Absent from an older head office's
    /// answers: then [`RefusalClass::for_status`] of the status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<RefusalClass>,
}

/// Encoding and decoding failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// Could not encode.
    #[error("could not encode: {0}")]
    Encode(String),
    /// Could not decode.
    #[error("could not decode: {0}")]
    Decode(String),
    /// Body too large once decompressed.
    #[error("body larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
}

/// Serializes `value` to JSON and gzips it: a request or response body.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, ProtocolError> {
    let json = serde_json::to_vec(value).map_err(|e| ProtocolError::Encode(e.to_string()))?;
    if json.len() <= STORED_UP_TO
        && let Some(body) = gzip_stored(&json)
    {
        return Ok(body);
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&json)
        .map_err(|e| ProtocolError::Encode(e.to_string()))?;
    gz.finish()
        .map_err(|e| ProtocolError::Encode(e.to_string()))
}

/// Bodies up to this size (an upload's ack, a batch of one small event) are
/// sent as gzip without compression: deflate gains a few bytes on them at most, and
/// setting up a compressor (a quarter of a megabyte of tables, zeroed) was
/// 3% of head office's CPU under upload load, once per ack.
const STORED_UP_TO: usize = 1024;

/// `data` as a gzip member (RFC 1952) holding one stored deflate block
/// (RFC 1951, 3.2.4), as `GzEncoder` with `Compression::none()` would
/// store it but without setting up a compressor; `None` when `data` does
/// not fit one block (65,535 bytes).
fn gzip_stored(data: &[u8]) -> Option<Vec<u8>> {
    let len = u16::try_from(data.len()).ok()?;
    let mut crc = flate2::Crc::new();
    crc.update(data);
    let mut out = Vec::with_capacity(data.len() + 23);
    // Magic, deflate, no flags, no time, no extra flags, OS unknown.
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    // Final block, stored; its length and the length's complement.
    out.push(1);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&u32::from(len).to_le_bytes());
    Some(out)
}

/// Gunzips (at most [`MAX_BODY_BYTES`]) and parses a body.
pub fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ProtocolError> {
    let json = gunzip(body)?;
    serde_json::from_slice(&json).map_err(|e| ProtocolError::Decode(e.to_string()))
}

/// Decompresses a request or response body: exactly one gzip member of at
/// most [`MAX_BODY_BYTES`] decompressed, and nothing after it (bytes after
/// the member would be data no signature check or reader ever looked at).
pub fn gunzip(body: &[u8]) -> Result<Vec<u8>, ProtocolError> {
    // Room for the size the gzip trailer states (its last four bytes, the
    // length modulo 2^32), capped at the largest body accepted: growing by
    // doubling copied the JSON several times and faulted in fresh pages. A
    // wrong trailer costs only a wrong first guess; the decoder checks it.
    let stated = body
        .last_chunk::<4>()
        .map_or(0, |size| u32::from_le_bytes(*size) as usize);
    let mut json = Vec::with_capacity(stated.min(MAX_BODY_BYTES + 1));
    // The buffered decoder leaves what follows the member in its input.
    let mut decoder = flate2::bufread::GzDecoder::new(body);
    (&mut decoder)
        .take(MAX_BODY_BYTES as u64 + 1)
        .read_to_end(&mut json)
        .map_err(|e| ProtocolError::Decode(e.to_string()))?;
    if json.len() > MAX_BODY_BYTES {
        return Err(ProtocolError::TooLarge);
    }
    if !decoder.into_inner().is_empty() {
        return Err(ProtocolError::Decode(
            "bytes after the end of the gzip data".into(),
        ));
    }
    Ok(json)
}

/// Makes an opaque cursor from a change-log position: the writing
/// transaction's id (0 on SQLite) and the row's position.
pub fn cursor_from_position(position: (i64, i64)) -> String {
    format!("c1.{}.{}", position.0, position.1)
}

/// Reads a cursor back; `None` if it was not made by [`cursor_from_position`]
/// or [`checked_cursor`] (whose check it drops).
pub fn position_from_cursor(cursor: &str) -> Option<(i64, i64)> {
    cursor_parts(cursor).map(|(position, _)| position)
}

/// A cursor that also names the change at its position: `c2.<xid>.<position>.<check>`,
/// `check` 16 hex digits head office derives from that change's content
/// ([`change_check`]). A head office restored from a backup finds another
/// change there, or none, and starts the terminal's log again
/// ([`ChangesPage::resync`]) instead of skipping what it lacks.
pub fn checked_cursor(position: (i64, i64), check: &str) -> String {
    format!("c2.{}.{}.{check}", position.0, position.1)
}

/// A cursor's position and, for a `c2` cursor, its check.
pub fn cursor_parts(cursor: &str) -> Option<((i64, i64), Option<&str>)> {
    if let Some(rest) = cursor.strip_prefix("c1.") {
        let (xid, position) = rest.split_once('.')?;
        return Some(((xid.parse().ok()?, position.parse().ok()?), None));
    }
    let mut parts = cursor.strip_prefix("c2.")?.splitn(3, '.');
    let xid = parts.next()?.parse().ok()?;
    let position = parts.next()?.parse().ok()?;
    let check = parts.next()?;
    (check.len() == 16 && check.bytes().all(|b| b.is_ascii_hexdigit()))
        .then_some(((xid, position), Some(check)))
}

/// The check of a change-log row in a `c2` cursor: the first 8 bytes of the
/// SHA-256 of its transaction id, position, kind, member and payload, hex.
pub fn change_check(
    xid: i64,
    position: i64,
    kind: &str,
    member: Option<&str>,
    payload: Option<&str>,
) -> String {
    let mut hasher = Sha256::new();
    for part in [
        xid.to_string().as_str(),
        position.to_string().as_str(),
        kind,
        member.unwrap_or(""),
        payload.unwrap_or(""),
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hex(&hasher.finalize()[..8])
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gunzip(body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(body)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn stored_gzip_reads_back_with_a_standard_decoder() {
        for len in [0, 1, 80, 1024, 65_535] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let body = gzip_stored(&data).unwrap();
            assert_eq!(body.len(), data.len() + 23);
            assert_eq!(gunzip(&body), data, "{len} bytes");
        }
        assert_eq!(gzip_stored(&vec![0; 65_536]), None);
    }

    #[test]
    fn a_corrupted_stored_body_is_refused() {
        let mut body = gzip_stored(b"{\"acked_seq\":5}").unwrap();
        let last_data_byte = body.len() - 9;
        body[last_data_byte] ^= 1;
        let mut out = Vec::new();
        assert!(
            flate2::read::GzDecoder::new(&body[..])
                .read_to_end(&mut out)
                .is_err(),
            "the CRC no longer matches"
        );
    }

    #[test]
    fn small_and_large_bodies_both_decode() {
        let ack = UploadAck {
            acked_seq: 42,
            applied: 3,
            duplicates: 1,
            dead_lettered: 0,
            held_seq: Some(42),
        };
        let small = encode(&ack).unwrap();
        assert!(small.len() < 1024 + 23);
        assert_eq!(decode::<UploadAck>(&small).unwrap(), ack);
        let error = ErrorBody {
            error: "bad_request".into(),
            message: "x".repeat(5_000),
            held_seq: None,
            class: None,
        };
        let large = encode(&error).unwrap();
        assert!(large.len() < 1_000, "compressed: {} bytes", large.len());
        assert_eq!(decode::<ErrorBody>(&large).unwrap(), error);
    }
}
