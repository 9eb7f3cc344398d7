//! A new till's first run, from an empty store to the first sign-in: the
//! store's enrollment code typed on the screen, the registration (the code
//! is the authority: no manager PIN exists yet), then waiting while the
//! store's staff, program and members come down, then the sign-in screen.
//! With no network the screen says so and tries again by itself; a code
//! head office refuses is explained and can be typed again.
//!
//! Head office's enrollment QR (`TCE1:`, `tillcard_protocol::enrollment`)
//! scanned here fills the code and the pin of head office's certificate
//! at once and registers: that registration's TLS connection accepts that
//! certificate only, so it cannot be intercepted; a refused certificate is
//! said as "do not continue, call head office", and nothing is registered.
//!
//! Only a till on a real configuration (head office's address, no demo)
//! with no clerk opens it ([`Counter::with_first_run`]); registering a till
//! that is registered already stays a manager's act in settings.

use std::time::{Duration, Instant};

use tillcard_protocol::enrollment::EnrollmentText;

use crate::counter::keypad::Key;
use crate::counter::messages::{Command, FirstRunStep, HeadOfficeRefusal, Notice, Page};
use crate::counter::state::Counter;
use crate::counter::text;

/// How long an offline first run waits before trying head office again.
pub const OFFLINE_RETRY: Duration = Duration::from_secs(10);
/// How often a registered till looks whether its staff arrived.
pub const STAFF_POLL: Duration = Duration::from_secs(2);

impl Counter {
    /// The clerk list came back: an empty one on a real configuration is
    /// a till on its first run; staff arriving ends it.
    pub(in crate::counter) fn first_run_after_clerks(&mut self, have_clerks: bool) -> Vec<Command> {
        if have_clerks {
            if self.first_run.take().is_some() {
                self.first_run_retry_at = None;
                self.provision_result = None;
                self.go(Page::Login);
            }
            return Vec::new();
        }
        if !self.first_run_possible || self.first_run.is_some() {
            return Vec::new();
        }
        self.go(Page::FirstRun);
        if self.registered {
            self.first_run = Some(FirstRunStep::WaitingForStaff);
            vec![Command::StartSync, Command::SyncNow]
        } else {
            self.first_run = Some(FirstRunStep::EnterCode);
            Vec::new()
        }
    }

    /// Head office's enrollment QR scanned on the first-run screen: the
    /// code and the certificate's pin filled in, then registered at once.
    /// Its address must be the configured head office's.
    pub(in crate::counter) fn scanned_enrollment(&mut self, text: &str) -> Vec<Command> {
        if !matches!(
            self.first_run,
            Some(FirstRunStep::EnterCode | FirstRunStep::Offline)
        ) {
            return Vec::new();
        }
        let bad = |c: &mut Counter, text: String| {
            c.provision_result = Some(Notice { text, bad: true });
            vec![Command::Play(crate::counter::messages::Sound::Bad)]
        };
        let scanned = match EnrollmentText::parse(text) {
            Ok(scanned) => scanned,
            Err(problem) => return bad(self, text::enrollment_qr_problem(self.language, &problem)),
        };
        let configured = self.hq_url.trim().trim_end_matches('/');
        if !configured.is_empty() && !configured.eq_ignore_ascii_case(&scanned.url) {
            let said =
                text::enrollment_qr_other_head_office(self.language, &scanned.url, configured);
            return bad(self, said);
        }
        self.hq_url = scanned.url;
        self.first_run_code.clear();
        for digit in scanned.code.bytes() {
            self.first_run_code.press(Key::Digit(digit - b'0'));
        }
        self.first_run_pin = Some(scanned.pin);
        self.tap_register()
    }

