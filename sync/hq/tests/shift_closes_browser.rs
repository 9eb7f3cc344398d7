//! The shift closes' pages in headless Chromium: a store-operations user
//! signs in, follows the navigation to the shift closes, picks a store,
//! reads its closes and the page's totals, and opens one close to read
//! each clerk's figures; then the list in Chinese. Saves
//! `target/screenshots/console-shift-closes-en.png`,
//! `console-shift-close-en.png` and `console-shift-closes-zh-CN.png`.
//!
//! A missing chromium or chromedriver is a failure with the reason, never
//! a skip: install them with `scripts/install-deps --test`.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use tillcard_hq::service::{back_office::Actor, roles::Role};
use tillcard_protocol::wire::EventBody;
use tillcard_rules::ids::SourceId;
use tillcard_rules::money::Money;
use tillcard_rules::shift::{ShiftAction, ShiftReport};
use tillcard_rules::tenders::{Tender, TenderKind};
use util::browser::{
    click, find_program, open_page, save_screenshot, screenshots_dir, start_chromium, text_of,
    type_into, wait_for,
};
use util::{Backend, Till, harness};
use uuid::Uuid;

const USER: &str = "hq-shifts";
const PASSWORD: &str = "shift-closes-pass-1";

/// A sale of `yuan` paid by `kind`.
fn sale(yuan: i64, kind: TenderKind) -> ShiftAction {
    ShiftAction::Sale {
        gross: Money::from_yuan(yuan),
        discounts: Money::ZERO,
        net: Money::from_yuan(yuan),
        tenders: vec![Tender {
            kind,
            amount: Money::from_yuan(yuan),
        }],
        change: Money::ZERO,
        stored_value_used: Money::ZERO,
        points_value: Money::ZERO,
        points_redeemed: 0,
        points_issued: yuan,
    }
}

/// The `shift_closed` event of `actions` (each with its clerk).
fn close(till: &mut Till, actions: &[(&str, ShiftAction)]) -> tillcard_protocol::wire::OutboxEvent {
    let first = till.next_seq;
    let report = ShiftReport::build(
        actions
            .iter()
            .zip(first..)
            .map(|((clerk, action), seq)| (seq, *clerk, action)),
        Some(till.clock - chrono::Duration::hours(8)),
        till.clock,
    );
    till.event(&EventBody::ShiftClosed {
        shift: SourceId(Uuid::now_v7()),
        closed_by: "m1".into(),
        report: Box::new(report),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shift_closes_in_headless_chromium() {
    let chromium = find_program("chromium");
    let chromedriver = find_program("chromedriver");
    let h = harness(Backend::Sqlite).await;
    h.hq.save_user(&Actor::cli(), USER, PASSWORD, Some(Role::StoreOps))
        .await
        .unwrap();
    let (mut a, mut b) = h.two_stores().await;
    let morning = close(
        &mut a,
        &[
            ("c1", sale(120, TenderKind::WechatPay)),
            ("c2", sale(30, TenderKind::Cash)),
        ],
    );
    let evening = close(&mut a, &[("c1", sale(88, TenderKind::Alipay))]);
    let elsewhere = close(&mut b, &[("c7", sale(5, TenderKind::Cash))]);
    h.upload(&a, vec![morning, evening]).await;
    h.upload(&b, vec![elsewhere]).await;

    let served = h.serve().await;
    let base = served.base.clone();
    let browser = start_chromium(&chromium, &chromedriver, "1600,900").await;
    open_page(&browser, &format!("{base}/console/stores?lang=en")).await;
    type_into(&browser, "username", USER).await;
    type_into(&browser, "password", PASSWORD).await;
    click(&browser, "#login-submit").await;
    wait_for(&browser, "#nav-shift-closes", 10).await;
    click(&browser, "#nav-shift-closes").await;
    let asked = text_of(&browser, "shift-pick").await;
    click(&browser, "#shift-store option[value='S001']").await;
    click(&browser, "#shift-show").await;
    let totals = text_of(&browser, "shift-totals").await;
    let rows = browser
        .find_all(fantoccini::Locator::Css("#shift-closes tr.close"))
        .await
        .unwrap()
        .len();
    save_screenshot(&browser, "console-shift-closes-en.png").await;

    // The older close (the morning's): each clerk's figures.
    let links = browser
        .find_all(fantoccini::Locator::Css(".close-detail"))
        .await
        .unwrap();
    links.last().unwrap().click().await.unwrap();
    // A figure's name and value on one line each: read as one line.
    let flat = |text: String| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let c1 = flat(text_of(&browser, "clerk-c1").await);
    let c2 = flat(text_of(&browser, "clerk-c2").await);
    save_screenshot(&browser, "console-shift-close-en.png").await;

    open_page(
        &browser,
        &format!("{base}/console/shift-closes?store=S001&lang=zh-CN"),
    )
    .await;
    let zh_totals = text_of(&browser, "shift-totals").await;
    save_screenshot(&browser, "console-shift-closes-zh-CN.png").await;
    browser.close().await.unwrap();
    served.stop().await;
    println!(
        "shift closes: {asked:?}; {rows} rows; totals {totals:?}; c1 {c1:?}; c2 {c2:?}; zh {zh_totals:?}; screenshots in {}",
        screenshots_dir().display()
    );
    assert_eq!(asked, "Pick a store");
    assert_eq!(rows, 2, "S001's two closes, not S002's");
    // Sales, net, then net by tender: cash, bank card, WeChat Pay, Alipay.
    assert!(
        totals.starts_with("This page's total 3 ¥238.00 ¥30.00 ¥0.00 ¥120.00 ¥88.00"),
        "{totals}"
    );
    assert!(c1.contains("Net sales ¥120.00"), "{c1}");
    assert!(c2.contains("Net sales ¥30.00"), "{c2}");
    assert!(c2.contains("Cash expected ¥30.00"), "{c2}");
    assert!(zh_totals.starts_with("本页合计 3 ¥238.00"), "{zh_totals}");
}
