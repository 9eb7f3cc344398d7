//! A clerk head office set up chooses their first PIN at sign-in: picking
//! their name opens the set-up instead of the PIN pad; they type the setup
//! code head office showed, the new PIN, and the PIN again. A PIN the
//! policy refuses ([`crate::pins`]: too short for the clerk's role, 1111,
//! 1234, 1988, 2580) or a repeat that differs is refused on the spot;
//! the code is checked by head office, which answers the clerk with the
//! PIN hash sealed to this terminal, and the clerk is signed in.

use crate::counter::keypad::{Entry, EntryKind, Key};
use crate::counter::messages::{Command, HeadOfficeRefusal, Page, PinSetup, PinSetupStep, Sound};
use crate::counter::state::Counter;
use crate::counter::text;
use crate::pins;
use crate::store::clerks::Clerk;

impl Counter {
    /// Picking a clerk with no PIN yet opens their set-up.
    pub(in crate::counter) fn open_pin_setup(&mut self, staff_id: &str) -> bool {
        let Some(clerk) = self.clerks.iter().find(|c| c.id == staff_id && !c.has_pin) else {
            return false;
        };
        self.pin_setup = Some(PinSetup {
            staff_id: clerk.id.clone(),
            name: clerk.name.clone(),
            role: clerk.role,
            step: PinSetupStep::SetupCode,
            setup_code: Entry::new(EntryKind::SetupCode),
            pin: Entry::new(EntryKind::Pin),
            repeat: Entry::new(EntryKind::Pin),
            error: None,
        });
        self.go(Page::PinSetup);
        true
    }

    /// A keypad key into the step on screen.
    pub(in crate::counter) fn press_pin_setup_key(&mut self, key: Key) {
        let Some(form) = &mut self.pin_setup else {
            return;
        };
        match form.step {
            PinSetupStep::SetupCode => form.setup_code.press(key),
            PinSetupStep::NewPin => form.pin.press(key),
            PinSetupStep::Repeat => form.repeat.press(key),
            PinSetupStep::Sending => {}
        }
    }

    /// [`Action::PinSetupNext`](crate::counter::Action::PinSetupNext).
    pub(in crate::counter) fn tap_pin_setup_next(&mut self) -> Vec<Command> {
        let language = self.language;
        let Some(form) = &mut self.pin_setup else {
            return Vec::new();
        };
        form.error = None;
        match form.step {
            PinSetupStep::SetupCode => {
                if tillcard_protocol::staff::is_setup_code(form.setup_code.text()) {
                    form.step = PinSetupStep::NewPin;
                } else {
                    form.error = Some(text::setup_code_shape(language));
                }
                Vec::new()
            }
            PinSetupStep::NewPin => {
                match pins::check_pin(form.pin.text(), form.role.into()) {
                    Err(problem) => {
                        form.pin.clear();
                        form.error = Some(text::new_pin_problem(language, problem));
                    }
                    Ok(()) => form.step = PinSetupStep::Repeat,
                }
                Vec::new()
            }
            PinSetupStep::Repeat => {
                if let Err(problem) =
                    pins::check_new_pin(form.pin.text(), form.repeat.text(), form.role.into())
                {
                    form.pin.clear();
                    form.repeat.clear();
                    form.step = PinSetupStep::NewPin;
                    form.error = Some(text::new_pin_problem(language, problem));
                    return vec![Command::Play(Sound::Bad)];
                }
                form.step = PinSetupStep::Sending;
                vec![Command::SetPin {
                    staff_id: form.staff_id.clone(),
                    setup_code: form.setup_code.text().to_owned(),
                    pin: form.pin.text().to_owned(),
                }]
            }
            PinSetupStep::Sending => Vec::new(),
        }
    }

