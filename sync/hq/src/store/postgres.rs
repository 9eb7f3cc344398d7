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

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;

use bytes::{BufMut as _, BytesMut};
use deadpool_postgres::{GenericClient, Pool, Runtime};
use futures_util::future::try_join_all;
use tillcard_rules::MemberAccount;
use tillcard_rules::ids::{MemberId, Timestamp};
use tillcard_rules::ledger::LedgerEntry;
use tillcard_rules::refund::RefundLine;
use tokio_postgres::NoTls;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use uuid::Uuid;

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
use tillcard_protocol::wire::TerminalId;

/// Numbered migrations, applied in order at start-up (public for the test
/// that upgrades data written under an older schema).
pub const MIGRATIONS: &[&str] = &[
    // 1: the whole head-office schema.
    "CREATE TABLE hq_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE enroll_codes (code_hash TEXT PRIMARY KEY, store TEXT NOT NULL,
        issued_at TEXT NOT NULL, redeemed_by TEXT);
     CREATE TABLE terminals (terminal_id TEXT PRIMARY KEY, store TEXT NOT NULL,
        public_key TEXT NOT NULL, lookup_key TEXT NOT NULL,
        acked_seq BIGINT NOT NULL DEFAULT 0, revoked BOOLEAN NOT NULL DEFAULT FALSE,
        created_at TEXT NOT NULL);
     CREATE TABLE terminal_flags (terminal_id TEXT NOT NULL, id BIGSERIAL,
        reason TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (terminal_id, id));
     CREATE TABLE events (terminal_id TEXT NOT NULL, seq BIGINT NOT NULL,
        event_id TEXT NOT NULL, content_hash TEXT NOT NULL, kind TEXT NOT NULL,
        status TEXT NOT NULL, received_at TEXT NOT NULL, PRIMARY KEY (terminal_id, seq));
     CREATE TABLE dead_letters (terminal_id TEXT NOT NULL, seq BIGINT NOT NULL,
        event_id TEXT NOT NULL, reason TEXT NOT NULL, body TEXT, at TEXT NOT NULL,
        PRIMARY KEY (terminal_id, seq));
     CREATE TABLE members (member_id TEXT PRIMARY KEY, masked_name TEXT, masked_phone TEXT,
        phone TEXT, name TEXT, phone_key TEXT, birthday TEXT, consent_at TEXT, referrer TEXT,
        tags TEXT NOT NULL DEFAULT '[]', duplicate_of TEXT, last_store TEXT,
        last_seen_at TEXT, erased_at TEXT, account TEXT);
     CREATE INDEX members_phone_key ON members (phone_key);
     CREATE TABLE ledger (member_id TEXT NOT NULL, entry_no BIGSERIAL,
        source TEXT NOT NULL, terminal_id TEXT, seq BIGINT, entry TEXT NOT NULL,
        PRIMARY KEY (member_id, entry_no));
     CREATE INDEX ledger_terminal ON ledger (terminal_id, seq);
     CREATE TABLE conflicts (member_id TEXT NOT NULL, conflict_no BIGSERIAL,
        kind TEXT NOT NULL, reason TEXT NOT NULL, terminal_id TEXT, seq BIGINT,
        at TEXT NOT NULL, PRIMARY KEY (member_id, conflict_no));
     CREATE TABLE changes (position BIGSERIAL PRIMARY KEY, kind TEXT NOT NULL,
        member_id TEXT, payload TEXT,
        xid BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint));
     CREATE INDEX changes_order ON changes (xid, position);",
    // 2: the dashboard. Summary columns beside each member's cached fold so
    // the figures sum in SQL; sales and refunds (walk-ins included, so keyed
    // by terminal like events) for member share of sales; when each terminal
    // last sent a batch and its outbox head; head-office users and their
    // sessions (hashed tokens): small reference tables. Times the figures
    // compare are integers (ms since the epoch).
    "ALTER TABLE members ADD COLUMN enrolled_at_ms BIGINT, ADD COLUMN enrolled_on TEXT,
        ADD COLUMN tier BIGINT, ADD COLUMN sv_principal BIGINT, ADD COLUMN sv_bonus BIGINT,
        ADD COLUMN points_positive BIGINT, ADD COLUMN points_debt BIGINT,
        ADD COLUMN points_min_expiry_ms BIGINT;
     CREATE INDEX members_enrolled_on ON members (enrolled_on);
     -- Members enrolled before this migration: their consent time is their
     -- enrollment time (sales before it cannot be recovered: event bodies
     -- are not kept).
     UPDATE members SET enrolled_on = substr(consent_at, 1, 10),
        enrolled_at_ms = (extract(epoch FROM consent_at::timestamptz) * 1000)::bigint
        WHERE consent_at IS NOT NULL;
     ALTER TABLE terminals ADD COLUMN last_batch_at_ms BIGINT, ADD COLUMN outbox_head_seq BIGINT;
     CREATE TABLE sales (terminal_id TEXT NOT NULL, sale_id TEXT NOT NULL, seq BIGINT NOT NULL,
        member_id TEXT, at_ms BIGINT NOT NULL, total_fen BIGINT NOT NULL, lines TEXT NOT NULL,
        PRIMARY KEY (terminal_id, sale_id));
     CREATE INDEX sales_at ON sales (at_ms);
     CREATE INDEX sales_member ON sales (member_id, at_ms);
     CREATE INDEX sales_id ON sales (sale_id);
     CREATE TABLE refunds (terminal_id TEXT NOT NULL, refund_id TEXT NOT NULL,
        sale_id TEXT NOT NULL, seq BIGINT NOT NULL, at_ms BIGINT NOT NULL, lines TEXT NOT NULL,
        PRIMARY KEY (terminal_id, refund_id));
     CREATE INDEX refunds_at ON refunds (at_ms);
     CREATE INDEX refunds_sale ON refunds (sale_id);
     CREATE TABLE hq_users (username TEXT PRIMARY KEY, password_hash TEXT NOT NULL,
        created_at TEXT NOT NULL);
     CREATE TABLE hq_sessions (token_hash TEXT PRIMARY KEY, username TEXT NOT NULL,
        expires_at_ms BIGINT NOT NULL);",
    // 3: the upload path. `ledger_terminal` served no batch, only test
    // support (deleting a terminal's later entries), yet every ledger row
    // paid for it. A member's cached fold is rewritten by every batch that
    // touches the member: lz4 (PostgreSQL 14+, when built with it) compresses
    // it several times faster than the default pglz.
    "DROP INDEX ledger_terminal;
     DO $$ BEGIN
        ALTER TABLE members ALTER COLUMN account SET COMPRESSION lz4;
     EXCEPTION WHEN feature_not_supported OR syntax_error THEN NULL;
     END $$;",
    // 4: a member's ledger in chunks. A batch appends one row per member it
    // books entries for, holding those entries in order, each with the seq
    // of the event that booked it (`[[seq, entry], ...]`; seq null for
    // head office's own jobs). A sale books several entries for its member
    // (points, stored value, coupon), so one row per event became several
    // per event; now it is at most one, fewer when a batch has several
    // events of one member. `seq` is the chunk's highest, `entry_count` its
    // length. Existing rows become chunks of one entry (the table is
    // rewritten once, inside the migration's transaction).
    "ALTER TABLE ledger RENAME COLUMN entry TO entries;
     ALTER TABLE ledger ADD COLUMN entry_count INT NOT NULL DEFAULT 1;
     UPDATE ledger SET entries = '[[' || coalesce(seq::text, 'null') || ',' || entries || ']]';
     ALTER TABLE ledger DROP COLUMN source;
     DO $$ BEGIN
        ALTER TABLE ledger ALTER COLUMN entries SET COMPRESSION lz4;
     EXCEPTION WHEN feature_not_supported OR syntax_error THEN NULL;
     END $$;",
    // 5: room on each page for the next version of a row updated in place.
    "ALTER TABLE members SET (fillfactor = 70);
     ALTER TABLE terminals SET (fillfactor = 50);",
];

// The change log is read in (writing transaction id, position) order and
// only up to the oldest transaction still running (the snapshot's xmin):
// every transaction below it has finished, so no change can later appear
// before a cursor already handed out. Writers need no lock, and batches of
// different terminals commit in parallel.

/// PostgreSQL-backed storage.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    key_lock_budget: usize,
}

/// Connections in the pool unless configured: two per CPU and two more
/// (PostgreSQL's own rule of thumb for a server's active connections), 4
/// to 32. More connections than the cores can run only add switching: on
/// 2 cores, 6 connections ingest about 10% more events per second than 16,
/// with less CPU per event on both sides.
pub fn default_pool_size() -> usize {
    let cpus = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    (2 * cpus + 2).clamp(4, 32)
}

/// Locks a batch's transaction takes besides its advisory locks (tables,
/// indexes, its own transaction id), counted generously.
const OTHER_LOCKS_PER_BATCH: usize = 40;

/// How many member and phone advisory locks one batch may take, given the
/// server's lock table (`max_locks_per_transaction` × (`max_connections` +
/// `max_prepared_transactions`) slots, shared by every session): half of it
/// for the pool's batches at once, the rest for everything else. A batch
/// needing more takes the wide lock instead (see `LOCK_WIDE`). With
/// PostgreSQL's defaults (64 × 100) that is 160; a batch about 1,000
/// members (the protocol's largest) took 1,000 and, with a few at once,
/// failed with "out of shared memory".
pub fn key_lock_budget(lock_slots: i64, pool_size: usize) -> usize {
    let slots = usize::try_from(lock_slots).unwrap_or(0);
    (slots / (2 * pool_size.max(1))).saturating_sub(OTHER_LOCKS_PER_BATCH)
}

