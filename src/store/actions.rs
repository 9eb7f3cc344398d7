//! Business actions on the store: price, sell, refund, top up, adjust,
//! redeem a gift for points, issue a coupon. Each write is ONE transaction holding its effect (ledger
//! entries from the rules engine), its outbox event and its audit row.

use chrono::TimeZone;
use rusqlite::{OptionalExtension, params};
use tillcard_rules::booking::{self, Authority, TopUp};
use tillcard_rules::gifts;
use tillcard_rules::ledger::LedgerEntry;
use tillcard_rules::pricing::{
    self, Basket, Context, PricingRequest, Quote, Shopper, TenderRequest,
};
use tillcard_rules::program::CouponTemplate;
use tillcard_rules::refund::{self, PastRefund, RefundLine, RefundOutcome, SaleHistory};
use tillcard_rules::shift::ShiftAction;
use tillcard_rules::tenders::{self, Payment, Tender};
use tillcard_rules::{MemberAccount, MemberId, Money, SourceId};
use uuid::Uuid;

use super::clerks::{Approval, Clerk};
use super::events::EventBody;
use super::members::{find_by_id, insert_entries, load_account};
use super::{Store, StoreContext, StoreError, audit, outbox, shift};

/// A committed sale.
#[derive(Debug, Clone, PartialEq)]
pub struct SaleReceipt {
    /// The sale (= quote) id.
    pub sale: SourceId,
    /// Its outbox sequence number.
    pub seq: i64,
    /// The quote as booked.
    pub quote: Quote,
    /// Entries booked.
    pub entries: Vec<LedgerEntry>,
    /// Change to hand back over the cash tendered.
    pub change: Money,
}

/// A committed refund.
#[derive(Debug, Clone, PartialEq)]
pub struct RefundReceipt {
    /// The refund's id.
    pub refund: SourceId,
    /// Its outbox sequence number.
    pub seq: i64,
    /// What was given back and booked.
    pub outcome: RefundOutcome,
    /// The money handed back (`outcome.money`) by the sale's own tender
    /// kinds: what to give back how.
    pub tenders: Vec<Tender>,
}

/// A past sale as the refund screen lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct SaleSummary {
    /// The sale id.
    pub sale: SourceId,
    /// Member, if any.
    pub member: Option<MemberId>,
    /// When.
    pub at: String,
    /// Order total.
    pub total: Money,
}

/// The account of `member`, who must be enrolled here.
fn known_account(
    tx: &rusqlite::Transaction<'_>,
    ctx: &StoreContext<'_>,
    member: MemberId,
) -> Result<MemberAccount, StoreError> {
    find_by_id(tx, member)?.ok_or(StoreError::UnknownMember)?;
    load_account(tx, ctx.accounts, member)
}

/// What every booking writes beside its event (number `seq`): its ledger
/// entries, and the audit line that `clerk` did `action` on `subject` at
/// `at`.
fn record_booking(
    tx: &rusqlite::Transaction<'_>,
    seq: i64,
    entries: &[LedgerEntry],
    at: &str,
    clerk: &Clerk,
    action: &str,
    subject: &str,
) -> Result<(), StoreError> {
    insert_entries(tx, seq, entries)?;
    audit::append(tx, at, clerk.id(), action, subject)
}

pub(super) fn source_text(id: SourceId) -> String {
    id.0.to_string()
}

pub(super) fn parse_source(text: &str) -> Result<SourceId, StoreError> {
    Uuid::parse_str(text)
        .map(SourceId)
        .map_err(|e| StoreError::Damaged(format!("action id: {e}")))
}

pub(super) fn entries_of(
    conn: &rusqlite::Connection,
    source: SourceId,
) -> Result<Vec<LedgerEntry>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT body FROM ledger WHERE source_id = ?1 ORDER BY id")?;
    let rows = stmt.query_map([source_text(source)], |r| r.get::<_, String>(0))?;
    let mut entries = Vec::new();
    for body in rows {
        entries.push(serde_json::from_str(&body?)?);
    }
    Ok(entries)
}

impl Store {
    /// Prices a basket for `member` (or a walk-in) now, with the rules
    /// engine, against this terminal's view of the member. Pure read.
    pub fn price(
        &self,
        member: Option<MemberId>,
        basket: &Basket,
        tender: &TenderRequest,
        offline: bool,
    ) -> Result<Quote, StoreError> {
        let program = self.program()?;
        let now = self.clock.now();
        let loaded = match member {
            None => None,
            Some(id) => {
                let record = find_by_id(self.conn(), id)?.ok_or(StoreError::UnknownMember)?;
                Some((
                    record.profile(),
                    load_account(self.conn(), &self.accounts, id)?,
                ))
            }
        };
        let allowance_left = match member {
            Some(id) => self.offline_allowance_left(id, &program)?,
            None => Money::ZERO,
        };
        let quote = pricing::price(&PricingRequest {
            quote_id: SourceId(Uuid::now_v7()),
            program: &program,
            basket,
            shopper: loaded
                .as_ref()
                .map(|(profile, account)| Shopper { profile, account }),
            context: Context {
                now,
                offline,
                offline_allowance_left: allowance_left,
            },
            tender,
        })?;
        Ok(quote)
    }

