//! The upload path on SQLite: what a batch's transaction loads for
//! planning ([`load`]) and how it writes the plan ([`write`]), with the
//! member reads and writes they share.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use tillcard_protocol::wire::TerminalId;
use tillcard_rules::MemberAccount;
use tillcard_rules::ids::{MemberId, Timestamp};
use tillcard_rules::ledger::LedgerEntry;

use crate::figures::{MemberSummary, millis};
use crate::ingest::{self, LastSeen, Loaded, Plan, Prepared};
use crate::store::rows::{columns, member_record_from_row};
use crate::store::scope::{fan_out_sql, scope_day};
use crate::store::walk_in_returns;
use crate::store::{
    MemberRecord, StoreError, StoreResult, from_sql_int, parse_json, parse_member, parse_terminal,
    to_json, to_sql_int,
};

/// A member and their ledger.
pub(super) fn load_member(
    tx: &Connection,
    id: MemberId,
) -> StoreResult<Option<(MemberRecord, Vec<LedgerEntry>)>> {
    let mut stmt = tx.prepare_cached(concat!(
        "SELECT ",
        columns!(member_record),
        " FROM members WHERE member_id = ?1"
    ))?;
    let Some(record) = stmt
        .query_and_then(params![id.to_string()], |row| member_record_from_row(row))?
        .next()
        .transpose()?
    else {
        return Ok(None);
    };
    Ok(Some((record, load_entries(tx, id)?)))
}

