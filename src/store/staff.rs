//! Clerks head office sets up: a [`StaffSnapshot`] from the downlink (or
//! from the answer to a PIN set-up) written into the clerks table, and a
//! clerk who left this store forgotten. Head office owns these clerks: a
//! deactivation is refused at the next sign-in, a PIN set at another
//! terminal of the store signs in here too.
//!
//! A PIN hash arrives sealed to this terminal's key; it is opened here,
//! checked to be an Argon2id PHC string and stored, never logged.

use rusqlite::{Transaction, params};
use tillcard_protocol::client::TerminalCredentials;
use tillcard_protocol::staff::{StaffSnapshot, is_display_name, is_staff_id};

use super::clerks::{Role, is_argon2id_hash};
use super::{Store, StoreError, audit};

/// Who the audit log names for what head office changed.
const HEAD_OFFICE: &str = "head-office";

/// A staff change that cannot be applied (the page it came in is not).
fn refused(why: &str) -> StoreError {
    StoreError::Damaged(format!("staff change from head office: {why}"))
}

/// Writes `staff` as head office sent it, inside the caller's transaction.
/// A new PIN hash (or none) clears the clerk's failed attempts; the same
/// one keeps them, so a sync never lifts a lockout.
pub(crate) fn upsert(
    tx: &Transaction<'_>,
    credentials: Option<&TerminalCredentials>,
    staff: &StaffSnapshot,
    at: &str,
) -> Result<(), StoreError> {
    if !is_staff_id(&staff.staff_id) || !is_display_name(&staff.display_name) {
        return Err(refused("a staff id or display name out of bounds"));
    }
    let pin_hash = match &staff.sealed_pin_hash {
        None => None,
        Some(sealed) => {
            let credentials = credentials.ok_or_else(|| refused("not registered"))?;
            let hash = credentials
                .open_pin_hash(sealed)
                .map_err(|_| refused("a PIN hash not sealed to this terminal"))?;
            if !is_argon2id_hash(&hash) {
                return Err(refused("a PIN hash that is not Argon2id"));
            }
            Some(hash)
        }
    };
    let role = Role::from(staff.role);
    tx.execute(
        "INSERT INTO clerks (clerk_id, display_name, role, pin_hash, active, from_hq)
         VALUES (?1, ?2, ?3, ?4, ?5, 1)
         ON CONFLICT(clerk_id) DO UPDATE SET
            display_name = excluded.display_name, role = excluded.role,
            failed_attempts = CASE WHEN clerks.pin_hash IS excluded.pin_hash
                                   THEN clerks.failed_attempts ELSE 0 END,
            lock_ms = CASE WHEN clerks.pin_hash IS excluded.pin_hash
                           THEN clerks.lock_ms ELSE 0 END,
            pin_hash = excluded.pin_hash, active = excluded.active, from_hq = 1",
        params![
            staff.staff_id,
            staff.display_name,
            role.as_str(),
            pin_hash,
            staff.active
        ],
    )?;
    let what = match (staff.active, staff.sealed_pin_hash.is_some()) {
        (false, _) => "deactivated",
        (true, true) => "active",
        (true, false) => "active, no PIN yet",
    };
    audit::append(
        tx,
        at,
        HEAD_OFFICE,
        "staff_updated",
        &format!("{} ({what})", staff.staff_id),
    )
}

/// Forgets a clerk who no longer works at this store.
pub(crate) fn remove(tx: &Transaction<'_>, staff_id: &str, at: &str) -> Result<(), StoreError> {
    if !is_staff_id(staff_id) {
        return Err(refused("a staff id out of bounds"));
    }
    tx.execute("DELETE FROM clerks WHERE clerk_id = ?1", [staff_id])?;
    audit::append(tx, at, HEAD_OFFICE, "staff_removed", staff_id)
}

impl Store {
    /// Applies one clerk as head office answered a PIN set-up, in one
    /// transaction (the downlink brings the same record later; applying it
    /// twice changes nothing).
    pub fn apply_staff(&mut self, staff: &StaffSnapshot) -> Result<(), StoreError> {
        let credentials = self.credentials().cloned();
        let at = self.clock.now().to_rfc3339();
        self.write(|tx, _| upsert(tx, credentials.as_ref(), staff, &at))?;
        tracing::info!(staff = %staff.staff_id, active = staff.active, "clerk from head office applied");
        Ok(())
    }
}