    /// What `member` may still spend today in points and stored value while
    /// offline at this terminal: the program's allowance less what offline
    /// sales here used today.
    pub fn offline_allowance_left(
        &self,
        member: MemberId,
        program: &tillcard_rules::Program,
    ) -> Result<Money, StoreError> {
        let now = self.clock.now();
        let midnight = now.date_naive().and_hms_opt(0, 0, 0).unwrap_or_default();
        let start = now
            .offset()
            .from_local_datetime(&midnight)
            .single()
            .unwrap_or(now)
            .to_rfc3339();
        // Only the day's sales that used some (a partial index holds
        // those alone): a member with hundreds of sales a day costs no more.
        let rows = self
            .conn()
            .prepare_cached(
                "SELECT offline_used FROM sales
                 WHERE member_id = ?1 AND at >= ?2 AND offline_used > 0",
            )?
            .query_map(params![member.0.to_string(), start], |r| r.get::<_, i64>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        let used: Money = rows.into_iter().map(Money::from_fen).sum();
        Ok((program.offline.allowance_per_member_per_day - used).clamp_non_negative())
    }

    /// Commits a priced sale paid by `payment`: the sale row (with its
    /// payment), the member's (and a referrer's) ledger entries, the
    /// outbox event, the shift's action and the audit row, in one
    /// transaction. The quote is re-checked against the member's balances
    /// inside the transaction, so a stale quote can never overspend. A
    /// payment that does not pay exactly the quote's amount due
    /// ([`Payment::check`]) is refused before anything is written.
    pub fn commit_sale(
        &mut self,
        clerk: &Clerk,
        quote: &Quote,
        payment: &Payment,
    ) -> Result<SaleReceipt, StoreError> {
        payment
            .check(quote.amount_due)
            .map_err(StoreError::Tenders)?;
        let program = self.program()?;
        let receipt = self.write(|tx, ctx| {
            let exists: Option<String> = tx
                .prepare_cached("SELECT sale_id FROM sales WHERE sale_id = ?1")?
                .query_row([source_text(quote.id)], |r| r.get(0))
                .optional()?;
            if exists.is_some() {
                return Err(StoreError::Booking(booking::BookingError::AlreadyBooked(
                    quote.id,
                )));
            }
            let entries = match quote.member {
                None => Vec::new(),
                Some(id) => {
                    let record = find_by_id(tx, id)?.ok_or(StoreError::UnknownMember)?;
                    let account = load_account(tx, ctx.accounts, id)?;
                    booking::book_sale(
                        &program,
                        quote,
                        &record.profile(),
                        &account,
                        Authority::Terminal,
                    )?
                }
            };
            let body = EventBody::SaleBooked {
                quote: Box::new(quote.clone()),
                entries: entries.clone(),
                payment: Some(payment.clone()),
            };
            let seq = outbox::append(tx, ctx, &body)?;
            tx.prepare_cached(
                "INSERT INTO sales
                     (sale_id, member_id, at, clerk_id, total, quote, event_seq, offline_used,
                      payment)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                source_text(quote.id),
                quote.member.map(|m| m.0.to_string()),
                quote.at.to_rfc3339(),
                clerk.id(),
                quote.total.fen(),
                serde_json::to_string(quote)?,
                seq,
                offline_used(quote).fen(),
                serde_json::to_string(payment)?,
            ])?;
            let at = ctx.clock.now().to_rfc3339();
            record_booking(
                tx,
                seq,
                &entries,
                &at,
                clerk,
                "sale",
                &source_text(quote.id),
            )?;
            shift::record(
                tx,
                seq,
                clerk,
                &at,
                &ShiftAction::sale(quote, payment, &entries),
            )?;
            Ok(SaleReceipt {
                sale: quote.id,
                seq,
                quote: quote.clone(),
                entries,
                change: payment.change(),
            })
        })?;
        tracing::info!(
            sale = %quote.id.0,
            member = ?quote.member.map(|m| m.0),
            total_fen = quote.total.fen(),
            seq = receipt.seq,
            "sale committed"
        );
        Ok(receipt)
    }

