//! The membership program as data: tiers, earning, redemption, expiry,
//! stored-value packages, coupons, birthday and member-day perks, referral,
//! caps and the offline allowance.
//!
//! Head office authors a program and pushes it to terminals; both sides
//! validate it with [`Program::validate`] before using it, so a nonsensical
//! program (overlapping tiers, negative rates, a cap above 100%) is refused
//! with a message naming the problem instead of pricing sales wrongly.
//!
//! Rates are integers: discounts and caps in basis points (500 = 5%),
//! multipliers in thousandths (1200 = ×1.2). No floating point anywhere.

use serde::{Deserialize, Serialize};

use crate::money::Money;

/// ×1.0 expressed in thousandths.
pub const MULTIPLIER_ONE: i64 = 1000;

/// A whole membership program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct Program {
    /// Version number; head office increments it on every change.
    pub version: u32,
    /// The moment this version takes effect (store time), if it was
    /// published as a version: a sale is priced with the version in force
    /// at its moment ([`in_force_at`]). `None`: in force from the start
    /// (the default program, a demo's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective_from: Option<crate::ids::Timestamp>,
    /// Tiers from the lowest (qualifying spend 0) to the highest.
    pub tiers: Vec<Tier>,
    /// How points are earned.
    pub earning: EarnRules,
    /// Categories never discounted (tier discount, member day, coupons).
    pub discount_excluded_categories: Vec<String>,
    /// How points are spent.
    pub redemption: RedemptionRules,
    /// When earned points expire.
    pub expiry: ExpiryPolicy,
    /// Stored-value top-up packages (充500送50).
    pub top_up_packages: Vec<TopUpPackage>,
    /// Coupon policy and the coupons the program issues by itself.
    pub coupons: CouponRules,
    /// Birthday perks.
    pub birthday: BirthdayRules,
    /// The member day, if the program has one.
    pub member_day: Option<MemberDay>,
    /// Referral rewards.
    pub referral: ReferralRules,
    /// Bounds on what a member can spend while the terminal is offline.
    pub offline: OfflineRules,
    /// How and when tiers are re-evaluated.
    pub tier_evaluation: TierEvaluation,
    /// The gift catalogue (积分兑礼): gifts a member takes at the counter
    /// for points (`crate::gifts`). Absent from programs without one, so
    /// a program from before the catalogue reads and writes as it did.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gifts: Vec<Gift>,
}

/// Most gifts a program's catalogue holds.
pub const MAX_GIFTS: usize = 200;
/// Longest gift code and gift name, in characters.
pub const MAX_GIFT_TEXT_CHARS: usize = 40;
/// Most points one gift costs.
pub const MAX_GIFT_POINTS: i64 = 1_000_000;

/// One gift of the catalogue: what it is called and what it costs in
/// points. An inactive gift stays in the catalogue (its code is kept, so
/// a past redemption still names it) but cannot be redeemed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Gift {
    /// Stable code (`mug-2026`), unique in the catalogue; 1 to 40 characters.
    pub code: String,
    /// The name the clerk and the member see (保温杯); 1 to 40 characters.
    pub name: String,
    /// Its price in points: 1 to 1,000,000.
    pub points: i64,
    /// Whether it may be redeemed now (default yes).
    #[serde(default = "yes")]
    pub active: bool,
}

/// Index of a tier in [`Program::tiers`]; 0 is the entry tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct TierLevel(pub u8);

/// One membership tier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// Stable code used in data files and by head office (`gold`).
    pub code: String,
    /// Name shown in zh-CN (金卡).
    pub name_zh: String,
    /// Name shown in en (Gold).
    pub name_en: String,
    /// Rolling qualifying spend needed to hold this tier.
    pub qualifying_spend: Money,
    /// Discount on eligible lines, in basis points (1000 = 10% = 9折).
    pub discount_bp: i64,
    /// Points multiplier in thousandths (1500 = ×1.5).
    pub points_multiplier_milli: i64,
}

