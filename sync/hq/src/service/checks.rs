//! The back office's input checks and refusal codes: what a store code,
//! a store's name, time zone and address, a staff id, a display name and
//! a clerk's stores must be, checked before any SQL; and the one mapping
//! of the store's refusals to statuses and stable codes ([`refusal`]).
//! Messages never quote a code, a hash or a name.

use axum::http::StatusCode;
use tillcard_protocol::staff;

use crate::error::HqError;
use crate::store::BackOfficeRefusal;

/// Days an enrollment code or a setup code stays good unless told.
pub const DEFAULT_CODE_DAYS: u32 = 7;
/// Most days an enrollment code may be issued for.
pub const MAX_CODE_DAYS: u32 = 90;
/// Most stores a clerk works at.
pub const MAX_STAFF_STORES: usize = 20;
/// Longest store name, in characters.
pub const MAX_STORE_NAME_CHARS: usize = 100;
/// Longest store address, in characters.
pub const MAX_ADDRESS_CHARS: usize = 200;
/// Most audit rows one listing answers.
pub const MAX_AUDIT_ROWS: i64 = 1000;

pub(super) fn bad(code: &'static str, message: impl Into<String>) -> HqError {
    HqError::Refused(StatusCode::BAD_REQUEST, code, message.into())
}

/// The answer to a store's refusal: its status, stable code and words.
pub fn refusal(r: BackOfficeRefusal) -> HqError {
    use BackOfficeRefusal::*;
    let (status, code, message) = match r {
        UnknownStore(store) => (
            StatusCode::NOT_FOUND,
            "unknown_store",
            format!("no store {store}"),
        ),
        StoreExists => (
            StatusCode::CONFLICT,
            "store_exists",
            "a store with this code exists".into(),
        ),
        StaffExists => (
            StatusCode::CONFLICT,
            "staff_exists",
            "a clerk with this id exists".into(),
        ),
        UnknownStaff => (
            StatusCode::NOT_FOUND,
            "unknown_staff",
            "no such clerk".into(),
        ),
        DuplicateName(store) => (
            StatusCode::CONFLICT,
            "duplicate_staff_name",
            format!("another clerk of store {store} has this display name"),
        ),
        UnknownUser => (
            StatusCode::NOT_FOUND,
            "unknown_user",
            "no such head-office user".into(),
        ),
        UnknownTerminal => (
            StatusCode::NOT_FOUND,
            "not_found",
            "no such terminal".into(),
        ),
        UnknownMember => (
            StatusCode::NOT_FOUND,
            "unknown_member",
            "no such member (or erased)".into(),
        ),
        UnknownConflict => (
            StatusCode::NOT_FOUND,
            "unknown_conflict",
            "no such conflict".into(),
        ),
        ConflictClosed => (
            StatusCode::CONFLICT,
            "conflict_closed",
            "this conflict is closed already".into(),
        ),
        SetupCodeUsed => (
            StatusCode::FORBIDDEN,
            "setup_code_used",
            "no setup code is outstanding for this clerk: ask head office to reset the PIN".into(),
        ),
        SetupCodeVoid => (
            StatusCode::FORBIDDEN,
            "setup_code_void",
            "too many wrong setup codes: ask head office to reset the PIN".into(),
        ),
        SetupCodeExpired => (
            StatusCode::FORBIDDEN,
            "setup_code_expired",
            "the setup code expired: ask head office to reset the PIN".into(),
        ),
        SetupCodeWrong => (
            StatusCode::FORBIDDEN,
            "setup_code_wrong",
            "wrong setup code".into(),
        ),
        StaffInactive => (
            StatusCode::FORBIDDEN,
            "staff_inactive",
            "this clerk is deactivated".into(),
        ),
        StaffNotAtStore => (
            StatusCode::FORBIDDEN,
            "staff_not_at_store",
            "this clerk does not work at this terminal's store".into(),
        ),
        CampaignExists => (
            StatusCode::CONFLICT,
            "campaign_exists",
            "a campaign with this code exists".into(),
        ),
        UnknownCampaign => (
            StatusCode::NOT_FOUND,
            "unknown_campaign",
            "no such campaign".into(),
        ),
        CampaignStopped => (
            StatusCode::CONFLICT,
            "campaign_stopped",
            "this campaign is stopped already".into(),
        ),
        CardSerialsUsedUp => (
            StatusCode::CONFLICT,
            "card_serials_used_up",
            "this member's card serials are used up".into(),
        ),
        MergeSameMember => (
            StatusCode::BAD_REQUEST,
            "merge_same_member",
            "a member cannot be merged into themselves".into(),
        ),
        DifferentPhones => (
            StatusCode::CONFLICT,
            "different_phones",
            "the two members' phones differ: only accounts of one phone are merged".into(),
        ),
        AlreadyMerged => (
            StatusCode::CONFLICT,
            "already_merged",
            "the member was merged into another already".into(),
        ),
        UnknownDeadLetter => (
            StatusCode::NOT_FOUND,
            "unknown_dead_letter",
            "no such dead letter".into(),
        ),
        DeadLetterClosed => (
            StatusCode::CONFLICT,
            "dead_letter_closed",
            "this dead letter is closed already".into(),
        ),
        UnknownFlag => (
            StatusCode::NOT_FOUND,
            "unknown_flag",
            "no such terminal flag".into(),
        ),
        FlagClosed => (
            StatusCode::CONFLICT,
            "flag_closed",
            "this terminal flag is closed already".into(),
        ),
        NotDeadLettered => (
            StatusCode::CONFLICT,
            "not_dead_lettered",
            "the event is no longer dead-lettered".into(),
        ),
        UnknownWalkInReturn => (
            StatusCode::NOT_FOUND,
            "unknown_walk_in_return",
            "no such walk-in sale returned twice".into(),
        ),
        WalkInReturnAcknowledged => (
            StatusCode::CONFLICT,
            "walk_in_return_acknowledged",
            "this walk-in sale returned twice was acknowledged already".into(),
        ),
    };
    HqError::Refused(status, code, message)
}

