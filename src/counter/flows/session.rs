//! The session flow: who is at the till and what they may do. Signing in
//! (the clerk list, picking a name, the PIN), locking (by hand or after the
//! idle time, coming back to the same screen), and the manager approval
//! that guards the manager screens: the PIN prompt, the approval kept for
//! one visit and forgotten on leaving. Once a manager approves, the screen
//! they asked for opens through the manager forms flow
//! (`Counter::enter_manager_page`).

use std::time::Instant;

use crate::counter::keypad::{Entry, EntryKind};
use crate::counter::messages::{Action, ApprovalPrompt, ClerkEntry, Command, Page, Sound};
use crate::counter::state::Counter;
use crate::counter::text;
use crate::store::StoreError;
use crate::store::clerks::{Approval, Clerk, Role};

impl Counter {
    /// Time passes: the till locks after the idle time, if someone is in.
    pub(in crate::counter) fn tick(&mut self, now: Instant) -> Vec<Command> {
        if self.first_run.is_some() {
            return self.first_run_tick(now);
        }
        if self.clerk.is_some()
            && self
                .last_touch
                .is_some_and(|t| now.saturating_duration_since(t) >= self.auto_lock)
        {
            self.lock();
        }
        Vec::new()
    }

    /// Locks the till: back to the login screen with the clerk preselected,
    /// remembering the screen to come back to; any approval is forgotten.
    pub(in crate::counter) fn lock(&mut self) {
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

    /// The screens only a manager's approval opens.
    pub(in crate::counter) fn is_manager_page(page: Page) -> bool {
        matches!(
            page,
            Page::Manager
                | Page::TopUp
                | Page::Refund
                | Page::Return
                | Page::Adjust
                | Page::Sync
                | Page::Settings
                | Page::ShiftClose
        )
    }

    /// [`Action::Lock`].
    pub(in crate::counter) fn tap_lock(&mut self) -> Vec<Command> {
        self.lock();
        Vec::new()
    }

    /// [`Action::Home`]: leaving the manager screens forgets the approval.
    pub(in crate::counter) fn tap_home(&mut self) -> Vec<Command> {
        if Self::is_manager_page(self.page) {
            self.approval = None;
        }
        self.prompt = None;
        self.go(Page::Home);
        Vec::new()
    }

    /// Taps while nobody is logged in: only the login screen works.
    pub(in crate::counter) fn tap_locked(&mut self, action: Action) -> Vec<Command> {
        match action {
            Action::SelectClerk(id) => {
                self.notice = None;
                if !self.open_pin_setup(&id) {
                    self.login_clerk = Some(id);
                    self.login_pin.clear();
                }
                Vec::new()
            }
            // The manager prompt over the login screen lifts a lockout.
            Action::SelectManager(id) => self.tap_select_manager(id),
            Action::CancelApproval => {
                self.prompt = None;
                Vec::new()
            }
            Action::SubmitPin if self.prompt.is_some() => self.tap_submit_manager_pin(),
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

    /// [`Action::OpenManager`]: the manager menu, after a manager's PIN.
    pub(in crate::counter) fn open_manager(&mut self) -> Vec<Command> {
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
            lifting: None,
        });
        Vec::new()
    }

    /// A manager screen: straight in with an approval, else the PIN prompt
    /// first and the screen after it.
    pub(in crate::counter) fn open_manager_page(&mut self, page: Page) -> Vec<Command> {
        if self.approval.is_none() {
            let commands = self.open_manager();
            self.resume = Some(page);
            return commands;
        }
        self.enter_manager_page(page)
    }

    /// [`Action::SelectManager`]: the manager picked in the PIN prompt.
    pub(in crate::counter) fn tap_select_manager(&mut self, id: String) -> Vec<Command> {
        if let Some(p) = &mut self.prompt {
            p.manager = Some(id);
            p.error = None;
        }
        Vec::new()
    }

    /// [`Action::SubmitPin`] while logged in: the PIN pad's OK inside the
    /// manager prompt.
    pub(in crate::counter) fn tap_submit_manager_pin(&mut self) -> Vec<Command> {
        match &self.prompt {
            Some(ApprovalPrompt {
                manager: Some(m),
                pin,
                lifting: Some(clerk_id),
                ..
            }) => vec![Command::LiftLockout {
                manager_id: m.clone(),
                pin: pin.text().to_owned(),
                clerk_id: clerk_id.clone(),
            }],
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

    /// [`Action::CancelApproval`]: the prompt closes, no screen opens.
    pub(in crate::counter) fn tap_cancel_approval(&mut self) -> Vec<Command> {
        self.prompt = None;
        self.resume = None;
        Vec::new()
    }

    /// The clerks for the login screen (the only one is preselected).
    pub(in crate::counter) fn done_clerks(
        &mut self,
        result: Result<Vec<ClerkEntry>, StoreError>,
    ) -> Vec<Command> {
        match result {
            Ok(clerks) => {
                let active = |id: &str| clerks.iter().any(|c| c.id == id);
                if self
                    .approval
                    .as_ref()
                    .is_some_and(|a| !active(a.manager_id()))
                {
                    self.approval = None;
                    if Self::is_manager_page(self.page) {
                        self.go(Page::Home);
                    }
                }
                let signed_out = self.clerk.as_ref().is_some_and(|c| !active(c.id()));
                if signed_out {
                    // Deactivated (or moved to another store) at head
                    // office while signed in here: the session ends now,
                    // not at the next lock.
                    self.lock();
                }
                if self.login_clerk.as_deref().is_some_and(|id| !active(id)) {
                    self.login_clerk = None;
                }
                if self.login_clerk.is_none() && clerks.len() == 1 {
                    self.login_clerk = clerks.first().map(|c| c.id.clone());
                }
                let have_clerks = !clerks.is_empty();
                self.clerks = clerks;
                let commands = self.first_run_after_clerks(have_clerks);
                if signed_out {
                    return self.say_error(&StoreError::ClerkInactive);
                }
                commands
            }
            Err(e) => self.say_error(&e),
        }
    }

    /// A login: back to the screen the till locked on (never a manager
    /// screen: the approval went with the lock).
    pub(in crate::counter) fn done_logged_in(
        &mut self,
        result: Result<Clerk, StoreError>,
    ) -> Vec<Command> {
        match result {
            Ok(clerk) => {
                let below_policy = !clerk.pin_meets_policy();
                self.clerk = Some(clerk);
                self.login_pin.clear();
                self.prompt = None;
                let page = self.resume.take().filter(|p| !Self::is_manager_page(*p));
                self.go(page.unwrap_or(Page::Home));
                if below_policy {
                    self.say(text::pin_below_policy(self.language), true);
                }
                Vec::new()
            }
            Err(e) => {
                self.login_pin.clear();
                if let StoreError::Locked { wait_secs } = &e {
                    self.offer_lift(*wait_secs);
                }
                self.say_error(&e)
            }
        }
    }

    /// A clerk locked out at the login screen: the manager prompt opens over
    /// it, saying how long to wait, so another manager can lift the lockout
    /// (cancel closes it and the clerk waits). Only for a cashier (a
    /// manager's lockout is lifted by head office's PIN reset), and only
    /// when a manager is on this terminal.
    fn offer_lift(&mut self, wait_secs: u64) {
        let Some(locked) = self.login_clerk.clone() else {
            return;
        };
        let cashier = self
            .clerks
            .iter()
            .any(|c| c.id == locked && c.role == Role::Cashier);
        if !cashier {
            return;
        }
        let managers: Vec<String> = self
            .clerks
            .iter()
            .filter(|c| c.role == Role::Manager && c.has_pin && c.id != locked)
            .map(|c| c.id.clone())
            .collect();
        if managers.is_empty() {
            return;
        }
        self.prompt = Some(ApprovalPrompt {
            manager: managers.first().cloned().filter(|_| managers.len() == 1),
            pin: Entry::new(EntryKind::Pin),
            error: Some(text::locked_out(self.language, wait_secs)),
            lifting: Some(locked),
        });
    }

    /// A lockout lifted: the prompt closes and the clerk types their PIN
    /// again; or the prompt says why not and clears the manager's PIN.
    pub(in crate::counter) fn done_lockout_lifted(
        &mut self,
        result: Result<String, StoreError>,
    ) -> Vec<Command> {
        match result {
            Ok(clerk_id) => {
                self.prompt = None;
                self.login_clerk = Some(clerk_id);
                self.login_pin.clear();
                self.say(text::lockout_lifted(self.language), false);
                vec![Command::Play(Sound::Confirm)]
            }
            Err(e) => {
                let text = text::store_error(self.language, &e);
                if let Some(p) = &mut self.prompt {
                    p.pin.clear();
                    p.error = Some(text);
                }
                vec![Command::Play(Sound::Bad)]
            }
        }
    }

    /// A manager's PIN checked: the screen asked for opens, or the prompt
    /// says why not and clears the PIN.
    pub(in crate::counter) fn done_approved(
        &mut self,
        result: Result<Approval, StoreError>,
    ) -> Vec<Command> {
        match result {
            Ok(approval) => {
                self.approval = Some(approval);
                self.prompt = None;
                let page = self.resume.take().unwrap_or(Page::Manager);
                self.enter_manager_page(page)
            }
            Err(e) => {
                let text = text::store_error(self.language, &e);
                if let Some(p) = &mut self.prompt {
                    p.pin.clear();
                    p.error = Some(text);
                }
                vec![Command::Play(Sound::Bad)]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::counter::flows::testing::{clerk, press, signed_in};
    use crate::counter::messages::{Action, ClerkEntry, Command, Done, Input, Page};
    use crate::store::StoreError;
    use crate::store::clerks::Role;

    #[test]
    fn the_till_locks_after_the_idle_time_and_returns_to_the_same_screen() {
        let (mut c, t0) = signed_in();
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
    fn a_clerk_deactivated_at_head_office_is_signed_out_after_the_next_sync() {
        let (mut c, t0) = signed_in();
        c.handle(Input::Tap(Action::OpenCheckout), t0);
        let synced = crate::uplink::UplinkStatus {
            online: true,
            last_success: Some(chrono::Utc::now().fixed_offset()),
            ..Default::default()
        };
        assert_eq!(
            c.handle(Input::Status(synced.clone()), t0),
            vec![Command::LoadClerks],
            "a sync re-reads the clerk list"
        );
        assert!(
            c.handle(Input::Status(synced), t0).is_empty(),
            "the same sync once"
        );
        // The list without the signed-in cashier (deactivated upstream).
        c.handle(
            Input::Done(Done::Clerks(Ok(vec![ClerkEntry {
                id: "m1".into(),
                name: "Manager".into(),
                role: Role::Manager,
                has_pin: true,
            }]))),
            t0,
        );
        assert_eq!(c.page, Page::Login);
        assert!(
            c.clerk.is_none(),
            "signed out at once, not at the next lock"
        );
        assert_ne!(c.login_clerk.as_deref(), Some("c1"), "not preselected");
        assert!(
            c.notice
                .as_ref()
                .is_some_and(|n| n.bad && n.text.contains("no longer active")),
            "{:?}",
            c.notice
        );
    }

    #[test]
    fn manager_screens_need_a_manager_pin_and_forget_it_on_leaving() {
        let (mut c, t0) = signed_in();
        c.handle(Input::Tap(Action::OpenManager), t0);
        assert_eq!(c.page, Page::Home, "the prompt comes first");
        let prompt = c.prompt.as_ref().unwrap();
        assert_eq!(
            prompt.manager.as_deref(),
            Some("m1"),
            "the only manager is preselected"
        );
        press(&mut c, "738162", t0);
        assert_eq!(
            c.handle(Input::Tap(Action::SubmitPin), t0),
            vec![Command::Approve {
                manager_id: "m1".into(),
                pin: "738162".into()
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
    fn a_locked_out_cashier_sees_the_wait_and_a_manager_pin_lifts_it() {
        let (mut c, t0) = crate::counter::flows::testing::logged_in();
        c.handle(
            Input::Done(Done::LoggedIn(Err(StoreError::Locked { wait_secs: 150 }))),
            t0,
        );
        let notice = c.notice.clone().unwrap();
        println!("login notice: {}", notice.text);
        assert!(
            notice.bad && notice.text.contains("2 min 30 s"),
            "{notice:?}"
        );
        let prompt = c.prompt.clone().expect("the manager prompt over sign-in");
        assert_eq!(prompt.lifting.as_deref(), Some("c1"));
        assert_eq!(prompt.manager.as_deref(), Some("m1"), "the only manager");
        assert!(prompt.error.unwrap().contains("2 min 30 s"));
        press(&mut c, "738162", t0);
        assert_eq!(
            c.handle(Input::Tap(Action::SubmitPin), t0),
            vec![Command::LiftLockout {
                manager_id: "m1".into(),
                pin: "738162".into(),
                clerk_id: "c1".into(),
            }]
        );
        c.handle(
            Input::Done(Done::LockoutLifted(Err(StoreError::WrongPin {
                attempts_left: 4,
            }))),
            t0,
        );
        let prompt = c.prompt.clone().unwrap();
        assert!(prompt.pin.is_empty() && prompt.error.unwrap().contains("Wrong PIN"));
        c.handle(Input::Done(Done::LockoutLifted(Ok("c1".into()))), t0);
        assert!(c.prompt.is_none());
        assert_eq!(c.page, Page::Login);
        assert_eq!(c.login_clerk.as_deref(), Some("c1"));
        assert!(c.notice.as_ref().is_some_and(|n| !n.bad), "{:?}", c.notice);
        // Cancel closes the prompt and keeps the clerk waiting.
        c.handle(
            Input::Done(Done::LoggedIn(Err(StoreError::Locked { wait_secs: 3600 }))),
            t0,
        );
        assert!(c.notice.as_ref().unwrap().text.contains("1 h"));
        c.handle(Input::Tap(Action::CancelApproval), t0);
        assert!(c.prompt.is_none() && c.page == Page::Login);
    }

    #[test]
    fn a_locked_out_manager_gets_no_lift_prompt() {
        let mut c = crate::counter::state::Counter::new(
            crate::format::Language::ZhCn,
            Duration::from_secs(60),
            false,
        );
        let t0 = std::time::Instant::now();
        c.handle(
            Input::Done(Done::Clerks(Ok(vec![ClerkEntry {
                id: "m1".into(),
                name: "Manager".into(),
                role: Role::Manager,
                has_pin: true,
            }]))),
            t0,
        );
        c.handle(
            Input::Done(Done::LoggedIn(Err(StoreError::Locked { wait_secs: 45 }))),
            t0,
        );
        let text = c.notice.clone().unwrap().text;
        println!("zh-CN: {text}");
        assert!(text.contains("45秒"), "{text}");
        assert!(c.prompt.is_none(), "head office resets a manager");
    }
}