/// How points are earned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct EarnRules {
    /// Points per whole ¥1 paid with money or stored value.
    pub points_per_yuan: i64,
    /// Categories that earn nothing (tobacco, gift cards).
    pub excluded_categories: Vec<String>,
    /// Categories that earn at another rate than `points_per_yuan`: what a
    /// line of the category paid counts this many thousandths (2000:
    /// double points on fresh produce; 500: half on promotions). Others
    /// count ×1. Absent from programs before category rates.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub category_rates: Vec<CategoryRate>,
}

/// One category's points rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CategoryRate {
    /// The category (`fresh`).
    pub category: String,
    /// Thousandths of the base rate (2000 = double points).
    pub rate_milli: i64,
}

/// ×1 in thousandths, the rate of a category without one (serde default).
pub fn one_milli() -> i64 {
    MULTIPLIER_ONE
}

/// Whether `rate` is ×1 (left out of the JSON).
pub fn is_one_milli(rate: &i64) -> bool {
    *rate == MULTIPLIER_ONE
}

/// How points are redeemed at checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct RedemptionRules {
    /// Points worth ¥1 (100 = 100 points per ¥1).
    pub points_per_yuan: i64,
    /// Points are redeemed in multiples of this.
    pub step: i64,
    /// At most this share of the payable amount, in basis points (5000 = 50%).
    pub max_share_bp: i64,
    /// At most this many points in one order, if set.
    pub max_points_per_order: Option<i64>,
    /// At most this many points per member per day, if set.
    pub max_points_per_day: Option<i64>,
}

/// When a lot of earned points expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "policy", rename_all = "snake_case", deny_unknown_fields)]
pub enum ExpiryPolicy {
    /// At the end of the `months`-th calendar month after the month earned
    /// (12: points earned in March 2026 expire at the end of March 2027).
    EndOfNthMonth {
        /// Number of whole calendar months after the month earned.
        months: u32,
    },
    /// On 31 December of the year after the year earned.
    EndOfNextYear,
    /// Points never expire.
    Never,
}

/// A stored-value top-up package: pay `pay`, get `pay + bonus` to spend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct TopUpPackage {
    /// Stable code (`500+50`).
    pub code: String,
    /// What the member pays: becomes refundable principal.
    pub pay: Money,
    /// The gift on top: spendable, never refundable as cash.
    pub bonus: Money,
}

/// Coupon policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct CouponRules {
    /// How many coupons one order may use.
    pub max_per_order: u32,
    /// Issued to every new member at enrollment.
    pub welcome: Option<CouponTemplate>,
    /// Issued at the start of the member's birthday month.
    pub birthday: Option<CouponTemplate>,
}

/// A coupon as the program defines it, before it is issued to anyone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CouponTemplate {
    /// Stable code (`welcome-10-off-50`).
    pub code: String,
    /// What it gives.
    pub kind: CouponKind,
    /// Which lines it applies to.
    #[serde(default)]
    pub scope: CategoryScope,
    /// Days it stays valid from issue.
    pub valid_days: u32,
    /// Whether it combines with the tier discount (default yes). When not,
    /// the better of the two for the member is applied.
    #[serde(default = "yes")]
    pub stacks_with_tier_discount: bool,
}

fn yes() -> bool {
    true
}

/// What a coupon gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum CouponKind {
    /// A fixed amount off once the in-scope lines reach a minimum (满100减20).
    AmountOff {
        /// Amount taken off.
        off: Money,
        /// Minimum in-scope spend after the tier discount.
        min_spend: Money,
    },
    /// A percentage off the in-scope lines, capped.
    PercentOff {
        /// Discount in basis points (2000 = 20% off = 8折).
        off_bp: i64,
        /// Largest discount the coupon gives.
        cap: Money,
        /// Minimum in-scope spend after the tier discount.
        #[serde(default)]
        min_spend: Money,
    },
    /// A free item added to the order.
    FreeGift {
        /// The gift's item code.
        sku: String,
        /// The gift's name on the receipt.
        name: String,
        /// The gift's shelf price (for the receipt and reporting only).
        value: Money,
        /// Minimum in-scope spend after the tier discount.
        #[serde(default)]
        min_spend: Money,
    },
}