fn pool_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Pool(e.to_string())
}

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// A sum PostgreSQL computed as `numeric` (exact whatever its size: the sum
/// of `bigint`s), sent as text and read as `i128`; casting it to `bigint`
/// failed once the chain's stored value passed 2^63 fen.
fn exact_sum(row: &tokio_postgres::Row, index: usize) -> StoreResult<i128> {
    let text: String = row.try_get(index)?;
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("sum {text:?} is not an integer")))
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
        let mut cfg = deadpool_postgres::Config::new();
        cfg.url = Some(url.to_string());
        cfg.pool = Some(deadpool_postgres::PoolConfig::new(pool_size));
        let pool = cfg
            .create_pool(Some(Runtime::Tokio1), NoTls)
            .map_err(pool_err)?;
        // Fail now, not on the first request.
        let client = pool.get().await.map_err(pool_err)?;
        let slots: i64 = client
            .query_one(
                "SELECT current_setting('max_locks_per_transaction')::bigint
                    * (current_setting('max_connections')::bigint
                       + current_setting('max_prepared_transactions')::bigint)",
                &[],
            )
            .await?
            .get(0);
        let key_lock_budget = key_lock_budget(slots, pool_size);
        tracing::info!(
            pool_size,
            lock_slots = slots,
            key_lock_budget,
            "postgres pool and lock table"
        );
        drop(client);
        Ok(PgStore {
            pool,
            key_lock_budget,
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

type Params<'a> = &'a [&'a (dyn tokio_postgres::types::ToSql + Sync)];

// Statements on the hot path go through the connection's statement cache:
// an unprepared query costs an extra round trip (parse, then execute).
async fn q<C: GenericClient>(
    c: &C,
    sql: &str,
    p: Params<'_>,
) -> StoreResult<Vec<tokio_postgres::Row>> {
    let stmt = c.prepare_cached(sql).await?;
    Ok(c.query(&stmt, p).await?)
}

async fn x<C: GenericClient>(c: &C, sql: &str, p: Params<'_>) -> StoreResult<u64> {
    let stmt = c.prepare_cached(sql).await?;
    Ok(c.execute(&stmt, p).await?)
}

/// A ledger chunk's entries (migration 4), each with the seq of the event
/// that booked it (none for head office's own jobs).
type Chunk = Vec<(Option<u64>, LedgerEntry)>;

/// The entries of a ledger chunk, in booking order.
fn chunk_entries(text: &str) -> StoreResult<impl Iterator<Item = LedgerEntry>> {
    let chunk: Chunk = parse_json(text)?;
    Ok(chunk.into_iter().map(|(_, entry)| entry))
}

async fn load_entries<C: GenericClient>(c: &C, id: MemberId) -> StoreResult<Vec<LedgerEntry>> {
    let stmt = c
        .prepare_cached("SELECT entries FROM ledger WHERE member_id = $1 ORDER BY entry_no")
        .await?;
    let mut entries = Vec::new();
    for r in c.query(&stmt, &[&id.to_string()]).await? {
        entries.extend(chunk_entries(&r.get::<_, String>(0))?);
    }
    Ok(entries)
}

async fn push_change<C: GenericClient>(
    c: &C,
    kind: &str,
    member: Option<MemberId>,
    payload: Option<&str>,
) -> StoreResult<()> {
    x(
        c,
        "INSERT INTO changes (kind, member_id, payload) VALUES ($1, $2, $3)",
        &[&kind, &member.map(|m| m.to_string()), &payload],
    )
    .await?;
    Ok(())
}

async fn erase<C: GenericClient>(c: &C, id: MemberId, now: Timestamp) -> StoreResult<bool> {
    let member = id.to_string();
    let n = x(
        c,
        "UPDATE members SET masked_name = NULL, masked_phone = NULL, phone = NULL, name = NULL,
                phone_key = NULL, birthday = NULL, erased_at = $2 WHERE member_id = $1",
        &[&member, &now.to_rfc3339()],
    )
    .await?;
    x(
        c,
        "UPDATE dead_letters SET body = NULL WHERE body LIKE '%' || $1 || '%'",
        &[&member],
    )
    .await?;
    push_change(c, "erasure", Some(id), None).await?;
    Ok(n > 0)
}

// The upload path. A batch costs five round trips whatever its size:
// BEGIN and every read of `load` in one pipelined flight; every write of
// `write_and_commit` and COMMIT in another (and, before the transaction,
// the signature check's terminal lookup); one more when a member of the
// batch has no cached fold and is folded from its ledger. tokio-postgres
// sends requests in the order their futures are first polled, and
// `try_join_all` polls them in list order, so the server runs each flight's
// statements one after the other exactly as listed (a statement that fails
// aborts the transaction: the COMMIT behind it rolls back). Statements are prepared once per connection
// (the pool's statement cache) and each writes all of its rows from arrays.
//
// Locks, taken before anything they guard is read (in READ COMMITTED each
// statement reads what was committed when it starts):
// - the terminal's row (`FOR UPDATE`): one terminal's batches apply one
//   after the other (acks, dedupe);
// - the wide lock, shared, then a transaction-scoped advisory lock per
//   member and per enrollment's phone key of the batch, in ascending key
//   order: batches of different terminals about one member apply one after
//   the other, so no batch plans against a cached fold another is
//   rewriting (and two enrollments of one phone cannot both miss each
//   other). Members without a row yet are covered too, which row locks
//   could not do. Ascending order, and the terminal lock always first,
//   rule out deadlocks between batches;
// - or, for a batch about more members and phones than the lock budget
//   (`key_lock_budget`), the wide lock alone, exclusive: it waits for the
//   batches running and holds off the others while it applies. Each
//   advisory lock takes a slot of the server's shared lock table, and a
//   few batches of 1,000 members at once filled it. The wide lock comes
//   right after the terminal's, so the order stays the same for all.

/// A request in flight on the batch's transaction.
type Flight<'a, T> = Pin<Box<dyn Future<Output = Result<T, tokio_postgres::Error>> + Send + 'a>>;

// Also makes every later statement of the batch's transaction planned once
// per connection: custom plans (PostgreSQL's default for some of them, the
// array lengths changing) cost a planning per statement per batch. Set
// here rather than by a `SET LOCAL` of its own: a statement fewer per batch.
// A plan made once must not scan whole tables: every statement of a batch
// reaches its rows by key, but a plan made while `members` was still small
// (a new head office; one that just restored) chose a sequential scan and
// kept it as the table grew (`member_id = ANY($1)` took 55 ms a batch at
// 20,000 members, against under 1 ms by the index). Hence no sequential
// scans inside a batch, and the updates that join an array also name the
// keys with `= ANY` so the index can find them.
const LOCK_TERMINAL: &str = "SELECT acked_seq,
        set_config('plan_cache_mode', 'force_generic_plan', true),
        set_config('enable_seqscan', 'off', true)
     FROM terminals WHERE terminal_id = $1 FOR UPDATE";
// The wide lock's key is two int4s (7112, 0): a key space apart from the
// members' and phones' bigint keys. UNION ALL runs its parts in order, and
// unnest yields the keys in array order (ascending, from `lock_keys`).
const LOCK_KEYS: &str = "SELECT pg_advisory_xact_lock_shared(7112, 0)
     UNION ALL SELECT pg_advisory_xact_lock(unnest($1::bigint[]))";
const LOCK_WIDE: &str = "SELECT pg_advisory_xact_lock(7112, 0)";
// The seqs already stored between the batch's lowest and highest (with
// their hashes: one range of the primary key rather than a probe per seq),
// then every seq stored above the ack (read again: unchanged, the row is
// locked by now).
const STORED_EVENTS: &str =
    "SELECT seq, content_hash FROM events WHERE terminal_id = $1 AND seq BETWEEN $2 AND $3
     UNION ALL
     SELECT seq, NULL FROM events WHERE terminal_id = $1
        AND seq > (SELECT acked_seq FROM terminals WHERE terminal_id = $1)";
const BATCH_MEMBERS: &str =
    "SELECT member_id, account, last_store, last_seen_at FROM members WHERE member_id = ANY($1)";
const PHONE_OWNERS: &str = "SELECT phone_key, member_id FROM members
     WHERE phone_key = ANY($1) AND duplicate_of IS NULL";
// The ledger of members with no cached fold (new members, members refolded
// after a job or a restore, members with entries but no row).
const UNCACHED_LEDGER: &str = "SELECT member_id, entries FROM ledger WHERE member_id = ANY($1)
     ORDER BY member_id, entry_no";

type Param<'a> = &'a (dyn tokio_postgres::types::ToSql + Sync);

/// A query joining a flight (it owns its parameter list).
fn query_in<'a>(
    tx: &'a deadpool_postgres::ClientWrapper,
    statement: &'a tokio_postgres::Statement,
    params: Vec<Param<'a>>,
) -> Flight<'a, Vec<tokio_postgres::Row>> {
    Box::pin(async move { tx.query(statement, &params).await })
}

/// A statement joining a flight (it owns its parameter list).
fn execute_in<'a>(
    tx: &'a deadpool_postgres::ClientWrapper,
    statement: &'a tokio_postgres::Statement,
    params: Vec<Param<'a>>,
) -> Flight<'a, u64> {
    Box::pin(async move { tx.execute(statement, &params).await })
}

