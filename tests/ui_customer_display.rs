//! The customer-facing second display (issue 24) through the real windows
//! headless (Slint's testing backend): the demo till with the display on,
//! items rung up by the wedge scanner, a member's card, cash with change.
//! What the customer's window shows is read back from its texts, as a
//! customer would read it, and held to the sale the counter booked.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use i_slint_backend_testing::ElementHandle;
use slint::Model;
use tillcard::config::CustomerDisplayMode;
use tillcard::counter::Page;
use tillcard::demo::DEMO_MEMBERS;
use tillcard::rules::Money;
use tillcard::ui::{CustomerScreenId, CustomerWindow};

#[path = "util/ui.rs"]
mod ui_util;
use ui_util::{demo_config, start_till};

/// What the customer reads on the text labelled `label`; empty when it
/// is not on screen.
fn reads(window: &CustomerWindow, label: &str) -> String {
    ElementHandle::find_by_accessible_label(window, label)
        .next()
        .and_then(|e| e.accessible_value())
        .map(|v| v.to_string())
        .unwrap_or_default()
}

/// The display's settings first (off, and auto with no screens to read),
/// then a whole sale on a till with the display on.
#[test]
fn the_customer_sees_the_basket_the_savings_the_points_and_the_change() {
    // Headless, "auto" opens nothing (there are no screens to read);
    // "off" never does.
    for mode in [CustomerDisplayMode::Off, CustomerDisplayMode::Auto] {
        let data = tempfile::tempdir().unwrap();
        let mut config = demo_config(data.path(), None);
        config.customer_display.mode = mode;
        let till = start_till(config);
        assert!(till.app.customer_display().is_none(), "{mode:?}");
    }

    let data = tempfile::tempdir().unwrap();
    let mut config = demo_config(data.path(), None);
    config.customer_display.mode = CustomerDisplayMode::On;
    let till = start_till(config);
    let display = till.app.customer_display().expect("the display is on");
    let customer = display.window();
    till.login("c01", "3817");
    assert_eq!(customer.get_screen(), CustomerScreenId::Welcome);
    assert_eq!(reads(customer, "customer heading"), "Welcome");

    // Cola twice and noodles: the basket, line by line, with the total due.
    till.wedge("6901028075022");
    till.wedge("6901028075022");
    till.wedge("6901028075039");
    till.wait(|c| c.sale.lines.len() == 2 && c.sale.quote().is_some());
    assert_eq!(customer.get_screen(), CustomerScreenId::Basket);
    let quote = till.app.counter().sale.quote().cloned().unwrap();
    let names: Vec<String> = customer
        .get_lines()
        .iter()
        .map(|l| l.name.to_string())
        .collect();
    assert_eq!(names, ["Coca-Cola 330 ml", "Braised beef noodles"]);
    assert_eq!(customer.get_lines().row_data(0).unwrap().quantity, "×2");
    assert!(reads(customer, "customer total").contains(&quote.amount_due.to_plain_string()));
    assert_eq!(
        reads(customer, "customer savings"),
        "",
        "no member, no savings"
    );
    assert_eq!(reads(customer, "customer member"), "");

    // The member's card: their masked name and tier, what they save, the
    // points the sale earns; never their phone or full name.
    let member = &DEMO_MEMBERS[0];
    till.wedge(&tillcard::demo::demo_card_text(member));
    till.wait(|c| c.sale.quote().is_some_and(|q| q.member.is_some()));
    let quote = till.app.counter().sale.quote().cloned().unwrap();
    let shown_member = reads(customer, "customer member");
    assert!(!shown_member.is_empty());
    assert!(!shown_member.contains(member.name) && !shown_member.contains(member.phone));
    let savings = reads(customer, "customer savings");
    assert!(savings.starts_with("You save"), "{savings}");
    assert!(
        reads(customer, "customer points").contains(&quote.earn.points.to_string()),
        "the points the sale earns"
    );
    assert!(reads(customer, "customer total").contains(&quote.amount_due.to_plain_string()));

    // Cash: ¥100 handed over; the thanks shows what was paid and the change.
    till.keys("100");
    till.tap("tender cash");
    till.wait(|c| c.page == Page::Receipt);
    let done = till.app.counter().last_sale.clone().unwrap();
    assert_eq!(customer.get_screen(), CustomerScreenId::Thanks);
    let change = Money::from_fen(10_000) - done.receipt.quote.amount_due;
    assert_eq!(done.receipt.change, change);
    assert!(reads(customer, "customer change").contains(&change.to_plain_string()));
    assert!(
        reads(customer, "customer total")
            .contains(&done.receipt.quote.amount_due.to_plain_string())
    );
    assert!(reads(customer, "customer balances").starts_with("Points"));

    // Next customer: the welcome again.
    till.tap("next customer");
    assert_eq!(customer.get_screen(), CustomerScreenId::Welcome);
    assert_eq!(reads(customer, "customer points"), "");
}
