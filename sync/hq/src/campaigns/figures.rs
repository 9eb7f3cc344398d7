//! A campaign's figures, pure: what it issued and what came back, for the
//! treated members and, when the campaign held some back, the same for
//! the control group, so an operator sees what the coupons changed rather
//! than what would have happened anyway.
//!
//! - **Issued**: coupons issued. **Redeemed**: those used on an order and
//!   not given back by a refund of that whole order; the **redemption
//!   rate** is redeemed over issued.
//! - **Sales of redeeming orders**: the totals of the orders that used one.
//! - Per group: members reached; **buyers** (a purchase between the
//!   moment they were reached and the campaign's end); their sales; the
//!   **sleeping** members reached (no purchase in 90 days) and how many of
//!   them bought (**reactivated**). Control members got nothing, so their
//!   buyers are what the treated group's would be without coupons.
//!
//! Rates are in basis points (10000 = 100%); `None` where the base is 0.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use tillcard_rules::ids::{CouponId, MemberId, SourceId};
use tillcard_rules::ledger::{EntryKind, LedgerEntry};

/// A member a campaign reached, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReachedMember {
    /// The member.
    pub member: MemberId,
    /// Treated (given coupons) or control.
    pub treated: bool,
    /// Asleep when reached.
    pub sleeping: bool,
    /// When reached (ms since the epoch).
    pub reached_at_ms: i64,
    /// The action that issued their coupons (treated only).
    pub source: Option<SourceId>,
    /// Coupons issued to them.
    pub coupons: u32,
}

/// A sale of a reached member, from the moment the campaign started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSale {
    /// The member.
    pub member: MemberId,
    /// The sale (its action id).
    pub sale: SourceId,
    /// When (ms since the epoch).
    pub at_ms: i64,
    /// Its total after discounts, fen.
    pub total_fen: i64,
}

/// One group's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct GroupFigures {
    /// Members reached.
    pub members: u64,
    /// Members who bought after being reached, before the campaign's end.
    pub buyers: u64,
    /// Buyers over members, basis points.
    pub purchase_rate_bp: Option<u64>,
    /// What the buyers' purchases totalled, fen.
    pub sales_fen: i64,
    /// Members asleep when reached.
    pub sleeping: u64,
    /// Of those, how many bought.
    pub reactivated: u64,
    /// Reactivated over sleeping, basis points.
    pub reactivation_rate_bp: Option<u64>,
}

/// A campaign's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct CampaignFigures {
    /// Coupons issued.
    pub issued: u64,
    /// Coupons redeemed (net of whole-order refunds).
    pub redeemed: u64,
    /// Redeemed over issued, basis points.
    pub redemption_rate_bp: Option<u64>,
    /// Orders that used one of the campaign's coupons.
    pub redeeming_orders: u64,
    /// Their totals, fen.
    pub redeeming_sales_fen: i64,
    /// The treated group.
    pub treated: GroupFigures,
    /// The control group, when the campaign held one back.
    pub control: Option<GroupFigures>,
}

/// The figures of a campaign that ends at `ends_at_ms` from the members
/// it reached, the ledger entries of its treated members and the reached
/// members' sales.
pub fn figures(
    reached: &[ReachedMember],
    entries: &[LedgerEntry],
    sales: &[MemberSale],
    ends_at_ms: i64,
    has_control: bool,
) -> CampaignFigures {
    let sources: HashSet<SourceId> = reached.iter().filter_map(|r| r.source).collect();
    // Net uses per coupon: a refund of the whole order restores it.
    let mut uses: HashMap<CouponId, i64> = HashMap::new();
    let mut used_on: HashMap<CouponId, SourceId> = HashMap::new();
    for e in entries {
        match &e.kind {
            EntryKind::CouponUsed { coupon } if sources.contains(&coupon.issued_by) => {
                *uses.entry(*coupon).or_default() += 1;
                used_on.insert(*coupon, e.source);
            }
            EntryKind::CouponRestored { coupon } if sources.contains(&coupon.issued_by) => {
                *uses.entry(*coupon).or_default() -= 1;
            }
            _ => {}
        }
    }
    let redeemed: HashSet<CouponId> = uses
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(c, _)| c)
        .collect();
    let orders: HashSet<SourceId> = redeemed
        .iter()
        .filter_map(|c| used_on.get(c))
        .copied()
        .collect();
    let redeeming_sales: i128 = sales
        .iter()
        .filter(|s| orders.contains(&s.sale))
        .map(|s| i128::from(s.total_fen))
        .sum();
    let issued: u64 = reached.iter().map(|r| u64::from(r.coupons)).sum();
    let redeemed_count = u64::try_from(redeemed.len()).unwrap_or(u64::MAX);
    CampaignFigures {
        issued,
        redeemed: redeemed_count,
        redemption_rate_bp: rate(redeemed_count, issued),
        redeeming_orders: u64::try_from(orders.len()).unwrap_or(u64::MAX),
        redeeming_sales_fen: clamp(redeeming_sales),
        treated: group(reached, sales, ends_at_ms, true),
        control: has_control.then(|| group(reached, sales, ends_at_ms, false)),
    }
}

