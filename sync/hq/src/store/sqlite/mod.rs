//! The embedded SQLite backend (the default): one connection in WAL mode
//! with `synchronous=FULL` (an ack is a promise of durability), used from
//! tokio through `spawn_blocking`. SQLite serializes writers, so batches of
//! one terminal can never interleave.
//!
//! A folder by concern: numbered migrations (`migrations/NNNN.sql`), the
//! back office (`back_office`: stores, staff, enrollment codes, terminals,
//! users' roles, the audit trail), the
//! upload path and the member reads and writes it shares (`batch`), the
//! figures' SQL (`figures`), terminals and their flags (`terminals`),
//! dashboard users and sessions (`users`), the change log and jobs'
//! member writes (`members`), one mapper per record (`rows`) and the test
//! hooks (`test_hooks`, feature `test-support`); this file holds the store,
//! the migration runner and the rest of the [`Store`] operations. The other
//! files use each other, never this one.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};
use tillcard_rules::ids::{MemberId, Timestamp};
use tillcard_rules::ledger::LedgerEntry;

use super::{
    AuditEntry, BackOffice, ChangeRow, ConflictCase, ConflictClose, ConflictId, ConflictRecord,
    DeadLetterCase, DeadLetterId, DeadLetterRecord, EnrollCodeRecord, FlagCase, MemberRecord,
    MemberRowChange, MemberWithLedger, Reapplied, Redeemed, ReviewItem, StaffRecord, StaffUpdate,
    Store, StoreError, StorePatch, StoreRecord, StoreResult, TerminalListing, TerminalRecord,
    UserListing, UserRecord, parse_member, to_json,
};
use crate::figures::{FigureQuery, FigureRows, TerminalRow};
use crate::ingest::{self, BatchRefusal, Plan, Prepared};
use tillcard_protocol::wire::TerminalId;

mod back_office;
mod batch;
mod campaigns;
mod catalog;
mod figures;
mod jobs;
mod member_money;
mod members;
mod merge;
mod node_state;
mod personal;
mod programs;
mod review;
mod rows;
mod scope;
mod shift_closes;
mod terminals;
#[cfg(feature = "test-support")]
mod test_hooks;
#[cfg(test)]
mod tests;
mod users;
mod walk_in_returns;

use crate::store::rows::{columns, conflict_record_from_row, dead_letter_from_row};
use batch::{erase, load, load_member, push_change, write};
use figures::{figure_rows, terminal_rows};

/// Numbered migrations (`sqlite/migrations/NNNN.sql`), applied in order at
/// start-up.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001.sql"),
    include_str!("migrations/0002.sql"),
    include_str!("migrations/0003.sql"),
    include_str!("migrations/0004.sql"),
    include_str!("migrations/0005.sql"),
    include_str!("migrations/0006.sql"),
    include_str!("migrations/0007.sql"),
    include_str!("migrations/0008.sql"),
    include_str!("migrations/0009.sql"),
    include_str!("migrations/0010.sql"),
    include_str!("migrations/0011.sql"),
    include_str!("migrations/0012.sql"),
    include_str!("migrations/0013.sql"),
    include_str!("migrations/0014.sql"),
    include_str!("migrations/0015.sql"),
    include_str!("migrations/0016.sql"),
    include_str!("migrations/0017.sql"),
    include_str!("migrations/0018.sql"),
    include_str!("migrations/0019.sql"),
    include_str!("migrations/0020.sql"),
    include_str!("migrations/0021.sql"),
    include_str!("migrations/0022.sql"),
    include_str!("migrations/0023.sql"),
];

