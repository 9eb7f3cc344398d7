//! The counter's state machine: which screen is up, who is logged in, the
//! sale being rung up and the forms being filled in. It takes [`Input`]s
//! (taps, keypad keys, scans, status updates, the store's answers) and
//! answers with [`Command`]s for the world (store jobs, sounds). It never
//! touches Slint, SQLite, the camera or a clock: the moment comes with each
//! input, so every flow is testable without a display.

use std::time::{Duration, Instant};

use tillcard_rules::booking::TopUp;
use tillcard_rules::{MemberId, Money};

use super::checkout::{CouponChoice, QUICK_KEYS, Sale};
use super::forms::{ADJUST_REASONS, AdjustForm, EnrollForm, EnrollProblem, RefundForm, TopUpForm};
use super::keyboard::{TextField, TextKeyboard};
use super::keypad::{Entry, EntryKind, Key};
use super::member::MemberSnapshot;
use super::messages::{
    Action, ApprovalPrompt, CameraStatus, ClerkEntry, Command, Done, EnrollDone, Input, Notice,
    Page, SaleDone, ScanBanner, Sound,
};
use super::text::{self, pick};
use crate::format::Language;
use crate::scan::outcome::ScanOutcome;
use crate::store::StoreError;
use crate::store::actions::RefundReceipt;
use crate::store::clerks::{Approval, Clerk, Role};
use crate::uplink::UplinkStatus;

