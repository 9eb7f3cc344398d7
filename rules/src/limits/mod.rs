//! The bounds every number and text from outside must keep, and the checks
//! of one number, count, text or moment against them; [`records`] holds a
//! ledger entry, a quote or a coupon to them field by field.
//!
//! Why bounds: amounts, points and counts come from terminals, from files
//! and from head-office operators. A value near the end of `i64` (a top-up
//! of 9,223,372,036,854,775,807 fen) is not a mistake the arithmetic can
//! absorb: the next addition overflows. Bounding what comes in, far above
//! anything a store does yet far below where sums could overflow, keeps
//! every sum the rules make exact: a quote has at most [`MAX_ITEMS`] lines
//! of at most [`MAX_FEN`] each, a member's balances stay within
//! [`MAX_FEN`] and [`MAX_POINTS`] ([`crate::account::MemberAccount::check_entries`]),
//! and all of them together stay inside `i64` with room to spare.
//!
//! The bounds are part of the wire contract (`sync/PROTOCOL.md`): head
//! office dead-letters an event that leaves them, with the check's message
//! as its reason. Messages name the field and the bound and quote only the
//! number, never a text (which could be personal data).

use std::fmt;

use crate::ids::Timestamp;
use crate::money::Money;

mod records;

pub use records::{
    check_basket_line, check_coupon, check_coupon_kind, check_entries, check_entry, check_quote,
    check_scope,
};

/// Largest magnitude of any amount of money, in fen (¥10,000,000,000.00):
/// a price, a line, a total, a top-up, and a member's stored-value
/// principal or bonus.
pub const MAX_FEN: i64 = 1_000_000_000_000;

/// Largest magnitude of any number of points: in one entry, one lot, one
/// quote, and a member's whole balance.
pub const MAX_POINTS: i64 = 1_000_000_000_000;

/// Largest quantity of one basket line (and of one refunded line).
pub const MAX_QUANTITY: i64 = 1_000_000;

/// Most items in one list: lines of a quote, entries of an event, draws of
/// one entry, refused requests of a quote, categories of a coupon's scope.
pub const MAX_ITEMS: usize = 1_000;

/// Longest short text, in characters: codes, SKUs, item names, categories,
/// package codes, clerk names.
pub const MAX_TEXT_CHARS: usize = 200;

/// Longest free text, in characters: an adjustment's reason, a refusal's
/// reason.
pub const MAX_LONG_TEXT_CHARS: usize = 2_000;

/// Largest multiplier, in thousandths (×1000).
pub const MAX_MULTIPLIER_MILLI: i64 = 1_000_000;

/// Earliest moment anything may carry: 2000-01-01T00:00:00Z (seconds since
/// the Unix epoch).
pub const EARLIEST_UNIX_SECONDS: i64 = 946_684_800;

/// Every moment is strictly before 10000-01-01T00:00:00Z (seconds since the
/// Unix epoch): every year has four digits, as RFC 3339 wants (points that
/// never expire expire on 31 December 9999, [`crate::expiry::never_date`]).
pub const END_UNIX_SECONDS: i64 = 253_402_300_800;

/// A value outside its bound: which field, what it was, what it must be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {found} is outside the bound: {bound}")]
pub struct OutOfBounds {
    /// Where, as a path (`entries[2].principal`).
    pub field: String,
    /// What was found: a number, a count or a length, never a text.
    pub found: String,
    /// The bound, in words.
    pub bound: String,
}

impl OutOfBounds {
    fn new(field: impl fmt::Display, found: impl fmt::Display, bound: impl Into<String>) -> Self {
        OutOfBounds {
            field: field.to_string(),
            found: found.to_string(),
            bound: bound.into(),
        }
    }
}

/// Shorthand for the checks' result.
pub type Checked = Result<(), OutOfBounds>;

/// `|amount| <= MAX_FEN`.
pub fn check_money(field: impl fmt::Display, amount: Money) -> Checked {
    if amount.fen().unsigned_abs() <= MAX_FEN.unsigned_abs() {
        Ok(())
    } else {
        Err(OutOfBounds::new(
            field,
            format!("{} fen", amount.fen()),
            format!("at most {MAX_FEN} fen either way"),
        ))
    }
}

/// `0 <= amount <= MAX_FEN`.
pub fn check_money_not_negative(field: impl fmt::Display, amount: Money) -> Checked {
    if (0..=MAX_FEN).contains(&amount.fen()) {
        Ok(())
    } else {
        Err(OutOfBounds::new(
            field,
            format!("{} fen", amount.fen()),
            format!("from 0 to {MAX_FEN} fen"),
        ))
    }
}

/// `|points| <= MAX_POINTS`.
pub fn check_points(field: impl fmt::Display, points: i64) -> Checked {
    if points.unsigned_abs() <= MAX_POINTS.unsigned_abs() {
        Ok(())
    } else {
        Err(OutOfBounds::new(
            field,
            points,
            format!("at most {MAX_POINTS} points either way"),
        ))
    }
}

/// `0 <= points <= MAX_POINTS`.
pub fn check_points_not_negative(field: impl fmt::Display, points: i64) -> Checked {
    if (0..=MAX_POINTS).contains(&points) {
        Ok(())
    } else {
        Err(OutOfBounds::new(
            field,
            points,
            format!("from 0 to {MAX_POINTS} points"),
        ))
    }
}