/// SQLite-backed storage.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> StoreResult<SqliteStore> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Deleted rows are overwritten with zeros in the file: an erased
        // member's wrapped data key leaves no copy in free space.
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn run<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = match conn.lock() {
                Ok(guard) => guard,
                // A closure panicked while holding the connection. The
                // connection itself is sound; only a transaction the panic
                // left open is not, so it is rolled back and the connection
                // serves again (before this, one panic answered 500 to
                // every later request of every terminal).
                Err(poisoned) => {
                    let guard = poisoned.into_inner();
                    conn.clear_poison();
                    if !guard.is_autocommit() {
                        guard.execute_batch("ROLLBACK")?;
                    }
                    tracing::error!("sqlite connection recovered after a panic");
                    guard
                }
            };
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        self.run(|c| Ok(c.query_row("SELECT 1", [], |_| Ok(()))?))
            .await
    }

    async fn migrate(&self) -> StoreResult<()> {
        self.run(|conn| {
            let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
            for (i, sql) in MIGRATIONS.iter().enumerate() {
                let number = i64::try_from(i).unwrap_or(i64::MAX) + 1;
                if number > version {
                    let tx = conn.transaction()?;
                    tx.execute_batch(sql)?;
                    tx.pragma_update(None, "user_version", number)?;
                    tx.commit()?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn seal_plaintext_members(
        &self,
        keys: &crate::personal::PersonalKeys,
    ) -> StoreResult<u64> {
        let keys = keys.clone();
        self.run(move |c| personal::seal_plaintext_members(c, &keys))
            .await
    }

    async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        let key = key.to_string();
        self.run(move |c| {
            Ok(c.query_row(
                "SELECT value FROM hq_settings WHERE key = ?1",
                params![key],
                |r| r.get(0),
            )
            .optional()?)
        })
        .await
    }

    async fn init_setting(&self, key: &str, value: &str) -> StoreResult<String> {
        let (key, value) = (key.to_string(), value.to_string());
        self.run(move |c| {
            c.execute(
                "INSERT INTO hq_settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
                params![key, value],
            )?;
            Ok(c.query_row(
                "SELECT value FROM hq_settings WHERE key = ?1",
                params![key],
                |r| r.get(0),
            )?)
        })
        .await
    }

    async fn push_change(
        &self,
        kind: &str,
        member: Option<MemberId>,
        payload: Option<&str>,
    ) -> StoreResult<()> {
        let (kind, payload) = (kind.to_string(), payload.map(str::to_string));
        self.run(move |c| push_change(c, &kind, member, payload.as_deref()))
            .await
    }

    async fn insert_code(
        &self,
        code_hash: &str,
        store: &str,
        expires_at: Timestamp,
        audit: &AuditEntry,
    ) -> BackOffice<()> {
        let (code_hash, store, audit) = (code_hash.to_string(), store.to_string(), audit.clone());
        self.run(move |c| back_office::insert_code(c, &code_hash, &store, expires_at, &audit))
            .await
    }

    async fn redeem_code(
        &self,
        code_hash: &str,
        terminal: &TerminalRecord,
        now: Timestamp,
        wanted_store: Option<&str>,
    ) -> StoreResult<Redeemed> {
        let (code_hash, t) = (code_hash.to_string(), terminal.clone());
        let wanted = wanted_store.map(str::to_string);
        self.run(move |c| back_office::redeem_code(c, &code_hash, &t, now, wanted.as_deref()))
            .await
    }

    async fn enroll_codes(&self) -> StoreResult<Vec<EnrollCodeRecord>> {
        self.run(|c| back_office::enroll_codes(c)).await
    }

    async fn create_store(&self, store: &StoreRecord, audit: &AuditEntry) -> BackOffice<()> {
        let (store, audit) = (store.clone(), audit.clone());
        self.run(move |c| back_office::create_store(c, &store, &audit))
            .await
    }

    async fn update_store(
        &self,
        code: &str,
        patch: &StorePatch,
        audit: &AuditEntry,
    ) -> BackOffice<StoreRecord> {
        let (code, patch, audit) = (code.to_string(), patch.clone(), audit.clone());
        self.run(move |c| back_office::update_store(c, &code, &patch, &audit))
            .await
    }

    async fn stores(&self) -> StoreResult<Vec<StoreRecord>> {
        self.run(|c| back_office::stores(c)).await
    }

    async fn create_staff(&self, staff: &StaffRecord, audit: &AuditEntry) -> BackOffice<()> {
        let (staff, audit) = (staff.clone(), audit.clone());
        self.run(move |c| back_office::create_staff(c, &staff, &audit))
            .await
    }

    async fn update_staff(
        &self,
        staff_id: &str,
        update: &StaffUpdate,
        actor: &str,
        now: Timestamp,
    ) -> BackOffice<StaffRecord> {
        let (staff_id, update, actor) = (staff_id.to_string(), update.clone(), actor.to_string());
        self.run(move |c| back_office::update_staff(c, &staff_id, &update, &actor, now))
            .await
    }

    async fn staff_member(&self, staff_id: &str) -> StoreResult<Option<StaffRecord>> {
        let staff_id = staff_id.to_string();
        self.run(move |c| back_office::staff_member(c, &staff_id))
            .await
    }

    async fn staff_list(&self, store: Option<&str>) -> StoreResult<Vec<StaffRecord>> {
        let store = store.map(str::to_string);
        self.run(move |c| back_office::staff_list(c, store.as_deref()))
            .await
    }

    async fn terminals(&self) -> StoreResult<Vec<TerminalListing>> {
        self.run(|c| back_office::terminals(c)).await
    }

    async fn audit_trail(&self, subject: Option<&str>, limit: i64) -> StoreResult<Vec<AuditEntry>> {
        let subject = subject.map(str::to_string);
        self.run(move |c| back_office::audit_trail(c, subject.as_deref(), limit))
            .await
    }

    async fn terminal(&self, id: TerminalId) -> StoreResult<Option<TerminalRecord>> {
        self.run(move |c| terminals::terminal(c, id)).await
    }

    async fn revoke_terminal(
        &self,
        id: TerminalId,
        audit: &AuditEntry,
        withdrawn_card_key: Option<&str>,
    ) -> BackOffice<()> {
        let (audit, withdrawn) = (audit.clone(), withdrawn_card_key.map(str::to_owned));
        self.run(move |c| {
            back_office::revoke_terminal(c, &id.to_string(), &audit, withdrawn.as_deref())
        })
        .await
    }

    async fn reintroduce_terminal(
        &self,
        terminal: &TerminalRecord,
        audit: &AuditEntry,
    ) -> StoreResult<bool> {
        let (terminal, audit) = (terminal.clone(), audit.clone());
        self.run(move |c| back_office::reintroduce_terminal(c, &terminal, &audit))
            .await
    }

    async fn set_card_key(&self, id: TerminalId, card_key: &str) -> StoreResult<()> {
        let card_key = card_key.to_owned();
        self.run(move |c| back_office::set_card_key(c, &id.to_string(), &card_key))
            .await
    }

    async fn withdrawn_card_keys(&self) -> StoreResult<Vec<(TerminalId, String)>> {
        self.run(back_office::withdrawn_card_keys).await
    }

    async fn members_by_phone_key(&self, phone_key: &str) -> StoreResult<Vec<MemberId>> {
        let key = phone_key.to_string();
        self.run(move |c| {
            let mut stmt = c.prepare(
                "SELECT member_id FROM members WHERE phone_key = ?1 AND erased_at IS NULL
                 ORDER BY consent_at, member_id",
            )?;
            let rows = stmt
                .query_map(params![key], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            rows.iter().map(|m| parse_member(m)).collect()
        })
        .await
    }

    async fn record_audit(&self, audit: &AuditEntry) -> StoreResult<()> {
        let audit = audit.clone();
        self.run(move |c| back_office::audit(c, &audit)).await
    }

    async fn set_member_tags(
        &self,
        member: MemberId,
        tags: &[String],
        audit: &AuditEntry,
    ) -> BackOffice<()> {
        let (change, audit) = (MemberRowChange::Tags(to_json(&tags)?), audit.clone());
        self.run(move |c| back_office::change_member(c, member, &change, &audit))
            .await
    }

    async fn set_member_frozen(
        &self,
        member: MemberId,
        frozen: bool,
        audit: &AuditEntry,
    ) -> BackOffice<()> {
        let (change, audit) = (MemberRowChange::Frozen(frozen), audit.clone());
        self.run(move |c| back_office::change_member(c, member, &change, &audit))
            .await
    }

    async fn reissue_card(&self, member: MemberId, audit: &AuditEntry) -> BackOffice<u16> {
        let audit = audit.clone();
        self.run(move |c| back_office::reissue_card(c, member, &audit))
            .await
    }

    async fn merge_members(
        &self,
        merged: MemberId,
        survivor: MemberId,
        audits: &[AuditEntry],
    ) -> BackOffice<()> {
        let audits = audits.to_vec();
        self.run(move |c| merge::merge_members(c, merged, survivor, &audits))
            .await
    }

    async fn sweep_merged(&self, merged: MemberId) -> StoreResult<usize> {
        self.run(move |c| merge::sweep_merged(c, merged)).await
    }

    async fn merges_of(&self, members: &[MemberId]) -> StoreResult<Vec<(MemberId, MemberId)>> {
        let members = members.to_vec();
        self.run(move |c| merge::merges_of(c, &members)).await
    }

    async fn flag_terminal(&self, id: TerminalId, reason: &str, now: Timestamp) -> StoreResult<()> {
        let reason = reason.to_string();
        self.run(move |c| terminals::flag_terminal(c, id, &reason, now))
            .await
    }

    async fn record_clock_skew(
        &self,
        id: TerminalId,
        skew_ms: i64,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.run(move |c| terminals::record_clock_skew(c, id, skew_ms, now))
            .await
    }

    async fn terminal_flags(&self) -> StoreResult<Vec<(TerminalId, String)>> {
        self.run(|c| terminals::terminal_flags(c)).await
    }

    async fn ingest(
        &self,
        terminal: &TerminalRecord,
        prepared: Prepared,
        now: Timestamp,
    ) -> StoreResult<Result<Plan, BatchRefusal>> {
        let t = terminal.clone();
        self.run(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let loaded = load(&tx, t.terminal_id, &prepared)?;
            let plan = match ingest::plan(prepared, loaded, &t.store) {
                Ok(plan) => plan,
                Err(refusal) => return Ok(Err(refusal)),
            };
            write(&tx, t.terminal_id, &plan, now)?;
            tx.commit()?;
            Ok(Ok(plan))
        })
        .await
    }

    async fn changes_after(&self, after: (i64, i64), limit: i64) -> StoreResult<Vec<ChangeRow>> {
        let position = after.1;
        self.run(move |c| members::changes_after(c, position, limit))
            .await
    }

    async fn member(&self, id: MemberId) -> StoreResult<Option<(MemberRecord, Vec<LedgerEntry>)>> {
        self.run(move |c| load_member(c, id)).await
    }

    async fn members_with_ledgers(&self, ids: &[MemberId]) -> StoreResult<Vec<MemberWithLedger>> {
        let ids = ids.to_vec();
        self.run(move |c| members::members_with_ledgers(c, &ids))
            .await
    }

    async fn member_ids(&self) -> StoreResult<Vec<MemberId>> {
        self.run(|c| members::member_ids(c)).await
    }

    async fn member_ids_after(
        &self,
        after: Option<MemberId>,
        limit: i64,
    ) -> StoreResult<Vec<MemberId>> {
        self.run(move |c| members::member_ids_after(c, after, limit))
            .await
    }

    async fn append_entries_many(
        &self,
        booked: &[(MemberId, Vec<LedgerEntry>)],
    ) -> StoreResult<()> {
        let booked = booked.to_vec();
        self.run(move |c| {
            let tx = c.transaction()?;
            for (member, entries) in &booked {
                members::book_entries(&tx, *member, entries)?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn append_entries(&self, member: MemberId, entries: &[LedgerEntry]) -> StoreResult<()> {
        let entries = entries.to_vec();
        self.run(move |c| members::append_entries(c, member, &entries))
            .await
    }

    async fn erase_member(&self, id: MemberId, now: Timestamp) -> StoreResult<bool> {
        self.run(move |c| {
            let tx = c.transaction()?;
            let existed = erase(&tx, id, now)?;
            tx.commit()?;
            Ok(existed)
        })
        .await
    }

    async fn conflicts(&self) -> StoreResult<Vec<ConflictRecord>> {
        self.run(|c| {
            let mut stmt = c.prepare(concat!(
                "SELECT ",
                columns!(conflict),
                " FROM conflicts ORDER BY conflict_no"
            ))?;
            stmt.query_and_then([], |row| conflict_record_from_row(row))?
                .collect()
        })
        .await
    }

    async fn conflict_cases(&self, limit: i64) -> StoreResult<Vec<ConflictCase>> {
        self.run(move |c| review::conflict_cases(c, limit)).await
    }

    async fn conflict_case(&self, id: ConflictId) -> StoreResult<Option<ConflictCase>> {
        self.run(move |c| review::conflict_case(c, id)).await
    }

    async fn assign_conflict(
        &self,
        id: ConflictId,
        assignee: &str,
        audit: &AuditEntry,
    ) -> BackOffice<()> {
        let (assignee, audit) = (assignee.to_string(), audit.clone());
        self.run(move |c| review::assign_conflict(c, id, &assignee, &audit))
            .await
    }

    async fn close_conflict(
        &self,
        id: ConflictId,
        close: &ConflictClose,
        audit: &AuditEntry,
    ) -> BackOffice<()> {
        let (close, audit) = (close.clone(), audit.clone());
        self.run(move |c| review::close_conflict(c, id, &close, &audit))
            .await
    }

    async fn dead_letter_cases(&self, limit: i64) -> StoreResult<Vec<DeadLetterCase>> {
        self.run(move |c| review::dead_letter_cases(c, limit)).await
    }

    async fn dead_letter_case(
        &self,
        id: DeadLetterId,
    ) -> StoreResult<Option<(DeadLetterCase, Option<String>)>> {
        self.run(move |c| review::dead_letter_case(c, id)).await
    }

    async fn flag_cases(&self, limit: i64) -> StoreResult<Vec<FlagCase>> {
        self.run(move |c| review::flag_cases(c, limit)).await
    }

    async fn flag_case(&self, id: i64) -> StoreResult<Option<FlagCase>> {
        self.run(move |c| review::flag_case(c, id)).await
    }

    async fn assign_review_item(
        &self,
        item: ReviewItem,
        assignee: &str,
        audit: &AuditEntry,
    ) -> BackOffice<()> {
        let (assignee, audit) = (assignee.to_string(), audit.clone());
        self.run(move |c| review::assign_item(c, item, &assignee, &audit))
            .await
    }

    async fn close_review_item(
        &self,
        item: ReviewItem,
        close: &ConflictClose,
        audit: &AuditEntry,
    ) -> BackOffice<()> {
        let (close, audit) = (close.clone(), audit.clone());
        self.run(move |c| review::close_item(c, item, &close, &audit))
            .await
    }

    async fn reapply_dead_letter(
        &self,
        terminal: &TerminalRecord,
        prepared: Prepared,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> StoreResult<Reapplied> {
        let (terminal, audit) = (terminal.clone(), audit.clone());
        self.run(move |c| review::reapply_dead_letter(c, &terminal, prepared, now, &audit))
            .await
    }

    async fn dead_letters(&self) -> StoreResult<Vec<DeadLetterRecord>> {
        self.run(|c| {
            let mut stmt = c.prepare(concat!(
                "SELECT ",
                columns!(dead_letter),
                " FROM dead_letters
                 ORDER BY terminal_id, seq"
            ))?;
            stmt.query_and_then([], |row| dead_letter_from_row(row))?
                .collect()
        })
        .await
    }

    async fn figure_rows(&self, query: &FigureQuery) -> StoreResult<FigureRows> {
        let q = query.clone();
        self.run(move |c| {
            let tx = c.transaction()?;
            let rows = figure_rows(&tx, &q)?;
            tx.commit()?;
            Ok(rows)
        })
        .await
    }

    async fn terminal_rows(&self) -> StoreResult<Vec<TerminalRow>> {
        self.run(|c| terminal_rows(c)).await
    }

    async fn put_user(
        &self,
        user: &UserRecord,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let (user, audit) = (user.clone(), audit.clone());
        self.run(move |c| back_office::put_user(c, &user, now, &audit))
            .await
    }

    async fn set_user_role(
        &self,
        username: &str,
        role: &str,
        audit: &AuditEntry,
    ) -> BackOffice<()> {
        let (username, role, audit) = (username.to_string(), role.to_string(), audit.clone());
        self.run(move |c| back_office::set_user_role(c, &username, &role, &audit))
            .await
    }

    async fn users(&self) -> StoreResult<Vec<UserListing>> {
        self.run(|c| back_office::users(c)).await
    }

    async fn user(&self, username: &str) -> StoreResult<Option<UserRecord>> {
        let username = username.to_string();
        self.run(move |c| users::user(c, &username)).await
    }

    async fn insert_session(
        &self,
        token_hash: &str,
        username: &str,
        expires_at_ms: i64,
    ) -> StoreResult<()> {
        let (token_hash, username) = (token_hash.to_string(), username.to_string());
        self.run(move |c| users::insert_session(c, &token_hash, &username, expires_at_ms))
            .await
    }

    async fn session_user(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<String>> {
        let token_hash = token_hash.to_string();
        self.run(move |c| users::session_user(c, &token_hash, now_ms))
            .await
    }

    async fn delete_session(&self, token_hash: &str, now_ms: i64) -> StoreResult<()> {
        let token_hash = token_hash.to_string();
        self.run(move |c| users::delete_session(c, &token_hash, now_ms))
            .await
    }

    async fn programs(&self) -> StoreResult<Vec<tillcard_rules::Program>> {
        self.run(|c| programs::programs(c)).await
    }

    async fn publish_program(
        &self,
        program: &tillcard_rules::Program,
        audit: &AuditEntry,
    ) -> StoreResult<tillcard_rules::Program> {
        let (program, audit) = (program.clone(), audit.clone());
        self.run(move |c| programs::publish_program(c, &program, &audit))
            .await
    }

    async fn book_member_money(
        &self,
        booking: &super::member_money::MoneyBooking,
        audit: &AuditEntry,
    ) -> super::member_money::MoneyAnswer<Vec<LedgerEntry>> {
        let (booking, audit) = (booking.clone(), audit.clone());
        self.run(move |c| member_money::book(c, &booking, &audit))
            .await
    }

    async fn request_member_money(
        &self,
        request: &super::member_money::NewMoneyRequest,
        audit: &AuditEntry,
    ) -> super::member_money::MoneyAnswer<i64> {
        let (request, audit) = (request.clone(), audit.clone());
        self.run(move |c| member_money::request(c, &request, &audit))
            .await
    }

    async fn reject_member_money(
        &self,
        decision: &super::member_money::MoneyDecision,
        audit: &AuditEntry,
    ) -> super::member_money::MoneyAnswer<()> {
        let (decision, audit) = (decision.clone(), audit.clone());
        self.run(move |c| member_money::reject(c, &decision, &audit))
            .await
    }

    async fn member_money_requests(
        &self,
        pending_only: bool,
        limit: i64,
    ) -> StoreResult<Vec<super::member_money::MoneyRequest>> {
        self.run(move |c| member_money::requests(c, pending_only, limit))
            .await
    }

    async fn member_money_request(
        &self,
        request_no: i64,
    ) -> StoreResult<Option<super::member_money::MoneyRequest>> {
        self.run(move |c| member_money::request_by_number(c, request_no))
            .await
    }

    async fn put_settings(
        &self,
        settings: &[(String, String)],
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        let (settings, audit) = (settings.to_vec(), audit.clone());
        self.run(move |c| member_money::put_settings(c, &settings, &audit))
            .await
    }

    #[cfg(feature = "test-support")]
    async fn counts(&self) -> StoreResult<super::Counts> {
        self.run(|c| test_hooks::counts(c)).await
    }

    #[cfg(feature = "test-support")]
    async fn find_text(&self, needle: &str) -> StoreResult<Vec<String>> {
        let needle = needle.to_string();
        self.run(move |c| test_hooks::find_text(c, &needle)).await
    }

    #[cfg(feature = "test-support")]
    async fn simulate_restore(&self, terminal: TerminalId, keep: u64) -> StoreResult<()> {
        self.run(move |c| test_hooks::simulate_restore(c, terminal, keep))
            .await
    }

    /// SQLite's writers are serialized: every committed change is visible.
    #[cfg(feature = "test-support")]
    async fn downlink_settled(&self) -> StoreResult<bool> {
        Ok(true)
    }
}
