//! Sales returned beyond what was sold (issue 24): a receipt's signed code
//! lets any terminal take a return offline, so two terminals may each
//! return the same lines before either syncs. Head office checks every
//! sale's refunds, per line, against the quantities it sold, whichever
//! arrives first: when a batch brings a refund of a sale it holds, or a
//! sale some of whose refunds it already holds. A sale refunded beyond
//! what was sold is a conflict of kind `returned_twice` on the sale's
//! member (the review queue's conflicts: each is about one member's
//! ledger, as a coupon used twice is; resolved by accepting it or freezing
//! the member), naming the sale, the lines, and the terminals that sold
//! and returned it. Only a growth of the excess is flagged, so a batch sent
//! again, or a sale arriving after refunds already flagged, flags nothing
//! new. A walk-in sale (no member) has no member's queue: by the same
//! rule it becomes a store-level flag instead ([`WalkInReturn`], table
//! `walk_in_returns`), written in the batch's transaction and listed for
//! head-office staff to acknowledge beside the conflicts
//! (`store::walk_in_returns`). It holds the sale, the terminals and the
//! lines, and no personal data: a walk-in has none.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use tillcard_protocol::wire::{EventBody, TerminalId};
use tillcard_rules::ids::{MemberId, SourceId};
use tillcard_rules::refund::RefundLine;

use super::{Conflict, Prepared, RefundFact, SaleFact};

/// A sale head office held before the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldSale {
    /// The terminal that sold it.
    pub terminal: TerminalId,
    /// Its member, `None` for a walk-in sale.
    pub member: Option<MemberId>,
    /// Quantity sold per line.
    pub quantities: Vec<i64>,
}

/// A refund head office held before the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldRefund {
    /// The terminal that booked it.
    pub terminal: TerminalId,
    /// Lines and quantities.
    pub lines: Vec<RefundLine>,
}

/// What head office held, before the batch, of the sales the batch sells
/// or refunds: loaded by both backends in the batch's transaction.
#[derive(Debug, Clone, Default)]
pub struct HeldReturns {
    /// The uploading terminal.
    pub uploader: Option<TerminalId>,
    /// The sales held, by id.
    pub sales: HashMap<SourceId, HeldSale>,
    /// Their refunds held, by sale id.
    pub refunds: HashMap<SourceId, Vec<HeldRefund>>,
}

/// A walk-in sale refunded beyond what was sold: the flag a batch raises
/// where a member's sale would raise a `returned_twice` conflict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkInReturn {
    /// The sale.
    pub sale: SourceId,
    /// The terminal that sold it.
    pub sold_at: TerminalId,
    /// The terminals that returned it, each once, in order.
    pub returned_at: Vec<TerminalId>,
    /// The lines refunded beyond what was sold, each
    /// `line N: sold S, refunded R` (N from 1).
    pub lines: Vec<String>,
    /// The seq of the batch's event that raised it (the highest of the
    /// sale's events in the batch).
    pub seq: u64,
}

/// What [`judge`] found: conflicts on members' sales, flags on walk-ins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Judged {
    /// `returned_twice` conflicts, one per member's sale whose excess grew.
    pub conflicts: Vec<Conflict>,
    /// Walk-in sales whose excess grew.
    pub walk_ins: Vec<WalkInReturn>,
}

/// The sales a batch sells or refunds: the ids to load.
pub fn sale_ids(prepared: &Prepared) -> BTreeSet<SourceId> {
    prepared
        .events
        .iter()
        .filter_map(|e| e.body.as_ref().ok())
        .filter_map(|body| match body {
            EventBody::SaleBooked { quote, .. } => Some(quote.id),
            EventBody::Refunded { sale, .. } => Some(*sale),
            _ => None,
        })
        .collect()
}