/// `1 <= quantity <= MAX_QUANTITY`.
pub fn check_quantity(field: impl fmt::Display, quantity: i64) -> Checked {
    if (1..=MAX_QUANTITY).contains(&quantity) {
        Ok(())
    } else {
        Err(OutOfBounds::new(
            field,
            quantity,
            format!("from 1 to {MAX_QUANTITY}"),
        ))
    }
}

/// `low <= value <= high`, for rates and multipliers.
pub fn check_range(field: impl fmt::Display, value: i64, low: i64, high: i64) -> Checked {
    if (low..=high).contains(&value) {
        Ok(())
    } else {
        Err(OutOfBounds::new(
            field,
            value,
            format!("from {low} to {high}"),
        ))
    }
}

/// At most [`MAX_ITEMS`] items.
pub fn check_count(field: impl fmt::Display, count: usize) -> Checked {
    if count <= MAX_ITEMS {
        Ok(())
    } else {
        Err(OutOfBounds::new(
            field,
            format!("{count} items"),
            format!("at most {MAX_ITEMS} items"),
        ))
    }
}

/// At most `max` characters (the text itself is never quoted back).
pub fn check_text(field: impl fmt::Display, text: &str, max: usize) -> Checked {
    // Bytes first: no text of at most `max` characters has more than 4×max
    // bytes, and counting characters of a huge text is work for nothing.
    if text.len() <= max || (text.len() <= 4 * max && text.chars().count() <= max) {
        Ok(())
    } else {
        Err(OutOfBounds::new(
            field,
            format!("text of {} bytes", text.len()),
            format!("at most {max} characters"),
        ))
    }
}

/// A short text: at most [`MAX_TEXT_CHARS`] characters.
pub fn check_short_text(field: impl fmt::Display, text: &str) -> Checked {
    check_text(field, text, MAX_TEXT_CHARS)
}

/// From 2000-01-01 (inclusive) to 10000-01-01 (exclusive), UTC.
pub fn check_time(field: impl fmt::Display, at: Timestamp) -> Checked {
    if (EARLIEST_UNIX_SECONDS..END_UNIX_SECONDS).contains(&at.timestamp()) {
        Ok(())
    } else {
        Err(OutOfBounds::new(
            field,
            at.timestamp(),
            "a moment from 2000-01-01T00:00:00Z up to (not including) 10000-01-01T00:00:00Z \
             (seconds since the Unix epoch shown)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn bounds_hold_at_their_edges() {
        assert!(check_money("x", Money::from_fen(MAX_FEN)).is_ok());
        assert!(check_money("x", Money::from_fen(-MAX_FEN)).is_ok());
        assert!(check_money("x", Money::from_fen(MAX_FEN + 1)).is_err());
        assert!(check_money("x", Money::from_fen(i64::MIN)).is_err());
        assert!(check_money_not_negative("x", Money::from_fen(-1)).is_err());
        assert!(check_points("x", MAX_POINTS).is_ok());
        assert!(check_points("x", i64::MIN).is_err());
        assert!(check_quantity("x", 0).is_err());
        assert!(check_quantity("x", MAX_QUANTITY).is_ok());
        assert!(check_count("x", MAX_ITEMS).is_ok());
        assert!(check_count("x", MAX_ITEMS + 1).is_err());
        assert!(check_time("x", at("2000-01-01T08:00:00+08:00")).is_ok());
        assert!(check_time("x", at("2000-01-01T07:59:59+08:00")).is_err());
        assert!(check_time("x", at("9999-12-31T23:59:59Z")).is_ok());
        let unix = |s: i64| {
            chrono::DateTime::from_timestamp(s, 0)
                .unwrap()
                .fixed_offset()
        };
        assert!(check_time("x", unix(END_UNIX_SECONDS)).is_err());
        assert!(
            check_time("x", unix(END_UNIX_SECONDS * 10)).is_err(),
            "year +99999"
        );
        assert!(check_short_text("x", &"张".repeat(MAX_TEXT_CHARS)).is_ok());
        assert!(check_short_text("x", &"张".repeat(MAX_TEXT_CHARS + 1)).is_err());
        assert!(check_short_text("x", &"a".repeat(MAX_TEXT_CHARS + 1)).is_err());
    }

    #[test]
    fn the_message_names_the_field_and_the_bound_and_quotes_no_text() {
        let error = check_money("entries[2].principal", Money::from_fen(i64::MAX)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "entries[2].principal 9223372036854775807 fen is outside the bound: \
             at most 1000000000000 fen either way"
        );
        let error = check_short_text("reason", &"13800138000".repeat(100)).unwrap_err();
        assert!(!error.to_string().contains("13800138000"), "{error}");
    }

    #[test]
    fn bounded_sums_cannot_overflow() {
        // A quote's lines and an event's entries, at their largest, summed.
        let widest = i128::from(MAX_FEN) * (MAX_ITEMS as i128) * 4;
        assert!(widest < i128::from(i64::MAX));
        assert!(i128::from(MAX_QUANTITY) * i128::from(MAX_FEN) < i128::from(i64::MAX));
        assert!(i128::from(MAX_POINTS) * (MAX_ITEMS as i128) * 4 < i128::from(i64::MAX));
    }
}
