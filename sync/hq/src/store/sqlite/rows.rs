//! One mapper per record: how a `rusqlite::Row` becomes each record the
//! SQLite backend returns, and the select list each reads (one `columns!`
//! arm a record, named after it). The lists are macros so that queries stay
//! `&'static str` (`concat!`): every query returning a record selects the
//! record's list and maps each row with the record's mapper
//! (`Statement::query_and_then`), so the columns' order and the mapping
//! cannot drift apart. A leaf: it uses nothing else of the backend.

use rusqlite::Row;
use tillcard_protocol::wire::TerminalId;

use crate::figures::{ConflictItem, RefundRow, RefundedSale, TerminalRow};
use crate::store::back_office::{
    AuditEntry, EnrollCodeRecord, StaffRecord, StoreRecord, TerminalListing, UserListing,
};
use crate::store::{
    ChangeRow, ConflictRecord, DeadLetterRecord, MemberRecord, StoreError, StoreResult,
    TerminalRecord, UserRecord, from_sql_int, parse_json, parse_member, parse_source,
    parse_terminal,
};
use tillcard_protocol::staff::StaffRole;

/// The select list of each record, in the order its mapper reads it:
/// `columns!(terminal_record)` is what [`terminal_record_from_row`] reads,
/// `columns!(conflict)` what [`conflict_record_from_row`] and
/// [`conflict_item_from_row`] read, and so on. Every query returning a
/// record selects its list; a macro rather than consts so that queries stay
/// `&'static str` (`concat!`).
macro_rules! columns {
    // Read by [`terminal_record_from_row`].
    (terminal_record) => {
        "terminal_id, store, public_key, lookup_key, acked_seq, revoked"
    };
    // Read by [`terminal_flag_from_row`].
    (terminal_flag) => {
        "terminal_id, reason"
    };
    // Read by [`terminal_row_from_row`].
    (terminal_row) => {
        "terminal_id, store, acked_seq, last_batch_at_ms, outbox_head_seq, revoked"
    };
    // Read by [`member_record_from_row`].
    (member_record) => {
        "member_id, masked_name, masked_phone, phone, birthday, tags, duplicate_of, erased_at"
    };
    // Read by [`change_from_row`] (SQLite's writers
    // are serialized: no transaction id, the position alone orders changes).
    (change) => {
        "position, kind, member_id, payload"
    };
    // Read by [`conflict_record_from_row`] and [`conflict_item_from_row`].
    (conflict) => {
        "member_id, kind, reason, terminal_id, seq, at"
    };
    // Read by [`dead_letter_from_row`].
    (dead_letter) => {
        "terminal_id, seq, event_id, reason, at"
    };
    // Read by [`user_from_row`].
    (user) => {
        "username, password_hash, role"
    };
    // Read by [`user_listing_from_row`].
    (user_listing) => {
        "username, role, created_at"
    };
    // Read by [`store_record_from_row`].
    (store_record) => {
        "code, name, time_zone, address, created_at"
    };
    // Read by [`staff_record_from_row`] (from `staff s`; the stores as a
    // JSON array).
    (staff_record) => {
        "s.staff_id, s.display_name, s.role, s.active, s.pin_hash, s.setup_code_hash,
         s.setup_expires_at, s.setup_failures, s.updated_at,
         (SELECT json_group_array(store) FROM staff_stores ss WHERE ss.staff_id = s.staff_id)"
    };
    // Read by [`audit_entry_from_row`].
    (audit_entry) => {
        "at, actor, action, subject, detail"
    };
    // Read by [`enroll_code_from_row`].
    (enroll_code) => {
        "substr(code_hash, 1, 12), store, issued_at, expires_at, used_at, redeemed_by"
    };
    // Read by [`terminal_listing_from_row`].
    (terminal_listing) => {
        "terminal_id, store, created_at, last_batch_at_ms, acked_seq, outbox_head_seq, revoked"
    };
    // Read by [`refunded_sale_from_row`].
    (refunded_sale) => {
        "sale_id, member_id IS NOT NULL, lines"
    };
    // Read by [`refund_from_row`].
    (refund) => {
        "refund_id, sale_id, at_ms, lines"
    };
}
pub(super) use columns;