    /// Refunds `lines` of sale `sale`, approved by a manager. The money
    /// goes back to the sale's own tender kinds
    /// ([`tenders::refund_to_tenders`]; in cash for a sale from before
    /// tenders were recorded). One transaction: refund row, ledger
    /// entries, outbox event, shift action, audit row.
    pub fn refund(
        &mut self,
        clerk: &Clerk,
        approval: &Approval,
        sale: SourceId,
        lines: &[RefundLine],
    ) -> Result<RefundReceipt, StoreError> {
        let refund_id = SourceId(Uuid::now_v7());
        self.write(|tx, ctx| {
            let row: Option<(String, Option<String>)> = tx
                .query_row(
                    "SELECT quote, payment FROM sales WHERE sale_id = ?1",
                    [source_text(sale)],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let (quote, payment) = row.ok_or(StoreError::UnknownSale)?;
            let quote: Quote = serde_json::from_str(&quote)?;
            let payment: Payment = match payment {
                Some(json) => serde_json::from_str(&json)?,
                None => Payment::default(),
            };
            let sale_entries = entries_of(tx, sale)?;
            let mut past = Vec::new();
            {
                let mut stmt = tx.prepare_cached(
                    "SELECT refund_id, lines FROM refunds WHERE sale_id = ?1 ORDER BY event_seq",
                )?;
                let rows = stmt.query_map([source_text(sale)], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })?;
                for row in rows {
                    let (id, lines) = row?;
                    past.push(PastRefund {
                        lines: serde_json::from_str(&lines)?,
                        entries: entries_of(tx, parse_source(&id)?)?,
                    });
                }
            }
            let account = match quote.member {
                Some(id) => Some(load_account(tx, ctx.accounts, id)?),
                None => None,
            };
            let now = ctx.clock.now();
            let outcome = refund::refund(
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
            let back = tenders::refund_to_tenders(&payment.tenders, outcome.money);
            let body = EventBody::Refunded {
                sale,
                refund: refund_id,
                lines: lines.to_vec(),
                approved_by: approval.manager_id().to_owned(),
                entries: outcome.entries.clone(),
                tenders: Some(back.clone()),
                sale_terminal: None,
            };
            let seq = outbox::append(tx, ctx, &body)?;
            tx.execute(
                "INSERT INTO refunds
                     (refund_id, sale_id, at, clerk_id, approved_by, lines, event_seq, tenders)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    source_text(refund_id),
                    source_text(sale),
                    now.to_rfc3339(),
                    clerk.id(),
                    approval.manager_id(),
                    serde_json::to_string(lines)?,
                    seq,
                    serde_json::to_string(&back)?
                ],
            )?;
            record_booking(
                tx,
                seq,
                &outcome.entries,
                &now.to_rfc3339(),
                clerk,
                "refund",
                &format!(
                    "{} approved by {}",
                    source_text(sale),
                    approval.manager_id()
                ),
            )?;
            shift::record(
                tx,
                seq,
                clerk,
                &now.to_rfc3339(),
                &ShiftAction::refund(&outcome, &back),
            )?;
            Ok(RefundReceipt {
                refund: refund_id,
                seq,
                outcome,
                tenders: back,
            })
        })
    }

    /// Tops up a member's stored value (a package or a plain amount).
    pub fn top_up(
        &mut self,
        clerk: &Clerk,
        member: MemberId,
        top_up: &TopUp,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        let program = self.program()?;
        let source = SourceId(Uuid::now_v7());
        self.write(|tx, ctx| {
            let account = known_account(tx, ctx, member)?;
            let now = ctx.clock.now();
            let entries = booking::book_top_up(&program, &account, top_up, now, source)?;
            let (principal, bonus) = match top_up {
                TopUp::Package(code) => program
                    .package(code)
                    .map_or((Money::ZERO, Money::ZERO), |p| (p.pay, p.bonus)),
                TopUp::Amount(amount) => (*amount, Money::ZERO),
            };
            let body = EventBody::TopUp {
                member,
                principal,
                bonus,
                package: match top_up {
                    TopUp::Package(code) => Some(code.clone()),
                    TopUp::Amount(_) => None,
                },
                entries: entries.clone(),
            };
            let seq = outbox::append(tx, ctx, &body)?;
            record_booking(
                tx,
                seq,
                &entries,
                &now.to_rfc3339(),
                clerk,
                "top_up",
                &member.0.to_string(),
            )?;
            shift::record(
                tx,
                seq,
                clerk,
                &now.to_rfc3339(),
                &ShiftAction::TopUp { principal, bonus },
            )?;
            Ok(entries)
        })
    }

