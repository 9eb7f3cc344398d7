//! A plan's rows as the arrays the batch's write statement takes
//! ([`Columns`]), and the two parameter types that write ids and JSON
//! straight into PostgreSQL's request buffer ([`IdText`], [`JsonText`]),
//! without a `String` per row.

use std::collections::{BTreeMap, BTreeSet};

use bytes::{BufMut as _, BytesMut};
use tillcard_protocol::wire::TerminalId;
use tillcard_rules::MemberAccount;
use tillcard_rules::ids::{MemberId, Timestamp};
use tillcard_rules::ledger::LedgerEntry;
use tillcard_rules::refund::RefundLine;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use uuid::Uuid;

use crate::figures::{MemberSummary, millis};
use crate::ingest::Plan;
use crate::store::walk_in_returns::{joined_lines, joined_terminals};
use crate::store::{StoreResult, to_sql_int};

/// A walk-in sale returned twice as the batch writes it: sale, sold at,
/// returned at, lines, seq (`store::walk_in_returns`).
pub(crate) type WalkInRow = (String, String, String, String, i64);

/// An id sent as PostgreSQL text (hyphenated, lower case: its `Display`)
/// written straight into the request, without a `String` per row.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IdText(pub(crate) Uuid);

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
pub(crate) struct JsonText<T>(pub(crate) T);

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
/// where the plan holds text already. Its fields are read by the batch's
/// statements and filled by the statement's unit test (the type itself is
/// private to the backend).
#[derive(Default)]
pub(crate) struct Columns<'p> {
    pub(crate) tid: String,
    pub(crate) now_s: String,
    pub(crate) now_ms: Option<i64>,
    pub(crate) acked: i64,
    pub(crate) outbox_head: Option<i64>,
    pub(crate) app_version: Option<&'p str>,
    pub(crate) event_seqs: Vec<i64>,
    pub(crate) event_ids: Vec<IdText>,
    pub(crate) event_hashes: Vec<&'p str>,
    pub(crate) event_kinds: Vec<&'p str>,
    pub(crate) event_status: Vec<&'static str>,
    pub(crate) dead_seqs: Vec<i64>,
    pub(crate) dead_ids: Vec<IdText>,
    pub(crate) dead_reasons: Vec<String>,
    pub(crate) dead_bodies: Vec<&'p str>,
    pub(crate) dead_wall_times: Vec<String>,
    pub(crate) dead_schema_versions: Vec<i32>,
    pub(crate) dead_assignees: Vec<Option<&'p str>>,
    pub(crate) member_ids: Vec<IdText>,
    pub(crate) member_stores: Vec<Option<&'p str>>,
    pub(crate) member_seen: Vec<Option<String>>,
    pub(crate) member_accounts: Vec<Option<JsonText<&'p MemberAccount>>>,
    pub(crate) member_sums: [Vec<Option<i64>>; 6],
    pub(crate) member_enrollments: [Vec<Option<String>>; 10],
    pub(crate) member_enrolled_ms: Vec<Option<i64>>,
    pub(crate) member_birthday_months: Vec<Option<i16>>,
    pub(crate) key_members: Vec<IdText>,
    pub(crate) key_versions: Vec<i64>,
    pub(crate) key_wrapped: Vec<&'p str>,
    pub(crate) member_enrolled_on: Vec<Option<String>>,
    pub(crate) chunk_members: Vec<IdText>,
    pub(crate) chunk_seqs: Vec<i64>,
    pub(crate) chunk_counts: Vec<i32>,
    pub(crate) chunk_entries: Vec<JsonText<Vec<(u64, &'p LedgerEntry)>>>,
    pub(crate) account_ids: Vec<IdText>,
    pub(crate) account_json: Vec<JsonText<&'p MemberAccount>>,
    pub(crate) account_sums: [Vec<i64>; 5],
    pub(crate) account_expiry: Vec<Option<i64>>,
    pub(crate) sale_ids: Vec<IdText>,
    pub(crate) sale_seqs: Vec<i64>,
    pub(crate) sale_members: Vec<Option<IdText>>,
    pub(crate) sale_at: Vec<i64>,
    pub(crate) sale_totals: Vec<i64>,
    pub(crate) sale_lines: Vec<JsonText<&'p Vec<(i64, i64)>>>,
    pub(crate) sale_payments: Vec<Option<&'p str>>,
    pub(crate) refund_ids: Vec<IdText>,
    pub(crate) refund_sales: Vec<IdText>,
    pub(crate) refund_seqs: Vec<i64>,
    pub(crate) refund_at: Vec<i64>,
    pub(crate) refund_lines: Vec<JsonText<&'p Vec<RefundLine>>>,
    pub(crate) refund_tenders: Vec<Option<&'p str>>,
    pub(crate) shift_ids: Vec<String>,
    pub(crate) shift_seqs: Vec<i64>,
    pub(crate) shift_at: Vec<i64>,
    pub(crate) shift_by: Vec<&'p str>,
    pub(crate) shift_reports: Vec<&'p str>,
    pub(crate) conflict_members: Vec<IdText>,
    pub(crate) conflict_kinds: Vec<&'p str>,
    pub(crate) conflict_reasons: Vec<&'p str>,
    pub(crate) conflict_seqs: Vec<i64>,
    /// Walk-in sales returned twice (rare: a statement each, in the write
    /// flight): sale, sold at, returned at, lines, seq.
    pub(crate) walk_ins: Vec<WalkInRow>,
    pub(crate) erased: Vec<String>,
    pub(crate) changed: Vec<IdText>,
    /// The uploading store and the day its members are seen on
    /// (`store::scope`).
    pub(crate) store: &'p str,
    pub(crate) scope_day: String,
    /// Whether the batch carried its terminal's audit chain (the audit
    /// columns are written only then).
    pub(crate) audit_set: bool,
    pub(crate) audit_head_n: Option<i64>,
    pub(crate) audit_head_mac: Option<&'p str>,
    pub(crate) audit_broken_at: Option<i64>,
    pub(crate) flag_reasons: Vec<&'p str>,
}

