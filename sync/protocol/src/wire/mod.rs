//! The wire protocol between a terminal and head office: versioned serde
//! types and their encoding. No I/O happens here, so the terminal's uplink
//! and head office share exactly these types and functions.
//!
//! Encoding: JSON, gzip-compressed (`Content-Type: application/json`,
//! `Content-Encoding: gzip`). See `sync/PROTOCOL.md` for the full contract.
//!
//! This file holds the constants and bounds, registration and the downlink's
//! types; the outbox events are in `events`, an upload and its ack in
//! `upload`, the body encoding in `codec`, downlink cursors in `cursor`.

mod codec;
mod cursor;
mod events;
mod upload;

pub use codec::{ProtocolError, decode, encode, gunzip};
pub use cursor::{
    change_check, checked_cursor, cursor_from_position, cursor_parts, hex, position_from_cursor,
};
pub use events::{Consent, Envelope, EventBody, OutboxEvent};
pub use upload::{AuditLink, MAX_AUDIT_LINKS, OutboxEpoch, UploadAck, UploadAudit, UploadBatch};

use serde::{Deserialize, Serialize};
use tillcard_rules::ids::MemberId;
use tillcard_rules::pricing::MonthDay;
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
    /// The member left the receiving terminal's store's scope (not seen
    /// there within head office's window): drop the cached member, unless
    /// events of this terminal for them still wait to upload. Their card
    /// still scans; a later visit brings them back.
    Forget {
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
    /// A product of the chain's catalog, added or changed (replaces the
    /// cached item with its SKU; an item no longer sold comes with `active`
    /// false). Product data, not trust: unsigned, as members are.
    Item {
        /// The item.
        item: Box<tillcard_rules::catalog::CatalogItem>,
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
    /// it still has after it. Absent from older head offices, and from a
    /// page "nothing new" a node answered from what it remembers
    /// (PROTOCOL.md, "Nothing new").
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
