//! Head office's storage: one trait, [`Store`], with two backends that run
//! the same test suite: embedded SQLite ([`sqlite`], the default) and
//! PostgreSQL ([`postgres`]).
//!
//! Both backends apply a batch the same way: in ONE transaction they lock
//! the terminal, load what [`crate::ingest::plan`] needs, plan, and write the
//! plan. The SQL differs only in dialect.

// The one place database connections may live (clippy.toml disallows them
// everywhere else).
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

pub mod back_office;
pub mod campaigns;
pub mod catalog;
pub mod job_runs;
pub(crate) mod job_sql;
pub mod member_money;
pub mod node_state;
pub mod postgres;
pub mod review;
pub(crate) mod rows;
pub mod scope;
pub mod shift_closes;
pub mod sqlite;
pub mod throttles;
pub mod walk_in_returns;

pub use back_office::{
    AuditEntry, BackOfficeRefusal, EnrollCodeRecord, MemberRowChange, StaffRecord, StaffUpdate,
    StorePatch, StoreRecord, TerminalListing, UserListing,
};
pub use campaigns::{CampaignStore, GrantOutcome};
pub use catalog::CatalogStore;
pub use job_runs::{JobClaim, JobFinish, JobRunRecord, JobRunStore};
pub use node_state::NodeStateStore;
pub use review::{
    ConflictCase, ConflictClose, ConflictId, DeadLetterCase, DeadLetterId, FlagCase, Reapplied,
    ReviewItem,
};
pub use scope::ScopeStore;
pub use shift_closes::{ShiftCloseRecord, ShiftCloseStore};
pub use walk_in_returns::{WalkInReturnCase, WalkInReturnStore};

use tillcard_rules::ids::{MemberId, Timestamp};
use tillcard_rules::ledger::LedgerEntry;

use crate::figures::{FigureQuery, FigureRows};
use crate::ingest::{BatchRefusal, Plan, Prepared};
use tillcard_protocol::wire::TerminalId;

/// Storage failures. Their text is for logs only: it never reaches a client
/// (see [`crate::error::HqError`]).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL failed.
    #[error("postgres: {}", describe_postgres(.0))]
    Postgres(#[from] tokio_postgres::Error),
    /// The PostgreSQL pool failed.
    #[error("postgres pool: {0}")]
    Pool(String),
    /// A stored value did not parse.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// A blocking task failed.
    #[error("task: {0}")]
    Task(String),
}

/// Shorthand.
pub type StoreResult<T> = Result<T, StoreError>;

/// A provisioned terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalRecord {
    /// Id.
    pub terminal_id: TerminalId,
    /// Store.
    pub store: String,
    /// Ed25519 public key (base64).
    pub public_key: String,
    /// Phone lookup key (base64).
    pub lookup_key: String,
    /// Highest contiguous seq stored.
    pub acked_seq: u64,
    /// Refused from now on.
    pub revoked: bool,
    /// The terminal's certified member-card key: a `TrustedKey` JSON (key
    /// id, public key, validity window, `revoked_at` once withdrawn);
    /// `None` for terminals registered before head office kept it.
    pub card_key: Option<String>,
    /// Its wall clock minus head office's (ms, positive when ahead) as
    /// last recorded; `None` until then (issue 22).
    pub clock_skew_ms: Option<i64>,
}

/// A member as head office holds it (personal fields `None` once erased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    /// Id.
    pub member: MemberId,
    /// Masked name.
    pub masked_name: Option<String>,
    /// Masked phone.
    pub masked_phone: Option<String>,
    /// Phone, name and birthday as stored: encrypted, with the member's
    /// wrapped data key; read only through [`crate::personal::PersonalKeys::open`].
    pub personal: crate::personal::SealedPersonal,
    /// Tags.
    pub tags: Vec<String>,
    /// Member this one duplicates by phone, if any.
    pub duplicate_of: Option<MemberId>,
    /// Erased on request.
    pub erased: bool,
    /// The member who referred this one, if a referral card was scanned at
    /// enrollment.
    pub referrer: Option<MemberId>,
    /// Frozen by head office (member care): terminals redeem no points or
    /// stored value for them.
    pub frozen: bool,
    /// The serial of the member's current card: 1 from enrollment, raised
    /// by each re-issue at head office (the card before is revoked).
    pub card_serial: u16,
    /// The member this account was merged into (one phone's two accounts):
    /// its ledger moved there, and terminals serve that member instead.
    pub merged_into: Option<MemberId>,
    /// The terminal that enrolled the member (whose card key signed their
    /// enrollment card); `None` for members enrolled before head office
    /// kept it.
    pub enrolled_by: Option<TerminalId>,
}

