//! Items from the catalog at the counter (issue 24): a product barcode from
//! the camera or a keyboard wedge is looked up in the store's catalog and
//! rung up on the sale, at the member's price when a member is on it.
//!
//! The keypad's entry, keyed before the scan, is the quantity of a counted
//! item (empty: one) or the weight in kilograms of a weighed one
//! (`checkout::keyed_quantity`). A scale label (an in-store EAN-13 the
//! till's `[scale_labels]` format reads, `catalog::scale_label`) carries
//! the weight itself: the terminal finds the item by the label's PLU and
//! the line takes the label's weight. An unknown barcode says so and leaves the
//! category keys for the goods: nothing is rung up for it. An item is
//! scanned from the scan screen, a member's screen (the sale is for them),
//! a receipt (the next sale) or the sale itself; anywhere else the clerk
//! is asked to finish the screen first.

use tillcard_rules::catalog::{CatalogItem, ItemCode, Quantity};

use crate::counter::checkout::{MAX_KEYED_KG, keyed_quantity};
use crate::counter::member::MemberSnapshot;
use crate::counter::messages::{Command, Page, Sound};
use crate::counter::state::Counter;
use crate::counter::text;
use crate::format::Language;
use crate::scan::product::ProductCode;
use crate::store::StoreError;

/// The code of the tier the member is in, whose member prices apply.
pub(in crate::counter) fn tier_code(member: Option<&MemberSnapshot>) -> Option<String> {
    let member = member?;
    member
        .program
        .tier(member.account.tier)
        .map(|t| t.code.clone())
}

impl Counter {
    /// A product barcode was read.
    pub(in crate::counter) fn scanned_item(&mut self, code: ProductCode) -> Vec<Command> {
        if self.clerk.is_none() {
            self.say(text::log_in_before_scanning(self.language), true);
            return vec![Command::Play(Sound::Bad)];
        }
        let mut commands = match self.page {
            Page::Checkout => Vec::new(),
            // The sale was emptied when the last one was committed.
            Page::Home | Page::Receipt => {
                self.go(Page::Checkout);
                Vec::new()
            }
            // The sale is for the member on screen.
            Page::Member => self.tap_member_checkout(),
            _ => {
                self.say(text::finish_screen_first(self.language), true);
                return vec![Command::Play(Sound::Bad)];
            }
        };
        match ItemCode::parse(code.text()) {
            Ok(code) => commands.push(Command::LookupItem(code)),
            Err(_) => commands.extend(self.unknown_barcode()),
        }
        commands
    }

    fn unknown_barcode(&mut self) -> Vec<Command> {
        self.say(text::unknown_barcode(self.language), true);
        vec![Command::Play(Sound::Bad)]
    }

    /// The catalog answered a scanned barcode.
    pub(in crate::counter) fn item_found(
        &mut self,
        found: Result<Option<CatalogItem>, StoreError>,
    ) -> Vec<Command> {
        let item = match found {
            Ok(Some(item)) => item,
            Ok(None) => return self.unknown_barcode(),
            Err(e) => return self.say_error(&e),
        };
        if self.page != Page::Checkout {
            return Vec::new();
        }
        let Some(quantity) = keyed_quantity(self.sale.entry.text(), item.sold_by_weight) else {
            let words = if item.sold_by_weight {
                text::weight_first(self.language)
            } else {
                text::bad_quantity(self.language)
            };
            self.say(words, true);
            return vec![Command::Play(Sound::Bad)];
        };
        self.ring_up(item, quantity)
    }

    /// The catalog answered a scale label with the item its PLU names: the
    /// label's weight is the line's (whatever was keyed), and the item
    /// must be one sold by weight.
    pub(in crate::counter) fn label_item_found(
        &mut self,
        item: CatalogItem,
        grams: i64,
    ) -> Vec<Command> {
        if self.page != Page::Checkout {
            return Vec::new();
        }
        let words = if !item.sold_by_weight {
            Some(text::label_not_weighed(self.language))
        } else if grams > MAX_KEYED_KG * 1000 {
            Some(text::label_too_heavy(self.language))
        } else {
            None
        };
        if let Some(words) = words {
            self.say(words, true);
            return vec![Command::Play(Sound::Bad)];
        }
        self.ring_up(item, Quantity::Grams(grams))
    }

