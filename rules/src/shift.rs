//! The shift close (Z report, issue 24): what one terminal took during a
//! shift, for the whole terminal and per clerk. Pure: the store hands in
//! the shift's actions ([`ShiftAction`], one per booking, written with it)
//! and [`ShiftReport::build`] adds them up.
//!
//! Money tenders (cash, bank card, WeChat Pay, Alipay) come from the
//! sale's [`Payment`]; stored value and points are not tenders of the
//! payment (the quote books them) but the report lists them beside the
//! money tenders, at the value they paid, so the tender lines add up to
//! the sales' net total. A refund gives money back to the tenders it names
//! and stored value back to the card; points given back are counted in
//! points ([`ShiftFigures::points_returned`]), not valued.

use serde::{Deserialize, Serialize};

use crate::ids::Timestamp;
use crate::ledger::{EntryKind, LedgerEntry};
use crate::limits::{self, OutOfBounds};
use crate::money::Money;
use crate::pricing::Quote;
use crate::refund::RefundOutcome;
use crate::tenders::{Payment, Tender, TenderKind};

/// A line of the report's tender table: the four money tenders, stored
/// value and points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ShiftTender {
    /// Cash (现金).
    Cash,
    /// Bank card (银行卡).
    BankCard,
    /// WeChat Pay (微信支付).
    WechatPay,
    /// Alipay (支付宝).
    Alipay,
    /// Stored value (储值), principal and bonus.
    StoredValue,
    /// Points (积分), at the value they paid.
    Points,
}

impl ShiftTender {
    /// Every line, in the order the report prints them.
    pub const ALL: [ShiftTender; 6] = [
        ShiftTender::Cash,
        ShiftTender::BankCard,
        ShiftTender::WechatPay,
        ShiftTender::Alipay,
        ShiftTender::StoredValue,
        ShiftTender::Points,
    ];

    fn index(self) -> usize {
        match self {
            ShiftTender::Cash => 0,
            ShiftTender::BankCard => 1,
            ShiftTender::WechatPay => 2,
            ShiftTender::Alipay => 3,
            ShiftTender::StoredValue => 4,
            ShiftTender::Points => 5,
        }
    }

    /// The line's name in zh-CN and en.
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            ShiftTender::Cash => TenderKind::Cash.names(),
            ShiftTender::BankCard => TenderKind::BankCard.names(),
            ShiftTender::WechatPay => TenderKind::WechatPay.names(),
            ShiftTender::Alipay => TenderKind::Alipay.names(),
            ShiftTender::StoredValue => ("储值", "Stored value"),
            ShiftTender::Points => ("积分", "Points"),
        }
    }
}

impl From<TenderKind> for ShiftTender {
    fn from(kind: TenderKind) -> Self {
        match kind {
            TenderKind::Cash => ShiftTender::Cash,
            TenderKind::BankCard => ShiftTender::BankCard,
            TenderKind::WechatPay => ShiftTender::WechatPay,
            TenderKind::Alipay => ShiftTender::Alipay,
        }
    }
}

/// One booking of the shift as the report counts it. The store writes one
/// beside each booking, in the booking's transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ShiftAction {
    /// A sale.
    Sale {
        /// Σ gross (before discounts).
        gross: Money,
        /// Σ discounts (tier, member day, coupon).
        discounts: Money,
        /// The order total after discounts.
        net: Money,
        /// The money tenders as recorded (cash at its share, not as given).
        tenders: Vec<Tender>,
        /// Change handed back.
        change: Money,
        /// Stored value used (principal and bonus).
        stored_value_used: Money,
        /// Value of the points redeemed.
        points_value: Money,
        /// Points redeemed.
        points_redeemed: i64,
        /// Points earned (the member's and a referrer's).
        points_issued: i64,
    },
    /// A refund.
    Refund {
        /// Money handed back, by tender.
        tenders: Vec<Tender>,
        /// Stored value put back on the card.
        stored_value_back: Money,
        /// Redeemed points given back.
        points_returned: i64,
        /// Earned points taken back.
        points_reversed: i64,
    },
    /// A stored-value top-up.
    TopUp {
        /// Paid by the member.
        principal: Money,
        /// Given by the program.
        bonus: Money,
    },
    /// A gift taken for points (积分兑礼).
    GiftRedeemed {
        /// Points it cost.
        points: i64,
    },
    /// A manual points adjustment (issued when positive, taken back when
    /// negative).
    PointsAdjusted {
        /// The change.
        points: i64,
    },
}

