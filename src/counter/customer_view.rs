//! What the customer-facing second display shows (issue 24): the basket
//! as it is rung up, what the member saves, the points the sale earns, and
//! after the sale what was paid, the change and the new balances. Worked
//! out from the counter's state after every input, like the cashier's
//! screen, so the two never disagree; the adapter (`ui/customer_display`)
//! only copies it into the second window.
//!
//! Decisions:
//! - **Savings** are what the member does not pay because they are a
//!   member or used a coupon: the shelf price over the member price on a
//!   line rung up at a member price (会员价), plus the tier, member-day and
//!   coupon discounts. Points and stored value spent are not savings (the
//!   member pays with them), so they are shown as payments, not savings.
//! - **Privacy:** the customer side is seen by whoever stands at the
//!   counter, so it shows the member's masked name and tier (as clerks see
//!   them) and their points, never the phone number.
//! - Only the sale and its receipt reach the customer: every other screen
//!   (the manager's, sign-in, the enrollment form being typed) shows the
//!   welcome, so nothing a clerk does elsewhere is on display.

use tillcard_rules::Money;
use tillcard_rules::pricing::{Quote, QuoteLine};

use super::checkout::Sale;
use super::member::{MemberSnapshot, member_view};
use super::messages::{Page, SaleDone};
use super::receipt::earn_line;
use super::state::Counter;
use super::text::{customer, yuan};
use crate::format::Language;

/// Which picture the second display shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerScreen {
    /// No sale: the store's welcome.
    Welcome,
    /// A sale being rung up.
    Basket,
    /// The sale just paid.
    Thanks,
}

/// One line of the basket as the customer reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerLine {
    /// The item's name.
    pub name: String,
    /// "×2" or "×0.456kg".
    pub quantity: String,
    /// What the line costs after its discounts.
    pub amount: String,
    /// "会员价 省¥1.00" / "member price, save ¥1.00"; empty for none.
    pub note: String,
}

/// The second display's content, every text ready to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerView {
    /// Which picture.
    pub screen: CustomerScreen,
    /// The title: the welcome, "your basket", or the thanks.
    pub title: String,
    /// "王* · 金卡会员" for a member on the sale; empty otherwise.
    pub member: String,
    /// The basket's newest lines (empty on the welcome).
    pub lines: Vec<CustomerLine>,
    /// "+3 more lines" when the basket has more than [`LINES_SHOWN`].
    pub more_lines: String,
    /// "Total" and the amount due (or paid, on the thanks).
    pub total_label: String,
    /// The amount.
    pub total: String,
    /// "You save ¥12.80" when the member saves anything; else empty.
    pub savings: String,
    /// Points and stored value spent on the sale, when any.
    pub spent: String,
    /// "Earns 128 points" (basket) or "128 points earned" (thanks).
    pub points: String,
    /// After the sale: "Points 1,328 · Stored value ¥420.00".
    pub balances: String,
    /// After a cash sale: "Change ¥3.50"; else empty.
    pub change: String,
}

impl CustomerView {
    fn welcome(language: Language) -> CustomerView {
        CustomerView {
            screen: CustomerScreen::Welcome,
            title: customer::welcome(language),
            member: String::new(),
            lines: Vec::new(),
            more_lines: String::new(),
            total_label: String::new(),
            total: String::new(),
            savings: String::new(),
            spent: String::new(),
            points: String::new(),
            balances: String::new(),
            change: String::new(),
        }
    }
}

/// Lines shown at once: the newest, so the totals never leave the screen
/// (a 10-inch customer display fits five at a readable size).
pub const LINES_SHOWN: usize = 5;

/// What the second display shows for the counter as it is now.
pub fn customer_view(counter: &Counter) -> CustomerView {
    let language = counter.language;
    let mut view = match counter.page {
        Page::Checkout => basket(&counter.sale, language),
        Page::Receipt => match &counter.last_sale {
            Some(done) => thanks(done, language),
            None => CustomerView::welcome(language),
        },
        _ => CustomerView::welcome(language),
    };
    let hidden = view.lines.len().saturating_sub(LINES_SHOWN);
    if hidden > 0 {
        view.lines.drain(..hidden);
        view.more_lines = super::text::more_lines(language, hidden);
    }
    view
}

