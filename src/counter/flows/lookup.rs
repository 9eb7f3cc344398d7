//! The member lookup flow: finding a member by scanning their card (camera,
//! keyboard wedge or demo card) or by keying their phone number, and where
//! the member the store loads goes. A scan from most screens opens the
//! member screen; on checkout the member joins the sale (the checkout
//! flow's `Counter::member_joins_sale`), on enrollment they become the
//! referrer (the enrollment flow's `Counter::referrer_found`).

use crate::counter::member::MemberSnapshot;
use crate::counter::messages::{Command, Notice, Page, ScanBanner, Sound};
use crate::counter::state::{Counter, MemberTarget};
use crate::counter::text;
use crate::scan::outcome::ScanOutcome;
use crate::store::StoreError;
use tillcard_rules::MemberId;

impl Counter {
    /// A scan: the banner and sound always; the member is loaded when the
    /// card was good and someone is logged in.
    pub(in crate::counter) fn scanned(&mut self, outcome: ScanOutcome) -> Vec<Command> {
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

    /// [`Action::OpenPhoneLookup`](crate::counter::Action::OpenPhoneLookup).
    pub(in crate::counter) fn tap_open_phone_lookup(&mut self) -> Vec<Command> {
        self.phone.clear();
        self.go(Page::PhoneLookup);
        Vec::new()
    }

    /// [`Action::FindPhone`](crate::counter::Action::FindPhone): the keyed
    /// number, once it has all 11 digits.
    pub(in crate::counter) fn tap_find_phone(&mut self) -> Vec<Command> {
        if self.phone.text().len() != 11 {
            self.say(text::key_the_phone(self.language), true);
            return Vec::new();
        }
        self.member_target = MemberTarget::View;
        vec![Command::FindByPhone {
            phone: self.phone.text().to_owned(),
        }]
    }

    /// The member the store loaded, sent where the scan or lookup asked.
    pub(in crate::counter) fn done_member(
        &mut self,
        result: Result<Option<MemberSnapshot>, StoreError>,
    ) -> Vec<Command> {
        match result {
            Ok(Some(member)) => match self.member_target {
                MemberTarget::Sale => self.member_joins_sale(member),
                MemberTarget::Referrer => self.referrer_found(member),
                MemberTarget::View => {
                    self.member = Some(member);
                    // The scan's message stays on the member screen.
                    let notice = self.notice.take();
                    self.go(Page::Member);
                    self.notice = notice;
                    Vec::new()
                }
            },
            Ok(None) => {
                self.say(text::no_member_with_phone(self.language), true);
                vec![Command::Play(Sound::Bad)]
            }
            Err(e) => self.say_error(&e),
        }
    }

    /// A scanned member fetched from head office (their card was from
    /// another store): the member on screen or on the sale is replaced by
    /// the one with known balances, the sale priced again; a member no
    /// longer on screen is left for the next scan.
    pub(in crate::counter) fn done_member_fetched(
        &mut self,
        result: Result<Option<MemberSnapshot>, StoreError>,
    ) -> Vec<Command> {
        let Ok(Some(fetched)) = result else {
            return Vec::new();
        };
        let id = fetched.id();
        if self.member.as_ref().is_some_and(|m| m.id() == id) {
            self.member = Some(fetched.clone());
        }
        if self.sale.member.as_ref().is_some_and(|m| m.id() == id) {
            self.sale.member = Some(fetched);
            return self.reprice();
        }
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use crate::counter::flows::testing::{found, logged_in, signed_in};
    use crate::counter::messages::{Command, Done, Input, Page, Sound};
    use crate::scan::outcome::ScanOutcome;
    use tillcard_rules::MemberId;

    #[test]
    fn a_scan_while_locked_opens_nothing() {
        let (mut c, t0) = logged_in();
        let commands = c.handle(Input::Scanned(found(7)), t0);
        assert_eq!(commands, vec![Command::Play(Sound::Bad)]);
        assert_eq!(c.page, Page::Login);
    }

    #[test]
    fn a_scan_opens_the_member_from_home_and_joins_the_sale_on_checkout() {
        let (mut c, t0) = signed_in();
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

    fn holder(member: u128, balances_known: bool) -> crate::counter::member::MemberSnapshot {
        let id = MemberId(Uuid::from_u128(member));
        crate::counter::member::MemberSnapshot {
            record: crate::store::members::MemberRecord {
                id,
                phone_masked: String::new(),
                name_masked: String::new(),
                birthday: None,
                referred_by: None,
                tags: Vec::new(),
                balances_known,
                frozen: false,
            },
            account: tillcard_rules::MemberAccount::new(id),
            program: tillcard_rules::Program::default(),
            at: chrono::DateTime::UNIX_EPOCH.fixed_offset(),
            new_card: None,
        }
    }

    #[test]
    fn a_member_fetched_from_head_office_replaces_the_card_holder_on_screen_only() {
        let (mut c, t0) = signed_in();
        c.handle(Input::Done(Done::Member(Ok(Some(holder(7, false))))), t0);
        assert_eq!(c.page, Page::Member);
        // Another member fetched meanwhile changes nothing on screen.
        c.handle(
            Input::Done(Done::MemberFetched(Ok(Some(holder(8, true))))),
            t0,
        );
        assert_eq!(
            c.member.as_ref().map(|m| m.id()),
            Some(MemberId(Uuid::from_u128(7)))
        );
        assert!(!c.member.as_ref().is_some_and(|m| m.record.balances_known));
        let commands = c.handle(
            Input::Done(Done::MemberFetched(Ok(Some(holder(7, true))))),
            t0,
        );
        assert!(commands.is_empty(), "not on a sale: nothing to price");
        assert!(c.member.as_ref().is_some_and(|m| m.record.balances_known));
        assert_eq!(c.page, Page::Member);
    }
}