/// Points of the `PointsEarned` entries among `entries`.
fn points_earned(entries: &[LedgerEntry]) -> i64 {
    entries
        .iter()
        .map(|e| match &e.kind {
            EntryKind::PointsEarned { points, .. } => *points,
            _ => 0,
        })
        .fold(0i64, i64::saturating_add)
}

impl ShiftAction {
    /// A booked sale: its quote, its payment and the entries it booked.
    pub fn sale(quote: &Quote, payment: &Payment, entries: &[LedgerEntry]) -> ShiftAction {
        ShiftAction::Sale {
            gross: quote.subtotal,
            discounts: quote.discount_total(),
            net: quote.total,
            tenders: payment.tenders.clone(),
            change: payment.change(),
            stored_value_used: quote.stored_value_used(),
            points_value: quote.points_value,
            points_redeemed: quote.points_redeemed,
            points_issued: points_earned(entries),
        }
    }

    /// A booked refund: what the rules gave back and the money's tenders.
    pub fn refund(outcome: &RefundOutcome, tenders: &[Tender]) -> ShiftAction {
        ShiftAction::Refund {
            tenders: tenders.to_vec(),
            stored_value_back: outcome.stored_value_principal + outcome.stored_value_bonus,
            points_returned: outcome.points_returned,
            points_reversed: outcome.points_reversed,
        }
    }
}

/// One line of the tender table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct TenderTotal {
    /// Which tender.
    pub tender: ShiftTender,
    /// Taken in sales.
    pub sales: Money,
    /// Given back by refunds.
    pub refunds: Money,
    /// Sales less refunds (negative when refunds of earlier shifts' sales
    /// outweigh the shift's sales).
    pub net: Money,
}

/// The figures of a shift, for the terminal or one clerk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ShiftFigures {
    /// Sales booked.
    pub sales: u32,
    /// Σ the sales' gross (before discounts).
    pub gross: Money,
    /// Σ discounts given.
    pub discounts: Money,
    /// Σ the sales' totals after discounts (= Σ tenders' `sales`).
    pub net: Money,
    /// One line per [`ShiftTender`], in [`ShiftTender::ALL`] order.
    pub tenders: Vec<TenderTotal>,
    /// Change handed back over cash tenders.
    pub change_given: Money,
    /// Points issued: earned on sales, and positive adjustments.
    pub points_issued: i64,
    /// Points redeemed: at checkout, for gifts, and negative adjustments.
    pub points_redeemed: i64,
    /// Redeemed points refunds gave back.
    pub points_returned: i64,
    /// Earned points refunds took back.
    pub points_reversed: i64,
    /// Top-ups booked.
    pub top_ups: u32,
    /// Stored value in: top-ups' principal (paid).
    pub stored_value_in_principal: Money,
    /// Stored value in: top-ups' bonus (given).
    pub stored_value_in_bonus: Money,
    /// Stored value out: used in sales (cash-outs are head office's alone,
    /// so none at a terminal).
    pub stored_value_out: Money,
    /// Refunds booked.
    pub refunds: u32,
    /// Σ given back by refunds (money and stored value).
    pub refunded: Money,
    /// Cash that should be in the drawer from the shift: cash tendered
    /// less cash refunded (the float and top-ups' payment are not counted).
    pub cash_expected: Money,
}

impl Default for ShiftFigures {
    fn default() -> Self {
        ShiftFigures {
            sales: 0,
            gross: Money::ZERO,
            discounts: Money::ZERO,
            net: Money::ZERO,
            tenders: ShiftTender::ALL
                .into_iter()
                .map(|tender| TenderTotal {
                    tender,
                    sales: Money::ZERO,
                    refunds: Money::ZERO,
                    net: Money::ZERO,
                })
                .collect(),
            change_given: Money::ZERO,
            points_issued: 0,
            points_redeemed: 0,
            points_returned: 0,
            points_reversed: 0,
            top_ups: 0,
            stored_value_in_principal: Money::ZERO,
            stored_value_in_bonus: Money::ZERO,
            stored_value_out: Money::ZERO,
            refunds: 0,
            refunded: Money::ZERO,
            cash_expected: Money::ZERO,
        }
    }
}

