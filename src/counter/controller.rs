//! The counter's router: it takes [`Input`]s (taps, keypad keys, scans,
//! status updates, the store's answers) and forwards each one to the flow
//! that owns it (`counter::flows`), answering with the flow's
//! [`Command`]s for the world (store jobs, sounds). It holds no flow logic
//! itself: each [`Action`] and each [`Done`] answer has one line here
//! naming the flow's method. Like the flows, it never touches Slint,
//! SQLite, the camera or a clock: the moment comes with each input, so
//! every flow is testable without a display.

use std::time::Instant;

use super::messages::{Action, Command, Done, Input, Page};
use super::state::Counter;

impl Counter {
    /// The commands to run at start-up.
    pub fn start(&self) -> Vec<Command> {
        vec![Command::LoadClerks]
    }

    /// Handles one input at `now` and returns the work it asks for.
    pub fn handle(&mut self, input: Input, now: Instant) -> Vec<Command> {
        let commands = self.dispatch(input, now);
        self.close_stray_keyboard();
        commands
    }

    fn dispatch(&mut self, input: Input, now: Instant) -> Vec<Command> {
        match input {
            Input::Tap(action) => {
                self.last_touch = Some(now);
                self.tap(action)
            }
            Input::Key(key) => {
                self.last_touch = Some(now);
                self.key(key)
            }
            Input::Tick => self.tick(now),
            // Head office's enrollment QR belongs to the first run.
            Input::Scanned(crate::scan::outcome::ScanOutcome::Enrollment(text))
                if self.page == Page::FirstRun =>
            {
                self.scanned_enrollment(&text)
            }
            // A receipt's code starts a return.
            Input::Scanned(crate::scan::outcome::ScanOutcome::Receipt(code)) => {
                self.scanned_receipt(code)
            }
            Input::Scanned(outcome) => self.scanned(outcome),
            Input::ItemScanned(code) => self.scanned_item(code),
            Input::Status(status) => {
                // Each exchange with head office may have brought staff
                // changes down: read the clerk list again, so a clerk
                // deactivated at head office is signed out here at once.
                let synced = status.last_success.is_some()
                    && status.last_success != self.status.last_success;
                self.status = status;
                if synced {
                    vec![Command::LoadClerks]
                } else {
                    Vec::new()
                }
            }
            Input::Camera(camera) => {
                self.camera = camera;
                Vec::new()
            }
            Input::Printer(status) => {
                self.printer = Some(status);
                Vec::new()
            }
            Input::Done(done) => self.done(done),
        }
    }