impl MemberRecord {
    /// TEST SUPPORT: the personal fields opened under the tests' fixed key
    /// ([`crate::personal::PersonalKeys::for_tests`]); none once erased.
    #[cfg(feature = "test-support")]
    pub fn test_personal(&self) -> crate::personal::Personal {
        crate::personal::PersonalKeys::for_tests()
            .open(self.member, &self.personal)
            .unwrap_or_default()
    }
}

/// A member and their ledger, in booking order.
pub type MemberWithLedger = (MemberRecord, Vec<LedgerEntry>);

/// Each record with its ledger from `ledgers` (keyed by member id text, as
/// both backends read them; a member without entries gets none).
fn with_ledgers(
    records: Vec<MemberRecord>,
    mut ledgers: std::collections::HashMap<String, Vec<LedgerEntry>>,
) -> Vec<MemberWithLedger> {
    records
        .into_iter()
        .map(|record| {
            let entries = ledgers
                .remove(&record.member.to_string())
                .unwrap_or_default();
            (record, entries)
        })
        .collect()
}

/// A conflict recorded for review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictRecord {
    /// Member.
    pub member: MemberId,
    /// Kind.
    pub kind: String,
    /// Reason.
    pub reason: String,
    /// Terminal that uploaded the event.
    pub terminal_id: Option<TerminalId>,
    /// Its seq.
    pub seq: Option<u64>,
    /// When head office recorded it (RFC 3339).
    pub at: String,
}

/// A head-office (dashboard) user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Login name.
    pub username: String,
    /// Argon2id hash in PHC string form.
    pub password_hash: String,
    /// Role (`admin`, `store_ops`, `marketing`, `analyst`, `auditor`).
    pub role: String,
}

/// A dead-lettered event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterRecord {
    /// Terminal.
    pub terminal_id: TerminalId,
    /// Seq.
    pub seq: u64,
    /// The event's id.
    pub event_id: String,
    /// Why, as [`crate::ingest::Poison::stored`] wrote it.
    pub reason: String,
    /// When head office refused it (RFC 3339).
    pub at: String,
}

/// A row of the change log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRow {
    /// Id of the transaction that wrote it (0 on SQLite, whose writers are
    /// serialized). Changes are read in (xid, position) order.
    pub xid: i64,
    /// Position (the cursor).
    pub position: i64,
    /// `program`, `member`, `erasure`, `trusted_key`, `revocation`, `coupon`.
    pub kind: String,
    /// Member concerned, if any.
    pub member: Option<MemberId>,
    /// JSON payload, if any.
    pub payload: Option<String>,
}

/// Outcome of redeeming an enrollment code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeemed {
    /// The terminal is provisioned for this store.
    Ok {
        /// Store.
        store: String,
    },
    /// No such code.
    Unknown,
    /// The code expired unused.
    Expired,
    /// The code was used already.
    Used,
    /// The code is for another store than the terminal is configured for.
    OtherStore,
}

/// What a back-office change answers: the store's refusal, or its result.
pub type BackOffice<T> = StoreResult<Result<T, BackOfficeRefusal>>;

/// Row counts, for tests and benchmarks (feature `test-support`).
#[cfg(feature = "test-support")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Stored events.
    pub events: u64,
    /// Ledger entries.
    pub ledger: u64,
    /// Dead letters.
    pub dead_letters: u64,
    /// Conflicts.
    pub conflicts: u64,
}