impl ShiftFigures {
    /// The line of `tender`.
    pub fn tender(&self, tender: ShiftTender) -> TenderTotal {
        self.tenders
            .iter()
            .find(|t| t.tender == tender)
            .copied()
            .unwrap_or(TenderTotal {
                tender,
                sales: Money::ZERO,
                refunds: Money::ZERO,
                net: Money::ZERO,
            })
    }

    /// Stored value in: principal and bonus.
    pub fn stored_value_in(&self) -> Money {
        self.stored_value_in_principal + self.stored_value_in_bonus
    }

    fn line(&mut self, tender: ShiftTender) -> Option<&mut TenderTotal> {
        self.tenders.get_mut(tender.index())
    }

    fn took(&mut self, tender: ShiftTender, amount: Money) {
        if let Some(line) = self.line(tender) {
            line.sales += amount;
            line.net += amount;
        }
    }

    fn gave_back(&mut self, tender: ShiftTender, amount: Money) {
        if let Some(line) = self.line(tender) {
            line.refunds += amount;
            line.net -= amount;
        }
    }

    /// Counts one action in. Sums saturate (Money's operators): the
    /// actions are the terminal's own, each within the protocol's bounds.
    pub fn add(&mut self, action: &ShiftAction) {
        match action {
            ShiftAction::Sale {
                gross,
                discounts,
                net,
                tenders,
                change,
                stored_value_used,
                points_value,
                points_redeemed,
                points_issued,
            } => {
                self.sales = self.sales.saturating_add(1);
                self.gross += *gross;
                self.discounts += *discounts;
                self.net += *net;
                for t in tenders {
                    self.took(t.kind.into(), t.amount);
                    if t.kind == TenderKind::Cash {
                        self.cash_expected += t.amount;
                    }
                }
                self.took(ShiftTender::StoredValue, *stored_value_used);
                self.took(ShiftTender::Points, *points_value);
                self.change_given += *change;
                self.stored_value_out += *stored_value_used;
                self.points_redeemed = self.points_redeemed.saturating_add(*points_redeemed);
                self.points_issued = self.points_issued.saturating_add(*points_issued);
            }
            ShiftAction::Refund {
                tenders,
                stored_value_back,
                points_returned,
                points_reversed,
            } => {
                self.refunds = self.refunds.saturating_add(1);
                for t in tenders {
                    self.gave_back(t.kind.into(), t.amount);
                    self.refunded += t.amount;
                    if t.kind == TenderKind::Cash {
                        self.cash_expected -= t.amount;
                    }
                }
                self.gave_back(ShiftTender::StoredValue, *stored_value_back);
                self.refunded += *stored_value_back;
                self.points_returned = self.points_returned.saturating_add(*points_returned);
                self.points_reversed = self.points_reversed.saturating_add(*points_reversed);
            }
            ShiftAction::TopUp { principal, bonus } => {
                self.top_ups = self.top_ups.saturating_add(1);
                self.stored_value_in_principal += *principal;
                self.stored_value_in_bonus += *bonus;
            }
            ShiftAction::GiftRedeemed { points } => {
                self.points_redeemed = self.points_redeemed.saturating_add(*points);
            }
            ShiftAction::PointsAdjusted { points } if *points >= 0 => {
                self.points_issued = self.points_issued.saturating_add(*points);
            }
            ShiftAction::PointsAdjusted { points } => {
                self.points_redeemed = self.points_redeemed.saturating_add(points.saturating_neg());
            }
        }
    }

