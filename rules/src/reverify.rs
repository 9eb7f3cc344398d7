//! Re-verification: head office prices an uploaded sale again, with the
//! same [`pricing::price`] the terminal used, and names every figure the
//! terminal booked beyond what the program gives.
//!
//! The terminal's view of the member at the moment of the sale is rebuilt
//! from the sale itself, generously, so that an honest terminal is never
//! accused:
//! - the tier is the one the quote was priced at;
//! - the points redeemed are available, with no use earlier that day (the
//!   daily cap is not re-checked: head office's account lacks the day's
//!   offline uses of other terminals);
//! - the coupon applied is the one head office issued under that id
//!   (unused);
//! - the birthday month is the one the caller knows (head office passes
//!   the claimed month when it does not load birthdays; see the caller);
//! - offline allowances do not limit (they protect the terminal, not the
//!   program).
//!
//! So the re-priced quote is an upper bound of what the program gives, and
//! an [`Excess`] is something no view of the member could have priced.
//!
//! Nothing here depends on what head office has received before the sale
//! beyond a coupon's terms: events arrive in any order (PROTOCOL.md), and
//! an honest terminal must raise no excess whatever the order. So the tier
//! the quote claims and whether this is the member's first purchase (the
//! referral reward) are not judged against head office's account, which
//! may not hold the upgrade or the earlier purchase yet; a coupon head
//! office does not hold yet leaves the discount unjudged.
//!
//! ```
//! use tillcard_rules::reverify::{Excess, Held, reverify_sale};
//! # use tillcard_rules::ids::{MemberId, SourceId, Timestamp};
//! # use tillcard_rules::ledger::{EarnReason, EntryKind, LedgerEntry};
//! # use tillcard_rules::pricing::*;
//! # use tillcard_rules::{LotId, MemberAccount, Money, Program};
//! # use uuid::Uuid;
//! let program = Program::default();
//! let member = MemberId(Uuid::from_u128(1));
//! let at = Timestamp::parse_from_rfc3339("2026-11-30T10:00:00+08:00").unwrap();
//! let basket = Basket { lines: vec![BasketLine {
//!     sku: "tea".into(), name: "tea".into(), category: "grocery".into(),
//!     quantity: 1, unit_price: Money::from_yuan(100), list_price: None,
//! }] };
//! let profile = MemberProfile { id: member, birthday: None, referred_by: None, balances_known: true, frozen: false };
//! let account = MemberAccount::new(member);
//! let quote = price(&PricingRequest {
//!     quote_id: SourceId(Uuid::from_u128(2)), program: &program, basket: &basket,
//!     shopper: Some(Shopper { profile: &profile, account: &account }),
//!     context: Context { now: at, offline: false, offline_allowance_left: Money::ZERO },
//!     tender: &TenderRequest::default(),
//! }).unwrap();
//! // The terminal books ten times the points the quote earns.
//! let entries = vec![LedgerEntry { member, source: quote.id, at, kind: EntryKind::PointsEarned {
//!     lot: LotId(quote.id), points: quote.earn.points * 10, expires_at: at, reason: EarnReason::Purchase,
//! } }];
//! let held = Held { account: Some(&account), birthday: None };
//! let excess = reverify_sale(&program, &quote, &entries, held).unwrap();
//! assert_eq!(excess, vec![Excess::PointsEarned { booked: quote.earn.points * 10, allowed: quote.earn.points }]);
//! ```

use crate::account::{CouponHolding, MemberAccount, PointsLot};
use crate::ids::{LotId, MemberId, Timestamp};
use crate::ledger::{EarnReason, EntryKind, LedgerEntry, points_earned};
use crate::limits;
use crate::money::Money;
use crate::pricing::{
    self, Basket, Context, MemberProfile, MonthDay, PricingError, PricingRequest, Quote, Shopper,
    StoredValueRequest, TenderRequest,
};
use crate::program::{Program, TierLevel};

/// What head office holds about the member, as far as it knows it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Held<'a> {
    /// The member's account as head office holds it, if it does: only the
    /// terms of the coupon the sale applied are read from it.
    pub account: Option<&'a MemberAccount>,
    /// The member's birthday, if known.
    pub birthday: Option<MonthDay>,
}

/// A figure a sale booked beyond what the program gives: both figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Excess {
    /// Discounts (tier, member day, coupon) taken off the order.
    Discount {
        /// Taken off by the terminal.
        booked: Money,
        /// The most the program takes off.
        allowed: Money,
    },
    /// Points redeemed: more than the program lets the order take, or
    /// valued above the redemption rate.
    PointsRedeemed {
        /// Value the terminal gave the points.
        booked: Money,
        /// The most the program gives for the order.
        allowed: Money,
    },
    /// Points earned by the purchase.
    PointsEarned {
        /// Booked by the terminal.
        booked: i64,
        /// What the program gives for what was paid.
        allowed: i64,
    },
    /// A referral reward above the program's, for one member.
    ReferralPoints {
        /// Booked by the terminal for that member.
        booked: i64,
        /// The program's reward.
        allowed: i64,
    },
}

