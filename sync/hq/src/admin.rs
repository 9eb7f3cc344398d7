//! The bodies of head office's admin API (`/v1/admin/...`, `/health`):
//! typed, so that what a handler answers and what openapi.json says it
//! answers are the same Rust type.

use serde::{Deserialize, Serialize};
use tillcard_rules::ids::MemberId;

use crate::service::roles::Role;
use tillcard_protocol::staff::StaffRole;
use tillcard_protocol::wire::TerminalId;

/// `POST /v1/admin/enroll-codes` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueCode {
    /// The store the terminal will serve: an existing store's code.
    #[schemars(length(min = 1, max = 32))]
    pub store: String,
    /// Days until the code expires unused (1 to 90; default 7).
    #[serde(default)]
    #[schemars(range(min = 1, max = 90))]
    pub expires_in_days: Option<u32>,
}

/// `POST /v1/admin/enroll-codes` answer: the only time the code is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IssuedCode {
    /// The one-time enrollment code.
    pub code: String,
    /// Its store.
    pub store: String,
    /// How the code is listed from now on (never the code itself).
    pub code_id: String,
    /// When it expires unused (RFC 3339).
    pub expires_at: String,
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
    /// Where to go after sign-in: a console page (`/console/...`); the
    /// dashboard otherwise.
    #[serde(default)]
    pub next: Option<String>,
}

/// `POST /v1/admin/stores` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStore {
    /// Its code: 1 to 32 ASCII letters, digits, `.`, `_` or `-`.
    #[schemars(length(min = 1, max = 32))]
    pub code: String,
    /// Its name (1 to 100 characters).
    #[schemars(length(min = 1, max = 100))]
    pub name: String,
    /// Its IANA time zone (`Asia/Shanghai`).
    #[schemars(length(min = 1, max = 64))]
    pub time_zone: String,
    /// Its address (at most 200 characters).
    #[serde(default)]
    #[schemars(length(max = 200))]
    pub address: String,
}

/// `POST /v1/admin/stores/{code}` request: what changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreChange {
    /// A new name.
    #[schemars(length(min = 1, max = 100))]
    pub name: Option<String>,
    /// A new IANA time zone.
    #[schemars(length(min = 1, max = 64))]
    pub time_zone: Option<String>,
    /// A new address.
    #[schemars(length(max = 200))]
    pub address: Option<String>,
}

/// A store (`GET /v1/admin/stores` lists them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StoreView {
    /// Its code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Its IANA time zone.
    pub time_zone: String,
    /// Its address.
    pub address: String,
    /// When it was created (RFC 3339).
    pub created_at: String,
}

/// `POST /v1/admin/staff` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaff {
    /// Their id (1 to 32 ASCII letters, digits, `.`, `_` or `-`); head
    /// office makes one up when absent.
    #[serde(default)]
    #[schemars(length(min = 1, max = 32))]
    pub staff_id: Option<String>,
    /// The name on the sign-in button (1 to 40 characters), unique within
    /// each of their stores regardless of case.
    #[schemars(length(min = 1, max = 40))]
    pub display_name: String,
    /// Cashier or manager.
    pub role: StaffRole,
    /// The stores they work at (1 to 20 existing store codes).
    #[schemars(length(min = 1, max = 20))]
    pub stores: Vec<String>,
}

/// A clerk as the back office shows them (never a hash or a code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StaffView {
    /// Their id.
    pub staff_id: String,
    /// The name on the sign-in button.
    pub display_name: String,
    /// Cashier or manager.
    pub role: StaffRole,
    /// False: refused at sign-in.
    pub active: bool,
    /// The stores they work at.
    pub stores: Vec<String>,
    /// Whether they have set a PIN.
    pub pin_set: bool,
    /// When their outstanding setup code expires, if one is outstanding.
    pub setup_expires_at: Option<String>,
    /// Wrong setup codes typed (5 void the code until a reset).
    pub setup_failures: u32,
    /// Last change (RFC 3339).
    pub updated_at: String,
}

/// A setup code, shown once: `POST /v1/admin/staff` and
/// `POST /v1/admin/staff/{staff_id}/reset-pin` answer it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SetupCode {
    /// The clerk.
    pub staff: StaffView,
    /// The 8-digit one-time code the clerk types at a terminal of one of
    /// their stores to set their PIN.
    pub setup_code: String,
    /// When it expires (RFC 3339).
    pub setup_expires_at: String,
}