    /// [`Action::PinSetupBack`](crate::counter::Action::PinSetupBack): a
    /// step back; from the setup code, back to sign-in.
    pub(in crate::counter) fn tap_pin_setup_back(&mut self) -> Vec<Command> {
        let Some(form) = &mut self.pin_setup else {
            return Vec::new();
        };
        form.error = None;
        match form.step {
            PinSetupStep::SetupCode => {
                self.pin_setup = None;
                self.go(Page::Login);
            }
            PinSetupStep::NewPin => {
                form.pin.clear();
                form.step = PinSetupStep::SetupCode;
            }
            PinSetupStep::Repeat => {
                form.repeat.clear();
                form.step = PinSetupStep::NewPin;
            }
            PinSetupStep::Sending => {}
        }
        Vec::new()
    }

    /// Head office answered the set-up: signed in, or why not (a code
    /// problem goes back to the code, anything else stays on the repeat
    /// to send again).
    pub(in crate::counter) fn done_pin_set(
        &mut self,
        result: Result<Clerk, HeadOfficeRefusal>,
    ) -> Vec<Command> {
        match result {
            Ok(clerk) => {
                self.pin_setup = None;
                self.login_clerk = Some(clerk.id().to_owned());
                self.clerk = Some(clerk);
                self.go(Page::Home);
                vec![Command::LoadClerks, Command::Play(Sound::Confirm)]
            }
            Err(refusal) => {
                let language = self.language;
                if let Some(form) = &mut self.pin_setup {
                    let code_problem = matches!(
                        &refusal,
                        HeadOfficeRefusal::Refused { code, .. } if code.starts_with("setup_code")
                    );
                    if code_problem {
                        form.setup_code.clear();
                        form.pin.clear();
                        form.repeat.clear();
                        form.step = PinSetupStep::SetupCode;
                    } else {
                        form.step = PinSetupStep::Repeat;
                    }
                    form.error = Some(text::head_office_refusal(language, &refusal));
                }
                vec![Command::Play(Sound::Bad)]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use crate::counter::keypad::Key;
    use crate::counter::messages::{
        Action, ClerkEntry, Command, Done, HeadOfficeRefusal, Input, Page, PinSetupStep,
    };
    use crate::counter::state::Counter;
    use crate::format::Language;
    use crate::store::clerks::Role;

    fn at_sign_in() -> (Counter, Instant) {
        let mut c = Counter::new(Language::En, Duration::from_secs(120), true);
        let t0 = Instant::now();
        c.handle(
            Input::Done(Done::Clerks(Ok(vec![
                ClerkEntry {
                    id: "li.na".into(),
                    name: "Li Na".into(),
                    role: Role::Cashier,
                    has_pin: false,
                },
                ClerkEntry {
                    id: "wang".into(),
                    name: "Wang".into(),
                    role: Role::Manager,
                    has_pin: true,
                },
            ]))),
            t0,
        );
        (c, t0)
    }

    fn type_digits(c: &mut Counter, digits: &str, t0: Instant) -> usize {
        for d in digits.bytes() {
            c.handle(Input::Key(Key::Digit(d - b'0')), t0);
        }
        digits.len()
    }

    #[test]
    fn a_clerk_without_a_pin_sets_one_with_the_setup_code_in_three_steps() {
        let (mut c, t0) = at_sign_in();
        let mut taps = 1;
        c.handle(Input::Tap(Action::SelectClerk("li.na".into())), t0);
        assert_eq!(c.page, Page::PinSetup);
        taps += type_digits(&mut c, "04718263", t0);
        taps += 1;
        c.handle(Input::Tap(Action::PinSetupNext), t0);
        taps += type_digits(&mut c, "3817", t0);
        taps += 1;
        c.handle(Input::Tap(Action::PinSetupNext), t0);
        taps += type_digits(&mut c, "3817", t0);
        taps += 1;
        let sent = c.handle(Input::Tap(Action::PinSetupNext), t0);
        assert_eq!(
            sent,
            vec![Command::SetPin {
                staff_id: "li.na".into(),
                setup_code: "04718263".into(),
                pin: "3817".into(),
            }]
        );
        println!("PIN set-up: {taps} taps from the clerk's name to sending");
        assert_eq!(taps, 20, "name, 8 code digits, 3 x next, 2 x 4 PIN digits");
        assert_eq!(
            c.pin_setup.as_ref().map(|f| f.step),
            Some(PinSetupStep::Sending)
        );
        assert!(
            c.handle(Input::Tap(Action::PinSetupNext), t0).is_empty(),
            "sent once"
        );
    }

    #[test]
    fn trivial_and_mismatched_pins_are_refused_on_the_spot() {
        let (mut c, t0) = at_sign_in();
        c.handle(Input::Tap(Action::SelectClerk("li.na".into())), t0);
        type_digits(&mut c, "047182", t0);
        c.handle(Input::Tap(Action::PinSetupNext), t0);
        assert!(
            c.pin_setup.as_ref().and_then(|f| f.error.clone()).is_some(),
            "a short code"
        );
        type_digits(&mut c, "63", t0);
        c.handle(Input::Tap(Action::PinSetupNext), t0);
        for trivial in ["1111", "1234", "123456"] {
            type_digits(&mut c, trivial, t0);
            c.handle(Input::Tap(Action::PinSetupNext), t0);
            let form = c.pin_setup.clone().unwrap();
            assert_eq!(form.step, PinSetupStep::NewPin, "{trivial}");
            assert!(form.error.is_some() && form.pin.is_empty(), "{trivial}");
        }
        type_digits(&mut c, "3817", t0);
        c.handle(Input::Tap(Action::PinSetupNext), t0);
        type_digits(&mut c, "3818", t0);
        assert_eq!(
            c.handle(Input::Tap(Action::PinSetupNext), t0),
            vec![Command::Play(crate::counter::messages::Sound::Bad)]
        );
        let form = c.pin_setup.clone().unwrap();
        assert_eq!(
            form.step,
            PinSetupStep::NewPin,
            "a mismatch starts the PIN again"
        );
        assert!(form.error.is_some());
    }

    #[test]
    fn a_used_code_goes_back_to_the_code_and_success_signs_the_clerk_in() {
        let (mut c, t0) = at_sign_in();
        c.handle(Input::Tap(Action::SelectClerk("li.na".into())), t0);
        type_digits(&mut c, "04718263", t0);
        c.handle(Input::Tap(Action::PinSetupNext), t0);
        type_digits(&mut c, "3817", t0);
        c.handle(Input::Tap(Action::PinSetupNext), t0);
        type_digits(&mut c, "3817", t0);
        c.handle(Input::Tap(Action::PinSetupNext), t0);
        c.handle(
            Input::Done(Done::PinSet(Err(HeadOfficeRefusal::Refused {
                code: "setup_code_used".into(),
                detail: "used".into(),
            }))),
            t0,
        );
        let form = c.pin_setup.clone().unwrap();
        assert_eq!(form.step, PinSetupStep::SetupCode);
        assert!(form.setup_code.is_empty() && form.pin.is_empty());
        assert!(form.error.unwrap().contains("used"));
        // Offline: stays on the repeat, to send again.
        c.pin_setup.as_mut().unwrap().step = PinSetupStep::Sending;
        c.handle(
            Input::Done(Done::PinSet(Err(HeadOfficeRefusal::Unreachable))),
            t0,
        );
        assert_eq!(
            c.pin_setup.as_ref().map(|f| f.step),
            Some(PinSetupStep::Repeat)
        );
        let clerk = crate::counter::flows::testing::clerk();
        c.handle(Input::Done(Done::PinSet(Ok(clerk))), t0);
        assert_eq!(c.page, Page::Home);
        assert!(c.clerk.is_some() && c.pin_setup.is_none());
    }

    #[test]
    fn a_clerk_with_a_pin_gets_the_pin_pad_and_back_returns_to_sign_in() {
        let (mut c, t0) = at_sign_in();
        c.handle(Input::Tap(Action::SelectClerk("wang".into())), t0);
        assert_eq!(c.page, Page::Login);
        c.handle(Input::Tap(Action::SelectClerk("li.na".into())), t0);
        assert_eq!(c.page, Page::PinSetup);
        c.handle(Input::Tap(Action::PinSetupBack), t0);
        assert_eq!(c.page, Page::Login);
        assert!(c.pin_setup.is_none());
    }
}
