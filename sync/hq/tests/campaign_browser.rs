//! Campaigns in headless Chromium: a marketing user signs in, sends a
//! sleeping-member campaign whose control group is too large (refused,
//! the problem shown in the service's words, nothing written), then the
//! same campaign with a 30% control group (created), runs it now (ten
//! members asleep for 120 days reached, three recent buyers not), reads
//! the campaign's figures (issued and control as head office holds them)
//! and stops it with a reason (audited). An analyst's create POST is 403.
//! Saves `target/screenshots/console-campaigns-{en,zh-CN}.png`.
//!
//! A missing chromium or chromedriver is a failure with the reason, never
//! a skip: install them with `scripts/install-deps --test`.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use std::time::Instant;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::Duration;
use fantoccini::Client;
use tillcard_hq::console;
use tillcard_hq::dashboard::SESSION_COOKIE;
use tillcard_hq::service::LoginOutcome;
use tillcard_hq::service::{back_office::Actor, roles::Role};
use tillcard_rules::ids::Timestamp;
use tillcard_rules::pricing::TenderRequest;
use util::browser::{
    click, find_program, open_page, save_screenshot, screenshots_dir, start_chromium, text_of,
    type_into, wait_for,
};
use util::{Backend, Harness, Till, harness, new_member};

const USER: &str = "hq-marketing";
const PASSWORD: &str = "campaign-pass-1";
const CODE: &str = "sleepers-console";

/// Enrolls `n` members at the till's clock, each buying ¥60 then; uploads.
async fn members_who_bought(h: &Harness, till: &mut Till, n: u64, phone0: u64) {
    let mut events = Vec::new();
    for i in 0..n {
        let member = new_member();
        let (enrolled, account) = till.enroll_account(member, &(phone0 + i).to_string());
        let (sale, _) = till.sale(&account, 60, TenderRequest::default());
        events.push(enrolled);
        events.push(sale);
    }
    let (status, _) = h.upload(till, events).await;
    assert_eq!(status, StatusCode::OK);
}

/// Sets the value of the input with id `id` (a `datetime-local` input
/// takes its value in the browser's locale when typed; set, it is ISO).
async fn set_value(browser: &Client, id: &str, value: &str) {
    browser
        .execute(
            "document.getElementById(arguments[0]).value = arguments[1];",
            vec![id.into(), value.into()],
        )
        .await
        .unwrap();
}

