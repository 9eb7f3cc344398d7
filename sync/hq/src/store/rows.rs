//! One mapper per record, for both backends: how a result row becomes each
//! record the store returns, and the select list each reads (one
//! `columns!` arm a record, named after it).
//!
//! A mapper reads its row through [`SqlRow`], the few column readers the
//! records need (text, integer, flag), which `rusqlite::Row` and
//! `tokio_postgres::Row` both implement (`store/sqlite/rows`,
//! `store/postgres/rows`). So each record is mapped once: the two backends
//! cannot read the same select list differently. Readers check the column's
//! type: a column of an unexpected type is an error, never a panic.
//!
//! The lists are macros so that queries stay `&'static str` (`concat!`):
//! every query returning a record selects the record's list and maps each
//! row with the record's mapper, so the columns' order and the mapping
//! cannot drift apart.
//!
//! A leaf below the store's `mod.rs`: it uses the records and the column
//! parsers, nothing of either backend.

use tillcard_protocol::staff::StaffRole;
use tillcard_protocol::wire::TerminalId;

use crate::figures::{ConflictItem, RefundRow, RefundedSale, TerminalRow};
use crate::store::back_office::{
    AuditEntry, EnrollCodeRecord, StaffRecord, StoreRecord, TerminalListing, UserListing,
};
use crate::store::review::{DeadLetterCase, FlagCase};
use crate::store::{
    ChangeRow, ConflictCase, ConflictRecord, DeadLetterRecord, JobRunRecord, MemberRecord,
    StoreError, StoreResult, TerminalRecord, UserRecord, from_sql_int, parse_json, parse_member,
    parse_source, parse_terminal,
};