/// A text column that may be null, parsed when it is not.
fn parse_optional<T>(
    row: &Row<'_>,
    index: usize,
    parse: fn(&str) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    row.get::<_, Option<String>>(index)?
        .as_deref()
        .map(parse)
        .transpose()
}

/// A provisioned terminal.
pub(super) fn terminal_record_from_row(row: &Row<'_>) -> StoreResult<TerminalRecord> {
    Ok(TerminalRecord {
        terminal_id: parse_terminal(&row.get::<_, String>(0)?)?,
        store: row.get(1)?,
        public_key: row.get(2)?,
        lookup_key: row.get(3)?,
        acked_seq: from_sql_int(row.get(4)?),
        revoked: row.get::<_, i64>(5)? != 0,
    })
}

/// A suspicion about a terminal: the terminal and the reason.
pub(super) fn terminal_flag_from_row(row: &Row<'_>) -> StoreResult<(TerminalId, String)> {
    Ok((parse_terminal(&row.get::<_, String>(0)?)?, row.get(1)?))
}

/// A terminal's sync state (the figures, `/metrics`).
pub(super) fn terminal_row_from_row(row: &Row<'_>) -> StoreResult<TerminalRow> {
    Ok(TerminalRow {
        terminal_id: parse_terminal(&row.get::<_, String>(0)?)?,
        store: row.get(1)?,
        acked_seq: from_sql_int(row.get(2)?),
        last_batch_at_ms: row.get(3)?,
        outbox_head_seq: row.get::<_, Option<i64>>(4)?.map(from_sql_int),
        revoked: row.get::<_, i64>(5)? != 0,
    })
}

/// A member as head office holds it (without its ledger).
pub(super) fn member_record_from_row(row: &Row<'_>) -> StoreResult<MemberRecord> {
    Ok(MemberRecord {
        member: parse_member(&row.get::<_, String>(0)?)?,
        masked_name: row.get(1)?,
        masked_phone: row.get(2)?,
        phone: row.get(3)?,
        birthday: parse_optional(row, 4, parse_json)?,
        tags: parse_json(&row.get::<_, String>(5)?)?,
        duplicate_of: parse_optional(row, 6, parse_member)?,
        erased: row.get::<_, Option<String>>(7)?.is_some(),
    })
}

/// A row of the change log.
pub(super) fn change_from_row(row: &Row<'_>) -> StoreResult<ChangeRow> {
    Ok(ChangeRow {
        xid: 0,
        position: row.get(0)?,
        kind: row.get(1)?,
        member: parse_optional(row, 2, parse_member)?,
        payload: row.get(3)?,
    })
}

/// A conflict recorded for review.
pub(super) fn conflict_record_from_row(row: &Row<'_>) -> StoreResult<ConflictRecord> {
    Ok(ConflictRecord {
        member: parse_member(&row.get::<_, String>(0)?)?,
        kind: row.get(1)?,
        reason: row.get(2)?,
        terminal_id: parse_optional(row, 3, parse_terminal)?,
        seq: row.get::<_, Option<i64>>(4)?.map(from_sql_int),
        at: row.get(5)?,
    })
}

/// A conflict as the figures show it: the same row as
/// [`conflict_record_from_row`]'s.
pub(super) fn conflict_item_from_row(row: &Row<'_>) -> StoreResult<ConflictItem> {
    let record = conflict_record_from_row(row)?;
    Ok(ConflictItem {
        member_id: record.member,
        kind: record.kind,
        reason: record.reason,
        terminal_id: record.terminal_id,
        seq: record.seq,
        at: record.at,
    })
}

/// A dead-lettered event.
pub(super) fn dead_letter_from_row(row: &Row<'_>) -> StoreResult<DeadLetterRecord> {
    Ok(DeadLetterRecord {
        terminal_id: parse_terminal(&row.get::<_, String>(0)?)?,
        seq: from_sql_int(row.get(1)?),
        event_id: row.get(2)?,
        reason: row.get(3)?,
        at: row.get(4)?,
    })
}

