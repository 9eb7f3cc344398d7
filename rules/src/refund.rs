//! Refunds, full and partial.
//!
//! A refund of some quantity of some lines gives back that share of every
//! way the lines were paid (money, stored-value principal and bonus, points),
//! takes back that share of the points earned and of the qualifying spend,
//! and restores the coupon when the whole order is refunded and the coupon is
//! still valid.
//!
//! Shares are computed cumulatively: a refund's share of an amount is the
//! rounded share of everything refunded so far less the rounded share of
//! everything refunded before it. However an order is refunded, in one go or
//! in parts, the parts add up to exactly what was paid and earned.
//!
//! Earned points already spent are still taken back: the balance goes
//! negative and the member is flagged for review, never silently clamped.

use serde::{Deserialize, Serialize};

use crate::account::MemberAccount;
use crate::booking::draw_oldest_first;
use crate::ids::{LotId, SourceId, Timestamp};
use crate::ledger::{EntryKind, FlagReason, LedgerEntry, LotDraw};
use crate::money::{Money, div_round_half_up};
use crate::pricing::{Quote, QuoteLine};

/// Some quantity of one line of the original sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RefundLine {
    /// Index of the line in the sale's quote.
    pub line: usize,
    /// Quantity to refund.
    pub quantity: i64,
}

/// A refund made earlier against the same sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PastRefund {
    /// Lines and quantities it refunded.
    pub lines: Vec<RefundLine>,
    /// The ledger entries it booked.
    pub entries: Vec<LedgerEntry>,
}

/// A sale and what has happened to it since.
#[derive(Debug, Clone, Copy)]
pub struct SaleHistory<'a> {
    /// The sale's quote as booked.
    pub quote: &'a Quote,
    /// The ledger entries the sale booked.
    pub entries: &'a [LedgerEntry],
    /// Earlier refunds of this sale, oldest first.
    pub refunds: &'a [PastRefund],
}

/// What a refund gives back and books.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RefundOutcome {
    /// Ledger entries to book (empty for a walk-in sale).
    pub entries: Vec<LedgerEntry>,
    /// Money to hand back (cash, card, mobile).
    pub money: Money,
    /// Stored-value principal put back on the card.
    pub stored_value_principal: Money,
    /// Stored-value bonus put back on the card.
    pub stored_value_bonus: Money,
    /// Redeemed points given back.
    pub points_returned: i64,
    /// Earned points taken back.
    pub points_reversed: i64,
    /// Whether the coupon was made usable again.
    pub coupon_restored: bool,
    /// Whether the member's points went negative (flagged for review).
    pub flagged_negative: bool,
    /// Whether the sale is now refunded in full.
    pub sale_fully_refunded: bool,
}

/// Why a refund cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefundError {
    /// Nothing asked.
    #[error("choose at least one item to refund")]
    NothingToRefund,
    /// A line that is not in the sale.
    #[error("the sale has no line {0}")]
    NoSuchLine(usize),
    /// More than was bought (or is left after earlier refunds).
    #[error("line {line}: {asked} asked but only {left} left to refund")]
    TooMany {
        /// Line index.
        line: usize,
        /// Quantity asked.
        asked: i64,
        /// Quantity still refundable.
        left: i64,
    },
    /// This refund is already booked.
    #[error("this refund ({0}) is already recorded")]
    AlreadyBooked(SourceId),
    /// The account is not the sale's member.
    #[error("the refund is for another member than the sale")]
    WrongMember,
}

/// `amount × part / whole`, rounded half-up; the whole when part == whole.
fn share(amount: i64, part: i64, whole: i64) -> i64 {
    div_round_half_up(i128::from(amount) * i128::from(part), i128::from(whole))
}

/// The slice of `amount` refunded when the cumulative quantity goes from
/// `before` to `after` of `whole`.
fn slice(amount: i64, before: i64, after: i64, whole: i64) -> i64 {
    share(amount, after, whole) - share(amount, before, whole)
}

