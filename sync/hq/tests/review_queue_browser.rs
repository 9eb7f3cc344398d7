//! The review queue in headless Chromium: an enrollment uploaded while
//! head office's sealing key was lost is dead-lettered `sealed`, and a copy
//! of the terminal's disk re-using its seq flags the terminal; once the key
//! is restored, a store-operations user re-applies the dead letter from the
//! console (the member exists, the item leaves the queue) and dismisses the
//! flag with a reason. Saves `target/screenshots/console-review-queue-en.png`.
//!
//! A missing chromium or chromedriver is a failure with the reason, never
//! a skip: install them with `scripts/install-deps --test`.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use fantoccini::Locator;
use tillcard_hq::service::{back_office::Actor, roles::Role};
use tillcard_hq::store::AuditEntry;
use tillcard_protocol::auth;
use util::browser::{
    click, find_program, open_page, save_screenshot, screenshots_dir, start_chromium, text_of,
    type_into, wait_for,
};
use util::{Backend, Harness, harness, new_member};

const USER: &str = "hq-review";
const PASSWORD: &str = "review-queue-pass-1";

/// Sets head office's sealing key in its settings (a restart then reads
/// it).
async fn set_box_secret(h: &Harness, secret: &str) {
    let audit = AuditEntry {
        at: chrono::Utc::now().to_rfc3339(),
        actor: "cli".into(),
        action: "test_box_secret_set".into(),
        subject: "settings:box_secret".into(),
        detail: String::new(),
    };
    h.hq.store()
        .put_settings(&[("box_secret".into(), secret.into())], &audit)
        .await
        .unwrap();
}

/// The text of the element with id `id` once it contains `wanted` (the
/// page swapped after a form), or as it is after 10 s.
async fn text_once(browser: &fantoccini::Client, id: &str, wanted: &str) -> String {
    let mut text = String::new();
    for _ in 0..100 {
        // The element may go stale while htmx swaps the page: read again.
        if let Ok(element) = browser.find(Locator::Id(id)).await
            && let Ok(read) = element.text().await
        {
            text = read;
            if text.contains(wanted) {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_queue_in_headless_chromium() {
    let chromium = find_program("chromium");
    let chromedriver = find_program("chromedriver");
    let h = harness(Backend::Sqlite).await;
    h.hq.save_user(&Actor::cli(), USER, PASSWORD, Some(Role::StoreOps))
        .await
        .unwrap();
    let mut till = h.provision("S001").await;
    let key = h.hq.store().setting("box_secret").await.unwrap().unwrap();
    set_box_secret(&h, &auth::b64(&auth::random_32())).await;
    let lost = h.reopened().await;
    let member = new_member();
    let (enrolled, _) = till.enroll(member, "13600136001");
    let (_, ack) = lost.upload(&till, vec![enrolled]).await;
    assert_eq!(ack.unwrap().dead_lettered, 1);
    let mut copy = util::Till {
        next_seq: 1,
        ..till.clone()
    };
    let forged = copy.simple_batch(new_member(), "13600136002", 1);
    let (status, _) = lost.upload(&copy, forged).await;
    assert_eq!(status, axum::http::StatusCode::CONFLICT, "flagged");
    set_box_secret(&h, &key).await;
    let restored = h.reopened().await;
    let dead = restored.hq.dead_letter_queue().await.unwrap().remove(0);
    let flag = restored.hq.flag_queue().await.unwrap().remove(0);

    let served = restored.serve().await;
    let base = served.base.clone();
    let browser = start_chromium(&chromium, &chromedriver, "1400,1000").await;
    open_page(&browser, &format!("{base}/console/conflicts?lang=en")).await;
    type_into(&browser, "username", USER).await;
    type_into(&browser, "password", PASSWORD).await;
    click(&browser, "#login-submit").await;
    let dead_row = format!("dead-letter-{}-{}", dead.terminal_id, dead.seq);
    let before = text_of(&browser, &dead_row).await;
    let flag_row = format!("flag-{}", flag.id);
    wait_for(&browser, &format!("#{flag_row}"), 10).await;
    save_screenshot(&browser, "console-review-queue-en.png").await;

    // Re-applied from the console: the member exists, the row is gone.
    click(&browser, &format!("#{dead_row} .reapply-submit")).await;
    let reapplied = text_of(&browser, "flash-notice").await;
    let rows_left = browser
        .find_all(Locator::Css(&format!("#{dead_row}")))
        .await
        .unwrap()
        .len();

    // The flag dismissed with a reason.
    browser
        .find(Locator::Css(&format!(
            "#{flag_row} .close-action option[value='dismiss']"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .find(Locator::Css(&format!("#{flag_row} .close-note")))
        .await
        .unwrap()
        .send_keys("a copied disk, put away")
        .await
        .unwrap();
    click(&browser, &format!("#{flag_row} .close-submit")).await;
    let flag_after = text_once(&browser, &flag_row, "Dismissed").await;
    let dismissed = text_of(&browser, "flash-notice").await;
    browser.close().await.unwrap();
    served.stop().await;
    let record = restored.hq.store().member(member).await.unwrap();
    let trail = restored
        .hq
        .audit_trail(
            Some(&format!("dead_letter:{}/{}", dead.terminal_id, dead.seq)),
            None,
        )
        .await
        .unwrap();
    println!(
        "review queue: dead letter row {before:?}; {reapplied}; rows left {rows_left}; {dismissed}; flag row {flag_after:?}; \
         member held {}; audit {:?}; screenshot in {}",
        record.is_some(),
        trail
            .iter()
            .map(|a| (a.action.as_str(), a.actor.as_str()))
            .collect::<Vec<_>>(),
        screenshots_dir().display()
    );
    assert!(before.contains("sealed"), "{before}");
    assert_eq!(reapplied, "The event was re-applied.");
    assert_eq!(rows_left, 0, "the dead letter left the queue");
    assert_eq!(dismissed, "Dismissed.");
    assert!(flag_after.contains("Dismissed"), "{flag_after}");
    assert!(
        flag_after.contains("a copied disk, put away"),
        "{flag_after}"
    );
    assert!(
        record.is_some(),
        "the re-applied enrollment made the member"
    );
    assert_eq!(
        trail
            .iter()
            .map(|a| (a.action.as_str(), a.actor.as_str()))
            .collect::<Vec<_>>(),
        [("dead_letter_reapplied", USER)]
    );
}
