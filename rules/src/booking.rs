//! Booking: turning a priced quote, a top-up, an adjustment, a cash-out or
//! an enrollment into ledger entries. Every entry carries the action's source id; booking
//! an action the account already holds is refused as a duplicate.

use chrono::{Datelike, Duration, NaiveDate, TimeZone};

use crate::account::MemberAccount;
use crate::expiry::lot_expiry;
use crate::ids::{CouponId, LotId, MemberId, SourceId, Timestamp};
use crate::ledger::{Coupon, EarnReason, EntryKind, LedgerEntry, LotDraw};
use crate::money::Money;
use crate::pricing::{MemberProfile, Quote};
use crate::program::{CouponTemplate, Program};
use crate::tier::upgrade_after_purchase;

/// Why an action could not be booked. Each means the caller must re-price or
/// re-check, never that the rules are unsure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookingError {
    /// The action is already in the member's ledger.
    #[error("this transaction ({0}) is already recorded; it was not recorded again")]
    AlreadyBooked(SourceId),
    /// The quote or action is for another member than the account.
    #[error("the transaction is for another member than the one given")]
    WrongMember,
    /// The member no longer has the points the quote redeems.
    #[error(
        "the member now has {available} points, fewer than the {asked} in the quote; price the order again"
    )]
    PointsNoLongerAvailable {
        /// Points asked.
        asked: i64,
        /// Points available now.
        available: i64,
    },
    /// The member no longer has the stored value the quote uses.
    #[error(
        "the member now has {available} of stored value, less than the {asked} in the quote; price the order again"
    )]
    StoredValueNoLongerAvailable {
        /// Amount asked.
        asked: Money,
        /// Amount available.
        available: Money,
    },
    /// The coupon was used or expired since the quote.
    #[error("coupon {0} can no longer be used; price the order again")]
    CouponNoLongerUsable(CouponId),
    /// No such top-up package.
    #[error("there is no top-up package {0:?}")]
    NoSuchPackage(String),
    /// A top-up of zero or less.
    #[error("a top-up must be more than ¥0")]
    NonPositiveTopUp,
    /// A negative adjustment larger than the balance.
    #[error("the member has only {available} points; cannot take away {asked}")]
    InsufficientPoints {
        /// Points to take away.
        asked: i64,
        /// Points available.
        available: i64,
    },
    /// An adjustment of zero points.
    #[error("an adjustment of 0 points changes nothing")]
    ZeroAdjustment,
    /// A cash-out of zero or less.
    #[error("a cash-out must be more than ¥0")]
    NonPositiveCashOut,
    /// A cash-out above the refundable principal.
    #[error("the member has only {available} of refundable principal; cannot pay back {asked}")]
    CashOutAboveBalance {
        /// Principal asked to pay back.
        asked: Money,
        /// Principal held.
        available: Money,
    },
}

/// Who is booking: terminals book tier upgrades provisionally, head office
/// confirms them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authority {
    /// A store terminal.
    Terminal,
    /// Head office.
    HeadOffice,
}

/// Draws `points` from the spendable lots of `account`, oldest first.
/// Returns the draws and the points that could not be drawn.
pub fn draw_oldest_first(
    account: &MemberAccount,
    points: i64,
    now: Timestamp,
) -> (Vec<LotDraw>, i64) {
    let mut left = points;
    let mut draws = Vec::new();
    for lot in account.spendable_lots(now) {
        if left <= 0 {
            break;
        }
        let take = lot.remaining.min(left);
        draws.push(LotDraw {
            lot: lot.lot,
            points: take,
        });
        left -= take;
    }
    (draws, left)
}

