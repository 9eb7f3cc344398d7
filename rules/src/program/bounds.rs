//! Upper bounds on every figure of a program. A program comes from outside
//! (head office's admin API, a TOML file an operator imports), and its
//! figures feed pricing's arithmetic: held to these bounds, with amounts
//! and points within the protocol's limits (`crate::limits`), no product
//! pricing forms can overflow.

use super::problems::Found;
use super::{CouponKind, ExpiryPolicy, Program};
use crate::limits::{MAX_FEN, MAX_ITEMS, MAX_MULTIPLIER_MILLI, MAX_POINTS, MAX_TEXT_CHARS};

/// Most points earned per ¥1 (base rate; multipliers come on top).
pub const MAX_EARN_POINTS_PER_YUAN: i64 = 100_000;
/// Most points one yuan of redemption costs.
pub const MAX_REDEEM_POINTS_PER_YUAN: i64 = 1_000_000;
/// Most months in any period of the program (expiry, tier windows).
pub const MAX_MONTHS: i64 = 1_200;
/// Most days a coupon the program issues stays valid.
pub const MAX_COUPON_DAYS: i64 = 3_660;

/// Pushes a problem for every figure of `program` above its bound.
pub(super) fn check(program: &Program, found: &mut Found) {
    let chars = |text: &str| i64::try_from(text.chars().count()).unwrap_or(i64::MAX);
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    let max_text = count(MAX_TEXT_CHARS);
    let max_items = count(MAX_ITEMS);

    for (i, tier) in program.tiers.iter().enumerate() {
        let field = |name: &str| format!("tiers[{i}].{name}");
        let name = format!("tier {:?}", tier.code);
        found.at_most(
            field("code"),
            format!("{name} code length"),
            chars(&tier.code),
            max_text,
        );
        found.at_most(
            field("name_zh"),
            format!("{name} Chinese name length"),
            chars(&tier.name_zh),
            max_text,
        );
        found.at_most(
            field("name_en"),
            format!("{name} English name length"),
            chars(&tier.name_en),
            max_text,
        );
        found.at_most(
            field("qualifying_spend"),
            format!("{name} qualifying spend"),
            tier.qualifying_spend.fen(),
            MAX_FEN,
        );
        found.at_most(
            field("points_multiplier_milli"),
            format!("{name} points multiplier"),
            tier.points_multiplier_milli,
            MAX_MULTIPLIER_MILLI,
        );
    }
    let e = &program.earning;
    found.at_most(
        "earning.points_per_yuan",
        "points earned per ¥1",
        e.points_per_yuan,
        MAX_EARN_POINTS_PER_YUAN,
    );
    found.at_most(
        "earning.excluded_categories",
        "categories that earn nothing",
        count(e.excluded_categories.len()),
        max_items,
    );
    found.at_most(
        "earning.category_rates",
        "categories with a points rate",
        count(e.category_rates.len()),
        max_items,
    );
    for (i, rate) in e.category_rates.iter().enumerate() {
        let name = format!("category {:?}", rate.category);
        found.at_most(
            format!("earning.category_rates[{i}].category"),
            format!("{name} length"),
            chars(&rate.category),
            max_text,
        );
        found.at_most(
            format!("earning.category_rates[{i}].rate_milli"),
            format!("{name} points rate"),
            rate.rate_milli,
            MAX_MULTIPLIER_MILLI,
        );
    }
    found.at_most(
        "discount_excluded_categories",
        "categories never discounted",
        count(program.discount_excluded_categories.len()),
        max_items,
    );
    let lists = [
        ("earning.excluded_categories", &e.excluded_categories),
        (
            "discount_excluded_categories",
            &program.discount_excluded_categories,
        ),
    ];
    for (list, categories) in lists {
        for (i, category) in categories.iter().enumerate() {
            found.at_most(
                format!("{list}[{i}]"),
                format!("category {category:?} length"),
                chars(category),
                max_text,
            );
        }
    }
    let r = &program.redemption;
    found.at_most(
        "redemption.points_per_yuan",
        "points per ¥1 redeemed",
        r.points_per_yuan,
        MAX_REDEEM_POINTS_PER_YUAN,
    );
    found.at_most("redemption.step", "redemption step", r.step, MAX_POINTS);
    if let Some(cap) = r.max_points_per_order {
        found.at_most(
            "redemption.max_points_per_order",
            "points per order cap",
            cap,
            MAX_POINTS,
        );
    }
    if let Some(cap) = r.max_points_per_day {
        found.at_most(
            "redemption.max_points_per_day",
            "points per day cap",
            cap,
            MAX_POINTS,
        );
    }
    if let ExpiryPolicy::EndOfNthMonth { months } = program.expiry {
        found.at_most(
            "expiry.months",
            "points expiry months",
            i64::from(months),
            MAX_MONTHS,
        );
    }
    found.at_most(
        "top_up_packages",
        "top-up packages",
        count(program.top_up_packages.len()),
        max_items,
    );
    for (i, package) in program.top_up_packages.iter().enumerate() {
        let field = |name: &str| format!("top_up_packages[{i}].{name}");
        let name = format!("top-up package {:?}", package.code);
        found.at_most(
            field("code"),
            format!("{name} code length"),
            chars(&package.code),
            max_text,
        );
        found.at_most(
            field("pay"),
            format!("{name} price"),
            package.pay.fen(),
            MAX_FEN,
        );
        found.at_most(
            field("bonus"),
            format!("{name} bonus"),
            package.bonus.fen(),
            MAX_FEN,
        );
    }
    for (path, template) in [
        ("coupons.welcome", &program.coupons.welcome),
        ("coupons.birthday", &program.coupons.birthday),
    ] {
        let Some(template) = template else { continue };
        let field = |name: &str| format!("{path}.{name}");
        let name = format!("coupon {:?}", template.code);
        found.at_most(
            field("code"),
            format!("{name} code length"),
            chars(&template.code),
            max_text,
        );
        found.at_most(
            field("valid_days"),
            format!("{name} days valid"),
            i64::from(template.valid_days),
            MAX_COUPON_DAYS,
        );
        let amounts = match &template.kind {
            CouponKind::AmountOff { off, min_spend } => [("off", *off), ("min_spend", *min_spend)],
            CouponKind::PercentOff { cap, min_spend, .. } => {
                [("cap", *cap), ("min_spend", *min_spend)]
            }
            CouponKind::FreeGift {
                value, min_spend, ..
            } => [("value", *value), ("min_spend", *min_spend)],
        };
        for (key, amount) in amounts {
            found.at_most(
                field(&format!("kind.{key}")),
                format!("{name} amount"),
                amount.fen(),
                MAX_FEN,
            );
        }
    }
    found.at_most(
        "birthday.points_multiplier_milli",
        "birthday points multiplier",
        program.birthday.points_multiplier_milli,
        MAX_MULTIPLIER_MILLI,
    );
    if let Some(day) = &program.member_day {
        found.at_most(
            "member_day.points_multiplier_milli",
            "member-day points multiplier",
            day.points_multiplier_milli,
            MAX_MULTIPLIER_MILLI,
        );
    }
    found.at_most(
        "referral.points_each",
        "referral points",
        program.referral.points_each,
        MAX_POINTS,
    );
    found.at_most(
        "offline.allowance_per_member_per_day",
        "offline allowance",
        program.offline.allowance_per_member_per_day.fen(),
        MAX_FEN,
    );
    let t = &program.tier_evaluation;
    found.at_most(
        "tier_evaluation.window_months",
        "tier evaluation window",
        i64::from(t.window_months),
        MAX_MONTHS,
    );
    found.at_most(
        "tier_evaluation.every_months",
        "tier evaluation interval",
        i64::from(t.every_months),
        MAX_MONTHS,
    );
}
