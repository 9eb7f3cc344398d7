//! The embedded SQLite backend (the default): one connection in WAL mode
//! with `synchronous=FULL` (an ack is a promise of durability), used from
//! tokio through `spawn_blocking`. SQLite serializes writers, so batches of
//! one terminal can never interleave.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use tillcard_rules::MemberAccount;
use tillcard_rules::ids::{MemberId, Timestamp};
use tillcard_rules::ledger::LedgerEntry;

use super::{
    ChangeRow, ConflictRecord, Counts, DeadLetterRecord, MemberRecord, Redeemed, Store, StoreError,
    StoreResult, TerminalRecord, UserRecord, parse_json, parse_member, parse_source,
    parse_terminal, to_json,
};
use crate::figures::{
    AccountRow, ActivityRows, CONFLICTS_SHOWN, ConflictItem, FigureQuery, FigureRows,
    MemberSummary, RefundRow, RefundedSale, SalesRows, TerminalRow, millis,
};
use crate::ingest::{self, BatchRefusal, LastSeen, Loaded, Plan, Prepared};
use crate::protocol::TerminalId;

/// Numbered migrations, applied in order at start-up.
const MIGRATIONS: &[&str] = &[
    // 1: the whole head-office schema.
    "CREATE TABLE hq_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE enroll_codes (code_hash TEXT PRIMARY KEY, store TEXT NOT NULL,
        issued_at TEXT NOT NULL, redeemed_by TEXT);
     CREATE TABLE terminals (terminal_id TEXT PRIMARY KEY, store TEXT NOT NULL,
        public_key TEXT NOT NULL, lookup_key TEXT NOT NULL,
        acked_seq INTEGER NOT NULL DEFAULT 0, revoked INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL);
     CREATE TABLE terminal_flags (id INTEGER PRIMARY KEY AUTOINCREMENT,
        terminal_id TEXT NOT NULL, reason TEXT NOT NULL, at TEXT NOT NULL);
     CREATE TABLE events (terminal_id TEXT NOT NULL, seq INTEGER NOT NULL,
        event_id TEXT NOT NULL, content_hash TEXT NOT NULL, kind TEXT NOT NULL,
        status TEXT NOT NULL, received_at TEXT NOT NULL, PRIMARY KEY (terminal_id, seq));
     CREATE TABLE dead_letters (terminal_id TEXT NOT NULL, seq INTEGER NOT NULL,
        event_id TEXT NOT NULL, reason TEXT NOT NULL, body TEXT, at TEXT NOT NULL,
        PRIMARY KEY (terminal_id, seq));
     CREATE TABLE members (member_id TEXT PRIMARY KEY, masked_name TEXT, masked_phone TEXT,
        phone TEXT, name TEXT, phone_key TEXT, birthday TEXT, consent_at TEXT, referrer TEXT,
        tags TEXT NOT NULL DEFAULT '[]', duplicate_of TEXT, last_store TEXT,
        last_seen_at TEXT, erased_at TEXT, account TEXT);
     CREATE INDEX members_phone_key ON members (phone_key);
     CREATE TABLE ledger (entry_no INTEGER PRIMARY KEY AUTOINCREMENT,
        member_id TEXT NOT NULL, source TEXT NOT NULL, terminal_id TEXT, seq INTEGER,
        entry TEXT NOT NULL);
     CREATE INDEX ledger_member ON ledger (member_id, entry_no);
     CREATE INDEX ledger_terminal ON ledger (terminal_id, seq);
     CREATE TABLE conflicts (conflict_no INTEGER PRIMARY KEY AUTOINCREMENT,
        member_id TEXT NOT NULL, kind TEXT NOT NULL, reason TEXT NOT NULL,
        terminal_id TEXT, seq INTEGER, at TEXT NOT NULL);
     CREATE TABLE changes (position INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,
        member_id TEXT, payload TEXT);",
    // 2: the dashboard. Summary columns beside each member's cached fold so
    // the figures sum in SQL; sales and refunds (walk-ins included) for
    // member share of sales; when each terminal last sent a batch and its
    // outbox head; head-office users and their sessions (hashed tokens).
    // Times the figures compare are integers (ms since the epoch).
    "ALTER TABLE members ADD COLUMN enrolled_at_ms INTEGER;
     ALTER TABLE members ADD COLUMN enrolled_on TEXT;
     ALTER TABLE members ADD COLUMN tier INTEGER;
     ALTER TABLE members ADD COLUMN sv_principal INTEGER;
     ALTER TABLE members ADD COLUMN sv_bonus INTEGER;
     ALTER TABLE members ADD COLUMN points_positive INTEGER;
     ALTER TABLE members ADD COLUMN points_debt INTEGER;
     ALTER TABLE members ADD COLUMN points_min_expiry_ms INTEGER;
     CREATE INDEX members_enrolled_on ON members (enrolled_on);
     -- Members enrolled before this migration: their consent time is their
     -- enrollment time (sales before it cannot be recovered: event bodies
     -- are not kept).
     UPDATE members SET enrolled_on = substr(consent_at, 1, 10),
        enrolled_at_ms = CAST(unixepoch(consent_at, 'subsec') * 1000 AS INTEGER)
        WHERE consent_at IS NOT NULL;
     ALTER TABLE terminals ADD COLUMN last_batch_at_ms INTEGER;
     ALTER TABLE terminals ADD COLUMN outbox_head_seq INTEGER;
     CREATE TABLE sales (terminal_id TEXT NOT NULL, sale_id TEXT NOT NULL, seq INTEGER NOT NULL,
        member_id TEXT, at_ms INTEGER NOT NULL, total_fen INTEGER NOT NULL, lines TEXT NOT NULL,
        PRIMARY KEY (terminal_id, sale_id));
     CREATE INDEX sales_at ON sales (at_ms);
     CREATE INDEX sales_member ON sales (member_id, at_ms);
     CREATE INDEX sales_id ON sales (sale_id);
     CREATE TABLE refunds (terminal_id TEXT NOT NULL, refund_id TEXT NOT NULL,
        sale_id TEXT NOT NULL, seq INTEGER NOT NULL, at_ms INTEGER NOT NULL, lines TEXT NOT NULL,
        PRIMARY KEY (terminal_id, refund_id));
     CREATE INDEX refunds_at ON refunds (at_ms);
     CREATE INDEX refunds_sale ON refunds (sale_id);
     CREATE TABLE hq_users (username TEXT PRIMARY KEY, password_hash TEXT NOT NULL,
        created_at TEXT NOT NULL);
     CREATE TABLE hq_sessions (token_hash TEXT PRIMARY KEY, username TEXT NOT NULL,
        expires_at_ms INTEGER NOT NULL);",
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