/// A command without parameters or rows (BEGIN, COMMIT) joining a flight.
fn command_in<'a, T: Default + Send + 'a>(
    tx: &'a deadpool_postgres::ClientWrapper,
    command: &'static str,
) -> Flight<'a, T> {
    Box::pin(async move { tx.batch_execute(command).await.map(|()| T::default()) })
}

/// The advisory lock key of a member: its id folded to 64 bits.
fn member_lock_key(member: MemberId) -> i64 {
    let (high, low) = member.0.as_u64_pair();
    i64::from_ne_bytes((high ^ low).to_ne_bytes())
}

/// The advisory lock key of a chain-wide phone key (hex of an HMAC): its
/// first 64 bits.
fn phone_lock_key(phone_key: &str) -> i64 {
    let bits = phone_key
        .get(..16)
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .unwrap_or(0);
    i64::from_ne_bytes(bits.to_ne_bytes())
}

/// Every advisory lock a batch takes, ascending, each once.
fn lock_keys(members: &[MemberId], phone_keys: &[String]) -> Vec<i64> {
    let mut keys: Vec<i64> = members
        .iter()
        .copied()
        .map(member_lock_key)
        .chain(phone_keys.iter().map(|k| phone_lock_key(k)))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

async fn prepare_all(
    tx: &deadpool_postgres::ClientWrapper,
    sqls: &[&str],
) -> StoreResult<Vec<tokio_postgres::Statement>> {
    Ok(try_join_all(sqls.iter().map(|sql| tx.prepare_cached(sql))).await?)
}

async fn load(
    tx: &deadpool_postgres::ClientWrapper,
    terminal: TerminalId,
    prepared: &Prepared,
    key_lock_budget: usize,
) -> StoreResult<Loaded> {
    let tid = terminal.to_string();
    let seqs: BTreeSet<u64> = prepared.seqs().into_iter().collect();
    let lowest = seqs.first().copied().map_or(0, i);
    let highest = seqs.last().copied().map_or(-1, i);
    let members: Vec<MemberId> = prepared.member_ids().into_iter().collect();
    let ids: Vec<String> = members.iter().map(ToString::to_string).collect();
    let keys = prepared.phone_keys();
    let locks = lock_keys(&members, &keys);
    let wide = locks.len() > key_lock_budget;
    let mut sqls = vec![
        LOCK_TERMINAL,
        if wide { LOCK_WIDE } else { LOCK_KEYS },
        STORED_EVENTS,
        BATCH_MEMBERS,
    ];
    if !keys.is_empty() {
        sqls.push(PHONE_OWNERS);
    }
    let st = prepare_all(tx, &sqls).await?;
    let mut flight = vec![
        command_in(tx, "BEGIN"),
        query_in(tx, &st[0], vec![&tid]),
        if wide {
            query_in(tx, &st[1], vec![])
        } else {
            query_in(tx, &st[1], vec![&locks])
        },
        query_in(tx, &st[2], vec![&tid, &lowest, &highest]),
        query_in(tx, &st[3], vec![&ids]),
    ];
    if !keys.is_empty() {
        flight.push(query_in(tx, &st[4], vec![&keys]));
    }
    let results = try_join_all(flight).await?;
    let [_, lock, _, stored, member_rows, owners @ ..] = results.as_slice() else {
        return Err(StoreError::Corrupt("load flight".into()));
    };
    let acked: i64 = lock
        .first()
        .ok_or_else(|| StoreError::Corrupt("terminal row missing".into()))?
        .get(0);
    let mut loaded = Loaded {
        acked_seq: u(acked),
        ..Loaded::default()
    };
    for r in stored {
        match r.get::<_, Option<String>>(1) {
            Some(hash) if seqs.contains(&u(r.get(0))) => {
                loaded.existing.insert(u(r.get(0)), hash);
            }
            Some(_) => {}
            None => {
                loaded.stored_above_ack.insert(u(r.get(0)));
            }
        }
    }
    for r in member_rows {
        let member = parse_member(&r.get::<_, String>(0))?;
        loaded.known_members.insert(member);
        // The cached fold when there is one; the ledger otherwise (below).
        if let Some(account) = r.get::<_, Option<String>>(1) {
            let account: MemberAccount = parse_json(&account)?;
            loaded.accounts.insert(account.member, account);
        }
        if let (Some(store), Some(at)) =
            (r.get::<_, Option<String>>(2), r.get::<_, Option<String>>(3))
        {
            let at = Timestamp::parse_from_rfc3339(&at)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            loaded.last_seen.insert(member, LastSeen { store, at });
        }
    }
    for r in owners.iter().flatten() {
        loaded
            .phone_owners
            .insert(r.get(0), parse_member(&r.get::<_, String>(1))?);
    }
    // A cached fold keeps the member's newest action ids only: one that
    // cannot tell whether an older action of the batch was booked is
    // refolded from the ledger, as are members with no cached fold: one
    // more round trip, only for batches that have such members (a new
    // member's enrollment, the first batch after a job or a restore, an
    // upload from a terminal long offline).
    loaded
        .accounts
        .retain(|_, account| ingest::cached_fold_suffices(account, prepared));
    let uncached: Vec<MemberId> = members
        .iter()
        .filter(|m| !loaded.accounts.contains_key(m))
        .copied()
        .collect();
    let mut by_member: std::collections::HashMap<String, Vec<LedgerEntry>> = Default::default();
    if !uncached.is_empty() {
        let ids: Vec<IdText> = uncached.iter().map(|m| IdText(m.0)).collect();
        let stmt = tx.prepare_cached(UNCACHED_LEDGER).await?;
        for r in tx.query(&stmt, &[&ids]).await? {
            by_member
                .entry(r.get(0))
                .or_default()
                .extend(chunk_entries(&r.get::<_, String>(1))?);
        }
    }
    for member in uncached {
        let entries = by_member.remove(&member.to_string()).unwrap_or_default();
        loaded.accounts.insert(
            member,
            MemberAccount::fold(MemberAccount::new(member), &entries),
        );
    }
    Ok(loaded)
}

// A batch's writes in one statement (data-modifying CTEs over disjoint
// tables, see `batch_statement`): its events, dead letters, ledger chunks,
// sales, refunds and conflicts; every member it saw, with its new fold (and
// the fold's sums) when its ledger changed and its enrollment when it
// enrolled, so one row version per member per batch (an erased member keeps
// its personal fields erased); a `member` change per member seen or booked;
// the new ack (a statement was one message, plan lookup and executor start
// each: six per batch now, ten before). Three row versions per new member
// (insert, enrollment, enrollment date) made concurrent batches queue on the
// same heap and index pages.
// Unseen members' folds and erasures follow as statements of their own
// (they update rows this one may insert). A change row is only a pointer
// (terminals get the member's state as of their download), so the erasure
// changes coming after the member changes is immaterial.

/// A statement put together from parts, its parameters numbered as they
/// are added.
#[derive(Default)]
struct Composed<'a> {
    params: Vec<Param<'a>>,
}

impl<'a> Composed<'a> {
    /// `$n` for a new parameter.
    fn param(&mut self, value: Param<'a>) -> String {
        self.params.push(value);
        format!("${}", self.params.len())
    }

    /// `$n` for a parameter several parts share, added when first used
    /// (PostgreSQL cannot type a parameter the statement never names).
    fn shared(&mut self, slot: &mut Option<String>, value: Param<'a>) -> String {
        slot.get_or_insert_with(|| self.param(value)).clone()
    }

