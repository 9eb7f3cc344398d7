//! The back office on SQLite: stores, staff (with the stores they work at),
//! enrollment codes and their redemption, the terminal list and
//! revocation, head-office users' roles, and the audit trail. Each change
//! is one transaction with its audit row and, for staff, its downlink
//! change: nothing is half written.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use tillcard_rules::ids::{MemberId, Timestamp};

use super::batch::push_change;
use super::rows::staff_stores_json;
use crate::store::back_office::{
    AuditEntry, BackOfficeRefusal, EnrollCodeRecord, MemberRowChange, StaffRecord, StaffUpdate,
    StorePatch, StoreRecord, TerminalListing, UserListing, name_key, plan_staff_update,
};
use crate::store::rows::{
    audit_entry_from_row, columns, enroll_code_from_row, staff_record_from_row,
    store_record_from_row, terminal_listing_from_row, user_listing_from_row,
};
use crate::store::{
    BackOffice, Redeemed, StoreResult, TerminalRecord, UserRecord, redemption_refusal,
};

/// Writes an audit row.
pub(super) fn audit(tx: &Connection, entry: &AuditEntry) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO audit (at, actor, action, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            entry.at,
            entry.actor,
            entry.action,
            entry.subject,
            entry.detail
        ],
    )?;
    Ok(())
}

/// Tells terminals a clerk changed (the downlink loads the current record).
fn push_staff_change(tx: &Connection, staff_id: &str) -> StoreResult<()> {
    let payload = serde_json::json!({ "staff_id": staff_id }).to_string();
    push_change(tx, "staff", None, Some(&payload))
}

fn store_exists(tx: &Connection, code: &str) -> StoreResult<bool> {
    Ok(tx
        .query_row(
            "SELECT 1 FROM stores WHERE code = ?1",
            params![code],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// Whether every store exists and no other clerk of any has this name.
fn check_stores(
    tx: &Connection,
    staff_id: &str,
    display_name: &str,
    stores: &[String],
) -> StoreResult<Result<(), BackOfficeRefusal>> {
    let key = name_key(display_name);
    for store in stores {
        if !store_exists(tx, store)? {
            return Ok(Err(BackOfficeRefusal::UnknownStore(store.clone())));
        }
        let taken = tx
            .query_row(
                "SELECT 1 FROM staff s JOIN staff_stores ss ON ss.staff_id = s.staff_id
                 WHERE ss.store = ?1 AND s.name_key = ?2 AND s.staff_id <> ?3",
                params![store, key, staff_id],
                |_| Ok(()),
            )
            .optional()?;
        if taken.is_some() {
            return Ok(Err(BackOfficeRefusal::DuplicateName(store.clone())));
        }
    }
    Ok(Ok(()))
}

fn load_staff(tx: &Connection, staff_id: &str) -> StoreResult<Option<StaffRecord>> {
    let mut stmt = tx.prepare_cached(concat!(
        "SELECT ",
        columns!(staff_record with staff_stores_json!()),
        " FROM staff s WHERE s.staff_id = ?1"
    ))?;
    stmt.query_and_then(params![staff_id], |row| staff_record_from_row(row))?
        .next()
        .transpose()
}

/// Writes a clerk's row and the stores they work at.
fn write_staff(tx: &Transaction<'_>, s: &StaffRecord) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO staff (staff_id, display_name, name_key, role, active, pin_hash,
            setup_code_hash, setup_expires_at, setup_failures, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (staff_id) DO UPDATE SET display_name = excluded.display_name,
            name_key = excluded.name_key, role = excluded.role, active = excluded.active,
            pin_hash = excluded.pin_hash, setup_code_hash = excluded.setup_code_hash,
            setup_expires_at = excluded.setup_expires_at,
            setup_failures = excluded.setup_failures, updated_at = excluded.updated_at",
        params![
            s.staff_id,
            s.display_name,
            name_key(&s.display_name),
            s.role.as_str(),
            s.active,
            s.pin_hash,
            s.setup_code_hash,
            s.setup_expires_at,
            s.setup_failures,
            s.updated_at
        ],
    )?;
    tx.execute(
        "DELETE FROM staff_stores WHERE staff_id = ?1",
        params![s.staff_id],
    )?;
    for store in &s.stores {
        tx.execute(
            "INSERT INTO staff_stores (staff_id, store) VALUES (?1, ?2)",
            params![s.staff_id, store],
        )?;
    }
    Ok(())
}

/// Creates a store.
pub(super) fn create_store(
    c: &mut Connection,
    store: &StoreRecord,
    entry: &AuditEntry,
) -> BackOffice<()> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    if store_exists(&tx, &store.code)? {
        return Ok(Err(BackOfficeRefusal::StoreExists));
    }
    tx.execute(
        "INSERT INTO stores (code, name, time_zone, address, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            store.code,
            store.name,
            store.time_zone,
            store.address,
            store.created_at
        ],
    )?;
    audit(&tx, entry)?;
    tx.commit()?;
    Ok(Ok(()))
}