fn load_member(
    tx: &Connection,
    id: MemberId,
) -> StoreResult<Option<(MemberRecord, Vec<LedgerEntry>)>> {
    let row = tx
        .query_row(
            "SELECT masked_name, masked_phone, phone, birthday, tags, duplicate_of, erased_at
             FROM members WHERE member_id = ?1",
            params![id.to_string()],
            |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                ))
            },
        )
        .optional()?;
    let Some((masked_name, masked_phone, phone, birthday, tags, duplicate_of, erased_at)) = row
    else {
        return Ok(None);
    };
    let record = MemberRecord {
        member: id,
        masked_name,
        masked_phone,
        phone,
        birthday: birthday.as_deref().map(parse_json).transpose()?,
        tags: parse_json(&tags)?,
        duplicate_of: duplicate_of.as_deref().map(parse_member).transpose()?,
        erased: erased_at.is_some(),
    };
    Ok(Some((record, load_entries(tx, id)?)))
}

fn load_entries(tx: &Connection, id: MemberId) -> StoreResult<Vec<LedgerEntry>> {
    let mut stmt =
        tx.prepare_cached("SELECT entry FROM ledger WHERE member_id = ?1 ORDER BY entry_no")?;
    let texts = stmt
        .query_map(params![id.to_string()], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    texts.iter().map(|t| parse_json(t)).collect()
}

fn push_change(
    tx: &Connection,
    kind: &str,
    member: Option<MemberId>,
    payload: Option<&str>,
) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO changes (kind, member_id, payload) VALUES (?1, ?2, ?3)",
        params![kind, member.map(|m| m.to_string()), payload],
    )?;
    Ok(())
}

fn erase(tx: &Connection, id: MemberId, now: Timestamp) -> StoreResult<bool> {
    let member = id.to_string();
    let n = tx.execute(
        "UPDATE members SET masked_name = NULL, masked_phone = NULL, phone = NULL, name = NULL,
            phone_key = NULL, birthday = NULL, erased_at = ?2 WHERE member_id = ?1",
        params![member, now.to_rfc3339()],
    )?;
    // Dead-lettered bodies may hold the member's sealed or masked data.
    tx.execute(
        "UPDATE dead_letters SET body = NULL WHERE body LIKE '%' || ?1 || '%'",
        params![member],
    )?;
    push_change(tx, "erasure", Some(id), None)?;
    Ok(n > 0)
}

