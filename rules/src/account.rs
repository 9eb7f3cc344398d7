//! A member's account as a fold over ledger entries: points lots, stored
//! value, coupons, qualifying spend, tier and flags.
//!
//! An account starts from an opening state (empty for a new member, or the
//! last snapshot head office sent down) and [`MemberAccount::apply`] folds
//! entries onto it. The fold is the only way balances come to be.
//!
//! **The fold does not depend on the order of the entries.** Head office
//! receives a terminal's events out of order (events above a gap are
//! applied at once), so folding the same entries in any order must give
//! the same account. Every part of the account is therefore either a sum
//! (balances, uses of a coupon, daily use), a set, or a list kept sorted by
//! its key; where one value replaces another (a lot's expiry, the tier), the
//! rule that picks the winner looks at the entries, not at their arrival:
//! - a draw on a lot whose earning has not arrived yet makes a lot
//!   *awaiting its earning* (never spendable, never expired); the earning,
//!   whenever it comes, sets its dates;
//! - a coupon used before it was issued is counted and the use is kept
//!   until the issue arrives;
//! - the tier is the one set by the latest tier change (by its moment, then
//!   its action id).
//!
//! Balances stay within [`crate::limits`]: [`MemberAccount::check_entries`]
//! says, before anything is folded, whether an action's entries would take
//! a balance out of bounds, so head office can refuse the action instead;
//! the fold itself saturates and never panics.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::ids::{CouponId, LotId, MemberId, SourceId, Timestamp};
use crate::ledger::{Coupon, EntryKind, FlagReason, LedgerEntry, LotDraw};
use crate::limits::{self, OutOfBounds};
use crate::money::Money;
use crate::program::TierLevel;

/// A lot of earned points and what is left of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PointsLot {
    /// Its identity.
    pub lot: LotId,
    /// When it was earned.
    #[serde(with = "crate::timestamp")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::ids::Timestamp"))]
    pub earned_at: Timestamp,
    /// Spendable strictly before this moment.
    #[serde(with = "crate::timestamp")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::ids::Timestamp"))]
    pub expires_at: Timestamp,
    /// Points left: below zero when a refund took back points already spent.
    pub remaining: i64,
    /// Drawn from before its earning arrived (events out of order): its
    /// dates are the earliest draw's until the earning sets them, and it is
    /// never spendable or expired meanwhile.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub awaiting_earning: bool,
}

/// Stored value split into its refundable and non-refundable parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
///
/// On the wire: `{"coupon": ..., "used": bool, "uses": n}`; `uses` may be
/// absent (older writers), and then reads as 1 when `used`, else 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(from = "CouponHoldingForm", into = "CouponHoldingForm")]
pub struct CouponHolding {
    /// The coupon.
    pub coupon: Coupon,
    /// Uses less restorations: used while above zero. A count rather than a
    /// flag, so that a use and a restoration give the same result in either
    /// order, and a coupon used twice stays used after one restoration.
    pub uses: i64,
}

impl CouponHolding {
    /// Whether it is used (and not restored since).
    pub fn used(&self) -> bool {
        self.uses > 0
    }
}

/// [`CouponHolding`] as written.
#[derive(Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
struct CouponHoldingForm {
    coupon: Coupon,
    used: bool,
    #[serde(default)]
    uses: Option<i64>,
}

impl From<CouponHoldingForm> for CouponHolding {
    fn from(form: CouponHoldingForm) -> Self {
        CouponHolding {
            coupon: form.coupon,
            uses: form.uses.unwrap_or(i64::from(form.used)),
        }
    }
}

impl From<CouponHolding> for CouponHoldingForm {
    fn from(holding: CouponHolding) -> Self {
        CouponHoldingForm {
            used: holding.used(),
            coupon: holding.coupon,
            uses: Some(holding.uses),
        }
    }
}