/// Changes a store.
pub(super) fn update_store(
    c: &mut Connection,
    code: &str,
    patch: &StorePatch,
    entry: &AuditEntry,
) -> BackOffice<StoreRecord> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let n = tx.execute(
        "UPDATE stores SET name = coalesce(?2, name), time_zone = coalesce(?3, time_zone),
            address = coalesce(?4, address) WHERE code = ?1",
        params![code, patch.name, patch.time_zone, patch.address],
    )?;
    if n == 0 {
        return Ok(Err(BackOfficeRefusal::UnknownStore(code.to_string())));
    }
    audit(&tx, entry)?;
    let record = tx.query_row_and_then(
        concat!(
            "SELECT ",
            columns!(store_record),
            " FROM stores WHERE code = ?1"
        ),
        params![code],
        |row| store_record_from_row(row),
    )?;
    tx.commit()?;
    Ok(Ok(record))
}

/// Every store, by code.
pub(super) fn stores(c: &Connection) -> StoreResult<Vec<StoreRecord>> {
    let mut stmt = c.prepare(concat!(
        "SELECT ",
        columns!(store_record),
        " FROM stores ORDER BY code"
    ))?;
    stmt.query_and_then([], |row| store_record_from_row(row))?
        .collect()
}

/// Creates a clerk.
pub(super) fn create_staff(
    c: &mut Connection,
    staff: &StaffRecord,
    entry: &AuditEntry,
) -> BackOffice<()> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    if load_staff(&tx, &staff.staff_id)?.is_some() {
        return Ok(Err(BackOfficeRefusal::StaffExists));
    }
    if let Err(refusal) = check_stores(&tx, &staff.staff_id, &staff.display_name, &staff.stores)? {
        return Ok(Err(refusal));
    }
    write_staff(&tx, staff)?;
    push_staff_change(&tx, &staff.staff_id)?;
    audit(&tx, entry)?;
    tx.commit()?;
    Ok(Ok(()))
}

/// Applies one change to a clerk.
pub(super) fn update_staff(
    c: &mut Connection,
    staff_id: &str,
    update: &StaffUpdate,
    actor: &str,
    now: Timestamp,
) -> BackOffice<StaffRecord> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let Some(current) = load_staff(&tx, staff_id)? else {
        return Ok(Err(BackOfficeRefusal::UnknownStaff));
    };
    let plan = plan_staff_update(&current, update, now);
    if !plan.write {
        return Ok(Err(plan.refusal.unwrap_or(BackOfficeRefusal::UnknownStaff)));
    }
    if plan.check_stores
        && let Err(refusal) =
            check_stores(&tx, staff_id, &plan.next.display_name, &plan.next.stores)?
    {
        return Ok(Err(refusal));
    }
    write_staff(&tx, &plan.next)?;
    if plan.push_change {
        push_staff_change(&tx, staff_id)?;
    }
    audit(
        &tx,
        &AuditEntry {
            at: now.to_rfc3339(),
            actor: actor.to_string(),
            action: update.action().to_string(),
            subject: format!("staff:{staff_id}"),
            detail: plan.detail.clone(),
        },
    )?;
    tx.commit()?;
    Ok(match plan.refusal {
        Some(refusal) => Err(refusal),
        None => Ok(plan.next),
    })
}

