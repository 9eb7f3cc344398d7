//! The counter's state: [`Counter`], the one struct every flow reads and
//! writes (the screen on top, who is logged in, the sale, the forms, the
//! status strip), how it starts, and the few helpers every flow shares
//! (telling the clerk something, turning to a screen). The flows
//! (`counter::flows`) add their own `impl Counter` blocks on top of this
//! module; the router (`counter::controller`) uses the flows. This module
//! uses neither, so the files import one way only.

use std::time::{Duration, Instant};

use super::checkout::Sale;
use super::forms::{AdjustForm, EnrollForm, GiftForm, RefundForm, ReturnForm, TopUpForm};
use super::keyboard::TextKeyboard;
use super::keypad::{Entry, EntryKind};
use super::member::MemberSnapshot;
use super::messages::{
    ApprovalPrompt, CameraStatus, ClerkEntry, Command, EnrollDone, FirstRunStep, Notice, Page,
    PinSetup, SaleDone, ScanBanner, ShiftCloseScreen, Sound,
};
use super::text;
use crate::format::Language;
use crate::store::StoreError;
use crate::store::actions::RefundReceipt;
use crate::store::clerks::{Approval, Clerk};
use crate::uplink::UplinkStatus;

/// Where a loaded member goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::counter) enum MemberTarget {
    /// The member screen.
    View,
    /// The sale being rung up.
    Sale,
    /// The enrollment form's referrer.
    Referrer,
}

/// The counter.
#[derive(Debug)]
pub struct Counter {
    /// Screen on top.
    pub page: Page,
    /// Language.
    pub language: Language,
    /// Clerks for the login screen.
    pub clerks: Vec<ClerkEntry>,
    /// Clerk picked on the login screen.
    pub login_clerk: Option<String>,
    /// PIN typed on the login screen.
    pub login_pin: Entry,
    /// Logged-in clerk.
    pub clerk: Option<Clerk>,
    /// Screen to return to after unlocking.
    pub(in crate::counter) resume: Option<Page>,
    /// Manager approval for this visit to the manager screens.
    pub approval: Option<Approval>,
    /// The manager PIN prompt, when shown.
    pub prompt: Option<ApprovalPrompt>,
    /// Member on the member screen.
    pub member: Option<MemberSnapshot>,
    /// The sale.
    pub sale: Sale,
    /// The last committed sale.
    pub last_sale: Option<SaleDone>,
    /// Where the last receipt was saved.
    pub receipt_saved: Option<String>,
    /// Phone lookup keypad.
    pub phone: Entry,
    /// Enrollment form.
    pub enroll: EnrollForm,
    /// The last enrollment.
    pub enrolled: Option<EnrollDone>,
    /// Top-up form.
    pub top_up: Option<TopUpForm>,
    /// Refund form.
    pub refund: RefundForm,
    /// The last refund.
    pub refunded: Option<RefundReceipt>,
    /// A return from a scanned receipt: the verified sale, what is picked,
    /// what was booked.
    pub return_form: Option<ReturnForm>,
    /// Adjustment form.
    pub adjust: Option<AdjustForm>,
    /// The gift catalogue's form.
    pub gifts: Option<GiftForm>,
    /// Uplink status.
    pub status: UplinkStatus,
    /// Head office configured (else "offline only").
    pub head_office_configured: bool,
    /// Camera status.
    pub camera: CameraStatus,
    /// How the last committed sale was paid (its receipt shows it).
    pub last_payment: Option<tillcard_rules::tenders::Payment>,
    /// The receipt printer's last status; none without a printer.
    pub printer: Option<tillcard_print::PrinterStatus>,
    /// Last scan.
    pub scan: Option<ScanBanner>,
    /// Message for the clerk.
    pub notice: Option<Notice>,
    /// Provisioning result in words.
    pub provision_result: Option<Notice>,
    /// Settings: head office's address as typed (starts as configured).
    pub hq_url: String,
    /// Settings: the one-time enrollment code as typed.
    pub provision_code: String,
    /// First run: the store's enrollment code as keyed.
    pub first_run_code: Entry,
    /// First run: the pin of head office's certificate from a scanned
    /// enrollment QR (`None` while the code is keyed by hand).
    pub first_run_pin: Option<tillcard_protocol::enrollment::CertificatePin>,
    /// The on-screen text keyboard, when open.
    pub keyboard: Option<TextKeyboard>,
    /// Where the member the store is loading goes.
    pub(in crate::counter) member_target: MemberTarget,
    /// Idle time before the till locks itself.
    pub(in crate::counter) auto_lock: Duration,
    /// The last tap or key.
    pub(in crate::counter) last_touch: Option<Instant>,
    /// Scans so far (numbers the scan banner).
    pub(in crate::counter) scans: u64,
    /// Whether an empty till opens the first-run screen: a real
    /// configuration (head office's address, no demo). See
    /// [`Counter::with_first_run`].
    pub(in crate::counter) first_run_possible: bool,
    /// Whether this terminal is registered with head office.
    pub registered: bool,
    /// The first-run screen's step, while it is up.
    pub first_run: Option<FirstRunStep>,
    /// When the first-run screen next tries again by itself (offline: the
    /// registration; waiting: looking for the staff that arrived).
    pub(in crate::counter) first_run_retry_at: Option<Instant>,
    /// A clerk choosing their first PIN.
    pub pin_setup: Option<PinSetup>,
    /// The shift-close screen.
    pub shift_close: ShiftCloseScreen,
}

