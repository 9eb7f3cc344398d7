//! The back office's records (stores, staff, enrollment codes, terminals
//! and head-office users as listed, the audit trail) and the one pure rule
//! both backends apply inside a staff change's transaction
//! ([`plan_staff_update`]): what a change does to a clerk's row, whether it
//! is refused, and what the audit trail and the downlink say of it.
//!
//! A leaf: it uses nothing else of the store, so both backends and the
//! trait can use it.

use chrono::{DateTime, FixedOffset};
use tillcard_protocol::staff::StaffRole;

/// Wrong setup codes a clerk may type before the code is void (a reset
/// issues a new one).
pub const MAX_SETUP_FAILURES: u32 = 5;

/// A store of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreRecord {
    /// Its code (`tillcard_protocol::staff::is_store_code`).
    pub code: String,
    /// Its name.
    pub name: String,
    /// Its IANA time zone (`Asia/Shanghai`).
    pub time_zone: String,
    /// Its address (may be empty).
    pub address: String,
    /// When it was created (RFC 3339).
    pub created_at: String,
}

/// What a store update changes (`None`: kept).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StorePatch {
    /// New name.
    pub name: Option<String>,
    /// New time zone.
    pub time_zone: Option<String>,
    /// New address.
    pub address: Option<String>,
}

/// A clerk as head office holds them. `Debug` leaves the hashes out.
#[derive(Clone, PartialEq, Eq)]
pub struct StaffRecord {
    /// Chain-wide id.
    pub staff_id: String,
    /// The name on the sign-in button, trimmed.
    pub display_name: String,
    /// Cashier or manager.
    pub role: StaffRole,
    /// Refused at sign-in when false.
    pub active: bool,
    /// The stores they work at, in code order.
    pub stores: Vec<String>,
    /// Their PIN's Argon2id hash, once set.
    pub pin_hash: Option<String>,
    /// The outstanding setup code's Argon2id hash, if any.
    pub setup_code_hash: Option<String>,
    /// When that code expires (RFC 3339).
    pub setup_expires_at: Option<String>,
    /// Wrong codes typed since it was issued.
    pub setup_failures: u32,
    /// Last change (RFC 3339).
    pub updated_at: String,
}

impl std::fmt::Debug for StaffRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffRecord")
            .field("staff_id", &self.staff_id)
            .field("role", &self.role)
            .field("active", &self.active)
            .field("stores", &self.stores)
            .field("has_pin", &self.pin_hash.is_some())
            .field("has_setup_code", &self.setup_code_hash.is_some())
            .field("setup_failures", &self.setup_failures)
            .finish_non_exhaustive()
    }
}

/// The key a display name is unique by within a store: trimmed and
/// lower-cased.
pub fn name_key(display_name: &str) -> String {
    display_name.trim().to_lowercase()
}

/// One row of the audit trail. `detail` never holds a code, a hash or
/// personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// When (RFC 3339).
    pub at: String,
    /// Who: `admin-token`, `cli`, a head-office user name, or
    /// `terminal:<id>`.
    pub actor: String,
    /// What (`store_created`, `staff_deactivated`, ...).
    pub action: String,
    /// About what: `store:<code>`, `staff:<id>`, `terminal:<id>`,
    /// `user:<name>`, `code:<code id>`.
    pub subject: String,
    /// Anything more, in words.
    pub detail: String,
}

/// An enrollment code as listed (never the code itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollCodeRecord {
    /// The first 12 hex digits of the code's SHA-256: enough to tell codes
    /// apart, useless to redeem one.
    pub code_id: String,
    /// Its store.
    pub store: String,
    /// When it was issued (RFC 3339).
    pub issued_at: String,
    /// When it expires (none for codes issued before codes expired).
    pub expires_at: Option<String>,
    /// When a terminal redeemed it.
    pub used_at: Option<String>,
    /// The terminal that redeemed it.
    pub used_by: Option<String>,
}

/// A terminal as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalListing {
    /// Its id.
    pub terminal_id: String,
    /// Its store.
    pub store: String,
    /// When it redeemed its code (RFC 3339).
    pub registered_at: String,
    /// When it last sent a batch (ms since the epoch).
    pub last_batch_at_ms: Option<i64>,
    /// Highest contiguous seq stored.
    pub acked_seq: u64,
    /// The outbox head it last reported.
    pub outbox_head_seq: Option<u64>,
    /// Refused from now on.
    pub revoked: bool,
    /// The version of its software it last reported.
    pub app_version: Option<String>,
    /// Its wall clock minus head office's (ms, positive when ahead) as last
    /// recorded (issue 22); `None` until then.
    pub clock_skew_ms: Option<i64>,
}

