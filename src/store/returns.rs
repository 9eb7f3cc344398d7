//! Returns at any store from a receipt's signed code (issue 24): the
//! receipt code a sale prints (`tillcard_protocol::receipt`), read and
//! verified here with the keys this terminal trusts for member cards
//! (windows and withdrawals included), and a return of some of its lines
//! booked in one transaction: the refund by the rules against the sale as
//! the receipt carries it, the money handed back over the sale's own
//! tenders, the `refunded` event (naming the selling terminal) and the
//! audit row.
//!
//! What this terminal returned of a receipt before is refused here. A sale
//! returned at two terminals while offline cannot be: head office checks
//! every sale's refunds against what it sold and flags the excess
//! (`returned_twice`, sync/PROTOCOL.md).
//!
//! The counter calls [`Store::verify_receipt`] on a scan, shows the lines
//! and what is left of each, then [`Store::refund_from_receipt`] with a
//! manager's approval, as for a refund of a local sale.

use rusqlite::{OptionalExtension, params};
use tillcard_protocol::receipt::{self, KeyStanding, ReceiptSummary};
use tillcard_protocol::wire::{EventBody, TerminalId};
use tillcard_rules::ledger::EntryKind;
use tillcard_rules::refund::{self, PastRefund, RefundLine, RefundOutcome, SaleHistory};
use tillcard_rules::tenders::{Tender, refund_to_tenders};
use tillcard_rules::{MemberAccount, SourceId};
use uuid::Uuid;

use super::actions::{entries_of, parse_source, source_text};
use super::clerks::{Approval, Clerk};
use super::members::{find_by_id, insert_entries, load_account};
use super::{Store, StoreError, audit, outbox};

/// A receipt code read and verified: what the return screen shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedReceipt {
    /// The sale as its receipt carries it.
    pub summary: ReceiptSummary,
    /// The sale is in this terminal's own ledger (a return of it is booked
    /// against the ledger, as a local refund).
    pub sold_here: bool,
    /// Per line, the quantity already returned at this terminal.
    pub returned_here: Vec<i64>,
}

impl VerifiedReceipt {
    /// Per line, the quantity this terminal may still return.
    pub fn left(&self) -> Vec<i64> {
        self.summary
            .lines
            .iter()
            .zip(&self.returned_here)
            .map(|(l, done)| l.quantity.saturating_sub(*done).max(0))
            .collect()
    }
}

/// A return booked from a receipt.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceiptRefund {
    /// The refund's id.
    pub refund: SourceId,
    /// Its outbox sequence number.
    pub seq: i64,
    /// What the rules gave back and booked.
    pub outcome: RefundOutcome,
    /// The money handed back, over the sale's own tenders (cash for what
    /// the tenders do not cover).
    pub money_back: Vec<Tender>,
}

/// One earlier return of a receipt at this terminal.
struct EarlierReturn {
    refund: SourceId,
    lines: Vec<RefundLine>,
}

fn earlier_returns(
    conn: &rusqlite::Connection,
    sale: SourceId,
) -> Result<Vec<EarlierReturn>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT refund_id, lines FROM receipt_refunds WHERE sale_id = ?1 ORDER BY event_seq",
    )?;
    let rows = stmt.query_map([source_text(sale)], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, lines) = row?;
        out.push(EarlierReturn {
            refund: parse_source(&id)?,
            lines: serde_json::from_str(&lines)?,
        });
    }
    Ok(out)
}

/// Per line of a sale of `lines` lines, the quantity `returns` refunded.
fn returned_per_line<'a>(lines: usize, returns: impl Iterator<Item = &'a RefundLine>) -> Vec<i64> {
    let mut done = vec![0i64; lines];
    for r in returns {
        if let Some(q) = done.get_mut(r.line) {
            *q = q.saturating_add(r.quantity);
        }
    }
    done
}