impl Counter {
    /// A counter showing the login screen.
    pub fn new(language: Language, auto_lock: Duration, head_office_configured: bool) -> Counter {
        Counter {
            page: Page::Login,
            language,
            clerks: Vec::new(),
            login_clerk: None,
            login_pin: Entry::new(EntryKind::Pin),
            clerk: None,
            resume: None,
            approval: None,
            prompt: None,
            member: None,
            sale: Sale::default(),
            last_sale: None,
            receipt_saved: None,
            phone: Entry::new(EntryKind::Phone),
            enroll: EnrollForm::default(),
            enrolled: None,
            top_up: None,
            refund: RefundForm::default(),
            refunded: None,
            return_form: None,
            adjust: None,
            gifts: None,
            status: UplinkStatus::default(),
            head_office_configured,
            camera: CameraStatus::None,
            printer: None,
            last_payment: None,
            scan: None,
            notice: None,
            provision_result: None,
            hq_url: String::new(),
            provision_code: String::new(),
            first_run_code: Entry::new(EntryKind::EnrollCode),
            first_run_pin: None,
            keyboard: None,
            member_target: MemberTarget::View,
            auto_lock,
            last_touch: None,
            scans: 0,
            first_run_possible: false,
            registered: false,
            first_run: None,
            first_run_retry_at: None,
            pin_setup: None,
            shift_close: ShiftCloseScreen::default(),
        }
    }

    /// This till runs on a real configuration (head office's address, no
    /// demo): with no clerk yet it opens the first-run screen instead of an
    /// empty sign-in, at the step `registered` says.
    pub fn with_first_run(mut self, registered: bool) -> Counter {
        self.first_run_possible = true;
        self.registered = registered;
        self
    }

    /// Whether prices are provisional (no contact with head office).
    pub fn offline(&self) -> bool {
        !self.status.online
    }

    /// Tells the clerk `text` (`bad`: a refusal or failure).
    pub(in crate::counter) fn say(&mut self, text: String, bad: bool) {
        self.notice = Some(Notice { text, bad });
    }

    /// Tells the clerk why the store refused, with the bad sound.
    pub(in crate::counter) fn say_error(&mut self, error: &StoreError) -> Vec<Command> {
        self.notice = Some(Notice {
            text: text::store_error(self.language, error),
            bad: true,
        });
        vec![Command::Play(Sound::Bad)]
    }

    /// Turns to `page`; the last screen's message goes with it.
    pub(in crate::counter) fn go(&mut self, page: Page) {
        self.page = page;
        self.notice = None;
    }
}