/// `POST /v1/admin/staff/{staff_id}/rename` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameStaff {
    /// The new name on the sign-in button (1 to 40 characters).
    #[schemars(length(min = 1, max = 40))]
    pub display_name: String,
}

/// `POST /v1/admin/staff/{staff_id}/stores` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffStores {
    /// The stores they work at from now on (1 to 20 existing store codes).
    #[schemars(length(min = 1, max = 20))]
    pub stores: Vec<String>,
}

/// An enrollment code as listed (`GET /v1/admin/enroll-codes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EnrollCodeView {
    /// The code's listing id (never the code).
    pub code_id: String,
    /// Its store.
    pub store: String,
    /// `unused`, `used` or `expired`.
    pub state: String,
    /// When it was issued (RFC 3339).
    pub issued_at: String,
    /// When it expires unused (absent for codes issued before codes expired).
    pub expires_at: Option<String>,
    /// When a terminal redeemed it.
    pub used_at: Option<String>,
    /// The terminal that redeemed it.
    pub used_by: Option<String>,
}

/// A terminal (`GET /v1/admin/terminals`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TerminalView {
    /// Its id.
    pub terminal_id: TerminalId,
    /// Its store.
    pub store: String,
    /// When it redeemed its enrollment code (RFC 3339).
    pub registered_at: String,
    /// When it last sent a batch (RFC 3339).
    pub last_seen: Option<String>,
    /// Its highest contiguous sequence number stored.
    pub acked_seq: u64,
    /// Events it holds that head office has not stored yet (its outbox head
    /// less `acked_seq`), as of its last batch.
    pub pending_events: Option<u64>,
    /// The version of its software, as it said with its latest batch that
    /// said one (`0.4.0+g1a2b3c`); `None` if it never did.
    pub app_version: Option<String>,
    /// Its requests are refused.
    pub revoked: bool,
    /// Its wall clock minus head office's, in milliseconds (positive when
    /// ahead), as last recorded (issue 22); `None` until recorded. Beyond
    /// 120 s either way the terminal is flagged.
    pub clock_skew_ms: Option<i64>,
}

/// `POST /v1/admin/users` request: creates a head-office user or sets a
/// new password (and role, when given).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// 1 to 64 letters, digits or `.` `_` `-` `@`.
    #[schemars(length(min = 1, max = 64))]
    pub username: String,
    /// At least 8 characters.
    #[schemars(length(min = 8, max = 1024))]
    pub password: String,
    /// Their role; a new user without one is an analyst (reads only).
    #[serde(default)]
    pub role: Option<Role>,
}

/// `POST /v1/admin/members/{member_id}/freeze` and `/unfreeze` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StandingChange {
    /// Why (1 to 200 characters; the audit trail keeps it). Never personal
    /// data: the subject of the audit row is the member id.
    pub reason: String,
}

/// `POST /v1/admin/members/{member_id}/reissue-card` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReissuedCard {
    /// The member.
    pub member: MemberId,
    /// The new card's serial (the card before is revoked).
    pub card_serial: u16,
}

/// `POST /v1/admin/members/{member_id}/merge` request: the member of the
/// path is merged into `into` (the survivor).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeMembers {
    /// The member that survives: the ledger moves there. Same phone as
    /// the merged member, else refused (`different_phones`).
    pub into: MemberId,
    /// Why (1 to 200 characters; the audit trail keeps it on both sides).
    pub reason: String,
}

/// The action a resolution takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// Nothing to undo: what the terminals booked stands.
    Accept,
    /// The member is frozen (no points or stored value redeemed).
    Freeze,
    /// A points adjustment is booked for the member (`points`, signed;
    /// within the member-money threshold, else refused:
    /// `needs_second_approver`).
    Adjust,
    /// The duplicate member is merged into the member whose phone it
    /// duplicates (`duplicate_phone` conflicts only).
    Merge,
}

impl Resolution {
    /// Its name, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::Accept => "accept",
            Resolution::Freeze => "freeze",
            Resolution::Adjust => "adjust",
            Resolution::Merge => "merge",
        }
    }
}

/// How a terminal flag is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FlagResolution {
    /// A false alarm: the terminal stays as it is.
    Accept,
    /// The terminal is revoked (its requests refused from now on).
    Revoke,
}

impl FlagResolution {
    /// Its name, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            FlagResolution::Accept => "accept",
            FlagResolution::Revoke => "revoke",
        }
    }
}

/// `POST /v1/admin/terminal-flags/{id}/resolve` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveFlag {
    /// `accept` (a false alarm) or `revoke` (the terminal is revoked).
    pub action: FlagResolution,
    /// Why (1 to 200 characters; the audit trail keeps it).
    pub note: String,
}

