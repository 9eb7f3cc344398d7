//! The return flow (issue 24): a return at any store of the chain from the
//! QR code on the sale's receipt (`TCR1:`, `tillcard_protocol::receipt`),
//! scanned with the camera or a keyboard wedge at a signed-in counter.
//!
//! The scan asks the store to verify the code
//! ([`Command::VerifyReceipt`]: its signature with the card keys this till
//! trusts, what this till returned of it before; the lines' catalog items
//! and the member as held here). A manager's approval is asked for next,
//! as for the manager screens ([`Page::Return`] is one: leaving it forgets
//! the approval), then the return screen shows the sale: each line with
//! what was sold and what is left to return here, the sale's store, till
//! and moment, its member and its tenders. The clerk picks quantities
//! (`Action::ReturnStep`) and confirms once
//! ([`Command::ReturnFromReceipt`] → `Store::refund_from_receipt`); the
//! screen then shows the money handed back per tender kind, and the refund
//! slip goes to the printer (the drawer opens when cash goes back; no
//! printer, nothing printed, nothing waits).
//!
//! Decisions:
//!
//! - **Verified before the PIN.** A forged, foreign or garbled code is
//!   refused in words (`counter::text::receipt_refused`) without calling a
//!   manager, and nothing changes: the screen, an open sale and any
//!   approval stay as they were. So is a receipt with nothing left to
//!   return here.
//! - **Nothing picked at first.** Money goes out only for what the clerk
//!   picks; a weighed line (its quantity is grams) is returned whole or
//!   not at all.
//! - **Sent once.** Confirm sends the lines once; the form takes no step
//!   until the store answers. The store checks again in its transaction
//!   (`StoreError::AlreadyReturned`), so a second return of the same lines
//!   at this till is refused even if the screen were stale.
//! - **Booked, then shown as booked.** The lines returned are no longer
//!   left on the screen at once (the store's row says the same at the next
//!   scan of the receipt). A receipt scanned while a sale is being
//!   committed or a return is on its way is refused until that is done.

use tillcard_rules::Money;
use tillcard_rules::tenders::TenderKind;

use crate::counter::forms::ReturnForm;
use crate::counter::messages::{Command, Page, ReturnDone, ScanBanner, ScannedReceipt, Sound};
use crate::counter::printed_receipt::printed_return;
use crate::counter::state::Counter;
use crate::counter::text;
use crate::scan::outcome::OutcomeKind;
use crate::store::StoreError;

impl Counter {
    /// A receipt's code scanned: the store verifies it; nothing else
    /// changes until it answers.
    pub(in crate::counter) fn scanned_receipt(&mut self, code: String) -> Vec<Command> {
        self.scans += 1;
        self.scan = Some(ScanBanner {
            kind: OutcomeKind::Receipt,
            serial: self.scans,
        });
        if self.clerk.is_none() {
            self.say(text::log_in_before_scanning(self.language), true);
            return vec![Command::Play(Sound::Bad)];
        }
        let busy = self.sale.committing
            || self
                .return_form
                .as_ref()
                .is_some_and(|f| f.sending.is_some());
        if busy {
            self.say(text::finish_screen_first(self.language), true);
            return vec![Command::Play(Sound::Bad)];
        }
        self.say(text::checking_receipt(self.language), false);
        vec![Command::VerifyReceipt(code)]
    }

    /// The store's verdict on a scanned receipt: refused in words, or
    /// nothing left to return, or the return screen (after the manager's
    /// PIN when no approval is active).
    pub(in crate::counter) fn done_receipt_verified(
        &mut self,
        result: Result<ScannedReceipt, StoreError>,
    ) -> Vec<Command> {
        if self.clerk.is_none() {
            // Locked meanwhile: the receipt is scanned again after sign-in.
            return Vec::new();
        }
        let form = match result {
            Ok(scanned) => ReturnForm::new(scanned),
            Err(e) => return self.say_error(&e),
        };
        if form.nothing_left() {
            self.say(text::nothing_left_to_return(self.language), true);
            return vec![Command::Play(Sound::Bad)];
        }
        self.return_form = Some(form);
        self.notice = None;
        let mut commands = vec![Command::Play(Sound::Good)];
        commands.extend(self.open_manager_page(Page::Return));
        commands
    }

