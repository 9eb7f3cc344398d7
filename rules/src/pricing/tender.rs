//! Paying a quote: points redeemed (in steps, under every cap) and stored
//! value (principal and bonus in proportion to the balance).

use crate::money::{BASIS_POINTS, Money};
use crate::program::Program;

use super::quote::*;

/// Money value of `points` under the program's redemption rate.
pub fn points_to_money(program: &Program, points: i64) -> Money {
    Money::from_fen(points).mul_ratio_floor(100, program.redemption.points_per_yuan.max(1))
}

/// Most points worth at most `value`, in whole steps.
pub(super) fn points_for_value(program: &Program, value: Money) -> i64 {
    let r = &program.redemption;
    let points = value
        .clamp_non_negative()
        .mul_ratio_floor(r.points_per_yuan, 100)
        .fen();
    round_down_to_step(points, r.step)
}

pub(super) fn round_down_to_step(points: i64, step: i64) -> i64 {
    if step <= 0 {
        return points.max(0);
    }
    points.max(0) / step * step
}

pub(super) fn redeem_points(
    program: &Program,
    shopper: Option<Shopper<'_>>,
    context: Context,
    tender: &TenderRequest,
    total: Money,
    refusals: &mut Vec<Refusal>,
) -> i64 {
    let asked = tender.redeem_points;
    if asked <= 0 {
        return 0;
    }
    let Some(shopper) = shopper else {
        refusals.push(Refusal {
            rule: Rule::MembersOnly,
            reason: "points are for members; this is a walk-in sale".into(),
        });
        return 0;
    };
    if !shopper.profile.balances_known {
        refusals.push(Refusal {
            rule: Rule::BalanceUnknown,
            reason: "this member's balance is not known at this terminal yet; points can be redeemed once it syncs".into(),
        });
        return 0;
    }
    if shopper.profile.frozen {
        refusals.push(Refusal {
            rule: Rule::MemberFrozen,
            reason: "this member's account is frozen by head office; points cannot be redeemed"
                .into(),
        });
        return 0;
    }
    let r = &program.redemption;
    let mut points = round_down_to_step(asked, r.step);
    if points != asked {
        refusals.push(Refusal {
            rule: Rule::PointsStep,
            reason: format!(
                "points are redeemed in steps of {}: {asked} became {points}",
                r.step
            ),
        });
    }
    let now = context.now;
    let used_today = shopper.account.used_on(now.date_naive());
    let mut limit = |points: &mut i64, cap: i64, rule: Rule, why: String| {
        let cap = round_down_to_step(cap, r.step);
        if *points > cap {
            *points = cap;
            refusals.push(Refusal { rule, reason: why });
        }
    };
    let available = shopper.account.points_available(now);
    limit(
        &mut points,
        available,
        Rule::PointsBalance,
        format!("the member has {available} points available"),
    );
    let share_value = total.mul_ratio_floor(r.max_share_bp, BASIS_POINTS);
    limit(
        &mut points,
        points_for_value(program, share_value),
        Rule::PointsShareCap,
        format!(
            "points may pay at most {}% of the order ({share_value})",
            r.max_share_bp / 100
        ),
    );
    if let Some(cap) = r.max_points_per_order {
        limit(
            &mut points,
            cap,
            Rule::PointsOrderCap,
            format!("at most {cap} points per order"),
        );
    }
    if let Some(cap) = r.max_points_per_day {
        let left = (cap - used_today.points_redeemed).max(0);
        limit(
            &mut points,
            left,
            Rule::PointsDayCap,
            format!("at most {cap} points per day; {left} left today"),
        );
    }
    if context.offline {
        let allowance = context.offline_allowance_left;
        limit(
            &mut points,
            points_for_value(program, allowance),
            Rule::OfflineAllowance,
            format!("offline, at most {allowance} of points and stored value today"),
        );
    }
    points
}

pub(super) fn use_stored_value(
    shopper: Option<Shopper<'_>>,
    context: Context,
    tender: &TenderRequest,
    payable: Money,
    points_value: Money,
    refusals: &mut Vec<Refusal>,
) -> (Money, Money) {
    let wanted = match tender.stored_value {
        StoredValueRequest::None => return (Money::ZERO, Money::ZERO),
        StoredValueRequest::UpTo(amount) if amount.fen() <= 0 => {
            return (Money::ZERO, Money::ZERO);
        }
        StoredValueRequest::UpTo(amount) => amount.min(payable),
        StoredValueRequest::AsMuchAsPossible => payable,
    };
    let Some(shopper) = shopper else {
        refusals.push(Refusal {
            rule: Rule::MembersOnly,
            reason: "stored value is for members; this is a walk-in sale".into(),
        });
        return (Money::ZERO, Money::ZERO);
    };
    if !shopper.profile.balances_known {
        refusals.push(Refusal {
            rule: Rule::BalanceUnknown,
            reason: "this member's stored value is not known at this terminal yet".into(),
        });
        return (Money::ZERO, Money::ZERO);
    }
    if shopper.profile.frozen {
        refusals.push(Refusal {
            rule: Rule::MemberFrozen,
            reason: "this member's account is frozen by head office; stored value cannot be used"
                .into(),
        });
        return (Money::ZERO, Money::ZERO);
    }
    let balance = shopper.account.stored_value;
    let principal = balance.principal.clamp_non_negative();
    let bonus = balance.bonus.clamp_non_negative();
    let mut amount = wanted;
    if amount > principal + bonus {
        amount = principal + bonus;
        if matches!(tender.stored_value, StoredValueRequest::UpTo(_)) {
            refusals.push(Refusal {
                rule: Rule::StoredValueBalance,
                reason: format!("the member has {} of stored value", principal + bonus),
            });
        }
    }
    if context.offline {
        let left = (context.offline_allowance_left - points_value).clamp_non_negative();
        if amount > left {
            amount = left;
            refusals.push(Refusal {
                rule: Rule::OfflineAllowance,
                reason: format!(
                    "offline, at most {} of points and stored value today",
                    context.offline_allowance_left
                ),
            });
        }
    }
    split_stored_value(amount, principal, bonus)
}

/// Splits a stored-value payment into principal and bonus in proportion to
/// the balance (half-up on the principal part), never taking more of either
/// than there is.
pub fn split_stored_value(amount: Money, principal: Money, bonus: Money) -> (Money, Money) {
    let balance = principal + bonus;
    if amount.fen() <= 0 || balance.fen() <= 0 {
        return (Money::ZERO, Money::ZERO);
    }
    let mut from_principal = amount.mul_ratio_half_up(principal.fen(), balance.fen());
    from_principal = from_principal.min(principal).max(amount - bonus);
    (from_principal, amount - from_principal)
}
