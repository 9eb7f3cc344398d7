//! Staff on the wire: the clerks head office sets up centrally and sends
//! down to the terminals of their stores, and a clerk's first PIN set at a
//! terminal with the one-time setup code head office showed.
//!
//! A PIN never leaves the terminal it was typed on: the terminal hashes it
//! (Argon2id, a PHC string), seals the hash to head office, and head office
//! seals it again to each terminal of the clerk's stores
//! ([`crate::auth::seal_to_terminal`]). Neither the PIN nor its hash is ever
//! logged by either end.

use serde::{Deserialize, Serialize};

/// Path of the PIN set-up endpoint (signed by the terminal).
pub const SET_PIN_PATH: &str = "/v1/staff/pin";
/// Longest staff id, in characters.
pub const MAX_STAFF_ID_CHARS: usize = 32;
/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 40;
/// Longest store code, in characters.
pub const MAX_STORE_CODE_CHARS: usize = 32;
/// Length of a setup code: digits only, so the terminal's keypad types it.
pub const SETUP_CODE_DIGITS: usize = 8;

/// What a clerk may do at a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    /// Sales, enrollment, top-ups.
    Cashier,
    /// Everything a cashier does, and approving refunds, adjustments,
    /// settings and re-registration.
    Manager,
}

impl StaffRole {
    /// The role as written on the wire and in databases.
    pub fn as_str(self) -> &'static str {
        match self {
            StaffRole::Cashier => "cashier",
            StaffRole::Manager => "manager",
        }
    }

    /// The role named `text` (as [`StaffRole::as_str`] writes it).
    pub fn parse(text: &str) -> Option<StaffRole> {
        match text {
            "cashier" => Some(StaffRole::Cashier),
            "manager" => Some(StaffRole::Manager),
            _ => None,
        }
    }
}

/// A clerk as a terminal of one of the clerk's stores holds them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StaffSnapshot {
    /// The clerk's id, chain-wide ([`is_staff_id`]).
    pub staff_id: String,
    /// The name on the sign-in button (1 to [`MAX_DISPLAY_NAME_CHARS`]).
    pub display_name: String,
    /// Cashier or manager.
    pub role: StaffRole,
    /// `false`: refused at sign-in from the moment the terminal applies it.
    pub active: bool,
    /// The clerk's PIN hash (an Argon2id PHC string) sealed to the
    /// receiving terminal ([`crate::auth::seal_to_terminal`]); absent until
    /// the clerk has set a PIN (the terminal then offers the set-up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_pin_hash: Option<String>,
}

/// `POST /v1/staff/pin` request body: a clerk sets their PIN with the
/// one-time setup code. Answered with the clerk's [`StaffSnapshot`] sealed
/// to the asking terminal, which the terminal applies at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SetPinRequest {
    /// [`crate::wire::PROTOCOL_VERSION`].
    pub protocol_version: u16,
    /// The clerk.
    pub staff_id: String,
    /// The setup code head office showed ([`SETUP_CODE_DIGITS`] digits).
    pub setup_code: String,
    /// The new PIN's Argon2id hash sealed to head office
    /// ([`crate::auth::seal_to_hq`]).
    pub sealed_pin_hash: String,
}

/// Whether `text` is a staff id: 1 to [`MAX_STAFF_ID_CHARS`] ASCII letters,
/// digits, `.`, `_` or `-`.
pub fn is_staff_id(text: &str) -> bool {
    is_code(text, MAX_STAFF_ID_CHARS)
}

/// Whether `text` is a store code: 1 to [`MAX_STORE_CODE_CHARS`] ASCII
/// letters, digits, `.`, `_` or `-`.
pub fn is_store_code(text: &str) -> bool {
    is_code(text, MAX_STORE_CODE_CHARS)
}

fn is_code(text: &str, max: usize) -> bool {
    (1..=max).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Whether `text` is a display name: 1 to [`MAX_DISPLAY_NAME_CHARS`]
/// characters, none of them a control character, not blank.
pub fn is_display_name(text: &str) -> bool {
    let chars = text.chars().count();
    (1..=MAX_DISPLAY_NAME_CHARS).contains(&chars)
        && !text.trim().is_empty()
        && !text.chars().any(char::is_control)
}

/// Whether `text` has a setup code's shape ([`SETUP_CODE_DIGITS`] digits).
pub fn is_setup_code(text: &str) -> bool {
    text.len() == SETUP_CODE_DIGITS && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_codes_and_names_hold_their_bounds() {
        assert!(is_staff_id("wang.fang-01"));
        assert!(!is_staff_id(""));
        assert!(!is_staff_id("王芳"));
        assert!(!is_staff_id(&"a".repeat(MAX_STAFF_ID_CHARS + 1)));
        assert!(is_store_code("SH-001"));
        assert!(!is_store_code("SH 001"));
        assert!(is_display_name("王芳"));
        assert!(!is_display_name("   "));
        assert!(!is_display_name("a\nb"));
        assert!(!is_display_name(&"名".repeat(MAX_DISPLAY_NAME_CHARS + 1)));
        assert!(is_setup_code("04718263"));
        assert!(!is_setup_code("0471826"));
        assert!(!is_setup_code("0471826a"));
    }

    #[test]
    fn roles_round_trip_as_text() {
        for role in [StaffRole::Cashier, StaffRole::Manager] {
            assert_eq!(StaffRole::parse(role.as_str()), Some(role));
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
        }
        assert_eq!(StaffRole::parse("admin"), None);
    }
}
