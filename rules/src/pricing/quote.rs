//! What pricing takes and gives: the basket, the shopper, the moment and
//! the tender asked for going in; the quote with every line, discount,
//! coupon, tender split, points earned and refusal coming out. Data only:
//! the steps that make a quote are in the sibling modules.

use serde::{Deserialize, Serialize};

use crate::account::MemberAccount;
use crate::ids::{CouponId, MemberId, SourceId, Timestamp};
use crate::money::Money;
use crate::program::{Program, TierLevel};

/// One line of the basket as rung up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BasketLine {
    /// Item code.
    pub sku: String,
    /// Item name for the receipt.
    pub name: String,
    /// Category, for exclusions and coupon scope.
    pub category: String,
    /// Quantity (whole units; weighed goods are rung up as one unit at their price).
    pub quantity: i64,
    /// Price of one unit.
    pub unit_price: Money,
    /// The shelf price of one unit when `unit_price` is a member price
    /// (会员价, [`crate::catalog`]): such a line is not discounted again by
    /// the tier or the member day. Absent on the wire otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_price: Option<Money>,
}

/// The basket.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Basket {
    /// Lines in the order rung up.
    pub lines: Vec<BasketLine>,
}

/// Month and day of a birthday (no year: the terminal never needs it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MonthDay {
    /// 1-12.
    pub month: u8,
    /// 1-31.
    pub day: u8,
}

/// What pricing needs to know about the member besides the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MemberProfile {
    /// The member.
    pub id: MemberId,
    /// Birthday month and day, if given.
    pub birthday: Option<MonthDay>,
    /// Who referred the member, if anyone.
    pub referred_by: Option<MemberId>,
    /// False for a verified card unknown to this terminal's cache: the member
    /// is served and earns, but cannot redeem until balances are known.
    pub balances_known: bool,
    /// Frozen by head office (member care): served, earning and using
    /// coupons, but redeeming neither points nor stored value.
    pub frozen: bool,
}

/// The member at the counter.
#[derive(Debug, Clone, Copy)]
pub struct Shopper<'a> {
    /// Profile.
    pub profile: &'a MemberProfile,
    /// Balances, folded from snapshot + local ledger.
    pub account: &'a MemberAccount,
}

/// The moment and the terminal's situation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Context {
    /// Now, in store-local offset.
    pub now: Timestamp,
    /// Whether the terminal is offline (balances provisional).
    pub offline: bool,
    /// Value of points plus stored value this member may still spend today
    /// at this terminal while offline.
    pub offline_allowance_left: Money,
}

/// How much stored value to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "use", content = "amount", rename_all = "snake_case")]
pub enum StoredValueRequest {
    /// None.
    #[default]
    None,
    /// Up to this amount.
    UpTo(Money),
    /// As much as the rules allow.
    AsMuchAsPossible,
}

/// What the member asks to apply.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TenderRequest {
    /// Coupons to use, in the order asked.
    #[serde(default)]
    pub coupons: Vec<CouponId>,
    /// Points to redeem.
    #[serde(default)]
    pub redeem_points: i64,
    /// Stored value to use.
    #[serde(default)]
    pub stored_value: StoredValueRequest,
}

/// Everything pricing needs.
#[derive(Debug, Clone, Copy)]
pub struct PricingRequest<'a> {
    /// Identity of the quote; becomes the sale's source id when booked.
    pub quote_id: SourceId,
    /// The program in force.
    pub program: &'a Program,
    /// The basket.
    pub basket: &'a Basket,
    /// The member, or `None` for a walk-in sale.
    pub shopper: Option<Shopper<'a>>,
    /// The moment and situation.
    pub context: Context,
    /// What the member asks to apply.
    pub tender: &'a TenderRequest,
}

/// A basket that cannot be priced at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    /// No lines.
    #[error("the basket is empty")]
    EmptyBasket,
    /// A line with zero or negative quantity.
    #[error("line {line} ({sku}) has quantity {quantity}; it must be at least 1")]
    BadQuantity {
        /// Line index (0-based).
        line: usize,
        /// Item code.
        sku: String,
        /// Quantity given.
        quantity: i64,
    },
    /// A line with a negative price.
    #[error("line {line} ({sku}) has a negative price")]
    NegativePrice {
        /// Line index.
        line: usize,
        /// Item code.
        sku: String,
    },
    /// More lines, a larger quantity, line or total than the bounds allow
    /// ([`crate::limits`]).
    #[error(
        "the basket is too large: at most 1,000 lines, a quantity of 1,000,000 and ¥10,000,000,000 in all"
    )]
    TooLarge,
}

/// Which rule refused or reduced something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Member-only benefit asked for a walk-in sale.
    MembersOnly,
    /// More coupons than the program allows per order.
    CouponsPerOrder,
    /// A coupon the member does not hold.
    CouponNotHeld,
    /// A coupon already used.
    CouponUsed,
    /// A coupon outside its validity window.
    CouponNotValidNow,
    /// No basket line in the coupon's scope.
    CouponNothingInScope,
    /// Below the coupon's minimum spend.
    CouponMinimumSpend,
    /// A coupon that does not combine with the tier discount, or the tier
    /// discount dropped in favour of such a coupon.
    CouponDoesNotStack,
    /// Balances unknown at this terminal (card not in the local cache).
    BalanceUnknown,
    /// The member's account is frozen by head office: no points or stored
    /// value redeemed.
    MemberFrozen,
    /// Points asked are not a multiple of the step.
    PointsStep,
    /// More points than the member has.
    PointsBalance,
    /// More than the share of the payable amount points may cover.
    PointsShareCap,
    /// More than the per-order points cap.
    PointsOrderCap,
    /// More than the per-day points cap.
    PointsDayCap,
    /// More than the offline allowance left today.
    OfflineAllowance,
    /// More stored value than the member has.
    StoredValueBalance,
}

