//! Checkout pricing: a basket, the member (if any), the program and the
//! moment give a [`Quote`] that itemizes every discount, the coupon, points
//! redeemed, the stored-value split, the amount due, the points to be
//! earned, and every rule that refused something, with the reason.
//!
//! Order of operations (each step works on what the previous one left):
//! 1. line gross = quantity × unit price;
//! 2. tier discount on discountable lines, rounded half-up on the order total
//!    and allocated to lines by largest remainder;
//! 3. member-day extra discount, the same way, on what step 2 left;
//! 4. the coupon on its in-scope lines (minimum spend checked against what
//!    steps 2-3 left); a coupon that does not stack with the tier discount
//!    replaces it only when that is cheaper for the member;
//! 5. points redeemed, in steps, capped by balance, share of the payable
//!    amount, per-order and per-day caps and (offline) the allowance;
//! 6. stored value, principal and bonus in proportion to the balance;
//! 7. the rest is due in money; points are earned on what was paid with
//!    money or stored value on lines that earn.

use chrono::Datelike;
use serde::{Deserialize, Serialize};

use crate::account::MemberAccount;
use crate::ids::{CouponId, MemberId, SourceId, Timestamp};
use crate::ledger::Coupon;
use crate::limits;
use crate::money::{BASIS_POINTS, Money, allocate_by_largest_remainder, allocate_money};
use crate::program::{CouponKind, MULTIPLIER_ONE, MemberDayRule, Program, TierLevel};

mod discounts;
mod earn;
mod tender;

use discounts::*;
use earn::*;
use tender::*;
pub use tender::{points_to_money, split_stored_value};

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
}

