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

use crate::limits;
use crate::money::{Money, allocate_by_largest_remainder, allocate_money};

mod discounts;
mod earn;
mod occasion;
mod quote;
mod tender;

use discounts::*;
use earn::*;
pub use occasion::{is_member_day, occasion_at};
pub use quote::*;
use tender::*;
pub use tender::{points_to_money, split_stored_value};

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
        .map(|l| shopper.is_some() && l.list_price.is_none() && program.discountable(&l.category))
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
            earn_rate_milli: program.earn_rate_milli(&item.category),
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
        program_version: Some(program.version),
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