/// Something asked for that a rule refused or reduced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Refusal {
    /// The rule.
    pub rule: Rule,
    /// Why, in words.
    pub reason: String,
}

/// One priced line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct QuoteLine {
    /// The basket line.
    pub item: BasketLine,
    /// quantity × unit price.
    pub gross: Money,
    /// Tier discount allocated to this line.
    pub tier_discount: Money,
    /// Member-day discount allocated to this line.
    pub member_day_discount: Money,
    /// Coupon discount allocated to this line.
    pub coupon_discount: Money,
    /// gross less all discounts: what the line costs.
    pub net: Money,
    /// Points redeemed allocated to this line.
    pub points: i64,
    /// Value of those points.
    pub points_value: Money,
    /// Stored-value principal allocated to this line.
    pub stored_value_principal: Money,
    /// Stored-value bonus allocated to this line.
    pub stored_value_bonus: Money,
    /// Paid in money (cash, card, mobile).
    pub money: Money,
    /// Whether the line earns points.
    pub earns: bool,
    /// The points rate of the line's category, in thousandths of the base
    /// rate (the program's `earning.category_rates`: 2000 earns double,
    /// 500 half). 1000 when the category has no rate of its own, and then
    /// absent from the JSON, so quotes from before category rates read and
    /// hash as they did.
    #[serde(
        default = "crate::program::one_milli",
        skip_serializing_if = "crate::program::is_one_milli"
    )]
    pub earn_rate_milli: i64,
}

impl QuoteLine {
    /// What the line costs beyond the points used: money plus stored value.
    pub fn paid(&self) -> Money {
        self.net - self.points_value
    }

    /// What the line counts for earning: what was paid, at its category's
    /// rate (rounded down to the fen); nothing for a line that earns none.
    pub fn earning_paid(&self) -> Money {
        if self.earns {
            self.paid()
                .clamp_non_negative()
                .mul_ratio_floor(self.earn_rate_milli.max(0), crate::program::MULTIPLIER_ONE)
        } else {
            Money::ZERO
        }
    }
}

/// A discount applied to the order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AppliedDiscount {
    /// Rate in basis points (1000 = 10% off = 9折).
    pub rate_bp: i64,
    /// Total taken off.
    pub amount: Money,
}

/// The coupon applied to the order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AppliedCoupon {
    /// Which coupon.
    pub coupon: CouponId,
    /// Its code.
    pub code: String,
    /// Total taken off (zero for a gift).
    pub amount: Money,
    /// The gift it adds, if a gift coupon.
    pub gift: Option<GiftLine>,
}

/// A free item added by a coupon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct GiftLine {
    /// Item code.
    pub sku: String,
    /// Name.
    pub name: String,
    /// Shelf value (not charged).
    pub value: Money,
}

/// Why points earn extra today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Occasion {
    /// The member's birthday month.
    BirthdayMonth,
    /// Member day.
    MemberDay,
}

/// How the points to be earned were computed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EarnBreakdown {
    /// Paid with money or stored value on lines that earn.
    pub eligible_paid: Money,
    /// Points before multipliers (whole yuan × points per yuan).
    pub base_points: i64,
    /// Tier multiplier, thousandths.
    pub tier_multiplier_milli: i64,
    /// Occasion giving extra points, if any (the larger one when both apply).
    pub occasion: Option<Occasion>,
    /// Its multiplier, thousandths (1000 when none).
    pub occasion_multiplier_milli: i64,
    /// Points to be earned, rounded down.
    pub points: i64,
}

/// A priced order, ready to show and to book.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Quote {
    /// Identity; the sale's source id once booked.
    pub id: SourceId,
    /// The member, or `None` for a walk-in sale.
    pub member: Option<MemberId>,
    /// Priced at.
    #[serde(with = "crate::timestamp")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::ids::Timestamp"))]
    pub at: Timestamp,
    /// Priced offline.
    pub offline: bool,
    /// The program version it was priced with ([`crate::Program::version`]):
    /// the version in force at `at` among those the terminal held. `None`
    /// only in quotes from before versions were named (absent in their JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program_version: Option<u32>,
    /// Member's tier at pricing.
    pub tier: Option<TierLevel>,
    /// Lines.
    pub lines: Vec<QuoteLine>,
    /// Σ gross.
    pub subtotal: Money,
    /// Tier discount, if any.
    pub tier_discount: Option<AppliedDiscount>,
    /// Member-day discount, if any.
    pub member_day_discount: Option<AppliedDiscount>,
    /// The coupon, if one applied.
    pub coupon: Option<AppliedCoupon>,
    /// Σ net: the order total after discounts.
    pub total: Money,
    /// Points redeemed.
    pub points_redeemed: i64,
    /// Their value.
    pub points_value: Money,
    /// Stored value used, principal.
    pub stored_value_principal: Money,
    /// Stored value used, bonus.
    pub stored_value_bonus: Money,
    /// Due in money.
    pub amount_due: Money,
    /// Points to be earned.
    pub earn: EarnBreakdown,
    /// Qualifying spend this order adds (total less points value).
    pub qualifying_spend: Money,
    /// What was refused or reduced, and why.
    pub refusals: Vec<Refusal>,
}

impl Quote {
    /// Stored value used, principal plus bonus.
    pub fn stored_value_used(&self) -> Money {
        self.stored_value_principal + self.stored_value_bonus
    }

    /// Σ discounts (tier, member day, coupon).
    pub fn discount_total(&self) -> Money {
        self.subtotal - self.total
    }
}