    /// [`Action::Register`](crate::counter::Action::Register): the code
    /// as keyed, all its digits, to head office's configured address.
    pub(in crate::counter) fn tap_register(&mut self) -> Vec<Command> {
        if self.page != Page::FirstRun
            || !matches!(
                self.first_run,
                Some(FirstRunStep::EnterCode | FirstRunStep::Offline)
            )
        {
            return Vec::new();
        }
        let code = self.first_run_code.text().to_owned();
        if code.len() != tillcard_protocol::auth::ENROLL_CODE_DIGITS {
            self.provision_result = Some(Notice {
                text: text::type_the_store_code(self.language),
                bad: true,
            });
            return Vec::new();
        }
        if let Err(problem) = crate::config::check_head_office_url(&self.hq_url) {
            self.first_run = Some(FirstRunStep::EnterCode);
            self.provision_result = Some(Notice {
                text: text::head_office_address(self.language, &problem),
                bad: true,
            });
            return Vec::new();
        }
        self.first_run = Some(FirstRunStep::Registering);
        self.first_run_retry_at = None;
        self.provision_result = None;
        vec![Command::Provision {
            url: self.hq_url.trim().to_owned(),
            code,
            approval: None,
            pin: self.first_run_pin,
        }]
    }

    /// Head office answered the first run's registration.
    pub(in crate::counter) fn first_run_provisioned(
        &mut self,
        result: Result<(), HeadOfficeRefusal>,
    ) -> Vec<Command> {
        match result {
            Ok(()) => {
                self.registered = true;
                self.head_office_configured = true;
                self.first_run_code.clear();
                self.first_run_pin = None;
                self.provision_result = None;
                self.first_run = Some(FirstRunStep::WaitingForStaff);
                vec![Command::StartSync, Command::SyncNow]
            }
            Err(HeadOfficeRefusal::Unreachable) => {
                // The step's own line says head office is out of reach and
                // that the till tries again.
                self.first_run = Some(FirstRunStep::Offline);
                self.provision_result = None;
                Vec::new()
            }
            Err(refusal) => {
                self.first_run = Some(FirstRunStep::EnterCode);
                self.provision_result = Some(Notice {
                    text: text::head_office_refusal(self.language, &refusal),
                    bad: true,
                });
                vec![Command::Play(crate::counter::messages::Sound::Bad)]
            }
        }
    }

