//! The head-office console in a real browser: head office on port 0
//! (SQLite) with one terminal provisioned through the test harness, an
//! admin user, then headless Chromium (Debian's `chromium` and
//! `chromium-driver`, driven over WebDriver by fantoccini) opens a console
//! page, is sent to the login page and back, creates a store, a manager
//! and an enrollment code and revokes the terminal through the forms (htmx
//! swapping `<main>`, checked by a marker a full page load would lose),
//! and saves `target/screenshots/console-*.png` (copied to docs/images).
//!
//! A missing chromium or chromedriver is a failure with the reason, never
//! a skip: install them with `scripts/install-deps --test`.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use std::time::Instant;

use fantoccini::{Client, Locator};
use tillcard_hq::service::{back_office::Actor, roles::Role};
use util::browser::{
    click, find_program, open_page, save_screenshot, screenshots_dir, start_chromium, text_of,
    type_into,
};
use util::{Backend, harness};

const USER: &str = "hq-admin";
const PASSWORD: &str = "console-pass-1";

/// Marks the loaded page; [`swapped_in_place`] tells whether it is still
/// the same page (htmx swapped a fragment) after a form.
async fn mark_page(browser: &Client) {
    browser
        .execute("window.tillcardMarker = 1;", vec![])
        .await
        .unwrap();
}

async fn swapped_in_place(browser: &Client) -> bool {
    browser
        .execute("return window.tillcardMarker === 1;", vec![])
        .await
        .unwrap()
        .as_bool()
        .unwrap()
}

async fn rows(browser: &Client, table: &str) -> usize {
    browser
        .find_all(Locator::Css(&format!("#{table} tbody tr")))
        .await
        .unwrap()
        .len()
}

async fn shoot(browser: &Client, name: &str, saved: &mut Vec<String>) {
    save_screenshot(browser, name).await;
    saved.push(name.to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_in_headless_chromium() {
    let started = Instant::now();
    let chromium = find_program("chromium");
    let chromedriver = find_program("chromedriver");

    // Head office on a real port, a terminal at S001, an admin user.
    let h = harness(Backend::Sqlite).await;
    let till = h.provision("S001").await;
    let terminal = till.creds.terminal_id.0.to_string();
    h.hq.save_user(&Actor::cli(), USER, PASSWORD, Some(Role::Admin))
        .await
        .unwrap();
    let served = h.serve().await;
    let base = served.base.clone();

    let browser = start_chromium(&chromium, &chromedriver, "1280,900").await;
    let mut saved = Vec::new();

    // A console page without a session: the login page, then back.
    open_page(&browser, &format!("{base}/console/stores?lang=en")).await;
    let url = browser.current_url().await.unwrap();
    assert_eq!(url.path(), "/dashboard/login", "{url}");
    type_into(&browser, "username", USER).await;
    type_into(&browser, "password", PASSWORD).await;
    click(&browser, "#login-submit").await;
    assert_eq!(text_of(&browser, "who").await, USER);
    let url = browser.current_url().await.unwrap();
    assert_eq!(url.path(), "/console/stores", "{url}");

    // A store.
    mark_page(&browser).await;
    let stores_before = rows(&browser, "stores").await;
    type_into(&browser, "store-code", "S900").await;
    type_into(&browser, "store-name", "Xuhui Flagship").await;
    type_into(&browser, "store-address", "88 Tianyaoqiao Rd").await;
    click(&browser, "#store-submit").await;
    assert_eq!(text_of(&browser, "flash-notice").await, "Store created.");
    assert!(swapped_in_place(&browser).await, "htmx did not swap <main>");
    let stores_after = rows(&browser, "stores").await;
    assert_eq!(stores_after, stores_before + 1);
    shoot(&browser, "console-stores-en.png", &mut saved).await;

    // A manager at it: the setup code shown once.
    open_page(&browser, &format!("{base}/console/staff")).await;
    mark_page(&browser).await;
    type_into(&browser, "staff-id", "zhou").await;
    type_into(&browser, "staff-name", "Zhou Min").await;
    click(&browser, "#staff-role option[value='manager']").await;
    click(&browser, "#staff-store-S900").await;
    click(&browser, "#staff-submit").await;
    let setup = text_of(&browser, "secret").await;
    assert!(
        setup.len() == 8 && setup.chars().all(|c| c.is_ascii_digit()),
        "{setup}"
    );
    assert!(swapped_in_place(&browser).await);
    let row = text_of(&browser, "staff-zhou").await;
    assert!(row.contains("Manager") && row.contains("S900"), "{row}");
    shoot(&browser, "console-staff-en.png", &mut saved).await;
    // 中文, and the code is gone.
    open_page(&browser, &format!("{base}/console/staff?lang=zh-CN")).await;
    let row = text_of(&browser, "staff-zhou").await;
    assert!(row.contains("店长"), "{row}");
    assert!(!browser.source().await.unwrap().contains(&setup));
    shoot(&browser, "console-staff-zh-CN.png", &mut saved).await;

    // An enrollment code for the new store (7 days by default).
    open_page(&browser, &format!("{base}/console/codes?lang=en")).await;
    let days = browser
        .find(Locator::Id("code-days"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(days.as_deref(), Some("7"));
    click(&browser, "#code-store option[value='S900']").await;
    click(&browser, "#code-submit").await;
    let code = text_of(&browser, "secret").await;
    assert!(!code.is_empty());
    let codes = rows(&browser, "codes").await;
    assert_eq!(codes, 2, "the harness's used code and the new unused one");
    shoot(&browser, "console-codes-en.png", &mut saved).await;

    // Revoke the terminal, with the confirmation.
    open_page(&browser, &format!("{base}/console/terminals")).await;
    mark_page(&browser).await;
    click(
        &browser,
        &format!("#terminal-{terminal} input[name='confirm']"),
    )
    .await;
    click(&browser, &format!("#terminal-{terminal} button.danger")).await;
    assert_eq!(text_of(&browser, "flash-notice").await, "Terminal revoked.");
    assert!(swapped_in_place(&browser).await);
    let row = text_of(&browser, &format!("terminal-{terminal}")).await;
    assert!(row.contains("Revoked"), "{row}");
    assert!(h.hq.list_terminals().await.unwrap()[0].revoked);
    shoot(&browser, "console-terminals-en.png", &mut saved).await;

    // The audit trail shows it all.
    open_page(&browser, &format!("{base}/console/audit")).await;
    let audit_rows = rows(&browser, "audit").await;
    let source = browser.source().await.unwrap();
    for action in [
        "store_created",
        "staff_created",
        "code_issued",
        "terminal_revoked",
    ] {
        assert!(source.contains(action), "audit lacks {action}");
    }
    assert!(!source.contains(&setup) && !source.contains(&code));
    shoot(&browser, "console-audit-en.png", &mut saved).await;

    browser.close().await.unwrap();
    served.stop().await;
    println!(
        "console browser test: signed in as {USER}; stores {stores_before} -> {stores_after}; \
         manager zhou with a setup code; {codes} enrollment codes listed; terminal {terminal} \
         revoked; {audit_rows} audit rows; screenshots {saved:?} in {}; {:.1} s",
        screenshots_dir().display(),
        started.elapsed().as_secs_f64()
    );
}