    /// `unnest($n::type[]), ...` for array parameters: in the select list,
    /// where their rows stream; `FROM unnest(...)` would store them first in
    /// a tuple store per call (16 kB each, allocated and freed per batch).
    fn unnest(&mut self, columns: &[(Param<'a>, &str)]) -> String {
        columns
            .iter()
            .map(|&(value, ty)| format!("unnest({}::{ty}[])", self.param(value)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

// Enrollment fields of a member row: written when the batch enrolled the
// member (a consent time, which every enrollment has) unless the member was
// erased first.
const ENROLLMENT_COLUMNS: [&str; 9] = [
    "masked_name",
    "masked_phone",
    "phone",
    "name",
    "phone_key",
    "birthday",
    "consent_at",
    "referrer",
    "duplicate_of",
];

/// A batch's writes in one statement, with a part only for the tables it
/// has rows for (a batch of top-ups has no sales, refunds, dead letters or
/// conflicts): each part opens its table and indexes and sets up its own
/// executor nodes, for every batch. The text depends only on which parts
/// are present, so each shape is prepared once per connection.
fn batch_statement<'a>(c: &'a Columns<'a>) -> (String, Vec<Param<'a>>) {
    let mut s = Composed::default();
    let tid = s.param(&c.tid);
    let mut now_slot = None;
    let mut parts = Vec::new();
    if !c.event_seqs.is_empty() {
        let rows = s.unnest(&[
            (&c.event_seqs, "bigint"),
            (&c.event_ids, "text"),
            (&c.event_hashes, "text"),
            (&c.event_kinds, "text"),
            (&c.event_status, "text"),
        ]);
        let now = s.shared(&mut now_slot, &c.now_s);
        parts.push(format!(
            "INSERT INTO events (terminal_id, seq, event_id, content_hash, kind, status, received_at)
             SELECT {tid}, {rows}, {now}"
        ));
    }
    if !c.dead_seqs.is_empty() {
        let rows = s.unnest(&[
            (&c.dead_seqs, "bigint"),
            (&c.dead_ids, "text"),
            (&c.dead_reasons, "text"),
            (&c.dead_bodies, "text"),
        ]);
        let now = s.shared(&mut now_slot, &c.now_s);
        parts.push(format!(
            "INSERT INTO dead_letters (terminal_id, seq, event_id, reason, body, at)
             SELECT {tid}, {rows}, {now}"
        ));
    }
    if !c.chunk_members.is_empty() {
        let members = s.unnest(&[(&c.chunk_members, "text")]);
        let rest = s.unnest(&[
            (&c.chunk_seqs, "bigint"),
            (&c.chunk_counts, "int"),
            (&c.chunk_entries, "text"),
        ]);
        parts.push(format!(
            "INSERT INTO ledger (member_id, terminal_id, seq, entry_count, entries)
             SELECT {members}, {tid}, {rest}"
        ));
    }
    if !c.sale_ids.is_empty() {
        let rows = s.unnest(&[
            (&c.sale_ids, "text"),
            (&c.sale_seqs, "bigint"),
            (&c.sale_members, "text"),
            (&c.sale_at, "bigint"),
            (&c.sale_totals, "bigint"),
            (&c.sale_lines, "text"),
        ]);
        parts.push(format!(
            "INSERT INTO sales (terminal_id, sale_id, seq, member_id, at_ms, total_fen, lines)
             SELECT {tid}, {rows} ON CONFLICT DO NOTHING"
        ));
    }
    if !c.refund_ids.is_empty() {
        let rows = s.unnest(&[
            (&c.refund_ids, "text"),
            (&c.refund_sales, "text"),
            (&c.refund_seqs, "bigint"),
            (&c.refund_at, "bigint"),
            (&c.refund_lines, "text"),
        ]);
        parts.push(format!(
            "INSERT INTO refunds (terminal_id, refund_id, sale_id, seq, at_ms, lines)
             SELECT {tid}, {rows} ON CONFLICT DO NOTHING"
        ));
    }
    if !c.conflict_members.is_empty() {
        let rows = s.unnest(&[
            (&c.conflict_members, "text"),
            (&c.conflict_kinds, "text"),
            (&c.conflict_reasons, "text"),
        ]);
        let seqs = s.unnest(&[(&c.conflict_seqs, "bigint")]);
        let now = s.shared(&mut now_slot, &c.now_s);
        parts.push(format!(
            "INSERT INTO conflicts (member_id, kind, reason, terminal_id, seq, at)
             SELECT {rows}, {tid}, {seqs}, {now}"
        ));
    }
    if !c.member_ids.is_empty() {
        parts.push(member_upsert(&mut s, c));
    }
    if !c.changed.is_empty() {
        let members = s.unnest(&[(&c.changed, "text")]);
        parts.push(format!(
            "INSERT INTO changes (kind, member_id) SELECT 'member', {members}"
        ));
    }
    let (acked, now_ms, head) = (
        s.param(&c.acked),
        s.param(&c.now_ms),
        s.param(&c.outbox_head),
    );
    let with = if parts.is_empty() {
        String::new()
    } else {
        let named: Vec<String> = parts
            .iter()
            .enumerate()
            .map(|(n, part)| format!("w{n} AS ({part})"))
            .collect();
        format!("WITH {} ", named.join(",\n"))
    };
    let sql = format!(
        "{with}UPDATE terminals SET acked_seq = {acked}, last_batch_at_ms = {now_ms},
            outbox_head_seq = coalesce({head}, outbox_head_seq) WHERE terminal_id = {tid}"
    );
    (sql, s.params)
}

/// Every member the batch saw: one row version each, with the new fold and
/// its sums when the ledger changed (a null account leaves them as they
/// were), and the enrollment columns only when the batch enrolled someone.
fn member_upsert<'a>(s: &mut Composed<'a>, c: &'a Columns<'a>) -> String {
    let m = &c.member_sums;
    let mut columns = vec![
        "member_id",
        "last_store",
        "last_seen_at",
        "account",
        "tier",
        "sv_principal",
        "sv_bonus",
        "points_positive",
        "points_debt",
        "points_min_expiry_ms",
    ];
    let mut values: Vec<(Param<'a>, &str)> = vec![
        (&c.member_ids, "text"),
        (&c.member_stores, "text"),
        (&c.member_seen, "text"),
        (&c.member_accounts, "text"),
        (&m[0], "bigint"),
        (&m[1], "bigint"),
        (&m[2], "bigint"),
        (&m[3], "bigint"),
        (&m[4], "bigint"),
        (&m[5], "bigint"),
    ];
    let mut updates: Vec<String> = [
        "last_store",
        "last_seen_at",
        "account",
        "tier",
        "sv_principal",
        "sv_bonus",
        "points_positive",
        "points_debt",
    ]
    .iter()
    .map(|col| format!("{col} = coalesce(EXCLUDED.{col}, members.{col})"))
    .collect();
    updates.push(
        "points_min_expiry_ms = CASE WHEN EXCLUDED.account IS NULL
            THEN members.points_min_expiry_ms ELSE EXCLUDED.points_min_expiry_ms END"
            .into(),
    );
    let enrolls = c.member_enrolled_ms.iter().any(Option::is_some)
        || c.member_enrollments
            .iter()
            .any(|column| column.iter().any(Option::is_some));
    if enrolls {
        for (col, values_of) in ENROLLMENT_COLUMNS.iter().zip(&c.member_enrollments) {
            columns.push(col);
            values.push((values_of, "text"));
            updates.push(format!(
                "{col} = CASE WHEN EXCLUDED.consent_at IS NULL OR members.erased_at IS NOT NULL
                    THEN members.{col} ELSE EXCLUDED.{col} END"
            ));
        }
        columns.extend(["enrolled_at_ms", "enrolled_on"]);
        values.extend([
            (&c.member_enrolled_ms as Param<'a>, "bigint"),
            (&c.member_enrolled_on, "text"),
        ]);
        updates.extend(
            ["enrolled_at_ms", "enrolled_on"]
                .map(|col| format!("{col} = coalesce(EXCLUDED.{col}, members.{col})")),
        );
    }
    let rows = s.unnest(&values);
    format!(
        "INSERT INTO members ({}) SELECT {rows}
         ON CONFLICT (member_id) DO UPDATE SET {}",
        columns.join(", "),
        updates.join(",\n")
    )
}
// Folds of members the batch booked entries for without seeing them
// (another member's referrer): only members head office has a row for.
const UPDATE_ACCOUNTS: &str = "UPDATE members SET account = t.a, tier = t.tier, sv_principal = t.p,
        sv_bonus = t.b, points_positive = t.pp, points_debt = t.pd, points_min_expiry_ms = t.px
     FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[],
        $6::bigint[], $7::bigint[], $8::bigint[]) AS t(m, a, tier, p, b, pp, pd, px)
     WHERE members.member_id = t.m AND members.member_id = ANY($1)";
/// An erasure from a terminal leaves a tombstone even for a member head
/// office does not know yet: the erasure can overtake the enrollment (another
/// terminal's, or one above a gap), whose personal data must then never be
/// stored.
const ERASE_MEMBER: &str = "INSERT INTO members (member_id, erased_at) VALUES ($1, $2)
     ON CONFLICT (member_id) DO UPDATE SET masked_name = NULL, masked_phone = NULL,
        phone = NULL, name = NULL, phone_key = NULL, birthday = NULL,
        erased_at = EXCLUDED.erased_at";
const ERASE_DEAD_LETTERS: &str =
    "UPDATE dead_letters SET body = NULL WHERE body LIKE '%' || $1 || '%'";
const PUSH_CHANGE: &str = "INSERT INTO changes (kind, member_id, payload) VALUES ($1, $2, $3)";

/// An id sent as PostgreSQL text (hyphenated, lower case: its `Display`)
/// written straight into the request, without a `String` per row.
#[derive(Debug, Clone, Copy)]
struct IdText(Uuid);

impl ToSql for IdText {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        let mut buffer = Uuid::encode_buffer();
        out.extend_from_slice(self.0.hyphenated().encode_lower(&mut buffer).as_bytes());
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        <&str as ToSql>::accepts(ty)
    }

    to_sql_checked!();
}

/// A value sent as its JSON text (what [`to_json`] gives), serialized
/// straight into the request.
#[derive(Debug)]
struct JsonText<T>(T);

impl<T: serde::Serialize + std::fmt::Debug + Sync> ToSql for JsonText<T> {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        serde_json::to_writer(out.writer(), &self.0)?;
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        <&str as ToSql>::accepts(ty)
    }

    to_sql_checked!();
}

/// A plan's rows as the arrays its statements take, borrowed from the plan
/// where the plan holds text already.
#[derive(Default)]
struct Columns<'p> {
    tid: String,
    now_s: String,
    now_ms: i64,
    acked: i64,
    outbox_head: Option<i64>,
    event_seqs: Vec<i64>,
    event_ids: Vec<IdText>,
    event_hashes: Vec<&'p str>,
    event_kinds: Vec<&'p str>,
    event_status: Vec<&'static str>,
    dead_seqs: Vec<i64>,
    dead_ids: Vec<IdText>,
    dead_reasons: Vec<String>,
    dead_bodies: Vec<&'p str>,
    member_ids: Vec<IdText>,
    member_stores: Vec<Option<&'p str>>,
    member_seen: Vec<Option<String>>,
    member_accounts: Vec<Option<JsonText<&'p MemberAccount>>>,
    member_sums: [Vec<Option<i64>>; 6],
    member_enrollments: [Vec<Option<String>>; 9],
    member_enrolled_ms: Vec<Option<i64>>,
    member_enrolled_on: Vec<Option<String>>,
    chunk_members: Vec<IdText>,
    chunk_seqs: Vec<i64>,
    chunk_counts: Vec<i32>,
    chunk_entries: Vec<JsonText<Vec<(u64, &'p LedgerEntry)>>>,
    account_ids: Vec<IdText>,
    account_json: Vec<JsonText<&'p MemberAccount>>,
    account_sums: [Vec<i64>; 5],
    account_expiry: Vec<Option<i64>>,
    sale_ids: Vec<IdText>,
    sale_seqs: Vec<i64>,
    sale_members: Vec<Option<IdText>>,
    sale_at: Vec<i64>,
    sale_totals: Vec<i64>,
    sale_lines: Vec<JsonText<&'p Vec<(i64, i64)>>>,
    refund_ids: Vec<IdText>,
    refund_sales: Vec<IdText>,
    refund_seqs: Vec<i64>,
    refund_at: Vec<i64>,
    refund_lines: Vec<JsonText<&'p Vec<RefundLine>>>,
    conflict_members: Vec<IdText>,
    conflict_kinds: Vec<&'p str>,
    conflict_reasons: Vec<&'p str>,
    conflict_seqs: Vec<i64>,
    erased: Vec<String>,
    changed: Vec<IdText>,
}

impl<'p> Columns<'p> {
    fn of(terminal: TerminalId, plan: &'p Plan, now: Timestamp) -> StoreResult<Columns<'p>> {
        // Enrollment columns beside every member the batch saw (null for
        // those it did not enroll).
        let mut member_enrollments: [Vec<Option<String>>; 9] = Default::default();
        for m in plan.members.values() {
            let row = match &m.enrollment {
                Some(n) => [
                    n.masked_name.clone(),
                    Some(n.masked_phone.clone()),
                    Some(n.phone.clone()),
                    n.name.clone(),
                    Some(n.phone_key.clone()),
                    n.birthday.as_ref().map(to_json).transpose()?,
                    Some(n.consent_at.clone()),
                    n.referrer.map(|r| r.to_string()),
                    m.duplicate_of.map(|d| d.to_string()),
                ],
                None => Default::default(),
            };
            for (column, value) in member_enrollments.iter_mut().zip(row) {
                column.push(value);
            }
        }
        // Folds of members the batch saw go with their row; the others
        // (`UPDATE_ACCOUNTS`) apart.
        let seen_sums: Vec<Option<MemberSummary>> = plan
            .members
            .keys()
            .map(|m| plan.accounts.get(m).map(MemberSummary::of))
            .collect();
        let seen_col = |f: fn(&MemberSummary) -> Option<i64>| {
            seen_sums
                .iter()
                .map(|s| s.as_ref().and_then(f))
                .collect::<Vec<Option<i64>>>()
        };
        let unseen: Vec<(&MemberId, &MemberAccount)> = plan
            .accounts
            .iter()
            .filter(|(m, _)| !plan.members.contains_key(m))
            .collect();
        let sums: Vec<MemberSummary> = unseen.iter().map(|(_, a)| MemberSummary::of(a)).collect();
        let col = |f: fn(&MemberSummary) -> i64| sums.iter().map(f).collect::<Vec<i64>>();
        let changed: BTreeSet<MemberId> = plan
            .ledger
            .iter()
            .map(|(_, e)| e.member)
            .chain(plan.members.keys().copied())
            .collect();
        let id = |m: &MemberId| IdText(m.0);
        let mut chunks: BTreeMap<MemberId, Vec<(u64, &LedgerEntry)>> = BTreeMap::new();
        for (seq, entry) in &plan.ledger {
            chunks.entry(entry.member).or_default().push((*seq, entry));
        }
        Ok(Columns {
            tid: terminal.to_string(),
            now_s: now.to_rfc3339(),
            now_ms: millis(now),
            acked: i(plan.acked_seq),
            outbox_head: plan.outbox_head_seq.map(i),
            event_seqs: plan.events.iter().map(|e| i(e.seq)).collect(),
            event_ids: plan.events.iter().map(|e| IdText(e.event_id)).collect(),
            event_hashes: plan.events.iter().map(|e| e.hash.as_str()).collect(),
            event_kinds: plan.events.iter().map(|e| e.kind).collect(),
            event_status: plan.events.iter().map(|e| e.status.as_str()).collect(),
            dead_seqs: plan.dead.iter().map(|d| i(d.seq)).collect(),
            dead_ids: plan.dead.iter().map(|d| IdText(d.event_id)).collect(),
            dead_reasons: plan.dead.iter().map(|d| d.reason.stored()).collect(),
            dead_bodies: plan.dead.iter().map(|d| d.body.as_str()).collect(),
            member_ids: plan.members.keys().map(id).collect(),
            member_stores: plan
                .members
                .values()
                .map(|m| m.last_seen.as_ref().map(|s| s.store.as_str()))
                .collect(),
            member_seen: plan
                .members
                .values()
                .map(|m| m.last_seen.as_ref().map(|s| s.at.to_rfc3339()))
                .collect(),
            member_enrollments,
            member_enrolled_ms: plan
                .members
                .values()
                .map(|m| m.enrolled_at.map(millis))
                .collect(),
            member_enrolled_on: plan
                .members
                .values()
                .map(|m| m.enrolled_at.map(|at| at.date_naive().to_string()))
                .collect(),
            chunk_members: chunks.keys().map(id).collect(),
            chunk_seqs: chunks
                .values()
                .map(|c| c.iter().map(|(s, _)| i(*s)).max().unwrap_or(0))
                .collect(),
            chunk_counts: chunks
                .values()
                .map(|c| i32::try_from(c.len()).unwrap_or(i32::MAX))
                .collect(),
            chunk_entries: chunks.into_values().map(JsonText).collect(),
            member_accounts: plan
                .members
                .keys()
                .map(|m| plan.accounts.get(m).map(JsonText))
                .collect(),
            member_sums: [
                seen_col(|m| Some(m.tier)),
                seen_col(|m| Some(m.sv_principal)),
                seen_col(|m| Some(m.sv_bonus)),
                seen_col(|m| Some(m.points_positive)),
                seen_col(|m| Some(m.points_debt)),
                seen_col(|m| m.points_min_expiry_ms),
            ],
            account_ids: unseen.iter().map(|(m, _)| id(m)).collect(),
            account_json: unseen.iter().map(|(_, a)| JsonText(*a)).collect(),
            account_sums: [
                col(|m| m.tier),
                col(|m| m.sv_principal),
                col(|m| m.sv_bonus),
                col(|m| m.points_positive),
                col(|m| m.points_debt),
            ],
            account_expiry: sums.iter().map(|m| m.points_min_expiry_ms).collect(),
            sale_ids: plan.sales.iter().map(|s| IdText(s.sale.0)).collect(),
            sale_seqs: plan.sales.iter().map(|s| i(s.seq)).collect(),
            sale_members: plan
                .sales
                .iter()
                .map(|s| s.member.as_ref().map(id))
                .collect(),
            sale_at: plan.sales.iter().map(|s| millis(s.at)).collect(),
            sale_totals: plan.sales.iter().map(|s| s.total_fen).collect(),
            sale_lines: plan.sales.iter().map(|s| JsonText(&s.lines)).collect(),
            refund_ids: plan.refunds.iter().map(|r| IdText(r.refund.0)).collect(),
            refund_sales: plan.refunds.iter().map(|r| IdText(r.sale.0)).collect(),
            refund_seqs: plan.refunds.iter().map(|r| i(r.seq)).collect(),
            refund_at: plan.refunds.iter().map(|r| millis(r.at)).collect(),
            refund_lines: plan.refunds.iter().map(|r| JsonText(&r.lines)).collect(),
            conflict_members: plan.conflicts.iter().map(|k| id(&k.member)).collect(),
            conflict_kinds: plan.conflicts.iter().map(|k| k.kind.as_str()).collect(),
            conflict_reasons: plan.conflicts.iter().map(|k| k.reason.as_str()).collect(),
            conflict_seqs: plan.conflicts.iter().map(|k| i(k.seq)).collect(),
            erased: plan.erasures.iter().map(ToString::to_string).collect(),
            changed: changed.iter().map(id).collect(),
        })
    }
}

/// Writes a plan and commits: one statement for what every batch writes,
/// then the rarer ones, then COMMIT, all in one pipelined flight. Should a
/// statement fail, the server turns the COMMIT queued behind it into a
/// rollback.
async fn write_and_commit(
    tx: &deadpool_postgres::ClientWrapper,
    c: &Columns<'_>,
) -> StoreResult<()> {
    let accounts = !c.account_ids.is_empty();
    let erasures = !c.erased.is_empty();
    let (batch_sql, batch_params) = batch_statement(c);
    let sqls: Vec<&str> = [
        (true, batch_sql.as_str()),
        (accounts, UPDATE_ACCOUNTS),
        (erasures, ERASE_MEMBER),
        (erasures, ERASE_DEAD_LETTERS),
        (erasures, PUSH_CHANGE),
    ]
    .into_iter()
    .filter_map(|(on, sql)| on.then_some(sql))
    .collect();
    let st = prepare_all(tx, &sqls).await?;
    let mut st = st.iter();
    let mut next = || {
        st.next()
            .ok_or_else(|| StoreError::Corrupt("write flight".into()))
    };
    let mut flight = Vec::with_capacity(sqls.len() + 3 * c.erased.len());
    flight.push(execute_in(tx, next()?, batch_params));
    if accounts {
        let s = next()?;
        let a = &c.account_sums;
        flight.push(execute_in(
            tx,
            s,
            vec![
                &c.account_ids,
                &c.account_json,
                &a[0],
                &a[1],
                &a[2],
                &a[3],
                &a[4],
                &c.account_expiry,
            ],
        ));
    }
    if erasures {
        let (erase, dead_letters, change) = (next()?, next()?, next()?);
        for member in &c.erased {
            flight.push(execute_in(tx, erase, vec![member, &c.now_s]));
            flight.push(execute_in(tx, dead_letters, vec![member]));
            flight.push(execute_in(
                tx,
                change,
                vec![&"erasure", member, &None::<String>],
            ));
        }
    }
    flight.push(command_in(tx, "COMMIT"));
    try_join_all(flight).await?;
    Ok(())
}

/// A batch's transaction on a pooled connection: BEGIN goes out with the
/// batch's reads ([`load`]) and COMMIT with its writes
/// ([`write_and_commit`]), two round trips fewer per batch than
/// tokio-postgres' `Transaction` (which awaits each). A transaction that
/// does not end through [`BatchTransaction::committed`] or
/// [`BatchTransaction::rollback`] (an error, a dropped request) leaves with
/// its connection: the connection is closed instead of going back to the
/// pool, and the server rolls the transaction back.
struct BatchTransaction {
    connection: Option<deadpool_postgres::Object>,
}

impl BatchTransaction {
    fn new(connection: deadpool_postgres::Object) -> BatchTransaction {
        BatchTransaction {
            connection: Some(connection),
        }
    }

    /// The connection, for statements of the transaction.
    fn client(&self) -> StoreResult<&deadpool_postgres::ClientWrapper> {
        self.connection
            .as_deref()
            .ok_or_else(|| StoreError::Corrupt("transaction already ended".into()))
    }

    /// The transaction committed: its connection goes back to the pool.
    fn committed(mut self) {
        drop(self.connection.take());
    }

    /// Rolls the transaction back; its connection goes back to the pool
    /// (unless the rollback fails: then it is closed, see `Drop`).
    async fn rollback(mut self) -> StoreResult<()> {
        self.client()?.batch_execute("ROLLBACK").await?;
        drop(self.connection.take());
        Ok(())
    }
}

impl Drop for BatchTransaction {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take() {
            drop(deadpool_postgres::Object::take(connection));
        }
    }
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
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock(7111)", &[])
            .await?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)",
        )
        .await?;
        let version: i64 = tx
            .query_one(
                "SELECT coalesce(max(version), 0) FROM schema_migrations",
                &[],
            )
            .await?
            .get(0);
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