/// Works out and books a refund of `request` against `sale`.
///
/// `account` is the sale's member's account folded up to now (`None` for a
/// walk-in sale). `source` names this refund.
pub fn refund(
    sale: SaleHistory<'_>,
    account: Option<&MemberAccount>,
    request: &[RefundLine],
    now: Timestamp,
    source: SourceId,
) -> Result<RefundOutcome, RefundError> {
    let quote = sale.quote;
    if request.iter().all(|r| r.quantity <= 0) {
        return Err(RefundError::NothingToRefund);
    }
    let mut before = vec![0i64; quote.lines.len()];
    for past in sale.refunds {
        for line in &past.lines {
            if let Some(q) = before.get_mut(line.line) {
                *q = q.saturating_add(line.quantity);
            }
        }
    }
    let mut after = before.clone();
    for r in request {
        let Some(q) = after.get_mut(r.line) else {
            return Err(RefundError::NoSuchLine(r.line));
        };
        if r.quantity < 0 {
            return Err(RefundError::NothingToRefund);
        }
        *q = q.saturating_add(r.quantity);
    }
    for (i, line) in quote.lines.iter().enumerate() {
        if after[i] > line.item.quantity {
            return Err(RefundError::TooMany {
                line: i,
                asked: after[i] - before[i],
                left: line.item.quantity - before[i],
            });
        }
    }

    let sum_slices = |f: &dyn Fn(&QuoteLine) -> i64, filter: &dyn Fn(&QuoteLine) -> bool| -> i64 {
        quote
            .lines
            .iter()
            .enumerate()
            .filter(|(_, l)| filter(l))
            .map(|(i, l)| slice(f(l), before[i], after[i], l.item.quantity))
            .sum()
    };
    let all = |_: &QuoteLine| true;
    let money = Money::from_fen(sum_slices(&|l| l.money.fen(), &all));
    let principal = Money::from_fen(sum_slices(&|l| l.stored_value_principal.fen(), &all));
    let bonus = Money::from_fen(sum_slices(&|l| l.stored_value_bonus.fen(), &all));
    let points_returned = sum_slices(&|l| l.points, &all);
    let sale_fully_refunded = quote
        .lines
        .iter()
        .zip(&after)
        .all(|(l, q)| *q == l.item.quantity);

    let mut outcome = RefundOutcome {
        entries: Vec::new(),
        money,
        stored_value_principal: principal,
        stored_value_bonus: bonus,
        points_returned,
        points_reversed: 0,
        coupon_restored: false,
        flagged_negative: false,
        sale_fully_refunded,
    };
    let (Some(member), Some(account)) = (quote.member, account) else {
        return Ok(outcome);
    };
    if account.member != member {
        return Err(RefundError::WrongMember);
    }
    if account.has_booked(source) {
        return Err(RefundError::AlreadyBooked(source));
    }
    let entry = |kind| LedgerEntry {
        member,
        source,
        at: now,
        kind,
    };
    let mut entries = Vec::new();

    if points_returned > 0 {
        let draws = return_to_original_lots(sale, points_returned);
        entries.push(entry(EntryKind::PointsReturned { draws }));
    }
    if !(principal + bonus).is_zero() {
        entries.push(entry(EntryKind::StoredValueReturned { principal, bonus }));
    }

    // Earned points: the share of the eligible paid amount refunded so far,
    // telescoped over refunds like every other amount.
    // Each line counts at its category's rate, as it did for earning.
    let earned = quote.earn.points;
    let eligible = quote.earn.eligible_paid.fen();
    let earns = |l: &QuoteLine| l.earns;
    let paid = |l: &QuoteLine| l.paid().fen();
    let earning_paid = |l: &QuoteLine| l.earning_paid().fen();
    let refunded_before: i64 = quote
        .lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.earns)
        .map(|(i, l)| share(l.earning_paid().fen(), before[i], l.item.quantity))
        .sum();
    let refunded_now = sum_slices(&earning_paid, &earns);
    let reversed = if eligible > 0 {
        share(earned, refunded_before + refunded_now, eligible)
            - share(earned, refunded_before, eligible)
    } else {
        0
    };
    if reversed > 0 {
        let mut folded = MemberAccount::fold(account.clone(), &entries);
        let own_lot = LotId(quote.id);
        let mut draws = Vec::new();
        let mut left = reversed;
        if let Some(lot) = folded.lots.iter().find(|l| l.lot == own_lot) {
            let take = lot.remaining.clamp(0, left);
            if take > 0 {
                draws.push(LotDraw {
                    lot: own_lot,
                    points: take,
                });
                left -= take;
            }
        }
        folded = MemberAccount::fold(
            folded,
            &[entry(EntryKind::PointsReversed {
                draws: draws.clone(),
            })],
        );
        if left > 0 {
            let (more, short) = draw_oldest_first(&folded, left, now);
            draws.extend(more);
            if short > 0 {
                // Already spent: the sale's own lot carries the debt.
                draws.push(LotDraw {
                    lot: own_lot,
                    points: short,
                });
            }
        }
        entries.push(entry(EntryKind::PointsReversed { draws }));
        outcome.points_reversed = reversed;
    }

    let spend_back = sum_slices(&paid, &all);
    if spend_back != 0 {
        entries.push(entry(EntryKind::QualifyingSpend {
            amount: Money::from_fen(-spend_back),
        }));
    }

    if let Some(applied) = quote.coupon.as_ref().filter(|_| sale_fully_refunded) {
        let still_valid = account
            .coupon(applied.coupon)
            .is_some_and(|c| c.used() && c.coupon.valid_at(now));
        if still_valid {
            entries.push(entry(EntryKind::CouponRestored {
                coupon: applied.coupon,
            }));
            outcome.coupon_restored = true;
        }
    }

    let balance = MemberAccount::fold(account.clone(), &entries).points_balance(now);
    if balance < 0 {
        entries.push(entry(EntryKind::Flagged {
            reason: FlagReason::NegativePoints { balance },
        }));
        outcome.flagged_negative = true;
    }
    outcome.entries = entries;
    Ok(outcome)
}

/// Redeemed points go back to the lots they were drawn from (keeping those
/// lots' expiry), in the order drawn, less what earlier refunds gave back.
fn return_to_original_lots(sale: SaleHistory<'_>, points: i64) -> Vec<LotDraw> {
    let mut open: Vec<LotDraw> = Vec::new();
    for entry in sale.entries {
        if let EntryKind::PointsRedeemed { draws } = &entry.kind {
            open.extend(draws.iter().copied());
        }
    }
    for past in sale.refunds {
        for entry in &past.entries {
            if let EntryKind::PointsReturned { draws } = &entry.kind {
                for given in draws {
                    let mut left = given.points;
                    for draw in open.iter_mut().filter(|d| d.lot == given.lot) {
                        let take = draw.points.min(left);
                        draw.points -= take;
                        left -= take;
                    }
                }
            }
        }
    }
    let mut left = points;
    let mut result = Vec::new();
    for draw in open {
        if left == 0 {
            break;
        }
        let take = draw.points.min(left);
        if take > 0 {
            result.push(LotDraw {
                lot: draw.lot,
                points: take,
            });
            left -= take;
        }
    }
    result
}
