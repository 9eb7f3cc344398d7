//! One mapper per record: how a `tokio_postgres::Row` becomes each record
//! the PostgreSQL backend returns, and the select list each reads (one
//! `columns!` arm a record, named after it). The lists are macros so that
//! queries stay `&'static str` (`concat!`): every query returning a record
//! selects the record's list and maps each row with the record's mapper, so
//! the columns' order and the mapping cannot drift apart. Mappers read with
//! `try_get`: a column of an unexpected type is an error, not a panic. A
//! leaf: it uses nothing else of the backend.

use tillcard_protocol::wire::TerminalId;
use tillcard_rules::ledger::LedgerEntry;
use tokio_postgres::Row;

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
    // Read by [`change_from_row`].
    (change) => {
        "xid, position, kind, member_id, payload"
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
         coalesce((SELECT json_agg(store)::text FROM staff_stores ss
                   WHERE ss.staff_id = s.staff_id), '[]')"
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
    row: &Row,
    index: usize,
    parse: fn(&str) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    row.try_get::<_, Option<&str>>(index)?
        .map(parse)
        .transpose()
}

/// A provisioned terminal.
pub(super) fn terminal_record_from_row(row: &Row) -> StoreResult<TerminalRecord> {
    Ok(TerminalRecord {
        terminal_id: parse_terminal(row.try_get(0)?)?,
        store: row.try_get(1)?,
        public_key: row.try_get(2)?,
        lookup_key: row.try_get(3)?,
        acked_seq: from_sql_int(row.try_get(4)?),
        revoked: row.try_get(5)?,
    })
}

/// A suspicion about a terminal: the terminal and the reason.
pub(super) fn terminal_flag_from_row(row: &Row) -> StoreResult<(TerminalId, String)> {
    Ok((parse_terminal(row.try_get(0)?)?, row.try_get(1)?))
}

/// A terminal's sync state (the figures, `/metrics`).
pub(super) fn terminal_row_from_row(row: &Row) -> StoreResult<TerminalRow> {
    Ok(TerminalRow {
        terminal_id: parse_terminal(row.try_get(0)?)?,
        store: row.try_get(1)?,
        acked_seq: from_sql_int(row.try_get(2)?),
        last_batch_at_ms: row.try_get(3)?,
        outbox_head_seq: row.try_get::<_, Option<i64>>(4)?.map(from_sql_int),
        revoked: row.try_get(5)?,
    })
}

/// A member as head office holds it (without its ledger).
pub(super) fn member_record_from_row(row: &Row) -> StoreResult<MemberRecord> {
    Ok(MemberRecord {
        member: parse_member(row.try_get(0)?)?,
        masked_name: row.try_get(1)?,
        masked_phone: row.try_get(2)?,
        phone: row.try_get(3)?,
        birthday: parse_optional(row, 4, parse_json)?,
        tags: parse_json(row.try_get(5)?)?,
        duplicate_of: parse_optional(row, 6, parse_member)?,
        erased: row.try_get::<_, Option<&str>>(7)?.is_some(),
    })
}

/// A ledger chunk's entries (migration 4), each with the seq of the event
/// that booked it (none for head office's own jobs).
pub(super) type Chunk = Vec<(Option<u64>, LedgerEntry)>;

/// The entries of a ledger chunk (its `entries` column), in booking order.
pub(super) fn ledger_entries_of_chunk(
    text: &str,
) -> StoreResult<impl Iterator<Item = LedgerEntry>> {
    let chunk: Chunk = parse_json(text)?;
    Ok(chunk.into_iter().map(|(_, entry)| entry))
}

/// A row of the change log.
pub(super) fn change_from_row(row: &Row) -> StoreResult<ChangeRow> {
    Ok(ChangeRow {
        xid: row.try_get(0)?,
        position: row.try_get(1)?,
        kind: row.try_get(2)?,
        member: parse_optional(row, 3, parse_member)?,
        payload: row.try_get(4)?,
    })
}

/// A conflict recorded for review.
pub(super) fn conflict_record_from_row(row: &Row) -> StoreResult<ConflictRecord> {
    Ok(ConflictRecord {
        member: parse_member(row.try_get(0)?)?,
        kind: row.try_get(1)?,
        reason: row.try_get(2)?,
        terminal_id: parse_optional(row, 3, parse_terminal)?,
        seq: row.try_get::<_, Option<i64>>(4)?.map(from_sql_int),
        at: row.try_get(5)?,
    })
}