fn group(
    reached: &[ReachedMember],
    sales: &[MemberSale],
    ends_at_ms: i64,
    treated: bool,
) -> GroupFigures {
    let mut by_member: HashMap<MemberId, Vec<&MemberSale>> = HashMap::new();
    for s in sales {
        by_member.entry(s.member).or_default().push(s);
    }
    let mut out = GroupFigures::default();
    let mut total: i128 = 0;
    for r in reached.iter().filter(|r| r.treated == treated) {
        out.members += 1;
        out.sleeping += u64::from(r.sleeping);
        let bought: Vec<&&MemberSale> = by_member
            .get(&r.member)
            .map(|v| {
                v.iter()
                    .filter(|s| s.at_ms >= r.reached_at_ms && s.at_ms < ends_at_ms)
                    .collect()
            })
            .unwrap_or_default();
        if !bought.is_empty() {
            out.buyers += 1;
            out.reactivated += u64::from(r.sleeping);
            total += bought.iter().map(|s| i128::from(s.total_fen)).sum::<i128>();
        }
    }
    out.sales_fen = clamp(total);
    out.purchase_rate_bp = rate(out.buyers, out.members);
    out.reactivation_rate_bp = rate(out.reactivated, out.sleeping);
    out
}

fn rate(part: u64, whole: u64) -> Option<u64> {
    (whole > 0)
        .then(|| u64::try_from(u128::from(part) * 10_000 / u128::from(whole)).unwrap_or(u64::MAX))
}

fn clamp(sum: i128) -> i64 {
    i64::try_from(sum).unwrap_or(if sum < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tillcard_rules::ids::Timestamp;

    fn id(n: u128) -> uuid::Uuid {
        uuid::Uuid::from_u128(n)
    }

    fn entry(member: u128, source: u128, kind: EntryKind) -> LedgerEntry {
        LedgerEntry {
            member: MemberId(id(member)),
            source: SourceId(id(source)),
            at: Timestamp::parse_from_rfc3339("2026-12-05T10:00:00+08:00").unwrap(),
            kind,
        }
    }

    fn coupon(source: u128, index: u16) -> CouponId {
        CouponId {
            issued_by: SourceId(id(source)),
            index,
        }
    }

    #[test]
    fn redemptions_refunds_buyers_and_reactivation_are_counted_per_group() {
        // Members 1-3 treated (issue actions 101-103, 2 coupons each), 4-5
        // control; 1, 2 and 4 were asleep.
        let reached: Vec<ReachedMember> = (1..=5)
            .map(|n| ReachedMember {
                member: MemberId(id(n)),
                treated: n <= 3,
                sleeping: n != 3 && n != 5,
                reached_at_ms: 1_000,
                source: (n <= 3).then(|| SourceId(id(100 + n))),
                coupons: if n <= 3 { 2 } else { 0 },
            })
            .collect();
        let entries = vec![
            // Member 1 uses a coupon on sale 201; member 2 on sale 202,
            // refunded whole (restored); member 3 a coupon of another
            // campaign (999).
            entry(
                1,
                201,
                EntryKind::CouponUsed {
                    coupon: coupon(101, 0),
                },
            ),
            entry(
                2,
                202,
                EntryKind::CouponUsed {
                    coupon: coupon(102, 1),
                },
            ),
            entry(
                2,
                203,
                EntryKind::CouponRestored {
                    coupon: coupon(102, 1),
                },
            ),
            entry(
                3,
                204,
                EntryKind::CouponUsed {
                    coupon: coupon(999, 0),
                },
            ),
        ];
        let sale = |m: u128, s: u128, at_ms: i64, total: i64| MemberSale {
            member: MemberId(id(m)),
            sale: SourceId(id(s)),
            at_ms,
            total_fen: total,
        };
        let sales = vec![
            sale(1, 201, 2_000, 8_000),
            sale(2, 202, 2_000, 5_000),
            sale(3, 204, 500, 9_000), // before being reached: not a buyer
            sale(4, 205, 3_000, 7_000),
            sale(5, 206, 20_000, 1_000), // after the end
        ];
        let f = figures(&reached, &entries, &sales, 10_000, true);
        assert_eq!(f.issued, 6);
        assert_eq!(f.redeemed, 1);
        assert_eq!(f.redemption_rate_bp, Some(1_666));
        assert_eq!((f.redeeming_orders, f.redeeming_sales_fen), (1, 8_000));
        assert_eq!(
            f.treated,
            GroupFigures {
                members: 3,
                buyers: 2,
                purchase_rate_bp: Some(6_666),
                sales_fen: 13_000,
                sleeping: 2,
                reactivated: 2,
                reactivation_rate_bp: Some(10_000),
            }
        );
        let control = f.control.unwrap();
        assert_eq!(
            (control.members, control.buyers, control.sales_fen),
            (2, 1, 7_000)
        );
        assert_eq!((control.sleeping, control.reactivated), (1, 1));
        assert_eq!(
            figures(&reached, &entries, &sales, 10_000, false).control,
            None
        );
    }
}
