//! The discounts of a quote, before points and stored value: the tier
//! discount and the member-day discount as order-level rates allocated to
//! lines, and the choice and application of a coupon.

use crate::ids::Timestamp;
use crate::ledger::Coupon;
use crate::money::{Money, allocate_money};
use crate::program::{CouponKind, Program};

use super::quote::*;

/// Discounts per line before points and stored value.
pub(super) struct DiscountPlan {
    pub(super) tier_rate_bp: i64,
    pub(super) tier: Vec<Money>,
    pub(super) member_day: Vec<Money>,
    pub(super) coupon_alloc: Vec<Money>,
    pub(super) coupon: Option<AppliedCoupon>,
}

impl DiscountPlan {
    pub(super) fn net(&self, gross: &[Money]) -> Vec<Money> {
        (0..gross.len())
            .map(|i| gross[i] - self.tier[i] - self.member_day[i] - self.coupon_alloc[i])
            .collect()
    }

    /// Everything the plan takes off the order.
    pub(super) fn savings(&self) -> Money {
        self.tier.iter().sum::<Money>()
            + self.member_day.iter().sum::<Money>()
            + self.coupon_alloc.iter().sum::<Money>()
    }
}

/// One order-level rate on the eligible lines, rounded half-up on the total
/// and allocated by largest remainder.
pub(super) fn order_discount(base: &[Money], eligible: &[bool], rate_bp: i64) -> Vec<Money> {
    let weights: Vec<Money> = base
        .iter()
        .zip(eligible)
        .map(|(m, e)| if *e { *m } else { Money::ZERO })
        .collect();
    let eligible_total: Money = weights.iter().sum();
    allocate_money(eligible_total.percent_bp_half_up(rate_bp), &weights)
}

pub(super) fn discount_lines(
    gross: &[Money],
    discountable: &[bool],
    tier_bp: i64,
    member_day_bp: i64,
) -> DiscountPlan {
    let tier = order_discount(gross, discountable, tier_bp);
    let after_tier: Vec<Money> = gross.iter().zip(&tier).map(|(g, t)| *g - *t).collect();
    let member_day = order_discount(&after_tier, discountable, member_day_bp);
    DiscountPlan {
        tier_rate_bp: tier_bp,
        tier,
        member_day,
        coupon_alloc: vec![Money::ZERO; gross.len()],
        coupon: None,
    }
}

/// Picks the coupon to try: held, unused and valid now; refuses the others.
pub(super) fn choose_coupon<'a>(
    program: &Program,
    shopper: Option<Shopper<'a>>,
    tender: &TenderRequest,
    now: Timestamp,
    refusals: &mut Vec<Refusal>,
) -> Option<&'a Coupon> {
    let mut chosen = None;
    let mut counted = 0u32;
    for id in &tender.coupons {
        let Some(shopper) = shopper else {
            refusals.push(Refusal {
                rule: Rule::MembersOnly,
                reason: "coupons are for members; this is a walk-in sale".into(),
            });
            break;
        };
        if counted >= program.coupons.max_per_order {
            refusals.push(Refusal {
                rule: Rule::CouponsPerOrder,
                reason: format!(
                    "only {} coupon(s) per order; coupon {id} was not used",
                    program.coupons.max_per_order
                ),
            });
            continue;
        }
        let Some(holding) = shopper.account.coupon(*id) else {
            refusals.push(Refusal {
                rule: Rule::CouponNotHeld,
                reason: format!("coupon {id} does not belong to this member"),
            });
            continue;
        };
        if holding.used() {
            refusals.push(Refusal {
                rule: Rule::CouponUsed,
                reason: format!("coupon {} has already been used", holding.coupon.code),
            });
            continue;
        }
        if !holding.coupon.valid_at(now) {
            let when = if now < holding.coupon.valid_from {
                format!("is valid from {}", holding.coupon.valid_from.date_naive())
            } else {
                format!("expired on {}", holding.coupon.valid_until.date_naive())
            };
            refusals.push(Refusal {
                rule: Rule::CouponNotValidNow,
                reason: format!("coupon {} {when}", holding.coupon.code),
            });
            continue;
        }
        counted += 1;
        chosen = Some(&holding.coupon);
    }
    chosen
}

pub(super) fn apply_coupon(
    mut plan: DiscountPlan,
    coupon: &Coupon,
    basket: &Basket,
    discountable: &[bool],
    refusals: &mut Vec<Refusal>,
) -> DiscountPlan {
    let after_member: Vec<Money> = (0..basket.lines.len())
        .map(|i| {
            let in_scope = discountable[i] && coupon.scope.covers(&basket.lines[i].category);
            if in_scope {
                plan.tier_free_amount(i, basket)
            } else {
                Money::ZERO
            }
        })
        .collect();
    let in_scope: Money = after_member.iter().sum();
    if in_scope.is_zero() {
        refusals.push(Refusal {
            rule: Rule::CouponNothingInScope,
            reason: format!("coupon {} covers none of these items", coupon.code),
        });
        return plan;
    }
    let min_spend = match &coupon.kind {
        CouponKind::AmountOff { min_spend, .. }
        | CouponKind::PercentOff { min_spend, .. }
        | CouponKind::FreeGift { min_spend, .. } => *min_spend,
    };
    if in_scope < min_spend {
        refusals.push(Refusal {
            rule: Rule::CouponMinimumSpend,
            reason: format!(
                "coupon {} needs {min_spend} of eligible items; this order has {in_scope}",
                coupon.code
            ),
        });
        return plan;
    }
    let (amount, gift) = match &coupon.kind {
        CouponKind::AmountOff { off, .. } => ((*off).min(in_scope), None),
        CouponKind::PercentOff { off_bp, cap, .. } => {
            (in_scope.percent_bp_half_up(*off_bp).min(*cap), None)
        }
        CouponKind::FreeGift {
            sku, name, value, ..
        } => (
            Money::ZERO,
            Some(GiftLine {
                sku: sku.clone(),
                name: name.clone(),
                value: *value,
            }),
        ),
    };
    plan.coupon_alloc = allocate_money(amount, &after_member);
    plan.coupon = Some(AppliedCoupon {
        coupon: coupon.id,
        code: coupon.code.clone(),
        amount,
        gift,
    });
    plan
}

impl DiscountPlan {
    /// What line `i` costs after the member discounts (tier, member day).
    pub(super) fn tier_free_amount(&self, i: usize, basket: &Basket) -> Money {
        let item = &basket.lines[i];
        Money::from_fen(item.unit_price.fen().saturating_mul(item.quantity))
            - self.tier[i]
            - self.member_day[i]
    }
}