    /// `quantity` of `item` onto the sale at the member's price.
    fn ring_up(&mut self, item: CatalogItem, quantity: Quantity) -> Vec<Command> {
        let tier = tier_code(self.sale.member.as_ref());
        let english = self.language == Language::En;
        if let Err(e) = self.sale.add_item(item, quantity, tier.as_deref(), english) {
            self.say(text::item_refused(self.language, &e), true);
            return vec![Command::Play(Sound::Bad)];
        }
        self.sale.entry.clear();
        self.notice = None;
        let mut commands = vec![Command::Play(Sound::Good)];
        commands.extend(self.reprice());
        commands
    }
}

#[cfg(test)]
mod tests {
    use tillcard_rules::catalog::{CatalogItem, TierPrice};
    use tillcard_rules::{MemberId, Money, TierLevel};
    use uuid::Uuid;

    use crate::counter::flows::testing::{found, press, signed_in};
    use crate::counter::member::MemberSnapshot;
    use crate::counter::messages::{Action, Command, Done, Input, Page, Sound};
    use crate::scan::product::{ProductCode, Symbology};

    fn cola(gold: &str) -> CatalogItem {
        CatalogItem {
            sku: "A-0001".into(),
            barcode: Some("6901028075831".into()),
            name_zh: "可口可乐".into(),
            name_en: "Cola".into(),
            category: "drinks".into(),
            price: Money::from_fen(350),
            member_prices: vec![TierPrice {
                tier: gold.into(),
                price: Money::from_fen(300),
            }],
            sold_by_weight: false,
            active: true,
        }
    }

    fn scan_cola() -> Input {
        Input::ItemScanned(ProductCode::new(Symbology::Ean13, "6901028075831").unwrap())
    }

    /// A member in the program's highest tier, and that tier's code.
    fn top_tier_member() -> (MemberSnapshot, String) {
        let program = tillcard_rules::Program::default();
        let level = program.tiers.len() - 1;
        let code = program.tiers[level].code.clone();
        let id = MemberId(Uuid::from_u128(9));
        let mut account = tillcard_rules::MemberAccount::new(id);
        account.tier = TierLevel(u8::try_from(level).unwrap());
        let member = MemberSnapshot {
            record: crate::store::members::MemberRecord {
                id,
                phone_masked: String::new(),
                name_masked: String::new(),
                birthday: None,
                referred_by: None,
                tags: Vec::new(),
                balances_known: true,
                frozen: false,
            },
            account,
            program,
            at: chrono::DateTime::UNIX_EPOCH.fixed_offset(),
            new_card: None,
        };
        (member, code)
    }

    #[test]
    fn a_scan_from_the_home_screen_looks_the_barcode_up_and_rings_up_the_keyed_quantity() {
        let (mut c, t0) = signed_in();
        let commands = c.handle(scan_cola(), t0);
        assert_eq!(c.page, Page::Checkout);
        let [Command::LookupItem(code)] = commands.as_slice() else {
            panic!("{commands:?}");
        };
        assert_eq!(code.key(), "6901028075831");
        press(&mut c, "3", t0);
        let commands = c.handle(Input::Done(Done::Item(Ok(Some(cola("gold"))))), t0);
        assert_eq!(commands[0], Command::Play(Sound::Good));
        assert!(matches!(commands.get(1), Some(Command::Price(_))));
        assert_eq!(c.sale.lines.len(), 1);
        assert_eq!(c.sale.lines[0].quantity, 3);
        assert_eq!(c.sale.lines[0].unit_price, Money::from_fen(350));
        assert!(c.sale.entry.is_empty(), "the quantity was used");
        // The same item again adds to its line.
        c.handle(scan_cola(), t0);
        c.handle(Input::Done(Done::Item(Ok(Some(cola("gold"))))), t0);
        assert_eq!(c.sale.lines.len(), 1);
        assert_eq!(c.sale.lines[0].quantity, 4);
    }

    #[test]
    fn a_member_joining_the_sale_gets_the_member_price_and_leaving_gives_it_back() {
        let (mut c, t0) = signed_in();
        let (member, tier) = top_tier_member();
        c.handle(scan_cola(), t0);
        c.handle(Input::Done(Done::Item(Ok(Some(cola(&tier))))), t0);
        assert_eq!(c.sale.lines[0].unit_price, Money::from_fen(350));
        c.handle(Input::Scanned(found(9)), t0);
        c.handle(Input::Done(Done::Member(Ok(Some(member)))), t0);
        assert_eq!(
            c.page,
            Page::Checkout,
            "a member scanned at checkout joins the sale"
        );
        assert_eq!(c.sale.lines[0].unit_price, Money::from_fen(300));
        assert_eq!(c.sale.lines[0].list_price, Some(Money::from_fen(350)));
        c.handle(Input::Tap(Action::DetachMember), t0);
        assert_eq!(c.sale.lines[0].unit_price, Money::from_fen(350));
        assert_eq!(c.sale.lines[0].list_price, None);
    }

