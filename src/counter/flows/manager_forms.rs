//! The manager forms flow: what a manager does behind their PIN to a
//! member's balances and to past sales. Stored-value top-up (a package or
//! a keyed amount), refunds (pick a recent sale, step each line's
//! quantity), points adjustment (sign, points, reason). It also opens every
//! manager screen once the session flow has the approval
//! (`Counter::enter_manager_page`). The forms' fields are
//! `counter::forms`; this flow is what each tap and answer do to them.

use tillcard_rules::SourceId;
use tillcard_rules::booking::TopUp;
use tillcard_rules::pricing::Quote;

use crate::counter::forms::{ADJUST_REASONS, AdjustForm, RefundForm, TopUpForm};
use crate::counter::member::MemberSnapshot;
use crate::counter::messages::{Command, Page, Sound};
use crate::counter::state::Counter;
use crate::counter::text;
use crate::store::StoreError;
use crate::store::actions::{RefundReceipt, SaleSummary};

impl Counter {
    /// A manager screen, approval in hand: each form starts fresh; top-up
    /// and adjustment need a member on screen, refunds load recent sales.
    pub(in crate::counter) fn enter_manager_page(&mut self, page: Page) -> Vec<Command> {
        let member = self.member.as_ref().map(MemberSnapshot::id);
        match page {
            Page::TopUp | Page::Adjust if member.is_none() => {
                self.go(Page::Home);
                self.say(text::find_the_member_first(self.language), true);
                Vec::new()
            }
            Page::TopUp => {
                self.top_up = member.map(TopUpForm::new);
                self.go(page);
                Vec::new()
            }
            Page::Adjust => {
                self.adjust = member.map(AdjustForm::new);
                self.go(page);
                Vec::new()
            }
            // A return opens on a verified receipt only (`flows::returns`).
            Page::Return if self.return_form.is_none() => {
                self.go(Page::Home);
                Vec::new()
            }
            Page::Refund => {
                self.refund = RefundForm::default();
                self.refunded = None;
                self.go(page);
                vec![Command::LoadSales]
            }
            Page::ShiftClose => self.enter_shift_close(),
            _ => {
                self.go(page);
                Vec::new()
            }
        }
    }

    /// [`Action::SelectPackage`](crate::counter::Action::SelectPackage):
    /// a package instead of a keyed amount.
    pub(in crate::counter) fn tap_select_package(&mut self, n: usize) -> Vec<Command> {
        if let Some(form) = &mut self.top_up {
            form.package = Some(n);
            form.amount.clear();
        }
        Vec::new()
    }

    /// [`Action::ConfirmTopUp`](crate::counter::Action::ConfirmTopUp).
    pub(in crate::counter) fn tap_confirm_top_up(&mut self) -> Vec<Command> {
        let (Some(clerk), Some(form)) = (&self.clerk, &mut self.top_up) else {
            return Vec::new();
        };
        let top_up = match (form.package, form.amount.amount()) {
            (Some(n), _) => {
                let program = self.member.as_ref().map(|m| &m.program);
                match program.and_then(|p| p.top_up_packages.get(n)) {
                    Some(p) => TopUp::Package(p.code.clone()),
                    None => return Vec::new(),
                }
            }
            (None, Some(amount)) => TopUp::Amount(amount),
            (None, None) => {
                form.error = Some(text::pick_package_or_amount(self.language));
                return Vec::new();
            }
        };
        form.error = None;
        vec![Command::TopUp {
            clerk: clerk.clone(),
            member: form.member,
            top_up,
        }]
    }

    /// [`Action::SelectSale`](crate::counter::Action::SelectSale): loads
    /// recent sale `n`'s quote.
    pub(in crate::counter) fn tap_select_sale(&mut self, n: usize) -> Vec<Command> {
        match self.refund.sales.get(n) {
            Some(s) => vec![Command::LoadSale(s.sale)],
            None => Vec::new(),
        }
    }

    /// [`Action::RefundStep`](crate::counter::Action::RefundStep).
    pub(in crate::counter) fn tap_refund_step(&mut self, line: usize, delta: i64) -> Vec<Command> {
        self.refund.step(line, delta);
        Vec::new()
    }