/// A store-local `datetime-local` value.
fn local(at: Timestamp) -> String {
    at.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

/// Fills the create form: a ¥20-off-¥50 coupon for members asleep 90
/// days, with `control` per cent held back.
async fn fill_form(browser: &Client, now: Timestamp, control: &str) {
    type_into(browser, "campaign-code", CODE).await;
    type_into(browser, "campaign-name-input", "Wake the sleepers").await;
    set_value(browser, "campaign-starts", &local(now - Duration::hours(1))).await;
    set_value(browser, "campaign-ends", &local(now + Duration::days(30))).await;
    type_into(browser, "campaign-budget", "100").await;
    type_into(browser, "campaign-control", control).await;
    type_into(browser, "campaign-off", "20").await;
    type_into(browser, "campaign-min-spend", "50").await;
    type_into(browser, "campaign-valid-days", "30").await;
    type_into(browser, "campaign-min-days", "90").await;
}

/// Posts the create form as `user` (a role without `Campaigns`) straight
/// to head office, with a valid session and CSRF token.
async fn post_as(h: &Harness, user: &str, role: Role) -> StatusCode {
    h.hq.save_user(&Actor::cli(), user, PASSWORD, Some(role))
        .await
        .unwrap();
    let LoginOutcome::Session(token) = h.hq.login(user, PASSWORD).await.unwrap() else {
        panic!("login refused");
    };
    let body = format!(
        "csrf={}&code=analyst-try&name=x&budget=1&valid_days=30&off=1&starts_at=2026-12-01T00%3A00&ends_at=2027-01-01T00%3A00",
        console::csrf_token(&token)
    );
    let (status, _, _) = h
        .exchange(
            Request::builder()
                .method("POST")
                .uri("/console/campaigns")
                .header(header::COOKIE, format!("{SESSION_COOKIE}={token}"))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn campaigns_in_headless_chromium() {
    let started = Instant::now();
    let chromium = find_program("chromium");
    let chromedriver = find_program("chromedriver");
    let h = harness(Backend::Sqlite).await;
    h.hq.save_user(&Actor::cli(), USER, PASSWORD, Some(Role::Marketing))
        .await
        .unwrap();
    let now = chrono::Utc::now().fixed_offset();
    let mut till = h.provision("S001").await;
    // Ten members who last bought 120 days ago (asleep), three who bought
    // five days ago (awake).
    till.clock = now - Duration::days(120);
    members_who_bought(&h, &mut till, 10, 13_900_000_000).await;
    till.clock = now - Duration::days(5);
    members_who_bought(&h, &mut till, 3, 13_800_000_000).await;

    let served = h.serve().await;
    let base = served.base.clone();
    let browser = start_chromium(&chromium, &chromedriver, "1280,1400").await;
    let mut saved = Vec::new();
    open_page(&browser, &format!("{base}/console/campaigns?lang=en")).await;
    type_into(&browser, "username", USER).await;
    type_into(&browser, "password", PASSWORD).await;
    click(&browser, "#login-submit").await;
    wait_for(&browser, "#campaign-form", 10).await;

    // 80% held back is more than half the segment: refused, in words.
    fill_form(&browser, now, "80").await;
    click(&browser, "#campaign-submit").await;
    let refused = text_of(&browser, "flash-error").await;
    let problem = text_of(&browser, "flash-detail").await;
    let after_refusal = h.hq.store().campaign(CODE).await.unwrap();

    // 30%: created.
    fill_form(&browser, now, "30").await;
    click(&browser, "#campaign-submit").await;
    let created = text_of(&browser, "flash-notice").await;

    // Its page; run now.
    click(&browser, &format!("#campaign-row-{CODE} a")).await;
    click(&browser, "#campaign-run").await;
    let ran = text_of(&browser, "flash-notice").await;
    save_screenshot(&browser, "console-campaigns-en.png").await;
    saved.push("console-campaigns-en.png");
    open_page(&browser, &format!("{base}/console/campaigns/{CODE}")).await;
    let issued = text_of(&browser, "fig-issued").await;
    let segment = text_of(&browser, "campaign-segment").await;
    let treated = text_of(&browser, "treated-members").await;
    let control = text_of(&browser, "control-members").await;
    let treated_sleeping = text_of(&browser, "treated-sleeping").await;
    save_screenshot(&browser, "console-campaign-figures-en.png").await;
    saved.push("console-campaign-figures-en.png");
    open_page(
        &browser,
        &format!("{base}/console/campaigns/{CODE}?lang=zh-CN"),
    )
    .await;
    wait_for(&browser, "#campaign-figures", 10).await;
    save_screenshot(&browser, "console-campaigns-zh-CN.png").await;
    saved.push("console-campaigns-zh-CN.png");
    open_page(
        &browser,
        &format!("{base}/console/campaigns/{CODE}?lang=en"),
    )
    .await;

    // Stop, with a reason.
    type_into(&browser, "campaign-stop-reason", "budget moved to spring").await;
    click(&browser, "#campaign-stop").await;
    let stopped = text_of(&browser, "flash-notice").await;
    let state = text_of(&browser, &format!("campaign-row-{CODE}")).await;
    browser.close().await.unwrap();
    served.stop().await;

    let analyst = post_as(&h, "hq-analyst", Role::Analyst).await;
    let record = h.hq.store().campaign(CODE).await.unwrap().unwrap();
    let trail =
        h.hq.audit_trail(Some(&format!("campaign:{CODE}")), None)
            .await
            .unwrap();
    let rows: Vec<(&str, &str, &str)> = trail
        .iter()
        .map(|a| (a.action.as_str(), a.actor.as_str(), a.detail.as_str()))
        .collect();
    println!(
        "campaigns: refused {refused:?} ({problem:?}); created; ran: issued {issued}, treated {treated}, control {control}; stopped {state:?}; analyst POST {analyst}; audit {rows:?}; screenshots {saved:?} in {}; {:.1} s",
        screenshots_dir().display(),
        started.elapsed().as_secs_f64()
    );
    assert!(refused.contains("The campaign has problems"), "{refused}");
    assert!(problem.contains("control_bp: at most 5000"), "{problem}");
    assert_eq!(after_refusal, None, "the refused definition wrote nothing");
    assert_eq!(created, "Campaign created.");
    assert_eq!(
        segment, "Segment: days since the last purchase ≥ 90",
        "the segment in words"
    );
    assert_eq!(ran, "Campaign run.");
    assert_eq!(stopped, "Campaign stopped.");
    assert!(state.contains("Stopped"), "{state}");
    assert_eq!(record.state, "stopped");
    assert_eq!(record.treated + record.control, 10, "the ten sleepers only");
    assert_eq!(issued, record.issued.to_string());
    assert_eq!(treated, record.treated.to_string());
    assert_eq!(control, record.control.to_string());
    assert_eq!(treated_sleeping, record.treated.to_string(), "all asleep");
    assert_eq!(record.issued, record.treated, "one coupon each");
    assert_eq!(analyst, StatusCode::FORBIDDEN);
    assert!(
        h.hq.store()
            .campaign("analyst-try")
            .await
            .unwrap()
            .is_none(),
        "the analyst's POST wrote nothing"
    );
    assert_eq!(
        rows,
        [
            ("campaign_stopped", USER, "budget moved to spring"),
            ("campaign_created", USER, "Wake the sleepers"),
        ]
    );
}
