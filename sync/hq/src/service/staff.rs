//! Staff between head office and the terminals: what a clerk's change on
//! the downlink becomes for one terminal ([`Hq::staff_change`]: the
//! clerk's current record, the PIN hash sealed to that terminal alone, or
//! their removal where they no longer work), and a clerk's PIN set-up at a
//! terminal with the one-time setup code ([`Hq::set_pin`],
//! `POST /v1/staff/pin`).
//!
//! Neither a PIN hash nor a setup code reaches a log line, a metric, the
//! audit trail or an error message: logs name the staff id only.

use tillcard_protocol::auth;
use tillcard_protocol::staff::{self, SetPinRequest, StaffSnapshot};
use tillcard_protocol::wire::{self, Change};

use super::Hq;
use super::checks::refusal;
use crate::dashboard;
use crate::error::HqError;
use crate::store::{BackOfficeRefusal, StaffRecord, StaffUpdate, TerminalRecord, back_office};

/// Longest sealed PIN hash taken, in characters (a PHC string of Argon2id
/// is about 100; sealed and in base64, under 200).
const MAX_SEALED_PIN_HASH_CHARS: usize = 1024;
/// Longest PIN hash taken once opened.
const MAX_PIN_HASH_CHARS: usize = 512;

/// The payload of a staff change row: the clerk's id alone (the downlink
/// loads the current record when a terminal asks).
#[derive(serde::Deserialize)]
struct StaffChangePayload {
    staff_id: String,
}

fn corrupt(what: &str) -> HqError {
    HqError::Internal(crate::store::StoreError::Corrupt(what.into()))
}

/// `record` as `terminal` holds it: the PIN hash sealed to that terminal.
fn snapshot_for(record: &StaffRecord, terminal: &TerminalRecord) -> Result<StaffSnapshot, HqError> {
    let sealed_pin_hash = record
        .pin_hash
        .as_deref()
        .map(|hash| auth::seal_to_terminal(&terminal.public_key, hash))
        .transpose()
        .map_err(|_| corrupt("terminal key"))?;
    Ok(StaffSnapshot {
        staff_id: record.staff_id.clone(),
        display_name: record.display_name.clone(),
        role: record.role,
        active: record.active,
        sealed_pin_hash,
    })
}

/// Whether `text` is an Argon2id hash in PHC string form.
fn is_argon2id_phc(text: &str) -> bool {
    text.len() <= MAX_PIN_HASH_CHARS
        && argon2::password_hash::PasswordHash::new(text)
            .is_ok_and(|h| h.algorithm.as_str() == "argon2id" && h.hash.is_some())
}

impl Hq {
    /// The staff id a staff change row's payload names.
    pub(super) fn staff_id_of(&self, payload: Option<&str>) -> Result<String, HqError> {
        let payload: StaffChangePayload =
            crate::store::parse_json(payload.ok_or_else(|| corrupt("staff change"))?)?;
        Ok(payload.staff_id)
    }

    /// What the change of clerk `staff_id` is for `terminal`: the clerk's
    /// current record if they work at its store, else their removal.
    pub(super) async fn staff_change(
        &self,
        terminal: &TerminalRecord,
        staff_id: &str,
    ) -> Result<Change, HqError> {
        match self.store.staff_member(staff_id).await? {
            Some(record) if record.stores.contains(&terminal.store) => Ok(Change::Staff {
                staff: snapshot_for(&record, terminal)?,
                signature: None,
            }),
            _ => Ok(Change::StaffRemoved {
                staff_id: staff_id.to_string(),
                signature: None,
            }),
        }
    }

    /// A clerk sets their PIN at `terminal` with the setup code head
    /// office showed: the clerk must be active and work at the terminal's
    /// store, the code must be theirs, unused, unexpired and not void
    /// (five wrong codes void it; each is counted). The PIN's hash is
    /// stored, the code voided, the change sent down and audited in one
    /// transaction; the answer is the clerk's record sealed to `terminal`.
    pub async fn set_pin(
        &self,
        terminal: &TerminalRecord,
        request: &SetPinRequest,
    ) -> Result<StaffSnapshot, HqError> {
        let bad = |code: &'static str, message: &str| {
            HqError::Refused(
                axum::http::StatusCode::BAD_REQUEST,
                code,
                message.to_string(),
            )
        };
        if request.protocol_version != wire::PROTOCOL_VERSION {
            return Err(HqError::BadRequest("unsupported protocol_version".into()));
        }
        if !staff::is_staff_id(&request.staff_id) {
            return Err(bad(
                "invalid_staff_id",
                "staff id: 1 to 32 ASCII letters, digits, . _ or -",
            ));
        }
        if !staff::is_setup_code(&request.setup_code) {
            return Err(bad("invalid_setup_code", "a setup code is 8 digits"));
        }
        if request.sealed_pin_hash.len() > MAX_SEALED_PIN_HASH_CHARS {
            return Err(bad("invalid_pin_hash", "sealed_pin_hash is too long"));
        }
        let pin_hash = auth::open_sealed(&self.ingest_keys.box_secret, &request.sealed_pin_hash)
            .ok()
            .filter(|hash| is_argon2id_phc(hash))
            .ok_or_else(|| {
                bad(
                    "invalid_pin_hash",
                    "sealed_pin_hash must be an Argon2id PHC string sealed to head office",
                )
            })?;
        let staff_id = request.staff_id.as_str();
        let actor = format!("terminal:{}", terminal.terminal_id);
        let Some(current) = self.store.staff_member(staff_id).await? else {
            return Err(refusal(BackOfficeRefusal::UnknownStaff));
        };
        // Refusals that need no code comparison come first, so a void or
        // expired code is not compared (nor counted) at all.
        if let Some(refused) = back_office::setup_refusal(&current, &terminal.store, super::now()) {
            tracing::warn!(staff = %staff_id, terminal = %terminal.terminal_id, "PIN set-up refused");
            return Err(refusal(refused));
        }
        let Some(setup_hash) = current.setup_code_hash.clone() else {
            return Err(refusal(BackOfficeRefusal::SetupCodeUsed));
        };
        let (given, checked) = (request.setup_code.clone(), setup_hash.clone());
        let matches =
            tokio::task::spawn_blocking(move || dashboard::verify_password(&checked, &given))
                .await
                .unwrap_or(false);
        let update = if matches {
            StaffUpdate::SetPin {
                verified_setup_code_hash: setup_hash,
                pin_hash,
                store: terminal.store.clone(),
            }
        } else {
            StaffUpdate::SetupFailed {
                checked_setup_code_hash: setup_hash,
                store: terminal.store.clone(),
            }
        };
        match self
            .store
            .update_staff(staff_id, &update, &actor, super::now())
            .await?
        {
            Ok(record) => {
                tracing::info!(staff = %staff_id, terminal = %terminal.terminal_id, "PIN set");
                snapshot_for(&record, terminal)
            }
            Err(refused) => {
                tracing::warn!(staff = %staff_id, terminal = %terminal.terminal_id, "PIN set-up refused");
                Err(refusal(refused))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_argon2id_phc_strings_are_pin_hashes() {
        let hash = dashboard::hash_password("1234").unwrap();
        assert!(is_argon2id_phc(&hash));
        assert!(!is_argon2id_phc("1234"));
        assert!(!is_argon2id_phc(
            "$argon2i$v=19$m=16,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"
        ));
        assert!(!is_argon2id_phc(&"a".repeat(600)));
    }
}