    /// Adds (or takes away) points by hand, approved by a manager, with a reason.
    pub fn adjust_points(
        &mut self,
        clerk: &Clerk,
        approval: &Approval,
        member: MemberId,
        delta: i64,
        reason: &str,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        let program = self.program()?;
        let source = SourceId(Uuid::now_v7());
        self.write(|tx, ctx| {
            let account = known_account(tx, ctx, member)?;
            let now = ctx.clock.now();
            let entries = booking::book_points_adjustment(&program, &account, delta, now, source)?;
            let body = EventBody::ManualAdjustment {
                member,
                reason: reason.to_owned(),
                approved_by: approval.manager_id().to_owned(),
                entries: entries.clone(),
            };
            let seq = outbox::append(tx, ctx, &body)?;
            record_booking(
                tx,
                seq,
                &entries,
                &now.to_rfc3339(),
                clerk,
                "adjust_points",
                &format!(
                    "{} {delta:+} approved by {}",
                    member.0,
                    approval.manager_id()
                ),
            )?;
            shift::record(
                tx,
                seq,
                clerk,
                &now.to_rfc3339(),
                &ShiftAction::PointsAdjusted { points: delta },
            )?;
            Ok(entries)
        })
    }

    /// Redeems the program's gift `gift` for `member`'s points now (积分兑礼):
    /// the rules' refusals (frozen, balances unknown, unknown or inactive
    /// gift, points short) book nothing.
    pub fn redeem_gift(
        &mut self,
        clerk: &Clerk,
        member: MemberId,
        gift: &str,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        let program = self.program()?;
        let source = SourceId(Uuid::now_v7());
        self.write(|tx, ctx| {
            let record = find_by_id(tx, member)?.ok_or(StoreError::UnknownMember)?;
            let account = load_account(tx, ctx.accounts, member)?;
            let now = ctx.clock.now();
            let entries = gifts::book_gift_redemption(
                &program,
                &record.profile(),
                &account,
                gift,
                now,
                source,
            )?;
            let points = program.gift(gift).map_or(0, |g| g.points);
            let body = EventBody::GiftRedeemed {
                member,
                gift: gift.to_owned(),
                points,
                entries: entries.clone(),
            };
            let seq = outbox::append(tx, ctx, &body)?;
            record_booking(
                tx,
                seq,
                &entries,
                &now.to_rfc3339(),
                clerk,
                "redeem_gift",
                &format!("{} {gift} -{points}", member.0),
            )?;
            shift::record(
                tx,
                seq,
                clerk,
                &now.to_rfc3339(),
                &ShiftAction::GiftRedeemed { points },
            )?;
            Ok(entries)
        })
    }

    /// Issues a coupon from `template` to `member` now.
    pub fn issue_coupon(
        &mut self,
        clerk: &Clerk,
        member: MemberId,
        template: &CouponTemplate,
    ) -> Result<LedgerEntry, StoreError> {
        let source = SourceId(Uuid::now_v7());
        self.write(|tx, ctx| {
            find_by_id(tx, member)?.ok_or(StoreError::UnknownMember)?;
            let now = ctx.clock.now();
            let entry = booking::issue_coupon(template, member, now, source, 0);
            let body = EventBody::CouponIssued {
                member,
                entries: vec![entry.clone()],
            };
            let seq = outbox::append(tx, ctx, &body)?;
            record_booking(
                tx,
                seq,
                std::slice::from_ref(&entry),
                &now.to_rfc3339(),
                clerk,
                "issue_coupon",
                &member.0.to_string(),
            )?;
            Ok(entry)
        })
    }

    /// The most recent sales, newest first (for the refund screen).
    pub fn recent_sales(&self, limit: usize) -> Result<Vec<SaleSummary>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT sale_id, member_id, at, total FROM sales ORDER BY at DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        let mut sales = Vec::new();
        for row in rows {
            let (sale, member, at, total) = row?;
            sales.push(SaleSummary {
                sale: parse_source(&sale)?,
                member: member
                    .as_deref()
                    .map(|m| Uuid::parse_str(m).map(MemberId))
                    .transpose()
                    .map_err(|e| StoreError::Damaged(format!("member id: {e}")))?,
                at,
                total: Money::from_fen(total),
            });
        }
        Ok(sales)
    }

    /// The quote of a past sale.
    pub fn sale(&self, sale: SourceId) -> Result<Quote, StoreError> {
        let body: Option<String> = self
            .conn()
            .query_row(
                "SELECT quote FROM sales WHERE sale_id = ?1",
                [source_text(sale)],
                |r| r.get(0),
            )
            .optional()?;
        Ok(serde_json::from_str(&body.ok_or(StoreError::UnknownSale)?)?)
    }
}

/// What an offline sale drew on the member's daily offline allowance:
/// points (at their value) and stored value; nothing for a sale priced
/// online. Kept on the sale row (`sales.offline_used`).
fn offline_used(quote: &Quote) -> Money {
    if quote.offline {
        quote.points_value + quote.stored_value_used()
    } else {
        Money::ZERO
    }
}