/// A conflict as the figures show it: the same row as
/// [`conflict_record_from_row`]'s.
pub(super) fn conflict_item_from_row(row: &Row) -> StoreResult<ConflictItem> {
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
pub(super) fn dead_letter_from_row(row: &Row) -> StoreResult<DeadLetterRecord> {
    Ok(DeadLetterRecord {
        terminal_id: parse_terminal(row.try_get(0)?)?,
        seq: from_sql_int(row.try_get(1)?),
        event_id: row.try_get(2)?,
        reason: row.try_get(3)?,
        at: row.try_get(4)?,
    })
}

/// A dashboard user.
pub(super) fn user_from_row(row: &Row) -> StoreResult<UserRecord> {
    Ok(UserRecord {
        username: row.try_get(0)?,
        password_hash: row.try_get(1)?,
        role: row.try_get(2)?,
    })
}

/// A head-office user as listed.
pub(super) fn user_listing_from_row(row: &Row) -> StoreResult<UserListing> {
    Ok(UserListing {
        username: row.try_get(0)?,
        role: row.try_get(1)?,
        created_at: row.try_get(2)?,
    })
}

/// A store of the chain.
pub(super) fn store_record_from_row(row: &Row) -> StoreResult<StoreRecord> {
    Ok(StoreRecord {
        code: row.try_get(0)?,
        name: row.try_get(1)?,
        time_zone: row.try_get(2)?,
        address: row.try_get(3)?,
        created_at: row.try_get(4)?,
    })
}

/// A clerk with the stores they work at (in code order).
pub(super) fn staff_record_from_row(row: &Row) -> StoreResult<StaffRecord> {
    let role: String = row.try_get(2)?;
    let mut stores: Vec<String> = parse_json(row.try_get(9)?)?;
    stores.sort();
    Ok(StaffRecord {
        staff_id: row.try_get(0)?,
        display_name: row.try_get(1)?,
        role: StaffRole::parse(&role).ok_or_else(|| StoreError::Corrupt("staff role".into()))?,
        active: row.try_get(3)?,
        pin_hash: row.try_get(4)?,
        setup_code_hash: row.try_get(5)?,
        setup_expires_at: row.try_get(6)?,
        setup_failures: u32::try_from(row.try_get::<_, i32>(7)?).unwrap_or(u32::MAX),
        updated_at: row.try_get(8)?,
        stores,
    })
}

/// A row of the audit trail.
pub(super) fn audit_entry_from_row(row: &Row) -> StoreResult<AuditEntry> {
    Ok(AuditEntry {
        at: row.try_get(0)?,
        actor: row.try_get(1)?,
        action: row.try_get(2)?,
        subject: row.try_get(3)?,
        detail: row.try_get(4)?,
    })
}

/// An enrollment code as listed.
pub(super) fn enroll_code_from_row(row: &Row) -> StoreResult<EnrollCodeRecord> {
    Ok(EnrollCodeRecord {
        code_id: row.try_get(0)?,
        store: row.try_get(1)?,
        issued_at: row.try_get(2)?,
        expires_at: row.try_get(3)?,
        used_at: row.try_get(4)?,
        used_by: row.try_get(5)?,
    })
}

/// A terminal as listed.
pub(super) fn terminal_listing_from_row(row: &Row) -> StoreResult<TerminalListing> {
    Ok(TerminalListing {
        terminal_id: row.try_get(0)?,
        store: row.try_get(1)?,
        registered_at: row.try_get(2)?,
        last_batch_at_ms: row.try_get(3)?,
        acked_seq: from_sql_int(row.try_get(4)?),
        outbox_head_seq: row.try_get::<_, Option<i64>>(5)?.map(from_sql_int),
        revoked: row.try_get(6)?,
    })
}

/// A sale refunded in the figures' window.
pub(super) fn refunded_sale_from_row(row: &Row) -> StoreResult<RefundedSale> {
    Ok(RefundedSale {
        sale: parse_source(row.try_get(0)?)?,
        member: row.try_get(1)?,
        lines: parse_json(row.try_get(2)?)?,
    })
}

/// A refund of a sale the figures count.
pub(super) fn refund_from_row(row: &Row) -> StoreResult<RefundRow> {
    Ok(RefundRow {
        refund: parse_source(row.try_get(0)?)?,
        sale: parse_source(row.try_get(1)?)?,
        at_ms: row.try_get(2)?,
        lines: parse_json(row.try_get(3)?)?,
    })
}
