//! The points a quote earns: on what was paid with money or stored value on
//! lines that earn, each at its category's rate, at the tier's and the
//! occasion's multipliers.

use crate::ids::Timestamp;
use crate::money::Money;
use crate::program::{MULTIPLIER_ONE, Program};

use super::occasion::*;
use super::quote::*;

pub(super) fn earn_points(
    program: &Program,
    shopper: Option<Shopper<'_>>,
    now: Timestamp,
    lines: &[QuoteLine],
) -> EarnBreakdown {
    // Each line at its category's rate (`QuoteLine::earning_paid`).
    let eligible_paid: Money = lines
        .iter()
        .map(QuoteLine::earning_paid)
        .sum::<Money>()
        .clamp_non_negative();
    let Some(shopper) = shopper else {
        return EarnBreakdown {
            eligible_paid: Money::ZERO,
            base_points: 0,
            tier_multiplier_milli: MULTIPLIER_ONE,
            occasion: None,
            occasion_multiplier_milli: MULTIPLIER_ONE,
            points: 0,
        };
    };
    let base_points = eligible_paid.whole_yuan() * program.earning.points_per_yuan;
    let tier_multiplier_milli = program
        .tier(shopper.account.tier)
        .map_or(MULTIPLIER_ONE, |t| t.points_multiplier_milli);
    let occasion = occasion_at(program, shopper.profile, now);
    let occasion_multiplier_milli = occasion.map_or(MULTIPLIER_ONE, |o| o.1);
    let points = i64::try_from(
        i128::from(base_points)
            * i128::from(tier_multiplier_milli)
            * i128::from(occasion_multiplier_milli)
            / i128::from(MULTIPLIER_ONE * MULTIPLIER_ONE),
    )
    .unwrap_or(i64::MAX);
    EarnBreakdown {
        eligible_paid,
        base_points,
        tier_multiplier_milli,
        occasion: occasion.map(|o| o.0),
        occasion_multiplier_milli,
        points,
    }
}