/// Ledger entries for a priced sale, for the member and (on a referred
/// member's first purchase) for the referrer. A walk-in quote books nothing.
///
/// `account` must be the member's account folded up to now; the quote is
/// re-checked against it so a stale quote can never overspend.
pub fn book_sale(
    program: &Program,
    quote: &Quote,
    profile: &MemberProfile,
    account: &MemberAccount,
    authority: Authority,
) -> Result<Vec<LedgerEntry>, BookingError> {
    let Some(member) = quote.member else {
        return Ok(Vec::new());
    };
    if member != account.member || member != profile.id {
        return Err(BookingError::WrongMember);
    }
    if account.has_booked(quote.id) {
        return Err(BookingError::AlreadyBooked(quote.id));
    }
    let now = quote.at;
    let entry = |kind| LedgerEntry {
        member,
        source: quote.id,
        at: now,
        kind,
    };
    let mut entries = Vec::new();

    if let Some(applied) = &quote.coupon {
        let usable = account
            .coupon(applied.coupon)
            .is_some_and(|c| !c.used() && c.coupon.valid_at(now));
        if !usable {
            return Err(BookingError::CouponNoLongerUsable(applied.coupon));
        }
        entries.push(entry(EntryKind::CouponUsed {
            coupon: applied.coupon,
        }));
    }
    if quote.points_redeemed > 0 {
        let (draws, short) = draw_oldest_first(account, quote.points_redeemed, now);
        if short > 0 {
            return Err(BookingError::PointsNoLongerAvailable {
                asked: quote.points_redeemed,
                available: account.points_available(now),
            });
        }
        entries.push(entry(EntryKind::PointsRedeemed { draws }));
    }
    if !quote.stored_value_used().is_zero() {
        let balance = account.stored_value;
        if quote.stored_value_principal > balance.principal
            || quote.stored_value_bonus > balance.bonus
        {
            return Err(BookingError::StoredValueNoLongerAvailable {
                asked: quote.stored_value_used(),
                available: balance.total(),
            });
        }
        entries.push(entry(EntryKind::StoredValueDebited {
            principal: quote.stored_value_principal,
            bonus: quote.stored_value_bonus,
        }));
    }
    if quote.earn.points > 0 {
        entries.push(entry(EntryKind::PointsEarned {
            lot: LotId(quote.id),
            points: quote.earn.points,
            expires_at: lot_expiry(program.expiry, now),
            reason: EarnReason::Purchase,
        }));
    }
    let first_purchase = account.purchases == 0;
    if !quote.qualifying_spend.is_zero() {
        entries.push(entry(EntryKind::QualifyingSpend {
            amount: quote.qualifying_spend,
        }));
    }
    let after = MemberAccount::fold(account.clone(), &entries);
    if let Some(upgrade) = upgrade_after_purchase(
        program,
        &after,
        now,
        quote.id,
        authority == Authority::Terminal,
    ) {
        entries.push(upgrade);
    }
    if let Some(referrer) = profile.referred_by {
        let reward = program.referral.points_each;
        if first_purchase && quote.qualifying_spend.fen() > 0 && reward > 0 && referrer != member {
            for who in [member, referrer] {
                entries.push(LedgerEntry {
                    member: who,
                    source: quote.id,
                    at: now,
                    kind: EntryKind::PointsEarned {
                        lot: LotId(quote.id),
                        points: reward,
                        expires_at: lot_expiry(program.expiry, now),
                        reason: EarnReason::Referral,
                    },
                });
            }
        }
    }
    Ok(entries)
}

/// What a top-up buys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopUp {
    /// A program package by code (pay 500, get 550).
    Package(String),
    /// A plain amount with no bonus.
    Amount(Money),
}

/// Ledger entries for a stored-value top-up. Top-ups earn no points.
pub fn book_top_up(
    program: &Program,
    account: &MemberAccount,
    top_up: &TopUp,
    now: Timestamp,
    source: SourceId,
) -> Result<Vec<LedgerEntry>, BookingError> {
    if account.has_booked(source) {
        return Err(BookingError::AlreadyBooked(source));
    }
    let (principal, bonus, package) = match top_up {
        TopUp::Package(code) => {
            let package = program
                .package(code)
                .ok_or_else(|| BookingError::NoSuchPackage(code.clone()))?;
            (package.pay, package.bonus, Some(package.code.clone()))
        }
        TopUp::Amount(amount) => (*amount, Money::ZERO, None),
    };
    if principal.fen() <= 0 {
        return Err(BookingError::NonPositiveTopUp);
    }
    Ok(vec![LedgerEntry {
        member: account.member,
        source,
        at: now,
        kind: EntryKind::StoredValueCredited {
            principal,
            bonus,
            package,
        },
    }])
}

/// Ledger entries for a manual points adjustment (manager approval is the
/// store's business). Adding makes a new lot that expires by the program's
/// policy; taking away draws oldest first and never below zero.
pub fn book_points_adjustment(
    program: &Program,
    account: &MemberAccount,
    delta: i64,
    now: Timestamp,
    source: SourceId,
) -> Result<Vec<LedgerEntry>, BookingError> {
    if account.has_booked(source) {
        return Err(BookingError::AlreadyBooked(source));
    }
    let kind = match delta {
        0 => return Err(BookingError::ZeroAdjustment),
        d if d > 0 => EntryKind::PointsEarned {
            lot: LotId(source),
            points: d,
            expires_at: lot_expiry(program.expiry, now),
            reason: EarnReason::Adjustment,
        },
        d => {
            let (draws, short) = draw_oldest_first(account, -d, now);
            if short > 0 {
                return Err(BookingError::InsufficientPoints {
                    asked: -d,
                    available: account.points_available(now),
                });
            }
            EntryKind::PointsReversed { draws }
        }
    };
    Ok(vec![LedgerEntry {
        member: account.member,
        source,
        at: now,
        kind,
    }])
}

