//! The gift catalogue at the counter (积分兑礼): which of the program's
//! gifts a member is offered now, and booking one redemption, its points
//! drawn oldest lot first as checkout redemption draws them.
//!
//! A redemption is refused, with nothing booked, when the member is frozen
//! by head office, when the terminal does not know the member's balances
//! (a card that verifies but is not cached: redemption needs a known
//! balance), when the gift is not in the catalogue or not active, and when
//! the member's points are short of its price. There is no refund of a
//! gift redemption: a gift handed back is a manager's points adjustment.
//!
//! Worked example 052: lots of 300 (older) and 500 points; a mug of 400
//! points takes all 300 of the older lot and 100 of the newer, leaving 400.

use crate::account::MemberAccount;
use crate::booking::draw_oldest_first;
use crate::ids::{SourceId, Timestamp};
use crate::ledger::{EntryKind, LedgerEntry};
use crate::pricing::MemberProfile;
use crate::program::{Gift, Program};

/// Why a gift redemption was refused. Nothing is booked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GiftError {
    /// The action is already in the member's ledger.
    #[error("this redemption ({0}) is already recorded; it was not recorded again")]
    AlreadyBooked(SourceId),
    /// The profile and the account are of different members.
    #[error("the redemption is for another member than the one given")]
    WrongMember,
    /// Head office froze the member's account: no points are spent.
    #[error("this member's account is frozen by head office; points cannot be redeemed")]
    MemberFrozen,
    /// The terminal does not hold the member's balances.
    #[error("this member's balances are not known here yet; points cannot be redeemed")]
    BalanceUnknown,
    /// No gift of the catalogue has this code.
    #[error("there is no gift {0:?} in the catalogue")]
    UnknownGift(String),
    /// The gift is in the catalogue but not offered now.
    #[error("the gift {0:?} is not offered now")]
    InactiveGift(String),
    /// The member's points are short of the gift's price.
    #[error("the gift costs {price} points; the member has only {available}")]
    NotEnoughPoints {
        /// The gift's price.
        price: i64,
        /// Points the member can spend now.
        available: i64,
    },
}

impl GiftError {
    /// A stable code for the refusal (`not_enough_points`), for the words
    /// the counter shows in each language.
    pub fn code(&self) -> &'static str {
        match self {
            GiftError::AlreadyBooked(_) => "already_booked",
            GiftError::WrongMember => "wrong_member",
            GiftError::MemberFrozen => "member_frozen",
            GiftError::BalanceUnknown => "balance_unknown",
            GiftError::UnknownGift(_) => "unknown_gift",
            GiftError::InactiveGift(_) => "inactive_gift",
            GiftError::NotEnoughPoints { .. } => "not_enough_points",
        }
    }
}

/// A gift as the counter offers it to one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GiftOffer<'p> {
    /// The gift.
    pub gift: &'p Gift,
    /// Whether the member can take it now: not frozen, balances known and
    /// enough points.
    pub affordable: bool,
}

/// The catalogue's active gifts in its order, each with whether the member
/// can take it at `now`.
pub fn offers<'p>(
    program: &'p Program,
    profile: &MemberProfile,
    account: &MemberAccount,
    now: Timestamp,
) -> Vec<GiftOffer<'p>> {
    let available = account.points_available(now);
    let may_spend = !profile.frozen && profile.balances_known;
    program
        .gifts
        .iter()
        .filter(|g| g.active)
        .map(|gift| GiftOffer {
            gift,
            affordable: may_spend && gift.points <= available,
        })
        .collect()
}

/// Ledger entries for redeeming the catalogue's gift `code` at `now`: one
/// [`EntryKind::PointsRedeemedForGift`] drawing the gift's price from the
/// spendable lots, oldest first. `account` must be the member's account
/// folded up to now.
pub fn book_gift_redemption(
    program: &Program,
    profile: &MemberProfile,
    account: &MemberAccount,
    code: &str,
    now: Timestamp,
    source: SourceId,
) -> Result<Vec<LedgerEntry>, GiftError> {
    if profile.id != account.member {
        return Err(GiftError::WrongMember);
    }
    if account.has_booked(source) {
        return Err(GiftError::AlreadyBooked(source));
    }
    if profile.frozen {
        return Err(GiftError::MemberFrozen);
    }
    if !profile.balances_known {
        return Err(GiftError::BalanceUnknown);
    }
    let gift = program
        .gift(code)
        .ok_or_else(|| GiftError::UnknownGift(code.to_string()))?;
    if !gift.active {
        return Err(GiftError::InactiveGift(gift.code.clone()));
    }
    // A price the catalogue's validation would refuse is never drawn.
    if gift.points <= 0 {
        return Err(GiftError::InactiveGift(gift.code.clone()));
    }
    let (draws, short) = draw_oldest_first(account, gift.points, now);
    if short > 0 {
        return Err(GiftError::NotEnoughPoints {
            price: gift.points,
            available: account.points_available(now),
        });
    }
    Ok(vec![LedgerEntry {
        member: account.member,
        source,
        at: now,
        kind: EntryKind::PointsRedeemedForGift {
            gift: gift.code.clone(),
            draws,
        },
    }])
}
