//! The back office on PostgreSQL: stores, staff (with the stores they work
//! at), enrollment codes and their redemption, the terminal list and
//! revocation, head-office users' roles, and the audit trail. Each change
//! is one transaction, under the back office's lock, with its audit row
//! and, for staff, its downlink change: nothing is half written.

use deadpool_postgres::GenericClient;
use tillcard_rules::ids::{MemberId, Timestamp};

use super::locks::LOCK_BACK_OFFICE;
use super::members::push_change;
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

type Object = deadpool_postgres::Object;

/// Writes an audit row.
pub(super) async fn audit<C: GenericClient>(tx: &C, entry: &AuditEntry) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO audit (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)",
        &[
            &entry.at,
            &entry.actor,
            &entry.action,
            &entry.subject,
            &entry.detail,
        ],
    )
    .await?;
    Ok(())
}

/// Tells terminals a clerk changed (the downlink loads the current record).
async fn push_staff_change<C: GenericClient>(tx: &C, staff_id: &str) -> StoreResult<()> {
    let payload = serde_json::json!({ "staff_id": staff_id }).to_string();
    push_change(tx, "staff", None, Some(&payload)).await
}

async fn store_exists<C: GenericClient>(tx: &C, code: &str) -> StoreResult<bool> {
    Ok(tx
        .query_opt("SELECT 1 FROM stores WHERE code = $1", &[&code])
        .await?
        .is_some())
}

/// Whether every store exists and no other clerk of any has this name.
async fn check_stores<C: GenericClient>(
    tx: &C,
    staff_id: &str,
    display_name: &str,
    stores: &[String],
) -> StoreResult<Result<(), BackOfficeRefusal>> {
    let key = name_key(display_name);
    for store in stores {
        if !store_exists(tx, store).await? {
            return Ok(Err(BackOfficeRefusal::UnknownStore(store.clone())));
        }
        let taken = tx
            .query_opt(
                "SELECT 1 FROM staff s JOIN staff_stores ss ON ss.staff_id = s.staff_id
                 WHERE ss.store = $1 AND s.name_key = $2 AND s.staff_id <> $3",
                &[store, &key, &staff_id],
            )
            .await?;
        if taken.is_some() {
            return Ok(Err(BackOfficeRefusal::DuplicateName(store.clone())));
        }
    }
    Ok(Ok(()))
}

async fn load_staff<C: GenericClient>(tx: &C, staff_id: &str) -> StoreResult<Option<StaffRecord>> {
    tx.query_opt(
        concat!(
            "SELECT ",
            columns!(staff_record with staff_stores_json!()),
            " FROM staff s WHERE s.staff_id = $1"
        ),
        &[&staff_id],
    )
    .await?
    .as_ref()
    .map(staff_record_from_row)
    .transpose()
}

/// Writes a clerk's row and the stores they work at.
async fn write_staff<C: GenericClient>(tx: &C, s: &StaffRecord) -> StoreResult<()> {
    let failures = i32::try_from(s.setup_failures).unwrap_or(i32::MAX);
    tx.execute(
        "INSERT INTO staff (staff_id, display_name, name_key, role, active, pin_hash,
            setup_code_hash, setup_expires_at, setup_failures, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (staff_id) DO UPDATE SET display_name = EXCLUDED.display_name,
            name_key = EXCLUDED.name_key, role = EXCLUDED.role, active = EXCLUDED.active,
            pin_hash = EXCLUDED.pin_hash, setup_code_hash = EXCLUDED.setup_code_hash,
            setup_expires_at = EXCLUDED.setup_expires_at,
            setup_failures = EXCLUDED.setup_failures, updated_at = EXCLUDED.updated_at",
        &[
            &s.staff_id,
            &s.display_name,
            &name_key(&s.display_name),
            &s.role.as_str(),
            &s.active,
            &s.pin_hash,
            &s.setup_code_hash,
            &s.setup_expires_at,
            &failures,
            &s.updated_at,
        ],
    )
    .await?;
    tx.execute(
        "DELETE FROM staff_stores WHERE staff_id = $1",
        &[&s.staff_id],
    )
    .await?;
    tx.execute(
        "INSERT INTO staff_stores (staff_id, store) SELECT $1, unnest($2::text[])",
        &[&s.staff_id, &s.stores],
    )
    .await?;
    Ok(())
}