/// A member's ledger, in booking order.
pub(super) fn load_entries(tx: &Connection, id: MemberId) -> StoreResult<Vec<LedgerEntry>> {
    let mut stmt =
        tx.prepare_cached("SELECT entry FROM ledger WHERE member_id = ?1 ORDER BY entry_no")?;
    let texts = stmt
        .query_map(params![id.to_string()], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    texts.iter().map(|t| parse_json(t)).collect()
}

/// Appends a change to the downlink log.
pub(super) fn push_change(
    tx: &Connection,
    kind: &str,
    member: Option<MemberId>,
    payload: Option<&str>,
) -> StoreResult<()> {
    // A member's change goes to the stores in their scope.
    if let ("member", Some(member), None) = (kind, member, payload) {
        return push_member_change(tx, member);
    }
    tx.execute(
        "INSERT INTO changes (kind, member_id, payload) VALUES (?1, ?2, ?3)",
        params![kind, member.map(|m| m.to_string()), payload],
    )?;
    Ok(())
}

/// Records `members` as seen at `store` on `day`: in scope from now on
/// (again, if their scope had lapsed).
pub(super) fn see(
    c: &Connection,
    store: &str,
    members: impl IntoIterator<Item = MemberId>,
    day: &str,
) -> StoreResult<()> {
    let mut upsert = c.prepare_cached(
        "INSERT INTO member_scope (member_id, store, seen_on, active) VALUES (?1, ?2, ?3, 1)
         ON CONFLICT (member_id, store) DO UPDATE SET seen_on = excluded.seen_on, active = 1
         WHERE member_scope.seen_on < excluded.seen_on OR NOT member_scope.active",
    )?;
    for member in members {
        upsert.execute(params![member.to_string(), store, day])?;
    }
    Ok(())
}

/// A `member` change for each store in the member's scope (for every
/// terminal if no store has seen them).
fn push_member_change(c: &Connection, member: MemberId) -> StoreResult<()> {
    c.prepare_cached(&fan_out_sql("SELECT ?1 AS member_id"))?
        .execute(params![member.to_string()])?;
    Ok(())
}

/// Erases a member's personal fields and the dead-lettered bodies that
/// mention the member, and logs an erasure; whether the member existed.
pub(super) fn erase(tx: &Connection, id: MemberId, now: Timestamp) -> StoreResult<bool> {
    let member = id.to_string();
    let n = tx.execute(
        "UPDATE members SET masked_name = NULL, masked_phone = NULL, phone_ct = NULL,
            name_ct = NULL, phone_key = NULL, birthday_ct = NULL, birthday_month = NULL,
            erased_at = ?2 WHERE member_id = ?1",
        params![member, now.to_rfc3339()],
    )?;
    // Crypto-shred: without its data key no copy of the ciphertext opens.
    tx.execute(
        "DELETE FROM member_keys WHERE member_id = ?1",
        params![member],
    )?;
    // Dead-lettered bodies may hold the member's sealed or masked data.
    tx.execute(
        "UPDATE dead_letters SET body = NULL WHERE body LIKE '%' || ?1 || '%'",
        params![member],
    )?;
    push_change(tx, "erasure", Some(id), None)?;
    Ok(n > 0)
}

/// What the batch's plan needs, read inside its transaction.
pub(super) fn load(
    tx: &Transaction<'_>,
    terminal: TerminalId,
    prepared: &Prepared,
) -> StoreResult<Loaded> {
    let tid = terminal.to_string();
    let (acked, head_n, head_mac, broken_at): (i64, Option<i64>, Option<String>, Option<i64>) = tx
        .query_row(
            "SELECT acked_seq, audit_head_n, audit_head_mac, audit_broken_at
             FROM terminals WHERE terminal_id = ?1",
            params![tid],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
    let mut loaded = Loaded {
        acked_seq: from_sql_int(acked),
        audit: ingest::audit::AuditHeld {
            head: head_n.zip(head_mac).map(|(n, mac)| (from_sql_int(n), mac)),
            broken_at: broken_at.map(from_sql_int),
        },
        ..Loaded::default()
    };
    {
        let mut stmt = tx.prepare_cached(
            "SELECT content_hash FROM events WHERE terminal_id = ?1 AND seq = ?2",
        )?;
        for seq in prepared.seqs() {
            let seq_i = to_sql_int(seq);
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
            loaded.stored_above_ack.insert(from_sql_int(seq?));
        }
    }
    load_epochs(tx, &tid, prepared, &mut loaded)?;
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
    load_returns(tx, terminal, prepared, &mut loaded)?;
    Ok(loaded)
}

/// The sales the batch sells or refunds as held, with their refunds
/// (`ingest::returns`).
fn load_returns(
    tx: &Transaction<'_>,
    terminal: TerminalId,
    prepared: &Prepared,
    loaded: &mut Loaded,
) -> StoreResult<()> {
    loaded.returns.uploader = Some(terminal);
    let mut sales = tx.prepare_cached(
        "SELECT terminal_id, member_id, lines FROM sales WHERE sale_id = ?1 LIMIT 1",
    )?;
    let mut refunds =
        tx.prepare_cached("SELECT terminal_id, lines FROM refunds WHERE sale_id = ?1")?;
    for sale in ingest::returns::sale_ids(prepared) {
        let id = sale.0.to_string();
        let row = sales
            .query_row(params![id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .optional()?;
        if let Some((terminal, member, lines)) = row {
            let lines: Vec<(i64, i64)> = parse_json(&lines)?;
            loaded.returns.sales.insert(
                sale,
                ingest::returns::HeldSale {
                    terminal: parse_terminal(&terminal)?,
                    member: member.as_deref().map(parse_member).transpose()?,
                    quantities: lines.into_iter().map(|(q, _)| q).collect(),
                },
            );
        }
        let rows = refunds
            .query_map(params![id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        for (terminal, lines) in rows {
            loaded
                .returns
                .refunds
                .entry(sale)
                .or_default()
                .push(ingest::returns::HeldRefund {
                    terminal: parse_terminal(&terminal)?,
                    lines: parse_json(&lines)?,
                });
        }
    }
    Ok(())
}

/// What the plan needs of the terminal's outbox epochs: the highest seq
/// held, the batch's event ids already stored (under any seq), and the
/// current epoch (`ingest::epoch`).
fn load_epochs(
    tx: &Transaction<'_>,
    tid: &str,
    prepared: &Prepared,
    loaded: &mut Loaded,
) -> StoreResult<()> {
    let held: Option<i64> = tx
        .prepare_cached("SELECT max(seq) FROM events WHERE terminal_id = ?1")?
        .query_row(params![tid], |r| r.get(0))?;
    loaded.held_seq = held.map_or(0, from_sql_int);
    let mut stmt =
        tx.prepare_cached("SELECT seq FROM events WHERE terminal_id = ?1 AND event_id = ?2")?;
    for event in &prepared.events {
        if let Some(seq) = stmt
            .query_row(params![tid, event.event_id.to_string()], |r| {
                r.get::<_, i64>(0)
            })
            .optional()?
        {
            loaded.stored_ids.insert(event.event_id, from_sql_int(seq));
        }
    }
    loaded.epoch = tx
        .prepare_cached(
            "SELECT epoch, first_seq FROM terminal_epochs WHERE terminal_id = ?1
             ORDER BY epoch DESC LIMIT 1",
        )?
        .query_row(params![tid], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        })
        .optional()?
        .map(|(n, first_seq)| tillcard_protocol::wire::OutboxEpoch {
            n: from_sql_int(n),
            first_seq: from_sql_int(first_seq),
        });
    Ok(())
}

/// Writes a plan inside the batch's transaction.
pub(super) fn write(
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
                to_sql_int(e.seq),
                e.event_id.to_string(),
                e.hash,
                e.kind,
                e.status.as_str(),
                now_s
            ])?;
        }
        let mut stmt = tx.prepare_cached(
            "INSERT INTO dead_letters (terminal_id, seq, event_id, reason, body, at, wall_time,
                schema_version, assignee)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        for d in &plan.dead {
            stmt.execute(params![
                tid,
                to_sql_int(d.seq),
                d.event_id.to_string(),
                d.reason.stored(),
                d.body,
                now_s,
                d.wall_time.to_rfc3339(),
                d.schema_version,
                d.assignee
            ])?;
        }
        for m in plan.members.values() {
            let id = m.member.to_string();
            tx.execute(
                "INSERT INTO members (member_id) VALUES (?1) ON CONFLICT (member_id) DO NOTHING",
                params![id],
            )?;
            if let Some(n) = &m.enrollment {
                let enrolled = tx.execute(
                    "UPDATE members SET masked_name = ?2, masked_phone = ?3, phone_ct = ?4,
                        name_ct = ?5, phone_key = ?6, birthday_ct = ?7, consent_at = ?8,
                        referrer = ?9, duplicate_of = ?10, birthday_month = ?11, enrolled_by = ?12
                        WHERE member_id = ?1 AND erased_at IS NULL",
                    params![
                        id,
                        n.masked_name,
                        n.masked_phone,
                        n.sealed.phone,
                        n.sealed.name,
                        n.phone_key,
                        n.sealed.birthday,
                        n.consent_at,
                        n.referrer.map(|r| r.to_string()),
                        m.duplicate_of.map(|d| d.to_string()),
                        n.birthday_month,
                        tid,
                    ],
                )?;
                if enrolled > 0 {
                    tx.execute(
                        "INSERT INTO member_keys (member_id, kek_version, wrapped_dek)
                         VALUES (?1, ?2, ?3) ON CONFLICT (member_id) DO UPDATE
                         SET kek_version = excluded.kek_version, wrapped_dek = excluded.wrapped_dek",
                        params![id, n.sealed.key_version, n.sealed.wrapped_dek],
                    )?;
                }
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
                to_sql_int(*seq),
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
            "INSERT INTO sales (terminal_id, sale_id, seq, member_id, at_ms, total_fen, lines,
                payment)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
        )?;
        for sale in &plan.sales {
            stmt.execute(params![
                tid,
                sale.sale.to_string(),
                to_sql_int(sale.seq),
                sale.member.map(|m| m.to_string()),
                millis(sale.at),
                sale.total_fen,
                to_json(&sale.lines)?,
                sale.payment
            ])?;
        }
        let mut stmt = tx.prepare_cached(
            "INSERT INTO refunds (terminal_id, refund_id, sale_id, seq, at_ms, lines, tenders)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
        )?;
        for refund in &plan.refunds {
            stmt.execute(params![
                tid,
                refund.refund.to_string(),
                refund.sale.to_string(),
                to_sql_int(refund.seq),
                millis(refund.at),
                to_json(&refund.lines)?,
                refund.tenders
            ])?;
        }
        let mut stmt = tx.prepare_cached(
            "INSERT INTO shift_closes (terminal_id, shift_id, seq, store, closed_at_ms, closed_by,
                report)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
        )?;
        for close in &plan.shift_closes {
            stmt.execute(params![
                tid,
                close.shift.to_string(),
                to_sql_int(close.seq),
                plan.store,
                millis(close.at),
                close.closed_by,
                close.report
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
                to_sql_int(c.seq),
                now_s
            ])?;
        }
        insert_walk_in_returns(tx, &plan.walk_in_returns, &tid, &now_s)?;
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
    // Every member the batch books for or writes is seen at the
    // uploading store (`store::scope`), before their changes fan out.
    see(tx, &plan.store, changed.iter().copied(), &scope_day(now))?;
    for member in changed {
        push_change(tx, "member", Some(member), None)?;
    }
    // A re-applied event is not a batch from the terminal: its last batch
    // time stays.
    tx.execute(
        "UPDATE terminals SET acked_seq = ?2, last_batch_at_ms = coalesce(?3, last_batch_at_ms),
            outbox_head_seq = coalesce(?4, outbox_head_seq),
            app_version = coalesce(?5, app_version) WHERE terminal_id = ?1",
        params![
            tid,
            to_sql_int(plan.acked_seq),
            (!plan.reapplied).then(|| millis(now)),
            plan.outbox_head_seq.map(to_sql_int),
            plan.app_version
        ],
    )?;
    if let Some(opened) = &plan.epoch_opened {
        // A rolled-back terminal renumbered: its new epoch, and a flag for
        // people (the batch applies all the same).
        tx.execute(
            "INSERT INTO terminal_epochs (terminal_id, epoch, first_seq, held_seq, opened_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                tid,
                to_sql_int(opened.epoch.n),
                to_sql_int(opened.epoch.first_seq),
                to_sql_int(opened.held_seq),
                now_s
            ],
        )?;
        tx.execute(
            "INSERT INTO terminal_flags (terminal_id, reason, at) VALUES (?1, ?2, ?3)",
            params![tid, opened.reason, now_s],
        )?;
    }
    if let Some(audit) = &plan.audit {
        // The terminal's chain as it stands becomes head office's
        // reference (flagged or not), and its flags are raised in the
        // batch's transaction: for people, the batch applies all the same.
        let head = audit.held.head.as_ref();
        tx.execute(
            "UPDATE terminals SET audit_head_n = ?2, audit_head_mac = ?3, audit_broken_at = ?4
             WHERE terminal_id = ?1",
            params![
                tid,
                head.map(|(n, _)| to_sql_int(*n)),
                head.map(|(_, mac)| mac.as_str()),
                audit.held.broken_at.map(to_sql_int)
            ],
        )?;
        for flag in &audit.flags {
            tx.execute(
                "INSERT INTO terminal_flags (terminal_id, reason, at) VALUES (?1, ?2, ?3)",
                params![tid, flag.reason, now_s],
            )?;
        }
    }
    Ok(())
}

/// Writes a batch's walk-in sales returned twice
/// (`store::walk_in_returns`) inside its transaction: `tid` the uploading
/// terminal, `now_s` head office's moment (RFC 3339).
fn insert_walk_in_returns(
    tx: &Connection,
    flags: &[ingest::returns::WalkInReturn],
    tid: &str,
    now_s: &str,
) -> StoreResult<()> {
    if flags.is_empty() {
        return Ok(());
    }
    let mut stmt = tx.prepare_cached(walk_in_returns::INSERT_SQL)?;
    for flag in flags {
        stmt.execute(params![
            flag.sale.0.to_string(),
            flag.sold_at.to_string(),
            walk_in_returns::joined_terminals(&flag.returned_at),
            walk_in_returns::joined_lines(&flag.lines),
            tid,
            to_sql_int(flag.seq),
            now_s
        ])?;
    }
    Ok(())
}
