//! Validation: every problem of a program, each with the field it is about.
//!
//! A program comes from outside (the console's editor, the admin API, a
//! TOML file), so validation lists every problem at once rather than the
//! first, and names each one's field as a path into the program's own
//! TOML and JSON shape (`tiers[1].discount_bp`, `redemption.step`): the
//! console shows a problem beside the line that holds its field.

use super::bounds;
use super::problems::{FieldProblem, Found};
use super::{
    CouponKind, CouponTemplate, ExpiryPolicy, InvalidProgram, MAX_GIFT_POINTS, MAX_GIFT_TEXT_CHARS,
    MAX_GIFTS, MemberDayRule, Program, ProgramProblem,
};
use crate::money::BASIS_POINTS;

impl Program {
    /// Checks the program makes sense; lists every problem found.
    pub fn validate(&self) -> Result<(), InvalidProgram> {
        let problems = self.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(InvalidProgram(
                problems.into_iter().map(|p| p.problem).collect(),
            ))
        }
    }

    /// Every problem [`Program::validate`] finds, in the same order, each
    /// with its field.
    pub fn problems(&self) -> Vec<FieldProblem> {
        let mut found = Found::default();
        self.check_tiers(&mut found);
        self.check_earning_and_redemption(&mut found);
        self.check_packages_and_coupons(&mut found);
        self.check_occasions_and_limits(&mut found);
        self.check_gifts(&mut found);
        bounds::check(self, &mut found);
        found.into_problems()
    }

    fn check_tiers(&self, found: &mut Found) {
        match self.tiers.first() {
            None => found.push("tiers", ProgramProblem::NoTiers),
            Some(entry) if !entry.qualifying_spend.is_zero() => found.push(
                "tiers[0].qualifying_spend",
                ProgramProblem::EntryTierNotFree {
                    code: entry.code.clone(),
                    spend: entry.qualifying_spend,
                },
            ),
            Some(_) => {}
        }
        if self.tiers.len() > usize::from(u8::MAX) {
            found.push("tiers", ProgramProblem::TooManyTiers(self.tiers.len()));
        }
        for (i, pair) in self.tiers.windows(2).enumerate() {
            let (lower, higher) = (&pair[0], &pair[1]);
            if higher.qualifying_spend <= lower.qualifying_spend {
                found.push(
                    format!("tiers[{}].qualifying_spend", i + 1),
                    ProgramProblem::OverlappingTiers {
                        lower: lower.code.clone(),
                        lower_spend: lower.qualifying_spend,
                        higher: higher.code.clone(),
                        higher_spend: higher.qualifying_spend,
                    },
                );
            }
        }
        for (i, tier) in self.tiers.iter().enumerate() {
            let field = |name: &str| format!("tiers[{i}].{name}");
            if self.tiers[..i].iter().any(|t| t.code == tier.code) {
                found.push(
                    field("code"),
                    ProgramProblem::DuplicateTierCode(tier.code.clone()),
                );
            }
            let name = format!("tier {:?}", tier.code);
            found.non_negative(
                field("qualifying_spend"),
                format!("{name} qualifying spend"),
                tier.qualifying_spend.fen(),
            );
            found.non_negative(
                field("discount_bp"),
                format!("{name} discount"),
                tier.discount_bp,
            );
            found.percent(
                field("discount_bp"),
                format!("{name} discount"),
                tier.discount_bp,
            );
            found.non_negative(
                field("points_multiplier_milli"),
                format!("{name} points multiplier"),
                tier.points_multiplier_milli,
            );
        }
    }

    fn check_earning_and_redemption(&self, found: &mut Found) {
        found.non_negative(
            "earning.points_per_yuan",
            "points earned per ¥1",
            self.earning.points_per_yuan,
        );
        for (i, rate) in self.earning.category_rates.iter().enumerate() {
            found.non_negative(
                format!("earning.category_rates[{i}].rate_milli"),
                format!("category {:?} points rate", rate.category),
                rate.rate_milli,
            );
            if self.earning.category_rates[..i]
                .iter()
                .any(|r| r.category == rate.category)
            {
                found.push(
                    format!("earning.category_rates[{i}].category"),
                    ProgramProblem::DuplicateCategoryRate(rate.category.clone()),
                );
            }
        }
        let r = &self.redemption;
        found.positive(
            "redemption.points_per_yuan",
            "points per ¥1 redeemed",
            r.points_per_yuan,
        );
        found.positive("redemption.step", "redemption step", r.step);
        found.non_negative("redemption.max_share_bp", "redemption cap", r.max_share_bp);
        found.percent("redemption.max_share_bp", "redemption cap", r.max_share_bp);
        // In i128: the step comes from outside and may be near i64::MAX (the
        // admin API's fuzzing found `step * 100` overflowing here).
        if r.points_per_yuan > 0
            && r.step > 0
            && (i128::from(r.step) * 100) % i128::from(r.points_per_yuan) != 0
        {
            found.push(
                "redemption.step",
                ProgramProblem::StepNotWholeFen {
                    step: r.step,
                    per_yuan: r.points_per_yuan,
                },
            );
        }
        if let Some(cap) = r.max_points_per_order {
            found.non_negative(
                "redemption.max_points_per_order",
                "points per order cap",
                cap,
            );
        }
        if let Some(cap) = r.max_points_per_day {
            found.non_negative("redemption.max_points_per_day", "points per day cap", cap);
        }
        if let ExpiryPolicy::EndOfNthMonth { months } = self.expiry {
            found.positive("expiry.months", "points expiry months", i64::from(months));
        }
    }

    fn check_packages_and_coupons(&self, found: &mut Found) {
        for (i, package) in self.top_up_packages.iter().enumerate() {
            let field = |name: &str| format!("top_up_packages[{i}].{name}");
            if self.top_up_packages[..i]
                .iter()
                .any(|p| p.code == package.code)
            {
                found.push(
                    field("code"),
                    ProgramProblem::DuplicatePackage(package.code.clone()),
                );
            }
            found.positive(
                field("pay"),
                format!("top-up package {:?} price", package.code),
                package.pay.fen(),
            );
            found.non_negative(
                field("bonus"),
                format!("top-up package {:?} bonus", package.code),
                package.bonus.fen(),
            );
        }
        for (name, template) in [
            ("welcome", &self.coupons.welcome),
            ("birthday", &self.coupons.birthday),
        ] {
            if let Some(template) = template {
                template.check(&format!("coupons.{name}"), found);
            }
        }
    }

    /// The gift catalogue: at most [`MAX_GIFTS`] gifts, codes unique and
    /// 1 to 40 characters, names 1 to 40 characters, prices 1 to
    /// 1,000,000 points.
    fn check_gifts(&self, found: &mut Found) {
        if self.gifts.len() > MAX_GIFTS {
            found.push(
                "gifts",
                ProgramProblem::TooLarge {
                    what: "gifts in the catalogue".into(),
                    value: i64::try_from(self.gifts.len()).unwrap_or(i64::MAX),
                    max: i64::try_from(MAX_GIFTS).unwrap_or(i64::MAX),
                },
            );
        }
        for (i, gift) in self.gifts.iter().enumerate() {
            let field = |name: &str| format!("gifts[{i}].{name}");
            let bad = |why: String| ProgramProblem::BadGift {
                code: gift.code.clone(),
                why,
            };
            if self.gifts[..i].iter().any(|g| g.code == gift.code) {
                found.push(
                    field("code"),
                    ProgramProblem::DuplicateGift(gift.code.clone()),
                );
            }
            for (key, text) in [("code", &gift.code), ("name", &gift.name)] {
                let chars = text.chars().count();
                if chars == 0 || chars > MAX_GIFT_TEXT_CHARS {
                    found.push(
                        field(key),
                        bad(format!(
                            "the {key} must be 1 to {MAX_GIFT_TEXT_CHARS} characters (it has {chars})"
                        )),
                    );
                }
            }
            if !(1..=MAX_GIFT_POINTS).contains(&gift.points) {
                found.push(
                    field("points"),
                    bad(format!(
                        "the price must be 1 to {MAX_GIFT_POINTS} points (it is {})",
                        gift.points
                    )),
                );
            }
        }
    }

    fn check_occasions_and_limits(&self, found: &mut Found) {
        found.non_negative(
            "birthday.points_multiplier_milli",
            "birthday points multiplier",
            self.birthday.points_multiplier_milli,
        );
        if let Some(day) = &self.member_day {
            match day.day {
                MemberDayRule::Weekday { weekday } if !(1..=7).contains(&weekday) => found.push(
                    "member_day.day",
                    ProgramProblem::NoSuchMemberDay(format!("weekday {weekday}")),
                ),
                MemberDayRule::DayOfMonth { day } if !(1..=31).contains(&day) => found.push(
                    "member_day.day",
                    ProgramProblem::NoSuchMemberDay(format!("day {day}")),
                ),
                _ => {}
            }
            found.non_negative(
                "member_day.points_multiplier_milli",
                "member-day points multiplier",
                day.points_multiplier_milli,
            );
            found.non_negative(
                "member_day.extra_discount_bp",
                "member-day discount",
                day.extra_discount_bp,
            );
            found.percent(
                "member_day.extra_discount_bp",
                "member-day discount",
                day.extra_discount_bp,
            );
        }
        found.non_negative(
            "referral.points_each",
            "referral points",
            self.referral.points_each,
        );
        found.non_negative(
            "offline.allowance_per_member_per_day",
            "offline allowance",
            self.offline.allowance_per_member_per_day.fen(),
        );
        found.positive(
            "tier_evaluation.window_months",
            "tier evaluation window",
            i64::from(self.tier_evaluation.window_months),
        );
        found.positive(
            "tier_evaluation.every_months",
            "tier evaluation interval",
            i64::from(self.tier_evaluation.every_months),
        );
    }
}

