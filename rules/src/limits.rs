//! The bounds every number and text from outside must keep, and the checks
//! that hold a ledger entry, a quote or a coupon to them.
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
use crate::ledger::{Coupon, EntryKind, LedgerEntry, LotDraw};
use crate::money::{BASIS_POINTS, Money};
use crate::pricing::{AppliedCoupon, AppliedDiscount, BasketLine, Quote, QuoteLine};
use crate::program::{CategoryScope, CouponKind};

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

fn check_draws(field: &str, draws: &[LotDraw]) -> Checked {
    check_count(format_args!("{field}.draws"), draws.len())?;
    for (i, draw) in draws.iter().enumerate() {
        check_points(format_args!("{field}.draws[{i}].points"), draw.points)?;
    }
    Ok(())
}

/// Checks a ledger entry's moment, amounts, points, counts and texts.
pub fn check_entry(field: &str, entry: &LedgerEntry) -> Checked {
    check_time(format_args!("{field}.at"), entry.at)?;
    match &entry.kind {
        EntryKind::PointsEarned {
            points, expires_at, ..
        } => {
            check_points(format_args!("{field}.points"), *points)?;
            check_time(format_args!("{field}.expires_at"), *expires_at)
        }
        EntryKind::PointsExpired { points, .. } => {
            check_points(format_args!("{field}.points"), *points)
        }
        EntryKind::PointsRedeemed { draws }
        | EntryKind::PointsReturned { draws }
        | EntryKind::PointsReversed { draws } => check_draws(field, draws),
        EntryKind::StoredValueCredited {
            principal,
            bonus,
            package,
        } => {
            check_money(format_args!("{field}.principal"), *principal)?;
            check_money(format_args!("{field}.bonus"), *bonus)?;
            match package {
                Some(code) => check_short_text(format_args!("{field}.package"), code),
                None => Ok(()),
            }
        }
        EntryKind::StoredValueDebited { principal, bonus }
        | EntryKind::StoredValueReturned { principal, bonus } => {
            check_money(format_args!("{field}.principal"), *principal)?;
            check_money(format_args!("{field}.bonus"), *bonus)
        }
        EntryKind::CouponIssued { coupon } => check_coupon(&format!("{field}.coupon"), coupon),
        EntryKind::QualifyingSpend { amount } => {
            check_money(format_args!("{field}.amount"), *amount)
        }
        EntryKind::Flagged { reason } => match reason {
            crate::ledger::FlagReason::NegativePoints { balance } => {
                check_points(format_args!("{field}.balance"), *balance)
            }
        },
        EntryKind::CouponUsed { .. }
        | EntryKind::CouponRestored { .. }
        | EntryKind::TierChanged { .. } => Ok(()),
    }
}

/// Checks every entry of an action, and how many there are.
pub fn check_entries(field: &str, entries: &[LedgerEntry]) -> Checked {
    check_count(field, entries.len())?;
    for (i, entry) in entries.iter().enumerate() {
        check_entry(&format!("{field}[{i}]"), entry)?;
    }
    Ok(())
}

/// Checks what a coupon gives and when.
pub fn check_coupon(field: &str, coupon: &Coupon) -> Checked {
    check_short_text(format_args!("{field}.code"), &coupon.code)?;
    check_coupon_kind(field, &coupon.kind)?;
    check_scope(field, &coupon.scope)?;
    check_time(format_args!("{field}.valid_from"), coupon.valid_from)?;
    check_time(format_args!("{field}.valid_until"), coupon.valid_until)
}

/// Checks a coupon kind's amounts and rate.
pub fn check_coupon_kind(field: &str, kind: &CouponKind) -> Checked {
    match kind {
        CouponKind::AmountOff { off, min_spend } => {
            check_money_not_negative(format_args!("{field}.off"), *off)?;
            check_money_not_negative(format_args!("{field}.min_spend"), *min_spend)
        }
        CouponKind::PercentOff {
            off_bp,
            cap,
            min_spend,
        } => {
            check_range(format_args!("{field}.off_bp"), *off_bp, 0, BASIS_POINTS)?;
            check_money_not_negative(format_args!("{field}.cap"), *cap)?;
            check_money_not_negative(format_args!("{field}.min_spend"), *min_spend)
        }
        CouponKind::FreeGift {
            sku,
            name,
            value,
            min_spend,
        } => {
            check_short_text(format_args!("{field}.sku"), sku)?;
            check_short_text(format_args!("{field}.name"), name)?;
            check_money_not_negative(format_args!("{field}.value"), *value)?;
            check_money_not_negative(format_args!("{field}.min_spend"), *min_spend)
        }
    }
}

