//! The checkout flow: ringing up a sale on the counter. Lines keyed with
//! the quick keys, the member joining or leaving the sale, their choices
//! (coupon, points, stored value), every change repriced by the store
//! (an answer to an older request is dropped), the commit (once, however
//! often OK is tapped), the receipt screen and saving the receipt. The
//! sale itself and its pricing choices are `counter::checkout`; this flow
//! is what each tap and each answer does to it.

use crate::counter::checkout::{CouponChoice, Priced, QUICK_KEYS, Sale};
use crate::counter::flows::items::tier_code;
use crate::counter::member::MemberSnapshot;
use crate::counter::messages::{Command, Notice, Page, SaleDone, Sound};
use crate::counter::printed_receipt::printed_receipt;
use crate::counter::receipt::receipt_text;
use crate::counter::state::Counter;
use crate::counter::text::{self, pick};
use crate::format::Language;
use crate::store::StoreError;
use tillcard_rules::Money;
use tillcard_rules::tenders::{Tender, TenderKind};

impl Counter {
    /// Asks the store to price the sale as it now stands (nothing when
    /// there is nothing to price).
    pub(in crate::counter) fn reprice(&mut self) -> Vec<Command> {
        let offline = self.offline();
        match self.sale.ask(offline) {
            Some(ask) => vec![Command::Price(ask)],
            None => Vec::new(),
        }
    }

    /// The member joins the sale with the choices reset (best coupon, no
    /// points, no stored value).
    fn attach_to_sale(&mut self, member: MemberSnapshot) {
        let tier = tier_code(Some(&member));
        self.sale
            .retier(tier.as_deref(), self.language == Language::En);
        self.sale.member = Some(member);
        self.sale.coupon = CouponChoice::Best;
        self.sale.points = 0;
        self.sale.use_stored_value = false;
    }

    /// A member scanned on the checkout screen joins the sale.
    pub(in crate::counter) fn member_joins_sale(&mut self, member: MemberSnapshot) -> Vec<Command> {
        self.attach_to_sale(member);
        self.reprice()
    }

    /// [`Action::OpenCheckout`](crate::counter::Action::OpenCheckout).
    pub(in crate::counter) fn tap_open_checkout(&mut self) -> Vec<Command> {
        self.go(Page::Checkout);
        Vec::new()
    }

    /// [`Action::MemberCheckout`](crate::counter::Action::MemberCheckout):
    /// a sale for the member on screen.
    pub(in crate::counter) fn tap_member_checkout(&mut self) -> Vec<Command> {
        if let Some(member) = self.member.clone() {
            self.attach_to_sale(member);
        }
        self.go(Page::Checkout);
        self.reprice()
    }

    /// [`Action::QuickKey`](crate::counter::Action::QuickKey): the keyed
    /// amount as a line of quick key `n`.
    pub(in crate::counter) fn tap_quick_key(&mut self, n: usize) -> Vec<Command> {
        let Some(key) = QUICK_KEYS.get(n) else {
            return Vec::new();
        };
        let label = pick(self.language, key.zh, key.en);
        if !self.sale.add_keyed_line(key, &label) {
            self.say(text::amount_before_category(self.language), true);
            return Vec::new();
        }
        self.notice = None;
        self.reprice()
    }

    /// [`Action::RemoveLine`](crate::counter::Action::RemoveLine).
    pub(in crate::counter) fn tap_remove_line(&mut self, n: usize) -> Vec<Command> {
        self.sale.remove_line(n);
        self.reprice()
    }

    /// [`Action::ToggleCoupon`](crate::counter::Action::ToggleCoupon): the
    /// applied coupon comes off; any other is chosen.
    pub(in crate::counter) fn tap_toggle_coupon(&mut self, n: usize) -> Vec<Command> {
        let Some(member) = &self.sale.member else {
            return Vec::new();
        };
        let usable: Vec<_> = member.account.usable_coupons(member.at).cloned().collect();
        let Some(coupon) = usable.get(n) else {
            return Vec::new();
        };
        let applied = self
            .sale
            .quote()
            .and_then(|q| q.coupon.as_ref())
            .map(|c| c.coupon);
        self.sale.coupon = if applied == Some(coupon.id) {
            CouponChoice::None
        } else {
            CouponChoice::Chosen(coupon.id)
        };
        self.reprice()
    }