    /// Time passes on the first-run screen: offline, the registration is
    /// tried again; registered, the clerk list is read again until the
    /// staff are there.
    pub(in crate::counter) fn first_run_tick(&mut self, now: Instant) -> Vec<Command> {
        let wait = match self.first_run {
            Some(FirstRunStep::Offline) => OFFLINE_RETRY,
            Some(FirstRunStep::WaitingForStaff) => STAFF_POLL,
            _ => {
                self.first_run_retry_at = None;
                return Vec::new();
            }
        };
        let Some(due) = self.first_run_retry_at else {
            self.first_run_retry_at = Some(now + wait);
            return Vec::new();
        };
        if now < due {
            return Vec::new();
        }
        self.first_run_retry_at = Some(now + wait);
        match self.first_run {
            Some(FirstRunStep::Offline) => self.tap_register(),
            _ => vec![Command::SyncNow, Command::LoadClerks],
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use crate::counter::keypad::Key;
    use crate::counter::messages::{
        Action, ClerkEntry, Command, Done, FirstRunStep, HeadOfficeRefusal, Input, Page,
    };
    use crate::counter::state::Counter;
    use crate::format::Language;
    use crate::store::clerks::Role;

    use super::{OFFLINE_RETRY, STAFF_POLL};

    fn new_till() -> (Counter, Instant) {
        let mut c =
            Counter::new(Language::En, Duration::from_secs(120), true).with_first_run(false);
        c.hq_url = "https://hq.example.com".into();
        (c, Instant::now())
    }

    const CODE: &str = "1234567890123456";

    fn key_in(c: &mut Counter, digits: &str, at: Instant) {
        for d in digits.bytes() {
            c.handle(Input::Key(Key::Digit(d - b'0')), at);
        }
    }

    fn staff() -> Vec<ClerkEntry> {
        vec![ClerkEntry {
            id: "li.na".into(),
            name: "Li Na".into(),
            role: Role::Cashier,
            has_pin: false,
        }]
    }

    #[test]
    fn a_first_run_to_a_plain_http_head_office_elsewhere_is_refused_before_sending() {
        let (mut c, t0) = new_till();
        c.hq_url = "http://192.168.1.20:8080".into();
        c.handle(Input::Done(Done::Clerks(Ok(Vec::new()))), t0);
        assert_eq!(c.first_run, Some(FirstRunStep::EnterCode));
        key_in(&mut c, CODE, t0);
        assert!(
            c.handle(Input::Tap(Action::Register), t0).is_empty(),
            "the code is not sent in the clear"
        );
        assert_eq!(c.first_run, Some(FirstRunStep::EnterCode));
        let notice = c.provision_result.as_ref().expect("the reason is shown");
        assert!(
            notice.bad && notice.text.contains("https://192.168.1.20"),
            "{}",
            notice.text
        );
        println!("{}", notice.text);
    }

    #[test]
    fn an_empty_till_registers_with_the_code_waits_for_staff_then_shows_sign_in() {
        let (mut c, t0) = new_till();
        assert_eq!(c.start(), vec![Command::LoadClerks]);
        c.handle(Input::Done(Done::Clerks(Ok(Vec::new()))), t0);
        assert_eq!(c.page, Page::FirstRun);
        assert_eq!(c.first_run, Some(FirstRunStep::EnterCode));
        assert!(
            c.handle(Input::Tap(Action::Register), t0).is_empty(),
            "no code yet"
        );
        assert!(c.provision_result.as_ref().is_some_and(|n| n.bad));
        key_in(&mut c, &CODE[..15], t0);
        assert!(
            c.handle(Input::Tap(Action::Register), t0).is_empty(),
            "a digit short"
        );
        key_in(&mut c, &CODE[15..], t0);
        assert_eq!(c.first_run_code.display(), "1234 5678 9012 3456");
        assert_eq!(
            c.handle(Input::Tap(Action::Register), t0),
            vec![Command::Provision {
                url: "https://hq.example.com".into(),
                code: CODE.into(),
                approval: None,
                pin: None,
            }],
            "the code is the authority: no manager approval"
        );
        assert_eq!(c.first_run, Some(FirstRunStep::Registering));
        assert_eq!(
            c.handle(Input::Done(Done::Provisioned(Ok(()))), t0),
            vec![Command::StartSync, Command::SyncNow]
        );
        assert_eq!(c.first_run, Some(FirstRunStep::WaitingForStaff));
        assert!(c.first_run_code.is_empty(), "the spent code is not kept");
        // Waiting: the clerk list is read again until the staff are there.
        assert!(c.handle(Input::Tick, t0).is_empty());
        assert_eq!(
            c.handle(Input::Tick, t0 + STAFF_POLL),
            vec![Command::SyncNow, Command::LoadClerks]
        );
        c.handle(Input::Done(Done::Clerks(Ok(Vec::new()))), t0 + STAFF_POLL);
        assert_eq!(c.page, Page::FirstRun, "still nobody");
        c.handle(Input::Done(Done::Clerks(Ok(staff()))), t0 + STAFF_POLL);
        assert_eq!(c.page, Page::Login);
        assert_eq!(c.first_run, None);
        assert_eq!(c.login_clerk.as_deref(), Some("li.na"));
    }

    #[test]
    fn offline_the_first_run_says_so_and_tries_again_by_itself() {
        let (mut c, t0) = new_till();
        c.handle(Input::Done(Done::Clerks(Ok(Vec::new()))), t0);
        key_in(&mut c, CODE, t0);
        c.handle(Input::Tap(Action::Register), t0);
        c.handle(
            Input::Done(Done::Provisioned(Err(HeadOfficeRefusal::Unreachable))),
            t0,
        );
        assert_eq!(c.first_run, Some(FirstRunStep::Offline));
        assert!(
            crate::counter::text::first_run_step(Language::En, FirstRunStep::Offline)
                .contains("cannot be reached"),
            "the step line says so"
        );
        assert!(c.handle(Input::Tick, t0).is_empty());
        assert!(c.handle(Input::Tick, t0 + OFFLINE_RETRY / 2).is_empty());
        assert_eq!(
            c.handle(Input::Tick, t0 + OFFLINE_RETRY),
            vec![Command::Provision {
                url: "https://hq.example.com".into(),
                code: CODE.into(),
                approval: None,
                pin: None,
            }]
        );
    }

    #[test]
    fn a_refused_code_is_explained_and_can_be_typed_again() {
        let (mut c, t0) = new_till();
        c.handle(Input::Done(Done::Clerks(Ok(Vec::new()))), t0);
        key_in(&mut c, CODE, t0);
        c.handle(Input::Tap(Action::Register), t0);
        c.handle(
            Input::Done(Done::Provisioned(Err(HeadOfficeRefusal::Refused {
                code: "code_expired".into(),
                detail: "expired".into(),
            }))),
            t0,
        );
        assert_eq!(c.first_run, Some(FirstRunStep::EnterCode));
        let said = c
            .provision_result
            .clone()
            .map(|n| n.text)
            .unwrap_or_default();
        assert!(said.contains("expired"), "{said}");
        assert!(
            c.handle(Input::Tick, t0 + OFFLINE_RETRY * 2).is_empty(),
            "no retry of a refusal"
        );
        assert_eq!(
            c.handle(Input::Tap(Action::Register), t0).len(),
            1,
            "typed again"
        );
    }

    #[test]
    fn a_scanned_enrollment_qr_registers_with_its_pin_and_another_head_offices_is_refused() {
        use crate::scan::outcome::ScanOutcome;
        use tillcard_protocol::enrollment::{CertificatePin, EnrollmentText};
        let pin = CertificatePin::of_der(b"head office's certificate");
        let qr = |url: &str| {
            EnrollmentText {
                url: url.into(),
                code: CODE.into(),
                pin,
            }
            .to_text()
        };
        let (mut c, t0) = new_till();
        c.handle(Input::Done(Done::Clerks(Ok(Vec::new()))), t0);
        let other = c.handle(
            Input::Scanned(ScanOutcome::Enrollment(qr("https://evil.example.com"))),
            t0,
        );
        assert_eq!(other.len(), 1, "a bad sound, nothing sent: {other:?}");
        let said = c.provision_result.clone().unwrap().text;
        println!("{said}");
        assert!(said.contains("evil.example.com"), "{said}");
        assert_eq!(
            c.handle(
                Input::Scanned(ScanOutcome::Enrollment(qr("https://hq.example.com"))),
                t0
            ),
            vec![Command::Provision {
                url: "https://hq.example.com".into(),
                code: CODE.into(),
                approval: None,
                pin: Some(pin),
            }],
            "scanned: code and pin filled, registering at once"
        );
        assert_eq!(c.first_run, Some(FirstRunStep::Registering));
        c.handle(
            Input::Done(Done::Provisioned(Err(HeadOfficeRefusal::Certificate(
                crate::uplink::CertificateProblem::NotPinned,
            )))),
            t0,
        );
        let said = c.provision_result.clone().unwrap().text;
        println!("{said}");
        assert!(said.contains("do not continue, call head office"), "{said}");
        assert_eq!(c.first_run, Some(FirstRunStep::EnterCode));
    }

    #[test]
    fn a_demo_or_a_till_with_clerks_never_opens_the_first_run() {
        let mut demo = Counter::new(Language::En, Duration::from_secs(120), false);
        demo.handle(Input::Done(Done::Clerks(Ok(Vec::new()))), Instant::now());
        assert_eq!(demo.page, Page::Login);
        let (mut staffed, t0) = new_till();
        staffed.handle(Input::Done(Done::Clerks(Ok(staff()))), t0);
        assert_eq!(staffed.page, Page::Login);
        assert!(staffed.handle(Input::Tap(Action::Register), t0).is_empty());
    }

    #[test]
    fn a_registered_till_without_staff_waits_for_them_at_once() {
        let mut c = Counter::new(Language::En, Duration::from_secs(120), true).with_first_run(true);
        assert_eq!(
            c.handle(Input::Done(Done::Clerks(Ok(Vec::new()))), Instant::now()),
            vec![Command::StartSync, Command::SyncNow]
        );
        assert_eq!(c.first_run, Some(FirstRunStep::WaitingForStaff));
    }
}