/// Creates a store.
pub(super) async fn create_store(
    client: &mut Object,
    store: &StoreRecord,
    entry: &AuditEntry,
) -> BackOffice<()> {
    let tx = client.transaction().await?;
    tx.execute(LOCK_BACK_OFFICE, &[]).await?;
    if store_exists(&tx, &store.code).await? {
        return Ok(Err(BackOfficeRefusal::StoreExists));
    }
    tx.execute(
        "INSERT INTO stores (code, name, time_zone, address, created_at)
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &store.code,
            &store.name,
            &store.time_zone,
            &store.address,
            &store.created_at,
        ],
    )
    .await?;
    audit(&tx, entry).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Changes a store.
pub(super) async fn update_store(
    client: &mut Object,
    code: &str,
    patch: &StorePatch,
    entry: &AuditEntry,
) -> BackOffice<StoreRecord> {
    let tx = client.transaction().await?;
    let Some(row) = tx
        .query_opt(
            concat!(
                "UPDATE stores SET name = coalesce($2, name),
                    time_zone = coalesce($3, time_zone), address = coalesce($4, address)
                 WHERE code = $1 RETURNING ",
                columns!(store_record)
            ),
            &[&code, &patch.name, &patch.time_zone, &patch.address],
        )
        .await?
    else {
        return Ok(Err(BackOfficeRefusal::UnknownStore(code.to_string())));
    };
    let record = store_record_from_row(&row)?;
    audit(&tx, entry).await?;
    tx.commit().await?;
    Ok(Ok(record))
}

/// Every store, by code.
pub(super) async fn stores<C: GenericClient>(client: &C) -> StoreResult<Vec<StoreRecord>> {
    client
        .query(
            concat!(
                "SELECT ",
                columns!(store_record),
                " FROM stores ORDER BY code"
            ),
            &[],
        )
        .await?
        .iter()
        .map(store_record_from_row)
        .collect()
}