    /// [`Action::ConfirmRefund`](crate::counter::Action::ConfirmRefund).
    pub(in crate::counter) fn tap_confirm_refund(&mut self) -> Vec<Command> {
        let (Some(clerk), Some(approval)) = (&self.clerk, &self.approval) else {
            return Vec::new();
        };
        let Some((sale, _)) = &self.refund.sale else {
            self.refund.error = Some(text::pick_a_sale(self.language));
            return Vec::new();
        };
        let lines = self.refund.lines();
        if lines.is_empty() {
            self.refund.error = Some(text::choose_refund_lines(self.language));
            return Vec::new();
        }
        vec![Command::Refund {
            clerk: clerk.clone(),
            approval: approval.clone(),
            sale: *sale,
            lines,
        }]
    }

    /// [`Action::ToggleAdjustSign`](crate::counter::Action::ToggleAdjustSign).
    pub(in crate::counter) fn tap_toggle_adjust_sign(&mut self) -> Vec<Command> {
        if let Some(form) = &mut self.adjust {
            form.negative = !form.negative;
        }
        Vec::new()
    }

    /// [`Action::SelectReason`](crate::counter::Action::SelectReason).
    pub(in crate::counter) fn tap_select_reason(&mut self, n: usize) -> Vec<Command> {
        if let Some(form) = &mut self.adjust
            && n < ADJUST_REASONS.len()
        {
            form.reason = Some(n);
        }
        Vec::new()
    }

    /// [`Action::ConfirmAdjust`](crate::counter::Action::ConfirmAdjust).
    pub(in crate::counter) fn tap_confirm_adjust(&mut self) -> Vec<Command> {
        let (Some(clerk), Some(approval), Some(form)) =
            (&self.clerk, &self.approval, &mut self.adjust)
        else {
            return Vec::new();
        };
        let (Some(delta), Some(reason)) = (form.delta(), form.reason) else {
            form.error = Some(text::key_points_and_reason(self.language));
            return Vec::new();
        };
        let reason = ADJUST_REASONS
            .get(reason)
            .map(|(zh, _)| (*zh).to_owned())
            .unwrap_or_default();
        form.error = None;
        vec![Command::Adjust {
            clerk: clerk.clone(),
            approval: approval.clone(),
            member: form.member,
            delta,
            reason,
        }]
    }

    /// A top-up or adjustment booked (the member after it on screen), or
    /// why not on the open form.
    pub(in crate::counter) fn done_booked(
        &mut self,
        result: Result<MemberSnapshot, StoreError>,
    ) -> Vec<Command> {
        match result {
            Ok(member) => {
                self.member = Some(member);
                self.top_up = None;
                self.adjust = None;
                self.go(Page::Member);
                self.say(text::booked(self.language), false);
                vec![Command::Play(Sound::Confirm)]
            }
            Err(e) => {
                let text = text::store_error(self.language, &e);
                if let Some(f) = &mut self.top_up {
                    f.error = Some(text.clone());
                }
                if let Some(f) = &mut self.adjust {
                    f.error = Some(text);
                }
                vec![Command::Play(Sound::Bad)]
            }
        }
    }

    /// Recent sales for the refund screen.
    pub(in crate::counter) fn done_sales(
        &mut self,
        result: Result<Vec<SaleSummary>, StoreError>,
    ) -> Vec<Command> {
        match result {
            Ok(sales) => self.refund.sales = sales,
            Err(e) => self.refund.error = Some(text::store_error(self.language, &e)),
        }
        Vec::new()
    }

    /// The picked sale's quote, its lines ready to step.
    pub(in crate::counter) fn done_sale(
        &mut self,
        result: Result<(SourceId, Quote), StoreError>,
    ) -> Vec<Command> {
        match result {
            Ok((sale, quote)) => self.refund.pick(sale, quote),
            Err(e) => self.refund.error = Some(text::store_error(self.language, &e)),
        }
        Vec::new()
    }

    /// A refund booked (what to give back on screen; the sales reload), or
    /// why not.
    pub(in crate::counter) fn done_refunded(
        &mut self,
        result: Result<RefundReceipt, StoreError>,
    ) -> Vec<Command> {
        match result {
            Ok(receipt) => {
                self.refunded = Some(receipt);
                self.refund.sale = None;
                self.refund.quantities.clear();
                self.say(text::refund_booked(self.language), false);
                vec![Command::Play(Sound::Confirm), Command::LoadSales]
            }
            Err(e) => {
                self.refund.error = Some(text::store_error(self.language, &e));
                vec![Command::Play(Sound::Bad)]
            }
        }
    }
}