    /// Checks every figure against the protocol's bounds (for head office,
    /// which reads reports from outside).
    pub fn check_bounds(&self, field: &str) -> Result<(), OutOfBounds> {
        for (name, amount) in [
            ("gross", self.gross),
            ("discounts", self.discounts),
            ("net", self.net),
            ("change_given", self.change_given),
            ("stored_value_in_principal", self.stored_value_in_principal),
            ("stored_value_in_bonus", self.stored_value_in_bonus),
            ("stored_value_out", self.stored_value_out),
            ("refunded", self.refunded),
            ("cash_expected", self.cash_expected),
        ] {
            limits::check_money(format_args!("{field}.{name}"), amount)?;
        }
        for (name, points) in [
            ("points_issued", self.points_issued),
            ("points_redeemed", self.points_redeemed),
            ("points_returned", self.points_returned),
            ("points_reversed", self.points_reversed),
        ] {
            limits::check_points_not_negative(format_args!("{field}.{name}"), points)?;
        }
        if self.tenders.len() > ShiftTender::ALL.len() {
            return Err(OutOfBounds {
                field: format!("{field}.tenders"),
                found: format!("{} lines", self.tenders.len()),
                bound: format!("at most {}", ShiftTender::ALL.len()),
            });
        }
        for (i, t) in self.tenders.iter().enumerate() {
            limits::check_money(format_args!("{field}.tenders[{i}].sales"), t.sales)?;
            limits::check_money(format_args!("{field}.tenders[{i}].refunds"), t.refunds)?;
            limits::check_money(format_args!("{field}.tenders[{i}].net"), t.net)?;
        }
        Ok(())
    }
}

/// One clerk's figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ClerkFigures {
    /// The clerk's id (as they log in; never a name).
    pub clerk: String,
    /// Their figures.
    pub figures: ShiftFigures,
}

/// The Z report of one shift of one terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ShiftReport {
    /// When the shift began: the previous close, or the first action
    /// counted; `None` for a shift with nothing in it and no close before.
    #[serde(default)]
    pub opened_at: Option<Timestamp>,
    /// When it was closed (or previewed).
    #[serde(with = "crate::timestamp")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::ids::Timestamp"))]
    pub closed_at: Timestamp,
    /// The terminal's outbox sequence numbers the shift covers, first and
    /// last (both 0 when it covers none).
    pub first_seq: u64,
    /// Last sequence number covered.
    pub last_seq: u64,
    /// The whole terminal.
    pub terminal: ShiftFigures,
    /// Each clerk who booked something, by clerk id.
    pub clerks: Vec<ClerkFigures>,
}