fn load(tx: &Transaction<'_>, terminal: TerminalId, prepared: &Prepared) -> StoreResult<Loaded> {
    let tid = terminal.to_string();
    let acked: i64 = tx.query_row(
        "SELECT acked_seq FROM terminals WHERE terminal_id = ?1",
        params![tid],
        |r| r.get(0),
    )?;
    let mut loaded = Loaded {
        acked_seq: u64::try_from(acked).unwrap_or(0),
        ..Loaded::default()
    };
    {
        let mut stmt = tx.prepare_cached(
            "SELECT content_hash FROM events WHERE terminal_id = ?1 AND seq = ?2",
        )?;
        for seq in prepared.seqs() {
            let seq_i = i64::try_from(seq).unwrap_or(i64::MAX);
            if let Some(hash) = stmt
                .query_row(params![tid, seq_i], |r| r.get::<_, String>(0))
                .optional()?
            {
                loaded.existing.insert(seq, hash);
            }
        }
        let mut stmt =
            tx.prepare_cached("SELECT seq FROM events WHERE terminal_id = ?1 AND seq > ?2")?;
        for seq in stmt.query_map(params![tid, acked], |r| r.get::<_, i64>(0))? {
            loaded
                .stored_above_ack
                .insert(u64::try_from(seq?).unwrap_or(0));
        }
    }
    for member in prepared.member_ids() {
        // The cached fold when there is one and it can tell whether the
        // batch's actions are booked already (it keeps the newest action
        // ids only); the ledger otherwise.
        let cached: Option<String> = tx
            .query_row(
                "SELECT account FROM members WHERE member_id = ?1",
                params![member.to_string()],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        let cached = cached
            .map(|json| parse_json::<MemberAccount>(&json))
            .transpose()?
            .filter(|account| ingest::cached_fold_suffices(account, prepared));
        let account = match cached {
            Some(account) => account,
            None => MemberAccount::fold(MemberAccount::new(member), &load_entries(tx, member)?),
        };
        loaded.accounts.insert(member, account);
        let seen = tx
            .query_row(
                "SELECT last_store, last_seen_at FROM members WHERE member_id = ?1",
                params![member.to_string()],
                |r| {
                    Ok((
                        r.get::<_, Option<String>>(0)?,
                        r.get::<_, Option<String>>(1)?,
                    ))
                },
            )
            .optional()?;
        if let Some((store, at)) = seen {
            loaded.known_members.insert(member);
            if let (Some(store), Some(at)) = (store, at) {
                let at = Timestamp::parse_from_rfc3339(&at)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                loaded.last_seen.insert(member, LastSeen { store, at });
            }
        }
    }
    for key in prepared.phone_keys() {
        if let Some(owner) = tx
            .query_row(
                "SELECT member_id FROM members WHERE phone_key = ?1 AND duplicate_of IS NULL LIMIT 1",
                params![key],
                |r| r.get::<_, String>(0),
            )
            .optional()?
        {
            loaded.phone_owners.insert(key, parse_member(&owner)?);
        }
    }
    Ok(loaded)
}

fn write(
    tx: &Transaction<'_>,
    terminal: TerminalId,
    plan: &Plan,
    now: Timestamp,
) -> StoreResult<()> {
    let tid = terminal.to_string();
    let now_s = now.to_rfc3339();
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO events (terminal_id, seq, event_id, content_hash, kind, status, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for e in &plan.events {
            stmt.execute(params![
                tid,
                i64::try_from(e.seq).unwrap_or(i64::MAX),
                e.event_id.to_string(),
                e.hash,
                e.kind,
                e.status.as_str(),
                now_s
            ])?;
        }
        let mut stmt = tx.prepare_cached(
            "INSERT INTO dead_letters (terminal_id, seq, event_id, reason, body, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for d in &plan.dead {
            stmt.execute(params![
                tid,
                i64::try_from(d.seq).unwrap_or(i64::MAX),
                d.event_id.to_string(),
                d.reason.stored(),
                d.body,
                now_s
            ])?;
        }
        for m in plan.members.values() {
            let id = m.member.to_string();
            tx.execute(
                "INSERT INTO members (member_id) VALUES (?1) ON CONFLICT (member_id) DO NOTHING",
                params![id],
            )?;
            if let Some(n) = &m.enrollment {
                tx.execute(
                    "UPDATE members SET masked_name = ?2, masked_phone = ?3, phone = ?4, name = ?5,
                        phone_key = ?6, birthday = ?7, consent_at = ?8, referrer = ?9,
                        duplicate_of = ?10 WHERE member_id = ?1 AND erased_at IS NULL",
                    params![
                        id,
                        n.masked_name,
                        n.masked_phone,
                        n.phone,
                        n.name,
                        n.phone_key,
                        n.birthday.as_ref().map(to_json).transpose()?,
                        n.consent_at,
                        n.referrer.map(|r| r.to_string()),
                        m.duplicate_of.map(|d| d.to_string()),
                    ],
                )?;
            }
            if let Some(seen) = &m.last_seen {
                tx.execute(
                    "UPDATE members SET last_store = ?2, last_seen_at = ?3 WHERE member_id = ?1",
                    params![id, seen.store, seen.at.to_rfc3339()],
                )?;
            }
            if let Some(at) = m.enrolled_at {
                tx.execute(
                    "UPDATE members SET enrolled_at_ms = ?2, enrolled_on = ?3 WHERE member_id = ?1",
                    params![id, millis(at), at.date_naive().to_string()],
                )?;
            }
        }
        let mut stmt = tx.prepare_cached(
            "INSERT INTO ledger (member_id, source, terminal_id, seq, entry) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for (seq, entry) in &plan.ledger {
            stmt.execute(params![
                entry.member.to_string(),
                entry.source.to_string(),
                tid,
                i64::try_from(*seq).unwrap_or(i64::MAX),
                to_json(entry)?
            ])?;
        }
        let mut stmt = tx.prepare_cached(
            "UPDATE members SET account = ?2, tier = ?3, sv_principal = ?4, sv_bonus = ?5,
                points_positive = ?6, points_debt = ?7, points_min_expiry_ms = ?8
             WHERE member_id = ?1",
        )?;
        for (member, account) in &plan.accounts {
            let m = MemberSummary::of(account);
            stmt.execute(params![
                member.to_string(),
                to_json(account)?,
                m.tier,
                m.sv_principal,
                m.sv_bonus,
                m.points_positive,
                m.points_debt,
                m.points_min_expiry_ms
            ])?;
        }
        let mut stmt = tx.prepare_cached(
            "INSERT INTO sales (terminal_id, sale_id, seq, member_id, at_ms, total_fen, lines)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
        )?;
        for sale in &plan.sales {
            stmt.execute(params![
                tid,
                sale.sale.to_string(),
                i64::try_from(sale.seq).unwrap_or(i64::MAX),
                sale.member.map(|m| m.to_string()),
                millis(sale.at),
                sale.total_fen,
                to_json(&sale.lines)?
            ])?;
        }
        let mut stmt = tx.prepare_cached(
            "INSERT INTO refunds (terminal_id, refund_id, sale_id, seq, at_ms, lines)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
        )?;
        for refund in &plan.refunds {
            stmt.execute(params![
                tid,
                refund.refund.to_string(),
                refund.sale.to_string(),
                i64::try_from(refund.seq).unwrap_or(i64::MAX),
                millis(refund.at),
                to_json(&refund.lines)?
            ])?;
        }
        let mut stmt = tx.prepare_cached(
            "INSERT INTO conflicts (member_id, kind, reason, terminal_id, seq, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for c in &plan.conflicts {
            stmt.execute(params![
                c.member.to_string(),
                c.kind,
                c.reason,
                tid,
                i64::try_from(c.seq).unwrap_or(i64::MAX),
                now_s
            ])?;
        }
    }
    for member in plan.erasures.iter() {
        // A tombstone even for a member not known yet: the erasure can
        // overtake the enrollment, whose personal data must then never be
        // stored (the enrollment's update skips erased members).
        tx.execute(
            "INSERT INTO members (member_id) VALUES (?1) ON CONFLICT (member_id) DO NOTHING",
            params![member.to_string()],
        )?;
        erase(tx, *member, now)?;
    }
    let changed: std::collections::BTreeSet<MemberId> = plan
        .ledger
        .iter()
        .map(|(_, e)| e.member)
        .chain(plan.members.keys().copied())
        .collect();
    for member in changed {
        push_change(tx, "member", Some(member), None)?;
    }
    tx.execute(
        "UPDATE terminals SET acked_seq = ?2, last_batch_at_ms = ?3,
            outbox_head_seq = coalesce(?4, outbox_head_seq) WHERE terminal_id = ?1",
        params![
            tid,
            i64::try_from(plan.acked_seq).unwrap_or(i64::MAX),
            millis(now),
            plan.outbox_head_seq
                .map(|h| i64::try_from(h).unwrap_or(i64::MAX))
        ],
    )?;
    Ok(())
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

    async fn insert_code(&self, code_hash: &str, store: &str, now: Timestamp) -> StoreResult<()> {
        let (code_hash, store) = (code_hash.to_string(), store.to_string());
        self.run(move |c| {
            c.execute(
                "INSERT INTO enroll_codes (code_hash, store, issued_at) VALUES (?1, ?2, ?3)",
                params![code_hash, store, now.to_rfc3339()],
            )?;
            Ok(())
        })
        .await
    }

    async fn redeem_code(
        &self,
        code_hash: &str,
        terminal: &TerminalRecord,
        now: Timestamp,
    ) -> StoreResult<Redeemed> {
        let (code_hash, t) = (code_hash.to_string(), terminal.clone());
        self.run(move |c| {
            let tx = c.transaction()?;
            let store: Option<String> = tx
                .query_row(
                    "UPDATE enroll_codes SET redeemed_by = ?2 WHERE code_hash = ?1 AND redeemed_by IS NULL
                     RETURNING store",
                    params![code_hash, t.terminal_id.to_string()],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(store) = store else {
                return Ok(Redeemed::Refused);
            };
            tx.execute(
                "INSERT INTO terminals (terminal_id, store, public_key, lookup_key, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![t.terminal_id.to_string(), store, t.public_key, t.lookup_key, now.to_rfc3339()],
            )?;
            tx.commit()?;
            Ok(Redeemed::Ok { store })
        })
        .await
    }

    async fn terminal(&self, id: TerminalId) -> StoreResult<Option<TerminalRecord>> {
        self.run(move |c| {
            Ok(c.query_row(
                "SELECT store, public_key, lookup_key, acked_seq, revoked FROM terminals WHERE terminal_id = ?1",
                params![id.to_string()],
                |r| {
                    Ok(TerminalRecord {
                        terminal_id: id,
                        store: r.get(0)?,
                        public_key: r.get(1)?,
                        lookup_key: r.get(2)?,
                        acked_seq: u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
                        revoked: r.get::<_, i64>(4)? != 0,
                    })
                },
            )
            .optional()?)
        })
        .await
    }

    async fn revoke_terminal(&self, id: TerminalId) -> StoreResult<()> {
        self.run(move |c| {
            c.execute(
                "UPDATE terminals SET revoked = 1 WHERE terminal_id = ?1",
                params![id.to_string()],
            )?;
            Ok(())
        })
        .await
    }

    async fn flag_terminal(&self, id: TerminalId, reason: &str, now: Timestamp) -> StoreResult<()> {
        let reason = reason.to_string();
        self.run(move |c| {
            c.execute(
                "INSERT INTO terminal_flags (terminal_id, reason, at) VALUES (?1, ?2, ?3)",
                params![id.to_string(), reason, now.to_rfc3339()],
            )?;
            Ok(())
        })
        .await
    }

    async fn terminal_flags(&self) -> StoreResult<Vec<(TerminalId, String)>> {
        self.run(|c| {
            let mut stmt =
                c.prepare("SELECT terminal_id, reason FROM terminal_flags ORDER BY id")?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter()
                .map(|(t, r)| Ok((parse_terminal(&t)?, r)))
                .collect()
        })
        .await
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
        self.run(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT position, kind, member_id, payload FROM changes WHERE position > ?1
                 ORDER BY position LIMIT ?2",
            )?;
            let rows = stmt
                .query_map(params![position, limit], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, Option<String>>(3)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter()
                .map(|(position, kind, member, payload)| {
                    Ok(ChangeRow {
                        xid: 0,
                        position,
                        kind,
                        member: member.as_deref().map(parse_member).transpose()?,
                        payload,
                    })
                })
                .collect()
        })
        .await
    }

    async fn member(&self, id: MemberId) -> StoreResult<Option<(MemberRecord, Vec<LedgerEntry>)>> {
        self.run(move |c| load_member(c, id)).await
    }

    async fn member_ids(&self) -> StoreResult<Vec<MemberId>> {
        self.run(|c| {
            let mut stmt = c.prepare("SELECT member_id FROM members ORDER BY member_id")?;
            let rows = stmt
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            rows.iter().map(|m| parse_member(m)).collect()
        })
        .await
    }

    async fn append_entries(&self, member: MemberId, entries: &[LedgerEntry]) -> StoreResult<()> {
        let entries = entries.to_vec();
        self.run(move |c| {
            let tx = c.transaction()?;
            for entry in &entries {
                tx.execute(
                    "INSERT INTO ledger (member_id, source, entry) VALUES (?1, ?2, ?3)",
                    params![
                        entry.member.to_string(),
                        entry.source.to_string(),
                        to_json(entry)?
                    ],
                )?;
            }
            // The cached fold no longer matches the ledger: refold next time
            // (the figures too: no summary until then).
            tx.execute(
                "UPDATE members SET account = NULL, tier = NULL WHERE member_id = ?1",
                params![member.to_string()],
            )?;
            push_change(&tx, "member", Some(member), None)?;
            tx.commit()?;
            Ok(())
        })
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
            let mut stmt = c.prepare(
                "SELECT member_id, kind, reason, terminal_id, seq, at FROM conflicts ORDER BY conflict_no",
            )?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<String>>(3)?, r.get::<_, Option<i64>>(4)?, r.get::<_, String>(5)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter()
                .map(|(m, kind, reason, t, seq, at)| {
                    Ok(ConflictRecord {
                        member: parse_member(&m)?,
                        kind,
                        reason,
                        terminal_id: t.as_deref().map(parse_terminal).transpose()?,
                        seq: seq.map(|s| u64::try_from(s).unwrap_or(0)),
                        at,
                    })
                })
                .collect()
        })
        .await
    }

    async fn dead_letters(&self) -> StoreResult<Vec<DeadLetterRecord>> {
        self.run(|c| {
            let mut stmt = c.prepare(
                "SELECT terminal_id, seq, event_id, reason, at FROM dead_letters
                 ORDER BY terminal_id, seq",
            )?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter()
                .map(|(t, seq, event_id, reason, at)| {
                    Ok(DeadLetterRecord {
                        terminal_id: parse_terminal(&t)?,
                        seq: u64::try_from(seq).unwrap_or(0),
                        event_id,
                        reason,
                        at,
                    })
                })
                .collect()
        })
        .await
    }

    async fn counts(&self) -> StoreResult<Counts> {
        self.run(|c| {
            let n = |sql: &str| -> StoreResult<u64> {
                Ok(u64::try_from(c.query_row(sql, [], |r| r.get::<_, i64>(0))?).unwrap_or(0))
            };
            Ok(Counts {
                events: n("SELECT count(*) FROM events")?,
                ledger: n("SELECT count(*) FROM ledger")?,
                dead_letters: n("SELECT count(*) FROM dead_letters")?,
                conflicts: n("SELECT count(*) FROM conflicts")?,
            })
        })
        .await
    }

    async fn find_text(&self, needle: &str) -> StoreResult<Vec<String>> {
        let needle = needle.to_string();
        self.run(move |c| {
            let tables: Vec<String> = {
                let mut stmt = c.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")?;
                stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?
            };
            let mut hits = Vec::new();
            for table in tables {
                let columns: Vec<String> = {
                    let mut stmt = c.prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))?;
                    stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?
                };
                for column in columns {
                    let n: i64 = c.query_row(
                        &format!("SELECT count(*) FROM \"{table}\" WHERE CAST(\"{column}\" AS TEXT) LIKE '%' || ?1 || '%'"),
                        params![needle],
                        |r| r.get(0),
                    )?;
                    if n > 0 {
                        hits.push(format!("{table}.{column}"));
                    }
                }
            }
            Ok(hits)
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

    async fn put_user(&self, user: &UserRecord, now: Timestamp) -> StoreResult<()> {
        let user = user.clone();
        self.run(move |c| {
            c.execute(
                "INSERT INTO hq_users (username, password_hash, created_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash",
                params![user.username, user.password_hash, now.to_rfc3339()],
            )?;
            Ok(())
        })
        .await
    }

    async fn user(&self, username: &str) -> StoreResult<Option<UserRecord>> {
        let username = username.to_string();
        self.run(move |c| {
            Ok(c.query_row(
                "SELECT username, password_hash FROM hq_users WHERE username = ?1",
                params![username],
                |r| {
                    Ok(UserRecord {
                        username: r.get(0)?,
                        password_hash: r.get(1)?,
                    })
                },
            )
            .optional()?)
        })
        .await
    }

    async fn insert_session(
        &self,
        token_hash: &str,
        username: &str,
        expires_at_ms: i64,
    ) -> StoreResult<()> {
        let (token_hash, username) = (token_hash.to_string(), username.to_string());
        self.run(move |c| {
            c.execute(
                "INSERT INTO hq_sessions (token_hash, username, expires_at_ms) VALUES (?1, ?2, ?3)",
                params![token_hash, username, expires_at_ms],
            )?;
            Ok(())
        })
        .await
    }

    async fn session_user(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<String>> {
        let token_hash = token_hash.to_string();
        self.run(move |c| {
            Ok(c.query_row(
                "SELECT username FROM hq_sessions WHERE token_hash = ?1 AND expires_at_ms > ?2",
                params![token_hash, now_ms],
                |r| r.get(0),
            )
            .optional()?)
        })
        .await
    }

    async fn delete_session(&self, token_hash: &str, now_ms: i64) -> StoreResult<()> {
        let token_hash = token_hash.to_string();
        self.run(move |c| {
            c.execute(
                "DELETE FROM hq_sessions WHERE token_hash = ?1 OR expires_at_ms <= ?2",
                params![token_hash, now_ms],
            )?;
            Ok(())
        })
        .await
    }

    async fn simulate_restore(&self, terminal: TerminalId, keep: u64) -> StoreResult<()> {
        self.run(move |c| {
            let tx = c.transaction()?;
            let (t, k) = (
                terminal.to_string(),
                i64::try_from(keep).unwrap_or(i64::MAX),
            );
            tx.execute(
                "DELETE FROM events WHERE terminal_id = ?1 AND seq > ?2",
                params![t, k],
            )?;
            tx.execute(
                "DELETE FROM ledger WHERE terminal_id = ?1 AND seq > ?2",
                params![t, k],
            )?;
            tx.execute(
                "DELETE FROM dead_letters WHERE terminal_id = ?1 AND seq > ?2",
                params![t, k],
            )?;
            tx.execute("UPDATE members SET account = NULL, tier = NULL", [])?;
            tx.execute(
                "DELETE FROM sales WHERE terminal_id = ?1 AND seq > ?2",
                params![t, k],
            )?;
            tx.execute(
                "DELETE FROM refunds WHERE terminal_id = ?1 AND seq > ?2",
                params![t, k],
            )?;
            tx.execute(
                "UPDATE terminals SET acked_seq = ?2 WHERE terminal_id = ?1",
                params![t, k],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }
}

/// A conflict row as read: member, kind, reason, terminal, seq, at.
type ConflictColumns = (String, String, String, Option<String>, Option<i64>, String);
/// A terminal row as read: id, store, acked, last batch, outbox head, revoked.
type TerminalColumns = (String, String, i64, Option<i64>, Option<i64>, i64);

/// SQLite's `sum()` of integers fails with "integer overflow" past `i64`
/// (two members holding 2^62 fen each), and `total()` is a float. An exact
/// sum as two columns that cannot overflow: the sum of the billions and the
/// sum of the remainders (each term below 10^9 in magnitude), read back by
/// [`read_exact_sum`]. Each column overflows only past 9 x 10^9 rows at the
/// largest bounded value.
fn exact_sum(expression: &str) -> String {
    format!(
        "coalesce(sum(({expression}) / {EXACT_SUM_SPLIT}), 0), \
         coalesce(sum(({expression}) % {EXACT_SUM_SPLIT}), 0)"
    )
}

/// What [`exact_sum`] splits on.
const EXACT_SUM_SPLIT: i64 = 1_000_000_000;

/// The sum [`exact_sum`] wrote at columns `index` and `index + 1`.
fn read_exact_sum(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<i128> {
    let billions: i64 = row.get(index)?;
    let rest: i64 = row.get(index + 1)?;
    Ok(i128::from(billions) * i128::from(EXACT_SUM_SPLIT) + i128::from(rest))
}

fn count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// The figures' rows, in one read transaction (a consistent snapshot).
fn figure_rows(tx: &Transaction<'_>, q: &FigureQuery) -> StoreResult<FigureRows> {
    let mut rows = FigureRows::default();
    // Members whose summary is there and whose points have not started to
    // expire are summed here; the others are folded by the caller.
    let summed = "tier IS NOT NULL AND (points_min_expiry_ms IS NULL OR points_min_expiry_ms > ?1)";
    {
        let mut stmt = tx.prepare(&format!(
            "SELECT tier, count(*) FROM members WHERE {summed} AND erased_at IS NULL
             GROUP BY tier ORDER BY tier"
        ))?;
        rows.tiers = stmt
            .query_map(params![q.now_ms], |r| {
                Ok((r.get::<_, i64>(0)?, count(r.get(1)?)))
            })?
            .collect::<Result<_, _>>()?;
    }
    (rows.sv_principal, rows.sv_bonus, rows.points) = tx.query_row(
        &format!(
            "SELECT {}, {}, {} FROM members WHERE {summed}",
            exact_sum("sv_principal"),
            exact_sum("sv_bonus"),
            exact_sum("points_positive + points_debt"),
        ),
        params![q.now_ms],
        |r| {
            Ok((
                read_exact_sum(r, 0)?,
                read_exact_sum(r, 2)?,
                read_exact_sum(r, 4)?,
            ))
        },
    )?;
    let unsummed: Vec<(String, Option<String>, bool)> = {
        let mut stmt = tx.prepare(&format!(
            "SELECT member_id, account, erased_at IS NOT NULL FROM members WHERE NOT ({summed})"
        ))?;
        stmt.query_map(params![q.now_ms], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?
    };
    for (member, account, erased) in unsummed {
        let member = parse_member(&member)?;
        let account = match account {
            Some(json) => parse_json(&json)?,
            None => MemberAccount::fold(MemberAccount::new(member), &load_entries(tx, member)?),
        };
        rows.accounts.push(AccountRow { account, erased });
    }
    {
        let mut stmt = tx.prepare(
            "SELECT enrolled_on, count(*) FROM members
             WHERE enrolled_on >= ?1 AND enrolled_on <= ?2 AND enrolled_at_ms <= ?3
             GROUP BY enrolled_on ORDER BY enrolled_on",
        )?;
        rows.enrollments = stmt
            .query_map(params![q.first_day, q.last_day, q.now_ms], |r| {
                Ok((r.get::<_, String>(0)?, count(r.get(1)?)))
            })?
            .collect::<Result<_, _>>()?;
    }
    rows.activity = tx.query_row(
        "SELECT
            coalesce(sum(CASE WHEN s.last_ms > ?2 THEN 1 ELSE 0 END), 0),
            coalesce(sum(CASE WHEN s.last_ms <= ?2 THEN 1 ELSE 0 END), 0),
            coalesce(sum(CASE WHEN s.last_ms IS NULL AND (m.enrolled_at_ms IS NULL OR m.enrolled_at_ms <= ?2) THEN 1 ELSE 0 END), 0),
            coalesce(sum(CASE WHEN s.last_ms IS NULL AND m.enrolled_at_ms > ?2 THEN 1 ELSE 0 END), 0)
         FROM members m LEFT JOIN (
            SELECT member_id, max(at_ms) AS last_ms FROM sales
            WHERE member_id IS NOT NULL AND at_ms <= ?1 GROUP BY member_id
         ) s ON s.member_id = m.member_id
         WHERE m.erased_at IS NULL AND (m.enrolled_at_ms IS NULL OR m.enrolled_at_ms <= ?1)",
        params![q.now_ms, q.active_since_ms],
        |r| {
            Ok(ActivityRows {
                active: count(r.get(0)?),
                lapsed: count(r.get(1)?),
                never_purchased_old: count(r.get(2)?),
                never_purchased_new: count(r.get(3)?),
            })
        },
    )?;
    rows.sales = tx.query_row(
        &format!(
            "SELECT {},
                coalesce(sum(CASE WHEN member_id IS NOT NULL THEN 1 ELSE 0 END), 0),
                {},
                coalesce(sum(CASE WHEN member_id IS NULL THEN 1 ELSE 0 END), 0)
             FROM sales WHERE at_ms > ?1 AND at_ms <= ?2",
            exact_sum("CASE WHEN member_id IS NOT NULL THEN total_fen ELSE 0 END"),
            exact_sum("CASE WHEN member_id IS NULL THEN total_fen ELSE 0 END"),
        ),
        params![q.sales_since_ms, q.now_ms],
        |r| {
            Ok(SalesRows {
                member_fen: read_exact_sum(r, 0)?,
                member_count: count(r.get(2)?),
                walk_in_fen: read_exact_sum(r, 3)?,
                walk_in_count: count(r.get(5)?),
            })
        },
    )?;
    {
        let window = "SELECT sale_id FROM refunds WHERE at_ms > ?1 AND at_ms <= ?2";
        let mut stmt = tx.prepare(&format!(
            "SELECT sale_id, member_id IS NOT NULL, lines FROM sales WHERE sale_id IN ({window})"
        ))?;
        let sales: Vec<(String, bool, String)> = stmt
            .query_map(params![q.sales_since_ms, q.now_ms], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<Result<_, _>>()?;
        for (sale, member, lines) in sales {
            rows.refunded_sales.push(RefundedSale {
                sale: parse_source(&sale)?,
                member,
                lines: parse_json(&lines)?,
            });
        }
        let mut stmt = tx.prepare(&format!(
            "SELECT refund_id, sale_id, at_ms, lines FROM refunds WHERE sale_id IN ({window})"
        ))?;
        let refunds: Vec<(String, String, i64, String)> = stmt
            .query_map(params![q.sales_since_ms, q.now_ms], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<Result<_, _>>()?;
        for (refund, sale, at_ms, lines) in refunds {
            rows.refunds.push(RefundRow {
                refund: parse_source(&refund)?,
                sale: parse_source(&sale)?,
                at_ms,
                lines: parse_json(&lines)?,
            });
        }
    }
    (rows.buyers, rows.repeat_buyers) = tx.query_row(
        "SELECT count(*), coalesce(sum(CASE WHEN n >= 2 THEN 1 ELSE 0 END), 0) FROM (
            SELECT member_id, count(*) AS n FROM sales
            WHERE member_id IS NOT NULL AND at_ms > ?1 AND at_ms <= ?2 GROUP BY member_id)",
        params![q.sales_since_ms, q.now_ms],
        |r| Ok((count(r.get(0)?), count(r.get(1)?))),
    )?;
    rows.terminals = terminal_rows(tx)?;
    {
        let mut stmt = tx.prepare(
            "SELECT member_id, kind, reason, terminal_id, seq, at FROM conflicts
             ORDER BY conflict_no DESC LIMIT ?1",
        )?;
        let conflicts: Vec<ConflictColumns> = stmt
            .query_map(
                params![i64::try_from(CONFLICTS_SHOWN).unwrap_or(i64::MAX)],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                },
            )?
            .collect::<Result<_, _>>()?;
        for (m, kind, reason, t, seq, at) in conflicts {
            rows.conflicts.push(ConflictItem {
                member_id: parse_member(&m)?,
                kind,
                reason,
                terminal_id: t.as_deref().map(parse_terminal).transpose()?,
                seq: seq.map(count),
                at,
            });
        }
    }
    rows.conflicts_total = count(tx.query_row("SELECT count(*) FROM conflicts", [], |r| r.get(0))?);
    Ok(rows)
}

fn terminal_rows(c: &Connection) -> StoreResult<Vec<TerminalRow>> {
    let mut stmt = c.prepare_cached(
        "SELECT terminal_id, store, acked_seq, last_batch_at_ms, outbox_head_seq, revoked
         FROM terminals ORDER BY store, terminal_id",
    )?;
    let terminals: Vec<TerminalColumns> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    terminals
        .into_iter()
        .map(|(t, store, acked, last, head, revoked)| {
            Ok(TerminalRow {
                terminal_id: parse_terminal(&t)?,
                store,
                acked_seq: count(acked),
                last_batch_at_ms: last,
                outbox_head_seq: head.map(count),
                revoked: revoked != 0,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn migration_2_dates_members_enrolled_before_it_by_their_consent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hq.sqlite");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute(
                "INSERT INTO members (member_id, consent_at) VALUES ('m1', '2026-11-20T10:00:00+08:00')",
                [],
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        store.migrate().await.unwrap();
        let conn = store.conn.lock().unwrap();
        let (on, ms): (String, i64) = conn
            .query_row(
                "SELECT enrolled_on, enrolled_at_ms FROM members WHERE member_id = 'm1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(on, "2026-11-20");
        let expected = Timestamp::parse_from_rfc3339("2026-11-20T10:00:00+08:00").unwrap();
        assert_eq!(ms, millis(expected));
    }

    #[tokio::test]
    async fn a_panic_holding_the_connection_does_not_take_the_store_down() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("hq.sqlite")).unwrap();
        store.migrate().await.unwrap();
        let panicked = store
            .run(|c| -> StoreResult<()> {
                c.execute_batch("BEGIN; INSERT INTO hq_settings (key, value) VALUES ('k', 'v');")?;
                panic!("a bug while the transaction is open")
            })
            .await;
        assert!(panicked.is_err(), "the panic is an error for its caller");
        store.ping().await.unwrap();
        let (autocommit, rows) = store
            .run(|c| {
                let rows: i64 = c.query_row(
                    "SELECT count(*) FROM hq_settings WHERE key = 'k'",
                    [],
                    |r| r.get(0),
                )?;
                Ok((c.is_autocommit(), rows))
            })
            .await
            .unwrap();
        assert!(autocommit, "the transaction the panic left open is gone");
        assert_eq!(rows, 0, "and what it wrote was rolled back");
    }
}