/// Which basket lines a coupon covers, by category.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "scope", content = "categories", rename_all = "snake_case")]
pub enum CategoryScope {
    /// Every discountable line.
    #[default]
    All,
    /// Only these categories.
    Only(Vec<String>),
    /// Every category but these.
    Except(Vec<String>),
}

impl CategoryScope {
    /// Whether a line of `category` is in scope.
    pub fn covers(&self, category: &str) -> bool {
        match self {
            CategoryScope::All => true,
            CategoryScope::Only(list) => list.iter().any(|c| c == category),
            CategoryScope::Except(list) => !list.iter().any(|c| c == category),
        }
    }
}

/// Birthday perks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct BirthdayRules {
    /// Points multiplier during the birthday month, in thousandths.
    pub points_multiplier_milli: i64,
}

/// The member day: a weekday or a day of the month with extra perks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct MemberDay {
    /// Which day.
    pub day: MemberDayRule,
    /// Points multiplier on that day, in thousandths (1000 = none).
    #[serde(default = "multiplier_one")]
    pub points_multiplier_milli: i64,
    /// Extra discount on that day after the tier discount, basis points.
    #[serde(default)]
    pub extra_discount_bp: i64,
}

fn multiplier_one() -> i64 {
    MULTIPLIER_ONE
}

/// Which day is member day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "every", rename_all = "snake_case", deny_unknown_fields)]
pub enum MemberDayRule {
    /// Every week on this ISO weekday (1 = Monday ... 7 = Sunday).
    Weekday {
        /// ISO weekday number.
        weekday: u8,
    },
    /// Every month on this day (1-31; months without it have no member day).
    DayOfMonth {
        /// Day of the month.
        day: u8,
    },
}

/// Referral rewards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct ReferralRules {
    /// Points given to the referrer and to the new member after the new
    /// member's first purchase.
    pub points_each: i64,
}

/// Bounds on spending while offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct OfflineRules {
    /// Value of points plus stored value one member may spend per day at one
    /// offline terminal. Bounds what two offline stores can double-spend.
    pub allowance_per_member_per_day: Money,
}

/// Tier evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(default, deny_unknown_fields)]
pub struct TierEvaluation {
    /// Length of the rolling window of qualifying spend, in months.
    pub window_months: u32,
    /// Evaluation (downgrade) interval in months; head office runs it.
    pub every_months: u32,
}

impl Default for Program {
    /// The spec's default program (SPEC section 2).
    fn default() -> Self {
        let tier = |code: &str, zh: &str, en: &str, spend: i64, bp: i64, mult: i64| Tier {
            code: code.into(),
            name_zh: zh.into(),
            name_en: en.into(),
            qualifying_spend: Money::from_yuan(spend),
            discount_bp: bp,
            points_multiplier_milli: mult,
        };
        Program {
            version: 1,
            effective_from: None,
            tiers: vec![
                tier("regular", "普通会员", "Regular", 0, 0, 1000),
                tier("silver", "银卡", "Silver", 1_000, 500, 1200),
                tier("gold", "金卡", "Gold", 5_000, 1000, 1500),
                tier("diamond", "钻石", "Diamond", 20_000, 1500, 2000),
            ],
            earning: EarnRules::default(),
            discount_excluded_categories: vec!["tobacco".into(), "gift_card".into()],
            redemption: RedemptionRules::default(),
            expiry: ExpiryPolicy::EndOfNthMonth { months: 12 },
            top_up_packages: vec![
                TopUpPackage {
                    code: "500+50".into(),
                    pay: Money::from_yuan(500),
                    bonus: Money::from_yuan(50),
                },
                TopUpPackage {
                    code: "1000+150".into(),
                    pay: Money::from_yuan(1000),
                    bonus: Money::from_yuan(150),
                },
            ],
            coupons: CouponRules::default(),
            birthday: BirthdayRules::default(),
            member_day: None,
            referral: ReferralRules::default(),
            offline: OfflineRules::default(),
            tier_evaluation: TierEvaluation::default(),
            gifts: Vec::new(),
        }
    }
}