    /// [`Action::SetPoints`](crate::counter::Action::SetPoints): the
    /// slider's points, snapped to the program's step.
    pub(in crate::counter) fn tap_set_points(&mut self, points: i64) -> Vec<Command> {
        let step = self.sale.priced.as_ref().map_or(100, |p| p.points_step);
        let snapped = (points.max(0) + step / 2) / step * step;
        if snapped == self.sale.points {
            return Vec::new();
        }
        self.sale.points = snapped;
        self.reprice()
    }

    /// [`Action::MaxPoints`](crate::counter::Action::MaxPoints).
    pub(in crate::counter) fn tap_max_points(&mut self) -> Vec<Command> {
        self.sale.points = self.sale.priced.as_ref().map_or(0, |p| p.max_points);
        self.reprice()
    }

    /// [`Action::ToggleStoredValue`](crate::counter::Action::ToggleStoredValue).
    pub(in crate::counter) fn tap_toggle_stored_value(&mut self) -> Vec<Command> {
        self.sale.use_stored_value = !self.sale.use_stored_value;
        self.reprice()
    }

    /// [`Action::DetachMember`](crate::counter::Action::DetachMember).
    pub(in crate::counter) fn tap_detach_member(&mut self) -> Vec<Command> {
        self.sale.member = None;
        self.sale.retier(None, self.language == Language::En);
        self.sale.coupon = CouponChoice::Best;
        self.sale.points = 0;
        self.sale.use_stored_value = false;
        self.reprice()
    }

    /// [`Action::ConfirmSale`](crate::counter::Action::ConfirmSale): commits
    /// the quote shown, once.
    /// What is still due after the tenders taken is paid in cash, given
    /// exactly (the tenders row pays it otherwise).
    pub(in crate::counter) fn tap_confirm_sale(&mut self) -> Vec<Command> {
        let Some(rest) = self.sale.rest_due() else {
            self.say(text::ring_up_first(self.language), true);
            return Vec::new();
        };
        if rest > Money::ZERO {
            if self.sale.cash_given.is_some() {
                self.say(text::cash_once(self.language), true);
                return vec![Command::Play(Sound::Bad)];
            }
            self.sale.tenders.push(Tender {
                kind: TenderKind::Cash,
                amount: rest,
            });
            self.sale.cash_given = Some(rest);
        }
        self.commit_sale()
    }

    /// Commits the quote shown with the tenders taken, once.
    pub(in crate::counter) fn commit_sale(&mut self) -> Vec<Command> {
        let (Some(clerk), Some(quote)) = (self.clerk.clone(), self.sale.quote().cloned()) else {
            self.say(text::ring_up_first(self.language), true);
            return Vec::new();
        };
        if self.sale.committing {
            return Vec::new();
        }
        self.sale.committing = true;
        vec![Command::CommitSale {
            clerk,
            quote: Box::new(quote),
            payment: self.sale.payment(),
        }]
    }

    /// [`Action::CancelSale`](crate::counter::Action::CancelSale).
    pub(in crate::counter) fn tap_cancel_sale(&mut self) -> Vec<Command> {
        self.sale = Sale::default();
        self.go(Page::Home);
        Vec::new()
    }

    /// [`Action::PrintReceipt`](crate::counter::Action::PrintReceipt):
    /// the receipt on screen saved, and printed again marked as a reprint
    /// (made from the sale, not the printer's last job: a refund slip may
    /// have been printed since), with no drawer kick.
    pub(in crate::counter) fn tap_print_receipt(&mut self) -> Vec<Command> {
        let Some(done) = &self.last_sale else {
            return Vec::new();
        };
        let clerk = self.clerk.as_ref().map(|k| k.name().to_owned());
        let payment = self.last_payment.clone().unwrap_or_default();
        let mut receipt = printed_receipt(
            done,
            &payment,
            clerk.as_deref().unwrap_or(""),
            self.language,
        );
        receipt.reprint = true;
        vec![
            Command::SaveReceipt {
                sale: done.receipt.sale,
                text: receipt_text(done, self.language),
            },
            Command::Print {
                receipt: Box::new(receipt),
                open_drawer: false,
            },
        ]
    }