/// Ledger entries for a stored-value cash-out (退卡) at head office: pays
/// back `amount` of the member's principal in cash (all of it when `None`)
/// and forfeits the bonus that goes with it, in the same proportion as the
/// principal paid back (rounded half-up; all of it when all the principal
/// goes), as paying consumes principal and bonus in proportion. Only
/// principal is ever refundable as cash, so a cash-out above the principal
/// is refused, never clamped: nothing is booked.
///
/// Worked example 051: principal ¥500.00 and bonus ¥50.00; cashing out
/// ¥200.00 pays ¥200.00 and forfeits ¥20.00 of bonus, leaving ¥300.00 +
/// ¥30.00; cashing out the rest pays ¥300.00 and forfeits ¥30.00.
pub fn book_cash_out(
    account: &MemberAccount,
    amount: Option<Money>,
    now: Timestamp,
    source: SourceId,
) -> Result<Vec<LedgerEntry>, BookingError> {
    if account.has_booked(source) {
        return Err(BookingError::AlreadyBooked(source));
    }
    let held = account.stored_value;
    let principal = amount.unwrap_or(held.principal);
    if principal.fen() <= 0 {
        return Err(match amount {
            Some(_) => BookingError::NonPositiveCashOut,
            None => BookingError::CashOutAboveBalance {
                asked: principal,
                available: held.principal,
            },
        });
    }
    if principal > held.principal {
        return Err(BookingError::CashOutAboveBalance {
            asked: principal,
            available: held.principal,
        });
    }
    let bonus = if principal == held.principal {
        held.bonus
    } else {
        held.bonus
            .mul_ratio_half_up(principal.fen(), held.principal.fen())
    }
    .clamp_non_negative()
    .min(held.bonus.clamp_non_negative());
    Ok(vec![LedgerEntry {
        member: account.member,
        source,
        at: now,
        kind: EntryKind::StoredValueCashedOut { principal, bonus },
    }])
}

/// A coupon issued from `template` at `now`, valid for the template's days.
pub fn issue_coupon(
    template: &CouponTemplate,
    member: MemberId,
    valid_from: Timestamp,
    source: SourceId,
    index: u16,
) -> LedgerEntry {
    LedgerEntry {
        member,
        source,
        at: valid_from,
        kind: EntryKind::CouponIssued {
            coupon: Coupon {
                id: CouponId {
                    issued_by: source,
                    index,
                },
                code: template.code.clone(),
                kind: template.kind.clone(),
                scope: template.scope.clone(),
                valid_from,
                valid_until: valid_from + Duration::days(i64::from(template.valid_days)),
                stacks_with_tier_discount: template.stacks_with_tier_discount,
            },
        },
    }
}

/// Ledger entries for a new member: the welcome coupon, if the program has one.
pub fn book_enrollment(
    program: &Program,
    member: MemberId,
    now: Timestamp,
    source: SourceId,
) -> Vec<LedgerEntry> {
    program
        .coupons
        .welcome
        .iter()
        .map(|template| issue_coupon(template, member, now, source, 0))
        .collect()
}

/// The birthday coupon due at `now`, if it is the member's birthday month
/// and this year's has not been issued yet. Valid from the first day of the
/// birthday month.
pub fn birthday_coupon_due(
    program: &Program,
    profile: &MemberProfile,
    account: &MemberAccount,
    now: Timestamp,
    source: SourceId,
) -> Option<LedgerEntry> {
    let template = program.coupons.birthday.as_ref()?;
    let birthday = profile.birthday?;
    if u32::from(birthday.month) != now.month() {
        return None;
    }
    let already = account.coupons.iter().any(|c| {
        c.coupon.code == template.code
            && c.coupon.valid_from.year() == now.year()
            && c.coupon.valid_from.month() == now.month()
    });
    if already {
        return None;
    }
    let first_of_month =
        NaiveDate::from_ymd_opt(now.year(), now.month(), 1)?.and_hms_opt(0, 0, 0)?;
    let valid_from = now.offset().from_local_datetime(&first_of_month).single()?;
    Some(issue_coupon(template, profile.id, valid_from, source, 0))
}