impl Default for EarnRules {
    fn default() -> Self {
        EarnRules {
            points_per_yuan: 1,
            excluded_categories: vec!["tobacco".into(), "gift_card".into()],
            category_rates: Vec::new(),
        }
    }
}

impl Default for RedemptionRules {
    fn default() -> Self {
        RedemptionRules {
            points_per_yuan: 100,
            step: 100,
            max_share_bp: 5000,
            max_points_per_order: None,
            max_points_per_day: None,
        }
    }
}

impl Default for ExpiryPolicy {
    fn default() -> Self {
        ExpiryPolicy::EndOfNthMonth { months: 12 }
    }
}

impl Default for CouponRules {
    fn default() -> Self {
        CouponRules {
            max_per_order: 1,
            welcome: Some(CouponTemplate {
                code: "welcome-10-off-50".into(),
                kind: CouponKind::AmountOff {
                    off: Money::from_yuan(10),
                    min_spend: Money::from_yuan(50),
                },
                scope: CategoryScope::All,
                valid_days: 30,
                stacks_with_tier_discount: true,
            }),
            birthday: Some(CouponTemplate {
                code: "birthday-20-off-100".into(),
                kind: CouponKind::AmountOff {
                    off: Money::from_yuan(20),
                    min_spend: Money::from_yuan(100),
                },
                scope: CategoryScope::All,
                valid_days: 31,
                stacks_with_tier_discount: true,
            }),
        }
    }
}

impl Default for BirthdayRules {
    fn default() -> Self {
        BirthdayRules {
            points_multiplier_milli: 2000,
        }
    }
}

impl Default for ReferralRules {
    fn default() -> Self {
        ReferralRules { points_each: 200 }
    }
}

impl Default for OfflineRules {
    fn default() -> Self {
        OfflineRules {
            allowance_per_member_per_day: Money::from_yuan(500),
        }
    }
}

impl Default for TierEvaluation {
    fn default() -> Self {
        TierEvaluation {
            window_months: 12,
            every_months: 1,
        }
    }
}

impl Program {
    /// The tier at `level`, or the entry tier if the level is unknown to
    /// this program (a program pushed with fewer tiers than a member holds).
    pub fn tier(&self, level: TierLevel) -> Option<&Tier> {
        self.tiers
            .get(usize::from(level.0))
            .or_else(|| self.tiers.last())
    }

    /// The highest tier whose threshold `spend` reaches.
    pub fn tier_for_spend(&self, spend: Money) -> TierLevel {
        let index = self
            .tiers
            .iter()
            .rposition(|t| spend >= t.qualifying_spend)
            .unwrap_or(0);
        TierLevel(u8::try_from(index).unwrap_or(u8::MAX))
    }

    /// Whether a line of `category` may be discounted.
    pub fn discountable(&self, category: &str) -> bool {
        !self
            .discount_excluded_categories
            .iter()
            .any(|c| c == category)
    }

    /// Whether a line of `category` earns points: not excluded, and not at
    /// a rate of 0.
    pub fn earns(&self, category: &str) -> bool {
        !self
            .earning
            .excluded_categories
            .iter()
            .any(|c| c == category)
            && self.earn_rate_milli(category) > 0
    }

    /// The points rate of `category` in thousandths of the base rate: its
    /// own ([`EarnRules::category_rates`]) or ×1.
    pub fn earn_rate_milli(&self, category: &str) -> i64 {
        self.earning
            .category_rates
            .iter()
            .find(|r| r.category == category)
            .map_or(MULTIPLIER_ONE, |r| r.rate_milli)
    }

    /// The top-up package with `code`.
    pub fn package(&self, code: &str) -> Option<&TopUpPackage> {
        self.top_up_packages.iter().find(|p| p.code == code)
    }

    /// The catalogue's gift with `code`, active or not.
    pub fn gift(&self, code: &str) -> Option<&Gift> {
        self.gifts.iter().find(|g| g.code == code)
    }
}

pub mod bounds;
mod problems;
mod validate;
mod versions;
pub use problems::{FieldProblem, InvalidProgram, ProgramProblem};
pub use versions::in_force_at;

#[cfg(test)]
mod tests;
