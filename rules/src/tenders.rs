//! How the money part of a sale was paid (issue 24): cash, bank card,
//! WeChat Pay, Alipay, one or several. Tillcard records the tender; it does
//! not take payments. Stored value and points are not tenders here: the
//! quote already books them (`Quote::stored_value_*`, `points_value`), and
//! what is left, `Quote::amount_due`, is what the tenders must cover.
//!
//! Cash may be given beyond its share: the change is handed back and only
//! the share is recorded as tendered. A refund hands money back to the
//! sale's own tender kinds ([`refund_to_tenders`]).

use serde::{Deserialize, Serialize};

use crate::limits::{self, OutOfBounds};
use crate::money::{Money, allocate_money};

/// The most tenders one sale is split over.
pub const MAX_TENDERS: usize = 8;

/// A way of paying money at the counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum TenderKind {
    /// Cash (现金): may be given beyond its share; change is handed back.
    Cash,
    /// A bank card (银行卡) through the store's card terminal.
    BankCard,
    /// WeChat Pay (微信支付).
    WechatPay,
    /// Alipay (支付宝).
    Alipay,
}

impl TenderKind {
    /// Every kind, in the order the counter offers them.
    pub const ALL: [TenderKind; 4] = [
        TenderKind::Cash,
        TenderKind::BankCard,
        TenderKind::WechatPay,
        TenderKind::Alipay,
    ];

    /// The kind as written on the wire and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            TenderKind::Cash => "cash",
            TenderKind::BankCard => "bank_card",
            TenderKind::WechatPay => "wechat_pay",
            TenderKind::Alipay => "alipay",
        }
    }

    /// The kind's name in zh-CN and en.
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            TenderKind::Cash => ("现金", "Cash"),
            TenderKind::BankCard => ("银行卡", "Bank card"),
            TenderKind::WechatPay => ("微信支付", "WeChat Pay"),
            TenderKind::Alipay => ("支付宝", "Alipay"),
        }
    }
}

/// One tender of a sale: a kind and the amount it paid (never more than
/// its share of the amount due; cash given beyond it is change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Tender {
    /// How.
    pub kind: TenderKind,
    /// How much of the amount due, in fen (positive).
    pub amount: Money,
}

/// The tenders of a sale as the clerk entered them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Payment {
    /// The tenders, in the order taken; their amounts add up to the amount
    /// due.
    pub tenders: Vec<Tender>,
    /// Cash the customer handed over, when there is a cash tender (at
    /// least its amount; the rest is change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cash_given: Option<Money>,
}

/// Why tenders do not pay a sale.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenderError {
    /// An amount or count outside its bounds.
    #[error(transparent)]
    OutOfBounds(#[from] OutOfBounds),
    /// The tenders add up to another amount than the amount due.
    #[error("the tenders pay {paid}; {due} is due")]
    WrongTotal {
        /// What the tenders add up to.
        paid: Money,
        /// The amount due.
        due: Money,
    },
    /// A tender of zero or less.
    #[error("a tender of {0} pays nothing")]
    NotPositive(Money),
    /// Cash given below the cash tendered, or given with no cash tender.
    #[error("the cash given does not cover the cash tendered")]
    CashShort,
    /// More than one cash tender (one drawer, one count).
    #[error("cash is one tender")]
    CashTwice,
}

impl Payment {
    /// One tender of `kind` for the whole `due`, cash given exactly.
    pub fn single(kind: TenderKind, due: Money) -> Payment {
        Payment {
            tenders: if due > Money::ZERO {
                vec![Tender { kind, amount: due }]
            } else {
                Vec::new()
            },
            cash_given: (kind == TenderKind::Cash && due > Money::ZERO).then_some(due),
        }
    }

    /// The cash tendered (zero without a cash tender).
    pub fn cash(&self) -> Money {
        self.tenders
            .iter()
            .filter(|t| t.kind == TenderKind::Cash)
            .map(|t| t.amount)
            .sum()
    }

    /// The change handed back: cash given beyond the cash tendered.
    pub fn change(&self) -> Money {
        self.cash_given.map_or(Money::ZERO, |given| {
            (given - self.cash()).clamp_non_negative()
        })
    }

    /// Checks that the tenders pay exactly `due`, each positive and in
    /// bounds, cash at most once and covered by the cash given.
    pub fn check(&self, due: Money) -> Result<(), TenderError> {
        limits::check_count("tenders", self.tenders.len())?;
        if self.tenders.len() > MAX_TENDERS {
            return Err(OutOfBounds {
                field: "tenders".into(),
                found: self.tenders.len().to_string(),
                bound: format!("at most {MAX_TENDERS}"),
            }
            .into());
        }
        let mut paid = Money::ZERO;
        for (i, t) in self.tenders.iter().enumerate() {
            limits::check_money(format_args!("tenders[{i}].amount"), t.amount)?;
            if t.amount <= Money::ZERO {
                return Err(TenderError::NotPositive(t.amount));
            }
            paid += t.amount;
        }
        if self
            .tenders
            .iter()
            .filter(|t| t.kind == TenderKind::Cash)
            .count()
            > 1
        {
            return Err(TenderError::CashTwice);
        }
        if paid != due {
            return Err(TenderError::WrongTotal { paid, due });
        }
        match self.cash_given {
            Some(given) => {
                limits::check_money_not_negative("cash_given", given)?;
                if self.cash() == Money::ZERO || given < self.cash() {
                    return Err(TenderError::CashShort);
                }
            }
            None if self.cash() > Money::ZERO => return Err(TenderError::CashShort),
            None => {}
        }
        Ok(())
    }
}