/// The select list of each record, in the order its mapper reads it:
/// `columns!(terminal_record)` is what [`terminal_record_from_row`] reads,
/// `columns!(conflict)` what [`conflict_record_from_row`] and
/// [`conflict_item_from_row`] read, and so on. Two lists take the one
/// expression whose SQL differs between the backends: the change log's
/// transaction id and a clerk's stores as a JSON array.
macro_rules! columns {
    // Read by [`change_from_row`]: the writing transaction's id first.
    (change with $xid:expr) => {
        concat!($xid, ", position, kind, member_id, payload")
    };
    // Read by [`staff_record_from_row`] (from `staff s`; the stores last,
    // as a JSON array).
    (staff_record with $stores:expr) => {
        concat!(
            "s.staff_id, s.display_name, s.role, s.active, s.pin_hash, s.setup_code_hash,
             s.setup_expires_at, s.setup_failures, s.updated_at, ",
            $stores
        )
    };
    // Read by [`terminal_record_from_row`].
    (terminal_record) => {
        "terminal_id, store, public_key, lookup_key, acked_seq, revoked, card_key, clock_skew_ms"
    };
    // Read by [`terminal_flag_from_row`].
    (terminal_flag) => {
        "terminal_id, reason"
    };
    // Read by [`terminal_row_from_row`].
    (terminal_row) => {
        "terminal_id, store, acked_seq, last_batch_at_ms, outbox_head_seq, revoked, app_version,
        clock_skew_ms"
    };
    // Read by [`job_run_from_row`].
    (job_run) => {
        "job, day, holder, started_at_ms, finished_at_ms, outcome, detail, attempts"
    };
    // Read by [`member_record_from_row`].
    (member_record) => {
        "member_id, masked_name, masked_phone, phone_ct, birthday_ct, tags, duplicate_of, erased_at, referrer, frozen,
         card_serial, merged_into, name_ct,
         (SELECT k.kek_version FROM member_keys k WHERE k.member_id = members.member_id),
         (SELECT k.wrapped_dek FROM member_keys k WHERE k.member_id = members.member_id),
         enrolled_by"
    };
    // Read by [`conflict_record_from_row`] and [`conflict_item_from_row`].
    (conflict) => {
        "member_id, kind, reason, terminal_id, seq, at"
    };
    // Read by [`conflict_case_from_row`].
    (conflict_case) => {
        "member_id, conflict_no, kind, reason, terminal_id, seq, at, state, assignee, resolution,
         note, closed_by, closed_at"
    };
    // Read by [`dead_letter_from_row`].
    (dead_letter) => {
        "terminal_id, seq, event_id, reason, at"
    };
    // Read by [`dead_letter_case_from_row`] (from `dead_letters`; a row
    // from before the wall time was kept reads `at`); its body last, for
    // [`stored_dead_letter_from_row`].
    (dead_letter_case) => {
        "terminal_id, seq, event_id, reason, at, coalesce(wall_time, at), schema_version, state,
         assignee, note, closed_by, closed_at,
         (SELECT kind FROM events e
          WHERE e.terminal_id = dead_letters.terminal_id AND e.seq = dead_letters.seq),
         body"
    };
    // Read by [`flag_case_from_row`].
    (flag_case) => {
        "id, terminal_id, reason, at, state, assignee, resolution, note, closed_by, closed_at"
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
        "terminal_id, store, created_at, last_batch_at_ms, acked_seq, outbox_head_seq, revoked,
        app_version, clock_skew_ms"
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
pub(crate) use columns;

/// A result row as the mappers read it: a column by its index in the
/// select list. Each backend implements the five readers for its row type;
/// the rest are built on them.
pub(crate) trait SqlRow {
    /// A text column.
    fn text(&self, index: usize) -> StoreResult<&str>;
    /// A text column that may be null.
    fn optional_text(&self, index: usize) -> StoreResult<Option<&str>>;
    /// An integer column.
    fn integer(&self, index: usize) -> StoreResult<i64>;
    /// An integer column that may be null.
    fn optional_integer(&self, index: usize) -> StoreResult<Option<i64>>;
    /// A true/false column (SQLite: an integer, 0 for false; PostgreSQL: a
    /// boolean).
    fn flag(&self, index: usize) -> StoreResult<bool>;

    /// A text column, owned.
    fn string(&self, index: usize) -> StoreResult<String> {
        Ok(self.text(index)?.to_owned())
    }

    /// A text column that may be null, owned.
    fn optional_string(&self, index: usize) -> StoreResult<Option<String>> {
        Ok(self.optional_text(index)?.map(str::to_owned))
    }

    /// A count or seq column ([`from_sql_int`]).
    fn count(&self, index: usize) -> StoreResult<u64> {
        Ok(from_sql_int(self.integer(index)?))
    }

    /// A count or seq column that may be null.
    fn optional_count(&self, index: usize) -> StoreResult<Option<u64>> {
        Ok(self.optional_integer(index)?.map(from_sql_int))
    }

    /// A text column that may be null, parsed when it is not.
    fn parsed_optional<T>(
        &self,
        index: usize,
        parse: fn(&str) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        self.optional_text(index)?.map(parse).transpose()
    }
}

/// A provisioned terminal.
pub(crate) fn terminal_record_from_row(row: &impl SqlRow) -> StoreResult<TerminalRecord> {
    Ok(TerminalRecord {
        terminal_id: parse_terminal(row.text(0)?)?,
        store: row.string(1)?,
        public_key: row.string(2)?,
        lookup_key: row.string(3)?,
        acked_seq: row.count(4)?,
        revoked: row.flag(5)?,
        card_key: row.optional_string(6)?,
        clock_skew_ms: row.optional_integer(7)?,
    })
}

/// A suspicion about a terminal: the terminal and the reason.
pub(crate) fn terminal_flag_from_row(row: &impl SqlRow) -> StoreResult<(TerminalId, String)> {
    Ok((parse_terminal(row.text(0)?)?, row.string(1)?))
}

/// A terminal's sync state (the figures, `/metrics`).
pub(crate) fn terminal_row_from_row(row: &impl SqlRow) -> StoreResult<TerminalRow> {
    Ok(TerminalRow {
        terminal_id: parse_terminal(row.text(0)?)?,
        store: row.string(1)?,
        acked_seq: row.count(2)?,
        last_batch_at_ms: row.optional_integer(3)?,
        outbox_head_seq: row.optional_count(4)?,
        revoked: row.flag(5)?,
        app_version: row.optional_string(6)?,
        clock_skew_ms: row.optional_integer(7)?,
    })
}

/// A member as head office holds it (without its ledger).
pub(crate) fn member_record_from_row(row: &impl SqlRow) -> StoreResult<MemberRecord> {
    Ok(MemberRecord {
        member: parse_member(row.text(0)?)?,
        masked_name: row.optional_string(1)?,
        masked_phone: row.optional_string(2)?,
        personal: crate::personal::SealedPersonal {
            key_version: row.optional_integer(13)?.unwrap_or(0),
            wrapped_dek: row.optional_string(14)?,
            phone: row.optional_string(3)?,
            name: row.optional_string(12)?,
            birthday: row.optional_string(4)?,
        },
        tags: parse_json(row.text(5)?)?,
        duplicate_of: row.parsed_optional(6, parse_member)?,
        erased: row.optional_text(7)?.is_some(),
        referrer: row.parsed_optional(8, parse_member)?,
        frozen: row.flag(9)?,
        card_serial: u16::try_from(row.integer(10)?)
            .map_err(|_| StoreError::Corrupt("card serial".into()))?,
        merged_into: row.parsed_optional(11, parse_member)?,
        enrolled_by: row.parsed_optional(15, parse_terminal)?,
    })
}

/// A daily job's run for one day.
pub(crate) fn job_run_from_row(row: &impl SqlRow) -> StoreResult<JobRunRecord> {
    Ok(JobRunRecord {
        job: row.string(0)?,
        day: row.string(1)?,
        holder: row.string(2)?,
        started_at_ms: row.integer(3)?,
        finished_at_ms: row.optional_integer(4)?,
        outcome: row.optional_string(5)?,
        detail: row.optional_string(6)?,
        attempts: row.integer(7)?,
    })
}

/// A row of the change log: the writing transaction's id (0 on SQLite,
/// whose writers are serialized), the position, the kind, the member, the
/// payload.
pub(crate) fn change_from_row(row: &impl SqlRow) -> StoreResult<ChangeRow> {
    Ok(ChangeRow {
        xid: row.integer(0)?,
        position: row.integer(1)?,
        kind: row.string(2)?,
        member: row.parsed_optional(3, parse_member)?,
        payload: row.optional_string(4)?,
    })
}

/// A conflict recorded for review.
pub(crate) fn conflict_record_from_row(row: &impl SqlRow) -> StoreResult<ConflictRecord> {
    Ok(ConflictRecord {
        member: parse_member(row.text(0)?)?,
        kind: row.string(1)?,
        reason: row.string(2)?,
        terminal_id: row.parsed_optional(3, parse_terminal)?,
        seq: row.optional_count(4)?,
        at: row.string(5)?,
    })
}

/// A conflict as the figures show it: the same row as
/// [`conflict_record_from_row`]'s.
pub(crate) fn conflict_item_from_row(row: &impl SqlRow) -> StoreResult<ConflictItem> {
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

/// A conflict in the work queue.
pub(crate) fn conflict_case_from_row(row: &impl SqlRow) -> StoreResult<ConflictCase> {
    Ok(ConflictCase {
        member_id: parse_member(row.text(0)?)?,
        conflict_no: row.integer(1)?,
        kind: row.string(2)?,
        reason: row.string(3)?,
        terminal_id: row.parsed_optional(4, parse_terminal)?,
        seq: row.optional_count(5)?,
        at: row.string(6)?,
        state: row.string(7)?,
        assignee: row.optional_string(8)?,
        resolution: row.optional_string(9)?,
        note: row.optional_string(10)?,
        closed_by: row.optional_string(11)?,
        closed_at: row.optional_string(12)?,
    })
}

/// A dead-lettered event.
pub(crate) fn dead_letter_from_row(row: &impl SqlRow) -> StoreResult<DeadLetterRecord> {
    Ok(DeadLetterRecord {
        terminal_id: parse_terminal(row.text(0)?)?,
        seq: row.count(1)?,
        event_id: row.string(2)?,
        reason: row.string(3)?,
        at: row.string(4)?,
    })
}

/// A dead letter in the review queue (a row from before head office kept
/// the schema version reads the current one).
pub(crate) fn dead_letter_case_from_row(row: &impl SqlRow) -> StoreResult<DeadLetterCase> {
    Ok(DeadLetterCase {
        terminal_id: parse_terminal(row.text(0)?)?,
        seq: row.count(1)?,
        event_id: row.string(2)?,
        reason: row.string(3)?,
        at: row.string(4)?,
        wall_time: row.string(5)?,
        schema_version: row
            .optional_integer(6)?
            .map_or(Ok(tillcard_protocol::wire::SCHEMA_VERSION), |v| {
                u16::try_from(v).map_err(|_| StoreError::Corrupt("schema_version".into()))
            })?,
        state: row.string(7)?,
        assignee: row.optional_string(8)?,
        note: row.optional_string(9)?,
        closed_by: row.optional_string(10)?,
        closed_at: row.optional_string(11)?,
        kind: row.optional_string(12)?,
    })
}

/// A dead letter with its stored body (none once erased).
pub(crate) fn stored_dead_letter_from_row(
    row: &impl SqlRow,
) -> StoreResult<(DeadLetterCase, Option<String>)> {
    Ok((dead_letter_case_from_row(row)?, row.optional_string(13)?))
}

/// A terminal flag in the review queue.
pub(crate) fn flag_case_from_row(row: &impl SqlRow) -> StoreResult<FlagCase> {
    Ok(FlagCase {
        id: row.integer(0)?,
        terminal_id: parse_terminal(row.text(1)?)?,
        reason: row.string(2)?,
        at: row.string(3)?,
        state: row.string(4)?,
        assignee: row.optional_string(5)?,
        resolution: row.optional_string(6)?,
        note: row.optional_string(7)?,
        closed_by: row.optional_string(8)?,
        closed_at: row.optional_string(9)?,
    })
}

/// A dashboard user.
pub(crate) fn user_from_row(row: &impl SqlRow) -> StoreResult<UserRecord> {
    Ok(UserRecord {
        username: row.string(0)?,
        password_hash: row.string(1)?,
        role: row.string(2)?,
    })
}

/// A head-office user as listed.
pub(crate) fn user_listing_from_row(row: &impl SqlRow) -> StoreResult<UserListing> {
    Ok(UserListing {
        username: row.string(0)?,
        role: row.string(1)?,
        created_at: row.string(2)?,
    })
}

/// A store of the chain.
pub(crate) fn store_record_from_row(row: &impl SqlRow) -> StoreResult<StoreRecord> {
    Ok(StoreRecord {
        code: row.string(0)?,
        name: row.string(1)?,
        time_zone: row.string(2)?,
        address: row.string(3)?,
        created_at: row.string(4)?,
    })
}

/// A clerk with the stores they work at (in code order).
pub(crate) fn staff_record_from_row(row: &impl SqlRow) -> StoreResult<StaffRecord> {
    let mut stores: Vec<String> = parse_json(row.text(9)?)?;
    stores.sort();
    Ok(StaffRecord {
        staff_id: row.string(0)?,
        display_name: row.string(1)?,
        role: StaffRole::parse(row.text(2)?)
            .ok_or_else(|| StoreError::Corrupt("staff role".into()))?,
        active: row.flag(3)?,
        pin_hash: row.optional_string(4)?,
        setup_code_hash: row.optional_string(5)?,
        setup_expires_at: row.optional_string(6)?,
        setup_failures: u32::try_from(row.integer(7)?).unwrap_or(u32::MAX),
        updated_at: row.string(8)?,
        stores,
    })
}

/// A row of the audit trail.
pub(crate) fn audit_entry_from_row(row: &impl SqlRow) -> StoreResult<AuditEntry> {
    Ok(AuditEntry {
        at: row.string(0)?,
        actor: row.string(1)?,
        action: row.string(2)?,
        subject: row.string(3)?,
        detail: row.string(4)?,
    })
}

/// An enrollment code as listed.
pub(crate) fn enroll_code_from_row(row: &impl SqlRow) -> StoreResult<EnrollCodeRecord> {
    Ok(EnrollCodeRecord {
        code_id: row.string(0)?,
        store: row.string(1)?,
        issued_at: row.string(2)?,
        expires_at: row.optional_string(3)?,
        used_at: row.optional_string(4)?,
        used_by: row.optional_string(5)?,
    })
}

/// A terminal as listed.
pub(crate) fn terminal_listing_from_row(row: &impl SqlRow) -> StoreResult<TerminalListing> {
    Ok(TerminalListing {
        terminal_id: row.string(0)?,
        store: row.string(1)?,
        registered_at: row.string(2)?,
        last_batch_at_ms: row.optional_integer(3)?,
        acked_seq: row.count(4)?,
        outbox_head_seq: row.optional_count(5)?,
        revoked: row.flag(6)?,
        app_version: row.optional_string(7)?,
        clock_skew_ms: row.optional_integer(8)?,
    })
}

/// A sale refunded in the figures' window.
pub(crate) fn refunded_sale_from_row(row: &impl SqlRow) -> StoreResult<RefundedSale> {
    Ok(RefundedSale {
        sale: parse_source(row.text(0)?)?,
        member: row.flag(1)?,
        lines: parse_json(row.text(2)?)?,
    })
}

/// A refund of a sale the figures count.
pub(crate) fn refund_from_row(row: &impl SqlRow) -> StoreResult<RefundRow> {
    Ok(RefundRow {
        refund: parse_source(row.text(0)?)?,
        sale: parse_source(row.text(1)?)?,
        at_ms: row.integer(2)?,
        lines: parse_json(row.text(3)?)?,
    })
}
