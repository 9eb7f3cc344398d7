//! Whole records held to the bounds field by field: a ledger entry, a
//! coupon and its kind, a category scope, a basket line, a quote. Each
//! check names the field path it refused (`entries[3].draws[0].points`) and
//! quotes only the number, never a text.

use super::{
    Checked, MAX_LONG_TEXT_CHARS, MAX_MULTIPLIER_MILLI, check_count, check_money,
    check_money_not_negative, check_points, check_points_not_negative, check_quantity, check_range,
    check_short_text, check_text, check_time,
};
use crate::ledger::{Coupon, EntryKind, LedgerEntry, LotDraw};
use crate::money::BASIS_POINTS;
use crate::pricing::{AppliedCoupon, AppliedDiscount, BasketLine, Quote, QuoteLine};
use crate::program::{CategoryScope, CouponKind};

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
        EntryKind::PointsRedeemedForGift { gift, draws } => {
            check_short_text(format_args!("{field}.gift"), gift)?;
            check_draws(field, draws)
        }
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
        | EntryKind::StoredValueCashedOut { principal, bonus }
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
    check_money(format_args!("{field}.unit_price"), item.unit_price)?;
    match item.list_price {
        Some(list) => check_money(format_args!("{field}.list_price"), list),
        None => Ok(()),
    }
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
    check_range(
        format_args!("{field}.earn_rate_milli"),
        line.earn_rate_milli,
        0,
        MAX_MULTIPLIER_MILLI,
    )?;
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
