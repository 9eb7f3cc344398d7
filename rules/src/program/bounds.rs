//! Upper bounds on every figure of a program. A program comes from outside
//! (head office's admin API, a TOML file an operator imports), and its
//! figures feed pricing's arithmetic: held to these bounds, with amounts
//! and points within the protocol's limits (`crate::limits`), no product
//! pricing forms can overflow.

use super::{CouponKind, ExpiryPolicy, Program, ProgramProblem};
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
pub(super) fn check(program: &Program, problems: &mut Vec<ProgramProblem>) {
    let mut at_most = |what: String, value: i64, max: i64| {
        if value > max {
            problems.push(ProgramProblem::TooLarge { what, value, max });
        }
    };
    let chars = |text: &str| i64::try_from(text.chars().count()).unwrap_or(i64::MAX);
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    let max_text = count(MAX_TEXT_CHARS);
    let max_items = count(MAX_ITEMS);

    for tier in &program.tiers {
        let name = format!("tier {:?}", tier.code);
        at_most(format!("{name} code length"), chars(&tier.code), max_text);
        at_most(
            format!("{name} Chinese name length"),
            chars(&tier.name_zh),
            max_text,
        );
        at_most(
            format!("{name} English name length"),
            chars(&tier.name_en),
            max_text,
        );
        at_most(
            format!("{name} qualifying spend"),
            tier.qualifying_spend.fen(),
            MAX_FEN,
        );
        at_most(
            format!("{name} points multiplier"),
            tier.points_multiplier_milli,
            MAX_MULTIPLIER_MILLI,
        );
    }
    let e = &program.earning;
    at_most(
        "points earned per ¥1".into(),
        e.points_per_yuan,
        MAX_EARN_POINTS_PER_YUAN,
    );
    at_most(
        "categories that earn nothing".into(),
        count(e.excluded_categories.len()),
        max_items,
    );
    at_most(
        "categories with a points rate".into(),
        count(e.category_rates.len()),
        max_items,
    );
    for rate in &e.category_rates {
        let name = format!("category {:?}", rate.category);
        at_most(format!("{name} length"), chars(&rate.category), max_text);
        at_most(
            format!("{name} points rate"),
            rate.rate_milli,
            MAX_MULTIPLIER_MILLI,
        );
    }
    at_most(
        "categories never discounted".into(),
        count(program.discount_excluded_categories.len()),
        max_items,
    );
    for category in e
        .excluded_categories
        .iter()
        .chain(&program.discount_excluded_categories)
    {
        at_most(
            format!("category {category:?} length"),
            chars(category),
            max_text,
        );
    }
    let r = &program.redemption;
    at_most(
        "points per ¥1 redeemed".into(),
        r.points_per_yuan,
        MAX_REDEEM_POINTS_PER_YUAN,
    );
    at_most("redemption step".into(), r.step, MAX_POINTS);
    if let Some(cap) = r.max_points_per_order {
        at_most("points per order cap".into(), cap, MAX_POINTS);
    }
    if let Some(cap) = r.max_points_per_day {
        at_most("points per day cap".into(), cap, MAX_POINTS);
    }
    if let ExpiryPolicy::EndOfNthMonth { months } = program.expiry {
        at_most("points expiry months".into(), i64::from(months), MAX_MONTHS);
    }
    at_most(
        "top-up packages".into(),
        count(program.top_up_packages.len()),
        max_items,
    );
    for package in &program.top_up_packages {
        let name = format!("top-up package {:?}", package.code);
        at_most(
            format!("{name} code length"),
            chars(&package.code),
            max_text,
        );
        at_most(format!("{name} price"), package.pay.fen(), MAX_FEN);
        at_most(format!("{name} bonus"), package.bonus.fen(), MAX_FEN);
    }
    for template in [&program.coupons.welcome, &program.coupons.birthday]
        .into_iter()
        .flatten()
    {
        let name = format!("coupon {:?}", template.code);
        at_most(
            format!("{name} code length"),
            chars(&template.code),
            max_text,
        );
        at_most(
            format!("{name} days valid"),
            i64::from(template.valid_days),
            MAX_COUPON_DAYS,
        );
        let amounts = match &template.kind {
            CouponKind::AmountOff { off, min_spend } => vec![*off, *min_spend],
            CouponKind::PercentOff { cap, min_spend, .. } => vec![*cap, *min_spend],
            CouponKind::FreeGift {
                value, min_spend, ..
            } => vec![*value, *min_spend],
        };
        for amount in amounts {
            at_most(format!("{name} amount"), amount.fen(), MAX_FEN);
        }
    }
    at_most(
        "birthday points multiplier".into(),
        program.birthday.points_multiplier_milli,
        MAX_MULTIPLIER_MILLI,
    );
    if let Some(day) = &program.member_day {
        at_most(
            "member-day points multiplier".into(),
            day.points_multiplier_milli,
            MAX_MULTIPLIER_MILLI,
        );
    }
    at_most(
        "referral points".into(),
        program.referral.points_each,
        MAX_POINTS,
    );
    at_most(
        "offline allowance".into(),
        program.offline.allowance_per_member_per_day.fen(),
        MAX_FEN,
    );
    let t = &program.tier_evaluation;
    at_most(
        "tier evaluation window".into(),
        i64::from(t.window_months),
        MAX_MONTHS,
    );
    at_most(
        "tier evaluation interval".into(),
        i64::from(t.every_months),
        MAX_MONTHS,
    );
}