    async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        let c = self.client().await?;
        Ok(
            c.query_opt("SELECT value FROM hq_settings WHERE key = $1", &[&key])
                .await?
                .map(|r| r.get(0)),
        )
    }

    async fn init_setting(&self, key: &str, value: &str) -> StoreResult<String> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO hq_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            &[&key, &value],
        )
        .await?;
        Ok(
            c.query_one("SELECT value FROM hq_settings WHERE key = $1", &[&key])
                .await?
                .get(0),
        )
    }

    async fn push_change(
        &self,
        kind: &str,
        member: Option<MemberId>,
        payload: Option<&str>,
    ) -> StoreResult<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        push_change(&tx, kind, member, payload).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn insert_code(&self, code_hash: &str, store: &str, now: Timestamp) -> StoreResult<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO enroll_codes (code_hash, store, issued_at) VALUES ($1, $2, $3)",
            &[&code_hash, &store, &now.to_rfc3339()],
        )
        .await?;
        Ok(())
    }

    async fn redeem_code(
        &self,
        code_hash: &str,
        t: &TerminalRecord,
        now: Timestamp,
    ) -> StoreResult<Redeemed> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let tid = t.terminal_id.to_string();
        let Some(row) = tx
            .query_opt(
                "UPDATE enroll_codes SET redeemed_by = $2 WHERE code_hash = $1 AND redeemed_by IS NULL RETURNING store",
                &[&code_hash, &tid],
            )
            .await?
        else {
            return Ok(Redeemed::Refused);
        };
        let store: String = row.get(0);
        tx.execute(
            "INSERT INTO terminals (terminal_id, store, public_key, lookup_key, created_at) VALUES ($1, $2, $3, $4, $5)",
            &[&tid, &store, &t.public_key, &t.lookup_key, &now.to_rfc3339()],
        )
        .await?;
        tx.commit().await?;
        Ok(Redeemed::Ok { store })
    }

    async fn terminal(&self, id: TerminalId) -> StoreResult<Option<TerminalRecord>> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached("SELECT store, public_key, lookup_key, acked_seq, revoked FROM terminals WHERE terminal_id = $1")
            .await?;
        Ok(c.query_opt(&stmt, &[&id.to_string()])
            .await?
            .map(|r| TerminalRecord {
                terminal_id: id,
                store: r.get(0),
                public_key: r.get(1),
                lookup_key: r.get(2),
                acked_seq: u(r.get(3)),
                revoked: r.get(4),
            }))
    }

    async fn revoke_terminal(&self, id: TerminalId) -> StoreResult<()> {
        let c = self.client().await?;
        c.execute(
            "UPDATE terminals SET revoked = TRUE WHERE terminal_id = $1",
            &[&id.to_string()],
        )
        .await?;
        Ok(())
    }

    async fn flag_terminal(&self, id: TerminalId, reason: &str, now: Timestamp) -> StoreResult<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO terminal_flags (terminal_id, reason, at) VALUES ($1, $2, $3)",
            &[&id.to_string(), &reason, &now.to_rfc3339()],
        )
        .await?;
        Ok(())
    }

    async fn terminal_flags(&self) -> StoreResult<Vec<(TerminalId, String)>> {
        let c = self.client().await?;
        c.query(
            "SELECT terminal_id, reason FROM terminal_flags ORDER BY id",
            &[],
        )
        .await?
        .iter()
        .map(|r| Ok((parse_terminal(&r.get::<_, String>(0))?, r.get(1))))
        .collect()
    }

    async fn ingest(
        &self,
        terminal: &TerminalRecord,
        prepared: Prepared,
        now: Timestamp,
    ) -> StoreResult<Result<Plan, BatchRefusal>> {
        let tx = BatchTransaction::new(self.client().await?);
        let loaded = load(
            tx.client()?,
            terminal.terminal_id,
            &prepared,
            self.key_lock_budget,
        )
        .await?;
        let plan = match ingest::plan(prepared, loaded, &terminal.store) {
            Ok(plan) => plan,
            Err(refusal) => {
                tx.rollback().await?;
                return Ok(Err(refusal));
            }
        };
        let columns = Columns::of(terminal.terminal_id, &plan, now)?;
        write_and_commit(tx.client()?, &columns).await?;
        tx.committed();
        Ok(Ok(plan))
    }

    async fn changes_after(&self, after: (i64, i64), limit: i64) -> StoreResult<Vec<ChangeRow>> {
        let c = self.client().await?;
        c.query(
            "SELECT xid, position, kind, member_id, payload FROM changes
             WHERE (xid, position) > ($1, $2)
               AND xid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
             ORDER BY xid, position LIMIT $3",
            &[&after.0, &after.1, &limit],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(ChangeRow {
                xid: r.get(0),
                position: r.get(1),
                kind: r.get(2),
                member: r
                    .get::<_, Option<String>>(3)
                    .as_deref()
                    .map(parse_member)
                    .transpose()?,
                payload: r.get(4),
            })
        })
        .collect()
    }

    async fn member(&self, id: MemberId) -> StoreResult<Option<(MemberRecord, Vec<LedgerEntry>)>> {
        let c = self.client().await?;
        let Some(r) = c
            .query_opt(
                "SELECT masked_name, masked_phone, phone, birthday, tags, duplicate_of, erased_at
                 FROM members WHERE member_id = $1",
                &[&id.to_string()],
            )
            .await?
        else {
            return Ok(None);
        };
        let record = MemberRecord {
            member: id,
            masked_name: r.get(0),
            masked_phone: r.get(1),
            phone: r.get(2),
            birthday: r
                .get::<_, Option<String>>(3)
                .as_deref()
                .map(parse_json)
                .transpose()?,
            tags: parse_json(&r.get::<_, String>(4))?,
            duplicate_of: r
                .get::<_, Option<String>>(5)
                .as_deref()
                .map(parse_member)
                .transpose()?,
            erased: r.get::<_, Option<String>>(6).is_some(),
        };
        Ok(Some((record, load_entries(&c, id).await?)))
    }

    async fn member_ids(&self) -> StoreResult<Vec<MemberId>> {
        let c = self.client().await?;
        c.query("SELECT member_id FROM members ORDER BY member_id", &[])
            .await?
            .iter()
            .map(|r| parse_member(&r.get::<_, String>(0)))
            .collect()
    }

    async fn append_entries(&self, member: MemberId, entries: &[LedgerEntry]) -> StoreResult<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        // The member's lock, as a batch takes it: no batch is planning
        // against the fold this invalidates.
        tx.execute(LOCK_KEYS, &[&vec![member_lock_key(member)]])
            .await?;
        if !entries.is_empty() {
            let chunk: Vec<(Option<u64>, &LedgerEntry)> =
                entries.iter().map(|e| (None, e)).collect();
            tx.execute(
                "INSERT INTO ledger (member_id, entry_count, entries) VALUES ($1, $2, $3)",
                &[
                    &member.to_string(),
                    &i32::try_from(chunk.len())
                        .map_err(|_| StoreError::Corrupt("chunk size".into()))?,
                    &to_json(&chunk)?,
                ],
            )
            .await?;
        }
        // The cached fold no longer matches the ledger: refold next time
        // (the figures too: no summary until then).
        tx.execute(
            "UPDATE members SET account = NULL, tier = NULL WHERE member_id = $1",
            &[&member.to_string()],
        )
        .await?;
        push_change(&tx, "member", Some(member), None).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn erase_member(&self, id: MemberId, now: Timestamp) -> StoreResult<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let existed = erase(&tx, id, now).await?;
        tx.commit().await?;
        Ok(existed)
    }

    async fn conflicts(&self) -> StoreResult<Vec<ConflictRecord>> {
        let c = self.client().await?;
        c.query(
            "SELECT member_id, kind, reason, terminal_id, seq, at FROM conflicts ORDER BY conflict_no",
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(ConflictRecord {
                member: parse_member(&r.get::<_, String>(0))?,
                kind: r.get(1),
                reason: r.get(2),
                terminal_id: r
                    .get::<_, Option<String>>(3)
                    .as_deref()
                    .map(parse_terminal)
                    .transpose()?,
                seq: r.get::<_, Option<i64>>(4).map(u),
                at: r.get(5),
            })
        })
        .collect()
    }

    async fn figure_rows(&self, query: &FigureQuery) -> StoreResult<FigureRows> {
        let mut c = self.client().await?;
        // One snapshot for every query, so the figures agree with each other.
        let tx = c
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let rows = figure_rows(&tx, query).await?;
        tx.commit().await?;
        Ok(rows)
    }

    async fn terminal_rows(&self) -> StoreResult<Vec<TerminalRow>> {
        let c = self.client().await?;
        terminal_rows(&c).await
    }

    async fn put_user(&self, user: &UserRecord, now: Timestamp) -> StoreResult<()> {
        let c = self.client().await?;
        x(
            &c,
            "INSERT INTO hq_users (username, password_hash, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (username) DO UPDATE SET password_hash = EXCLUDED.password_hash",
            &[&user.username, &user.password_hash, &now.to_rfc3339()],
        )
        .await?;
        Ok(())
    }

    async fn user(&self, username: &str) -> StoreResult<Option<UserRecord>> {
        let c = self.client().await?;
        Ok(q(
            &c,
            "SELECT username, password_hash FROM hq_users WHERE username = $1",
            &[&username],
        )
        .await?
        .first()
        .map(|r| UserRecord {
            username: r.get(0),
            password_hash: r.get(1),
        }))
    }

    async fn insert_session(
        &self,
        token_hash: &str,
        username: &str,
        expires_at_ms: i64,
    ) -> StoreResult<()> {
        let c = self.client().await?;
        x(
            &c,
            "INSERT INTO hq_sessions (token_hash, username, expires_at_ms) VALUES ($1, $2, $3)",
            &[&token_hash, &username, &expires_at_ms],
        )
        .await?;
        Ok(())
    }

    async fn session_user(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<String>> {
        let c = self.client().await?;
        Ok(q(
            &c,
            "SELECT username FROM hq_sessions WHERE token_hash = $1 AND expires_at_ms > $2",
            &[&token_hash, &now_ms],
        )
        .await?
        .first()
        .map(|r| r.get(0)))
    }

    async fn delete_session(&self, token_hash: &str, now_ms: i64) -> StoreResult<()> {
        let c = self.client().await?;
        x(
            &c,
            "DELETE FROM hq_sessions WHERE token_hash = $1 OR expires_at_ms <= $2",
            &[&token_hash, &now_ms],
        )
        .await?;
        Ok(())
    }

    async fn dead_letters(&self) -> StoreResult<Vec<DeadLetterRecord>> {
        let c = self.client().await?;
        c.query(
            "SELECT terminal_id, seq, event_id, reason, at FROM dead_letters
             ORDER BY terminal_id, seq",
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(DeadLetterRecord {
                terminal_id: parse_terminal(&r.get::<_, String>(0))?,
                seq: u(r.get(1)),
                event_id: r.get(2),
                reason: r.get(3),
                at: r.get(4),
            })
        })
        .collect()
    }

    async fn counts(&self) -> StoreResult<Counts> {
        let c = self.client().await?;
        let r = c
            .query_one(
                "SELECT (SELECT count(*) FROM events), (SELECT coalesce(sum(entry_count), 0)::bigint FROM ledger),
                        (SELECT count(*) FROM dead_letters), (SELECT count(*) FROM conflicts)",
                &[],
            )
            .await?;
        Ok(Counts {
            events: u(r.get(0)),
            ledger: u(r.get(1)),
            dead_letters: u(r.get(2)),
            conflicts: u(r.get(3)),
        })
    }

    async fn find_text(&self, needle: &str) -> StoreResult<Vec<String>> {
        let c = self.client().await?;
        let tables: Vec<String> = c
            .query(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()",
                &[],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut hits = Vec::new();
        for table in tables {
            let n: i64 = c
                .query_one(
                    &format!(
                        "SELECT count(*) FROM \"{table}\" t WHERE t::text LIKE '%' || $1 || '%'"
                    ),
                    &[&needle],
                )
                .await?
                .get(0);
            if n > 0 {
                hits.push(table);
            }
        }
        Ok(hits)
    }

    async fn simulate_restore(&self, terminal: TerminalId, keep: u64) -> StoreResult<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let (t, k) = (terminal.to_string(), i(keep));
        tx.execute(
            "DELETE FROM events WHERE terminal_id = $1 AND seq > $2",
            &[&t, &k],
        )
        .await?;
        // Chunks reaching above `keep` lose their later entries (a chunk
        // holds one batch's entries of a member, and a backup could have
        // been taken between two of those entries' events only in a test).
        for r in tx
            .query(
                "SELECT entry_no, entries FROM ledger WHERE terminal_id = $1 AND seq > $2",
                &[&t, &k],
            )
            .await?
        {
            let no: i64 = r.get(0);
            let mut chunk: Chunk = parse_json(&r.get::<_, String>(1))?;
            chunk.retain(|(seq, _)| seq.is_some_and(|s| s <= keep));
            if chunk.is_empty() {
                tx.execute("DELETE FROM ledger WHERE entry_no = $1", &[&no])
                    .await?;
            } else {
                let (seq, count) = (
                    chunk.iter().filter_map(|(s, _)| *s).max().map(i),
                    chunk.len(),
                );
                tx.execute(
                    "UPDATE ledger SET entries = $2, seq = $3, entry_count = $4 WHERE entry_no = $1",
                    &[&no, &to_json(&chunk)?, &seq, &i32::try_from(count).unwrap_or(i32::MAX)],
                )
                .await?;
            }
        }
        tx.execute(
            "DELETE FROM dead_letters WHERE terminal_id = $1 AND seq > $2",
            &[&t, &k],
        )
        .await?;
        tx.execute("UPDATE members SET account = NULL, tier = NULL", &[])
            .await?;
        tx.execute(
            "DELETE FROM sales WHERE terminal_id = $1 AND seq > $2",
            &[&t, &k],
        )
        .await?;
        tx.execute(
            "DELETE FROM refunds WHERE terminal_id = $1 AND seq > $2",
            &[&t, &k],
        )
        .await?;
        tx.execute(
            "UPDATE terminals SET acked_seq = $2 WHERE terminal_id = $1",
            &[&t, &k],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The figures' rows, inside one repeatable-read transaction.
async fn figure_rows<C: GenericClient>(c: &C, q: &FigureQuery) -> StoreResult<FigureRows> {
    let mut rows = FigureRows::default();
    // Members whose summary is there and whose points have not started to
    // expire are summed here; the others are folded by the caller.
    let summed = "tier IS NOT NULL AND (points_min_expiry_ms IS NULL OR points_min_expiry_ms > $1)";
    rows.tiers = c
        .query(
            &format!(
                "SELECT tier, count(*) FROM members WHERE {summed} AND erased_at IS NULL
                 GROUP BY tier ORDER BY tier"
            ),
            &[&q.now_ms],
        )
        .await?
        .iter()
        .map(|r| (r.get::<_, i64>(0), u(r.get(1))))
        .collect();
    let r = c
        .query_one(
            &format!(
                "SELECT coalesce(sum(sv_principal), 0)::text, coalesce(sum(sv_bonus), 0)::text,
                    coalesce(sum(points_positive + points_debt), 0)::text FROM members WHERE {summed}"
            ),
            &[&q.now_ms],
        )
        .await?;
    (rows.sv_principal, rows.sv_bonus, rows.points) =
        (exact_sum(&r, 0)?, exact_sum(&r, 1)?, exact_sum(&r, 2)?);
    let unsummed = c
        .query(
            &format!(
                "SELECT member_id, account, erased_at IS NOT NULL FROM members WHERE NOT ({summed})"
            ),
            &[&q.now_ms],
        )
        .await?;
    for r in unsummed {
        let member = parse_member(&r.get::<_, String>(0))?;
        let account = match r.get::<_, Option<String>>(1) {
            Some(json) => parse_json(&json)?,
            None => {
                MemberAccount::fold(MemberAccount::new(member), &load_entries(c, member).await?)
            }
        };
        rows.accounts.push(AccountRow {
            account,
            erased: r.get(2),
        });
    }
    rows.enrollments = c
        .query(
            "SELECT enrolled_on, count(*) FROM members
             WHERE enrolled_on >= $1 AND enrolled_on <= $2 AND enrolled_at_ms <= $3
             GROUP BY enrolled_on ORDER BY enrolled_on",
            &[&q.first_day, &q.last_day, &q.now_ms],
        )
        .await?
        .iter()
        .map(|r| (r.get::<_, String>(0), u(r.get(1))))
        .collect();
    let r = c
        .query_one(
            "SELECT
                count(*) FILTER (WHERE s.last_ms > $2),
                count(*) FILTER (WHERE s.last_ms <= $2),
                count(*) FILTER (WHERE s.last_ms IS NULL AND (m.enrolled_at_ms IS NULL OR m.enrolled_at_ms <= $2)),
                count(*) FILTER (WHERE s.last_ms IS NULL AND m.enrolled_at_ms > $2)
             FROM members m LEFT JOIN (
                SELECT member_id, max(at_ms) AS last_ms FROM sales
                WHERE member_id IS NOT NULL AND at_ms <= $1 GROUP BY member_id
             ) s ON s.member_id = m.member_id
             WHERE m.erased_at IS NULL AND (m.enrolled_at_ms IS NULL OR m.enrolled_at_ms <= $1)",
            &[&q.now_ms, &q.active_since_ms],
        )
        .await?;
    rows.activity = ActivityRows {
        active: u(r.get(0)),
        lapsed: u(r.get(1)),
        never_purchased_old: u(r.get(2)),
        never_purchased_new: u(r.get(3)),
    };
    let r = c
        .query_one(
            "SELECT
                coalesce(sum(total_fen) FILTER (WHERE member_id IS NOT NULL), 0)::text,
                count(*) FILTER (WHERE member_id IS NOT NULL),
                coalesce(sum(total_fen) FILTER (WHERE member_id IS NULL), 0)::text,
                count(*) FILTER (WHERE member_id IS NULL)
             FROM sales WHERE at_ms > $1 AND at_ms <= $2",
            &[&q.sales_since_ms, &q.now_ms],
        )
        .await?;
    rows.sales = SalesRows {
        member_fen: exact_sum(&r, 0)?,
        member_count: u(r.get(1)),
        walk_in_fen: exact_sum(&r, 2)?,
        walk_in_count: u(r.get(3)),
    };
    let window = "SELECT sale_id FROM refunds WHERE at_ms > $1 AND at_ms <= $2";
    for r in c
        .query(
            &format!(
                "SELECT sale_id, member_id IS NOT NULL, lines FROM sales WHERE sale_id IN ({window})"
            ),
            &[&q.sales_since_ms, &q.now_ms],
        )
        .await?
    {
        rows.refunded_sales.push(RefundedSale {
            sale: parse_source(&r.get::<_, String>(0))?,
            member: r.get(1),
            lines: parse_json(&r.get::<_, String>(2))?,
        });
    }
    for r in c
        .query(
            &format!(
                "SELECT refund_id, sale_id, at_ms, lines FROM refunds WHERE sale_id IN ({window})"
            ),
            &[&q.sales_since_ms, &q.now_ms],
        )
        .await?
    {
        rows.refunds.push(RefundRow {
            refund: parse_source(&r.get::<_, String>(0))?,
            sale: parse_source(&r.get::<_, String>(1))?,
            at_ms: r.get(2),
            lines: parse_json(&r.get::<_, String>(3))?,
        });
    }
    let r = c
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE n >= 2) FROM (
                SELECT member_id, count(*) AS n FROM sales
                WHERE member_id IS NOT NULL AND at_ms > $1 AND at_ms <= $2 GROUP BY member_id) b",
            &[&q.sales_since_ms, &q.now_ms],
        )
        .await?;
    (rows.buyers, rows.repeat_buyers) = (u(r.get(0)), u(r.get(1)));
    rows.terminals = terminal_rows(c).await?;
    let shown = i64::try_from(CONFLICTS_SHOWN).unwrap_or(i64::MAX);
    for r in c
        .query(
            "SELECT member_id, kind, reason, terminal_id, seq, at FROM conflicts
             ORDER BY conflict_no DESC LIMIT $1",
            &[&shown],
        )
        .await?
    {
        rows.conflicts.push(ConflictItem {
            member_id: parse_member(&r.get::<_, String>(0))?,
            kind: r.get(1),
            reason: r.get(2),
            terminal_id: r
                .get::<_, Option<String>>(3)
                .as_deref()
                .map(parse_terminal)
                .transpose()?,
            seq: r.get::<_, Option<i64>>(4).map(u),
            at: r.get(5),
        });
    }
    rows.conflicts_total = u(c
        .query_one("SELECT count(*) FROM conflicts", &[])
        .await?
        .get(0));
    Ok(rows)
}

