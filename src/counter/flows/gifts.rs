//! The gift catalogue flow (礼品兑换): with a member on screen the cashier
//! opens the program's active gifts with their points price, picks one the
//! member can afford, confirms; the store books the redemption (ledger
//! entry and outbox event in one transaction) and the member comes back
//! with the new balance. No manager approval: it spends the member's own
//! points, as redeeming them at checkout does. What the rules refuse
//! (frozen, balances unknown here, an unknown or inactive gift, points
//! short) is said on the form and nothing is booked.

use tillcard_rules::gifts::{self, GiftOffer};

use crate::counter::forms::GiftForm;
use crate::counter::member::MemberSnapshot;
use crate::counter::messages::{Command, Page, Sound};
use crate::counter::state::Counter;
use crate::counter::text;
use crate::store::StoreError;

/// The gifts offered to the member on screen, in the catalogue's order.
pub fn offers_for(member: &MemberSnapshot) -> Vec<GiftOffer<'_>> {
    gifts::offers(
        &member.program,
        &member.record.profile(),
        &member.account,
        member.at,
    )
}

impl Counter {
    /// [`Action::MemberGifts`](crate::counter::Action::MemberGifts): the
    /// catalogue for the member on screen.
    pub(in crate::counter) fn tap_open_gifts(&mut self) -> Vec<Command> {
        let Some(member) = self.member.as_ref().map(MemberSnapshot::id) else {
            self.go(Page::Home);
            self.say(text::find_the_member_first(self.language), true);
            return Vec::new();
        };
        self.gifts = Some(GiftForm::new(member));
        self.go(Page::Gifts);
        Vec::new()
    }

    /// [`Action::SelectGift`](crate::counter::Action::SelectGift): the
    /// `n`th gift offered, if the member can take it; else why not.
    pub(in crate::counter) fn tap_select_gift(&mut self, n: usize) -> Vec<Command> {
        let (Some(member), Some(form)) = (&self.member, &mut self.gifts) else {
            return Vec::new();
        };
        let offers = offers_for(member);
        let Some(offer) = offers.get(n) else {
            return Vec::new();
        };
        if offer.affordable {
            form.picked = Some(offer.gift.code.clone());
            form.error = None;
        } else {
            form.picked = None;
            let profile = member.record.profile();
            form.error = Some(text::gift_not_affordable(
                self.language,
                profile.frozen,
                profile.balances_known,
                offer.gift.points,
                member.account.points_available(member.at),
            ));
        }
        Vec::new()
    }

    /// [`Action::ConfirmGift`](crate::counter::Action::ConfirmGift): the
    /// gift picked, to the store.
    pub(in crate::counter) fn tap_confirm_gift(&mut self) -> Vec<Command> {
        let (Some(clerk), Some(form)) = (&self.clerk, &mut self.gifts) else {
            return Vec::new();
        };
        let Some(gift) = form.picked.clone() else {
            form.error = Some(text::pick_a_gift(self.language));
            return Vec::new();
        };
        form.error = None;
        vec![Command::RedeemGift {
            clerk: clerk.clone(),
            member: form.member,
            gift,
        }]
    }

    /// [`Action::CloseGifts`](crate::counter::Action::CloseGifts): back
    /// to the member, nothing redeemed.
    pub(in crate::counter) fn tap_close_gifts(&mut self) -> Vec<Command> {
        self.gifts = None;
        if self.member.is_some() {
            self.go(Page::Member);
        } else {
            self.go(Page::Home);
        }
        Vec::new()
    }

    /// A gift redeemed (the member after it on screen, and what was given
    /// in words), or why not on the form.
    pub(in crate::counter) fn done_gift_redeemed(
        &mut self,
        result: Result<MemberSnapshot, StoreError>,
    ) -> Vec<Command> {
        match result {
            Ok(member) => {
                let picked = self.gifts.take().and_then(|f| f.picked);
                let gift = picked.as_deref().and_then(|code| member.program.gift(code));
                let words = match gift {
                    Some(gift) => text::gift_redeemed(self.language, &gift.name, gift.points),
                    None => text::booked(self.language),
                };
                self.member = Some(member);
                self.go(Page::Member);
                self.say(words, false);
                vec![Command::Play(Sound::Confirm)]
            }
            Err(e) => {
                let words = text::store_error(self.language, &e);
                if let Some(form) = &mut self.gifts {
                    form.error = Some(words);
                } else {
                    self.say(words, true);
                }
                vec![Command::Play(Sound::Bad)]
            }
        }
    }
}