    /// A price answer; one to an older request than the last is dropped.
    pub(in crate::counter) fn done_priced(
        &mut self,
        request: u64,
        result: Result<Priced, StoreError>,
    ) -> Vec<Command> {
        if request != self.sale.request {
            return Vec::new();
        }
        match result {
            Ok(priced) => {
                self.sale.points = priced.quote.points_redeemed;
                self.sale.priced = Some(priced);
                self.sale.error = None;
            }
            Err(e) => {
                self.sale.priced = None;
                self.sale.error = Some(text::store_error(self.language, &e));
            }
        }
        Vec::new()
    }

    /// The sale committed (the receipt screen), or refused (said, and
    /// priced again).
    pub(in crate::counter) fn done_sale_committed(
        &mut self,
        result: Result<SaleDone, StoreError>,
    ) -> Vec<Command> {
        match result {
            Ok(sale) => {
                let clerk = self.clerk.as_ref().map(|k| k.name().to_owned());
                let payment = self.sale.payment();
                let receipt = printed_receipt(
                    &sale,
                    &payment,
                    clerk.as_deref().unwrap_or(""),
                    self.language,
                );
                // Cash went into the drawer: it opens.
                let open_drawer = payment.cash() > Money::ZERO;
                self.last_payment = Some(payment);
                self.last_sale = Some(sale);
                self.receipt_saved = None;
                self.sale = Sale::default();
                self.go(Page::Receipt);
                vec![
                    Command::Play(Sound::Confirm),
                    Command::Print {
                        receipt: Box::new(receipt),
                        open_drawer,
                    },
                ]
            }
            Err(e) => {
                self.sale.committing = false;
                let commands = self.say_error(&e);
                let offline = self.offline();
                match self.sale.ask(offline) {
                    Some(ask) => [commands, vec![Command::Price(ask)]].concat(),
                    None => commands,
                }
            }
        }
    }

    /// The receipt saved (where), or why not.
    pub(in crate::counter) fn done_receipt_saved(
        &mut self,
        result: Result<std::path::PathBuf, String>,
    ) -> Vec<Command> {
        match result {
            Ok(path) => {
                self.receipt_saved = Some(path.display().to_string());
            }
            Err(why) => {
                self.notice = Some(Notice {
                    text: why,
                    bad: true,
                });
            }
        }
        Vec::new()
    }

    /// The store could not take the commit: the sale can be confirmed again.
    pub(in crate::counter) fn checkout_store_failed(&mut self) {
        self.sale.committing = false;
    }

    /// The amount of money still due on the sale.
    pub fn amount_due(&self) -> Option<Money> {
        self.sale.quote().map(|q| q.amount_due)
    }
}

#[cfg(test)]
mod tests {
    use crate::counter::flows::testing::{press, signed_in};
    use crate::counter::messages::{Action, Command, Done, Input};
    use crate::store::StoreError;

    #[test]
    fn an_answer_to_an_older_price_request_is_dropped() {
        let (mut c, t0) = signed_in();
        c.handle(Input::Tap(Action::OpenCheckout), t0);
        press(&mut c, "10", t0);
        let first = c.handle(Input::Tap(Action::QuickKey(0)), t0);
        press(&mut c, "20", t0);
        let second = c.handle(Input::Tap(Action::QuickKey(1)), t0);
        let (Some(Command::Price(a)), Some(Command::Price(b))) = (first.first(), second.first())
        else {
            panic!("each line reprices: {first:?} {second:?}");
        };
        assert!(b.request > a.request);
        assert_eq!(b.basket.lines.len(), 2);
        c.handle(
            Input::Done(Done::Priced(a.request, Err(StoreError::UnknownMember))),
            t0,
        );
        assert!(c.sale.error.is_none(), "the stale answer was ignored");
    }

    #[test]
    fn confirming_twice_commits_once() {
        let (mut c, t0) = signed_in();
        assert!(
            c.handle(Input::Tap(Action::ConfirmSale), t0).is_empty(),
            "nothing rung up"
        );
    }
}