fn basket(sale: &Sale, language: Language) -> CustomerView {
    let mut view = CustomerView::welcome(language);
    view.member = member_line(sale.member.as_ref(), language);
    if sale.lines.is_empty() {
        // A member scanned before the first item: greeted by name.
        return view;
    }
    view.screen = CustomerScreen::Basket;
    view.title = customer::basket(language);
    view.total_label = customer::total(language);
    match sale.quote() {
        Some(quote) => {
            view.lines = quote
                .lines
                .iter()
                .map(|l| quoted_line(l, language))
                .collect();
            view.total = yuan(quote.amount_due);
            view.savings = savings_line(savings(quote), language);
            view.spent = spent_line(quote, language);
            view.points = earn_line(quote, language);
        }
        // Between a change and its price (a few milliseconds, or longer
        // when the store is slow): the shelf prices, no totals yet.
        None => {
            view.lines = sale
                .lines
                .iter()
                .map(|l| CustomerLine {
                    name: l.name.clone(),
                    quantity: format!("×{}", l.quantity),
                    amount: yuan(l.unit_price),
                    note: String::new(),
                })
                .collect();
            view.total = customer::pricing(language);
        }
    }
    view
}

fn thanks(done: &SaleDone, language: Language) -> CustomerView {
    let quote = &done.receipt.quote;
    let mut view = CustomerView::welcome(language);
    view.screen = CustomerScreen::Thanks;
    view.title = customer::thanks(language);
    view.member = member_line(done.member_after.as_ref(), language);
    view.lines = quote
        .lines
        .iter()
        .map(|l| quoted_line(l, language))
        .collect();
    view.total_label = customer::paid(language);
    view.total = yuan(quote.amount_due);
    view.savings = savings_line(savings(quote), language);
    view.spent = spent_line(quote, language);
    if quote.member.is_some() {
        view.points = customer::points_earned(language, quote.earn.points);
    }
    if let Some(member) = &done.member_after {
        let shown = member_view(member, language);
        view.balances = customer::balances(language, shown.points, &shown.stored_value);
    }
    if !done.receipt.change.is_zero() {
        view.change = customer::change(language, done.receipt.change);
    }
    view
}

fn member_line(member: Option<&MemberSnapshot>, language: Language) -> String {
    member.map_or_else(String::new, |m| {
        let shown = member_view(m, language);
        customer::member(language, &shown.name, &shown.tier)
    })
}

/// The shelf price over the member price on a member-priced line.
fn member_price_saving(line: &QuoteLine) -> Money {
    line.item.list_price.map_or(Money::ZERO, |price| {
        let shelf = Money::from_fen(price.fen().saturating_mul(line.item.quantity));
        (shelf - line.gross).clamp_non_negative()
    })
}

/// Everything the member does not pay: member prices and discounts.
fn savings(quote: &Quote) -> Money {
    quote
        .lines
        .iter()
        .map(member_price_saving)
        .fold(quote.discount_total(), |sum, saved| sum + saved)
}

fn savings_line(saved: Money, language: Language) -> String {
    if saved > Money::ZERO {
        customer::you_save(language, saved)
    } else {
        String::new()
    }
}

/// Points and stored value paying part of the sale.
fn spent_line(quote: &Quote, language: Language) -> String {
    customer::spent(
        language,
        quote.points_redeemed,
        quote.points_value,
        quote.stored_value_used(),
    )
}

