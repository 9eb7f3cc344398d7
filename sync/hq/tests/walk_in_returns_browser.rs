//! A walk-in sale returned twice on the review queue page, in headless
//! Chromium: a sale with no member sold at one terminal and returned in
//! full at two others is listed under "Walk-in sales returned twice"
//! with the terminals and the line; a store-operations user acknowledges
//! it from the console, the notice says so and the row leaves the page.
//! Saves `target/screenshots/console-walk-in-returns-en.png`.
//!
//! A missing chromium or chromedriver is a failure with the reason, never
//! a skip: install them with `scripts/install-deps --test`.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use fantoccini::Locator;
use tillcard_hq::service::{back_office::Actor, roles::Role};
use util::browser::{
    click, find_program, open_page, save_screenshot, start_chromium, text_of, type_into, wait_for,
};
use util::{Backend, harness};

const USER: &str = "hq-walk-in";
const PASSWORD: &str = "walk-in-queue-pass-1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn walk_in_returns_in_headless_chromium() {
    let chromium = find_program("chromium");
    let chromedriver = find_program("chromedriver");
    let h = harness(Backend::Sqlite).await;
    h.hq.save_user(&Actor::cli(), USER, PASSWORD, Some(Role::StoreOps))
        .await
        .unwrap();
    let (mut a, mut b) = h.two_stores().await;
    let mut c = h.provision("S003").await;
    let (sale, quote) = a.walk_in_sale(45);
    let (at_b, _) = b.refund_all(&quote, &[], None);
    let (at_c, _) = c.refund_all(&quote, &[], None);
    h.upload(&a, vec![sale]).await;
    h.upload(&b, vec![at_b]).await;
    h.upload(&c, vec![at_c]).await;
    let flag = h.hq.walk_in_return_queue().await.unwrap().remove(0);

    let served = h.serve().await;
    let base = served.base.clone();
    let browser = start_chromium(&chromium, &chromedriver, "1400,1000").await;
    open_page(&browser, &format!("{base}/console/conflicts?lang=en")).await;
    type_into(&browser, "username", USER).await;
    type_into(&browser, "password", PASSWORD).await;
    click(&browser, "#login-submit").await;
    let row = format!("walk-in-return-{}", flag.flag_no);
    wait_for(&browser, &format!("#{row}"), 10).await;
    let shown = text_of(&browser, &row).await;
    save_screenshot(&browser, "console-walk-in-returns-en.png").await;

    click(&browser, &format!("#{row} .acknowledge-submit")).await;
    let notice = text_of(&browser, "flash-notice").await;
    let rows_left = browser
        .find_all(Locator::Css(&format!("#{row}")))
        .await
        .unwrap()
        .len();
    browser.close().await.unwrap();
    served.stop().await;
    let after =
        h.hq.store()
            .walk_in_returns_of(&quote.id.0.to_string())
            .await
            .unwrap();
    println!("walk-in returns: row {shown:?}; {notice}; rows left {rows_left}; {after:?}");
    assert!(shown.contains("line 1: sold 1, refunded 2"), "{shown}");
    for till in [&a, &b, &c] {
        assert!(
            shown.contains(&till.creds.terminal_id.to_string()),
            "{shown}"
        );
    }
    assert_eq!(notice, "Walk-in sale returned twice acknowledged.");
    assert_eq!(rows_left, 0, "the flag left the open list");
    assert_eq!(after[0].acknowledged_by.as_deref(), Some(USER));
}
