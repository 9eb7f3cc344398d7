//! The settings and registration flow: the language (switchable from any
//! screen, even locked), the sync screen's "sync now", and registering
//! this terminal with head office (the typed address and one-time code, a
//! manager's act on the settings screen; syncing starts when it worked).

use crate::counter::messages::{Command, HeadOfficeRefusal, Notice, Page};
use crate::counter::state::Counter;
use crate::counter::text;
use crate::format::Language;

impl Counter {
    /// [`Action::SetLanguage`](crate::counter::Action::SetLanguage).
    pub(in crate::counter) fn tap_set_language(&mut self, language: Language) -> Vec<Command> {
        self.language = language;
        // Words already on screen were built in the old language: they go,
        // and the step lines (built at each render) say where things stand.
        self.notice = None;
        self.provision_result = None;
        Vec::new()
    }

    /// [`Action::SyncNow`](crate::counter::Action::SyncNow).
    pub(in crate::counter) fn tap_sync_now(&mut self) -> Vec<Command> {
        vec![Command::SyncNow]
    }

    /// [`Action::Provision`](crate::counter::Action::Provision): register
    /// with the address and code as typed, trimmed; blanks are refused.
    /// Head office's enrollment QR text pasted as the code (`TCE1:...`)
    /// gives the address, the code and the certificate's pin at once.
    pub(in crate::counter) fn tap_provision(&mut self) -> Vec<Command> {
        self.keyboard = None;
        // Registering is a manager's act on the settings screen.
        if self.page != Page::Settings || self.approval.is_none() {
            return Vec::new();
        }
        let mut pin = None;
        if self
            .provision_code
            .trim_start()
            .starts_with(tillcard_protocol::enrollment::PREFIX)
        {
            match tillcard_protocol::enrollment::EnrollmentText::parse(&self.provision_code) {
                Ok(pasted) => {
                    self.hq_url = pasted.url;
                    self.provision_code = pasted.code;
                    pin = Some(pasted.pin);
                }
                Err(problem) => {
                    self.provision_result = Some(Notice {
                        text: text::enrollment_qr_problem(self.language, &problem),
                        bad: true,
                    });
                    return Vec::new();
                }
            }
        }
        let (url, code) = (self.hq_url.trim(), self.provision_code.trim());
        if url.is_empty() || code.is_empty() {
            self.provision_result = Some(Notice {
                text: text::fill_in_registration(self.language),
                bad: true,
            });
            return Vec::new();
        }
        if let Err(problem) = crate::config::check_head_office_url(url) {
            self.provision_result = Some(Notice {
                text: text::head_office_address(self.language, &problem),
                bad: true,
            });
            return Vec::new();
        }
        self.provision_result = None;
        vec![Command::Provision {
            url: url.to_owned(),
            code: code.to_owned(),
            approval: self.approval.clone(),
            pin,
        }]
    }

    /// Registration done (syncing starts), or why not in words.
    pub(in crate::counter) fn done_provisioned(
        &mut self,
        result: Result<(), HeadOfficeRefusal>,
    ) -> Vec<Command> {
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
            Err(refusal) => Notice {
                text: text::head_office_refusal(self.language, &refusal),
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

#[cfg(test)]
mod tests {
    use crate::counter::flows::testing::{approval, signed_in};
    use crate::counter::messages::{Action, Command, Done, Input, Page};
    use crate::format::Language;

    #[test]
    fn register_sends_the_typed_address_and_code_trimmed_and_refuses_blanks() {
        let (mut c, t0) = signed_in();
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
                code: "K7Q2-9XHM".into(),
                approval: Some(approval()),
                pin: None,
            }]
        );
        c.handle(Input::Done(Done::Provisioned(Ok(()))), t0);
        assert!(c.provision_code.is_empty(), "the spent code is cleared");
        assert!(c.head_office_configured);
    }

    #[test]
    fn register_refuses_plain_http_to_another_machine_in_the_clerks_language() {
        let (mut c, t0) = signed_in();
        c.handle(Input::Tap(Action::OpenSettings), t0);
        c.handle(Input::Done(Done::Approved(Ok(approval()))), t0);
        assert_eq!(c.page, Page::Settings);
        c.provision_code = "K7Q2-9XHM".into();
        for (language, words) in [
            (Language::En, "https://"),
            (Language::ZhCn, "必须以 https://"),
        ] {
            c.handle(Input::Tap(Action::SetLanguage(language)), t0);
            c.hq_url = "http://hq.example.com".into();
            assert!(
                c.handle(Input::Tap(Action::Provision), t0).is_empty(),
                "nothing is sent to a plain-http address"
            );
            let notice = c.provision_result.as_ref().expect("the refusal is shown");
            assert!(notice.bad);
            assert!(notice.text.contains(words), "{}", notice.text);
            assert!(notice.text.contains("hq.example.com"), "{}", notice.text);
            println!("{language:?}: {}", notice.text);
        }
        c.hq_url = "http://127.0.0.1:8080".into();
        assert_eq!(
            c.handle(Input::Tap(Action::Provision), t0).len(),
            1,
            "a head office on this machine may be plain http"
        );
    }
}