/// Uses of a coupon whose issue has not arrived yet (events out of order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PendingCouponUses {
    /// The coupon.
    pub coupon: CouponId,
    /// Uses less restorations so far.
    pub uses: i64,
}

/// Which tier change set the current tier: the latest one wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TierStamp {
    /// When the change was booked.
    #[serde(with = "crate::timestamp")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::ids::Timestamp"))]
    pub at: Timestamp,
    /// The action that booked it (breaks ties between equal moments).
    pub source: SourceId,
}

/// Qualifying spend at one moment (for the rolling tier window).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SpendRecord {
    /// When.
    #[serde(with = "crate::timestamp")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::ids::Timestamp"))]
    pub at: Timestamp,
    /// How much (negative for refunds).
    pub amount: Money,
}

/// What the member used on one day (for per-day caps).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MemberAccount {
    /// Whose account.
    pub member: MemberId,
    /// Current tier.
    pub tier: TierLevel,
    /// The tier change that set [`MemberAccount::tier`], if any (absent in
    /// older snapshots: the next change then wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier_set_by: Option<TierStamp>,
    /// Points lots, by lot id (lot ids are action ids, UUIDv7: the order
    /// earned, nearly).
    pub lots: Vec<PointsLot>,
    /// Stored value.
    pub stored_value: StoredValue,
    /// Coupons ever issued to the member, by coupon id.
    pub coupons: Vec<CouponHolding>,
    /// Uses of coupons not issued yet (events out of order), by coupon id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_coupon_uses: Vec<PendingCouponUses>,
    /// Qualifying spend records, by moment.
    pub spend: Vec<SpendRecord>,
    /// Purchases made (sales booked; not reduced by refunds).
    pub purchases: u32,
    /// Usage per day, by date.
    pub daily: Vec<DailyUse>,
    /// Review flags raised, sorted.
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
            tier_set_by: None,
            lots: Vec::new(),
            stored_value: StoredValue::default(),
            coupons: Vec::new(),
            pending_coupon_uses: Vec::new(),
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

    /// Folds one entry in. Entries for other members are ignored. The
    /// result does not depend on the order entries are folded in (see the
    /// module's documentation).
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
            } => {
                let index = self.lot_index(*lot, entry.at);
                let held = &mut self.lots[index];
                if held.awaiting_earning {
                    held.awaiting_earning = false;
                    held.earned_at = entry.at;
                    held.expires_at = *expires_at;
                } else {
                    // One action may earn one lot twice (a purchase and a
                    // referral reward): the same dates, and if ever not,
                    // the earlier ones whatever the order.
                    held.earned_at = held.earned_at.min(entry.at);
                    held.expires_at = held.expires_at.min(*expires_at);
                }
                held.remaining = held.remaining.saturating_add(*points);
            }
            EntryKind::PointsRedeemed { draws } => {
                let total = self.draw(draws, -1, entry.at);
                let day = self.day(date);
                day.points_redeemed = day.points_redeemed.saturating_add(total);
            }
            EntryKind::PointsReturned { draws } => {
                let total = self.draw(draws, 1, entry.at);
                let day = self.day(date);
                day.points_redeemed = day.points_redeemed.saturating_sub(total);
            }
            // Neither reverses nor redeems at checkout: the day's use (the
            // checkout caps) is untouched.
            EntryKind::PointsReversed { draws }
            | EntryKind::PointsRedeemedForGift { draws, .. } => {
                self.draw(draws, -1, entry.at);
            }
            EntryKind::PointsExpired { lot, points } => {
                self.draw(
                    &[LotDraw {
                        lot: *lot,
                        points: *points,
                    }],
                    -1,
                    entry.at,
                );
            }
            EntryKind::StoredValueCredited {
                principal, bonus, ..
            } => {
                self.stored_value.principal += *principal;
                self.stored_value.bonus += *bonus;
            }
            EntryKind::StoredValueReturned { principal, bonus } => {
                self.stored_value.principal += *principal;
                self.stored_value.bonus += *bonus;
                self.day(date).stored_value_spent -= *principal + *bonus;
            }
            EntryKind::StoredValueDebited { principal, bonus } => {
                self.stored_value.principal -= *principal;
                self.stored_value.bonus -= *bonus;
                self.day(date).stored_value_spent += *principal + *bonus;
            }
            // Not spending: the day's use (the offline allowance) is untouched.
            EntryKind::StoredValueCashedOut { principal, bonus } => {
                self.stored_value.principal -= *principal;
                self.stored_value.bonus -= *bonus;
            }
            EntryKind::CouponIssued { coupon } => {
                if let Err(index) = self.coupon_index(coupon.id) {
                    let uses = match self
                        .pending_coupon_uses
                        .binary_search_by_key(&coupon.id, |p| p.coupon)
                    {
                        Ok(pending) => self.pending_coupon_uses.remove(pending).uses,
                        Err(_) => 0,
                    };
                    self.coupons.insert(
                        index,
                        CouponHolding {
                            coupon: coupon.clone(),
                            uses,
                        },
                    );
                }
            }
            EntryKind::CouponUsed { coupon } => self.count_coupon_use(*coupon, 1),
            EntryKind::CouponRestored { coupon } => self.count_coupon_use(*coupon, -1),
            EntryKind::QualifyingSpend { amount } => {
                if amount.fen() > 0 {
                    self.purchases = self.purchases.saturating_add(1);
                }
                let record = SpendRecord {
                    at: entry.at,
                    amount: *amount,
                };
                let index = self
                    .spend
                    .partition_point(|s| (s.at, s.amount) <= (record.at, record.amount));
                self.spend.insert(index, record);
            }
            EntryKind::TierChanged { to, .. } => {
                let stamp = TierStamp {
                    at: entry.at,
                    source: entry.source,
                };
                if self.tier_set_by.is_none_or(|current| stamp > current) {
                    self.tier = *to;
                    self.tier_set_by = Some(stamp);
                }
            }
            EntryKind::Flagged { reason } => {
                let index = self.flags.partition_point(|f| f <= reason);
                self.flags.insert(index, reason.clone());
            }
        }
    }

    /// Where `lot` is in [`MemberAccount::lots`], adding it as awaiting its
    /// earning (dated `at`) when it is not there yet.
    fn lot_index(&mut self, lot: LotId, at: Timestamp) -> usize {
        match self.lots.binary_search_by_key(&lot, |l| l.lot) {
            Ok(index) => index,
            Err(index) => {
                self.lots.insert(
                    index,
                    PointsLot {
                        lot,
                        earned_at: at,
                        expires_at: at,
                        remaining: 0,
                        awaiting_earning: true,
                    },
                );
                index
            }
        }
    }

    fn draw(&mut self, draws: &[LotDraw], sign: i64, at: Timestamp) -> i64 {
        let mut total: i64 = 0;
        for draw in draws {
            total = total.saturating_add(draw.points);
            // A draw on a lot this account never saw (its earning is not
            // synced yet) keeps its effect on the balance in a lot awaiting
            // its earning: never spendable, so never spent twice.
            let index = self.lot_index(draw.lot, at);
            let lot = &mut self.lots[index];
            if lot.awaiting_earning {
                lot.earned_at = lot.earned_at.min(at);
                lot.expires_at = lot.expires_at.min(at);
            }
            lot.remaining = lot
                .remaining
                .saturating_add(sign.saturating_mul(draw.points));
        }
        total
    }

    fn coupon_index(&self, coupon: CouponId) -> Result<usize, usize> {
        self.coupons.binary_search_by_key(&coupon, |c| c.coupon.id)
    }

    fn count_coupon_use(&mut self, coupon: CouponId, change: i64) {
        if let Ok(index) = self.coupon_index(coupon) {
            let holding = &mut self.coupons[index];
            holding.uses = holding.uses.saturating_add(change);
            return;
        }
        match self
            .pending_coupon_uses
            .binary_search_by_key(&coupon, |p| p.coupon)
        {
            Ok(index) => {
                let pending = &mut self.pending_coupon_uses[index];
                pending.uses = pending.uses.saturating_add(change);
            }
            Err(index) => self.pending_coupon_uses.insert(
                index,
                PendingCouponUses {
                    coupon,
                    uses: change,
                },
            ),
        }
    }

    fn day(&mut self, date: NaiveDate) -> &mut DailyUse {
        let index = match self.daily.binary_search_by_key(&date, |d| d.date) {
            Ok(index) => index,
            Err(index) => {
                self.daily.insert(
                    index,
                    DailyUse {
                        date,
                        ..DailyUse::default()
                    },
                );
                index
            }
        };
        &mut self.daily[index]
    }

    /// Whether folding `entries` (one action's) onto this account keeps
    /// every balance within [`crate::limits`]: stored-value principal and
    /// bonus within ±[`limits::MAX_FEN`], every lot and the whole points
    /// balance within ±[`limits::MAX_POINTS`], and each day's use within
    /// the same. Computed exactly (in `i128`) without folding anything, so
    /// an action that would leave the bounds can be refused whole. Call it
    /// with entries already checked by [`limits::check_entries`].
    pub fn check_entries(&self, entries: &[LedgerEntry]) -> Result<(), OutOfBounds> {
        let mut principal = i128::from(self.stored_value.principal.fen());
        let mut bonus = i128::from(self.stored_value.bonus.fen());
        let mut points: i128 = self.lots.iter().map(|l| i128::from(l.remaining)).sum();
        let mut lots: BTreeMap<LotId, i128> = BTreeMap::new();
        let mut days: BTreeMap<NaiveDate, (i128, i128)> = BTreeMap::new();
        for entry in entries.iter().filter(|e| e.member == self.member) {
            let date = entry.at.date_naive();
            let mut lot_change = |lot: LotId, change: i128| {
                let held = self
                    .lots
                    .binary_search_by_key(&lot, |l| l.lot)
                    .map_or(0, |i| i128::from(self.lots[i].remaining));
                *lots.entry(lot).or_insert(held) += change;
                points += change;
            };
            let mut day_change = |points_redeemed: i128, stored_value_spent: i128| {
                let used = self.used_on(date);
                let day = days.entry(date).or_insert((
                    i128::from(used.points_redeemed),
                    i128::from(used.stored_value_spent.fen()),
                ));
                day.0 += points_redeemed;
                day.1 += stored_value_spent;
            };
            match &entry.kind {
                EntryKind::PointsEarned { lot, points, .. } => {
                    lot_change(*lot, i128::from(*points));
                }
                EntryKind::PointsExpired { lot, points } => {
                    lot_change(*lot, -i128::from(*points));
                }
                EntryKind::PointsRedeemed { draws }
                | EntryKind::PointsReturned { draws }
                | EntryKind::PointsReversed { draws }
                | EntryKind::PointsRedeemedForGift { draws, .. } => {
                    let sign = if matches!(entry.kind, EntryKind::PointsReturned { .. }) {
                        1
                    } else {
                        -1
                    };
                    let mut total: i128 = 0;
                    for draw in draws {
                        lot_change(draw.lot, sign * i128::from(draw.points));
                        total += i128::from(draw.points);
                    }
                    match entry.kind {
                        EntryKind::PointsRedeemed { .. } => day_change(total, 0),
                        EntryKind::PointsReturned { .. } => day_change(-total, 0),
                        _ => {}
                    }
                }
                EntryKind::StoredValueCredited {
                    principal: p,
                    bonus: b,
                    ..
                } => {
                    principal += i128::from(p.fen());
                    bonus += i128::from(b.fen());
                }
                EntryKind::StoredValueReturned {
                    principal: p,
                    bonus: b,
                } => {
                    principal += i128::from(p.fen());
                    bonus += i128::from(b.fen());
                    day_change(0, -(i128::from(p.fen()) + i128::from(b.fen())));
                }
                EntryKind::StoredValueDebited {
                    principal: p,
                    bonus: b,
                } => {
                    principal -= i128::from(p.fen());
                    bonus -= i128::from(b.fen());
                    day_change(0, i128::from(p.fen()) + i128::from(b.fen()));
                }
                EntryKind::StoredValueCashedOut {
                    principal: p,
                    bonus: b,
                } => {
                    principal -= i128::from(p.fen());
                    bonus -= i128::from(b.fen());
                }
                _ => {}
            }
        }
        let within =
            |value: i128, bound: i64| value.unsigned_abs() <= u128::from(bound.unsigned_abs());
        let refuse = |field: &str, value: i128, bound: i64, unit: &str| {
            Err(OutOfBounds {
                field: field.to_string(),
                found: format!("{value} {unit}"),
                bound: format!("at most {bound} {unit} either way"),
            })
        };
        if !within(principal, limits::MAX_FEN) {
            return refuse(
                "the member's stored-value principal would be",
                principal,
                limits::MAX_FEN,
                "fen",
            );
        }
        if !within(bonus, limits::MAX_FEN) {
            return refuse(
                "the member's stored-value bonus would be",
                bonus,
                limits::MAX_FEN,
                "fen",
            );
        }
        if !within(points, limits::MAX_POINTS) {
            return refuse(
                "the member's points would be",
                points,
                limits::MAX_POINTS,
                "points",
            );
        }
        if let Some((lot, remaining)) = lots.iter().find(|(_, r)| !within(**r, limits::MAX_POINTS))
        {
            return refuse(
                &format!("lot {} would hold", lot.0),
                *remaining,
                limits::MAX_POINTS,
                "points",
            );
        }
        for (date, (points_redeemed, stored_value_spent)) in days {
            if !within(points_redeemed, limits::MAX_POINTS) {
                return refuse(
                    &format!("points redeemed on {date} would be"),
                    points_redeemed,
                    limits::MAX_POINTS,
                    "points",
                );
            }
            if !within(stored_value_spent, limits::MAX_FEN) {
                return refuse(
                    &format!("stored value spent on {date} would be"),
                    stored_value_spent,
                    limits::MAX_FEN,
                    "fen",
                );
            }
        }
        Ok(())
    }

    /// Points the member can spend at `now`: positive remainders of lots not
    /// yet expired, less any debt (negative lots). May be negative.
    pub fn points_balance(&self, now: Timestamp) -> i64 {
        let sum: i128 = self
            .lots
            .iter()
            .map(|lot| {
                if lot.remaining < 0 || (lot.expires_at > now && !lot.awaiting_earning) {
                    i128::from(lot.remaining)
                } else {
                    0
                }
            })
            .sum();
        i64::try_from(sum).unwrap_or(if sum < 0 { i64::MIN } else { i64::MAX })
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
            .filter(|l| l.remaining > 0 && l.expires_at > now && !l.awaiting_earning)
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
            .fold(0i64, i64::saturating_add);
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
        self.coupon_index(id).ok().map(|index| &self.coupons[index])
    }

    /// Uses of coupon `id` so far, less restorations, whether or not its
    /// issue has arrived yet.
    pub fn coupon_uses(&self, id: CouponId) -> i64 {
        match self.coupon(id) {
            Some(holding) => holding.uses,
            None => self
                .pending_coupon_uses
                .binary_search_by_key(&id, |p| p.coupon)
                .map_or(0, |index| self.pending_coupon_uses[index].uses),
        }
    }

    /// Coupons usable at `now`: unused and inside their validity window.
    pub fn usable_coupons(&self, now: Timestamp) -> impl Iterator<Item = &Coupon> {
        self.coupons
            .iter()
            .filter(move |c| !c.used() && c.coupon.valid_at(now))
            .map(|c| &c.coupon)
    }
}