/// A dashboard user.
pub(super) fn user_from_row(row: &Row<'_>) -> StoreResult<UserRecord> {
    Ok(UserRecord {
        username: row.get(0)?,
        password_hash: row.get(1)?,
        role: row.get(2)?,
    })
}

/// A head-office user as listed.
pub(super) fn user_listing_from_row(row: &Row<'_>) -> StoreResult<UserListing> {
    Ok(UserListing {
        username: row.get(0)?,
        role: row.get(1)?,
        created_at: row.get(2)?,
    })
}

/// A store of the chain.
pub(super) fn store_record_from_row(row: &Row<'_>) -> StoreResult<StoreRecord> {
    Ok(StoreRecord {
        code: row.get(0)?,
        name: row.get(1)?,
        time_zone: row.get(2)?,
        address: row.get(3)?,
        created_at: row.get(4)?,
    })
}

/// A clerk with the stores they work at (in code order).
pub(super) fn staff_record_from_row(row: &Row<'_>) -> StoreResult<StaffRecord> {
    let role: String = row.get(2)?;
    let mut stores: Vec<String> = parse_json(&row.get::<_, String>(9)?)?;
    stores.sort();
    Ok(StaffRecord {
        staff_id: row.get(0)?,
        display_name: row.get(1)?,
        role: StaffRole::parse(&role).ok_or_else(|| StoreError::Corrupt("staff role".into()))?,
        active: row.get::<_, i64>(3)? != 0,
        pin_hash: row.get(4)?,
        setup_code_hash: row.get(5)?,
        setup_expires_at: row.get(6)?,
        setup_failures: u32::try_from(row.get::<_, i64>(7)?).unwrap_or(u32::MAX),
        updated_at: row.get(8)?,
        stores,
    })
}

/// A row of the audit trail.
pub(super) fn audit_entry_from_row(row: &Row<'_>) -> StoreResult<AuditEntry> {
    Ok(AuditEntry {
        at: row.get(0)?,
        actor: row.get(1)?,
        action: row.get(2)?,
        subject: row.get(3)?,
        detail: row.get(4)?,
    })
}

/// An enrollment code as listed.
pub(super) fn enroll_code_from_row(row: &Row<'_>) -> StoreResult<EnrollCodeRecord> {
    Ok(EnrollCodeRecord {
        code_id: row.get(0)?,
        store: row.get(1)?,
        issued_at: row.get(2)?,
        expires_at: row.get(3)?,
        used_at: row.get(4)?,
        used_by: row.get(5)?,
    })
}

/// A terminal as listed.
pub(super) fn terminal_listing_from_row(row: &Row<'_>) -> StoreResult<TerminalListing> {
    Ok(TerminalListing {
        terminal_id: row.get(0)?,
        store: row.get(1)?,
        registered_at: row.get(2)?,
        last_batch_at_ms: row.get(3)?,
        acked_seq: from_sql_int(row.get(4)?),
        outbox_head_seq: row.get::<_, Option<i64>>(5)?.map(from_sql_int),
        revoked: row.get::<_, i64>(6)? != 0,
    })
}

/// A sale refunded in the figures' window.
pub(super) fn refunded_sale_from_row(row: &Row<'_>) -> StoreResult<RefundedSale> {
    Ok(RefundedSale {
        sale: parse_source(&row.get::<_, String>(0)?)?,
        member: row.get(1)?,
        lines: parse_json(&row.get::<_, String>(2)?)?,
    })
}

/// A refund of a sale the figures count.
pub(super) fn refund_from_row(row: &Row<'_>) -> StoreResult<RefundRow> {
    Ok(RefundRow {
        refund: parse_source(&row.get::<_, String>(0)?)?,
        sale: parse_source(&row.get::<_, String>(1)?)?,
        at_ms: row.get(2)?,
        lines: parse_json(&row.get::<_, String>(3)?)?,
    })
}