/// A clerk by id.
pub(super) fn staff_member(c: &Connection, staff_id: &str) -> StoreResult<Option<StaffRecord>> {
    load_staff(c, staff_id)
}

/// Every clerk, or those of one store.
pub(super) fn staff_list(c: &Connection, store: Option<&str>) -> StoreResult<Vec<StaffRecord>> {
    let mut stmt = c.prepare(concat!(
        "SELECT ",
        columns!(staff_record with staff_stores_json!()),
        " FROM staff s WHERE ?1 IS NULL OR EXISTS
            (SELECT 1 FROM staff_stores ss WHERE ss.staff_id = s.staff_id AND ss.store = ?1)
         ORDER BY s.staff_id"
    ))?;
    stmt.query_and_then(params![store], |row| staff_record_from_row(row))?
        .collect()
}

/// Stores an enrollment code for an existing store.
pub(super) fn insert_code(
    c: &mut Connection,
    code_hash: &str,
    store: &str,
    expires_at: Timestamp,
    entry: &AuditEntry,
) -> BackOffice<()> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    if !store_exists(&tx, store)? {
        return Ok(Err(BackOfficeRefusal::UnknownStore(store.to_string())));
    }
    tx.execute(
        "INSERT INTO enroll_codes (code_hash, store, issued_at, expires_at)
         VALUES (?1, ?2, ?3, ?4)",
        params![code_hash, store, entry.at, expires_at.to_rfc3339()],
    )?;
    audit(&tx, entry)?;
    tx.commit()?;
    Ok(Ok(()))
}

/// Redeems a code once and registers the terminal.
pub(super) fn redeem_code(
    c: &mut Connection,
    code_hash: &str,
    t: &TerminalRecord,
    now: Timestamp,
    wanted_store: Option<&str>,
) -> StoreResult<Redeemed> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let row: Option<(String, Option<String>, Option<String>)> = tx
        .query_row(
            "SELECT store, expires_at, redeemed_by FROM enroll_codes WHERE code_hash = ?1",
            params![code_hash],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((store, expires_at, used_by)) = row else {
        return Ok(Redeemed::Unknown);
    };
    if let Some(refused) = redemption_refusal(
        &store,
        expires_at.as_deref(),
        used_by.is_some(),
        now,
        wanted_store,
    ) {
        return Ok(refused);
    }
    let terminal_id = t.terminal_id.to_string();
    tx.execute(
        "UPDATE enroll_codes SET redeemed_by = ?2, used_at = ?3 WHERE code_hash = ?1",
        params![code_hash, terminal_id, now.to_rfc3339()],
    )?;
    tx.execute(
        "INSERT INTO terminals (terminal_id, store, public_key, lookup_key, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            terminal_id,
            store,
            t.public_key,
            t.lookup_key,
            now.to_rfc3339()
        ],
    )?;
    tx.commit()?;
    Ok(Redeemed::Ok { store })
}

/// Registers again a terminal a restored head office lacks; `false` when
/// it is registered already.
pub(super) fn reintroduce_terminal(
    c: &mut Connection,
    t: &TerminalRecord,
    entry: &AuditEntry,
) -> StoreResult<bool> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let added = tx.execute(
        "INSERT INTO terminals (terminal_id, store, public_key, lookup_key, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (terminal_id) DO NOTHING",
        params![
            t.terminal_id.to_string(),
            t.store,
            t.public_key,
            t.lookup_key,
            entry.at
        ],
    )? == 1;
    if added {
        audit(&tx, entry)?;
    }
    tx.commit()?;
    Ok(added)
}