/// Creates a clerk.
pub(super) async fn create_staff(
    client: &mut Object,
    staff: &StaffRecord,
    entry: &AuditEntry,
) -> BackOffice<()> {
    let tx = client.transaction().await?;
    tx.execute(LOCK_BACK_OFFICE, &[]).await?;
    if load_staff(&tx, &staff.staff_id).await?.is_some() {
        return Ok(Err(BackOfficeRefusal::StaffExists));
    }
    if let Err(refusal) =
        check_stores(&tx, &staff.staff_id, &staff.display_name, &staff.stores).await?
    {
        return Ok(Err(refusal));
    }
    write_staff(&tx, staff).await?;
    push_staff_change(&tx, &staff.staff_id).await?;
    audit(&tx, entry).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Applies one change to a clerk.
pub(super) async fn update_staff(
    client: &mut Object,
    staff_id: &str,
    update: &StaffUpdate,
    actor: &str,
    now: Timestamp,
) -> BackOffice<StaffRecord> {
    let tx = client.transaction().await?;
    tx.execute(LOCK_BACK_OFFICE, &[]).await?;
    let Some(current) = load_staff(&tx, staff_id).await? else {
        return Ok(Err(BackOfficeRefusal::UnknownStaff));
    };
    let plan = plan_staff_update(&current, update, now);
    if !plan.write {
        return Ok(Err(plan.refusal.unwrap_or(BackOfficeRefusal::UnknownStaff)));
    }
    if plan.check_stores
        && let Err(refusal) =
            check_stores(&tx, staff_id, &plan.next.display_name, &plan.next.stores).await?
    {
        return Ok(Err(refusal));
    }
    write_staff(&tx, &plan.next).await?;
    if plan.push_change {
        push_staff_change(&tx, staff_id).await?;
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
    )
    .await?;
    tx.commit().await?;
    Ok(match plan.refusal {
        Some(refusal) => Err(refusal),
        None => Ok(plan.next),
    })
}

/// A clerk by id.
pub(super) async fn staff_member<C: GenericClient>(
    client: &C,
    staff_id: &str,
) -> StoreResult<Option<StaffRecord>> {
    load_staff(client, staff_id).await
}

/// Every clerk, or those of one store.
pub(super) async fn staff_list<C: GenericClient>(
    client: &C,
    store: Option<&str>,
) -> StoreResult<Vec<StaffRecord>> {
    client
        .query(
            concat!(
                "SELECT ",
                columns!(staff_record with staff_stores_json!()),
                " FROM staff s WHERE $1::text IS NULL OR EXISTS
                    (SELECT 1 FROM staff_stores ss
                     WHERE ss.staff_id = s.staff_id AND ss.store = $1)
                 ORDER BY s.staff_id"
            ),
            &[&store],
        )
        .await?
        .iter()
        .map(staff_record_from_row)
        .collect()
}

/// Stores an enrollment code for an existing store.
pub(super) async fn insert_code(
    client: &mut Object,
    code_hash: &str,
    store: &str,
    expires_at: Timestamp,
    entry: &AuditEntry,
) -> BackOffice<()> {
    let tx = client.transaction().await?;
    tx.execute(LOCK_BACK_OFFICE, &[]).await?;
    if !store_exists(&tx, store).await? {
        return Ok(Err(BackOfficeRefusal::UnknownStore(store.to_string())));
    }
    tx.execute(
        "INSERT INTO enroll_codes (code_hash, store, issued_at, expires_at)
         VALUES ($1, $2, $3, $4)",
        &[&code_hash, &store, &entry.at, &expires_at.to_rfc3339()],
    )
    .await?;
    audit(&tx, entry).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Redeems a code once and registers the terminal.
pub(super) async fn redeem_code(
    client: &mut Object,
    code_hash: &str,
    terminal: &TerminalRecord,
    now: Timestamp,
    wanted_store: Option<&str>,
) -> StoreResult<Redeemed> {
    let tx = client.transaction().await?;
    let Some(row) = tx
        .query_opt(
            "SELECT store, expires_at, redeemed_by FROM enroll_codes
             WHERE code_hash = $1 FOR UPDATE",
            &[&code_hash],
        )
        .await?
    else {
        return Ok(Redeemed::Unknown);
    };
    let store: String = row.try_get(0)?;
    let expires_at: Option<String> = row.try_get(1)?;
    let used_by: Option<String> = row.try_get(2)?;
    if let Some(refused) = redemption_refusal(
        &store,
        expires_at.as_deref(),
        used_by.is_some(),
        now,
        wanted_store,
    ) {
        return Ok(refused);
    }
    let tid = terminal.terminal_id.to_string();
    let at = now.to_rfc3339();
    tx.execute(
        "UPDATE enroll_codes SET redeemed_by = $2, used_at = $3 WHERE code_hash = $1",
        &[&code_hash, &tid, &at],
    )
    .await?;
    tx.execute(
        "INSERT INTO terminals (terminal_id, store, public_key, lookup_key, created_at)
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &tid,
            &store,
            &terminal.public_key,
            &terminal.lookup_key,
            &at,
        ],
    )
    .await?;
    tx.commit().await?;
    Ok(Redeemed::Ok { store })
}

/// Registers again a terminal a restored head office lacks; `false` when
/// it is registered already.
pub(super) async fn reintroduce_terminal(
    client: &mut Object,
    t: &TerminalRecord,
    entry: &AuditEntry,
) -> StoreResult<bool> {
    let tx = client.transaction().await?;
    let added = tx
        .execute(
            "INSERT INTO terminals (terminal_id, store, public_key, lookup_key, created_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (terminal_id) DO NOTHING",
            &[
                &t.terminal_id.to_string(),
                &t.store,
                &t.public_key,
                &t.lookup_key,
                &entry.at,
            ],
        )
        .await?
        == 1;
    if added {
        audit(&tx, entry).await?;
    }
    tx.commit().await?;
    Ok(added)
}

/// Every enrollment code, newest first.
pub(super) async fn enroll_codes<C: GenericClient>(
    client: &C,
) -> StoreResult<Vec<EnrollCodeRecord>> {
    client
        .query(
            concat!(
                "SELECT ",
                columns!(enroll_code),
                " FROM enroll_codes ORDER BY issued_at DESC, code_hash"
            ),
            &[],
        )
        .await?
        .iter()
        .map(enroll_code_from_row)
        .collect()
}

/// Every terminal.
pub(super) async fn terminals<C: GenericClient>(client: &C) -> StoreResult<Vec<TerminalListing>> {
    client
        .query(
            concat!(
                "SELECT ",
                columns!(terminal_listing),
                " FROM terminals ORDER BY store, terminal_id"
            ),
            &[],
        )
        .await?
        .iter()
        .map(terminal_listing_from_row)
        .collect()
}

/// Revokes a terminal.
pub(super) async fn revoke_terminal(
    client: &mut Object,
    terminal_id: &str,
    entry: &AuditEntry,
    withdrawn_card_key: Option<&str>,
) -> BackOffice<()> {
    let tx = client.transaction().await?;
    let n = tx
        .execute(
            "UPDATE terminals SET revoked = TRUE WHERE terminal_id = $1",
            &[&terminal_id],
        )
        .await?;
    if n == 0 {
        return Ok(Err(BackOfficeRefusal::UnknownTerminal));
    }
    if let Some(card_key) = withdrawn_card_key {
        tx.execute(
            "UPDATE terminals SET card_key = $2 WHERE terminal_id = $1",
            &[&terminal_id, &card_key],
        )
        .await?;
        super::members::push_change(&tx, "trusted_key", None, Some(card_key)).await?;
        // Their snapshots go down again, now with a card head office signs.
        tx.execute(
            &crate::store::scope::fan_out_sql(
                "SELECT member_id FROM members WHERE enrolled_by = $1 AND erased_at IS NULL",
            ),
            &[&terminal_id],
        )
        .await?;
    }
    audit(&tx, entry).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Stores a terminal's certified card key and pushes it down.
pub(super) async fn set_card_key(
    client: &mut Object,
    terminal_id: &str,
    card_key: &str,
) -> StoreResult<()> {
    let tx = client.transaction().await?;
    tx.execute(
        "UPDATE terminals SET card_key = $2 WHERE terminal_id = $1",
        &[&terminal_id, &card_key],
    )
    .await?;
    super::members::push_change(&tx, "trusted_key", None, Some(card_key)).await?;
    tx.commit().await?;
    Ok(())
}

/// Every terminal's certified card key.
pub(super) async fn withdrawn_card_keys(
    client: &Object,
) -> StoreResult<Vec<(tillcard_protocol::wire::TerminalId, String)>> {
    // Read by every downlink page that sends members: prepared, and on
    // the partial index `terminals_withdrawn` (revoked terminals are few).
    let statement = client
        .prepare_cached(
            "SELECT terminal_id, card_key FROM terminals WHERE card_key IS NOT NULL AND revoked",
        )
        .await?;
    let rows = client.query(&statement, &[]).await?;
    rows.iter()
        .map(|row| {
            Ok((
                crate::store::parse_terminal(&row.try_get::<_, String>(0)?)?,
                row.try_get(1)?,
            ))
        })
        .collect()
}

/// Creates a user or replaces their password hash and role.
pub(super) async fn put_user(
    client: &mut Object,
    user: &UserRecord,
    now: Timestamp,
    entry: &AuditEntry,
) -> StoreResult<()> {
    let tx = client.transaction().await?;
    tx.execute(
        "INSERT INTO hq_users (username, password_hash, role, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (username) DO UPDATE SET password_hash = EXCLUDED.password_hash,
            role = EXCLUDED.role",
        &[
            &user.username,
            &user.password_hash,
            &user.role,
            &now.to_rfc3339(),
        ],
    )
    .await?;
    audit(&tx, entry).await?;
    tx.commit().await?;
    Ok(())
}

/// Changes a user's role.
pub(super) async fn set_user_role(
    client: &mut Object,
    username: &str,
    role: &str,
    entry: &AuditEntry,
) -> BackOffice<()> {
    let tx = client.transaction().await?;
    let n = tx
        .execute(
            "UPDATE hq_users SET role = $2 WHERE username = $1",
            &[&username, &role],
        )
        .await?;
    if n == 0 {
        return Ok(Err(BackOfficeRefusal::UnknownUser));
    }
    audit(&tx, entry).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Every user, by name.
pub(super) async fn users<C: GenericClient>(client: &C) -> StoreResult<Vec<UserListing>> {
    client
        .query(
            concat!(
                "SELECT ",
                columns!(user_listing),
                " FROM hq_users ORDER BY username"
            ),
            &[],
        )
        .await?
        .iter()
        .map(user_listing_from_row)
        .collect()
}

/// The audit trail, newest first.
pub(super) async fn audit_trail<C: GenericClient>(
    client: &C,
    subject: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<AuditEntry>> {
    client
        .query(
            concat!(
                "SELECT ",
                columns!(audit_entry),
                " FROM audit WHERE $1::text IS NULL OR subject = $1 ORDER BY id DESC LIMIT $2"
            ),
            &[&subject, &limit.max(0)],
        )
        .await?
        .iter()
        .map(audit_entry_from_row)
        .collect()
}

/// Changes a member's row (`change`), telling every terminal (a member
/// change), with its audit row. An erased or unknown member is refused.
pub(super) async fn change_member(
    client: &mut Object,
    member: MemberId,
    change: &MemberRowChange,
    entry: &AuditEntry,
) -> BackOffice<()> {
    let tx = client.transaction().await?;
    let id = member.to_string();
    let n = match change {
        MemberRowChange::Frozen(frozen) => {
            tx.execute(
                "UPDATE members SET frozen = $2 WHERE member_id = $1 AND erased_at IS NULL",
                &[&id, frozen],
            )
            .await?
        }
        MemberRowChange::Tags(tags) => {
            tx.execute(
                "UPDATE members SET tags = $2 WHERE member_id = $1 AND erased_at IS NULL",
                &[&id, tags],
            )
            .await?
        }
    };
    if n == 0 {
        return Ok(Err(BackOfficeRefusal::UnknownMember));
    }
    push_change(&tx, "member", Some(member), None).await?;
    audit(&tx, entry).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Re-issues a member's card, as on SQLite: the serial raised, the card
/// before revoked, a member change, the audit row, in one transaction
/// under the member's lock (no batch plans against the row meanwhile).
pub(super) async fn reissue_card(
    client: &mut Object,
    member: MemberId,
    entry: &AuditEntry,
) -> BackOffice<u16> {
    let tx = client.transaction().await?;
    tx.execute(
        super::locks::LOCK_KEYS,
        &[&vec![super::locks::member_lock_key(member)]],
    )
    .await?;
    let id = member.to_string();
    let Some(row) = tx
        .query_opt(
            "SELECT card_serial, merged_into IS NOT NULL FROM members
             WHERE member_id = $1 AND erased_at IS NULL FOR UPDATE",
            &[&id],
        )
        .await?
    else {
        return Ok(Err(BackOfficeRefusal::UnknownMember));
    };
    let old: i32 = row.try_get(0)?;
    if row.try_get::<_, bool>(1)? {
        return Ok(Err(BackOfficeRefusal::AlreadyMerged));
    }
    let Some(new) = u16::try_from(old).ok().and_then(|s| s.checked_add(1)) else {
        return Ok(Err(BackOfficeRefusal::CardSerialsUsedUp));
    };
    tx.execute(
        "UPDATE members SET card_serial = $2 WHERE member_id = $1",
        &[&id, &i32::from(new)],
    )
    .await?;
    let revocation = crate::store::back_office::card_revocation(member, i64::from(old));
    push_change(&tx, "revocation", Some(member), Some(&revocation)).await?;
    push_change(&tx, "member", Some(member), None).await?;
    audit(&tx, entry).await?;
    tx.commit().await?;
    Ok(Ok(new))
}