/// Where a loaded member goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MemberTarget {
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
    resume: Option<Page>,
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
    /// Adjustment form.
    pub adjust: Option<AdjustForm>,
    /// Uplink status.
    pub status: UplinkStatus,
    /// Head office configured (else "offline only").
    pub head_office_configured: bool,
    /// Camera status.
    pub camera: CameraStatus,
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
    /// The on-screen text keyboard, when open.
    pub keyboard: Option<TextKeyboard>,
    member_target: MemberTarget,
    auto_lock: Duration,
    last_touch: Option<Instant>,
    scans: u64,
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
            adjust: None,
            status: UplinkStatus::default(),
            head_office_configured,
            camera: CameraStatus::None,
            scan: None,
            notice: None,
            provision_result: None,
            hq_url: String::new(),
            provision_code: String::new(),
            keyboard: None,
            member_target: MemberTarget::View,
            auto_lock,
            last_touch: None,
            scans: 0,
        }
    }

    /// The commands to run at start-up.
    pub fn start(&self) -> Vec<Command> {
        vec![Command::LoadClerks]
    }

    /// Whether prices are provisional (no contact with head office).
    pub fn offline(&self) -> bool {
        !self.status.online
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
            Input::Tick => {
                if self.clerk.is_some()
                    && self
                        .last_touch
                        .is_some_and(|t| now.saturating_duration_since(t) >= self.auto_lock)
                {
                    self.lock();
                }
                Vec::new()
            }
            Input::Scanned(outcome) => self.scanned(outcome),
            Input::Status(status) => {
                self.status = status;
                Vec::new()
            }
            Input::Camera(camera) => {
                self.camera = camera;
                Vec::new()
            }
            Input::Done(done) => self.done(done),
        }
    }

    /// The text a field holds.
    fn field_text(&mut self, field: TextField) -> &mut String {
        match field {
            TextField::EnrollName => &mut self.enroll.name,
            TextField::HeadOfficeUrl => &mut self.hq_url,
            TextField::EnrollmentCode => &mut self.provision_code,
        }
    }

    /// The screen a field is on.
    fn field_page(field: TextField) -> Page {
        match field {
            TextField::EnrollName => Page::Enroll,
            TextField::HeadOfficeUrl | TextField::EnrollmentCode => Page::Settings,
        }
    }

    /// The keyboard goes away with its field's screen, and under the
    /// manager PIN prompt (which has its own keypad).
    fn close_stray_keyboard(&mut self) {
        if let Some(keyboard) = &self.keyboard
            && (self.page != Self::field_page(keyboard.field) || self.prompt.is_some())
        {
            self.keyboard = None;
        }
    }

    fn say(&mut self, text: String, bad: bool) {
        self.notice = Some(Notice { text, bad });
    }

    fn say_error(&mut self, error: &StoreError) -> Vec<Command> {
        self.notice = Some(Notice {
            text: text::store_error(self.language, error),
            bad: true,
        });
        vec![Command::Play(Sound::Bad)]
    }

    fn go(&mut self, page: Page) {
        self.page = page;
        self.notice = None;
    }

    fn lock(&mut self) {
        if self.page != Page::Login {
            self.resume = Some(self.page);
        }
        self.login_clerk = self.clerk.as_ref().map(|c| c.id().to_owned());
        self.clerk = None;
        self.approval = None;
        self.prompt = None;
        self.login_pin.clear();
        self.page = Page::Login;
    }

    fn is_manager_page(page: Page) -> bool {
        matches!(
            page,
            Page::Manager | Page::TopUp | Page::Refund | Page::Adjust | Page::Sync | Page::Settings
        )
    }

    fn reprice(&mut self) -> Vec<Command> {
        let offline = self.offline();
        match self.sale.ask(offline) {
            Some(ask) => vec![Command::Price(ask)],
            None => Vec::new(),
        }
    }

    fn key(&mut self, key: Key) -> Vec<Command> {
        if let Some(prompt) = &mut self.prompt {
            prompt.pin.press(key);
            return Vec::new();
        }
        match self.page {
            Page::Login => self.login_pin.press(key),
            Page::Checkout => self.sale.entry.press(key),
            Page::PhoneLookup => self.phone.press(key),
            Page::Enroll => self.enroll.phone.press(key),
            Page::TopUp => {
                if let Some(form) = &mut self.top_up {
                    form.amount.press(key);
                    form.package = None;
                }
            }
            Page::Adjust => {
                if let Some(form) = &mut self.adjust {
                    form.points.press(key);
                }
            }
            _ => {}
        }
        Vec::new()
    }

    fn scanned(&mut self, outcome: ScanOutcome) -> Vec<Command> {
        let kind = outcome.kind();
        self.scans += 1;
        self.scan = Some(ScanBanner {
            kind,
            serial: self.scans,
        });
        let sound = Command::Play(if kind.is_good() {
            Sound::Good
        } else {
            Sound::Bad
        });
        if self.clerk.is_none() {
            self.say(text::log_in_before_scanning(self.language), true);
            return vec![Command::Play(Sound::Bad)];
        }
        self.notice = Some(Notice {
            text: text::scan_outcome(self.language, kind),
            bad: !kind.is_good(),
        });
        let (member, unknown_card) = match &outcome {
            ScanOutcome::MemberFound { credential, .. } => (credential.member_id, false),
            ScanOutcome::UnknownMember { credential }
            | ScanOutcome::LookupFailed { credential } => (credential.member_id, true),
            _ => return vec![sound],
        };
        // A card still in front of the camera scans again every few
        // seconds: it must not undo the member's choices on the sale.
        if self.page == Page::Checkout
            && self.sale.member.as_ref().map(|m| m.id().0) == Some(member)
        {
            return vec![sound];
        }
        // A scan from any screen opens the member, except where a member is
        // what the screen is waiting for.
        self.member_target = match self.page {
            Page::Checkout => MemberTarget::Sale,
            Page::Enroll => MemberTarget::Referrer,
            _ => MemberTarget::View,
        };
        vec![
            sound,
            Command::OpenMember {
                member: MemberId(member),
                unknown_card,
            },
        ]
    }

    fn tap(&mut self, action: Action) -> Vec<Command> {
        if let Action::SetLanguage(language) = action {
            self.language = language;
            self.notice = None;
            return Vec::new();
        }
        if self.clerk.is_none() {
            return self.tap_locked(action);
        }
        match action {
            Action::Lock => {
                self.lock();
                Vec::new()
            }
            Action::Home => {
                if Self::is_manager_page(self.page) {
                    self.approval = None;
                }
                self.prompt = None;
                self.go(Page::Home);
                Vec::new()
            }
            Action::OpenCheckout => {
                self.go(Page::Checkout);
                Vec::new()
            }
            Action::OpenEnroll => {
                self.enroll = EnrollForm::default();
                self.go(Page::Enroll);
                Vec::new()
            }
            Action::OpenPhoneLookup => {
                self.phone.clear();
                self.go(Page::PhoneLookup);
                Vec::new()
            }
            Action::FindPhone => {
                if self.phone.text().len() != 11 {
                    self.say(text::key_the_phone(self.language), true);
                    return Vec::new();
                }
                self.member_target = MemberTarget::View;
                vec![Command::FindByPhone {
                    phone: self.phone.text().to_owned(),
                }]
            }
            Action::OpenManager => self.open_manager(),
            Action::QuickKey(n) => {
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
            Action::RemoveLine(n) => {
                if n < self.sale.lines.len() {
                    self.sale.lines.remove(n);
                }
                self.reprice()
            }
            Action::ToggleCoupon(n) => {
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
            Action::SetPoints(points) => {
                let step = self.sale.priced.as_ref().map_or(100, |p| p.points_step);
                let snapped = (points.max(0) + step / 2) / step * step;
                if snapped == self.sale.points {
                    return Vec::new();
                }
                self.sale.points = snapped;
                self.reprice()
            }
            Action::MaxPoints => {
                self.sale.points = self.sale.priced.as_ref().map_or(0, |p| p.max_points);
                self.reprice()
            }
            Action::ToggleStoredValue => {
                self.sale.use_stored_value = !self.sale.use_stored_value;
                self.reprice()
            }
            Action::DetachMember => {
                self.sale.member = None;
                self.sale.coupon = CouponChoice::Best;
                self.sale.points = 0;
                self.sale.use_stored_value = false;
                self.reprice()
            }
            Action::ConfirmSale => self.confirm_sale(),
            Action::CancelSale => {
                self.sale = Sale::default();
                self.go(Page::Home);
                Vec::new()
            }
            Action::PrintReceipt => match &self.last_sale {
                Some(done) => vec![Command::SaveReceipt {
                    sale: done.receipt.sale,
                    text: super::receipt::receipt_text(done, self.language),
                }],
                None => Vec::new(),
            },
            Action::MemberCheckout => {
                if let Some(member) = self.member.clone() {
                    self.attach_to_sale(member);
                }
                self.go(Page::Checkout);
                self.reprice()
            }
            Action::MemberTopUp | Action::MemberAdjust => {
                let page = if action == Action::MemberTopUp {
                    Page::TopUp
                } else {
                    Page::Adjust
                };
                self.open_manager_page(page)
            }
            Action::Surname(s) => {
                self.enroll.name = s;
                Vec::new()
            }
            Action::SetText(field, text) => {
                *self.field_text(field) = text.chars().take(field.max_chars()).collect();
                Vec::new()
            }
            Action::OpenKeyboard(field) => {
                if self.page == Self::field_page(field) {
                    let keyboard = TextKeyboard::open(field, self.field_text(field));
                    self.keyboard = Some(keyboard);
                }
                Vec::new()
            }
            Action::TypeKey(key) => {
                if let Some(mut keyboard) = self.keyboard.take() {
                    let open = keyboard.press(key, self.field_text(keyboard.field));
                    self.keyboard = open.then_some(keyboard);
                }
                Vec::new()
            }
            Action::BirthdayMonth(d) => {
                self.enroll.step_month(d);
                Vec::new()
            }
            Action::BirthdayDay(d) => {
                self.enroll.step_day(d);
                Vec::new()
            }
            Action::ToggleConsent => {
                self.enroll.consent = !self.enroll.consent;
                Vec::new()
            }
            Action::ClearReferrer => {
                self.enroll.referrer = None;
                Vec::new()
            }
            Action::SubmitEnroll => self.submit_enroll(),
            Action::SelectManager(id) => {
                if let Some(p) = &mut self.prompt {
                    p.manager = Some(id);
                    p.error = None;
                }
                Vec::new()
            }
            Action::SubmitPin => {
                // The PIN pad's OK inside the manager prompt.
                match &self.prompt {
                    Some(ApprovalPrompt {
                        manager: Some(m),
                        pin,
                        ..
                    }) => vec![Command::Approve {
                        manager_id: m.clone(),
                        pin: pin.text().to_owned(),
                    }],
                    Some(_) => {
                        if let Some(p) = &mut self.prompt {
                            p.error = Some(text::pick_a_manager(self.language));
                        }
                        Vec::new()
                    }
                    None => Vec::new(),
                }
            }
            Action::CancelApproval => {
                self.prompt = None;
                self.resume = None;
                Vec::new()
            }
            Action::OpenTopUp => self.open_manager_page(Page::TopUp),
            Action::OpenRefund => self.open_manager_page(Page::Refund),
            Action::OpenAdjust => self.open_manager_page(Page::Adjust),
            Action::OpenSync => self.open_manager_page(Page::Sync),
            Action::OpenSettings => self.open_manager_page(Page::Settings),
            Action::SelectPackage(n) => {
                if let Some(form) = &mut self.top_up {
                    form.package = Some(n);
                    form.amount.clear();
                }
                Vec::new()
            }
            Action::ConfirmTopUp => self.confirm_top_up(),
            Action::SelectSale(n) => match self.refund.sales.get(n) {
                Some(s) => vec![Command::LoadSale(s.sale)],
                None => Vec::new(),
            },
            Action::RefundStep(line, delta) => {
                self.refund.step(line, delta);
                Vec::new()
            }
            Action::ConfirmRefund => self.confirm_refund(),
            Action::ToggleAdjustSign => {
                if let Some(form) = &mut self.adjust {
                    form.negative = !form.negative;
                }
                Vec::new()
            }
            Action::SelectReason(n) => {
                if let Some(form) = &mut self.adjust
                    && n < ADJUST_REASONS.len()
                {
                    form.reason = Some(n);
                }
                Vec::new()
            }
            Action::ConfirmAdjust => self.confirm_adjust(),
            Action::SyncNow => vec![Command::SyncNow],
            Action::Provision => {
                self.keyboard = None;
                // Registering is a manager's act on the settings screen.
                if self.page != Page::Settings || self.approval.is_none() {
                    return Vec::new();
                }
                let (url, code) = (self.hq_url.trim(), self.provision_code.trim());
                if url.is_empty() || code.is_empty() {
                    self.provision_result = Some(Notice {
                        text: text::fill_in_registration(self.language),
                        bad: true,
                    });
                    return Vec::new();
                }
                self.provision_result = None;
                vec![Command::Provision {
                    url: url.to_owned(),
                    code: code.to_owned(),
                }]
            }
            Action::SelectClerk(_) | Action::SetLanguage(_) => Vec::new(),
        }
    }

    /// Taps while nobody is logged in: only the login screen works.
    fn tap_locked(&mut self, action: Action) -> Vec<Command> {
        match action {
            Action::SelectClerk(id) => {
                self.login_clerk = Some(id);
                self.login_pin.clear();
                self.notice = None;
                Vec::new()
            }
            Action::SubmitPin => match &self.login_clerk {
                Some(id) => vec![Command::Login {
                    clerk_id: id.clone(),
                    pin: self.login_pin.text().to_owned(),
                }],
                None => {
                    self.say(text::pick_your_name(self.language), true);
                    Vec::new()
                }
            },
            _ => Vec::new(),
        }
    }

    fn open_manager(&mut self) -> Vec<Command> {
        if self.approval.is_some() {
            self.go(Page::Manager);
            return Vec::new();
        }
        self.resume = Some(Page::Manager);
        self.prompt = Some(ApprovalPrompt {
            manager: self
                .clerks
                .iter()
                .filter(|c| c.role == Role::Manager)
                .map(|c| c.id.clone())
                .next()
                .filter(|_| {
                    self.clerks
                        .iter()
                        .filter(|c| c.role == Role::Manager)
                        .count()
                        == 1
                }),
            pin: Entry::new(EntryKind::Pin),
            error: None,
        });
        Vec::new()
    }

    fn open_manager_page(&mut self, page: Page) -> Vec<Command> {
        if self.approval.is_none() {
            let commands = self.open_manager();
            self.resume = Some(page);
            return commands;
        }
        self.enter_manager_page(page)
    }

    fn enter_manager_page(&mut self, page: Page) -> Vec<Command> {
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
            Page::Refund => {
                self.refund = RefundForm::default();
                self.refunded = None;
                self.go(page);
                vec![Command::LoadSales]
            }
            _ => {
                self.go(page);
                Vec::new()
            }
        }
    }

    fn attach_to_sale(&mut self, member: MemberSnapshot) {
        self.sale.member = Some(member);
        self.sale.coupon = CouponChoice::Best;
        self.sale.points = 0;
        self.sale.use_stored_value = false;
    }

    fn confirm_sale(&mut self) -> Vec<Command> {
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
        }]
    }

    fn submit_enroll(&mut self) -> Vec<Command> {
        let Some(clerk) = &self.clerk else {
            return Vec::new();
        };
        if self.enroll.submitting {
            return Vec::new();
        }
        match self.enroll.request() {
            Ok(request) => {
                self.enroll.submitting = true;
                self.enroll.error = None;
                vec![Command::Enroll {
                    clerk: clerk.clone(),
                    request,
                }]
            }
            Err(problem) => {
                self.enroll.error = Some(match problem {
                    EnrollProblem::Phone => text::enroll_phone_invalid(self.language),
                    EnrollProblem::Consent => text::enroll_needs_consent(self.language),
                    EnrollProblem::Birthday => text::enroll_birthday_invalid(self.language),
                });
                vec![Command::Play(Sound::Bad)]
            }
        }
    }

    fn confirm_top_up(&mut self) -> Vec<Command> {
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

    fn confirm_refund(&mut self) -> Vec<Command> {
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

    fn confirm_adjust(&mut self) -> Vec<Command> {
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

    fn done(&mut self, done: Done) -> Vec<Command> {
        match done {
            Done::Clerks(Ok(clerks)) => {
                if self.login_clerk.is_none() && clerks.len() == 1 {
                    self.login_clerk = clerks.first().map(|c| c.id.clone());
                }
                self.clerks = clerks;
                Vec::new()
            }
            Done::Clerks(Err(e)) => self.say_error(&e),
            Done::LoggedIn(Ok(clerk)) => {
                self.clerk = Some(clerk);
                self.login_pin.clear();
                let page = self.resume.take().filter(|p| !Self::is_manager_page(*p));
                self.go(page.unwrap_or(Page::Home));
                Vec::new()
            }
            Done::LoggedIn(Err(e)) => {
                self.login_pin.clear();
                self.say_error(&e)
            }
            Done::Approved(Ok(approval)) => {
                self.approval = Some(approval);
                self.prompt = None;
                let page = self.resume.take().unwrap_or(Page::Manager);
                self.enter_manager_page(page)
            }
            Done::Approved(Err(e)) => {
                let text = text::store_error(self.language, &e);
                if let Some(p) = &mut self.prompt {
                    p.pin.clear();
                    p.error = Some(text);
                }
                vec![Command::Play(Sound::Bad)]
            }
            Done::Member(Ok(Some(member))) => match self.member_target {
                MemberTarget::Sale => {
                    self.attach_to_sale(member);
                    self.reprice()
                }
                MemberTarget::Referrer => {
                    self.enroll.referrer = Some(member);
                    Vec::new()
                }
                MemberTarget::View => {
                    self.member = Some(member);
                    let notice = self.notice.take();
                    self.go(Page::Member);
                    self.notice = notice;
                    Vec::new()
                }
            },
            Done::Member(Ok(None)) => {
                self.say(text::no_member_with_phone(self.language), true);
                vec![Command::Play(Sound::Bad)]
            }
            Done::Member(Err(e)) => self.say_error(&e),
            Done::Priced(request, result) => {
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
            Done::SaleCommitted(Ok(sale)) => {
                self.last_sale = Some(sale);
                self.receipt_saved = None;
                self.sale = Sale::default();
                self.go(Page::Receipt);
                vec![Command::Play(Sound::Confirm)]
            }
            Done::SaleCommitted(Err(e)) => {
                self.sale.committing = false;
                let commands = self.say_error(&e);
                let offline = self.offline();
                match self.sale.ask(offline) {
                    Some(ask) => [commands, vec![Command::Price(ask)]].concat(),
                    None => commands,
                }
            }
            Done::Enrolled(Ok(enrolled)) => {
                self.member = Some(enrolled.member.clone());
                self.enrolled = Some(enrolled);
                self.enroll = EnrollForm::default();
                self.go(Page::EnrollDone);
                vec![Command::Play(Sound::Confirm)]
            }
            Done::Enrolled(Err(e)) => {
                self.enroll.submitting = false;
                self.enroll.error = Some(text::store_error(self.language, &e));
                vec![Command::Play(Sound::Bad)]
            }
            Done::ToppedUp(Ok(member)) | Done::Adjusted(Ok(member)) => {
                self.member = Some(member);
                self.top_up = None;
                self.adjust = None;
                self.go(Page::Member);
                self.say(text::booked(self.language), false);
                vec![Command::Play(Sound::Confirm)]
            }
            Done::ToppedUp(Err(e)) | Done::Adjusted(Err(e)) => {
                let text = text::store_error(self.language, &e);
                if let Some(f) = &mut self.top_up {
                    f.error = Some(text.clone());
                }
                if let Some(f) = &mut self.adjust {
                    f.error = Some(text);
                }
                vec![Command::Play(Sound::Bad)]
            }
            Done::Sales(Ok(sales)) => {
                self.refund.sales = sales;
                Vec::new()
            }
            Done::Sale(Ok((sale, quote))) => {
                self.refund.pick(sale, quote);
                Vec::new()
            }
            Done::Sales(Err(e)) | Done::Sale(Err(e)) => {
                self.refund.error = Some(text::store_error(self.language, &e));
                Vec::new()
            }
            Done::Refunded(Ok(receipt)) => {
                self.refunded = Some(receipt);
                self.refund.sale = None;
                self.refund.quantities.clear();
                self.say(text::refund_booked(self.language), false);
                vec![Command::Play(Sound::Confirm), Command::LoadSales]
            }
            Done::Refunded(Err(e)) => {
                self.refund.error = Some(text::store_error(self.language, &e));
                vec![Command::Play(Sound::Bad)]
            }
            Done::ReceiptSaved(Ok(path)) => {
                self.receipt_saved = Some(path.display().to_string());
                Vec::new()
            }
            Done::ReceiptSaved(Err(why)) => {
                self.notice = Some(Notice {
                    text: why,
                    bad: true,
                });
                Vec::new()
            }
            Done::Failed(e) => {
                self.sale.committing = false;
                self.enroll.submitting = false;
                self.say_error(&e)
            }
            Done::Provisioned(result) => {
                self.provision_result = Some(match result {
                    Ok(()) => {
                        self.head_office_configured = true;
                        // The code is spent; keep no copy of it on screen.
                        self.provision_code.clear();
                        Notice {
                            text: text::registered(self.language),
                            bad: false,
                        }
                    }
                    Err(why) => Notice {
                        text: why,
                        bad: true,
                    },
                });
                if self.head_office_configured {
                    vec![Command::StartSync]
                } else {
                    Vec::new()
                }
            }
        }
    }

    /// The amount of money still due on the sale.
    pub fn amount_due(&self) -> Option<Money> {
        self.sale.quote().map(|q| q.amount_due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counter::keyboard::TextKey;
    use crate::scan::credential::Credential;
    use crate::scan::directory::MemberSummary;
    use uuid::Uuid;

    fn logged_in() -> (Counter, Instant) {
        let mut c = Counter::new(Language::En, Duration::from_secs(60), false);
        let t0 = Instant::now();
        c.handle(
            Input::Done(Done::Clerks(Ok(vec![
                ClerkEntry {
                    id: "c1".into(),
                    name: "Cashier".into(),
                    role: Role::Cashier,
                },
                ClerkEntry {
                    id: "m1".into(),
                    name: "Manager".into(),
                    role: Role::Manager,
                },
            ]))),
            t0,
        );
        c.handle(Input::Tap(Action::SelectClerk("c1".into())), t0);
        for k in "1234".chars() {
            c.handle(Input::Key(Key::from_label(&k.to_string()).unwrap()), t0);
        }
        let commands = c.handle(Input::Tap(Action::SubmitPin), t0);
        assert_eq!(
            commands,
            vec![Command::Login {
                clerk_id: "c1".into(),
                pin: "1234".into()
            }]
        );
        (c, t0)
    }

    /// A store in a temporary directory (clerks and approvals can only
    /// come from a store).
    fn test_store() -> (tempfile::TempDir, crate::store::Store) {
        let dir = tempfile::tempdir().unwrap();
        let clock = std::sync::Arc::new(crate::clock::FakeClock::at(
            tillcard_rules::Timestamp::parse_from_rfc3339("2026-11-30T10:00:00+08:00").unwrap(),
        ));
        let store = crate::store::Store::open(
            &dir.path().join("t.sqlite"),
            crate::store::StoreConfig {
                pin_cost: crate::store::PinHashCost::TEST_ONLY,
                ..crate::store::StoreConfig::new("T")
            },
            clock,
        )
        .unwrap();
        (dir, store)
    }

    fn approval() -> Approval {
        let (_dir, mut store) = test_store();
        store
            .add_clerk("m1", "Manager", Role::Manager, "9999")
            .unwrap();
        store.approve("m1", "9999").unwrap()
    }

    fn clerk() -> Clerk {
        // A Clerk can only come from the store; build one through a store.
        let (_dir, mut store) = test_store();
        store
            .add_clerk("c1", "Cashier", Role::Cashier, "1234")
            .unwrap();
        store.login("c1", "1234").unwrap()
    }

    fn found(member: u128) -> ScanOutcome {
        ScanOutcome::MemberFound {
            credential: Credential {
                member_id: Uuid::from_u128(member),
                card_serial: 1,
                issuer: 1,
                issued_at: 0,
                valid_until: None,
            },
            member: MemberSummary {
                member_id: Uuid::from_u128(member),
                masked_name: "张*".into(),
                masked_phone: "138****5678".into(),
                tier: "gold".into(),
            },
        }
    }

    #[test]
    fn the_till_locks_after_the_idle_time_and_returns_to_the_same_screen() {
        let (mut c, t0) = logged_in();
        c.handle(Input::Done(Done::LoggedIn(Ok(clerk()))), t0);
        assert_eq!(c.page, Page::Home);
        c.handle(Input::Tap(Action::OpenCheckout), t0);
        c.handle(Input::Tick, t0 + Duration::from_secs(59));
        assert_eq!(c.page, Page::Checkout, "not idle long enough");
        c.handle(Input::Tick, t0 + Duration::from_secs(61));
        assert_eq!(c.page, Page::Login);
        assert!(c.clerk.is_none());
        assert_eq!(
            c.login_clerk.as_deref(),
            Some("c1"),
            "the clerk is preselected"
        );
        c.handle(Input::Done(Done::LoggedIn(Ok(clerk()))), t0);
        assert_eq!(c.page, Page::Checkout, "back where the clerk was");
    }

    #[test]
    fn a_scan_while_locked_opens_nothing() {
        let (mut c, t0) = logged_in();
        let commands = c.handle(Input::Scanned(found(7)), t0);
        assert_eq!(commands, vec![Command::Play(Sound::Bad)]);
        assert_eq!(c.page, Page::Login);
    }

    #[test]
    fn a_scan_opens_the_member_from_home_and_joins_the_sale_on_checkout() {
        let (mut c, t0) = logged_in();
        c.handle(Input::Done(Done::LoggedIn(Ok(clerk()))), t0);
        let commands = c.handle(Input::Scanned(found(7)), t0);
        assert_eq!(
            commands,
            vec![
                Command::Play(Sound::Good),
                Command::OpenMember {
                    member: MemberId(Uuid::from_u128(7)),
                    unknown_card: false
                }
            ]
        );
        let bad = c.handle(Input::Scanned(ScanOutcome::Forged), t0);
        assert_eq!(bad, vec![Command::Play(Sound::Bad)]);
        assert!(c.notice.as_ref().is_some_and(|n| n.bad));
    }

    #[test]
    fn manager_screens_need_a_manager_pin_and_forget_it_on_leaving() {
        let (mut c, t0) = logged_in();
        c.handle(Input::Done(Done::LoggedIn(Ok(clerk()))), t0);
        c.handle(Input::Tap(Action::OpenManager), t0);
        assert_eq!(c.page, Page::Home, "the prompt comes first");
        let prompt = c.prompt.as_ref().unwrap();
        assert_eq!(
            prompt.manager.as_deref(),
            Some("m1"),
            "the only manager is preselected"
        );
        for k in "9999".chars() {
            c.handle(Input::Key(Key::from_label(&k.to_string()).unwrap()), t0);
        }
        assert_eq!(
            c.handle(Input::Tap(Action::SubmitPin), t0),
            vec![Command::Approve {
                manager_id: "m1".into(),
                pin: "9999".into()
            }]
        );
        c.handle(
            Input::Done(Done::Approved(Err(StoreError::WrongPin {
                attempts_left: 4,
            }))),
            t0,
        );
        assert_eq!(c.page, Page::Home);
        assert!(
            c.prompt
                .as_ref()
                .unwrap()
                .error
                .as_ref()
                .unwrap()
                .contains("Wrong PIN")
        );
        assert!(
            c.prompt.as_ref().unwrap().pin.is_empty(),
            "a refused PIN is cleared"
        );
        c.handle(Input::Tap(Action::CancelApproval), t0);
        assert!(c.prompt.is_none());
        assert!(c.approval.is_none());
    }

    #[test]
    fn an_answer_to_an_older_price_request_is_dropped() {
        let (mut c, t0) = logged_in();
        c.handle(Input::Done(Done::LoggedIn(Ok(clerk()))), t0);
        c.handle(Input::Tap(Action::OpenCheckout), t0);
        for k in "10".chars() {
            c.handle(Input::Key(Key::from_label(&k.to_string()).unwrap()), t0);
        }
        let first = c.handle(Input::Tap(Action::QuickKey(0)), t0);
        for k in "20".chars() {
            c.handle(Input::Key(Key::from_label(&k.to_string()).unwrap()), t0);
        }
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
        let (mut c, t0) = logged_in();
        c.handle(Input::Done(Done::LoggedIn(Ok(clerk()))), t0);
        assert!(
            c.handle(Input::Tap(Action::ConfirmSale), t0).is_empty(),
            "nothing rung up"
        );
    }

    #[test]
    fn the_text_keyboard_types_into_its_field_and_goes_away_with_its_screen() {
        let (mut c, t0) = logged_in();
        c.handle(Input::Done(Done::LoggedIn(Ok(clerk()))), t0);
        let tap = |c: &mut Counter, a: Action| c.handle(Input::Tap(a), t0);
        tap(&mut c, Action::OpenKeyboard(TextField::HeadOfficeUrl));
        assert!(
            c.keyboard.is_none(),
            "not on the settings screen: no keyboard"
        );
        tap(&mut c, Action::OpenEnroll);
        tap(&mut c, Action::OpenKeyboard(TextField::EnrollName));
        for key in [TextKey::Char('W'), TextKey::Char('u')] {
            tap(&mut c, Action::TypeKey(key));
        }
        assert_eq!(c.enroll.name, "Wu");
        tap(
            &mut c,
            Action::SetText(TextField::EnrollName, "x".repeat(100)),
        );
        assert_eq!(c.enroll.name.len(), TextField::EnrollName.max_chars());
        assert!(c.keyboard.is_some());
        tap(&mut c, Action::Home);
        assert!(c.keyboard.is_none(), "leaving the screen closes it");
        tap(&mut c, Action::TypeKey(TextKey::Char('z')));
        assert_eq!(
            c.enroll.name.len(),
            TextField::EnrollName.max_chars(),
            "a stray key types nothing"
        );
    }

    #[test]
    fn register_sends_the_typed_address_and_code_trimmed_and_refuses_blanks() {
        let (mut c, t0) = logged_in();
        c.handle(Input::Done(Done::LoggedIn(Ok(clerk()))), t0);
        c.hq_url = " https://hq.example.com ".into();
        c.provision_code = "K7Q2-9XHM".into();
        assert!(
            c.handle(Input::Tap(Action::Provision), t0).is_empty(),
            "not from the scan screen"
        );
        c.handle(Input::Tap(Action::OpenSettings), t0);
        assert!(c.prompt.is_some(), "settings ask for a manager");
        c.handle(Input::Done(Done::Approved(Ok(approval()))), t0);
        assert_eq!(c.page, Page::Settings);
        c.provision_code.clear();
        assert!(c.handle(Input::Tap(Action::Provision), t0).is_empty());
        assert!(c.provision_result.as_ref().is_some_and(|n| n.bad));
        c.provision_code = "K7Q2-9XHM\n".into();
        assert_eq!(
            c.handle(Input::Tap(Action::Provision), t0),
            vec![Command::Provision {
                url: "https://hq.example.com".into(),
                code: "K7Q2-9XHM".into()
            }]
        );
        c.handle(Input::Done(Done::Provisioned(Ok(()))), t0);
        assert!(c.provision_code.is_empty(), "the spent code is cleared");
        assert!(c.head_office_configured);
    }
}