/// Every enrollment code, newest first.
pub(super) fn enroll_codes(c: &Connection) -> StoreResult<Vec<EnrollCodeRecord>> {
    let mut stmt = c.prepare(concat!(
        "SELECT ",
        columns!(enroll_code),
        " FROM enroll_codes ORDER BY issued_at DESC, code_hash"
    ))?;
    stmt.query_and_then([], |row| enroll_code_from_row(row))?
        .collect()
}

/// Every terminal.
pub(super) fn terminals(c: &Connection) -> StoreResult<Vec<TerminalListing>> {
    let mut stmt = c.prepare(concat!(
        "SELECT ",
        columns!(terminal_listing),
        " FROM terminals ORDER BY store, terminal_id"
    ))?;
    stmt.query_and_then([], |row| terminal_listing_from_row(row))?
        .collect()
}

/// Revokes a terminal.
pub(super) fn revoke_terminal(
    c: &mut Connection,
    terminal_id: &str,
    entry: &AuditEntry,
    withdrawn_card_key: Option<&str>,
) -> BackOffice<()> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let n = tx.execute(
        "UPDATE terminals SET revoked = 1 WHERE terminal_id = ?1",
        params![terminal_id],
    )?;
    if n == 0 {
        return Ok(Err(BackOfficeRefusal::UnknownTerminal));
    }
    if let Some(card_key) = withdrawn_card_key {
        tx.execute(
            "UPDATE terminals SET card_key = ?2 WHERE terminal_id = ?1",
            params![terminal_id, card_key],
        )?;
        super::batch::push_change(&tx, "trusted_key", None, Some(card_key))?;
        // Their snapshots go down again, now with a card head office signs.
        tx.execute(
            &crate::store::scope::fan_out_sql(
                "SELECT member_id FROM members WHERE enrolled_by = ?1 AND erased_at IS NULL",
            ),
            params![terminal_id],
        )?;
    }
    audit(&tx, entry)?;
    tx.commit()?;
    Ok(Ok(()))
}

/// Stores a terminal's certified card key and pushes it down.
pub(super) fn set_card_key(
    c: &mut Connection,
    terminal_id: &str,
    card_key: &str,
) -> StoreResult<()> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute(
        "UPDATE terminals SET card_key = ?2 WHERE terminal_id = ?1",
        params![terminal_id, card_key],
    )?;
    super::batch::push_change(&tx, "trusted_key", None, Some(card_key))?;
    tx.commit()?;
    Ok(())
}

/// Every terminal's certified card key.
pub(super) fn withdrawn_card_keys(
    c: &mut Connection,
) -> StoreResult<Vec<(tillcard_protocol::wire::TerminalId, String)>> {
    let mut stmt = c.prepare_cached(
        "SELECT terminal_id, card_key FROM terminals WHERE card_key IS NOT NULL AND revoked = 1",
    )?;
    stmt.query_and_then(
        [],
        |row| -> StoreResult<(tillcard_protocol::wire::TerminalId, String)> {
            Ok((
                crate::store::parse_terminal(&row.get::<_, String>(0)?)?,
                row.get(1)?,
            ))
        },
    )?
    .collect()
}

/// Creates a user or replaces their password hash and role.
pub(super) fn put_user(
    c: &mut Connection,
    user: &UserRecord,
    now: Timestamp,
    entry: &AuditEntry,
) -> StoreResult<()> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute(
        "INSERT INTO hq_users (username, password_hash, role, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash,
            role = excluded.role",
        params![
            user.username,
            user.password_hash,
            user.role,
            now.to_rfc3339()
        ],
    )?;
    audit(&tx, entry)?;
    tx.commit()?;
    Ok(())
}