impl ShiftReport {
    /// Adds up the shift's actions, each with the clerk who booked it and
    /// its outbox sequence number.
    pub fn build<'a>(
        actions: impl IntoIterator<Item = (u64, &'a str, &'a ShiftAction)>,
        opened_at: Option<Timestamp>,
        closed_at: Timestamp,
    ) -> ShiftReport {
        let mut terminal = ShiftFigures::default();
        let mut clerks: Vec<ClerkFigures> = Vec::new();
        let (mut first_seq, mut last_seq) = (0u64, 0u64);
        for (seq, clerk, action) in actions {
            if first_seq == 0 || seq < first_seq {
                first_seq = seq;
            }
            last_seq = last_seq.max(seq);
            terminal.add(action);
            match clerks.iter_mut().find(|c| c.clerk == clerk) {
                Some(c) => c.figures.add(action),
                None => {
                    let mut figures = ShiftFigures::default();
                    figures.add(action);
                    clerks.push(ClerkFigures {
                        clerk: clerk.to_owned(),
                        figures,
                    });
                }
            }
        }
        clerks.sort_by(|a, b| a.clerk.cmp(&b.clerk));
        ShiftReport {
            opened_at,
            closed_at,
            first_seq,
            last_seq,
            terminal,
            clerks,
        }
    }

    /// Checks the report against the protocol's bounds: every figure, the
    /// clerks' count and ids, the moments.
    pub fn check_bounds(&self, field: &str) -> Result<(), OutOfBounds> {
        if let Some(at) = self.opened_at {
            limits::check_time(format_args!("{field}.opened_at"), at)?;
        }
        limits::check_time(format_args!("{field}.closed_at"), self.closed_at)?;
        for (name, seq) in [("first_seq", self.first_seq), ("last_seq", self.last_seq)] {
            limits::check_range(
                format_args!("{field}.{name}"),
                i64::try_from(seq).unwrap_or(i64::MAX),
                0,
                limits::MAX_POINTS,
            )?;
        }
        self.terminal.check_bounds(&format!("{field}.terminal"))?;
        limits::check_count(format_args!("{field}.clerks"), self.clerks.len())?;
        for (i, c) in self.clerks.iter().enumerate() {
            limits::check_short_text(format_args!("{field}.clerks[{i}].clerk"), &c.clerk)?;
            c.figures
                .check_bounds(&format!("{field}.clerks[{i}].figures"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fen(n: i64) -> Money {
        Money::from_fen(n)
    }

    fn tender(kind: TenderKind, n: i64) -> Tender {
        Tender {
            kind,
            amount: fen(n),
        }
    }

    fn at() -> Timestamp {
        crate::timestamp::parse("2026-12-07T18:00:00+08:00").unwrap()
    }

    /// A worked shift: two clerks, a split sale with cash change, a sale
    /// part stored value and points, a refund back to the first sale's
    /// tenders, a top-up, a gift and an adjustment.
    #[test]
    fn a_worked_shift_adds_up_per_clerk_and_for_the_terminal() {
        let split_sale = ShiftAction::Sale {
            gross: fen(10_000),
            discounts: fen(1_000),
            net: fen(9_000),
            tenders: vec![
                tender(TenderKind::WechatPay, 6_000),
                tender(TenderKind::Cash, 3_000),
            ],
            change: fen(2_000),
            stored_value_used: fen(0),
            points_value: fen(0),
            points_redeemed: 0,
            points_issued: 90,
        };
        let member_sale = ShiftAction::Sale {
            gross: fen(5_000),
            discounts: fen(0),
            net: fen(5_000),
            tenders: vec![tender(TenderKind::Alipay, 2_500)],
            change: fen(0),
            stored_value_used: fen(2_000),
            points_value: fen(500),
            points_redeemed: 50,
            points_issued: 45,
        };
        // A third of the split sale back: 2,000 WeChat, 1,000 cash.
        let refund = ShiftAction::Refund {
            tenders: vec![
                tender(TenderKind::WechatPay, 2_000),
                tender(TenderKind::Cash, 1_000),
            ],
            stored_value_back: fen(0),
            points_returned: 0,
            points_reversed: 30,
        };
        let top_up = ShiftAction::TopUp {
            principal: fen(50_000),
            bonus: fen(5_000),
        };
        let gift = ShiftAction::GiftRedeemed { points: 200 };
        let taken = ShiftAction::PointsAdjusted { points: -10 };
        let given = ShiftAction::PointsAdjusted { points: 15 };
        let actions = [
            (3, "c1", &split_sale),
            (4, "c2", &member_sale),
            (5, "m1", &refund),
            (6, "c2", &top_up),
            (7, "c1", &gift),
            (8, "m1", &taken),
            (9, "m1", &given),
        ];
        let report = ShiftReport::build(actions, None, at());
        assert_eq!((report.first_seq, report.last_seq), (3, 9));
        let t = &report.terminal;
        assert_eq!((t.sales, t.refunds, t.top_ups), (2, 1, 1));
        assert_eq!(
            (t.gross, t.discounts, t.net),
            (fen(15_000), fen(1_000), fen(14_000))
        );
        let line = |f: &ShiftFigures, tender| {
            let l = f.tender(tender);
            (l.sales.fen(), l.refunds.fen(), l.net.fen())
        };
        assert_eq!(line(t, ShiftTender::Cash), (3_000, 1_000, 2_000));
        assert_eq!(line(t, ShiftTender::WechatPay), (6_000, 2_000, 4_000));
        assert_eq!(line(t, ShiftTender::Alipay), (2_500, 0, 2_500));
        assert_eq!(line(t, ShiftTender::BankCard), (0, 0, 0));
        assert_eq!(line(t, ShiftTender::StoredValue), (2_000, 0, 2_000));
        assert_eq!(line(t, ShiftTender::Points), (500, 0, 500));
        // The tender lines' sales add up to the sales' net total.
        let taken_in: Money = t.tenders.iter().map(|l| l.sales).sum();
        assert_eq!(taken_in, t.net);
        assert_eq!(t.change_given, fen(2_000));
        assert_eq!(t.cash_expected, fen(2_000), "3,000 cash in, 1,000 back");
        assert_eq!(t.refunded, fen(3_000));
        assert_eq!(
            (t.points_issued, t.points_redeemed),
            (90 + 45 + 15, 50 + 200 + 10)
        );
        assert_eq!((t.points_returned, t.points_reversed), (0, 30));
        assert_eq!(t.stored_value_in(), fen(55_000));
        assert_eq!(t.stored_value_out, fen(2_000));
        // Per clerk, sorted by id.
        let clerks: Vec<&str> = report.clerks.iter().map(|c| c.clerk.as_str()).collect();
        assert_eq!(clerks, ["c1", "c2", "m1"]);
        let c1 = &report.clerks[0].figures;
        assert_eq!(
            (c1.sales, c1.net, c1.cash_expected),
            (1, fen(9_000), fen(3_000))
        );
        assert_eq!(c1.points_redeemed, 200);
        let c2 = &report.clerks[1].figures;
        assert_eq!(
            (c2.sales, c2.top_ups, c2.stored_value_in()),
            (1, 1, fen(55_000))
        );
        let m1 = &report.clerks[2].figures;
        assert_eq!((m1.refunds, m1.cash_expected), (1, fen(-1_000)));
        assert_eq!(line(m1, ShiftTender::WechatPay), (0, 2_000, -2_000));
        assert_eq!(report.check_bounds("report"), Ok(()));
    }

    #[test]
    fn an_empty_shift_has_every_tender_line_at_zero() {
        let report = ShiftReport::build([], None, at());
        assert_eq!((report.first_seq, report.last_seq), (0, 0));
        assert_eq!(report.terminal, ShiftFigures::default());
        assert_eq!(report.terminal.tenders.len(), 6);
        assert!(report.clerks.is_empty());
    }

    #[test]
    fn a_report_out_of_bounds_is_refused_by_name() {
        let mut report = ShiftReport::build([], None, at());
        report.terminal.tenders[0].sales = fen(i64::MAX);
        let error = report.check_bounds("report").unwrap_err();
        assert_eq!(error.field, "report.terminal.tenders[0].sales");
        let mut report = ShiftReport::build([], None, at());
        report.clerks.push(ClerkFigures {
            clerk: "c1".into(),
            figures: ShiftFigures {
                points_issued: -1,
                ..ShiftFigures::default()
            },
        });
        let error = report.check_bounds("report").unwrap_err();
        assert_eq!(error.field, "report.clerks[0].figures.points_issued");
    }

    #[test]
    fn a_sales_action_takes_its_figures_from_the_quote_and_payment() {
        let payment = Payment {
            tenders: vec![tender(TenderKind::Cash, 1_618)],
            cash_given: Some(fen(2_000)),
        };
        let action = ShiftAction::sale(&sample_quote(), &payment, &[]);
        let ShiftAction::Sale {
            change, tenders, ..
        } = &action
        else {
            panic!("{action:?}");
        };
        assert_eq!((*change, tenders.len()), (fen(382), 1));
        let json = serde_json::to_value(&action).unwrap();
        assert_eq!(json["type"], "sale");
        assert_eq!(serde_json::from_value::<ShiftAction>(json).unwrap(), action);
    }

    fn sample_quote() -> Quote {
        serde_json::from_value(serde_json::json!({
            "id": "01890a5d-ac96-774b-bcce-b302099a8057",
            "member": null, "at": "2026-12-07T10:00:00+08:00", "offline": false,
            "tier": null, "lines": [], "subtotal": 1618, "tier_discount": null,
            "member_day_discount": null, "coupon": null, "total": 1618,
            "points_redeemed": 0, "points_value": 0, "stored_value_principal": 0,
            "stored_value_bonus": 0, "amount_due": 1618,
            "earn": {"eligible_paid": 0, "base_points": 0, "tier_multiplier_milli": 1000,
                     "occasion": null, "occasion_multiplier_milli": 1000, "points": 0},
            "qualifying_spend": 1618, "refusals": []
        }))
        .unwrap()
    }
}
