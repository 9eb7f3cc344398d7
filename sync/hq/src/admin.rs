//! The bodies of head office's admin API (`/v1/admin/...`, `/health`):
//! typed, so that what a handler answers and what openapi.json says it
//! answers are the same Rust type.

use serde::{Deserialize, Serialize};
use tillcard_rules::ids::MemberId;

use tillcard_protocol::wire::TerminalId;

/// `POST /v1/admin/enroll-codes` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueCode {
    /// The store the terminal will serve (1 to 200 characters).
    #[schemars(length(min = 1, max = 200))]
    pub store: String,
}

/// `POST /v1/admin/enroll-codes` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IssuedCode {
    /// The one-time enrollment code.
    pub code: String,
    /// Its store.
    pub store: String,
}

/// `POST /v1/admin/revocations` request: a member, a card serial or both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(extend("anyOf" = [
    {"required": ["member"], "properties": {"member": {"type": "string"}}},
    {"required": ["card_serial"], "properties": {"card_serial": {"type": "string"}}},
]))]
pub struct Revocation {
    /// Every card of this member.
    pub member: Option<MemberId>,
    /// This one card (at most 200 characters).
    #[schemars(length(max = 200))]
    pub card_serial: Option<String>,
}

/// `POST /v1/admin/members/{member_id}/erase` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Erased {
    /// Always true (an unknown member is a 404).
    pub erased: bool,
}

/// `POST /v1/admin/jobs/tier-evaluation` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TierJobDone {
    /// Members whose tier changed.
    pub tier_changes: u64,
}

/// `POST /v1/admin/jobs/expiry` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ExpiryJobDone {
    /// Expiry entries booked.
    pub entries: u64,
}

/// One conflict for review (`GET /v1/admin/conflicts`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ConflictForReview {
    /// The member concerned.
    pub member_id: MemberId,
    /// `duplicate_phone`, `coupon_used_twice`, `negative_balance`, ...
    pub kind: String,
    /// What exactly.
    pub reason: String,
    /// The terminal whose event raised it.
    pub terminal_id: Option<TerminalId>,
    /// That event's sequence number.
    pub seq: Option<u64>,
}

/// One dead-lettered event (`GET /v1/admin/dead-letters`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DeadLetter {
    /// The terminal that sent it.
    pub terminal_id: TerminalId,
    /// Its sequence number.
    pub seq: u64,
    /// Its event id.
    pub event_id: String,
    /// One of the poison codes of PROTOCOL.md, or `unclassified` for
    /// reasons stored before codes existed.
    pub code: String,
    /// What exactly, with any value the decoder quoted withheld.
    pub detail: String,
    /// When head office refused it (RFC 3339).
    pub at: String,
}

/// One suspicion about a terminal (`GET /v1/admin/terminal-flags`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TerminalFlag {
    /// The terminal.
    pub terminal_id: TerminalId,
    /// Why (a bad signature, a sequence conflict, ...).
    pub reason: String,
}

/// `GET /health` answer when head office can serve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// `ok`: the store answered a query.
    pub store: String,
}

/// `POST /dashboard/login` form (`application/x-www-form-urlencoded`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LoginForm {
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
    /// `zh` or `en`: the language of the page answered.
    pub lang: Option<String>,
}
