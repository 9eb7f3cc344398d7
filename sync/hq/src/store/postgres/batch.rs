//! The upload path on PostgreSQL: a batch's transaction on a pooled
//! connection ([`BatchTransaction`]), what it loads for planning ([`load`],
//! one pipelined flight with BEGIN), and how it writes the plan and commits
//! ([`write_and_commit`], one more flight). The write statement and the
//! arrays it takes are in `batch/statement.rs` and `batch/columns.rs`.
//!
//! The upload path. A batch costs five round trips whatever its size:
//! BEGIN and every read of `load` in one pipelined flight; every write of
//! `write_and_commit` and COMMIT in another (and, before the transaction,
//! the signature check's terminal lookup); one more when a member of the
//! batch has no cached fold and is folded from its ledger. tokio-postgres
//! sends requests in the order their futures are first polled, and
//! `try_join_all` polls them in list order, so the server runs each flight's
//! statements one after the other exactly as listed (a statement that fails
//! aborts the transaction: the COMMIT behind it rolls back). Statements are prepared once per connection
//! (the pool's statement cache) and each writes all of its rows from arrays.
//!
//! Locks: see `locks.rs` (the terminal's row first, then the members' and
//! phones' advisory locks or the wide lock).

mod columns;
mod statement;

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;

use futures_util::future::try_join_all;
use tillcard_protocol::wire::TerminalId;
use tillcard_rules::MemberAccount;
use tillcard_rules::ids::{MemberId, Timestamp};
use tillcard_rules::ledger::LedgerEntry;

use super::locks::{LOCK_KEYS, LOCK_WIDE, lock_keys};
use super::rows::ledger_entries_of_chunk;
use super::sql::Param;
use crate::ingest::{self, BatchRefusal, LastSeen, Loaded, Plan, Prepared};
use crate::store::review::{Reapplied, reapply_audit};
use crate::store::{
    AuditEntry, StoreError, StoreResult, TerminalRecord, from_sql_int, parse_json, parse_member,
    parse_source, parse_terminal, to_sql_int,
};
pub(crate) use columns::{Columns, IdText};
pub(crate) use statement::batch_statement;

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
        set_config('enable_seqscan', 'off', true),
        audit_head_n, audit_head_mac, audit_broken_at
     FROM terminals WHERE terminal_id = $1 FOR UPDATE";

// The seqs already stored between the batch's lowest and highest (with
// their hashes: one range of the primary key rather than a probe per seq),
// then every seq stored above the ack (read again: unchanged, the row is
// locked by now).
const STORED_EVENTS: &str =
    "SELECT seq, content_hash FROM events WHERE terminal_id = $1 AND seq BETWEEN $2 AND $3
     UNION ALL
     SELECT seq, NULL FROM events WHERE terminal_id = $1
        AND seq > (SELECT acked_seq FROM terminals WHERE terminal_id = $1)";
// The terminal's outbox epochs (`ingest::epoch`): the highest seq held,
// the batch's event ids already stored under any seq, the current epoch.
const EPOCH_STATE: &str =
    "SELECT 'held'::text, max(seq), NULL::text FROM events WHERE terminal_id = $1
     UNION ALL
     SELECT 'id', seq, event_id FROM events WHERE terminal_id = $1 AND event_id = ANY($2)
     UNION ALL
     (SELECT 'epoch', epoch, first_seq::text FROM terminal_epochs WHERE terminal_id = $1
      ORDER BY epoch DESC LIMIT 1)";
const BATCH_MEMBERS: &str =
    "SELECT member_id, account, last_store, last_seen_at FROM members WHERE member_id = ANY($1)";
const PHONE_OWNERS: &str = "SELECT phone_key, member_id FROM members
     WHERE phone_key = ANY($1) AND duplicate_of IS NULL";
// The ledger of members with no cached fold (new members, members refolded
// after a job or a restore, members with entries but no row).
const UNCACHED_LEDGER: &str = "SELECT member_id, entries FROM ledger WHERE member_id = ANY($1)
     ORDER BY member_id, entry_no";

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

/// Prepares statements (each once per connection), all at once.
async fn prepare_all(
    tx: &deadpool_postgres::ClientWrapper,
    sqls: &[&str],
) -> StoreResult<Vec<tokio_postgres::Statement>> {
    Ok(try_join_all(sqls.iter().map(|sql| tx.prepare_cached(sql))).await?)
}

// Reopens a dead-lettered event for its re-apply: its open dead letter
// and its dead `events` row deleted (the content hash and the assignee
// kept); no row when either was not there (the transaction is then rolled
// back).
const REOPEN: &str = "WITH dl AS (DELETE FROM dead_letters
        WHERE terminal_id = $1 AND seq = $2 AND state = 'open' RETURNING assignee),
     ev AS (DELETE FROM events
        WHERE terminal_id = $1 AND seq = $2 AND status = 'dead' RETURNING content_hash)
     SELECT ev.content_hash, dl.assignee FROM ev CROSS JOIN dl";