impl CouponTemplate {
    /// Its problems, as the template at `path` (`coupons.welcome`).
    fn check(&self, path: &str, found: &mut Found) {
        let bad = |why: &str| ProgramProblem::BadCoupon {
            code: self.code.clone(),
            why: why.into(),
        };
        let field = |name: &str| format!("{path}.{name}");
        if self.valid_days == 0 {
            found.push(field("valid_days"), bad("valid for 0 days"));
        }
        match &self.kind {
            CouponKind::AmountOff { off, min_spend } => {
                if off.fen() <= 0 {
                    found.push(
                        field("kind.off"),
                        bad("the amount off must be greater than zero"),
                    );
                }
                if min_spend.is_negative() {
                    found.push(
                        field("kind.min_spend"),
                        bad("the minimum spend must not be negative"),
                    );
                }
            }
            CouponKind::PercentOff {
                off_bp,
                cap,
                min_spend,
            } => {
                if *off_bp <= 0 || *off_bp > BASIS_POINTS {
                    found.push(
                        field("kind.off_bp"),
                        bad("the percentage off must be between 0 and 100%"),
                    );
                }
                if cap.fen() <= 0 {
                    found.push(field("kind.cap"), bad("the cap must be greater than zero"));
                }
                if min_spend.is_negative() {
                    found.push(
                        field("kind.min_spend"),
                        bad("the minimum spend must not be negative"),
                    );
                }
            }
            CouponKind::FreeGift {
                value, min_spend, ..
            } => {
                if value.is_negative() || min_spend.is_negative() {
                    found.push(
                        field("kind.value"),
                        bad("gift value and minimum spend must not be negative"),
                    );
                }
            }
        }
    }
}