async fn terminal_rows<C: GenericClient>(c: &C) -> StoreResult<Vec<TerminalRow>> {
    q(
        c,
        "SELECT terminal_id, store, acked_seq, last_batch_at_ms, outbox_head_seq, revoked
         FROM terminals ORDER BY store, terminal_id",
        &[],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(TerminalRow {
            terminal_id: parse_terminal(&r.get::<_, String>(0))?,
            store: r.get(1),
            acked_seq: u(r.get(2)),
            last_batch_at_ms: r.get(3),
            outbox_head_seq: r.get::<_, Option<i64>>(4).map(u),
            revoked: r.get(5),
        })
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_budget_leaves_half_the_servers_lock_table_to_others() {
        // PostgreSQL's defaults: 64 locks per transaction x 100 connections.
        let budget = key_lock_budget(6_400, 16);
        assert_eq!(budget, 160);
        // The pool's batches at the budget, each with its other locks, fill
        // at most half of the table, whatever the pool's size.
        for pool in [1, 4, 6, 16, 32] {
            let budget = key_lock_budget(6_400, pool);
            assert!(pool * (budget + OTHER_LOCKS_PER_BATCH) <= 6_400 / 2);
        }
        assert_eq!(key_lock_budget(6_400, 6), 493);
        // A bigger table, a bigger budget; a tiny one leaves none (every
        // batch with a member then takes the wide lock).
        assert_eq!(key_lock_budget(128 * 400, 16), 1_560);
        assert_eq!(key_lock_budget(640, 16), 0);
        assert_eq!(key_lock_budget(-1, 16), 0);
    }

    /// The `$n` a statement names, each once.
    fn named_parameters(sql: &str) -> BTreeSet<usize> {
        sql.split('$')
            .skip(1)
            .filter_map(|rest| {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().ok()
            })
            .collect()
    }

    #[test]
    fn every_shape_of_batch_statement_names_each_of_its_parameters() {
        let id = IdText(Uuid::nil());
        // Events, dead letters, chunks, sales, refunds, conflicts, members,
        // enrollments, changes: each present or not.
        for shape in 0u32..512 {
            let has = |part: u32| shape & (1 << part) != 0;
            let mut c = Columns::default();
            if has(0) {
                c.event_seqs.push(1);
            }
            if has(1) {
                c.dead_seqs.push(2);
            }
            if has(2) {
                c.chunk_members.push(id);
            }
            if has(3) {
                c.sale_ids.push(id);
            }
            if has(4) {
                c.refund_ids.push(id);
            }
            if has(5) {
                c.conflict_members.push(id);
            }
            if has(6) {
                c.member_ids.push(id);
            }
            if has(7) {
                c.member_enrolled_ms.push(Some(0));
            }
            if has(8) {
                c.changed.push(id);
            }
            let (sql, params) = batch_statement(&c);
            let named = named_parameters(&sql);
            assert_eq!(
                named,
                (1..=params.len()).collect::<BTreeSet<_>>(),
                "shape {shape:09b}: {sql}"
            );
            for (part, table) in [
                (0, "INSERT INTO events"),
                (1, "INSERT INTO dead_letters"),
                (2, "INSERT INTO ledger"),
                (3, "INSERT INTO sales"),
                (4, "INSERT INTO refunds"),
                (5, "INSERT INTO conflicts"),
                (6, "INSERT INTO members"),
                (8, "INSERT INTO changes"),
            ] {
                assert_eq!(sql.contains(table), has(part), "shape {shape:09b}: {sql}");
            }
            assert_eq!(
                sql.contains("enrolled_on"),
                has(6) && has(7),
                "shape {shape:09b}: {sql}"
            );
            assert!(sql.contains("UPDATE terminals SET acked_seq"));
        }
    }
}
