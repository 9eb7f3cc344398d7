//! The PostgreSQL backend (production): tokio-postgres through a
//! deadpool-postgres pool. A batch locks its terminal's row
//! (`SELECT ... FOR UPDATE`), so concurrent uploads of one terminal apply one
//! after the other while different terminals run in parallel.
//!
//! Distribution: member-keyed tables (`members`, `ledger`, `conflicts`)
//! carry `member_id` first in their primary key, ready for Citus
//! `create_distributed_table(..., 'member_id')`; terminal-keyed tables
//! (`terminals`, `events`, `dead_letters`) by `terminal_id`; `changes`,
//! `enroll_codes`, `hq_settings` are small reference tables.
//!
//! A folder by concern: the numbered migrations (`migrations/NNNN.sql`,
//! listed in `migrations`),
//! the pool's size and the batch's locks (`locks`), the upload path
//! (`batch`), the back office (`back_office`), the small reads and writes
//! by what they are about
//! (`terminals`, `members`, `review`, `users`, `settings`), the figures'
//! SQL (`figures`), one mapper per record (`rows`), the statement helpers
//! (`sql`) and the test hooks (`test_hooks`, feature `test-support`). This
//! file holds the store itself: the pool, the migration runner, and the
//! [`Store`] implementation, which hands each operation a connection and
//! delegates. The other files use each other, never this one.

mod back_office;
mod batch;
mod campaigns;
mod catalog;
mod collation;
mod figures;
mod jobs;
mod locks;
mod member_money;
mod members;
mod merge;
mod migrations;
mod node_state;
mod personal;
mod programs;
mod review;
mod rows;
mod scope;
mod settings;
mod shift_closes;
mod sql;
mod terminals;
#[cfg(feature = "test-support")]
mod test_hooks;
#[cfg(test)]
mod tests;
mod users;
mod walk_in_returns;

use deadpool_postgres::{Pool, Runtime};
use tillcard_protocol::wire::TerminalId;
use tillcard_rules::ids::{MemberId, Timestamp};
use tillcard_rules::ledger::LedgerEntry;
use tokio_postgres::NoTls;

pub use locks::{default_pool_size, key_lock_budget};
pub use migrations::MIGRATIONS;

use super::{
    AuditEntry, BackOffice, ChangeRow, ConflictCase, ConflictClose, ConflictId, ConflictRecord,
    DeadLetterCase, DeadLetterId, DeadLetterRecord, EnrollCodeRecord, FlagCase, MemberRecord,
    MemberRowChange, MemberWithLedger, Reapplied, Redeemed, ReviewItem, StaffRecord, StaffUpdate,
    Store, StoreError, StorePatch, StoreRecord, StoreResult, TerminalListing, TerminalRecord,
    UserListing, UserRecord, parse_member,
};
use crate::figures::{FigureQuery, FigureRows, TerminalRow};
use crate::ingest::{BatchRefusal, Plan, Prepared};

/// PostgreSQL-backed storage.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    key_lock_budget: usize,
}

fn pool_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Pool(e.to_string())
}

/// A pool of connections to `url` shaped by `config`, none connected yet.
/// Verified: a connection coming back out of the pool first answers an
/// empty query. Fast recycling asks only `is_closed()`, which races with
/// the connection's own task: a backend killed by the server (failover,
/// pg_terminate_backend) could be handed out again and fail one request
/// after another until that task noticed. One loopback round trip per
/// checkout buys that no dead connection is ever handed out
/// (wire_contract's killed-connections test).
fn pool(url: &str, config: deadpool_postgres::PoolConfig) -> StoreResult<deadpool_postgres::Pool> {
    let mut cfg = deadpool_postgres::Config::new();
    cfg.url = Some(url.to_string());
    cfg.pool = Some(config);
    cfg.manager = Some(deadpool_postgres::ManagerConfig {
        recycling_method: deadpool_postgres::RecyclingMethod::Verified,
    });
    cfg.create_pool(Some(Runtime::Tokio1), NoTls)
        .map_err(pool_err)
}