/// A dead-lettered event reopened: its stored content hash and who had its
/// dead letter.
type Reopened = (String, Option<String>);

/// BEGIN, the batch's locks and every read its plan needs, in one
/// pipelined flight (one more for members whose fold is read from their
/// ledger). With `reopen`, a re-apply: right after the terminal's lock, the
/// event of that seq is reopened ([`REOPEN`]); `None` beside the loaded
/// state when it was not dead-lettered and open.
async fn load(
    tx: &deadpool_postgres::ClientWrapper,
    terminal: TerminalId,
    prepared: &Prepared,
    key_lock_budget: usize,
    reopen: Option<u64>,
) -> StoreResult<(Loaded, Option<Reopened>)> {
    let tid = terminal.to_string();
    let seqs: BTreeSet<u64> = prepared.seqs().into_iter().collect();
    let lowest = seqs.first().copied().map_or(0, to_sql_int);
    let highest = seqs.last().copied().map_or(-1, to_sql_int);
    let members: Vec<MemberId> = prepared.member_ids().into_iter().collect();
    let ids: Vec<String> = members.iter().map(ToString::to_string).collect();
    let keys = prepared.phone_keys();
    let locks = lock_keys(&members, &keys);
    let wide = locks.len() > key_lock_budget;
    let reopen_seq = reopen.map(to_sql_int);
    let mut sqls = vec![
        LOCK_TERMINAL,
        if wide { LOCK_WIDE } else { LOCK_KEYS },
        STORED_EVENTS,
        BATCH_MEMBERS,
        REOPEN,
        EPOCH_STATE,
    ];
    if !keys.is_empty() {
        sqls.push(PHONE_OWNERS);
    }
    let event_ids: Vec<String> = prepared
        .events
        .iter()
        .map(|e| e.event_id.to_string())
        .collect();
    let st = prepare_all(tx, &sqls).await?;
    let mut flight = vec![command_in(tx, "BEGIN"), query_in(tx, &st[0], vec![&tid])];
    if let Some(seq) = &reopen_seq {
        flight.push(query_in(tx, &st[4], vec![&tid, seq]));
    }
    flight.extend([
        if wide {
            query_in(tx, &st[1], vec![])
        } else {
            query_in(tx, &st[1], vec![&locks])
        },
        query_in(tx, &st[2], vec![&tid, &lowest, &highest]),
        query_in(tx, &st[3], vec![&ids]),
        query_in(tx, &st[5], vec![&tid, &event_ids]),
    ]);
    if !keys.is_empty() {
        flight.push(query_in(tx, &st[6], vec![&keys]));
    }
    let mut results = try_join_all(flight).await?.into_iter().skip(1);
    let mut next = || {
        results
            .next()
            .ok_or_else(|| StoreError::Corrupt("load flight".into()))
    };
    let lock = next()?;
    let reopened = match reopen {
        Some(_) => next()?
            .first()
            .map(|r| (r.get::<_, String>(0), r.get::<_, Option<String>>(1))),
        None => None,
    };
    let _locked = next()?;
    let stored = next()?;
    let member_rows = next()?;
    let epoch_rows = next()?;
    let owners = if keys.is_empty() { Vec::new() } else { next()? };
    let terminal_row = lock
        .first()
        .ok_or_else(|| StoreError::Corrupt("terminal row missing".into()))?;
    let acked: i64 = terminal_row.get(0);
    let audit_head = match (
        terminal_row.get::<_, Option<i64>>(3),
        terminal_row.get::<_, Option<String>>(4),
    ) {
        (Some(n), Some(mac)) => Some((from_sql_int(n), mac)),
        _ => None,
    };
    let mut loaded = Loaded {
        acked_seq: from_sql_int(acked),
        audit: ingest::audit::AuditHeld {
            head: audit_head,
            broken_at: terminal_row.get::<_, Option<i64>>(5).map(from_sql_int),
        },
        ..Loaded::default()
    };
    for r in &stored {
        match r.get::<_, Option<String>>(1) {
            Some(hash) if seqs.contains(&from_sql_int(r.get(0))) => {
                loaded.existing.insert(from_sql_int(r.get(0)), hash);
            }
            Some(_) => {}
            None => {
                loaded.stored_above_ack.insert(from_sql_int(r.get(0)));
            }
        }
    }
    for r in &epoch_rows {
        let value = r.get::<_, Option<i64>>(1).map(from_sql_int);
        match (r.get::<_, &str>(0), value) {
            ("held", Some(held)) => loaded.held_seq = held,
            ("id", Some(seq)) => {
                let id = uuid::Uuid::parse_str(&r.get::<_, String>(2))
                    .map_err(|e| StoreError::Corrupt(format!("event id: {e}")))?;
                loaded.stored_ids.insert(id, seq);
            }
            ("epoch", Some(n)) => {
                let first_seq = r
                    .get::<_, Option<String>>(2)
                    .and_then(|t| t.parse::<u64>().ok())
                    .ok_or_else(|| StoreError::Corrupt("epoch first seq".into()))?;
                loaded.epoch = Some(tillcard_protocol::wire::OutboxEpoch { n, first_seq });
            }
            _ => {}
        }
    }
    for r in &member_rows {
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
    for r in &owners {
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
                .extend(ledger_entries_of_chunk(&r.get::<_, String>(1))?);
        }
    }
    for member in uncached {
        let entries = by_member.remove(&member.to_string()).unwrap_or_default();
        loaded.accounts.insert(
            member,
            MemberAccount::fold(MemberAccount::new(member), &entries),
        );
    }
    load_returns(tx, terminal, prepared, &mut loaded).await?;
    Ok((loaded, reopened))
}