    /// Each tap to its flow. The language switches from any screen; while
    /// nobody is logged in only the login screen answers.
    fn tap(&mut self, action: Action) -> Vec<Command> {
        if let Action::SetLanguage(language) = action {
            return self.tap_set_language(language);
        }
        if self.clerk.is_none() {
            return match action {
                // Before anyone signs in: the first run and a first PIN
                // (their codes come on the keypad).
                Action::Register => self.tap_register(),
                Action::PinSetupNext => self.tap_pin_setup_next(),
                Action::PinSetupBack => self.tap_pin_setup_back(),
                other => self.tap_locked(other),
            };
        }
        match action {
            // Session: lock, home, the manager approval.
            Action::Lock => self.tap_lock(),
            Action::Home => self.tap_home(),
            Action::OpenManager => self.open_manager(),
            Action::SelectManager(id) => self.tap_select_manager(id),
            Action::SubmitPin => self.tap_submit_manager_pin(),
            Action::CancelApproval => self.tap_cancel_approval(),
            Action::OpenTopUp | Action::MemberTopUp => self.open_manager_page(Page::TopUp),
            Action::OpenRefund => self.open_manager_page(Page::Refund),
            Action::OpenAdjust | Action::MemberAdjust => self.open_manager_page(Page::Adjust),
            Action::OpenSync => self.open_manager_page(Page::Sync),
            Action::OpenSettings => self.open_manager_page(Page::Settings),
            Action::OpenShiftClose => self.open_manager_page(Page::ShiftClose),
            // Member lookup.
            Action::OpenPhoneLookup => self.tap_open_phone_lookup(),
            Action::FindPhone => self.tap_find_phone(),
            // Checkout.
            Action::OpenCheckout => self.tap_open_checkout(),
            Action::MemberCheckout => self.tap_member_checkout(),
            Action::QuickKey(n) => self.tap_quick_key(n),
            Action::RemoveLine(n) => self.tap_remove_line(n),
            Action::ToggleCoupon(n) => self.tap_toggle_coupon(n),
            Action::SetPoints(points) => self.tap_set_points(points),
            Action::MaxPoints => self.tap_max_points(),
            Action::ToggleStoredValue => self.tap_toggle_stored_value(),
            Action::DetachMember => self.tap_detach_member(),
            Action::ConfirmSale => self.tap_confirm_sale(),
            Action::Tender(n) => self.tap_tender(n),
            Action::CancelSale => self.tap_cancel_sale(),
            Action::PrintReceipt => self.tap_print_receipt(),
            // Enrollment.
            Action::OpenEnroll => self.tap_open_enroll(),
            Action::Surname(s) => self.tap_surname(s),
            Action::BirthdayMonth(d) => self.tap_birthday_month(d),
            Action::BirthdayDay(d) => self.tap_birthday_day(d),
            Action::ToggleConsent => self.tap_toggle_consent(),
            Action::ClearReferrer => self.tap_clear_referrer(),
            Action::SubmitEnroll => self.tap_submit_enroll(),
            // Typing.
            Action::SetText(field, text) => self.tap_set_text(field, text),
            Action::OpenKeyboard(field) => self.tap_open_keyboard(field),
            Action::TypeKey(key) => self.tap_type_key(key),
            // Manager forms.
            Action::SelectPackage(n) => self.tap_select_package(n),
            Action::ConfirmTopUp => self.tap_confirm_top_up(),
            Action::SelectSale(n) => self.tap_select_sale(n),
            Action::RefundStep(line, delta) => self.tap_refund_step(line, delta),
            Action::ConfirmRefund => self.tap_confirm_refund(),
            // A return from a receipt's QR code.
            Action::ReturnStep(line, delta) => self.tap_return_step(line, delta),
            Action::ConfirmReturn => self.tap_confirm_return(),
            Action::ToggleAdjustSign => self.tap_toggle_adjust_sign(),
            Action::SelectReason(n) => self.tap_select_reason(n),
            Action::ConfirmAdjust => self.tap_confirm_adjust(),
            // Gifts for points.
            Action::MemberGifts => self.tap_open_gifts(),
            Action::SelectGift(n) => self.tap_select_gift(n),
            Action::ConfirmGift => self.tap_confirm_gift(),
            Action::CloseGifts => self.tap_close_gifts(),
            // Sync and settings.
            Action::SyncNow => self.tap_sync_now(),
            Action::Provision => self.tap_provision(),
            // The shift close.
            Action::CloseShift => self.tap_close_shift(),
            Action::ReprintShiftReport => self.tap_reprint_shift_report(),
            // The first run and PIN set-up happen before anyone signs in.
            Action::Register | Action::PinSetupNext | Action::PinSetupBack => Vec::new(),
            // Picking a clerk is the login screen's; the language is above.
            Action::SelectClerk(_) | Action::SetLanguage(_) => Vec::new(),
        }
    }

    /// Each store answer to the flow that asked.
    fn done(&mut self, done: Done) -> Vec<Command> {
        match done {
            Done::Clerks(result) => self.done_clerks(result),
            Done::LoggedIn(result) => self.done_logged_in(result),
            Done::Approved(result) => self.done_approved(result),
            Done::LockoutLifted(result) => self.done_lockout_lifted(result),
            Done::Member(result) => self.done_member(result),
            Done::MemberFetched(result) => self.done_member_fetched(result),
            Done::Priced(request, result) => self.done_priced(request, result),
            Done::Item(found) => self.item_found(found),
            Done::LabelItem(item, grams) => self.label_item_found(item, grams),
            Done::SaleCommitted(result) => self.done_sale_committed(result),
            Done::ReceiptSaved(result) => self.done_receipt_saved(result),
            Done::Enrolled(result) => self.done_enrolled(result),
            Done::ToppedUp(result) | Done::Adjusted(result) => self.done_booked(result),
            Done::GiftRedeemed(result) => self.done_gift_redeemed(result),
            Done::Sales(result) => self.done_sales(result),
            Done::Sale(result) => self.done_sale(result),
            Done::Refunded(result) => self.done_refunded(result),
            Done::ReceiptVerified(result) => self.done_receipt_verified(result),
            Done::ReturnedFromReceipt(result) => self.done_returned(result),
            Done::Provisioned(result) if self.first_run.is_some() => {
                self.first_run_provisioned(result)
            }
            Done::Provisioned(result) => self.done_provisioned(result),
            Done::PinSet(result) => self.done_pin_set(result),
            Done::ShiftReport(result) => self.done_shift_report(result),
            Done::ShiftClosed(result) => self.done_shift_closed(result),
            // The store's thread is gone: every flow waiting on it stops
            // waiting, and the clerk is told.
            Done::Failed(e) => {
                self.checkout_store_failed();
                self.enroll_store_failed();
                self.shift_close.closing = false;
                self.return_store_failed();
                self.say_error(&e)
            }
        }
    }
}