/// The money a refund hands back, over the sale's own tenders: in
/// proportion to what each paid, rounded by largest remainder (so the
/// parts add up to `money` exactly), never more to a tender than it paid.
/// A refund of more than the tenders paid gives the rest back in cash
/// (the sale paid nothing in money, say, or amounts from before tenders).
pub fn refund_to_tenders(sale: &[Tender], money: Money) -> Vec<Tender> {
    if money <= Money::ZERO {
        return Vec::new();
    }
    let paid: Money = sale.iter().map(|t| t.amount).sum();
    let covered = if money < paid { money } else { paid };
    let weights: Vec<Money> = sale.iter().map(|t| t.amount).collect();
    let mut back: Vec<Tender> = if covered > Money::ZERO {
        allocate_money(covered, &weights)
            .into_iter()
            .zip(sale)
            .filter(|(amount, _)| *amount > Money::ZERO)
            .map(|(amount, t)| Tender {
                kind: t.kind,
                amount,
            })
            .collect()
    } else {
        Vec::new()
    };
    let rest = money - covered;
    if rest > Money::ZERO {
        match back.iter_mut().find(|t| t.kind == TenderKind::Cash) {
            Some(cash) => cash.amount += rest,
            None => back.push(Tender {
                kind: TenderKind::Cash,
                amount: rest,
            }),
        }
    }
    back
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

    #[test]
    fn cash_with_change_and_split_tenders_pay_exactly_the_amount_due() {
        let split = Payment {
            tenders: vec![
                tender(TenderKind::WechatPay, 5_000),
                tender(TenderKind::Cash, 3_382),
            ],
            cash_given: Some(fen(5_000)),
        };
        assert_eq!(split.check(fen(8_382)), Ok(()));
        assert_eq!(split.change(), fen(1_618));
        assert_eq!(
            split.check(fen(8_383)),
            Err(TenderError::WrongTotal {
                paid: fen(8_382),
                due: fen(8_383)
            })
        );
        let short = Payment {
            cash_given: Some(fen(3_000)),
            ..split.clone()
        };
        assert_eq!(short.check(fen(8_382)), Err(TenderError::CashShort));
        let single = Payment::single(TenderKind::Alipay, fen(100));
        assert_eq!((single.check(fen(100)), single.change()), (Ok(()), fen(0)));
        // A sale paid entirely with stored value or points has no tender.
        assert_eq!(
            Payment::single(TenderKind::Cash, fen(0)).check(fen(0)),
            Ok(())
        );
    }

    #[test]
    fn refused_tenders() {
        let twice = Payment {
            tenders: vec![tender(TenderKind::Cash, 50), tender(TenderKind::Cash, 50)],
            cash_given: Some(fen(100)),
        };
        assert_eq!(twice.check(fen(100)), Err(TenderError::CashTwice));
        let zero = Payment {
            tenders: vec![
                tender(TenderKind::BankCard, 0),
                tender(TenderKind::Alipay, 100),
            ],
            cash_given: None,
        };
        assert_eq!(zero.check(fen(100)), Err(TenderError::NotPositive(fen(0))));
        let no_cash_given = Payment {
            tenders: vec![tender(TenderKind::Cash, 100)],
            cash_given: None,
        };
        assert_eq!(no_cash_given.check(fen(100)), Err(TenderError::CashShort));
        let huge = Payment {
            tenders: vec![tender(TenderKind::BankCard, i64::MAX)],
            cash_given: None,
        };
        assert!(matches!(
            huge.check(fen(i64::MAX)),
            Err(TenderError::OutOfBounds(_))
        ));
    }

    #[test]
    fn a_refund_goes_back_to_the_sales_own_tenders_in_proportion() {
        let sale = [
            tender(TenderKind::WechatPay, 6_000),
            tender(TenderKind::Cash, 3_000),
            tender(TenderKind::BankCard, 1_000),
        ];
        // Half back: half to each.
        assert_eq!(
            refund_to_tenders(&sale, fen(5_000)),
            vec![
                tender(TenderKind::WechatPay, 3_000),
                tender(TenderKind::Cash, 1_500),
                tender(TenderKind::BankCard, 500),
            ]
        );
        // Every fen is placed: 1 fen goes to the largest share.
        assert_eq!(
            refund_to_tenders(&sale, fen(1)),
            vec![tender(TenderKind::WechatPay, 1)]
        );
        // All of it back: exactly what each paid.
        assert_eq!(refund_to_tenders(&sale, fen(10_000)), sale.to_vec());
        // A sale paid with no money tender refunds in cash.
        assert_eq!(
            refund_to_tenders(&[], fen(700)),
            vec![tender(TenderKind::Cash, 700)]
        );
        assert!(refund_to_tenders(&sale, fen(0)).is_empty());
    }

    #[test]
    fn kinds_are_snake_case_on_the_wire() {
        for kind in TenderKind::ALL {
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::String(kind.as_str().into())
            );
        }
    }
}
