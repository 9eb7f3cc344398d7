//! Ledger entries: the only record of what happened to a member's points,
//! stored value, coupons, qualifying spend and tier. Balances are folds over
//! these entries (see [`crate::account`]), never numbers stored on their own.

use serde::{Deserialize, Serialize};

use crate::ids::{CouponId, LotId, MemberId, SourceId, Timestamp};
use crate::money::Money;
use crate::program::{CategoryScope, CouponKind, TierLevel};

/// One fact in a member's ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LedgerEntry {
    /// Whose ledger.
    pub member: MemberId,
    /// The business action that produced this entry.
    pub source: SourceId,
    /// When the action happened (store-local offset).
    #[serde(with = "crate::timestamp")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::ids::Timestamp"))]
    pub at: Timestamp,
    /// What happened.
    pub kind: EntryKind,
}

/// Points taken from (or given back to) one lot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LotDraw {
    /// The lot.
    pub lot: LotId,
    /// Points taken or given back (always positive).
    pub points: i64,
}

/// Why points were earned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum EarnReason {
    /// Paid for a purchase.
    Purchase,
    /// Referral reward.
    Referral,
    /// Manual adjustment by a manager.
    Adjustment,
}

/// A coupon as issued to a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Coupon {
    /// Its identity.
    pub id: CouponId,
    /// The template or campaign it came from.
    pub code: String,
    /// What it gives.
    pub kind: CouponKind,
    /// Which lines it covers.
    pub scope: CategoryScope,
    /// First moment it may be used.
    #[serde(with = "crate::timestamp")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::ids::Timestamp"))]
    pub valid_from: Timestamp,
    /// It may be used strictly before this moment.
    #[serde(with = "crate::timestamp")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::ids::Timestamp"))]
    pub valid_until: Timestamp,
    /// Whether it combines with the tier discount.
    pub stacks_with_tier_discount: bool,
}

impl Coupon {
    /// Whether `at` lies in the coupon's validity window.
    pub fn valid_at(&self, at: Timestamp) -> bool {
        self.valid_from <= at && at < self.valid_until
    }
}

/// Why a member was flagged for review.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "flag", rename_all = "snake_case")]
pub enum FlagReason {
    /// A refund took back earned points already spent.
    NegativePoints {
        /// The balance after the refund.
        balance: i64,
    },
}

/// What a ledger entry records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EntryKind {
    /// A new lot of points.
    PointsEarned {
        /// The lot (named after the action that earned it).
        lot: LotId,
        /// Points in the lot.
        points: i64,
        /// The lot is spendable strictly before this moment.
        #[serde(with = "crate::timestamp")]
        #[cfg_attr(feature = "schema", schemars(with = "crate::ids::Timestamp"))]
        expires_at: Timestamp,
        /// Why.
        reason: EarnReason,
    },
    /// Points spent, oldest lots first.
    PointsRedeemed {
        /// Lots drawn from.
        draws: Vec<LotDraw>,
    },
    /// Redeemed points given back by a refund, to the lots they came from.
    PointsReturned {
        /// Lots given back to.
        draws: Vec<LotDraw>,
    },
    /// Earned points taken back by a refund or a negative adjustment. May
    /// drive a lot below zero when the points were already spent.
    PointsReversed {
        /// Lots taken from.
        draws: Vec<LotDraw>,
    },
    /// Points spent on a gift of the program's catalogue at the counter
    /// (积分兑礼), oldest lots first ([`crate::gifts::book_gift_redemption`]).
    /// Not a checkout redemption: it counts toward no order or day cap.
    PointsRedeemedForGift {
        /// The gift's code in the catalogue.
        gift: String,
        /// Lots drawn from; the gift's price is their sum.
        draws: Vec<LotDraw>,
    },
    /// The rest of a lot expired.
    PointsExpired {
        /// The lot.
        lot: LotId,
        /// Points that expired.
        points: i64,
    },
    /// Stored value added by a top-up.
    StoredValueCredited {
        /// Paid by the member: refundable.
        principal: Money,
        /// Given by the program: spendable only.
        bonus: Money,
        /// The package bought, if any.
        package: Option<String>,
    },
    /// Stored value spent.
    StoredValueDebited {
        /// From principal.
        principal: Money,
        /// From bonus.
        bonus: Money,
    },
    /// Stored value cashed out at head office (退卡): the principal paid
    /// back to the member in cash, and the bonus that goes with it
    /// forfeited (only principal is ever refundable as cash). Head office
    /// books it ([`crate::booking::book_cash_out`]); terminals never do.
    StoredValueCashedOut {
        /// Principal paid back.
        principal: Money,
        /// Bonus forfeited.
        bonus: Money,
    },
    /// Stored value given back by a refund.
    StoredValueReturned {
        /// To principal.
        principal: Money,
        /// To bonus.
        bonus: Money,
    },
    /// A coupon given to the member.
    CouponIssued {
        /// The coupon.
        coupon: Coupon,
    },
    /// A coupon used on an order.
    CouponUsed {
        /// The coupon.
        coupon: CouponId,
    },
    /// A used coupon made usable again by a refund of its whole order.
    CouponRestored {
        /// The coupon.
        coupon: CouponId,
    },
    /// Qualifying spend for tier purposes (negative for refunds).
    QualifyingSpend {
        /// Amount.
        amount: Money,
    },
    /// The member's tier changed.
    TierChanged {
        /// Previous tier.
        from: TierLevel,
        /// New tier.
        to: TierLevel,
        /// Set by a terminal (upgrade pending head office's confirmation).
        provisional: bool,
    },
    /// Something for head office to review.
    Flagged {
        /// Why.
        reason: FlagReason,
    },
}

/// Points `entries` earned for `member` for `reason`, summed (saturating:
/// the entries may come from outside).
pub fn points_earned(entries: &[LedgerEntry], member: MemberId, reason: EarnReason) -> i64 {
    entries
        .iter()
        .filter(|e| e.member == member)
        .filter_map(|e| match e.kind {
            EntryKind::PointsEarned {
                points,
                reason: why,
                ..
            } if why == reason => Some(points),
            _ => None,
        })
        .fold(0i64, i64::saturating_add)
}