/// A head-office user as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserListing {
    /// Login name.
    pub username: String,
    /// Role (`admin`, `store_ops`, `marketing`, `analyst`, `auditor`).
    pub role: String,
    /// When created (RFC 3339).
    pub created_at: String,
}

/// Why the store refused a back-office change (nothing was written,
/// except the failure count of a wrong setup code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackOfficeRefusal {
    /// No such store (the code named).
    UnknownStore(String),
    /// A store with this code exists.
    StoreExists,
    /// A clerk with this id exists.
    StaffExists,
    /// No such clerk.
    UnknownStaff,
    /// Another clerk of this store has this display name.
    DuplicateName(String),
    /// No such head-office user.
    UnknownUser,
    /// No such terminal.
    UnknownTerminal,
    /// No such member (or erased).
    UnknownMember,
    /// No such conflict.
    UnknownConflict,
    /// The conflict is closed already.
    ConflictClosed,
    /// The clerk has no outstanding setup code (used, or none issued).
    SetupCodeUsed,
    /// Too many wrong codes: void until a reset.
    SetupCodeVoid,
    /// The setup code expired.
    SetupCodeExpired,
    /// The setup code is not the clerk's.
    SetupCodeWrong,
    /// The clerk is deactivated.
    StaffInactive,
    /// The clerk does not work at the terminal's store.
    StaffNotAtStore,
    /// A campaign with this code exists.
    CampaignExists,
    /// No such campaign.
    UnknownCampaign,
    /// The campaign was stopped already.
    CampaignStopped,
    /// The member's card serials are used up (65,535 re-issues).
    CardSerialsUsedUp,
    /// A member cannot be merged into themselves.
    MergeSameMember,
    /// The two members' phones differ: they are not one person's accounts.
    DifferentPhones,
    /// The member was merged into another already.
    AlreadyMerged,
    /// No such dead letter.
    UnknownDeadLetter,
    /// The dead letter was dismissed already.
    DeadLetterClosed,
    /// No such terminal flag.
    UnknownFlag,
    /// The terminal flag is closed already.
    FlagClosed,
    /// The event is no longer dead-lettered (re-applied meanwhile).
    NotDeadLettered,
    /// No such walk-in sale returned twice.
    UnknownWalkInReturn,
    /// The walk-in sale returned twice was acknowledged already.
    WalkInReturnAcknowledged,
}

/// A change to one clerk.
#[derive(Clone, PartialEq, Eq)]
pub enum StaffUpdate {
    /// Allowed to sign in again.
    Activate,
    /// Refused at sign-in.
    Deactivate,
    /// A new display name (trimmed, validated).
    Rename(String),
    /// The stores they work at from now on (validated, not empty).
    SetStores(Vec<String>),
    /// PIN cleared, a new setup code issued.
    ResetPin {
        /// The new code's Argon2id hash.
        setup_code_hash: String,
        /// When it expires (RFC 3339).
        expires_at: String,
    },
    /// The PIN set with the setup code whose hash was checked.
    SetPin {
        /// The setup code hash the typed code verified against.
        verified_setup_code_hash: String,
        /// The new PIN's Argon2id hash.
        pin_hash: String,
        /// The store of the terminal it was set at.
        store: String,
    },
    /// A wrong setup code typed at a terminal of `store`.
    SetupFailed {
        /// The setup code hash the typed code failed against.
        checked_setup_code_hash: String,
        /// The store of the terminal it was typed at.
        store: String,
    },
}

impl std::fmt::Debug for StaffUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.action())
    }
}

impl StaffUpdate {
    /// The audit trail's word for it.
    pub fn action(&self) -> &'static str {
        match self {
            StaffUpdate::Activate => "staff_activated",
            StaffUpdate::Deactivate => "staff_deactivated",
            StaffUpdate::Rename(_) => "staff_renamed",
            StaffUpdate::SetStores(_) => "staff_stores_set",
            StaffUpdate::ResetPin { .. } => "staff_pin_reset",
            StaffUpdate::SetPin { .. } => "staff_pin_set",
            StaffUpdate::SetupFailed { .. } => "staff_setup_code_wrong",
        }
    }
}