impl<'p> Columns<'p> {
    /// The arrays of `plan`, a batch of `terminal` applied at `now`.
    pub(crate) fn of(
        terminal: TerminalId,
        plan: &'p Plan,
        now: Timestamp,
    ) -> StoreResult<Columns<'p>> {
        // Enrollment columns beside every member the batch saw (null for
        // those it did not enroll).
        let mut member_enrollments: [Vec<Option<String>>; 10] = Default::default();
        let enrolled_by = terminal.to_string();
        for m in plan.members.values() {
            let row = match &m.enrollment {
                Some(n) => [
                    n.masked_name.clone(),
                    Some(n.masked_phone.clone()),
                    n.sealed.phone.clone(),
                    n.sealed.name.clone(),
                    Some(n.phone_key.clone()),
                    n.sealed.birthday.clone(),
                    Some(n.consent_at.clone()),
                    n.referrer.map(|r| r.to_string()),
                    m.duplicate_of.map(|d| d.to_string()),
                    Some(enrolled_by.clone()),
                ],
                None => Default::default(),
            };
            for (column, value) in member_enrollments.iter_mut().zip(row) {
                column.push(value);
            }
        }
        // The wrapped data key of each member the batch enrolled
        // (`member_keys`).
        let enrolled_keys: Vec<(&MemberId, i64, &str)> = plan
            .members
            .iter()
            .filter_map(|(m, row)| {
                let n = row.enrollment.as_ref()?;
                Some((m, n.sealed.key_version, n.sealed.wrapped_dek.as_deref()?))
            })
            .collect();
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
            // A re-applied event is not a batch from the terminal: its
            // last batch time stays.
            now_ms: (!plan.reapplied).then(|| millis(now)),
            acked: to_sql_int(plan.acked_seq),
            outbox_head: plan.outbox_head_seq.map(to_sql_int),
            app_version: plan.app_version.as_deref(),
            audit_set: plan.audit.is_some(),
            audit_head_n: plan
                .audit
                .as_ref()
                .and_then(|a| a.held.head.as_ref())
                .map(|(n, _)| to_sql_int(*n)),
            audit_head_mac: plan
                .audit
                .as_ref()
                .and_then(|a| a.held.head.as_ref())
                .map(|(_, mac)| mac.as_str()),
            audit_broken_at: plan
                .audit
                .as_ref()
                .and_then(|a| a.held.broken_at)
                .map(to_sql_int),
            flag_reasons: plan
                .audit
                .iter()
                .flat_map(|a| &a.flags)
                .map(|f| f.reason.as_str())
                // A rolled-back terminal's renumbering (`ingest::epoch`).
                .chain(plan.epoch_opened.iter().map(|o| o.reason.as_str()))
                .collect(),
            event_seqs: plan.events.iter().map(|e| to_sql_int(e.seq)).collect(),
            event_ids: plan.events.iter().map(|e| IdText(e.event_id)).collect(),
            event_hashes: plan.events.iter().map(|e| e.hash.as_str()).collect(),
            event_kinds: plan.events.iter().map(|e| e.kind).collect(),
            event_status: plan.events.iter().map(|e| e.status.as_str()).collect(),
            dead_seqs: plan.dead.iter().map(|d| to_sql_int(d.seq)).collect(),
            dead_ids: plan.dead.iter().map(|d| IdText(d.event_id)).collect(),
            dead_reasons: plan.dead.iter().map(|d| d.reason.stored()).collect(),
            dead_bodies: plan.dead.iter().map(|d| d.body.as_str()).collect(),
            dead_wall_times: plan.dead.iter().map(|d| d.wall_time.to_rfc3339()).collect(),
            dead_schema_versions: plan
                .dead
                .iter()
                .map(|d| i32::from(d.schema_version))
                .collect(),
            dead_assignees: plan.dead.iter().map(|d| d.assignee.as_deref()).collect(),
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
            member_birthday_months: plan
                .members
                .values()
                .map(|m| {
                    m.enrollment
                        .as_ref()
                        .and_then(|n| n.birthday_month)
                        .map(i16::from)
                })
                .collect(),
            key_members: enrolled_keys.iter().map(|(m, _, _)| id(m)).collect(),
            key_versions: enrolled_keys.iter().map(|(_, v, _)| *v).collect(),
            key_wrapped: enrolled_keys.iter().map(|(_, _, w)| *w).collect(),
            member_enrolled_on: plan
                .members
                .values()
                .map(|m| m.enrolled_at.map(|at| at.date_naive().to_string()))
                .collect(),
            chunk_members: chunks.keys().map(id).collect(),
            chunk_seqs: chunks
                .values()
                .map(|c| c.iter().map(|(s, _)| to_sql_int(*s)).max().unwrap_or(0))
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
            sale_seqs: plan.sales.iter().map(|s| to_sql_int(s.seq)).collect(),
            sale_members: plan
                .sales
                .iter()
                .map(|s| s.member.as_ref().map(id))
                .collect(),
            sale_at: plan.sales.iter().map(|s| millis(s.at)).collect(),
            sale_totals: plan.sales.iter().map(|s| s.total_fen).collect(),
            sale_lines: plan.sales.iter().map(|s| JsonText(&s.lines)).collect(),
            sale_payments: plan.sales.iter().map(|s| s.payment.as_deref()).collect(),
            refund_ids: plan.refunds.iter().map(|r| IdText(r.refund.0)).collect(),
            refund_sales: plan.refunds.iter().map(|r| IdText(r.sale.0)).collect(),
            refund_seqs: plan.refunds.iter().map(|r| to_sql_int(r.seq)).collect(),
            refund_at: plan.refunds.iter().map(|r| millis(r.at)).collect(),
            refund_lines: plan.refunds.iter().map(|r| JsonText(&r.lines)).collect(),
            refund_tenders: plan.refunds.iter().map(|r| r.tenders.as_deref()).collect(),
            shift_ids: plan
                .shift_closes
                .iter()
                .map(|c| c.shift.to_string())
                .collect(),
            shift_seqs: plan
                .shift_closes
                .iter()
                .map(|c| to_sql_int(c.seq))
                .collect(),
            shift_at: plan.shift_closes.iter().map(|c| millis(c.at)).collect(),
            shift_by: plan
                .shift_closes
                .iter()
                .map(|c| c.closed_by.as_str())
                .collect(),
            shift_reports: plan
                .shift_closes
                .iter()
                .map(|c| c.report.as_str())
                .collect(),
            conflict_members: plan.conflicts.iter().map(|k| id(&k.member)).collect(),
            conflict_kinds: plan.conflicts.iter().map(|k| k.kind.as_str()).collect(),
            conflict_reasons: plan.conflicts.iter().map(|k| k.reason.as_str()).collect(),
            conflict_seqs: plan.conflicts.iter().map(|k| to_sql_int(k.seq)).collect(),
            walk_ins: plan
                .walk_in_returns
                .iter()
                .map(|w| {
                    (
                        w.sale.0.to_string(),
                        w.sold_at.to_string(),
                        joined_terminals(&w.returned_at),
                        joined_lines(&w.lines),
                        to_sql_int(w.seq),
                    )
                })
                .collect(),
            erased: plan.erasures.iter().map(ToString::to_string).collect(),
            changed: changed.iter().map(id).collect(),
            store: &plan.store,
            scope_day: crate::store::scope::scope_day(now),
        })
    }
}