/// Checks a category scope's list and names.
pub fn check_scope(field: &str, scope: &CategoryScope) -> Checked {
    match scope {
        CategoryScope::All => Ok(()),
        CategoryScope::Only(list) | CategoryScope::Except(list) => {
            check_count(format_args!("{field}.scope"), list.len())?;
            for (i, category) in list.iter().enumerate() {
                check_short_text(format_args!("{field}.scope[{i}]"), category)?;
            }
            Ok(())
        }
    }
}

/// Checks a basket line's texts, quantity and price.
pub fn check_basket_line(field: &str, item: &BasketLine) -> Checked {
    check_short_text(format_args!("{field}.sku"), &item.sku)?;
    check_short_text(format_args!("{field}.name"), &item.name)?;
    check_short_text(format_args!("{field}.category"), &item.category)?;
    check_quantity(format_args!("{field}.quantity"), item.quantity)?;
    check_money(format_args!("{field}.unit_price"), item.unit_price)
}

fn check_quote_line(field: &str, line: &QuoteLine) -> Checked {
    check_basket_line(&format!("{field}.item"), &line.item)?;
    for (name, amount) in [
        ("gross", line.gross),
        ("tier_discount", line.tier_discount),
        ("member_day_discount", line.member_day_discount),
        ("coupon_discount", line.coupon_discount),
        ("net", line.net),
        ("points_value", line.points_value),
        ("stored_value_principal", line.stored_value_principal),
        ("stored_value_bonus", line.stored_value_bonus),
        ("money", line.money),
    ] {
        check_money(format_args!("{field}.{name}"), amount)?;
    }
    check_points(format_args!("{field}.points"), line.points)
}

fn check_discount(field: &str, discount: &AppliedDiscount) -> Checked {
    check_range(
        format_args!("{field}.rate_bp"),
        discount.rate_bp,
        0,
        BASIS_POINTS,
    )?;
    check_money(format_args!("{field}.amount"), discount.amount)
}

fn check_applied_coupon(field: &str, coupon: &AppliedCoupon) -> Checked {
    check_short_text(format_args!("{field}.code"), &coupon.code)?;
    check_money(format_args!("{field}.amount"), coupon.amount)?;
    if let Some(gift) = &coupon.gift {
        check_short_text(format_args!("{field}.gift.sku"), &gift.sku)?;
        check_short_text(format_args!("{field}.gift.name"), &gift.name)?;
        check_money(format_args!("{field}.gift.value"), gift.value)?;
    }
    Ok(())
}

/// Checks every number, count, text and moment of a quote.
pub fn check_quote(field: &str, quote: &Quote) -> Checked {
    check_time(format_args!("{field}.at"), quote.at)?;
    check_count(format_args!("{field}.lines"), quote.lines.len())?;
    for (i, line) in quote.lines.iter().enumerate() {
        check_quote_line(&format!("{field}.lines[{i}]"), line)?;
    }
    for (name, amount) in [
        ("subtotal", quote.subtotal),
        ("total", quote.total),
        ("points_value", quote.points_value),
        ("stored_value_principal", quote.stored_value_principal),
        ("stored_value_bonus", quote.stored_value_bonus),
        ("amount_due", quote.amount_due),
        ("qualifying_spend", quote.qualifying_spend),
        ("earn.eligible_paid", quote.earn.eligible_paid),
    ] {
        check_money(format_args!("{field}.{name}"), amount)?;
    }
    if let Some(discount) = &quote.tier_discount {
        check_discount(&format!("{field}.tier_discount"), discount)?;
    }
    if let Some(discount) = &quote.member_day_discount {
        check_discount(&format!("{field}.member_day_discount"), discount)?;
    }
    if let Some(coupon) = &quote.coupon {
        check_applied_coupon(&format!("{field}.coupon"), coupon)?;
    }
    check_points_not_negative(
        format_args!("{field}.points_redeemed"),
        quote.points_redeemed,
    )?;
    check_points_not_negative(
        format_args!("{field}.earn.base_points"),
        quote.earn.base_points,
    )?;
    check_points_not_negative(format_args!("{field}.earn.points"), quote.earn.points)?;
    check_range(
        format_args!("{field}.earn.tier_multiplier_milli"),
        quote.earn.tier_multiplier_milli,
        0,
        MAX_MULTIPLIER_MILLI,
    )?;
    check_range(
        format_args!("{field}.earn.occasion_multiplier_milli"),
        quote.earn.occasion_multiplier_milli,
        0,
        MAX_MULTIPLIER_MILLI,
    )?;
    check_count(format_args!("{field}.refusals"), quote.refusals.len())?;
    for (i, refusal) in quote.refusals.iter().enumerate() {
        check_text(
            format_args!("{field}.refusals[{i}].reason"),
            &refusal.reason,
            MAX_LONG_TEXT_CHARS,
        )?;
    }
    Ok(())
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
