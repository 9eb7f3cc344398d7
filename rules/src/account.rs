//! A member's account as a fold over ledger entries: points lots, stored
//! value, coupons, qualifying spend, tier and flags.
//!
//! An account starts from an opening state (empty for a new member, or the
//! last snapshot head office sent down) and [`MemberAccount::apply`] folds
//! entries onto it in order. The fold is the only way balances come to be.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::ids::{CouponId, LotId, MemberId, SourceId, Timestamp};
use crate::ledger::{Coupon, EntryKind, FlagReason, LedgerEntry, LotDraw};
use crate::money::Money;
use crate::program::TierLevel;

/// A lot of earned points and what is left of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointsLot {
    /// Its identity.
    pub lot: LotId,
    /// When it was earned.
    #[serde(with = "crate::timestamp")]
    pub earned_at: Timestamp,
    /// Spendable strictly before this moment.
    #[serde(with = "crate::timestamp")]
    pub expires_at: Timestamp,
    /// Points left: below zero when a refund took back points already spent.
    pub remaining: i64,
}

/// Stored value split into its refundable and non-refundable parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StoredValue {
    /// Paid in by the member: refundable as cash.
    pub principal: Money,
    /// Given by top-up packages: spendable only.
    pub bonus: Money,
}

impl StoredValue {
    /// Principal plus bonus.
    pub fn total(&self) -> Money {
        self.principal + self.bonus
    }
}

/// A coupon the member holds and whether it has been used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CouponHolding {
    /// The coupon.
    pub coupon: Coupon,
    /// Whether it is used (and not restored since).
    pub used: bool,
}

/// Qualifying spend at one moment (for the rolling tier window).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendRecord {
    /// When.
    #[serde(with = "crate::timestamp")]
    pub at: Timestamp,
    /// How much (negative for refunds).
    pub amount: Money,
}

/// What the member used on one day (for per-day caps).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DailyUse {
    /// Local date.
    pub date: NaiveDate,
    /// Points redeemed that day (net of returns).
    pub points_redeemed: i64,
    /// Stored value spent that day (net of returns).
    pub stored_value_spent: Money,
}

/// A member's balances and holdings, folded from the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberAccount {
    /// Whose account.
    pub member: MemberId,
    /// Current tier.
    pub tier: TierLevel,
    /// Points lots, in the order earned.
    pub lots: Vec<PointsLot>,
    /// Stored value.
    pub stored_value: StoredValue,
    /// Coupons ever issued to the member.
    pub coupons: Vec<CouponHolding>,
    /// Qualifying spend records.
    pub spend: Vec<SpendRecord>,
    /// Purchases made (sales booked; not reduced by refunds).
    pub purchases: u32,
    /// Usage per day, most recent last.
    pub daily: Vec<DailyUse>,
    /// Review flags raised.
    pub flags: Vec<FlagReason>,
    /// Actions already folded in, to detect an action booked twice.
    pub sources: BTreeSet<SourceId>,
}

impl MemberAccount {
    /// An empty account for a new member at the entry tier.
    pub fn new(member: MemberId) -> MemberAccount {
        MemberAccount {
            member,
            tier: TierLevel(0),
            lots: Vec::new(),
            stored_value: StoredValue::default(),
            coupons: Vec::new(),
            spend: Vec::new(),
            purchases: 0,
            daily: Vec::new(),
            flags: Vec::new(),
            sources: BTreeSet::new(),
        }
    }

