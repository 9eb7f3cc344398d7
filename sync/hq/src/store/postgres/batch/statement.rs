//! The batch's write statement, composed per batch from the parts its rows
//! need ([`batch_statement`]): data-modifying CTEs over the tables the
//! batch has rows for, then the ack. The text depends only on which parts
//! are present, so each shape is prepared once per connection.

use super::columns::Columns;
use crate::store::postgres::sql::Param;

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
const ENROLLMENT_COLUMNS: [&str; 10] = [
    "masked_name",
    "masked_phone",
    "phone_ct",
    "name_ct",
    "phone_key",
    "birthday_ct",
    "consent_at",
    "referrer",
    "duplicate_of",
    "enrolled_by",
];

/// A batch's writes in one statement, with a part only for the tables it
/// has rows for (a batch of top-ups has no sales, refunds, dead letters or
/// conflicts): each part opens its table and indexes and sets up its own
/// executor nodes, for every batch. The text depends only on which parts
/// are present, so each shape is prepared once per connection.
pub(crate) fn batch_statement<'a>(c: &'a Columns<'a>) -> (String, Vec<Param<'a>>) {
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
        let kept = s.unnest(&[
            (&c.dead_wall_times, "text"),
            (&c.dead_schema_versions, "int"),
            (&c.dead_assignees, "text"),
        ]);
        parts.push(format!(
            "INSERT INTO dead_letters (terminal_id, seq, event_id, reason, body, at, wall_time,
                schema_version, assignee)
             SELECT {tid}, {rows}, {now}, {kept}"
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
            (&c.sale_payments, "text"),
        ]);
        parts.push(format!(
            "INSERT INTO sales (terminal_id, sale_id, seq, member_id, at_ms, total_fen, lines,
                payment)
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
            (&c.refund_tenders, "text"),
        ]);
        parts.push(format!(
            "INSERT INTO refunds (terminal_id, refund_id, sale_id, seq, at_ms, lines, tenders)
             SELECT {tid}, {rows} ON CONFLICT DO NOTHING"
        ));
    }
    if !c.shift_ids.is_empty() {
        // Shift closes are rare (one per terminal per shift): their part
        // is in the statement only when the batch carries one.
        let store = s.param(&c.store);
        let ids = s.unnest(&[(&c.shift_ids, "text"), (&c.shift_seqs, "bigint")]);
        let rest = s.unnest(&[
            (&c.shift_at, "bigint"),
            (&c.shift_by, "text"),
            (&c.shift_reports, "text"),
        ]);
        parts.push(format!(
            "INSERT INTO shift_closes (terminal_id, shift_id, seq, store, closed_at_ms, closed_by,
                report)
             SELECT {tid}, {ids}, {store}::text, {rest} ON CONFLICT DO NOTHING"
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
    if !c.key_members.is_empty() {
        // Each enrolled member's wrapped data key, unless erased before
        // (the CTEs all see the rows as they were before the statement).
        let rows = s.unnest(&[
            (&c.key_members, "text"),
            (&c.key_versions, "bigint"),
            (&c.key_wrapped, "text"),
        ]);
        parts.push(format!(
            "INSERT INTO member_keys (member_id, kek_version, wrapped_dek)
             SELECT * FROM (SELECT {rows}) AS k (member_id, kek_version, wrapped_dek)
             WHERE NOT EXISTS (SELECT 1 FROM members m
                               WHERE m.member_id = k.member_id AND m.erased_at IS NOT NULL)
             ON CONFLICT (member_id) DO UPDATE SET kek_version = EXCLUDED.kek_version,
                wrapped_dek = EXCLUDED.wrapped_dek"
        ));
    }
    if !c.changed.is_empty() {
        // Every member booked or written is seen at the uploading store
        // (`store::scope`): its scope is written only where missing, lapsed
        // or of an earlier day, so most batches lock no scope row. Their
        // changes go to that store and to every other store in scope (the
        // CTEs read `member_scope` as it was before the statement).
        let (members, store, day) = (
            s.param(&c.changed),
            s.param(&c.store),
            s.param(&c.scope_day),
        );
        parts.push(format!(
            "INSERT INTO member_scope (member_id, store, seen_on, active)
             SELECT m, {store}::text, {day}::text, true FROM unnest({members}::text[]) AS m
              WHERE NOT EXISTS (SELECT 1 FROM member_scope s WHERE s.member_id = m
                                AND s.store = {store}::text AND s.active AND s.seen_on >= {day}::text)
             ON CONFLICT (member_id, store) DO UPDATE SET seen_on = EXCLUDED.seen_on, active = true"
        ));
        parts.push(format!(
            "INSERT INTO changes (kind, member_id, store)
             SELECT 'member', unnest({members}::text[]), {store}::text
             UNION ALL
             SELECT 'member', s.member_id, s.store FROM member_scope s
              WHERE s.member_id = ANY({members}::text[]) AND s.active AND s.store <> {store}::text"
        ));
    }
    if !c.flag_reasons.is_empty() {
        // Raised by the terminal's audit chain (rare): the flag is for
        // people, the batch applies all the same.
        let reasons = s.unnest(&[(&c.flag_reasons, "text")]);
        let now = s.shared(&mut now_slot, &c.now_s);
        parts.push(format!(
            "INSERT INTO terminal_flags (terminal_id, reason, at) SELECT {tid}, {reasons}, {now}"
        ));
    }
    let (acked, now_ms, head, version) = (
        s.param(&c.acked),
        s.param(&c.now_ms),
        s.param(&c.outbox_head),
        s.param(&c.app_version),
    );
    // The audit head and the break last reported, only from a batch that
    // carried the chain (null is a value here: a terminal with no rows).
    let audit = if c.audit_set {
        let (n, mac, broken) = (
            s.param(&c.audit_head_n),
            s.param(&c.audit_head_mac),
            s.param(&c.audit_broken_at),
        );
        format!(
            ",
            audit_head_n = {n}::bigint, audit_head_mac = {mac}::text,
            audit_broken_at = {broken}::bigint"
        )
    } else {
        String::new()
    };
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
        "{with}UPDATE terminals SET acked_seq = {acked},
            last_batch_at_ms = coalesce({now_ms}::bigint, last_batch_at_ms),
            outbox_head_seq = coalesce({head}, outbox_head_seq),
            app_version = coalesce({version}, app_version){audit} WHERE terminal_id = {tid}"
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
        columns.push("birthday_month");
        values.push((&c.member_birthday_months, "smallint"));
        updates.push(
            "birthday_month = CASE WHEN EXCLUDED.consent_at IS NULL OR members.erased_at IS NOT NULL
                THEN members.birthday_month ELSE EXCLUDED.birthday_month END"
                .into(),
        );
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