fn quoted_line(line: &QuoteLine, language: Language) -> CustomerLine {
    let off = line.tier_discount + line.member_day_discount + line.coupon_discount;
    let member_saving = member_price_saving(line);
    let note = if member_saving > Money::ZERO {
        customer::member_price_saving(language, member_saving + off)
    } else if off > Money::ZERO {
        customer::line_saving(language, off)
    } else {
        String::new()
    };
    CustomerLine {
        name: line.item.name.clone(),
        quantity: format!("×{}", line.item.quantity),
        amount: yuan(line.net),
        note,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

    use std::time::Duration;

    use tillcard_rules::{TenderRequest, Timestamp};

    use super::*;
    use crate::counter::checkout::Priced;
    use crate::demo::demo_basket;

    /// The demo basket priced for the first demo member (gold: a tier
    /// discount on every line), no points or stored value used.
    fn demo_quote() -> Quote {
        let now = Timestamp::parse_from_rfc3339("2026-11-30T10:00:00+08:00").unwrap();
        crate::demo::demo_quote(now, &TenderRequest::default()).unwrap()
    }

    fn at_checkout(quote: Option<Quote>) -> Counter {
        let mut counter = Counter::new(Language::En, Duration::from_secs(60), false);
        counter.page = Page::Checkout;
        counter.sale.lines = demo_basket().lines;
        counter.sale.priced = quote.map(|quote| Priced {
            quote,
            max_points: 0,
            points_step: 100,
        });
        counter
    }

    #[test]
    fn screens_other_than_the_sale_show_the_welcome() {
        let mut counter = at_checkout(Some(demo_quote()));
        for page in [Page::Manager, Page::Home, Page::Enroll, Page::Login] {
            counter.page = page;
            let view = customer_view(&counter);
            assert_eq!(view.screen, CustomerScreen::Welcome, "{page:?}");
            assert!(view.lines.is_empty() && view.total.is_empty());
        }
        // The receipt screen with no sale behind it: the welcome too.
        counter.page = Page::Receipt;
        assert_eq!(customer_view(&counter).screen, CustomerScreen::Welcome);
    }

    #[test]
    fn an_empty_sale_greets_and_a_priced_sale_shows_its_basket_and_savings() {
        let mut counter = at_checkout(None);
        counter.sale.lines.clear();
        assert_eq!(customer_view(&counter).screen, CustomerScreen::Welcome);

        let quote = demo_quote();
        assert!(
            quote.discount_total() > Money::ZERO,
            "the demo member has a tier discount"
        );
        let view = customer_view(&at_checkout(Some(quote.clone())));
        assert_eq!(view.screen, CustomerScreen::Basket);
        assert_eq!(view.lines.len(), quote.lines.len());
        assert_eq!(view.total, yuan(quote.amount_due));
        assert_eq!(view.lines[0].amount, yuan(quote.lines[0].net));
        assert!(!view.lines[0].note.is_empty(), "a discounted line says so");
        assert!(
            view.savings.contains(&yuan(quote.discount_total())),
            "{}",
            view.savings
        );
        assert!(
            view.points.contains(&quote.earn.points.to_string()),
            "{}",
            view.points
        );
    }

    #[test]
    fn before_the_price_comes_the_shelf_prices_show_without_totals() {
        let view = customer_view(&at_checkout(None));
        assert_eq!(view.screen, CustomerScreen::Basket);
        assert_eq!(view.lines.len(), demo_basket().lines.len());
        assert!(view.savings.is_empty() && view.points.is_empty() && view.spent.is_empty());
        assert_eq!(view.total, customer::pricing(Language::En));
    }

    #[test]
    fn savings_add_member_prices_to_the_discounts() {
        let mut quote = demo_quote();
        let line = &mut quote.lines[0];
        // Member-priced: shelf 2 × ¥5.00, member price ¥4.00 each, and no
        // tier discount on top (worked example 055).
        line.item.list_price = Some(Money::from_fen(500));
        line.item.quantity = 2;
        line.gross = Money::from_fen(800);
        line.tier_discount = Money::ZERO;
        line.member_day_discount = Money::ZERO;
        line.coupon_discount = Money::ZERO;
        line.net = Money::from_fen(800);
        assert_eq!(
            savings(&quote),
            quote.discount_total() + Money::from_fen(200)
        );
        let shown = quoted_line(&quote.lines[0], Language::En);
        assert!(
            shown.note.contains(&yuan(Money::from_fen(200))),
            "{}",
            shown.note
        );
    }

    #[test]
    fn a_long_basket_shows_its_newest_lines_and_counts_the_rest() {
        let mut counter = at_checkout(None);
        let mut lines = Vec::new();
        for n in 0..8 {
            let mut line = demo_basket().lines[0].clone();
            line.name = format!("item {n}");
            lines.push(line);
        }
        counter.sale.lines = lines;
        let view = customer_view(&counter);
        assert_eq!(view.lines.len(), LINES_SHOWN);
        assert_eq!(view.lines[0].name, "item 3");
        assert_eq!(
            view.more_lines,
            crate::counter::text::more_lines(Language::En, 3)
        );
    }

    #[test]
    fn points_and_stored_value_spent_are_shown_apart_from_savings() {
        let mut quote = demo_quote();
        assert!(spent_line(&quote, Language::En).is_empty());
        quote.points_redeemed = 1_000;
        quote.points_value = Money::from_fen(1_000);
        quote.stored_value_principal = Money::from_fen(500);
        let spent = spent_line(&quote, Language::En);
        assert!(
            spent.contains("1000") && spent.contains(&yuan(Money::from_fen(500))),
            "{spent}"
        );
        assert_eq!(
            savings(&quote),
            savings(&demo_quote()),
            "spending is not saving"
        );
    }

    #[test]
    fn no_savings_means_no_savings_line() {
        assert!(savings_line(Money::ZERO, Language::En).is_empty());
        assert!(!savings_line(Money::from_fen(1), Language::En).is_empty());
    }
}