impl Store {
    /// The receipt code for sale `sale` of this terminal, paid with
    /// `tenders` (its money tenders; none for a sale paid in points and
    /// stored value only): signed with this terminal's card key, so any
    /// terminal of the chain takes a return of it offline.
    pub fn receipt_code(
        &mut self,
        sale: SourceId,
        tenders: &[Tender],
    ) -> Result<String, StoreError> {
        let quote = self.sale(sale)?;
        let entries = entries_of(self.conn(), sale)?;
        let (terminal, store) = self.selling_terminal()?;
        let signer = self.card_signer()?;
        receipt::receipt_token(&quote, &entries, tenders, terminal, &store, &signer)
            .map_err(|e| StoreError::ReceiptTooLarge(e.to_string()))
    }

    /// This terminal's id and store as head office registered them (the
    /// nil id and no store before registration).
    fn selling_terminal(&self) -> Result<(Uuid, String), StoreError> {
        let row: Option<(String, String)> = self
            .conn()
            .query_row(
                "SELECT terminal_id, store FROM credentials WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(match row {
            Some((id, store)) => (Uuid::parse_str(&id).unwrap_or_default(), store),
            None => (Uuid::nil(), String::new()),
        })
    }

    /// Reads and verifies a scanned receipt code with the keys this
    /// terminal trusts (head office's, with their certified windows and
    /// withdrawals, and its own card key), and says what was already
    /// returned of it here. Refusals are worded for the clerk.
    pub fn verify_receipt(&mut self, text: &str) -> Result<VerifiedReceipt, StoreError> {
        let verifier = self.card_verifier()?;
        let keys = |key_id: u16, at: i64| {
            let key = verifier.keys.get(key_id)?;
            let window = verifier.keys.window(key_id).unwrap_or_default();
            let at = u32::try_from(at).unwrap_or(u32::MAX);
            let standing = if !window.certifies(at) {
                KeyStanding::OutsideWindow
            } else if window.withdrawn_at_issue(at) {
                KeyStanding::Withdrawn
            } else {
                KeyStanding::Trusted
            };
            Some((*key, standing))
        };
        let summary = receipt::parse_and_verify(text, &keys)?;
        let sold_here = self.sale(summary.sale).is_ok();
        let returned_here = if sold_here {
            let mut stmt = self
                .conn()
                .prepare_cached("SELECT lines FROM refunds WHERE sale_id = ?1")?;
            let rows = stmt.query_map([source_text(summary.sale)], |r| r.get::<_, String>(0))?;
            let mut all: Vec<RefundLine> = Vec::new();
            for lines in rows {
                all.extend(serde_json::from_str::<Vec<RefundLine>>(&lines?)?);
            }
            returned_per_line(summary.lines.len(), all.iter())
        } else {
            let earlier = earlier_returns(self.conn(), summary.sale)?;
            returned_per_line(
                summary.lines.len(),
                earlier.iter().flat_map(|e| e.lines.iter()),
            )
        };
        Ok(VerifiedReceipt {
            summary,
            sold_here,
            returned_here,
        })
    }

    /// Returns `lines` (index on the receipt, quantity) of a verified
    /// receipt, approved by a manager. A sale of this terminal's own is
    /// refunded against its ledger ([`Store::refund`]); another terminal's
    /// in one transaction here: the rules' refund for the receipt's
    /// member (held here or not), the `refunded` event naming the selling
    /// terminal, the return's row and the audit row. Quantities this
    /// terminal already returned are refused ([`StoreError::AlreadyReturned`]).
    pub fn refund_from_receipt(
        &mut self,
        clerk: &Clerk,
        approval: &Approval,
        receipt: &VerifiedReceipt,
        lines: &[RefundLine],
    ) -> Result<ReceiptRefund, StoreError> {
        let summary = &receipt.summary;
        if receipt.sold_here {
            let done = self.refund(clerk, approval, summary.sale, lines)?;
            let money_back = refund_to_tenders(&summary.tenders, done.outcome.money);
            return Ok(ReceiptRefund {
                refund: done.refund,
                seq: done.seq,
                outcome: done.outcome,
                money_back,
            });
        }
        let refund_id = SourceId(Uuid::now_v7());
        let quote = summary.refund_quote();
        let sale_entries = summary.refund_sale_entries();
        self.write(|tx, ctx| {
            // Read again inside the transaction: two returns of one
            // receipt at this counter can never both pass.
            let earlier = earlier_returns(tx, summary.sale)?;
            let done = returned_per_line(
                summary.lines.len(),
                earlier.iter().flat_map(|e| e.lines.iter()),
            );
            let asked = returned_per_line(summary.lines.len(), lines.iter());
            for (line, ((sold, done), asked)) in summary
                .lines
                .iter()
                .map(|l| l.quantity)
                .zip(&done)
                .zip(&asked)
                .enumerate()
            {
                let left = sold.saturating_sub(*done);
                if *done > 0 && *asked > left {
                    return Err(StoreError::AlreadyReturned { line, left });
                }
            }
            let mut past = Vec::new();
            for e in &earlier {
                past.push(PastRefund {
                    lines: e.lines.clone(),
                    entries: entries_of(tx, e.refund)?,
                });
            }
            // The member's account when held here; else an empty one: the
            // refund's entries are the same (its points reversed from the
            // sale's own lot), and head office, which holds the account,
            // judges the balance. Only a held account may restore the
            // coupon or be flagged negative here.
            let (account, held) = match summary.member {
                Some(member) if find_by_id(tx, member)?.is_some() => {
                    (Some(load_account(tx, ctx.accounts, member)?), true)
                }
                Some(member) => (Some(MemberAccount::new(member)), false),
                None => (None, false),
            };
            let now = ctx.clock.now();
            let mut outcome = refund::refund(
                SaleHistory {
                    quote: &quote,
                    entries: &sale_entries,
                    refunds: &past,
                },
                account.as_ref(),
                lines,
                now,
                refund_id,
            )?;
            if !held {
                outcome
                    .entries
                    .retain(|e| !matches!(e.kind, EntryKind::Flagged { .. }));
                outcome.flagged_negative = false;
            }
            let money_back = refund_to_tenders(&summary.tenders, outcome.money);
            let body = EventBody::Refunded {
                sale: summary.sale,
                refund: refund_id,
                lines: lines.to_vec(),
                approved_by: approval.manager_id().to_owned(),
                entries: outcome.entries.clone(),
                tenders: Some(money_back.clone()),
                sale_terminal: Some(TerminalId(summary.terminal)),
            };
            let seq = outbox::append(tx, ctx, &body)?;
            tx.execute(
                "INSERT INTO receipt_refunds (refund_id, sale_id, sale_terminal, at, clerk_id,
                     approved_by, lines, money_back, summary, event_seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    source_text(refund_id),
                    source_text(summary.sale),
                    summary.terminal.to_string(),
                    now.to_rfc3339(),
                    clerk.id(),
                    approval.manager_id(),
                    serde_json::to_string(lines)?,
                    serde_json::to_string(&money_back)?,
                    serde_json::to_string(summary)?,
                    seq
                ],
            )?;
            insert_entries(tx, seq, &outcome.entries)?;
            audit::append(
                tx,
                &now.to_rfc3339(),
                clerk.id(),
                "receipt_refund",
                &format!(
                    "{} of terminal {} approved by {}",
                    source_text(summary.sale),
                    summary.terminal,
                    approval.manager_id()
                ),
            )?;
            // The shift close counts it as this till's refund.
            super::shift::record(
                tx,
                seq,
                clerk,
                &now.to_rfc3339(),
                &tillcard_rules::shift::ShiftAction::refund(&outcome, &money_back),
            )?;
            Ok(ReceiptRefund {
                refund: refund_id,
                seq,
                outcome,
                money_back,
            })
        })
    }
}