    /// [`Action::ReturnStep`](crate::counter::Action::ReturnStep).
    pub(in crate::counter) fn tap_return_step(&mut self, line: usize, delta: i64) -> Vec<Command> {
        if let Some(form) = &mut self.return_form {
            form.step(line, delta);
        }
        Vec::new()
    }

    /// [`Action::ConfirmReturn`](crate::counter::Action::ConfirmReturn):
    /// the lines picked, sent once.
    pub(in crate::counter) fn tap_confirm_return(&mut self) -> Vec<Command> {
        let (Some(clerk), Some(approval), Some(form)) =
            (&self.clerk, &self.approval, &mut self.return_form)
        else {
            return Vec::new();
        };
        if form.sending.is_some() {
            return Vec::new();
        }
        let lines = form.lines();
        if lines.is_empty() {
            form.error = Some(text::pick_return_lines(self.language));
            return vec![Command::Play(Sound::Bad)];
        }
        form.error = None;
        form.sending = Some(lines.clone());
        vec![Command::ReturnFromReceipt {
            clerk: clerk.clone(),
            approval: approval.clone(),
            receipt: Box::new(form.scanned.receipt.clone()),
            lines,
        }]
    }

    /// A return booked: what to hand back on screen, the refund slip to
    /// the printer; or why not on the form (nothing booked).
    pub(in crate::counter) fn done_returned(
        &mut self,
        result: Result<ReturnDone, StoreError>,
    ) -> Vec<Command> {
        let language = self.language;
        let clerk = self
            .clerk
            .as_ref()
            .map(|k| k.name().to_owned())
            .unwrap_or_default();
        let Some(form) = &mut self.return_form else {
            return Vec::new();
        };
        let lines = form.sending.take().unwrap_or_default();
        match result {
            Ok(done) => {
                let slip = printed_return(form, &lines, &done, &clerk, language);
                let cash_back: Money = done
                    .refund
                    .money_back
                    .iter()
                    .filter(|t| t.kind == TenderKind::Cash)
                    .map(|t| t.amount)
                    .sum();
                form.booked(&lines);
                form.done = Some(done);
                self.say(text::return_booked(language), false);
                vec![
                    Command::Play(Sound::Confirm),
                    Command::Print {
                        receipt: Box::new(slip),
                        open_drawer: cash_back > Money::ZERO,
                    },
                ]
            }
            Err(e) => {
                form.error = Some(text::store_error(language, &e));
                vec![Command::Play(Sound::Bad)]
            }
        }
    }

