//! The sale being rung up: lines keyed with category quick keys, the member
//! (if one was scanned), and what the member chose to apply (coupon, points,
//! stored value). [`price_checkout`] turns those choices into a quote with
//! the rules engine, finding the best coupon and the most points the rules
//! allow, so the clerk needs one tap for each.

use tillcard_rules::catalog::{CatalogError, CatalogItem, Quantity};
use tillcard_rules::ids::CouponId;
use tillcard_rules::ledger::Coupon;
use tillcard_rules::pricing::{Basket, BasketLine, Quote, StoredValueRequest, TenderRequest};
use tillcard_rules::{MemberId, Money};

use super::keypad::{Entry, EntryKind};
use super::member::MemberSnapshot;

/// A category quick key: rings up the keyed amount as one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuickKey {
    /// Category code (matches the program's exclusions and coupon scopes).
    pub category: &'static str,
    /// Label in zh-CN.
    pub zh: &'static str,
    /// Label in en.
    pub en: &'static str,
}

/// The quick keys on the checkout screen.
pub const QUICK_KEYS: &[QuickKey] = &[
    QuickKey {
        category: "grocery",
        zh: "食品杂货",
        en: "Grocery",
    },
    QuickKey {
        category: "fresh",
        zh: "生鲜",
        en: "Fresh",
    },
    QuickKey {
        category: "drinks",
        zh: "酒水饮料",
        en: "Drinks",
    },
    QuickKey {
        category: "household",
        zh: "日用百货",
        en: "Household",
    },
    QuickKey {
        category: "tobacco",
        zh: "烟草",
        en: "Tobacco",
    },
    QuickKey {
        category: "gift_card",
        zh: "礼品卡",
        en: "Gift card",
    },
];

/// Which coupon to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CouponChoice {
    /// The one that saves the member the most (the default).
    #[default]
    Best,
    /// No coupon.
    None,
    /// This one.
    Chosen(CouponId),
}

/// A quote and what the clerk can still choose.
#[derive(Debug, Clone, PartialEq)]
pub struct Priced {
    /// The quote to show and to book.
    pub quote: Quote,
    /// The most points the rules allow on this order now.
    pub max_points: i64,
    /// Redemption step (100 points).
    pub points_step: i64,
}

/// What the sale asks the rules for.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceAsk {
    /// Matches the answer to the question: answers to older asks are dropped.
    pub request: u64,
    /// The member, if any.
    pub member: Option<MemberId>,
    /// The basket.
    pub basket: Basket,
    /// Coupon choice.
    pub coupon: CouponChoice,
    /// Points asked for.
    pub points: i64,
    /// Pay as much as possible from stored value.
    pub use_stored_value: bool,
    /// Terminal offline (balances provisional, allowance applies).
    pub offline: bool,
}

/// Prices a sale with the rules engine through `price` (which prices one
/// tender request for the ask's member and basket): picks the best coupon
/// when asked, finds the most points allowed, and prices the final tender.
/// Pure apart from what `price` does.
pub fn price_checkout<E>(
    ask: &PriceAsk,
    usable_coupons: &[Coupon],
    points_balance: i64,
    points_step: i64,
    mut price: impl FnMut(&TenderRequest) -> Result<Quote, E>,
) -> Result<Priced, E> {
    let coupons = match ask.coupon {
        CouponChoice::None => Vec::new(),
        CouponChoice::Chosen(id) => vec![id],
        CouponChoice::Best if ask.member.is_none() => Vec::new(),
        CouponChoice::Best => {
            let plain = price(&TenderRequest::default())?;
            let mut best: Option<(Money, bool, CouponId)> = None;
            for coupon in usable_coupons {
                let quote = price(&TenderRequest {
                    coupons: vec![coupon.id],
                    ..TenderRequest::default()
                })?;
                let Some(applied) = &quote.coupon else {
                    continue;
                };
                let gives = quote.total < plain.total || applied.gift.is_some();
                let better = match best {
                    None => true,
                    Some((total, _, _)) => quote.total < total,
                };
                if gives && better {
                    best = Some((quote.total, applied.gift.is_some(), coupon.id));
                }
            }
            best.map(|(_, _, id)| vec![id]).unwrap_or_default()
        }
    };
    let step = points_step.max(1);
    let max_points = if ask.member.is_some() && points_balance >= step {
        let probe = price(&TenderRequest {
            coupons: coupons.clone(),
            redeem_points: points_balance / step * step,
            stored_value: StoredValueRequest::None,
        })?;
        probe.points_redeemed
    } else {
        0
    };
    let points = ask.points.clamp(0, max_points) / step * step;
    let quote = price(&TenderRequest {
        coupons,
        redeem_points: points,
        stored_value: if ask.use_stored_value {
            StoredValueRequest::AsMuchAsPossible
        } else {
            StoredValueRequest::None
        },
    })?;
    Ok(Priced {
        quote,
        max_points,
        points_step: step,
    })
}

