//! The console's program editor in headless Chromium: an admin signs in,
//! breaks the draft (a negative earning rate) and is shown the problem,
//! fixes it to double points and previews the sample basket for every
//! tier under the version in force and the draft, publishes, and finds the
//! version listed as scheduled and in head office's versions; the daily
//! jobs' page shows their time. Saves
//! `target/screenshots/console-program-*.png`.
//!
//! A missing chromium or chromedriver is a failure with the reason, never
//! a skip: install them with `scripts/install-deps --test`.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use std::time::Instant;

use fantoccini::{Client, Locator};
use tillcard_hq::service::{back_office::Actor, roles::Role};
use util::browser::{
    click, find_program, open_page, save_screenshot, screenshots_dir, start_chromium, text_at,
    text_of, type_into, wait_for,
};
use util::{Backend, harness};

const USER: &str = "hq-marketing";
const PASSWORD: &str = "program-pass-1";

/// Replaces the draft's TOML by `text` (a script sets a textarea's value
/// in one step; typing hundreds of lines would take long).
async fn set_draft(browser: &Client, text: &str) {
    browser
        .execute(
            "document.getElementById('program-toml').value = arguments[0];",
            vec![serde_json::Value::String(text.into())],
        )
        .await
        .unwrap();
}

async fn draft(browser: &Client) -> String {
    browser
        .find(Locator::Id("program-toml"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}

/// Clicks `button` and waits for htmx to swap in the answer (the marker
/// set on the old `<main>` is gone).
async fn submit(browser: &Client, button: &str) {
    browser
        .execute("document.getElementById('main').dataset.old = '1';", vec![])
        .await
        .unwrap();
    click(browser, button).await;
    wait_for(browser, "#main:not([data-old])", 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn program_editor_in_headless_chromium() {
    let started = Instant::now();
    let chromium = find_program("chromium");
    let chromedriver = find_program("chromedriver");
    let h = harness(Backend::Sqlite).await;
    h.hq.save_user(&Actor::cli(), USER, PASSWORD, Some(Role::Marketing))
        .await
        .unwrap();
    let served = h.serve().await;
    let base = served.base.clone();
    let browser = start_chromium(&chromium, &chromedriver, "1280,1400").await;
    let mut saved = Vec::new();

    open_page(&browser, &format!("{base}/console/program?lang=en")).await;
    type_into(&browser, "username", USER).await;
    type_into(&browser, "password", PASSWORD).await;
    click(&browser, "#login-submit").await;
    assert_eq!(text_of(&browser, "who").await, USER);
    let start = draft(&browser).await;
    assert!(
        start.contains("points_per_yuan = 1"),
        "the draft starts from the version in force: {start}"
    );
    let before: usize = browser
        .find_all(Locator::Css("#programs tbody tr"))
        .await
        .unwrap()
        .len();

    // A negative earning rate: refused before anything is published.
    let broken = start.replacen("points_per_yuan = 1", "points_per_yuan = -1", 1);
    set_draft(&browser, &broken).await;
    submit(&browser, "#program-preview").await;
    let problems = text_of(&browser, "program-problems").await;
    assert!(
        problems.contains("points earned per ¥1 must not be negative"),
        "{problems}"
    );
    assert_eq!(
        draft(&browser).await.trim_end(),
        broken.trim_end(),
        "the draft is kept"
    );
    // Beside its field: the draft's line that holds it, quoted.
    let line = broken
        .lines()
        .position(|l| l.trim() == "points_per_yuan = -1")
        .unwrap()
        + 1;
    let item = browser
        .find(Locator::Css(
            "#program-problems li[data-field='earning.points_per_yuan']",
        ))
        .await
        .unwrap();
    assert_eq!(
        item.attr("data-line").await.unwrap().as_deref(),
        Some(line.to_string().as_str()),
        "placed at the line of the field"
    );
    let beside = item.text().await.unwrap();
    assert!(
        beside.contains(&format!("Line {line}")) && beside.contains("points_per_yuan = -1"),
        "{beside}"
    );
    assert!(
        browser
            .find(Locator::Id("program-from-problem"))
            .await
            .is_err(),
        "the moment is fine"
    );
    save_screenshot(&browser, "console-program-problem-en.png").await;
    saved.push("console-program-problem-en.png");

    // A moment in the past: the problem sits under the moment's input.
    set_draft(&browser, &start).await;
    browser
        .execute(
            "document.getElementById('program-from').value = '2020-01-01T09:00';",
            vec![],
        )
        .await
        .unwrap();
    submit(&browser, "#program-preview").await;
    let past = text_of(&browser, "program-from-problem").await;
    assert!(
        past.contains("not a minute or more in the future"),
        "{past}"
    );
    // Back to a fresh editor (its default moment ahead).
    open_page(&browser, &format!("{base}/console/program?lang=en")).await;

    // Double points: the preview shows every tier's points change.
    let doubled = start.replacen("points_per_yuan = 1", "points_per_yuan = 2", 1);
    set_draft(&browser, &doubled).await;
    submit(&browser, "#program-preview").await;
    let changed = browser
        .find_all(Locator::Css("#program-preview-table tbody tr.changed"))
        .await
        .unwrap()
        .len();
    let tiers = browser
        .find_all(Locator::Css("#program-preview-table tbody tr"))
        .await
        .unwrap()
        .len();
    assert_eq!((changed, tiers), (4, 4), "every tier's points change");
    let gold = text_at(&browser, "#preview-gold").await;
    println!("preview, gold: {gold}");
    save_screenshot(&browser, "console-program-preview-en.png").await;
    saved.push("console-program-preview-en.png");

    // Publish: listed as scheduled, and head office has it.
    submit(&browser, "#program-publish").await;
    assert_eq!(
        text_of(&browser, "flash-notice").await,
        "Version published; terminals receive it on their next sync."
    );
    let after = browser
        .find_all(Locator::Css("#programs tbody tr"))
        .await
        .unwrap()
        .len();
    assert_eq!(after, before + 1);
    let row = text_at(&browser, "#program-2").await;
    assert!(row.contains("Scheduled") && row.contains('2'), "{row}");
    let versions = h.hq.programs().await.unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[1].earning.points_per_yuan, 2);
    assert!(versions[1].effective_from.is_some());
    save_screenshot(&browser, "console-program-published-en.png").await;
    saved.push("console-program-published-en.png");

    // The daily jobs' page beside it (no run yet: no scheduler here).
    open_page(&browser, &format!("{base}/console/jobs?lang=en")).await;
    assert_eq!(text_of(&browser, "jobs-at").await, "03:00");

    browser.close().await.unwrap();
    served.stop().await;
    println!(
        "program editor: a problem shown, a preview with {changed} of {tiers} tiers changed, \
         version 2 published by a marketing user; screenshots {saved:?} in {}; {:.1} s",
        screenshots_dir().display(),
        started.elapsed().as_secs_f64()
    );
}