/// `POST /v1/admin/dead-letters/{terminal_id}/{seq}/reapply` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReapplyOutcome {
    /// `applied` (the event is in the ledger now; the dead letter left the
    /// queue) or `still_refused` (dead-lettered again with a new reason;
    /// nothing else changed).
    pub state: String,
    /// The new reason's poison code, when still refused.
    pub code: Option<String>,
    /// Conflicts the applied event recorded for review.
    pub conflicts: u32,
}

/// `POST /v1/admin/members/{member_id}/tags` request: the member's tags
/// from now on (replacing theirs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberTags {
    /// At most 10 tags of at most 20 characters each (`VIP`, `员工`); blanks
    /// and repeats are dropped.
    pub tags: Vec<String>,
}

/// `POST /v1/admin/conflicts/{member_id}/{conflict_no}/assign` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignConflict {
    /// The head-office user who takes it.
    pub assignee: String,
}

/// `POST /v1/admin/conflicts/{member_id}/{conflict_no}/resolve` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveConflict {
    /// `accept` (what was booked stands), `freeze` (the member is frozen),
    /// `adjust` (points booked) or `merge` (the duplicate merged).
    pub action: Resolution,
    /// For `adjust`: the points to add (positive) or take away (negative).
    #[serde(default)]
    pub points: Option<i64>,
    /// Why (1 to 200 characters; the audit trail keeps it).
    pub note: String,
}

/// `POST /v1/admin/users/{username}/role` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserRole {
    /// The new role.
    pub role: Role,
}

/// A head-office user (`GET /v1/admin/users`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UserView {
    /// Login name.
    pub username: String,
    /// Role.
    pub role: String,
    /// When created (RFC 3339).
    pub created_at: String,
}

/// A row of the audit trail (`GET /v1/admin/audit`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AuditView {
    /// When (RFC 3339).
    pub at: String,
    /// Who: `admin-token`, `cli`, a head-office user, or `terminal:<id>`.
    pub actor: String,
    /// What (`store_created`, `staff_deactivated`, `code_issued`, ...).
    pub action: String,
    /// About what: `store:<code>`, `staff:<id>`, `terminal:<id>`,
    /// `user:<name>`, `code:<code id>`.
    pub subject: String,
    /// Anything more (never a code, a hash or a name).
    pub detail: String,
}

// Member money: a stored-value cash-out and a points adjustment, each with
// a reason and, above its threshold, a second user's approval.

/// `POST /v1/admin/members/{member_id}/cash-out` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CashOut {
    /// The principal to pay back, in fen (more than 0); all of it when
    /// absent. The bonus that goes with it is forfeited.
    #[serde(default)]
    #[schemars(range(min = 1, max = 1_000_000_000_000_i64))]
    pub amount_fen: Option<i64>,
    /// Why (1 to 200 characters; the audit trail keeps it).
    pub reason: String,
}

/// `POST /v1/admin/members/{member_id}/points-adjustment` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PointsAdjustment {
    /// Points to add (positive) or take away (negative); not 0.
    #[schemars(range(min = -1_000_000_000_000_i64, max = 1_000_000_000_000_i64))]
    pub points: i64,
    /// Why (1 to 200 characters; the audit trail keeps it).
    pub reason: String,
}

/// What a cash-out, a points adjustment or an approval did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MoneyOutcome {
    /// `applied` (booked in the member's ledger and sent down) or
    /// `pending` (above the threshold: waiting for a second approver).
    pub state: String,
    /// The request waiting (pending), or the one approved.
    pub request_no: Option<i64>,
    /// Principal paid back, in fen (a cash-out applied).
    pub principal_paid_fen: Option<i64>,
    /// Bonus forfeited with it, in fen (a cash-out applied).
    pub bonus_forfeited_fen: Option<i64>,
    /// Points added or taken away (an adjustment applied).
    pub points: Option<i64>,
    /// The action booked in the ledger (applied).
    pub source: Option<String>,
}

/// The thresholds above which member money needs a second approver
/// (head-office settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MoneyThresholds {
    /// A cash-out above this many fen waits for approval (default 50000,
    /// ¥500.00).
    #[schemars(range(min = 0, max = 1_000_000_000_000_i64))]
    pub cash_out_fen: i64,
    /// An adjustment of more than this many points either way waits for
    /// approval (default 1000).
    #[schemars(range(min = 0, max = 1_000_000_000_000_i64))]
    pub points: i64,
}