// The sales a batch sells or refunds as held, and their refunds
// (`ingest::returns`). Read after the batch's locks: a refund books for
// its sale's member, whose lock serializes two terminals' returns of one
// member's sale.
const HELD_SALES: &str =
    "SELECT sale_id, terminal_id, member_id, lines FROM sales WHERE sale_id = ANY($1)";
const HELD_REFUNDS: &str =
    "SELECT sale_id, terminal_id, lines FROM refunds WHERE sale_id = ANY($1)";

/// [`HELD_SALES`] and [`HELD_REFUNDS`] for the batch's sales, in one more
/// flight, only for a batch that sells or refunds.
async fn load_returns(
    tx: &deadpool_postgres::ClientWrapper,
    terminal: TerminalId,
    prepared: &Prepared,
    loaded: &mut Loaded,
) -> StoreResult<()> {
    loaded.returns.uploader = Some(terminal);
    let sales: Vec<String> = ingest::returns::sale_ids(prepared)
        .iter()
        .map(|s| s.0.to_string())
        .collect();
    if sales.is_empty() {
        return Ok(());
    }
    let st = prepare_all(tx, &[HELD_SALES, HELD_REFUNDS]).await?;
    let (sale_rows, refund_rows) =
        futures_util::future::try_join(tx.query(&st[0], &[&sales]), tx.query(&st[1], &[&sales]))
            .await?;
    for r in &sale_rows {
        let lines: Vec<(i64, i64)> = parse_json(&r.get::<_, String>(3))?;
        loaded.returns.sales.insert(
            parse_source(&r.get::<_, String>(0))?,
            ingest::returns::HeldSale {
                terminal: parse_terminal(&r.get::<_, String>(1))?,
                member: r
                    .get::<_, Option<String>>(2)
                    .as_deref()
                    .map(parse_member)
                    .transpose()?,
                quantities: lines.into_iter().map(|(q, _)| q).collect(),
            },
        );
    }
    for r in &refund_rows {
        loaded
            .returns
            .refunds
            .entry(parse_source(&r.get::<_, String>(0))?)
            .or_default()
            .push(ingest::returns::HeldRefund {
                terminal: parse_terminal(&r.get::<_, String>(1))?,
                lines: parse_json(&r.get::<_, String>(2))?,
            });
    }
    Ok(())
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
/// Its data key goes with it (crypto-shred).
const ERASE_MEMBER: &str = "WITH shredded AS (DELETE FROM member_keys WHERE member_id = $1)
     INSERT INTO members (member_id, erased_at) VALUES ($1, $2)
     ON CONFLICT (member_id) DO UPDATE SET masked_name = NULL, masked_phone = NULL,
        phone_ct = NULL, name_ct = NULL, phone_key = NULL, birthday_ct = NULL,
        birthday_month = NULL, erased_at = EXCLUDED.erased_at";
const ERASE_DEAD_LETTERS: &str =
    "UPDATE dead_letters SET body = NULL WHERE body LIKE '%' || $1 || '%'";
const PUSH_CHANGE: &str = "INSERT INTO changes (kind, member_id, payload) VALUES ($1, $2, $3)";
// The epoch a rolled-back terminal opens (`ingest::epoch`); its flag goes
// with the batch statement's.
const OPEN_EPOCH: &str =
    "INSERT INTO terminal_epochs (terminal_id, epoch, first_seq, held_seq, opened_at)
     VALUES ($1, $2, $3, $4, $5)";
// A re-apply's audit row.
const AUDIT: &str =
    "INSERT INTO audit (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)";

/// Writes a plan and commits: one statement for what every batch writes,
/// then the rarer ones, then COMMIT, all in one pipelined flight. Should a
/// statement fail, the server turns the COMMIT queued behind it into a
/// rollback.
async fn write_and_commit(
    tx: &deadpool_postgres::ClientWrapper,
    c: &Columns<'_>,
    audit: Option<&AuditEntry>,
    opened: Option<&ingest::epoch::EpochOpened>,
) -> StoreResult<()> {
    let epoch = opened.map(|o| {
        (
            to_sql_int(o.epoch.n),
            to_sql_int(o.epoch.first_seq),
            to_sql_int(o.held_seq),
        )
    });
    let accounts = !c.account_ids.is_empty();
    let erasures = !c.erased.is_empty();
    let walk_ins = !c.walk_ins.is_empty();
    let (batch_sql, batch_params) = batch_statement(c);
    let sqls: Vec<&str> = [
        (true, batch_sql.as_str()),
        (accounts, UPDATE_ACCOUNTS),
        (erasures, ERASE_MEMBER),
        (erasures, ERASE_DEAD_LETTERS),
        (erasures, PUSH_CHANGE),
        (audit.is_some(), AUDIT),
        (epoch.is_some(), OPEN_EPOCH),
        (walk_ins, crate::store::walk_in_returns::INSERT_SQL),
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
    let mut flight = Vec::with_capacity(sqls.len() + 3 * c.erased.len() + c.walk_ins.len());
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
    if let Some(entry) = audit {
        flight.push(execute_in(
            tx,
            next()?,
            vec![
                &entry.at,
                &entry.actor,
                &entry.action,
                &entry.subject,
                &entry.detail,
            ],
        ));
    }
    if let Some((n, first_seq, held)) = &epoch {
        flight.push(execute_in(
            tx,
            next()?,
            vec![&c.tid, n, first_seq, held, &c.now_s],
        ));
    }
    if walk_ins {
        let insert = next()?;
        for (sale, sold_at, returned_at, lines, seq) in &c.walk_ins {
            flight.push(execute_in(
                tx,
                insert,
                vec![sale, sold_at, returned_at, lines, &c.tid, seq, &c.now_s],
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

/// Applies a prepared batch of `terminal` in one transaction on
/// `connection`: load, plan, write and commit (or roll back a refused
/// batch).
pub(super) async fn ingest_batch(
    connection: deadpool_postgres::Object,
    terminal: &TerminalRecord,
    prepared: Prepared,
    now: Timestamp,
    key_lock_budget: usize,
) -> StoreResult<Result<Plan, BatchRefusal>> {
    let tx = BatchTransaction::new(connection);
    let (loaded, _) = load(
        tx.client()?,
        terminal.terminal_id,
        &prepared,
        key_lock_budget,
        None,
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
    write_and_commit(tx.client()?, &columns, None, plan.epoch_opened.as_ref()).await?;
    tx.committed();
    Ok(Ok(plan))
}

/// Re-applies a dead-lettered event of `terminal` (`prepared`: the one
/// event, rebuilt from its dead letter) on the batch's own transaction:
/// [`load`] reopens it right after the terminal's lock (neither its dead
/// letter nor its dead event row there: rolled back, nothing written), the
/// plan is made and written as a batch's, with the stored content hash and
/// the audit row ([`reapply_audit`]) before COMMIT.
pub(super) async fn reapply_dead_letter(
    connection: deadpool_postgres::Object,
    terminal: &TerminalRecord,
    mut prepared: Prepared,
    now: Timestamp,
    key_lock_budget: usize,
    audit: &AuditEntry,
) -> StoreResult<Reapplied> {
    let Some(seq) = prepared.events.first().map(|e| e.seq) else {
        return Ok(Reapplied::NotDeadLettered);
    };
    let tx = BatchTransaction::new(connection);
    let (loaded, reopened) = load(
        tx.client()?,
        terminal.terminal_id,
        &prepared,
        key_lock_budget,
        Some(seq),
    )
    .await?;
    let Some((hash, assignee)) = reopened else {
        tx.rollback().await?;
        return Ok(Reapplied::NotDeadLettered);
    };
    for event in &mut prepared.events {
        event.hash.clone_from(&hash);
    }
    let mut plan = match ingest::plan(prepared, loaded, &terminal.store) {
        Ok(plan) => plan,
        Err(_) => {
            tx.rollback().await?;
            return Ok(Reapplied::NotDeadLettered);
        }
    };
    plan.reapplied = true;
    for dead in &mut plan.dead {
        dead.assignee.clone_from(&assignee);
    }
    let entry = reapply_audit(audit, &plan);
    let columns = Columns::of(terminal.terminal_id, &plan, now)?;
    write_and_commit(tx.client()?, &columns, Some(&entry), None).await?;
    tx.committed();
    Ok(Reapplied::Planned(Box::new(plan)))
}
