//! The enrollment flow: a new member at the door. The form (phone from the
//! keypad, surname keys or typed name, birthday, consent, a scanned
//! referrer), sent once, and the new member's card on the screen after.
//! The form's fields and checks are `counter::forms`; this flow is what
//! each tap and the store's answer do to it.

use crate::counter::forms::{EnrollForm, EnrollProblem};
use crate::counter::member::MemberSnapshot;
use crate::counter::messages::{Command, EnrollDone, Page, Sound};
use crate::counter::state::Counter;
use crate::counter::text;
use crate::store::StoreError;

impl Counter {
    /// [`Action::OpenEnroll`](crate::counter::Action::OpenEnroll): an
    /// empty form.
    pub(in crate::counter) fn tap_open_enroll(&mut self) -> Vec<Command> {
        self.enroll = EnrollForm::default();
        self.go(Page::Enroll);
        Vec::new()
    }

    /// [`Action::Surname`](crate::counter::Action::Surname).
    pub(in crate::counter) fn tap_surname(&mut self, surname: String) -> Vec<Command> {
        self.enroll.name = surname;
        Vec::new()
    }

    /// [`Action::BirthdayMonth`](crate::counter::Action::BirthdayMonth).
    pub(in crate::counter) fn tap_birthday_month(&mut self, d: i8) -> Vec<Command> {
        self.enroll.step_month(d);
        Vec::new()
    }

    /// [`Action::BirthdayDay`](crate::counter::Action::BirthdayDay).
    pub(in crate::counter) fn tap_birthday_day(&mut self, d: i8) -> Vec<Command> {
        self.enroll.step_day(d);
        Vec::new()
    }

    /// [`Action::ToggleConsent`](crate::counter::Action::ToggleConsent).
    pub(in crate::counter) fn tap_toggle_consent(&mut self) -> Vec<Command> {
        self.enroll.consent = !self.enroll.consent;
        Vec::new()
    }

    /// [`Action::ClearReferrer`](crate::counter::Action::ClearReferrer).
    pub(in crate::counter) fn tap_clear_referrer(&mut self) -> Vec<Command> {
        self.enroll.referrer = None;
        Vec::new()
    }

    /// A member scanned on the enrollment screen becomes the referrer.
    pub(in crate::counter) fn referrer_found(&mut self, member: MemberSnapshot) -> Vec<Command> {
        self.enroll.referrer = Some(member);
        Vec::new()
    }

    /// [`Action::SubmitEnroll`](crate::counter::Action::SubmitEnroll): the
    /// form once it is complete, and only once.
    pub(in crate::counter) fn tap_submit_enroll(&mut self) -> Vec<Command> {
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

    /// The member enrolled (their card on screen), or why not.
    pub(in crate::counter) fn done_enrolled(
        &mut self,
        result: Result<EnrollDone, StoreError>,
    ) -> Vec<Command> {
        match result {
            Ok(enrolled) => {
                self.member = Some(enrolled.member.clone());
                self.enrolled = Some(enrolled);
                self.enroll = EnrollForm::default();
                self.go(Page::EnrollDone);
                vec![Command::Play(Sound::Confirm)]
            }
            Err(e) => {
                self.enroll.submitting = false;
                self.enroll.error = Some(text::store_error(self.language, &e));
                vec![Command::Play(Sound::Bad)]
            }
        }
    }

    /// The store could not take the form: it can be sent again.
    pub(in crate::counter) fn enroll_store_failed(&mut self) {
        self.enroll.submitting = false;
    }
}