/// Unwraps a store's answer to a back-office change.
pub(super) fn answer<T>(result: Result<T, BackOfficeRefusal>) -> Result<T, HqError> {
    result.map_err(refusal)
}

/// The IANA time zone names (zones and links) of the tz database, one a
/// line (`time_zones.txt`, from tzdata 2025b). A list rather than the
/// `chrono-tz` crate: head office only checks a store's time zone by name
/// (it neither converts times in it nor sends rules down), and a list of
/// names is 10 kB where the crate compiles the whole database in.
const TIME_ZONES: &str = include_str!("time_zones.txt");

/// Whether `text` names an IANA time zone (`Asia/Shanghai`, `UTC`).
pub fn is_time_zone(text: &str) -> bool {
    !text.is_empty() && !text.starts_with('#') && TIME_ZONES.lines().any(|name| name == text)
}

pub(super) fn check_store_code(code: &str) -> Result<(), HqError> {
    if staff::is_store_code(code) {
        Ok(())
    } else {
        Err(bad(
            "invalid_store_code",
            "store code: 1 to 32 ASCII letters, digits, . _ or -",
        ))
    }
}

pub(super) fn check_text(
    code: &'static str,
    what: &str,
    text: &str,
    max: usize,
    blank_ok: bool,
) -> Result<(), HqError> {
    let chars = text.chars().count();
    if chars > max || (!blank_ok && text.trim().is_empty()) || text.chars().any(char::is_control) {
        return Err(bad(
            code,
            format!(
                "{what}: at most {max} characters, no control characters{}",
                if blank_ok { "" } else { ", not blank" }
            ),
        ));
    }
    Ok(())
}

pub(super) fn check_time_zone(tz: &str) -> Result<(), HqError> {
    if is_time_zone(tz) {
        Ok(())
    } else {
        Err(bad(
            "invalid_time_zone",
            "time zone: an IANA name such as Asia/Shanghai, or UTC",
        ))
    }
}

/// A display name trimmed, or why it cannot be one.
pub(super) fn display_name(text: &str) -> Result<String, HqError> {
    let name = text.trim();
    if staff::is_display_name(name) {
        Ok(name.to_string())
    } else {
        Err(bad(
            "invalid_display_name",
            format!(
                "display name: 1 to {} characters, no control characters",
                staff::MAX_DISPLAY_NAME_CHARS
            ),
        ))
    }
}

/// A clerk's stores, deduplicated, or why they cannot be.
pub(super) fn staff_stores(stores: &[String]) -> Result<Vec<String>, HqError> {
    if stores.is_empty() || stores.len() > MAX_STAFF_STORES {
        return Err(bad(
            "invalid_staff_stores",
            format!("stores: 1 to {MAX_STAFF_STORES} store codes"),
        ));
    }
    for store in stores {
        check_store_code(store)?;
    }
    let mut stores = stores.to_vec();
    stores.sort();
    stores.dedup();
    Ok(stores)
}

pub(super) fn check_staff_id(staff_id: &str) -> Result<(), HqError> {
    if staff::is_staff_id(staff_id) {
        Ok(())
    } else {
        Err(bad(
            "invalid_staff_id",
            "staff id: 1 to 32 ASCII letters, digits, . _ or -",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_zones_are_iana_names() {
        for good in [
            "Asia/Shanghai",
            "UTC",
            "America/Argentina/Buenos_Aires",
            "Etc/GMT+8",
        ] {
            assert!(is_time_zone(good), "{good}");
        }
        for bad in [
            "",
            "Shanghai",
            "Asai/Shanghai",
            "Asia/",
            "asia/shanghai",
            "Asia/Shang hai",
        ] {
            assert!(!is_time_zone(bad), "{bad}");
        }
    }
}