impl PgStore {
    /// Connects a pool of [`default_pool_size`] connections to `url`
    /// (`postgres://user@host:port/db`).
    pub async fn connect(url: &str) -> StoreResult<PgStore> {
        PgStore::connect_with_pool_size(url, default_pool_size()).await
    }

    /// Connects a pool of `pool_size` connections (at least 1) to `url`.
    pub async fn connect_with_pool_size(url: &str, pool_size: usize) -> StoreResult<PgStore> {
        let pool_size = pool_size.max(1);
        let pool = pool(url, deadpool_postgres::PoolConfig::new(pool_size))?;
        // Fail now, not on the first request.
        let client = pool.get().await.map_err(pool_err)?;
        let slots: i64 = client
            .query_one(locks::LOCK_TABLE_SLOTS, &[])
            .await?
            .try_get(0)?;
        let key_lock_budget = key_lock_budget(slots, pool_size);
        tracing::info!(
            pool_size,
            lock_slots = slots,
            key_lock_budget,
            "postgres pool and lock table"
        );
        let collate: String = client
            .query_one(collation::DATABASE_COLLATION, &[])
            .await?
            .try_get(0)?;
        if let Some(advice) = collation::collation_advice(&collate) {
            tracing::warn!("{advice}");
        }
        drop(client);
        Ok(PgStore {
            pool,
            key_lock_budget,
        })
    }

    /// A pool of `pool_size` connections to a streaming standby at `url`
    /// for reads only (the dashboard's figures, `database.read_url`).
    /// Nothing is connected yet: head office starts whether or not the
    /// standby is up, and reads the primary while it is not.
    pub fn read_only(url: &str, pool_size: usize) -> StoreResult<PgStore> {
        // A standby that is down answers within this, not after the
        // dashboard's request gave up.
        let two_seconds = Some(std::time::Duration::from_secs(2));
        let pool = pool(
            url,
            deadpool_postgres::PoolConfig {
                timeouts: deadpool_postgres::Timeouts {
                    wait: two_seconds,
                    create: two_seconds,
                    recycle: two_seconds,
                },
                ..deadpool_postgres::PoolConfig::new(pool_size.max(1))
            },
        )?;
        Ok(PgStore {
            pool,
            key_lock_budget: 0,
        })
    }

    /// The same store with another advisory-lock budget per batch (batches
    /// needing more take the wide lock). For tests of the wide path and for
    /// servers whose lock table other clients crowd.
    pub fn with_key_lock_budget(mut self, budget: usize) -> PgStore {
        self.key_lock_budget = budget;
        self
    }

    async fn client(&self) -> StoreResult<deadpool_postgres::Object> {
        self.pool.get().await.map_err(pool_err)
    }
}