impl QuoteLine {
    /// What the line costs beyond the points used: money plus stored value.
    pub fn paid(&self) -> Money {
        self.net - self.points_value
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

/// The occasion raising the points multiplier at `now`, if any.
pub fn occasion_at(
    program: &Program,
    profile: &MemberProfile,
    now: Timestamp,
) -> Option<(Occasion, i64)> {
    let birthday = profile
        .birthday
        .filter(|b| u32::from(b.month) == now.month())
        .map(|_| {
            (
                Occasion::BirthdayMonth,
                program.birthday.points_multiplier_milli,
            )
        });
    let member_day = program
        .member_day
        .as_ref()
        .filter(|d| is_member_day(d.day, now))
        .map(|d| (Occasion::MemberDay, d.points_multiplier_milli));
    // The two do not compound: the larger applies; birthday wins a tie.
    match (birthday, member_day) {
        (Some(b), Some(m)) => Some(if m.1 > b.1 { m } else { b }),
        (b, m) => b.or(m).filter(|o| o.1 != MULTIPLIER_ONE),
    }
}

/// Whether `now` falls on member day.
pub fn is_member_day(rule: MemberDayRule, now: Timestamp) -> bool {
    match rule {
        MemberDayRule::Weekday { weekday } => {
            now.weekday().number_from_monday() == u32::from(weekday)
        }
        MemberDayRule::DayOfMonth { day } => now.day() == u32::from(day),
    }
}

/// Prices an order. Pure: the same request always gives the same quote.
pub fn price(request: &PricingRequest<'_>) -> Result<Quote, PricingError> {
    let PricingRequest {
        quote_id,
        program,
        basket,
        shopper,
        context,
        tender,
    } = *request;
    let now = context.now;
    let mut refusals = Vec::new();

    if basket.lines.is_empty() {
        return Err(PricingError::EmptyBasket);
    }
    if basket.lines.len() > limits::MAX_ITEMS {
        return Err(PricingError::TooLarge);
    }
    let mut gross = Vec::with_capacity(basket.lines.len());
    for (line, item) in basket.lines.iter().enumerate() {
        if item.quantity > limits::MAX_QUANTITY {
            return Err(PricingError::TooLarge);
        }
        if item.quantity < 1 {
            return Err(PricingError::BadQuantity {
                line,
                sku: item.sku.clone(),
                quantity: item.quantity,
            });
        }
        if item.unit_price.is_negative() {
            return Err(PricingError::NegativePrice {
                line,
                sku: item.sku.clone(),
            });
        }
        let fen = item
            .unit_price
            .fen()
            .checked_mul(item.quantity)
            .filter(|f| *f <= limits::MAX_FEN)
            .ok_or(PricingError::TooLarge)?;
        gross.push(Money::from_fen(fen));
    }
    // Every amount of the quote is at most the subtotal, so bounding it
    // bounds them all (limits::check_quote holds a quote to the same).
    let subtotal: Money = gross.iter().sum();
    if subtotal.fen() > limits::MAX_FEN {
        return Err(PricingError::TooLarge);
    }

    let discountable: Vec<bool> = basket
        .lines
        .iter()
        .map(|l| shopper.is_some() && program.discountable(&l.category))
        .collect();
    let tier_level = shopper.map(|s| s.account.tier);
    let tier_bp = tier_level
        .and_then(|level| program.tier(level))
        .map_or(0, |t| t.discount_bp);
    let member_day_bp = program
        .member_day
        .as_ref()
        .filter(|d| shopper.is_some() && is_member_day(d.day, now))
        .map_or(0, |d| d.extra_discount_bp);

    // Steps 2-4, tried with and without the tier discount when a coupon
    // does not stack with it.
    let coupon = choose_coupon(program, shopper, tender, now, &mut refusals);
    let with_tier = discount_lines(&gross, &discountable, tier_bp, member_day_bp);
    let mut plan = match &coupon {
        None => with_tier,
        Some(c) if c.stacks_with_tier_discount || tier_bp == 0 => {
            apply_coupon(with_tier, c, basket, &discountable, &mut refusals)
        }
        Some(c) => {
            let mut coupon_refusals = Vec::new();
            let with_coupon = apply_coupon(
                discount_lines(&gross, &discountable, 0, member_day_bp),
                c,
                basket,
                &discountable,
                &mut coupon_refusals,
            );
            if with_coupon.coupon.is_none() {
                // The coupon fails on its own terms (scope, minimum spend).
                refusals.extend(coupon_refusals);
                with_tier
            } else if with_coupon.savings() > with_tier.savings() {
                refusals.push(Refusal {
                    rule: Rule::CouponDoesNotStack,
                    reason: format!(
                        "coupon {} does not combine with the tier discount; the coupon saves more, so the tier discount is not applied",
                        c.code
                    ),
                });
                with_coupon
            } else {
                refusals.push(Refusal {
                    rule: Rule::CouponDoesNotStack,
                    reason: format!(
                        "coupon {} does not combine with the tier discount, which saves more; the coupon stays unused",
                        c.code
                    ),
                });
                with_tier
            }
        }
    };
    let net: Vec<Money> = plan.net(&gross);
    let total: Money = net.iter().sum();

    // Step 5: points.
    let points = redeem_points(program, shopper, context, tender, total, &mut refusals);
    let points_value = points_to_money(program, points);
    let line_points =
        allocate_by_largest_remainder(points, &net.iter().map(|m| m.fen()).collect::<Vec<_>>());
    let line_points_value: Vec<Money> = allocate_money(points_value, &net);

    // Step 6: stored value.
    let after_points = total - points_value;
    let (sv_principal, sv_bonus) = use_stored_value(
        shopper,
        context,
        tender,
        after_points,
        points_value,
        &mut refusals,
    );
    let payable: Vec<Money> = net
        .iter()
        .zip(&line_points_value)
        .map(|(n, p)| *n - *p)
        .collect();
    let line_sv = allocate_money(sv_principal + sv_bonus, &payable);
    let line_principal = allocate_money(sv_principal, &line_sv);

    let mut lines = Vec::with_capacity(basket.lines.len());
    for (i, item) in basket.lines.iter().enumerate() {
        let sv_principal_i = line_principal[i];
        let sv_bonus_i = line_sv[i] - sv_principal_i;
        lines.push(QuoteLine {
            item: item.clone(),
            gross: gross[i],
            tier_discount: plan.tier[i],
            member_day_discount: plan.member_day[i],
            coupon_discount: plan.coupon_alloc[i],
            net: net[i],
            points: line_points[i],
            points_value: line_points_value[i],
            stored_value_principal: sv_principal_i,
            stored_value_bonus: sv_bonus_i,
            money: net[i] - line_points_value[i] - line_sv[i],
            earns: shopper.is_some() && program.earns(&item.category),
        });
    }

    let earn = earn_points(program, shopper, now, &lines);
    let applied = |rate_bp: i64, amounts: &[Money]| {
        let amount: Money = amounts.iter().sum();
        (!amount.is_zero()).then_some(AppliedDiscount { rate_bp, amount })
    };
    let tier_discount = applied(plan.tier_rate_bp, &plan.tier);
    let member_day_discount = applied(member_day_bp, &plan.member_day);
    let coupon = plan.coupon.take();

    Ok(Quote {
        id: quote_id,
        member: shopper.map(|s| s.profile.id),
        at: now,
        offline: context.offline,
        tier: tier_level,
        subtotal,
        tier_discount,
        member_day_discount,
        coupon,
        total,
        points_redeemed: points,
        points_value,
        stored_value_principal: sv_principal,
        stored_value_bonus: sv_bonus,
        amount_due: total - points_value - sv_principal - sv_bonus,
        earn,
        qualifying_spend: total - points_value,
        refusals,
        lines,
    })
}