/// What a staff change does, decided by [`plan_staff_update`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffPlan {
    /// The clerk's row after the change.
    pub next: StaffRecord,
    /// Refused: nothing is written unless `write`.
    pub refusal: Option<BackOfficeRefusal>,
    /// Whether the row is written (and audited).
    pub write: bool,
    /// Whether the stores must exist and the name be unique in each (the
    /// backend checks both in the transaction).
    pub check_stores: bool,
    /// Whether terminals are told (a staff change on the downlink).
    pub push_change: bool,
    /// The audit row's detail.
    pub detail: String,
}

/// What `update` does to `current` at `now`: the one rule of a staff
/// change, applied by both backends to the row they locked.
pub fn plan_staff_update(
    current: &StaffRecord,
    update: &StaffUpdate,
    now: DateTime<FixedOffset>,
) -> StaffPlan {
    let mut next = current.clone();
    next.updated_at = now.to_rfc3339();
    let done = |next: StaffRecord, check_stores: bool, detail: String| StaffPlan {
        next,
        refusal: None,
        write: true,
        check_stores,
        push_change: true,
        detail,
    };
    let refused = |refusal: BackOfficeRefusal| StaffPlan {
        next: current.clone(),
        refusal: Some(refusal),
        write: false,
        check_stores: false,
        push_change: false,
        detail: String::new(),
    };
    match update {
        StaffUpdate::Activate => {
            next.active = true;
            done(next, false, String::new())
        }
        StaffUpdate::Deactivate => {
            next.active = false;
            done(next, false, String::new())
        }
        StaffUpdate::Rename(name) => {
            next.display_name = name.clone();
            done(next, true, String::new())
        }
        StaffUpdate::SetStores(stores) => {
            let mut stores = stores.clone();
            stores.sort();
            stores.dedup();
            let detail = format!("stores {}", stores.join(", "));
            next.stores = stores;
            done(next, true, detail)
        }
        StaffUpdate::ResetPin {
            setup_code_hash,
            expires_at,
        } => {
            next.pin_hash = None;
            next.setup_code_hash = Some(setup_code_hash.clone());
            next.setup_expires_at = Some(expires_at.clone());
            next.setup_failures = 0;
            done(next, false, format!("setup code expires {expires_at}"))
        }
        StaffUpdate::SetPin {
            verified_setup_code_hash,
            pin_hash,
            store,
        } => {
            if let Some(refusal) = setup_refusal(current, store, now) {
                return refused(refusal);
            }
            if current.setup_code_hash.as_deref() != Some(verified_setup_code_hash.as_str()) {
                // Reset (or used) between the check and this transaction.
                return refused(BackOfficeRefusal::SetupCodeWrong);
            }
            next.pin_hash = Some(pin_hash.clone());
            next.setup_code_hash = None;
            next.setup_expires_at = None;
            next.setup_failures = 0;
            done(next, false, format!("at store {store}"))
        }
        StaffUpdate::SetupFailed {
            checked_setup_code_hash,
            store,
        } => {
            if let Some(refusal) = setup_refusal(current, store, now) {
                return refused(refusal);
            }
            if current.setup_code_hash.as_deref() != Some(checked_setup_code_hash.as_str()) {
                return refused(BackOfficeRefusal::SetupCodeWrong);
            }
            next.setup_failures = current.setup_failures.saturating_add(1);
            StaffPlan {
                detail: format!(
                    "wrong setup code at store {store} ({} of {MAX_SETUP_FAILURES})",
                    next.setup_failures
                ),
                next,
                refusal: Some(BackOfficeRefusal::SetupCodeWrong),
                write: true,
                check_stores: false,
                push_change: false,
            }
        }
    }
}

