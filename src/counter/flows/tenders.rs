//! Tenders at the checkout (issue 24): how the money part of a sale is
//! paid, recorded, not taken (the store's card terminal or the customer's
//! phone takes it). The clerk keys an amount and taps a tender, as at any
//! till: cash keyed beyond what is due is the cash handed over, and the
//! change shows; a bank card, WeChat Pay or Alipay keyed below what is due
//! is part of a split payment, the rest paid by the next tender; a tender
//! tapped with nothing keyed pays the rest. When the tenders pay the
//! amount due exactly the sale commits with them. Any change to the sale
//! (a line, the member, points) prices it again and drops the tenders
//! taken for the old amount.

use tillcard_rules::Money;
use tillcard_rules::tenders::{Tender, TenderKind};

use crate::counter::messages::{Command, Sound};
use crate::counter::state::Counter;
use crate::counter::text;

impl Counter {
    /// [`Action::Tender`](crate::counter::Action::Tender).
    pub(in crate::counter) fn tap_tender(&mut self, n: usize) -> Vec<Command> {
        let Some(kind) = TenderKind::ALL.get(n).copied() else {
            return Vec::new();
        };
        let Some(rest) = self.sale.rest_due() else {
            self.say(text::ring_up_first(self.language), true);
            return vec![Command::Play(Sound::Bad)];
        };
        if self.sale.committing {
            return Vec::new();
        }
        let keyed = self.sale.entry.amount().filter(|m| *m > Money::ZERO);
        let refuse = |c: &mut Counter, words: String| {
            c.say(words, true);
            vec![Command::Play(Sound::Bad)]
        };
        match kind {
            TenderKind::Cash => {
                if self.sale.cash_given.is_some() {
                    return refuse(self, text::cash_once(self.language));
                }
                let given = keyed.unwrap_or(rest);
                let share = if given < rest { given } else { rest };
                if share > Money::ZERO {
                    self.sale.tenders.push(Tender {
                        kind,
                        amount: share,
                    });
                    self.sale.cash_given = Some(given);
                }
            }
            _ => {
                let amount = keyed.unwrap_or(rest);
                if amount > rest {
                    return refuse(self, text::tender_beyond_due(self.language));
                }
                if amount > Money::ZERO {
                    self.sale.tenders.push(Tender { kind, amount });
                }
            }
        }
        self.sale.entry.clear();
        self.notice = None;
        if self.sale.rest_due() == Some(Money::ZERO) {
            return self.commit_sale();
        }
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use tillcard_rules::tenders::{Tender, TenderKind};
    use tillcard_rules::{Money, SourceId};

    use crate::counter::checkout::Priced;
    use crate::counter::flows::testing::{press, signed_in};
    use crate::counter::messages::{Action, Command, Done, Input};

    /// A counter with a sale of `due` fen priced and shown.
    fn priced(due: i64) -> (crate::counter::state::Counter, std::time::Instant) {
        let (mut c, t0) = signed_in();
        c.handle(Input::Tap(Action::OpenCheckout), t0);
        press(&mut c, &format!("{}", due / 100), t0);
        let commands = c.handle(Input::Tap(Action::QuickKey(0)), t0);
        let Some(Command::Price(ask)) = commands.first() else {
            panic!("{commands:?}");
        };
        let program = tillcard_rules::Program::default();
        let quote = tillcard_rules::pricing::price(&tillcard_rules::PricingRequest {
            quote_id: SourceId(uuid::Uuid::from_u128(5)),
            program: &program,
            basket: &ask.basket,
            shopper: None,
            context: tillcard_rules::Context {
                now: chrono::DateTime::UNIX_EPOCH.fixed_offset() + chrono::Duration::days(20_000),
                offline: false,
                offline_allowance_left: Money::ZERO,
            },
            tender: &tillcard_rules::TenderRequest::default(),
        })
        .unwrap();
        c.handle(
            Input::Done(Done::Priced(
                ask.request,
                Ok(Priced {
                    quote,
                    max_points: 0,
                    points_step: 100,
                }),
            )),
            t0,
        );
        (c, t0)
    }

    fn committed(commands: &[Command]) -> Option<&tillcard_rules::tenders::Payment> {
        commands.iter().find_map(|c| match c {
            Command::CommitSale { payment, .. } => Some(payment),
            _ => None,
        })
    }

    #[test]
    fn cash_keyed_beyond_the_amount_due_commits_with_the_change() {
        let (mut c, t0) = priced(8_800);
        press(&mut c, "100", t0);
        let commands = c.handle(Input::Tap(Action::Tender(0)), t0);
        let payment = committed(&commands).expect("paid: committed");
        assert_eq!(
            payment.tenders,
            vec![Tender {
                kind: TenderKind::Cash,
                amount: Money::from_fen(8_800)
            }]
        );
        assert_eq!(payment.cash_given, Some(Money::from_fen(10_000)));
        assert_eq!(payment.change(), Money::from_fen(1_200));
    }

    #[test]
    fn a_split_payment_commits_when_the_last_tender_pays_the_rest() {
        let (mut c, t0) = priced(8_800);
        press(&mut c, "50", t0);
        assert!(committed(&c.handle(Input::Tap(Action::Tender(2)), t0)).is_none());
        assert_eq!(c.sale.rest_due(), Some(Money::from_fen(3_800)));
        // More than the rest on WeChat is refused; cash beyond it is change.
        press(&mut c, "40", t0);
        assert!(committed(&c.handle(Input::Tap(Action::Tender(3)), t0)).is_none());
        assert!(c.notice.as_ref().is_some_and(|n| n.bad));
        assert_eq!(c.sale.tenders.len(), 1, "the refused tender is not taken");
        c.sale.entry.clear();
        let payment = committed(&c.handle(Input::Tap(Action::Tender(1)), t0))
            .cloned()
            .expect("the bank card pays the rest");
        assert_eq!(
            payment.tenders,
            vec![
                Tender {
                    kind: TenderKind::WechatPay,
                    amount: Money::from_fen(5_000)
                },
                Tender {
                    kind: TenderKind::BankCard,
                    amount: Money::from_fen(3_800)
                },
            ]
        );
        assert_eq!(payment.check(Money::from_fen(8_800)), Ok(()));
    }

    #[test]
    fn a_change_to_the_sale_drops_the_tenders_taken() {
        let (mut c, t0) = priced(8_800);
        press(&mut c, "20", t0);
        c.handle(Input::Tap(Action::Tender(0)), t0);
        assert_eq!(c.sale.tenders.len(), 1);
        press(&mut c, "5", t0);
        c.handle(Input::Tap(Action::QuickKey(1)), t0);
        assert!(c.sale.tenders.is_empty() && c.sale.cash_given.is_none());
    }
}