    /// The store could not take the return: it can be confirmed again.
    pub(in crate::counter) fn return_store_failed(&mut self) {
        if let Some(form) = &mut self.return_form {
            form.sending = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use tillcard_protocol::receipt::{ReceiptError, ReceiptLine, ReceiptSummary};
    use tillcard_rules::refund::{RefundLine, RefundOutcome};
    use tillcard_rules::tenders::{Tender, TenderKind};
    use tillcard_rules::{Money, SourceId};
    use uuid::Uuid;

    use crate::counter::flows::testing::{approval, press, signed_in};
    use crate::counter::messages::{
        Action, Command, Done, Input, Page, ReturnDone, ScannedReceipt, Sound,
    };
    use crate::counter::state::Counter;
    use crate::scan::outcome::ScanOutcome;
    use crate::store::StoreError;
    use crate::store::returns::{ReceiptRefund, VerifiedReceipt};

    const CODE: &str = "TCR1:TEST";

    fn line(sku: &str, quantity: i64, yuan: i64) -> ReceiptLine {
        ReceiptLine {
            sku: sku.into(),
            quantity,
            net: Money::from_yuan(yuan),
            points: 0,
            points_value: Money::ZERO,
            stored_value_principal: Money::ZERO,
            stored_value_bonus: Money::ZERO,
            money: Money::from_yuan(yuan),
            earns: true,
            earn_rate_milli: 1000,
        }
    }

    /// Another till's sale of rice ×3 (¥30) and tea ×2 (¥20), paid ¥30
    /// cash and ¥20 by bank card; `returned_here` of it returned here.
    fn receipt(returned_here: [i64; 2]) -> ScannedReceipt {
        ScannedReceipt {
            receipt: VerifiedReceipt {
                summary: ReceiptSummary {
                    sale: SourceId(Uuid::from_u128(42)),
                    terminal: Uuid::from_u128(0xa1),
                    store: "store-1".into(),
                    key_id: 0x8001,
                    at_unix: 1_796_000_000,
                    utc_offset_s: 8 * 3600,
                    member: None,
                    coupon: None,
                    total: Money::from_yuan(50),
                    earn_eligible_paid: Money::from_yuan(50),
                    points_earned: 0,
                    redeemed: Vec::new(),
                    tenders: vec![
                        Tender {
                            kind: TenderKind::Cash,
                            amount: Money::from_yuan(30),
                        },
                        Tender {
                            kind: TenderKind::BankCard,
                            amount: Money::from_yuan(20),
                        },
                    ],
                    lines: vec![line("grocery-1", 3, 30), line("drinks-2", 2, 20)],
                },
                sold_here: false,
                returned_here: returned_here.to_vec(),
            },
            items: vec![None, None],
            member: None,
        }
    }

    /// Scans the receipt at a signed-in counter and answers the check
    /// with `scanned`: the commands the answer gave.
    fn scan(c: &mut Counter, t0: Instant, scanned: ScannedReceipt) -> Vec<Command> {
        let sent = c.handle(Input::Scanned(ScanOutcome::Receipt(CODE.into())), t0);
        assert_eq!(sent, vec![Command::VerifyReceipt(CODE.into())]);
        c.handle(Input::Done(Done::ReceiptVerified(Ok(scanned))), t0)
    }

    /// A counter on the return screen of [`receipt`] with the manager's
    /// approval.
    fn on_return_screen(returned_here: [i64; 2]) -> (Counter, Instant) {
        let (mut c, t0) = signed_in();
        scan(&mut c, t0, receipt(returned_here));
        press(&mut c, "738162", t0);
        c.handle(Input::Tap(Action::SubmitPin), t0);
        c.handle(Input::Done(Done::Approved(Ok(approval()))), t0);
        assert_eq!(c.page, Page::Return);
        (c, t0)
    }

    #[test]
    fn a_receipt_is_verified_then_the_manager_approves_then_the_return_screen_shows_it() {
        let (mut c, t0) = signed_in();
        let commands = scan(&mut c, t0, receipt([0, 0]));
        assert_eq!(commands, vec![Command::Play(Sound::Good)]);
        assert_eq!(c.page, Page::Home, "the manager's PIN first");
        assert_eq!(
            c.prompt.as_ref().and_then(|p| p.manager.as_deref()),
            Some("m1")
        );
        press(&mut c, "738162", t0);
        assert_eq!(
            c.handle(Input::Tap(Action::SubmitPin), t0),
            vec![Command::Approve {
                manager_id: "m1".into(),
                pin: "738162".into()
            }]
        );
        c.handle(Input::Done(Done::Approved(Ok(approval()))), t0);
        assert_eq!(c.page, Page::Return);
        let form = c.return_form.as_ref().unwrap();
        assert_eq!(form.quantities, vec![0, 0], "nothing picked at first");
        assert_eq!(form.left(), vec![3, 2]);
        assert_eq!(
            form.line_name(0, crate::format::Language::En),
            "Grocery",
            "a keyed line is named by its quick key"
        );
        let info =
            crate::counter::text::return_sale_info(crate::format::Language::En, &form.scanned);
        println!("return screen: {info:?}");
        assert!(info[0].contains("store-1") && info[0].contains("000000a1"));
        assert!(
            info.iter()
                .any(|l| l.contains("Cash ¥30.00") && l.contains("Bank card ¥20.00"))
        );
        // Leaving forgets the approval, as any manager screen.
        c.handle(Input::Tap(Action::Home), t0);
        assert!(c.approval.is_none());
    }

    #[test]
    fn with_an_approval_active_the_scan_opens_the_return_screen_at_once() {
        let (mut c, t0) = signed_in();
        c.handle(Input::Tap(Action::OpenManager), t0);
        press(&mut c, "738162", t0);
        c.handle(Input::Tap(Action::SubmitPin), t0);
        c.handle(Input::Done(Done::Approved(Ok(approval()))), t0);
        assert_eq!(c.page, Page::Manager);
        scan(&mut c, t0, receipt([0, 0]));
        assert_eq!(c.page, Page::Return);
        assert!(c.prompt.is_none());
    }

    #[test]
    fn quantities_stay_within_what_is_left_here() {
        let (mut c, t0) = on_return_screen([1, 0]);
        for _ in 0..5 {
            c.handle(Input::Tap(Action::ReturnStep(0, 1)), t0);
        }
        c.handle(Input::Tap(Action::ReturnStep(1, -1)), t0);
        c.handle(Input::Tap(Action::ReturnStep(7, 1)), t0);
        let form = c.return_form.as_ref().unwrap();
        assert_eq!(
            form.quantities,
            vec![2, 0],
            "3 sold, 1 returned here before"
        );
        assert_eq!(form.value(), Money::from_yuan(20));
        // A weighed line goes whole or not at all.
        let mut weighed = receipt([0, 0]);
        weighed.receipt.summary.lines[1].quantity = 1250;
        weighed.items[1] = Some(tillcard_rules::catalog::CatalogItem {
            sku: "F-001".into(),
            barcode: None,
            name_zh: "苹果".into(),
            name_en: "Apples".into(),
            category: "fresh".into(),
            price: Money::from_yuan(16),
            member_prices: Vec::new(),
            sold_by_weight: true,
            active: true,
        });
        let mut form = crate::counter::forms::ReturnForm::new(weighed);
        form.step(1, 1);
        assert_eq!(form.quantities[1], 1250);
        form.step(1, -1);
        assert_eq!(form.quantities[1], 0);
        assert_eq!(form.line_name(1, crate::format::Language::ZhCn), "苹果");
    }

    #[test]
    fn confirm_sends_once_and_the_booked_return_is_shown_printed_and_no_longer_left() {
        let (mut c, t0) = on_return_screen([0, 0]);
        assert_eq!(
            c.handle(Input::Tap(Action::ConfirmReturn), t0),
            vec![Command::Play(Sound::Bad)],
            "nothing picked"
        );
        assert!(c.return_form.as_ref().unwrap().error.is_some());
        c.handle(Input::Tap(Action::ReturnStep(0, 1)), t0);
        c.handle(Input::Tap(Action::ReturnStep(1, 1)), t0);
        let sent = c.handle(Input::Tap(Action::ConfirmReturn), t0);
        let lines = vec![
            RefundLine {
                line: 0,
                quantity: 1,
            },
            RefundLine {
                line: 1,
                quantity: 1,
            },
        ];
        match sent.as_slice() {
            [
                Command::ReturnFromReceipt {
                    lines: sent_lines,
                    receipt,
                    approval: a,
                    ..
                },
            ] => {
                assert_eq!(sent_lines, &lines);
                assert_eq!(receipt.summary.sale, SourceId(Uuid::from_u128(42)));
                assert_eq!(a.manager_id(), "m1");
            }
            other => panic!("{other:?}"),
        }
        assert!(
            c.handle(Input::Tap(Action::ConfirmReturn), t0).is_empty(),
            "once"
        );
        c.handle(Input::Tap(Action::ReturnStep(0, 1)), t0);
        assert_eq!(
            c.return_form.as_ref().unwrap().quantities,
            vec![1, 1],
            "no step while on its way"
        );
        // A scan meanwhile waits for it.
        assert_eq!(
            c.handle(Input::Scanned(ScanOutcome::Receipt(CODE.into())), t0),
            vec![Command::Play(Sound::Bad)]
        );

        let refund = ReceiptRefund {
            refund: SourceId(Uuid::from_u128(43)),
            seq: 7,
            outcome: RefundOutcome {
                entries: Vec::new(),
                money: Money::from_yuan(20),
                stored_value_principal: Money::ZERO,
                stored_value_bonus: Money::ZERO,
                points_returned: 0,
                points_reversed: 0,
                coupon_restored: false,
                flagged_negative: false,
                sale_fully_refunded: false,
            },
            money_back: vec![
                Tender {
                    kind: TenderKind::Cash,
                    amount: Money::from_yuan(12),
                },
                Tender {
                    kind: TenderKind::BankCard,
                    amount: Money::from_yuan(8),
                },
            ],
        };
        let done = ReturnDone {
            refund,
            at: tillcard_rules::Timestamp::parse_from_rfc3339("2026-12-01T09:15:00+08:00").unwrap(),
        };
        let commands = c.handle(Input::Done(Done::ReturnedFromReceipt(Ok(done))), t0);
        assert_eq!(commands[0], Command::Play(Sound::Confirm));
        let Command::Print {
            receipt: slip,
            open_drawer,
        } = &commands[1]
        else {
            panic!("{commands:?}");
        };
        assert!(*open_drawer, "cash goes back");
        assert_eq!(slip.title.as_deref(), Some("RETURN"));
        assert_eq!(slip.lines.len(), 2);
        assert_eq!(slip.lines[0].amount_text, "-¥10.00");
        let tenders: Vec<(&str, &str)> = slip
            .tenders
            .iter()
            .map(|r| (r.label.as_str(), r.amount.as_str()))
            .collect();
        assert_eq!(tenders, vec![("Cash", "¥12.00"), ("Bank card", "¥8.00")]);
        assert!(slip.qr_payload.is_none() && slip.member.is_none());
        let form = c.return_form.as_ref().unwrap();
        assert_eq!(form.left(), vec![2, 1], "returned: no longer left");
        assert_eq!(form.quantities, vec![0, 0]);
        assert!(form.sending.is_none() && form.done.is_some());
        assert!(c.notice.as_ref().is_some_and(|n| !n.bad));
        assert_eq!(c.page, Page::Return);
    }

    #[test]
    fn a_refusal_at_booking_stays_on_the_form_and_it_can_be_confirmed_again() {
        let (mut c, t0) = on_return_screen([0, 0]);
        c.handle(Input::Tap(Action::ReturnStep(0, 1)), t0);
        c.handle(Input::Tap(Action::ConfirmReturn), t0);
        c.handle(
            Input::Done(Done::ReturnedFromReceipt(Err(
                StoreError::AlreadyReturned { line: 0, left: 0 },
            ))),
            t0,
        );
        let form = c.return_form.as_ref().unwrap();
        let error = form.error.clone().unwrap();
        assert!(error.contains("already returned"), "{error}");
        assert!(form.sending.is_none());
        assert_eq!(form.quantities, vec![1, 0], "the pick stays");
        assert_eq!(c.handle(Input::Tap(Action::ConfirmReturn), t0).len(), 1);
        // The store's thread gone: confirm works again once it is back.
        c.handle(Input::Done(Done::Failed(StoreError::Closed)), t0);
        assert!(c.return_form.as_ref().unwrap().sending.is_none());
    }

    #[test]
    fn a_forged_or_foreign_receipt_is_refused_and_nothing_changes() {
        let (mut c, t0) = signed_in();
        c.handle(Input::Tap(Action::OpenCheckout), t0);
        press(&mut c, "12", t0);
        c.handle(Input::Tap(Action::QuickKey(0)), t0);
        for (error, words) in [
            (ReceiptError::BadSignature, "forged"),
            (
                ReceiptError::UnknownTill(9),
                "not printed by a till of this chain",
            ),
            (ReceiptError::Damaged, "scan it again"),
        ] {
            c.handle(Input::Scanned(ScanOutcome::Receipt(CODE.into())), t0);
            let commands = c.handle(
                Input::Done(Done::ReceiptVerified(Err(StoreError::Receipt(error)))),
                t0,
            );
            assert_eq!(commands, vec![Command::Play(Sound::Bad)]);
            let notice = c.notice.clone().unwrap();
            println!("refused: {}", notice.text);
            assert!(notice.bad && notice.text.contains(words), "{notice:?}");
            assert_eq!(c.page, Page::Checkout, "the sale stays on screen");
            assert_eq!(c.sale.lines.len(), 1);
            assert!(c.prompt.is_none() && c.return_form.is_none());
        }
        c.language = crate::format::Language::ZhCn;
        c.handle(
            Input::Done(Done::ReceiptVerified(Err(StoreError::Receipt(
                ReceiptError::BadSignature,
            )))),
            t0,
        );
        assert!(c.notice.as_ref().unwrap().text.contains("伪造"));
    }

    #[test]
    fn a_receipt_with_nothing_left_says_so_and_asks_no_manager() {
        let (mut c, t0) = signed_in();
        let commands = scan(&mut c, t0, receipt([3, 2]));
        assert_eq!(commands, vec![Command::Play(Sound::Bad)]);
        let notice = c.notice.clone().unwrap();
        assert!(
            notice.bad && notice.text.contains("nothing is left"),
            "{notice:?}"
        );
        assert!(c.prompt.is_none());
        assert_eq!(c.page, Page::Home);
    }

    #[test]
    fn a_receipt_scanned_while_locked_is_not_checked() {
        let (mut c, t0) = crate::counter::flows::testing::logged_in();
        assert_eq!(
            c.handle(Input::Scanned(ScanOutcome::Receipt(CODE.into())), t0),
            vec![Command::Play(Sound::Bad)]
        );
        assert_eq!(c.page, Page::Login);
    }
}