/// Why a setup code typed at a terminal of `store` cannot be taken, before
/// the code itself is compared.
pub fn setup_refusal(
    current: &StaffRecord,
    store: &str,
    now: DateTime<FixedOffset>,
) -> Option<BackOfficeRefusal> {
    if !current.stores.iter().any(|s| s == store) {
        return Some(BackOfficeRefusal::StaffNotAtStore);
    }
    if !current.active {
        return Some(BackOfficeRefusal::StaffInactive);
    }
    if current.setup_code_hash.is_none() {
        return Some(BackOfficeRefusal::SetupCodeUsed);
    }
    if current.setup_failures >= MAX_SETUP_FAILURES {
        return Some(BackOfficeRefusal::SetupCodeVoid);
    }
    let expired = current
        .setup_expires_at
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .is_none_or(|expires| expires <= now);
    expired.then_some(BackOfficeRefusal::SetupCodeExpired)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clerk() -> StaffRecord {
        StaffRecord {
            staff_id: "wang".into(),
            display_name: "王芳".into(),
            role: StaffRole::Cashier,
            active: true,
            stores: vec!["S001".into()],
            pin_hash: None,
            setup_code_hash: Some("H".into()),
            setup_expires_at: Some("2026-11-27T10:00:00+00:00".into()),
            setup_failures: 0,
            updated_at: "2026-11-20T10:00:00+00:00".into(),
        }
    }

    fn at(text: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(text).unwrap()
    }

    fn set_pin(store: &str) -> StaffUpdate {
        StaffUpdate::SetPin {
            verified_setup_code_hash: "H".into(),
            pin_hash: "P".into(),
            store: store.into(),
        }
    }

    #[test]
    fn a_pin_is_set_once_with_an_unexpired_code_at_the_clerks_store() {
        let now = at("2026-11-21T10:00:00+00:00");
        let plan = plan_staff_update(&clerk(), &set_pin("S001"), now);
        assert_eq!(plan.refusal, None);
        assert_eq!(plan.next.pin_hash.as_deref(), Some("P"));
        assert_eq!(plan.next.setup_code_hash, None);
        let again = plan_staff_update(&plan.next, &set_pin("S001"), now);
        assert_eq!(again.refusal, Some(BackOfficeRefusal::SetupCodeUsed));
        assert!(!again.write);
        let elsewhere = plan_staff_update(&clerk(), &set_pin("S002"), now);
        assert_eq!(elsewhere.refusal, Some(BackOfficeRefusal::StaffNotAtStore));
        let late = plan_staff_update(&clerk(), &set_pin("S001"), at("2026-11-28T10:00:00Z"));
        assert_eq!(late.refusal, Some(BackOfficeRefusal::SetupCodeExpired));
        let mut inactive = clerk();
        inactive.active = false;
        let refused = plan_staff_update(&inactive, &set_pin("S001"), now);
        assert_eq!(refused.refusal, Some(BackOfficeRefusal::StaffInactive));
    }

    #[test]
    fn five_wrong_codes_void_the_code_until_a_reset() {
        let now = at("2026-11-21T10:00:00+00:00");
        let failed = StaffUpdate::SetupFailed {
            checked_setup_code_hash: "H".into(),
            store: "S001".into(),
        };
        let mut current = clerk();
        for n in 1..=MAX_SETUP_FAILURES {
            let plan = plan_staff_update(&current, &failed, now);
            assert!(plan.write && !plan.push_change);
            assert_eq!(plan.refusal, Some(BackOfficeRefusal::SetupCodeWrong));
            assert_eq!(plan.next.setup_failures, n);
            current = plan.next;
        }
        let void = plan_staff_update(&current, &set_pin("S001"), now);
        assert_eq!(void.refusal, Some(BackOfficeRefusal::SetupCodeVoid));
        let reset = StaffUpdate::ResetPin {
            setup_code_hash: "H".into(),
            expires_at: "2026-11-28T10:00:00+00:00".into(),
        };
        let plan = plan_staff_update(&current, &reset, now);
        assert_eq!(plan.next.setup_failures, 0);
        assert_eq!(
            plan_staff_update(&plan.next, &set_pin("S001"), now).refusal,
            None
        );
    }

    #[test]
    fn debug_never_shows_a_hash() {
        let mut c = clerk();
        c.pin_hash = Some("$argon2id$secret".into());
        assert!(!format!("{c:?}").contains("argon2id"));
        assert!(!format!("{:?}", set_pin("S001")).contains('P'));
    }
}

/// A change to one member's row at head office that every terminal hears
/// of (a member change on the downlink: the next snapshot carries it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberRowChange {
    /// Frozen (member care) or not.
    Frozen(bool),
    /// The member's tags, as a JSON array.
    Tags(String),
}

/// The downlink payload revoking one card of a member: the (member, card
/// serial) pair, as `POST /v1/admin/revocations` writes it.
pub(crate) fn card_revocation(member: tillcard_rules::ids::MemberId, serial: i64) -> String {
    serde_json::json!({
        "member": member,
        "card_serial": serial.to_string(),
    })
    .to_string()
}