    /// Folds `entries` onto `opening` (a new account or a snapshot).
    pub fn fold<'a>(
        opening: MemberAccount,
        entries: impl IntoIterator<Item = &'a LedgerEntry>,
    ) -> MemberAccount {
        let mut account = opening;
        for entry in entries {
            account.apply(entry);
        }
        account
    }

    /// Whether an action's entries are already in this account.
    pub fn has_booked(&self, source: SourceId) -> bool {
        self.sources.contains(&source)
    }

    /// Folds one entry in. Entries for other members are ignored.
    pub fn apply(&mut self, entry: &LedgerEntry) {
        if entry.member != self.member {
            return;
        }
        self.sources.insert(entry.source);
        let date = entry.at.date_naive();
        match &entry.kind {
            EntryKind::PointsEarned {
                lot,
                points,
                expires_at,
                ..
            } => match self.lots.iter_mut().find(|l| l.lot == *lot) {
                Some(existing) => existing.remaining += points,
                None => self.lots.push(PointsLot {
                    lot: *lot,
                    earned_at: entry.at,
                    expires_at: *expires_at,
                    remaining: *points,
                }),
            },
            EntryKind::PointsRedeemed { draws } => {
                let total = self.draw(draws, -1);
                self.day(date).points_redeemed += total;
            }
            EntryKind::PointsReturned { draws } => {
                let total = self.draw(draws, 1);
                self.day(date).points_redeemed -= total;
            }
            EntryKind::PointsReversed { draws } => {
                self.draw(draws, -1);
            }
            EntryKind::PointsExpired { lot, points } => {
                self.draw(
                    &[LotDraw {
                        lot: *lot,
                        points: *points,
                    }],
                    -1,
                );
            }
            EntryKind::StoredValueCredited {
                principal, bonus, ..
            }
            | EntryKind::StoredValueReturned { principal, bonus } => {
                self.stored_value.principal += *principal;
                self.stored_value.bonus += *bonus;
                if matches!(entry.kind, EntryKind::StoredValueReturned { .. }) {
                    self.day(date).stored_value_spent -= *principal + *bonus;
                }
            }
            EntryKind::StoredValueDebited { principal, bonus } => {
                self.stored_value.principal -= *principal;
                self.stored_value.bonus -= *bonus;
                self.day(date).stored_value_spent += *principal + *bonus;
            }
            EntryKind::CouponIssued { coupon } => {
                if !self.coupons.iter().any(|c| c.coupon.id == coupon.id) {
                    self.coupons.push(CouponHolding {
                        coupon: coupon.clone(),
                        used: false,
                    });
                }
            }
            EntryKind::CouponUsed { coupon } => self.set_coupon_used(*coupon, true),
            EntryKind::CouponRestored { coupon } => self.set_coupon_used(*coupon, false),
            EntryKind::QualifyingSpend { amount } => {
                if amount.fen() > 0 {
                    self.purchases += 1;
                }
                self.spend.push(SpendRecord {
                    at: entry.at,
                    amount: *amount,
                });
            }
            EntryKind::TierChanged { to, .. } => self.tier = *to,
            EntryKind::Flagged { reason } => self.flags.push(reason.clone()),
        }
    }

    fn draw(&mut self, draws: &[LotDraw], sign: i64) -> i64 {
        let mut total = 0;
        for draw in draws {
            total += draw.points;
            match self.lots.iter_mut().find(|l| l.lot == draw.lot) {
                Some(lot) => lot.remaining += sign * draw.points,
                // A draw on a lot this account never saw (its earning is not
                // synced yet): keep the effect on the balance with a lot
                // that is already due, so it can never be spent twice.
                None => self.lots.push(PointsLot {
                    lot: draw.lot,
                    earned_at: Timestamp::MIN_UTC.fixed_offset(),
                    expires_at: Timestamp::MIN_UTC.fixed_offset(),
                    remaining: sign * draw.points,
                }),
            }
        }
        total
    }

    fn set_coupon_used(&mut self, coupon: CouponId, used: bool) {
        if let Some(holding) = self.coupons.iter_mut().find(|c| c.coupon.id == coupon) {
            holding.used = used;
        }
    }

    fn day(&mut self, date: NaiveDate) -> &mut DailyUse {
        let position = match self.daily.iter().position(|d| d.date == date) {
            Some(position) => position,
            None => {
                self.daily.push(DailyUse {
                    date,
                    ..DailyUse::default()
                });
                self.daily.len() - 1
            }
        };
        &mut self.daily[position]
    }

    /// Points the member can spend at `now`: positive remainders of lots not
    /// yet expired, less any debt (negative lots). May be negative.
    pub fn points_balance(&self, now: Timestamp) -> i64 {
        self.lots
            .iter()
            .map(|lot| {
                if lot.remaining < 0 || lot.expires_at > now {
                    lot.remaining
                } else {
                    0
                }
            })
            .sum()
    }

    /// Points that can be redeemed at `now` (the balance, never below zero).
    pub fn points_available(&self, now: Timestamp) -> i64 {
        self.points_balance(now).max(0)
    }

    /// Lots that can be drawn from at `now`, oldest first (the order
    /// redemption consumes them in).
    pub fn spendable_lots(&self, now: Timestamp) -> Vec<&PointsLot> {
        let mut lots: Vec<&PointsLot> = self
            .lots
            .iter()
            .filter(|l| l.remaining > 0 && l.expires_at > now)
            .collect();
        lots.sort_by(|a, b| {
            a.earned_at
                .cmp(&b.earned_at)
                .then(a.expires_at.cmp(&b.expires_at))
                .then(a.lot.cmp(&b.lot))
        });
        lots
    }

    /// Points that expire at the earliest upcoming expiry after `now`, and when.
    pub fn next_expiry(&self, now: Timestamp) -> Option<(Timestamp, i64)> {
        let soonest = self
            .spendable_lots(now)
            .iter()
            .map(|l| l.expires_at)
            .min()?;
        let points = self
            .spendable_lots(now)
            .iter()
            .filter(|l| l.expires_at == soonest)
            .map(|l| l.remaining)
            .sum();
        Some((soonest, points))
    }

    /// Qualifying spend in the window ending at `now` of `months` calendar
    /// months (entries strictly after `now - months`, up to and including now).
    pub fn rolling_spend(&self, now: Timestamp, months: u32) -> Money {
        let start = now
            .checked_sub_months(chrono::Months::new(months))
            .unwrap_or(Timestamp::MIN_UTC.fixed_offset());
        self.spend
            .iter()
            .filter(|s| s.at > start && s.at <= now)
            .map(|s| s.amount)
            .sum()
    }

    /// Usage on the local date of `now`.
    pub fn used_on(&self, date: NaiveDate) -> DailyUse {
        self.daily
            .iter()
            .find(|d| d.date == date)
            .copied()
            .unwrap_or(DailyUse {
                date,
                ..DailyUse::default()
            })
    }

    /// The coupon held with `id`, if any.
    pub fn coupon(&self, id: CouponId) -> Option<&CouponHolding> {
        self.coupons.iter().find(|c| c.coupon.id == id)
    }

    /// Coupons usable at `now`: unused and inside their validity window.
    pub fn usable_coupons(&self, now: Timestamp) -> impl Iterator<Item = &Coupon> {
        self.coupons
            .iter()
            .filter(move |c| !c.used && c.coupon.valid_at(now))
            .map(|c| &c.coupon)
    }
}