/// Head office's storage.
#[async_trait::async_trait]
pub trait Store:
    CampaignStore
    + CatalogStore
    + JobRunStore
    + NodeStateStore
    + ScopeStore
    + ShiftCloseStore
    + WalkInReturnStore
    + Send
    + Sync
    + 'static
{
    /// Creates the schema if needed (numbered migrations).
    async fn migrate(&self) -> StoreResult<()>;
    /// Encrypts under `keys` the members' personal data stored in plain
    /// before encryption at rest, then drops the plain columns (once, at
    /// start-up, after [`Store::migrate`]; see [`crate::personal`]). How
    /// many members were encrypted (0 when there were no plain columns).
    async fn seal_plaintext_members(
        &self,
        keys: &crate::personal::PersonalKeys,
    ) -> StoreResult<u64>;
    /// A setting, if set.
    async fn setting(&self, key: &str) -> StoreResult<Option<String>>;
    /// Sets a setting unless already set; returns the value in force.
    async fn init_setting(&self, key: &str, value: &str) -> StoreResult<String>;
    /// Appends a change to the downlink log.
    async fn push_change(
        &self,
        kind: &str,
        member: Option<MemberId>,
        payload: Option<&str>,
    ) -> StoreResult<()>;
    /// Stores a one-time enrollment code (hashed) for an existing store,
    /// with its audit row.
    async fn insert_code(
        &self,
        code_hash: &str,
        store: &str,
        expires_at: Timestamp,
        audit: &AuditEntry,
    ) -> BackOffice<()>;
    /// Redeems an unexpired code once (for `wanted_store` when given) and
    /// registers the terminal, atomically; records when and by which
    /// terminal the code was used.
    async fn redeem_code(
        &self,
        code_hash: &str,
        terminal: &TerminalRecord,
        now: Timestamp,
        wanted_store: Option<&str>,
    ) -> StoreResult<Redeemed>;
    /// Every enrollment code, newest first (never the code itself).
    async fn enroll_codes(&self) -> StoreResult<Vec<EnrollCodeRecord>>;
    /// Creates a store with its audit row.
    async fn create_store(&self, store: &StoreRecord, audit: &AuditEntry) -> BackOffice<()>;
    /// Changes a store's name, time zone or address, with its audit row.
    async fn update_store(
        &self,
        code: &str,
        patch: &StorePatch,
        audit: &AuditEntry,
    ) -> BackOffice<StoreRecord>;
    /// Every store, by code.
    async fn stores(&self) -> StoreResult<Vec<StoreRecord>>;
    /// Creates a clerk at existing stores (their display name unique in
    /// each), with the audit row and the staff change, in one transaction.
    async fn create_staff(&self, staff: &StaffRecord, audit: &AuditEntry) -> BackOffice<()>;
    /// Applies one change to a clerk ([`back_office::plan_staff_update`])
    /// with its audit row (by `actor`) and, when terminals must know, the
    /// staff change, in one transaction.
    async fn update_staff(
        &self,
        staff_id: &str,
        update: &StaffUpdate,
        actor: &str,
        now: Timestamp,
    ) -> BackOffice<StaffRecord>;
    /// A clerk by id.
    async fn staff_member(&self, staff_id: &str) -> StoreResult<Option<StaffRecord>>;
    /// Every clerk, or those working at `store`, by id.
    async fn staff_list(&self, store: Option<&str>) -> StoreResult<Vec<StaffRecord>>;
    /// Every terminal, by store and id.
    async fn terminals(&self) -> StoreResult<Vec<TerminalListing>>;
    /// The audit trail, newest first, about `subject` only if given.
    async fn audit_trail(&self, subject: Option<&str>, limit: i64) -> StoreResult<Vec<AuditEntry>>;
    /// Answers when the database does (`/health`): one trivial query on a
    /// connection the requests would use.
    async fn ping(&self) -> StoreResult<()>;
    /// A terminal by id.
    async fn terminal(&self, id: TerminalId) -> StoreResult<Option<TerminalRecord>>;
    /// Revokes a terminal, with its audit row. With `withdrawn_card_key`
    /// (the terminal's card key as a `TrustedKey` JSON with `revoked_at`),
    /// in the same transaction: the key is stored so, pushed down as a
    /// `trusted_key` change, and every member the terminal enrolled goes
    /// down again (their snapshot then carries a card head office signs).
    async fn revoke_terminal(
        &self,
        id: TerminalId,
        audit: &AuditEntry,
        withdrawn_card_key: Option<&str>,
    ) -> BackOffice<()>;
    /// Registers again a terminal a restored head office lacks, as its
    /// registration certificate names it (`service::reintroduce`), with
    /// its audit row, in one transaction. `false`: already registered
    /// (nothing changed).
    async fn reintroduce_terminal(
        &self,
        terminal: &TerminalRecord,
        audit: &AuditEntry,
    ) -> StoreResult<bool>;
    /// Stores a terminal's certified card key (a `TrustedKey` JSON) and
    /// pushes it down as a `trusted_key` change, in one transaction.
    async fn set_card_key(&self, id: TerminalId, card_key: &str) -> StoreResult<()>;
    /// The certified card keys of revoked terminals (`TrustedKey` JSON,
    /// withdrawn): the members those terminals enrolled get a card head
    /// office signs.
    async fn withdrawn_card_keys(&self) -> StoreResult<Vec<(TerminalId, String)>>;
    /// The members (not erased) whose phone has this lookup key (head
    /// office's HMAC of the digits), oldest first: two when a phone was
    /// enrolled twice.
    async fn members_by_phone_key(&self, phone_key: &str) -> StoreResult<Vec<MemberId>>;
    /// Writes one audit row on its own (a view of personal data).
    async fn record_audit(&self, audit: &AuditEntry) -> StoreResult<()>;
    /// Replaces a member's tags (shown to clerks) and tells every terminal,
    /// with its audit row, in one transaction.
    async fn set_member_tags(
        &self,
        member: MemberId,
        tags: &[String],
        audit: &AuditEntry,
    ) -> BackOffice<()>;
    /// Freezes (or unfreezes) a member and tells every terminal, with its
    /// audit row, in one transaction.
    async fn set_member_frozen(
        &self,
        member: MemberId,
        frozen: bool,
        audit: &AuditEntry,
    ) -> BackOffice<()>;
    // Member care's cards and merges (`service::member_cards`,
    // `service::merge`).

    /// Re-issues a member's card: the serial raised, the card before
    /// revoked, every terminal told, with its audit row, in one
    /// transaction. Returns the new serial.
    async fn reissue_card(&self, member: MemberId, audit: &AuditEntry) -> BackOffice<u16>;
    /// Merges `merged` into `survivor` (one phone's two accounts, both
    /// held, neither erased nor merged before): the ledger moved, both
    /// members sent down, with the audit rows, in one transaction.
    async fn merge_members(
        &self,
        merged: MemberId,
        survivor: MemberId,
        audits: &[AuditEntry],
    ) -> BackOffice<()>;
    /// Moves onto its survivor what an upload booked on a merged-away
    /// member after the merge; how many entries moved.
    async fn sweep_merged(&self, merged: MemberId) -> StoreResult<usize>;
    /// The merges `members` take part in, on either side:
    /// (merged, survivor).
    async fn merges_of(&self, members: &[MemberId]) -> StoreResult<Vec<(MemberId, MemberId)>>;
    /// Records a suspicion about a terminal for review.
    async fn flag_terminal(&self, id: TerminalId, reason: &str, now: Timestamp) -> StoreResult<()>;
    /// Records a terminal's clock skew (its wall clock minus head office's,
    /// ms) at `now` (issue 22).
    async fn record_clock_skew(
        &self,
        id: TerminalId,
        skew_ms: i64,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// Terminal flags (terminal, reason).
    async fn terminal_flags(&self) -> StoreResult<Vec<(TerminalId, String)>>;
    /// Applies a prepared batch in ONE transaction (see [`crate::ingest`]).
    async fn ingest(
        &self,
        terminal: &TerminalRecord,
        prepared: Prepared,
        now: Timestamp,
    ) -> StoreResult<Result<Plan, BatchRefusal>>;
    /// Changes after an (xid, position) cursor, in order, that can no longer
    /// be preceded by a change committed later.
    async fn changes_after(&self, after: (i64, i64), limit: i64) -> StoreResult<Vec<ChangeRow>>;
    /// A member and their ledger.
    async fn member(&self, id: MemberId) -> StoreResult<Option<(MemberRecord, Vec<LedgerEntry>)>>;
    /// Members and their ledgers read in sets (two queries, whatever the
    /// number): those of `ids` that exist, each ledger in booking order,
    /// the members in no particular order. What a downlink page reads.
    async fn members_with_ledgers(&self, ids: &[MemberId]) -> StoreResult<Vec<MemberWithLedger>>;
    /// Up to `limit` member ids after `after` (none: from the first), in
    /// id order: the daily jobs walk members a page at a time.
    async fn member_ids_after(
        &self,
        after: Option<MemberId>,
        limit: i64,
    ) -> StoreResult<Vec<MemberId>>;
    /// Books head-office entries (jobs) for many members, each with its
    /// member change: one transaction (on PostgreSQL, one per
    /// key-lock budget of members, each member's lock taken as a batch
    /// takes it).
    async fn append_entries_many(&self, booked: &[(MemberId, Vec<LedgerEntry>)])
    -> StoreResult<()>;
    /// All member ids (for the periodic jobs).
    async fn member_ids(&self) -> StoreResult<Vec<MemberId>>;
    /// Appends head-office entries (jobs) and logs a member change.
    async fn append_entries(&self, member: MemberId, entries: &[LedgerEntry]) -> StoreResult<()>;
    /// Erases a member's personal fields everywhere and logs an erasure.
    /// Returns whether the member existed.
    async fn erase_member(&self, id: MemberId, now: Timestamp) -> StoreResult<bool>;
    /// Conflicts for review.
    async fn conflicts(&self) -> StoreResult<Vec<ConflictRecord>>;
    /// The conflicts as a work queue: the open ones first, newest first
    /// in each part; at most `limit`.
    async fn conflict_cases(&self, limit: i64) -> StoreResult<Vec<ConflictCase>>;
    /// One conflict, if it exists.
    async fn conflict_case(&self, id: ConflictId) -> StoreResult<Option<ConflictCase>>;
    /// Assigns an open conflict to `assignee`, with its audit row.
    async fn assign_conflict(
        &self,
        id: ConflictId,
        assignee: &str,
        audit: &AuditEntry,
    ) -> BackOffice<()>;
    /// Closes an open conflict, with its audit row.
    async fn close_conflict(
        &self,
        id: ConflictId,
        close: &ConflictClose,
        audit: &AuditEntry,
    ) -> BackOffice<()>;
    /// Dead letters for review.
    async fn dead_letters(&self) -> StoreResult<Vec<DeadLetterRecord>>;
    // The review queue's dead letters and terminal flags (`review`).

    /// Dead letters as a work queue: the open ones first, newest first in
    /// each part; at most `limit`.
    async fn dead_letter_cases(&self, limit: i64) -> StoreResult<Vec<DeadLetterCase>>;
    /// One dead letter with its stored body (none once erased), if it
    /// exists.
    async fn dead_letter_case(
        &self,
        id: DeadLetterId,
    ) -> StoreResult<Option<(DeadLetterCase, Option<String>)>>;
    /// Terminal flags as a work queue: the open ones first, newest first
    /// in each part; at most `limit`.
    async fn flag_cases(&self, limit: i64) -> StoreResult<Vec<FlagCase>>;
    /// One terminal flag, if it exists.
    async fn flag_case(&self, id: i64) -> StoreResult<Option<FlagCase>>;
    /// Assigns an open dead letter or flag to `assignee`, with its audit
    /// row.
    async fn assign_review_item(
        &self,
        item: ReviewItem,
        assignee: &str,
        audit: &AuditEntry,
    ) -> BackOffice<()>;
    /// Closes an open dead letter (dismissed) or flag (resolved or
    /// dismissed), with its audit row.
    async fn close_review_item(
        &self,
        item: ReviewItem,
        close: &ConflictClose,
        audit: &AuditEntry,
    ) -> BackOffice<()>;
    /// Re-applies a dead-lettered event of `terminal` in ONE transaction:
    /// its dead `events` row and open dead letter deleted (else nothing is
    /// written: [`Reapplied::NotDeadLettered`]), then the one event
    /// (`prepared`, rebuilt from the dead letter) loaded, planned and
    /// written as a batch is, keeping the content hash stored, with the
    /// audit row [`review::reapply_audit`] makes of `audit`. Refused
    /// again, it is dead-lettered again with the new reason.
    async fn reapply_dead_letter(
        &self,
        terminal: &TerminalRecord,
        prepared: Prepared,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> StoreResult<Reapplied>;
    /// The rows the chain's figures are computed from (see
    /// [`crate::figures`]): aggregates in SQL, the rest as rows.
    async fn figure_rows(&self, query: &FigureQuery) -> StoreResult<FigureRows>;
    /// How far this database trails the primary when it is a streaming
    /// standby (milliseconds; see [`crate::figures::ReadFrom`]); none on
    /// a primary or on SQLite.
    async fn standby_behind_ms(&self) -> StoreResult<Option<i64>> {
        Ok(None)
    }
    /// Every terminal's sync state (for the `/metrics` gauges).
    async fn terminal_rows(&self) -> StoreResult<Vec<crate::figures::TerminalRow>>;
    /// Creates a head-office user, or replaces their password hash and
    /// role, with its audit row.
    async fn put_user(
        &self,
        user: &UserRecord,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> StoreResult<()>;
    /// Changes a head-office user's role, with its audit row.
    async fn set_user_role(&self, username: &str, role: &str, audit: &AuditEntry)
    -> BackOffice<()>;
    /// Every head-office user, by name.
    async fn users(&self) -> StoreResult<Vec<UserListing>>;
    /// A dashboard user by name.
    async fn user(&self, username: &str) -> StoreResult<Option<UserRecord>>;
    /// Stores a dashboard session (the token's SHA-256, never the token).
    async fn insert_session(
        &self,
        token_hash: &str,
        username: &str,
        expires_at_ms: i64,
    ) -> StoreResult<()>;
    /// The user of an unexpired session, if any.
    async fn session_user(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<String>>;
    /// Ends a session (logout); also drops every expired session.
    async fn delete_session(&self, token_hash: &str, now_ms: i64) -> StoreResult<()>;

    /// Every program version published, oldest first (the change log's
    /// `program` rows).
    async fn programs(&self) -> StoreResult<Vec<tillcard_rules::Program>>;
    /// Publishes `program` as the next version number, with its downlink
    /// change and its audit row (subject `program:<version>`) in one
    /// transaction; returns it as published.
    async fn publish_program(
        &self,
        program: &tillcard_rules::Program,
        audit: &AuditEntry,
    ) -> StoreResult<tillcard_rules::Program>;
    // Member money (cash-out, points adjustment) and its second approver:
    // `member_money`.

    /// Books a cash-out or points adjustment in ONE transaction: the
    /// member's ledger read (under the member's lock), the pure plan
    /// ([`member_money::plan`]: refused above the balance held then), the
    /// entries, the member change on the downlink, the audit row, and the
    /// pending request it approves closed (refused unless pending and
    /// asked by another user). A refusal writes nothing.
    async fn book_member_money(
        &self,
        booking: &member_money::MoneyBooking,
        audit: &AuditEntry,
    ) -> member_money::MoneyAnswer<Vec<LedgerEntry>>;
    /// Stores a request for a second approver, with its audit row; its
    /// number. An unknown or erased member is refused.
    async fn request_member_money(
        &self,
        request: &member_money::NewMoneyRequest,
        audit: &AuditEntry,
    ) -> member_money::MoneyAnswer<i64>;
    /// Rejects a pending request (not by its requester), with its audit row.
    async fn reject_member_money(
        &self,
        decision: &member_money::MoneyDecision,
        audit: &AuditEntry,
    ) -> member_money::MoneyAnswer<()>;
    /// The requests, pending first, newest first; only pending ones when
    /// `pending_only`; at most `limit`.
    async fn member_money_requests(
        &self,
        pending_only: bool,
        limit: i64,
    ) -> StoreResult<Vec<member_money::MoneyRequest>>;
    /// One request, if it exists.
    async fn member_money_request(
        &self,
        request_no: i64,
    ) -> StoreResult<Option<member_money::MoneyRequest>>;
    /// Sets settings (replacing their values), with the audit row, in one
    /// transaction (member money's thresholds).
    async fn put_settings(
        &self,
        settings: &[(String, String)],
        audit: &AuditEntry,
    ) -> StoreResult<()>;

    // Test hooks: only tests and benchmarks call these, so they exist only
    // with the feature `test-support` (which tillcard-hq's own tests and the
    // terminal's sync tests turn on through their dev-dependency); the
    // release binary has none of them.

    /// TEST SUPPORT: row counts.
    #[cfg(feature = "test-support")]
    async fn counts(&self) -> StoreResult<Counts>;
    /// TEST SUPPORT: tables and rows whose text contains `needle` (erasure
    /// checks).
    #[cfg(feature = "test-support")]
    async fn find_text(&self, needle: &str) -> StoreResult<Vec<String>>;
    /// TEST SUPPORT: makes head office look restored from a backup taken
    /// when only events 1..=keep of `terminal` were stored: deletes its
    /// later events, their ledger entries and dead letters, and resets its ack.
    #[cfg(feature = "test-support")]
    async fn simulate_restore(&self, terminal: TerminalId, keep: u64) -> StoreResult<()>;
    /// TEST SUPPORT: whether every committed change is past the
    /// downlink's horizon, so a terminal asking now gets all of them. On
    /// PostgreSQL the horizon is the oldest transaction running anywhere
    /// in the cluster, another test's database included.
    #[cfg(feature = "test-support")]
    async fn downlink_settled(&self) -> StoreResult<bool>;
}

/// Why an enrollment code found for `store` cannot be redeemed at `now` by
/// a terminal configured for `wanted_store`, if it cannot: used first,
/// then another store, then expired (a code without an expiry is from
/// before codes expired and never does).
pub(crate) fn redemption_refusal(
    store: &str,
    expires_at: Option<&str>,
    used: bool,
    now: Timestamp,
    wanted_store: Option<&str>,
) -> Option<Redeemed> {
    if used {
        return Some(Redeemed::Used);
    }
    if wanted_store.is_some_and(|wanted| wanted != store) {
        return Some(Redeemed::OtherStore);
    }
    let expired = expires_at
        .is_some_and(|t| Timestamp::parse_from_rfc3339(t).map_or(true, |expires| expires <= now));
    expired.then_some(Redeemed::Expired)
}

/// A PostgreSQL error for the log: the server's message and SQLSTATE when
/// the server sent one (tokio-postgres' own text is only "db error"), not
/// its detail, which may quote row values.
fn describe_postgres(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

/// A count or seq for an SQL integer column (`bigint`, SQLite's INTEGER):
/// past `i64::MAX` it saturates.
pub(crate) fn to_sql_int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A count or seq read from an SQL integer column: a negative one (never
/// written) reads as 0.
pub(crate) fn from_sql_int(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// Parses a member id column.
pub(crate) fn parse_member(text: &str) -> StoreResult<MemberId> {
    text.parse()
        .map(MemberId)
        .map_err(|_| StoreError::Corrupt("member id".into()))
}

/// Parses a terminal id column.
pub(crate) fn parse_terminal(text: &str) -> StoreResult<TerminalId> {
    text.parse()
        .map(TerminalId)
        .map_err(|_| StoreError::Corrupt("terminal id".into()))
}

/// Parses a source (action) id column.
pub(crate) fn parse_source(text: &str) -> StoreResult<tillcard_rules::ids::SourceId> {
    text.parse()
        .map(tillcard_rules::ids::SourceId)
        .map_err(|_| StoreError::Corrupt("source id".into()))
}

/// Parses a JSON column.
/// The number the next published program version takes: one above every
/// version published so far.
pub(crate) fn next_program_version(published: &[tillcard_rules::Program]) -> u32 {
    published
        .iter()
        .map(|p| p.version)
        .max()
        .unwrap_or(0)
        .saturating_add(1)
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Serializes to a JSON column.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}