impl Excess {
    /// A short name for the kind of figure (`discount`, `points_redeemed`,
    /// `points_earned`, `referral_points`).
    pub fn figure(&self) -> &'static str {
        match self {
            Excess::Discount { .. } => "discount",
            Excess::PointsRedeemed { .. } => "points_redeemed",
            Excess::PointsEarned { .. } => "points_earned",
            Excess::ReferralPoints { .. } => "referral_points",
        }
    }

    /// Both figures in words, for a reviewer (no personal data).
    pub fn describe(&self) -> String {
        match self {
            Excess::Discount { booked, allowed } => format!(
                "discount booked {} fen; the program gives at most {} fen",
                booked.fen(),
                allowed.fen()
            ),
            Excess::PointsRedeemed { booked, allowed } => format!(
                "points redeemed for {} fen; the program allows at most {} fen",
                booked.fen(),
                allowed.fen()
            ),
            Excess::PointsEarned { booked, allowed } => {
                format!("points earned booked {booked}; the program gives {allowed}")
            }
            Excess::ReferralPoints { booked, allowed } => {
                format!("referral points booked {booked}; the program gives {allowed}")
            }
        }
    }
}

/// Prices `quote`'s basket again under `program` and lists every figure
/// `entries` (the sale's ledger entries) or the quote booked beyond it.
/// Empty when the sale is within the program. Errors only when the quote
/// cannot be priced at all (an empty or oversized basket), which the
/// caller's validation refuses first.
pub fn reverify_sale(
    program: &Program,
    quote: &Quote,
    entries: &[LedgerEntry],
    held: Held<'_>,
) -> Result<Vec<Excess>, PricingError> {
    let basket = Basket {
        lines: quote.lines.iter().map(|l| l.item.clone()).collect(),
    };
    let tender = TenderRequest {
        coupons: quote.coupon.iter().map(|c| c.coupon).collect(),
        redeem_points: quote.points_redeemed,
        stored_value: StoredValueRequest::None,
    };
    let context = Context {
        now: quote.at,
        offline: quote.offline,
        offline_allowance_left: Money::from_fen(limits::MAX_FEN),
    };
    let mut excess = Vec::new();
    let allowed = match quote.member {
        None => pricing::price(&PricingRequest {
            quote_id: quote.id,
            program,
            basket: &basket,
            shopper: None,
            context,
            tender: &tender,
        })?,
        Some(member) => {
            let tier = quote.tier.unwrap_or(TierLevel(0));
            let account = as_the_terminal_knew_it(member, quote, tier, held.account);
            let profile = MemberProfile {
                id: member,
                birthday: held.birthday,
                referred_by: None,
                balances_known: true,
                frozen: false,
            };
            pricing::price(&PricingRequest {
                quote_id: quote.id,
                program,
                basket: &basket,
                shopper: Some(Shopper {
                    profile: &profile,
                    account: &account,
                }),
                context,
                tender: &tender,
            })?
        }
    };

    // A coupon head office does not hold (yet: its issue may arrive later)
    // cannot be priced again, so the discount is not judged.
    let coupon_unknown = quote.coupon.as_ref().is_some_and(|applied| {
        held.account
            .and_then(|a| a.coupon(applied.coupon))
            .is_none()
    });
    let (booked_discount, allowed_discount) = (quote.discount_total(), allowed.discount_total());
    if !coupon_unknown && booked_discount > allowed_discount {
        excess.push(Excess::Discount {
            booked: booked_discount,
            allowed: allowed_discount,
        });
    }
    if quote.points_redeemed > allowed.points_redeemed || quote.points_value > allowed.points_value
    {
        excess.push(Excess::PointsRedeemed {
            booked: quote.points_value,
            allowed: allowed.points_value,
        });
    }
    let earned = quote.member.map_or(0, |member| {
        points_earned(entries, member, EarnReason::Purchase)
    });
    if earned > allowed.earn.points {
        excess.push(Excess::PointsEarned {
            booked: earned,
            allowed: allowed.earn.points,
        });
    }
    let reward = program.referral.points_each;
    for entry in entries {
        if let EntryKind::PointsEarned {
            points,
            reason: EarnReason::Referral,
            ..
        } = entry.kind
            && points > reward
        {
            excess.push(Excess::ReferralPoints {
                booked: points,
                allowed: reward,
            });
        }
    }
    Ok(excess)
}

/// The member's account as generously as the terminal could have known
/// it: the quote's tier, the points it redeemed in one lot, and the coupon
/// it applied as head office issued it.
fn as_the_terminal_knew_it(
    member: MemberId,
    quote: &Quote,
    tier: TierLevel,
    held: Option<&MemberAccount>,
) -> MemberAccount {
    let mut account = MemberAccount::new(member);
    account.tier = tier;
    if quote.points_redeemed > 0 {
        account.lots.push(PointsLot {
            lot: LotId(quote.id),
            earned_at: quote.at,
            expires_at: far_after(quote.at),
            remaining: quote.points_redeemed,
            awaiting_earning: false,
        });
    }
    if let (Some(applied), Some(held)) = (&quote.coupon, held)
        && let Some(holding) = held.coupon(applied.coupon)
    {
        account.coupons.push(CouponHolding {
            coupon: holding.coupon.clone(),
            uses: 0,
        });
    }
    account
}

/// A moment no lot of the re-pricing expires before.
fn far_after(at: Timestamp) -> Timestamp {
    at.checked_add_signed(chrono::Duration::days(3660))
        .unwrap_or(at)
}