/// Per line, how far `refunds` go beyond `sold` (nothing where they do
/// not): (line index, sold, refunded).
fn excess<'a>(
    sold: &[i64],
    refunds: impl Iterator<Item = &'a RefundLine>,
) -> Vec<(usize, i64, i64)> {
    let mut refunded = vec![0i64; sold.len()];
    let mut beyond = BTreeMap::new();
    for r in refunds {
        match refunded.get_mut(r.line) {
            Some(q) => *q = q.saturating_add(r.quantity),
            // A line the sale does not have: all of it is beyond.
            None => {
                let q: &mut i64 = beyond.entry(r.line).or_default();
                *q = q.saturating_add(r.quantity);
            }
        }
    }
    let mut out: Vec<(usize, i64, i64)> = sold
        .iter()
        .zip(&refunded)
        .enumerate()
        .filter(|(_, (s, r))| r > s)
        .map(|(i, (s, r))| (i, *s, *r))
        .collect();
    out.extend(beyond.into_iter().map(|(i, r)| (i, 0, r)));
    out
}

fn total_beyond(lines: &[(usize, i64, i64)]) -> i64 {
    lines
        .iter()
        .fold(0i64, |a, (_, s, r)| a.saturating_add(r.saturating_sub(*s)))
}

/// The `returned_twice` conflicts and walk-in flags a batch raises, given
/// what was held before it and the sales and refunds it applies.
pub(super) fn judge(held: &HeldReturns, sales: &[SaleFact], refunds: &[RefundFact]) -> Judged {
    let mut judged = Judged::default();
    let Some(uploader) = held.uploader else {
        return judged;
    };
    let touched: BTreeSet<SourceId> = sales
        .iter()
        .map(|s| s.sale)
        .chain(refunds.iter().map(|r| r.sale))
        .collect();
    for sale in touched {
        let held_sale = held.sales.get(&sale);
        let batch_sale = sales.iter().find(|s| s.sale == sale);
        let (terminal, member, quantities) = match (held_sale, batch_sale) {
            (Some(h), _) => (h.terminal, h.member, h.quantities.clone()),
            (None, Some(b)) => (
                uploader,
                b.member,
                b.lines.iter().map(|(q, _)| *q).collect(),
            ),
            // Refunds of a sale not arrived yet: judged when it arrives.
            (None, None) => continue,
        };
        let held_refunds = held.refunds.get(&sale).map(Vec::as_slice).unwrap_or(&[]);
        let batch_refunds: Vec<&RefundFact> = refunds.iter().filter(|r| r.sale == sale).collect();
        let before = if held_sale.is_some() {
            total_beyond(&excess(
                &quantities,
                held_refunds.iter().flat_map(|r| r.lines.iter()),
            ))
        } else {
            0
        };
        let after_lines = excess(
            &quantities,
            held_refunds
                .iter()
                .flat_map(|r| r.lines.iter())
                .chain(batch_refunds.iter().flat_map(|r| r.lines.iter())),
        );
        if total_beyond(&after_lines) <= before {
            continue;
        }
        let returned_at: BTreeSet<TerminalId> = held_refunds
            .iter()
            .map(|r| r.terminal)
            .chain(batch_refunds.iter().map(|_| uploader))
            .collect();
        let lines: Vec<String> = after_lines
            .iter()
            .map(|(i, s, r)| format!("line {}: sold {s}, refunded {r}", i + 1))
            .collect();
        let seq = batch_refunds
            .iter()
            .map(|r| r.seq)
            .chain(batch_sale.map(|s| s.seq))
            .max()
            .unwrap_or_default();
        let Some(member) = member else {
            tracing::warn!(%sale, "a walk-in sale was refunded beyond what was sold: flagged");
            judged.walk_ins.push(WalkInReturn {
                sale,
                sold_at: terminal,
                returned_at: returned_at.into_iter().collect(),
                lines,
                seq,
            });
            continue;
        };
        judged.conflicts.push(Conflict {
            member,
            kind: "returned_twice".into(),
            reason: format!(
                "sale {} sold at terminal {terminal} refunded beyond what was sold ({}); returned at terminals {}",
                sale.0,
                lines.join("; "),
                returned_at
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            seq,
        });
    }
    judged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> uuid::Uuid {
        uuid::Uuid::from_u128(n)
    }

    fn refund(terminal: u128, line: usize, quantity: i64) -> HeldRefund {
        HeldRefund {
            terminal: TerminalId(id(terminal)),
            lines: vec![RefundLine { line, quantity }],
        }
    }

    fn fact(sale: u128, seq: u64, line: usize, quantity: i64) -> RefundFact {
        RefundFact {
            refund: SourceId(id(900 + u128::from(seq))),
            sale: SourceId(id(sale)),
            seq,
            at: chrono::DateTime::from_timestamp(1_800_000_000, 0)
                .unwrap_or_default()
                .fixed_offset(),
            lines: vec![RefundLine { line, quantity }],
            tenders: None,
        }
    }

    fn held(refunds: Vec<HeldRefund>) -> HeldReturns {
        HeldReturns {
            uploader: Some(TerminalId(id(3))),
            sales: HashMap::from([(
                SourceId(id(1)),
                HeldSale {
                    terminal: TerminalId(id(9)),
                    member: Some(MemberId(id(7))),
                    quantities: vec![3, 2],
                },
            )]),
            refunds: HashMap::from([(SourceId(id(1)), refunds)]),
        }
    }

    #[test]
    fn a_refund_within_what_was_sold_is_not_flagged() {
        let conflicts = judge(&held(vec![refund(2, 0, 1)]), &[], &[fact(1, 5, 0, 2)]).conflicts;
        assert!(conflicts.is_empty());
    }

    #[test]
    fn a_refund_beyond_what_was_sold_is_flagged_with_the_terminals() {
        let conflicts = judge(&held(vec![refund(2, 0, 1)]), &[], &[fact(1, 5, 0, 3)]).conflicts;
        assert_eq!(conflicts.len(), 1);
        let c = &conflicts[0];
        assert_eq!(
            (c.kind.as_str(), c.seq, c.member),
            ("returned_twice", 5, MemberId(id(7)))
        );
        assert!(
            c.reason.contains("line 1: sold 3, refunded 4"),
            "{}",
            c.reason
        );
        assert!(c.reason.contains(&id(2).to_string()) && c.reason.contains(&id(3).to_string()));
        assert!(c.reason.contains(&format!("sold at terminal {}", id(9))));
    }

    #[test]
    fn an_excess_already_held_is_not_flagged_again_until_it_grows() {
        let before = held(vec![refund(2, 0, 3), refund(4, 0, 3)]);
        assert_eq!(judge(&before, &[], &[fact(1, 6, 1, 1)]), Judged::default());
        assert_eq!(judge(&before, &[], &[fact(1, 6, 0, 1)]).conflicts.len(), 1);
    }

    #[test]
    fn a_sale_arriving_after_its_refunds_is_judged_then() {
        let mut before = held(vec![refund(2, 0, 3), refund(4, 0, 2)]);
        before.sales.clear();
        let sale = SaleFact {
            sale: SourceId(id(1)),
            seq: 8,
            member: Some(MemberId(id(7))),
            at: chrono::DateTime::from_timestamp(1_800_000_000, 0)
                .unwrap_or_default()
                .fixed_offset(),
            total_fen: 500,
            lines: vec![(3, 300), (2, 200)],
            payment: None,
        };
        let conflicts = judge(&before, &[sale], &[]).conflicts;
        assert_eq!(conflicts.len(), 1);
        assert_eq!(conflicts[0].seq, 8);
        // Refunds only, sale not arrived: nothing to judge yet.
        assert_eq!(judge(&before, &[], &[fact(1, 9, 0, 5)]), Judged::default());
    }

    #[test]
    fn a_walk_in_sale_refunded_beyond_what_was_sold_is_flagged_not_a_conflict() {
        let mut before = held(vec![refund(2, 0, 2)]);
        if let Some(sale) = before.sales.get_mut(&SourceId(id(1))) {
            sale.member = None;
        }
        let judged = judge(&before, &[], &[fact(1, 5, 0, 2)]);
        assert!(judged.conflicts.is_empty());
        assert_eq!(
            judged.walk_ins,
            vec![WalkInReturn {
                sale: SourceId(id(1)),
                sold_at: TerminalId(id(9)),
                returned_at: vec![TerminalId(id(2)), TerminalId(id(3))],
                lines: vec!["line 1: sold 3, refunded 4".into()],
                seq: 5,
            }]
        );
        // Within what was sold: nothing.
        assert_eq!(judge(&before, &[], &[fact(1, 5, 0, 1)]), Judged::default());
    }
}