    #[test]
    fn an_unknown_barcode_says_so_and_rings_up_nothing() {
        let (mut c, t0) = signed_in();
        c.handle(scan_cola(), t0);
        let commands = c.handle(Input::Done(Done::Item(Ok(None))), t0);
        assert_eq!(commands, vec![Command::Play(Sound::Bad)]);
        assert!(c.sale.lines.is_empty());
        let notice = c.notice.as_ref().unwrap();
        assert!(
            notice.bad && notice.text.contains("category key"),
            "{notice:?}"
        );
        // The category keys still ring up the goods.
        press(&mut c, "12.50", t0);
        c.handle(Input::Tap(Action::QuickKey(0)), t0);
        assert_eq!(c.sale.lines.len(), 1);
        assert_eq!(c.sale.items, vec![None]);
    }

    #[test]
    fn a_scale_label_rings_up_its_own_weight_and_only_for_a_weighed_item() {
        let (mut c, t0) = signed_in();
        let mut pork = cola("gold");
        pork.sold_by_weight = true;
        pork.price = Money::from_fen(2680);
        // Whatever was keyed, the label's weight is the line's.
        press(&mut c, "3", t0);
        c.handle(scan_cola(), t0);
        let commands = c.handle(Input::Done(Done::LabelItem(pork.clone(), 1234)), t0);
        assert_eq!(commands[0], Command::Play(Sound::Good));
        // 1.234 kg at ¥26.80/kg = 3307.12 fen -> ¥33.07.
        assert_eq!(c.sale.lines[0].unit_price, Money::from_fen(3307));
        assert_eq!(c.sale.lines[0].name, "Cola 1.234kg");
        assert!(c.sale.entry.is_empty());
        // A label whose PLU names a counted item is the scale's mistake.
        let counted = cola("gold");
        let refused = c.handle(Input::Done(Done::LabelItem(counted, 500)), t0);
        assert_eq!(refused, vec![Command::Play(Sound::Bad)]);
        assert!(
            c.notice
                .as_ref()
                .unwrap()
                .text
                .contains("not sold by weight"),
            "{:?}",
            c.notice
        );
        // More than one line takes.
        let heavy = c.handle(Input::Done(Done::LabelItem(pork, 1_000_001)), t0);
        assert_eq!(heavy, vec![Command::Play(Sound::Bad)]);
        assert_eq!(c.sale.lines.len(), 1, "nothing more rung up");
    }

    #[test]
    fn a_weighed_item_needs_its_weight_keyed_first() {
        let (mut c, t0) = signed_in();
        let mut apples = cola("gold");
        apples.sold_by_weight = true;
        apples.price = Money::from_fen(1298);
        c.handle(scan_cola(), t0);
        let refused = c.handle(Input::Done(Done::Item(Ok(Some(apples.clone())))), t0);
        assert_eq!(refused, vec![Command::Play(Sound::Bad)]);
        assert!(c.sale.lines.is_empty());
        press(&mut c, "0.54", t0);
        c.handle(scan_cola(), t0);
        c.handle(Input::Done(Done::Item(Ok(Some(apples)))), t0);
        // 0.54 kg at ¥12.98/kg = 700.92 fen -> ¥7.01.
        assert_eq!(c.sale.lines[0].unit_price, Money::from_fen(701));
        assert_eq!(c.sale.lines[0].name, "Cola 0.540kg");
        c.handle(Input::Tap(Action::RemoveLine(0)), t0);
        assert!(c.sale.lines.is_empty() && c.sale.items.is_empty());
    }

    #[test]
    fn an_item_scanned_on_a_members_screen_opens_their_sale() {
        let (mut c, t0) = signed_in();
        let (member, _) = top_tier_member();
        c.handle(Input::Scanned(found(9)), t0);
        c.handle(Input::Done(Done::Member(Ok(Some(member)))), t0);
        assert_eq!(c.page, Page::Member);
        let commands = c.handle(scan_cola(), t0);
        assert_eq!(c.page, Page::Checkout);
        assert!(c.sale.member.is_some(), "the sale is the member's");
        assert!(matches!(commands.last(), Some(Command::LookupItem(_))));
    }

    #[test]
    fn an_item_scanned_on_a_form_is_refused_until_the_screen_is_done() {
        let (mut c, t0) = signed_in();
        c.page = Page::TopUp;
        assert_eq!(c.handle(scan_cola(), t0), vec![Command::Play(Sound::Bad)]);
        assert_eq!(c.page, Page::TopUp);
    }
}
