//! Member care in headless Chromium: a store-operations user signs in,
//! looks a member up with a malformed query (refused with words), then by
//! phone with a reason (the member shown, the view in the audit trail with
//! that reason), freezes them (head office holds them frozen, the freeze
//! audited), finds them again by id and tags them. Saves `target/screenshots/console-members-*.png`.
//!
//! A missing chromium or chromedriver is a failure with the reason, never
//! a skip: install them with `scripts/install-deps --test`.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use std::time::Instant;

use fantoccini::Locator;
use tillcard_hq::service::{back_office::Actor, roles::Role};
use util::browser::{
    click, find_program, open_page, save_screenshot, screenshots_dir, start_chromium, text_of,
    type_into, wait_for,
};
use util::{Backend, harness, new_member};

const USER: &str = "hq-care";
const PASSWORD: &str = "member-care-pass-1";
const PHONE: &str = "13500135000";

/// Replaces the text of the field `css` selects.
async fn type_into_css(browser: &fantoccini::Client, css: &str, text: &str) {
    let field = browser.find(Locator::Css(css)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_care_in_headless_chromium() {
    let started = Instant::now();
    let chromium = find_program("chromium");
    let chromedriver = find_program("chromedriver");
    let h = harness(Backend::Sqlite).await;
    h.hq.save_user(&Actor::cli(), USER, PASSWORD, Some(Role::StoreOps))
        .await
        .unwrap();
    let mut till = h.provision("S001").await;
    let member = new_member();
    let (enrolled, account) = till.enroll_account(member, PHONE);
    let (added, _) = till.add_points(&account, 300);
    h.upload(&till, vec![enrolled, added]).await;

    let served = h.serve().await;
    let base = served.base.clone();
    let browser = start_chromium(&chromium, &chromedriver, "1280,1200").await;
    let mut saved = Vec::new();
    open_page(&browser, &format!("{base}/console/members?lang=en")).await;
    type_into(&browser, "username", USER).await;
    type_into(&browser, "password", PASSWORD).await;
    click(&browser, "#login-submit").await;
    wait_for(&browser, "#member-search", 10).await;

    // Five digits are neither a member id nor a phone.
    type_into(&browser, "member-q", "13500").await;
    type_into(&browser, "member-why", "customer at the desk").await;
    click(&browser, "#member-find").await;
    let problem = text_of(&browser, "member-problem").await;
    assert!(problem.contains("phone number's digits"), "{problem}");

    // By phone, with a reason: shown, and the view audited.
    type_into(&browser, "member-q", PHONE).await;
    type_into(&browser, "member-why", "customer asked about points").await;
    click(&browser, "#member-find").await;
    let card = text_of(&browser, &format!("member-{member}")).await;
    assert!(card.contains(PHONE), "the phone, whole: {card}");
    assert_eq!(text_of(&browser, "member-points").await, "300");
    save_screenshot(&browser, "console-members-en.png").await;
    saved.push("console-members-en.png");

    // Freeze, with a reason.
    let reason = browser
        .find(Locator::Css(".standing-reason"))
        .await
        .unwrap();
    reason.send_keys("card reported stolen").await.unwrap();
    click(&browser, ".standing-submit").await;
    let notice = text_of(&browser, "flash-notice").await;
    assert!(notice.starts_with("Member frozen"), "{notice}");

    // Found again (a second view, audited), tagged for the clerks.
    type_into(&browser, "member-q", &member.to_string()).await;
    type_into(&browser, "member-why", "tag as VIP").await;
    click(&browser, "#member-find").await;
    assert!(text_of(&browser, "member-frozen").await.contains("Frozen"));
    type_into_css(&browser, ".tags-input", "VIP， 员工").await;
    click(&browser, ".tags-submit").await;
    let tagged = text_of(&browser, "flash-notice").await;
    assert!(tagged.starts_with("Tags saved"), "{tagged}");
    let (record, _) = h.hq.store().member(member).await.unwrap().unwrap();

    let trail =
        h.hq.audit_trail(Some(&format!("member:{member}")), None)
            .await
            .unwrap();
    let rows: Vec<(&str, &str, &str)> = trail
        .iter()
        .map(|a| (a.action.as_str(), a.actor.as_str(), a.detail.as_str()))
        .collect();
    browser.close().await.unwrap();
    served.stop().await;
    println!(
        "member care: a refused query, a look-up by phone, a freeze; audit {rows:?}; screenshots {saved:?} in {}; {:.1} s",
        screenshots_dir().display(),
        started.elapsed().as_secs_f64()
    );
    assert!(record.frozen, "head office holds the member frozen");
    assert_eq!(record.tags, ["VIP", "员工"]);
    assert_eq!(
        rows,
        [
            ("member_tags_set", USER, "VIP, 员工"),
            ("member_viewed", USER, "tag as VIP"),
            ("member_frozen", USER, "card reported stolen"),
            ("member_viewed", USER, "customer asked about points"),
        ],
        "each view and change, newest first; the refused query left nothing"
    );
}

/// The conflicts queue in headless Chromium: one phone enrolled at two
/// stores raises a conflict; the queue counts it (open, under a day), and a
/// store-operations user resolves it by freezing the member. Saves
/// `target/screenshots/console-conflicts-en.png`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflict_queue_in_headless_chromium() {
    let chromium = find_program("chromium");
    let chromedriver = find_program("chromedriver");
    let h = harness(Backend::Sqlite).await;
    h.hq.save_user(&Actor::cli(), USER, PASSWORD, Some(Role::StoreOps))
        .await
        .unwrap();
    let (mut a, mut b) = h.two_stores_apart(chrono::Duration::days(1)).await;
    let (first, second) = (new_member(), new_member());
    let (e1, _) = a.enroll(first, PHONE);
    let (e2, _) = b.enroll(second, PHONE);
    h.upload(&a, vec![e1]).await;
    h.upload(&b, vec![e2]).await;
    let case = h.hq.conflict_queue().await.unwrap().remove(0);

    let served = h.serve().await;
    let base = served.base.clone();
    let browser = start_chromium(&chromium, &chromedriver, "1280,900").await;
    open_page(&browser, &format!("{base}/console/conflicts?lang=en")).await;
    type_into(&browser, "username", USER).await;
    type_into(&browser, "password", PASSWORD).await;
    click(&browser, "#login-submit").await;
    let counts = text_of(&browser, "count-duplicate_phone").await;
    assert_eq!(counts, "duplicate_phone 1 0 0 0", "open, under a day");

    let row = format!("#conflict-{}", case.conflict_no);
    browser
        .find(Locator::Css(&format!(
            "{row} .close-action option[value='freeze']"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .find(Locator::Css(&format!("{row} .close-note")))
        .await
        .unwrap()
        .send_keys("same person, two cards")
        .await
        .unwrap();
    click(&browser, &format!("{row} .close-submit")).await;
    let notice = text_of(&browser, "flash-notice").await;
    let state = text_of(&browser, &format!("conflict-{}", case.conflict_no)).await;
    let counts = text_of(&browser, "count-duplicate_phone").await;
    save_screenshot(&browser, "console-conflicts-en.png").await;
    browser.close().await.unwrap();
    served.stop().await;
    let (member, _) = h.hq.store().member(second).await.unwrap().unwrap();
    println!("conflict queue: {notice}; row {state:?}; counts {counts:?}");
    assert_eq!(notice, "Conflict resolved.");
    assert!(state.contains("Resolved · freeze"), "{state}");
    assert_eq!(counts, "duplicate_phone 0 0 0 1", "closed now");
    assert_eq!(
        case.member_id, second,
        "the second enrollment is the conflict's"
    );
    assert!(member.frozen, "resolved by freezing the member");
}