/// Changes a user's role.
pub(super) fn set_user_role(
    c: &mut Connection,
    username: &str,
    role: &str,
    entry: &AuditEntry,
) -> BackOffice<()> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let n = tx.execute(
        "UPDATE hq_users SET role = ?2 WHERE username = ?1",
        params![username, role],
    )?;
    if n == 0 {
        return Ok(Err(BackOfficeRefusal::UnknownUser));
    }
    audit(&tx, entry)?;
    tx.commit()?;
    Ok(Ok(()))
}

/// Every user, by name.
pub(super) fn users(c: &Connection) -> StoreResult<Vec<UserListing>> {
    let mut stmt = c.prepare(concat!(
        "SELECT ",
        columns!(user_listing),
        " FROM hq_users ORDER BY username"
    ))?;
    stmt.query_and_then([], |row| user_listing_from_row(row))?
        .collect()
}

/// The audit trail, newest first.
pub(super) fn audit_trail(
    c: &Connection,
    subject: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<AuditEntry>> {
    let mut stmt = c.prepare(concat!(
        "SELECT ",
        columns!(audit_entry),
        " FROM audit WHERE ?1 IS NULL OR subject = ?1 ORDER BY id DESC LIMIT ?2"
    ))?;
    stmt.query_and_then(params![subject, limit.max(0)], |row| {
        audit_entry_from_row(row)
    })?
    .collect()
}

/// Changes a member's row (`change`), telling every terminal (a member
/// change), with its audit row. An erased or unknown member is refused.
pub(super) fn change_member(
    c: &mut Connection,
    member: MemberId,
    change: &MemberRowChange,
    entry: &AuditEntry,
) -> BackOffice<()> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let id = member.to_string();
    let n = match change {
        MemberRowChange::Frozen(frozen) => tx.execute(
            "UPDATE members SET frozen = ?2 WHERE member_id = ?1 AND erased_at IS NULL",
            params![id, frozen],
        )?,
        MemberRowChange::Tags(tags) => tx.execute(
            "UPDATE members SET tags = ?2 WHERE member_id = ?1 AND erased_at IS NULL",
            params![id, tags],
        )?,
    };
    if n == 0 {
        return Ok(Err(BackOfficeRefusal::UnknownMember));
    }
    push_change(&tx, "member", Some(member), None)?;
    audit(&tx, entry)?;
    tx.commit()?;
    Ok(Ok(()))
}

/// Re-issues a member's card: raises the member's card serial, revokes the
/// card before (a revocation of the (member, serial) pair) and tells every
/// terminal (a member change carrying the new serial), with its audit row,
/// in one transaction. Returns the new serial. An erased or unknown member
/// is refused.
pub(super) fn reissue_card(
    c: &mut Connection,
    member: MemberId,
    entry: &AuditEntry,
) -> BackOffice<u16> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let id = member.to_string();
    let Some((old, merged)) = tx
        .query_row(
            "SELECT card_serial, merged_into IS NOT NULL FROM members
             WHERE member_id = ?1 AND erased_at IS NULL",
            [&id],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, bool>(1)?)),
        )
        .optional()?
    else {
        return Ok(Err(BackOfficeRefusal::UnknownMember));
    };
    if merged {
        return Ok(Err(BackOfficeRefusal::AlreadyMerged));
    }
    let Some(new) = u16::try_from(old).ok().and_then(|s| s.checked_add(1)) else {
        return Ok(Err(BackOfficeRefusal::CardSerialsUsedUp));
    };
    tx.execute(
        "UPDATE members SET card_serial = ?2 WHERE member_id = ?1",
        params![id, new],
    )?;
    let revocation = crate::store::back_office::card_revocation(member, old);
    push_change(&tx, "revocation", Some(member), Some(&revocation))?;
    push_change(&tx, "member", Some(member), None)?;
    audit(&tx, entry)?;
    tx.commit()?;
    Ok(Ok(new))
}