/// A line rung up from the catalog: the item and how much of it, so the
/// line is priced again for the member's tier when a member joins or
/// leaves the sale (member prices, 会员价).
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogLine {
    /// The item as the catalog held it when scanned.
    pub item: CatalogItem,
    /// Units, or grams for a weighed item.
    pub quantity: Quantity,
}

/// The heaviest weight keyed at the counter for a weighed item, in kg.
pub const MAX_KEYED_KG: i64 = 1_000;
/// The most units of one item rung up with one scan.
pub const MAX_KEYED_UNITS: i64 = 999;

/// What the keypad's entry means before an item is scanned: how many units
/// of a counted item, or the weight in kilograms (up to two decimals, the
/// entry's) of a weighed one. An empty entry is one unit; a weighed item
/// needs its weight.
pub fn keyed_quantity(entry: &str, weighed: bool) -> Option<Quantity> {
    let entry = entry.trim();
    if weighed {
        let (whole, frac) = entry.split_once('.').unwrap_or((entry, ""));
        if whole.len() > 4 || frac.len() > 2 || (whole.is_empty() && frac.is_empty()) {
            return None;
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let frac: i64 = match frac.len() {
            0 => 0,
            1 => frac.parse::<i64>().ok()? * 100,
            _ => frac.parse::<i64>().ok()? * 10,
        };
        let grams = whole * 1000 + frac;
        (1..=MAX_KEYED_KG * 1000)
            .contains(&grams)
            .then_some(Quantity::Grams(grams))
    } else if entry.is_empty() {
        Some(Quantity::Units(1))
    } else {
        let units: i64 = entry.parse().ok()?;
        (1..=MAX_KEYED_UNITS)
            .contains(&units)
            .then_some(Quantity::Units(units))
    }
}

/// The sale on the checkout screen.
#[derive(Debug, Clone, PartialEq)]
pub struct Sale {
    /// Lines rung up.
    pub lines: Vec<BasketLine>,
    /// For each line, the catalog item it was rung up from (none for a
    /// line keyed with a category key).
    pub items: Vec<Option<CatalogLine>>,
    /// The amount being keyed.
    pub entry: Entry,
    /// The member, once scanned or looked up.
    pub member: Option<MemberSnapshot>,
    /// Coupon choice.
    pub coupon: CouponChoice,
    /// Points asked for.
    pub points: i64,
    /// Pay from stored value.
    pub use_stored_value: bool,
    /// The latest answer from the rules.
    pub priced: Option<Priced>,
    /// Why the basket could not be priced, in words.
    pub error: Option<String>,
    /// Id of the latest price request.
    pub request: u64,
    /// A commit is under way (the confirm button is disabled).
    pub committing: bool,
    /// Tenders taken so far for the amount due (split tenders); emptied
    /// whenever the sale is priced again.
    pub tenders: Vec<tillcard_rules::tenders::Tender>,
    /// Cash the customer handed over, once a cash tender was taken.
    pub cash_given: Option<Money>,
}

impl Default for Sale {
    fn default() -> Self {
        Sale {
            lines: Vec::new(),
            items: Vec::new(),
            entry: Entry::new(EntryKind::Amount),
            member: None,
            coupon: CouponChoice::Best,
            points: 0,
            use_stored_value: false,
            priced: None,
            error: None,
            request: 0,
            committing: false,
            tenders: Vec::new(),
            cash_given: None,
        }
    }
}

impl Sale {
    /// Adds the keyed amount as a line of `key`'s category; false when no
    /// amount was keyed.
    pub fn add_keyed_line(&mut self, key: &QuickKey, label: &str) -> bool {
        let Some(amount) = self.entry.amount() else {
            return false;
        };
        let n = self.lines.len() + 1;
        self.lines.push(BasketLine {
            sku: format!("{}-{n}", key.category),
            name: label.to_owned(),
            category: key.category.to_owned(),
            quantity: 1,
            unit_price: amount,
            list_price: None,
        });
        self.items.push(None);
        self.entry.clear();
        true
    }

    /// Rings up `quantity` of a catalog item at the price for the tier
    /// `tier_code` (the member's; none for a walk-in): a scan of the item
    /// already on the last line adds to it, as a clerk scanning three cans
    /// expects one line of three.
    pub fn add_item(
        &mut self,
        item: CatalogItem,
        quantity: Quantity,
        tier_code: Option<&str>,
        english: bool,
    ) -> Result<(), CatalogError> {
        if let (Some(Some(last)), Quantity::Units(more)) = (self.items.last(), quantity)
            && last.item == item
            && let Quantity::Units(held) = last.quantity
        {
            let together = Quantity::Units(held.saturating_add(more));
            let line = item.line(together, tier_code, english)?;
            if let (Some(l), Some(Some(c))) = (self.lines.last_mut(), self.items.last_mut()) {
                *l = line;
                c.quantity = together;
            }
            return Ok(());
        }
        let line = item.line(quantity, tier_code, english)?;
        self.lines.push(line);
        self.items.push(Some(CatalogLine { item, quantity }));
        Ok(())
    }

    /// Prices every catalog line again for the tier `tier_code` (a member
    /// joined or left the sale); keyed lines are left as they are.
    pub fn retier(&mut self, tier_code: Option<&str>, english: bool) {
        for (line, source) in self.lines.iter_mut().zip(&self.items) {
            if let Some(c) = source
                && let Ok(priced) = c.item.line(c.quantity, tier_code, english)
            {
                *line = priced;
            }
        }
    }

    /// Removes line `n` (nothing when there is none).
    pub fn remove_line(&mut self, n: usize) {
        if n < self.lines.len() {
            self.lines.remove(n);
        }
        if n < self.items.len() {
            self.items.remove(n);
        }
    }

    /// What is still due after the tenders taken (none without a quote).
    pub fn rest_due(&self) -> Option<Money> {
        let paid: Money = self.tenders.iter().map(|t| t.amount).sum();
        self.quote()
            .map(|q| (q.amount_due - paid).clamp_non_negative())
    }

    /// The payment of the tenders taken.
    pub fn payment(&self) -> tillcard_rules::tenders::Payment {
        tillcard_rules::tenders::Payment {
            tenders: self.tenders.clone(),
            cash_given: self.cash_given,
        }
    }

    /// The basket as the rules see it.
    pub fn basket(&self) -> Basket {
        Basket {
            lines: self.lines.clone(),
        }
    }

    /// The quote, if it answers the latest request.
    pub fn quote(&self) -> Option<&Quote> {
        self.priced.as_ref().map(|p| &p.quote)
    }

    /// The next price request for the current state, or `None` when the
    /// basket is empty.
    pub fn ask(&mut self, offline: bool) -> Option<PriceAsk> {
        // A new price is a new amount due: tenders taken for the old one
        // no longer pay it.
        self.tenders.clear();
        self.cash_given = None;
        if self.lines.is_empty() {
            self.priced = None;
            self.error = None;
            return None;
        }
        self.request += 1;
        Some(PriceAsk {
            request: self.request,
            member: self.member.as_ref().map(MemberSnapshot::id),
            basket: self.basket(),
            coupon: self.coupon,
            points: self.points,
            use_stored_value: self.use_stored_value,
            offline,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tillcard_rules::account::MemberAccount;
    use tillcard_rules::booking;
    use tillcard_rules::ids::{LotId, SourceId, Timestamp};
    use tillcard_rules::ledger::{EarnReason, EntryKind as LedgerKind, LedgerEntry};
    use tillcard_rules::pricing::{self, Context, MemberProfile, PricingRequest, Shopper};
    use tillcard_rules::program::Program;
    use uuid::Uuid;

    fn now() -> Timestamp {
        Timestamp::parse_from_rfc3339("2026-11-30T10:00:00+08:00").unwrap()
    }

    fn account(points: i64) -> MemberAccount {
        let program = Program::default();
        let member = MemberId(Uuid::from_u128(1));
        let mut entries =
            booking::book_enrollment(&program, member, now(), SourceId(Uuid::from_u128(2)));
        entries.push(LedgerEntry {
            member,
            source: SourceId(Uuid::from_u128(3)),
            at: now(),
            kind: LedgerKind::PointsEarned {
                lot: LotId(SourceId(Uuid::from_u128(3))),
                points,
                expires_at: now() + chrono::Duration::days(300),
                reason: EarnReason::Purchase,
            },
        });
        MemberAccount::fold(MemberAccount::new(member), &entries)
    }

    fn run(ask: &PriceAsk, account: &MemberAccount) -> (Priced, usize) {
        let program = Program::default();
        let profile = MemberProfile {
            id: account.member,
            birthday: None,
            referred_by: None,
            balances_known: true,
            frozen: false,
        };
        let coupons: Vec<Coupon> = account.usable_coupons(now()).cloned().collect();
        let mut calls = 0;
        let priced = price_checkout::<pricing::PricingError>(
            ask,
            &coupons,
            account.points_available(now()),
            program.redemption.step,
            |tender| {
                calls += 1;
                pricing::price(&PricingRequest {
                    quote_id: SourceId(Uuid::from_u128(9)),
                    program: &program,
                    basket: &ask.basket,
                    shopper: ask.member.map(|_| Shopper {
                        profile: &profile,
                        account,
                    }),
                    context: Context {
                        now: now(),
                        offline: ask.offline,
                        offline_allowance_left: program.offline.allowance_per_member_per_day,
                    },
                    tender,
                })
            },
        )
        .unwrap();
        (priced, calls)
    }

    fn ask(member: bool, yuan: i64, points: i64) -> PriceAsk {
        PriceAsk {
            request: 1,
            member: member.then_some(MemberId(Uuid::from_u128(1))),
            basket: Basket {
                lines: vec![BasketLine {
                    sku: "g1".into(),
                    name: "Grocery".into(),
                    category: "grocery".into(),
                    quantity: 1,
                    unit_price: Money::from_yuan(yuan),
                    list_price: None,
                }],
            },
            coupon: CouponChoice::Best,
            points,
            use_stored_value: false,
            offline: false,
        }
    }

    #[test]
    fn the_best_coupon_is_applied_when_it_saves_money_and_skipped_when_it_cannot() {
        let acct = account(0);
        let (priced, _) = run(&ask(true, 128, 0), &acct);
        assert!(
            priced.quote.coupon.is_some(),
            "welcome coupon 满50减10 applies to ¥128"
        );
        let (priced, _) = run(&ask(true, 20, 0), &acct);
        assert!(
            priced.quote.coupon.is_none(),
            "below the coupon's minimum spend"
        );
        let mut none = ask(true, 128, 0);
        none.coupon = CouponChoice::None;
        assert!(run(&none, &acct).0.quote.coupon.is_none());
    }

    #[test]
    fn max_points_is_what_the_rules_allow_and_asks_are_clamped_to_it() {
        let acct = account(100_000);
        // ¥128 less ¥10 coupon: 50% of ¥118 = ¥59 -> 5,900 points.
        let (priced, _) = run(&ask(true, 128, i64::MAX), &acct);
        assert_eq!(priced.max_points, 5_900);
        assert_eq!(priced.quote.points_redeemed, 5_900);
        let (priced, _) = run(&ask(true, 128, 250), &acct);
        assert_eq!(
            priced.quote.points_redeemed, 200,
            "rounded down to the step"
        );
        let small = account(99);
        assert_eq!(run(&ask(true, 128, 100), &small).0.max_points, 0);
    }

    #[test]
    fn a_walk_in_sale_is_priced_once_without_member_benefits() {
        let acct = account(1_000);
        let (priced, calls) = run(&ask(false, 128, 500), &acct);
        assert_eq!(calls, 1);
        assert_eq!(priced.max_points, 0);
        assert_eq!(priced.quote.total, Money::from_yuan(128));
    }

    #[test]
    fn keyed_amounts_become_lines_of_the_tapped_category() {
        let mut sale = Sale::default();
        assert!(
            !sale.add_keyed_line(&QUICK_KEYS[0], "Grocery"),
            "nothing keyed"
        );
        for k in "12.5".chars() {
            sale.entry
                .press(super::super::keypad::Key::from_label(&k.to_string()).unwrap());
        }
        assert!(sale.add_keyed_line(&QUICK_KEYS[4], "Tobacco"));
        assert_eq!(sale.lines[0].category, "tobacco");
        assert_eq!(sale.lines[0].unit_price, Money::from_fen(1_250));
        assert!(sale.entry.is_empty());
        let first = sale.ask(true).unwrap();
        let second = sale.ask(true).unwrap();
        assert!(second.request > first.request);
    }
}