/// Applies the migrations not applied yet, in one transaction under the
/// migrations' lock (head offices starting at once migrate one at a time).
async fn migrate(client: &mut deadpool_postgres::Object) -> StoreResult<()> {
    let tx = client.transaction().await?;
    tx.execute(locks::LOCK_MIGRATIONS, &[]).await?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)")
        .await?;
    let version: i64 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            &[],
        )
        .await?
        .try_get(0)?;
    for (n, sql) in MIGRATIONS.iter().enumerate() {
        let number = i64::try_from(n).unwrap_or(i64::MAX) + 1;
        if number > version {
            tx.batch_execute(sql).await?;
            tx.execute(
                "INSERT INTO schema_migrations (version) VALUES ($1)",
                &[&number],
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

#[async_trait::async_trait]
impl Store for PgStore {
    async fn ping(&self) -> StoreResult<()> {
        // The pool drops a connection it finds closed when handing it out
        // (deadpool's recycle check), so a broken connection is replaced,
        // not returned to every later request.
        let client = self.client().await?;
        client.simple_query("SELECT 1").await?;
        Ok(())
    }

    async fn migrate(&self) -> StoreResult<()> {
        migrate(&mut self.client().await?).await
    }

    async fn seal_plaintext_members(
        &self,
        keys: &crate::personal::PersonalKeys,
    ) -> StoreResult<u64> {
        personal::seal_plaintext_members(&mut self.client().await?, keys).await
    }

    async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        settings::setting(&self.client().await?, key).await
    }

    async fn init_setting(&self, key: &str, value: &str) -> StoreResult<String> {
        settings::init_setting(&self.client().await?, key, value).await
    }

    async fn push_change(
        &self,
        kind: &str,
        member: Option<MemberId>,
        payload: Option<&str>,
    ) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        members::push_change(&tx, kind, member, payload).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn insert_code(
        &self,
        code_hash: &str,
        store: &str,
        expires_at: Timestamp,
        audit: &AuditEntry,
    ) -> BackOffice<()> {
        back_office::insert_code(
            &mut self.client().await?,
            code_hash,
            store,
            expires_at,
            audit,
        )
        .await
    }

    async fn redeem_code(
        &self,
        code_hash: &str,
        terminal: &TerminalRecord,
        now: Timestamp,
        wanted_store: Option<&str>,
    ) -> StoreResult<Redeemed> {
        back_office::redeem_code(
            &mut self.client().await?,
            code_hash,
            terminal,
            now,
            wanted_store,
        )
        .await
    }

    async fn enroll_codes(&self) -> StoreResult<Vec<EnrollCodeRecord>> {
        back_office::enroll_codes(&self.client().await?).await
    }

    async fn create_store(&self, store: &StoreRecord, audit: &AuditEntry) -> BackOffice<()> {
        back_office::create_store(&mut self.client().await?, store, audit).await
    }

    async fn update_store(
        &self,
        code: &str,
        patch: &StorePatch,
        audit: &AuditEntry,
    ) -> BackOffice<StoreRecord> {
        back_office::update_store(&mut self.client().await?, code, patch, audit).await
    }

    async fn stores(&self) -> StoreResult<Vec<StoreRecord>> {
        back_office::stores(&self.client().await?).await
    }

    async fn create_staff(&self, staff: &StaffRecord, audit: &AuditEntry) -> BackOffice<()> {
        back_office::create_staff(&mut self.client().await?, staff, audit).await
    }

    async fn update_staff(
        &self,
        staff_id: &str,
        update: &StaffUpdate,
        actor: &str,
        now: Timestamp,
    ) -> BackOffice<StaffRecord> {
        back_office::update_staff(&mut self.client().await?, staff_id, update, actor, now).await
    }

    async fn staff_member(&self, staff_id: &str) -> StoreResult<Option<StaffRecord>> {
        back_office::staff_member(&self.client().await?, staff_id).await
    }

    async fn staff_list(&self, store: Option<&str>) -> StoreResult<Vec<StaffRecord>> {
        back_office::staff_list(&self.client().await?, store).await
    }

    async fn terminals(&self) -> StoreResult<Vec<TerminalListing>> {
        back_office::terminals(&self.client().await?).await
    }

    async fn audit_trail(&self, subject: Option<&str>, limit: i64) -> StoreResult<Vec<AuditEntry>> {
        back_office::audit_trail(&self.client().await?, subject, limit).await
    }

    async fn terminal(&self, id: TerminalId) -> StoreResult<Option<TerminalRecord>> {
        terminals::terminal(&self.client().await?, id).await
    }

    async fn revoke_terminal(
        &self,
        id: TerminalId,
        audit: &AuditEntry,
        withdrawn_card_key: Option<&str>,
    ) -> BackOffice<()> {
        back_office::revoke_terminal(
            &mut self.client().await?,
            &id.to_string(),
            audit,
            withdrawn_card_key,
        )
        .await
    }

    async fn reintroduce_terminal(
        &self,
        terminal: &TerminalRecord,
        audit: &AuditEntry,
    ) -> StoreResult<bool> {
        back_office::reintroduce_terminal(&mut self.client().await?, terminal, audit).await
    }

    async fn set_card_key(&self, id: TerminalId, card_key: &str) -> StoreResult<()> {
        back_office::set_card_key(&mut self.client().await?, &id.to_string(), card_key).await
    }

    async fn withdrawn_card_keys(&self) -> StoreResult<Vec<(TerminalId, String)>> {
        back_office::withdrawn_card_keys(&self.client().await?).await
    }

    async fn members_by_phone_key(&self, phone_key: &str) -> StoreResult<Vec<MemberId>> {
        self.client()
            .await?
            .query(
                "SELECT member_id FROM members WHERE phone_key = $1 AND erased_at IS NULL
                 ORDER BY consent_at, member_id",
                &[&phone_key],
            )
            .await?
            .iter()
            .map(|row| parse_member(row.try_get(0)?))
            .collect()
    }

    async fn record_audit(&self, audit: &AuditEntry) -> StoreResult<()> {
        back_office::audit(&self.client().await?, audit).await
    }

    async fn set_member_tags(
        &self,
        member: MemberId,
        tags: &[String],
        audit: &AuditEntry,
    ) -> BackOffice<()> {
        let change = MemberRowChange::Tags(crate::store::to_json(&tags)?);
        back_office::change_member(&mut self.client().await?, member, &change, audit).await
    }

    async fn set_member_frozen(
        &self,
        member: MemberId,
        frozen: bool,
        audit: &AuditEntry,
    ) -> BackOffice<()> {
        let change = MemberRowChange::Frozen(frozen);
        back_office::change_member(&mut self.client().await?, member, &change, audit).await
    }

    async fn reissue_card(&self, member: MemberId, audit: &AuditEntry) -> BackOffice<u16> {
        back_office::reissue_card(&mut self.client().await?, member, audit).await
    }

    async fn merge_members(
        &self,
        merged: MemberId,
        survivor: MemberId,
        audits: &[AuditEntry],
    ) -> BackOffice<()> {
        merge::merge_members(&mut self.client().await?, merged, survivor, audits).await
    }

    async fn sweep_merged(&self, merged: MemberId) -> StoreResult<usize> {
        merge::sweep_merged(&mut self.client().await?, merged).await
    }

    async fn merges_of(&self, members: &[MemberId]) -> StoreResult<Vec<(MemberId, MemberId)>> {
        merge::merges_of(&self.client().await?, members).await
    }

    async fn flag_terminal(&self, id: TerminalId, reason: &str, now: Timestamp) -> StoreResult<()> {
        terminals::flag_terminal(&self.client().await?, id, reason, now).await
    }

    async fn record_clock_skew(
        &self,
        id: TerminalId,
        skew_ms: i64,
        now: Timestamp,
    ) -> StoreResult<()> {
        terminals::record_clock_skew(&self.client().await?, id, skew_ms, now).await
    }

    async fn terminal_flags(&self) -> StoreResult<Vec<(TerminalId, String)>> {
        terminals::terminal_flags(&self.client().await?).await
    }

    async fn ingest(
        &self,
        terminal: &TerminalRecord,
        prepared: Prepared,
        now: Timestamp,
    ) -> StoreResult<Result<Plan, BatchRefusal>> {
        let connection = self.client().await?;
        batch::ingest_batch(connection, terminal, prepared, now, self.key_lock_budget).await
    }

    async fn changes_after(&self, after: (i64, i64), limit: i64) -> StoreResult<Vec<ChangeRow>> {
        members::changes_after(&self.client().await?, after, limit).await
    }

    async fn member(&self, id: MemberId) -> StoreResult<Option<(MemberRecord, Vec<LedgerEntry>)>> {
        members::member(&self.client().await?, id).await
    }

    async fn members_with_ledgers(&self, ids: &[MemberId]) -> StoreResult<Vec<MemberWithLedger>> {
        members::members_with_ledgers(&self.client().await?, ids).await
    }

    async fn member_ids(&self) -> StoreResult<Vec<MemberId>> {
        members::member_ids(&self.client().await?).await
    }

    async fn member_ids_after(
        &self,
        after: Option<MemberId>,
        limit: i64,
    ) -> StoreResult<Vec<MemberId>> {
        members::member_ids_after(&self.client().await?, after, limit).await
    }

    async fn append_entries_many(
        &self,
        booked: &[(MemberId, Vec<LedgerEntry>)],
    ) -> StoreResult<()> {
        let mut client = self.client().await?;
        // No more member locks in one transaction than the budget the
        // server's lock table holds beside the batches (`locks`).
        for part in booked.chunks(self.key_lock_budget.max(1)) {
            members::append_entries_many(&mut client, part).await?;
        }
        Ok(())
    }

    async fn append_entries(&self, member: MemberId, entries: &[LedgerEntry]) -> StoreResult<()> {
        members::append_entries(&mut self.client().await?, member, entries).await
    }

    async fn erase_member(&self, id: MemberId, now: Timestamp) -> StoreResult<bool> {
        members::erase_member(&mut self.client().await?, id, now).await
    }

    async fn conflicts(&self) -> StoreResult<Vec<ConflictRecord>> {
        review::conflicts(&self.client().await?).await
    }

    async fn conflict_cases(&self, limit: i64) -> StoreResult<Vec<ConflictCase>> {
        review::conflict_cases(&self.client().await?, limit).await
    }

    async fn conflict_case(&self, id: ConflictId) -> StoreResult<Option<ConflictCase>> {
        review::conflict_case(&self.client().await?, id).await
    }

    async fn assign_conflict(
        &self,
        id: ConflictId,
        assignee: &str,
        audit: &AuditEntry,
    ) -> BackOffice<()> {
        review::assign_conflict(&mut self.client().await?, id, assignee, audit).await
    }

    async fn close_conflict(
        &self,
        id: ConflictId,
        close: &ConflictClose,
        audit: &AuditEntry,
    ) -> BackOffice<()> {
        review::close_conflict(&mut self.client().await?, id, close, audit).await
    }

    async fn dead_letters(&self) -> StoreResult<Vec<DeadLetterRecord>> {
        review::dead_letters(&self.client().await?).await
    }

    async fn dead_letter_cases(&self, limit: i64) -> StoreResult<Vec<DeadLetterCase>> {
        review::dead_letter_cases(&self.client().await?, limit).await
    }

    async fn dead_letter_case(
        &self,
        id: DeadLetterId,
    ) -> StoreResult<Option<(DeadLetterCase, Option<String>)>> {
        review::dead_letter_case(&self.client().await?, id).await
    }

    async fn flag_cases(&self, limit: i64) -> StoreResult<Vec<FlagCase>> {
        review::flag_cases(&self.client().await?, limit).await
    }

    async fn flag_case(&self, id: i64) -> StoreResult<Option<FlagCase>> {
        review::flag_case(&self.client().await?, id).await
    }

    async fn assign_review_item(
        &self,
        item: ReviewItem,
        assignee: &str,
        audit: &AuditEntry,
    ) -> BackOffice<()> {
        review::assign_item(&mut self.client().await?, item, assignee, audit).await
    }

    async fn close_review_item(
        &self,
        item: ReviewItem,
        close: &ConflictClose,
        audit: &AuditEntry,
    ) -> BackOffice<()> {
        review::close_item(&mut self.client().await?, item, close, audit).await
    }

    async fn reapply_dead_letter(
        &self,
        terminal: &TerminalRecord,
        prepared: Prepared,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> StoreResult<Reapplied> {
        let connection = self.client().await?;
        batch::reapply_dead_letter(
            connection,
            terminal,
            prepared,
            now,
            self.key_lock_budget,
            audit,
        )
        .await
    }

    async fn figure_rows(&self, query: &FigureQuery) -> StoreResult<FigureRows> {
        figures::figure_rows(&mut self.client().await?, query).await
    }

    async fn terminal_rows(&self) -> StoreResult<Vec<TerminalRow>> {
        figures::terminal_rows(&self.client().await?).await
    }

    async fn standby_behind_ms(&self) -> StoreResult<Option<i64>> {
        figures::standby_behind_ms(&self.client().await?).await
    }

    async fn put_user(
        &self,
        user: &UserRecord,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        back_office::put_user(&mut self.client().await?, user, now, audit).await
    }

    async fn set_user_role(
        &self,
        username: &str,
        role: &str,
        audit: &AuditEntry,
    ) -> BackOffice<()> {
        back_office::set_user_role(&mut self.client().await?, username, role, audit).await
    }

    async fn users(&self) -> StoreResult<Vec<UserListing>> {
        back_office::users(&self.client().await?).await
    }

    async fn user(&self, username: &str) -> StoreResult<Option<UserRecord>> {
        users::user(&self.client().await?, username).await
    }

    async fn insert_session(
        &self,
        token_hash: &str,
        username: &str,
        expires_at_ms: i64,
    ) -> StoreResult<()> {
        users::insert_session(&self.client().await?, token_hash, username, expires_at_ms).await
    }

    async fn session_user(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<String>> {
        users::session_user(&self.client().await?, token_hash, now_ms).await
    }

    async fn delete_session(&self, token_hash: &str, now_ms: i64) -> StoreResult<()> {
        users::delete_session(&self.client().await?, token_hash, now_ms).await
    }

    async fn programs(&self) -> StoreResult<Vec<tillcard_rules::Program>> {
        programs::programs(&self.client().await?).await
    }

    async fn publish_program(
        &self,
        program: &tillcard_rules::Program,
        audit: &AuditEntry,
    ) -> StoreResult<tillcard_rules::Program> {
        programs::publish_program(&mut self.client().await?, program, audit).await
    }

    async fn book_member_money(
        &self,
        booking: &super::member_money::MoneyBooking,
        audit: &AuditEntry,
    ) -> super::member_money::MoneyAnswer<Vec<LedgerEntry>> {
        member_money::book(&mut self.client().await?, booking, audit).await
    }

    async fn request_member_money(
        &self,
        request: &super::member_money::NewMoneyRequest,
        audit: &AuditEntry,
    ) -> super::member_money::MoneyAnswer<i64> {
        member_money::request(&mut self.client().await?, request, audit).await
    }

    async fn reject_member_money(
        &self,
        decision: &super::member_money::MoneyDecision,
        audit: &AuditEntry,
    ) -> super::member_money::MoneyAnswer<()> {
        member_money::reject(&mut self.client().await?, decision, audit).await
    }

    async fn member_money_requests(
        &self,
        pending_only: bool,
        limit: i64,
    ) -> StoreResult<Vec<super::member_money::MoneyRequest>> {
        member_money::requests(&self.client().await?, pending_only, limit).await
    }

    async fn member_money_request(
        &self,
        request_no: i64,
    ) -> StoreResult<Option<super::member_money::MoneyRequest>> {
        member_money::request_by_number(&self.client().await?, request_no).await
    }

    async fn put_settings(
        &self,
        settings: &[(String, String)],
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        member_money::put_settings(&mut self.client().await?, settings, audit).await
    }

    #[cfg(feature = "test-support")]
    async fn counts(&self) -> StoreResult<super::Counts> {
        test_hooks::counts(&self.client().await?).await
    }

    #[cfg(feature = "test-support")]
    async fn find_text(&self, needle: &str) -> StoreResult<Vec<String>> {
        test_hooks::find_text(&self.client().await?, needle).await
    }

    #[cfg(feature = "test-support")]
    async fn simulate_restore(&self, terminal: TerminalId, keep: u64) -> StoreResult<()> {
        test_hooks::simulate_restore(&mut self.client().await?, terminal, keep).await
    }

    #[cfg(feature = "test-support")]
    async fn downlink_settled(&self) -> StoreResult<bool> {
        test_hooks::downlink_settled(&self.client().await?).await
    }
}
