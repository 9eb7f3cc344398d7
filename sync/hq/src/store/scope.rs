//! Which stores' terminals receive a member's changes (issue 23: a
//! downlink whose cost grows with what each terminal needs, not with the
//! chain).
//!
//! **The rule.** A member is *in scope* of a store from the day a terminal
//! of that store uploads an event that books for them (an enrollment, a
//! sale, a top-up, a refund: any ledger entry or member write), or fetches
//! them on demand (a card from elsewhere scanned there while online), and
//! stays in scope while they are seen there within the scope window
//! ([`SCOPE_DAYS_DEFAULT`] days, `jobs.scope_days`). Each member change on
//! the log is written once per store in scope (its `store` column); a
//! terminal reads the chain-wide changes (no store: programs, keys,
//! revocations, erasures, staff) and its own store's. So the log grows with
//! the stores a member uses, typically one or two, never with terminals.
//!
//! **Leaving scope.** The daily `downlink_scope` job marks a store's scope
//! of a member not seen there within the window as lapsed and writes a
//! `forget` change for that store: its terminals drop the cached member
//! (unless events of theirs for the member still wait to upload). A member
//! seen there again is in scope again at once, and the upload's own member
//! change brings them back whole.
//!
//! **Members no store has seen** (created before scoping, or only at head
//! office) go to every terminal, as before scoping: a lapsed scope is not
//! "never seen", so a member who left every store's scope goes nowhere.
//!
//! A card from anywhere in the chain still scans offline: it is signed,
//! and the terminal serves its holder with balances unknown until head
//! office's snapshot arrives (SPEC section 3).

use tillcard_rules::ids::{MemberId, Timestamp};

use super::{ChangeRow, StoreResult};

/// Days a member stays in a store's scope after last seen there.
pub const SCOPE_DAYS_DEFAULT: u32 = 180;

/// The day a moment counts as "seen" on (UTC, `YYYY-MM-DD`): what
/// `member_scope.seen_on` holds and the job's cutoff compares.
pub fn scope_day(at: Timestamp) -> String {
    at.with_timezone(&chrono::Utc)
        .format("%Y-%m-%d")
        .to_string()
}

/// The change-log statement that writes a `member` change for each member
/// `source` yields (a query with a `member_id` column), once per store in
/// scope, or once for every terminal (no store) for a member no store has
/// seen. Both backends' SQL: `active` is a boolean on PostgreSQL and 0/1
/// on SQLite, both read as a predicate.
pub fn fan_out_sql(source: &str) -> String {
    format!(
        "INSERT INTO changes (kind, member_id, store)
         SELECT 'member', c.member_id, s.store FROM ({source}) c
           JOIN member_scope s ON s.member_id = c.member_id AND s.active
         UNION ALL
         SELECT 'member', c.member_id, NULL FROM ({source}) c
          WHERE NOT EXISTS (SELECT 1 FROM member_scope s WHERE s.member_id = c.member_id)"
    )
}

/// A scope's key, (member id, store) as text; the daily job's cursor
/// (empty strings: before the first).
pub type ScopeKey = (String, String);

/// One page of the daily job's walk over scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LapsePage {
    /// Scopes lapsed on the page.
    pub lapsed: usize,
    /// The page's last key, to continue after; `None` at the end.
    pub next: Option<ScopeKey>,
}

/// One store's scope of a member, as head office holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeRow {
    /// The store.
    pub store: String,
    /// The day the member was last seen there.
    pub seen_on: String,
    /// Still in scope (false once the window lapsed).
    pub active: bool,
}

/// The downlink's scoping ([module docs](self)).
#[async_trait::async_trait]
pub trait ScopeStore {
    /// The log after `after` for one store's terminal, in order: the
    /// chain-wide changes and that store's, at most `limit`, none that a
    /// change committed later could precede.
    async fn changes_for(
        &self,
        store: &str,
        after: (i64, i64),
        limit: i64,
    ) -> StoreResult<Vec<ChangeRow>>;
    /// Those of `ids` with a `member` change for `store` (or for every
    /// terminal) after `after`: a later page of that store's log sends
    /// them.
    async fn changed_after_for(
        &self,
        store: &str,
        ids: &[MemberId],
        after: (i64, i64),
    ) -> StoreResult<Vec<MemberId>>;
    /// Records `member` as seen at `store` on `now`'s day (a fetch on
    /// demand), in scope from now on.
    async fn see_member(&self, store: &str, member: MemberId, now: Timestamp) -> StoreResult<()>;
    /// Reads up to `limit` scopes after `after` in key order (member,
    /// store) and lapses those last seen before `cutoff_day`, each with a
    /// `forget` change for its store, in one transaction. A page of the
    /// key, not an index of the due ones: an index on `seen_on` was also
    /// a path every batch's generic plan could take (and took, scanning
    /// every active scope per batch).
    async fn lapse_scopes(
        &self,
        cutoff_day: &str,
        after: &ScopeKey,
        limit: i64,
    ) -> StoreResult<LapsePage>;
    /// A member's scopes, by store.
    async fn scopes_of(&self, member: MemberId) -> StoreResult<Vec<ScopeRow>>;
    /// The last change of each scope (`None`: the chain-wide log; else a
    /// store's) among those [`ScopeStore::changes_for`] would serve now
    /// and that were written after `mark` (every one when `None`), and the
    /// mark to pass next time: the poll cache's reading of where each
    /// store's log ends (`service::poll_cache`).
    async fn log_heads(&self, mark: Option<i64>) -> StoreResult<LogHeads>;
}

/// What [`ScopeStore::log_heads`] read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogHeads {
    /// Pass it to the next reading: every change after it is read then
    /// (PostgreSQL: the horizon of running transactions; SQLite: the last
    /// position).
    pub mark: i64,
    /// Each scope's last change read: the chain-wide log (`None`) or a
    /// store's.
    pub heads: Vec<(Option<String>, ChangeRow)>,
}
