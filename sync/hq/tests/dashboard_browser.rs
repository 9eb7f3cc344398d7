//! The dashboard in a real browser: head office on port 0 (SQLite), a
//! simulated day of three stores uploaded through the real HTTP API, a
//! dashboard user, then headless Chromium (Debian's `chromium` and
//! `chromium-driver`, driven over WebDriver by fantoccini) logs in through
//! the form, waits for the charts, checks them against the figures JSON,
//! switches language and saves `target/screenshots/dashboard-{en,zh-CN}.png`.
//!
//! A missing chromium or chromedriver is a failure with the reason, never
//! a skip: install them with `scripts/install-deps --test`.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use std::time::Instant;

use fantoccini::Locator;
use tillcard_protocol::client::SignedRequest;
use tillcard_protocol::wire::{self, OutboxEvent};
use tillcard_rules::MemberAccount;
use tillcard_rules::ids::Timestamp;
use tillcard_rules::pricing::TenderRequest;
use util::browser::{
    click, find_program, open_page, save_screenshot, start_chromium, text_at, text_of, type_into,
    wait_for,
};
use util::{ADMIN, Backend, Till, harness, new_member};

const USER: &str = "hq-analyst";
const PASSWORD: &str = "dashboard-pass-1";

/// Sends a signed terminal request over HTTP.
async fn send(http: &reqwest::Client, base: &str, signed: SignedRequest) -> (u16, Vec<u8>) {
    let mut req = http
        .request(
            signed.method.parse().unwrap(),
            format!("{base}{}", signed.path_and_query),
        )
        .header("content-type", wire::CONTENT_TYPE)
        .header("content-encoding", wire::CONTENT_ENCODING);
    for (n, v) in &signed.headers {
        req = req.header(*n, v);
    }
    let res = req.body(signed.body).send().await.unwrap();
    (res.status().as_u16(), res.bytes().await.unwrap().to_vec())
}

async fn upload(
    http: &reqwest::Client,
    base: &str,
    till: &Till,
    events: Vec<OutboxEvent>,
    head: Option<u64>,
) {
    let n = events.len();
    let signed = till
        .creds
        .upload_request_with_head(events, head, None, chrono::Utc::now().timestamp())
        .unwrap();
    let (status, body) = send(http, base, signed).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let ack = tillcard_protocol::client::decode_ack(&body).unwrap();
    assert_eq!(ack.applied as usize, n);
}

fn fold(a: MemberAccount, e: &[tillcard_rules::ledger::LedgerEntry]) -> MemberAccount {
    MemberAccount::fold(a, e)
}

fn percent(bp: &serde_json::Value) -> String {
    let bp = bp.as_i64().unwrap();
    format!("{}.{:02}%", bp / 100, bp % 100)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_in_headless_chromium() {
    let started = Instant::now();
    let chromium = find_program("chromium");
    let chromedriver = find_program("chromedriver");

    // Head office on a real port.
    let h = harness(Backend::Sqlite).await;
    let served = h.serve().await;
    let base = served.base.clone();
    let http = reqwest::Client::new();

    // A day at three stores, in the last hours (head office's clock is real).
    let shanghai = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let day: Timestamp = chrono::Utc::now().with_timezone(&shanghai) - chrono::Duration::hours(5);
    let cash = TenderRequest::default();
    let (mut a, mut b) = h.two_stores().await;
    let mut c = h.provision("S003").await;
    a.clock = day;
    b.clock = day;
    c.clock = day;
    let (m1, m2, m3, m4, m5, m6) = (
        new_member(),
        new_member(),
        new_member(),
        new_member(),
        new_member(),
        new_member(),
    );
    // S001: three enrollments, two top-ups, member sales (M1 twice), walk-ins.
    let (e1, en1) = a.enroll(m1, "13913572461");
    let (e2, en2) = a.enroll(m2, "13913572462");
    let (e3, _) = a.enroll(m3, "13913572463");
    let acc1 = fold(MemberAccount::new(m1), &en1);
    let (e4, t1) = a.top_up_package(&acc1, "500+50");
    let acc1 = fold(acc1, &t1);
    let acc2 = fold(MemberAccount::new(m2), &en2);
    let (e5, t2) = a.top_up_package(&acc2, "1000+150");
    let acc2 = fold(acc2, &t2);
    let (e6, s1) = a.sale(&acc1, 120, cash.clone());
    let acc1 = fold(acc1, &s1);
    let (e7, _) = a.sale(&acc2, 80, cash.clone());
    let (e8, _) = a.walk_in_sale(45);
    let (e9, _) = a.walk_in_sale(60);
    let (e10, _) = a.sale(&acc1, 30, cash.clone());
    upload(
        &http,
        &base,
        &a,
        vec![e1, e2, e3, e4, e5, e6, e7, e8, e9, e10],
        None,
    )
    .await;
    // S002: two enrollments, a big member sale (upgrades to Silver), a
    // walk-in refunded in full, and M1 twelve minutes after S001: a conflict.
    let (f1, en4) = b.enroll(m4, "13913572464");
    let (f2, _) = b.enroll(m5, "13913572465");
    let (f3, _) = b.sale(&fold(MemberAccount::new(m4), &en4), 2000, cash.clone());
    let (f4, walk) = b.walk_in_sale(88);
    let (f5, _) = b.refund_all(&walk, &[], None);
    b.clock = a.clock + chrono::Duration::minutes(11);
    let (f6, _) = b.sale(&acc1, 66, cash.clone());
    upload(&http, &base, &b, vec![f1, f2, f3, f4, f5, f6], Some(6)).await;
    // S003: one member with a plain top-up, a walk-in; 3 events still queued.
    let (g1, en6) = c.enroll(m6, "13913572466");
    let (g2, _) = c.top_up(&fold(MemberAccount::new(m6), &en6), 200);
    let (g3, _) = c.walk_in_sale(150);
    upload(&http, &base, &c, vec![g1, g2, g3], Some(6)).await;

    // The figures as the page will read them.
    let res = http
        .get(format!("{base}/v1/admin/figures"))
        .header("authorization", format!("Bearer {ADMIN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let figures: serde_json::Value = serde_json::from_slice(&res.bytes().await.unwrap()).unwrap();
    assert_eq!(figures["members_total"], 6);
    assert_eq!(figures["conflicts"]["total"], 1);
    assert_eq!(
        figures["conflicts"]["by_kind_and_age"][0]["kind"],
        "seen_at_two_stores"
    );
    assert_eq!(figures["sales"]["walk_in_refunds_fen"], 8800);

    h.hq.add_user(USER, PASSWORD).await.unwrap();

    // The browser.
    let browser = start_chromium(&chromium, &chromedriver, "1280,1450").await;

    // Log in through the form (a wrong password first: a clear message).
    open_page(&browser, &format!("{base}/dashboard/login?lang=en")).await;
    type_into(&browser, "username", USER).await;
    type_into(&browser, "password", "not-the-password").await;
    click(&browser, "#login-submit").await;
    assert_eq!(
        text_of(&browser, "login-error").await,
        "Wrong user name or password."
    );
    type_into(&browser, "password", PASSWORD).await;
    click(&browser, "#login-submit").await;
    wait_for(&browser, "body[data-rendered='en']", 20).await;

    let values = |chart: &'static str| {
        let browser = browser.clone();
        async move {
            let mut out = Vec::new();
            for rect in browser
                .find_all(Locator::Css(&format!(
                    "svg[data-chart='{chart}'] [data-value]"
                )))
                .await
                .unwrap()
            {
                out.push((
                    rect.attr("data-label").await.unwrap().unwrap(),
                    rect.attr("data-value")
                        .await
                        .unwrap()
                        .unwrap()
                        .parse::<i64>()
                        .unwrap(),
                ));
            }
            out
        }
    };
    let centre = |chart: &'static str| {
        let browser = browser.clone();
        async move {
            browser
                .find(Locator::Css(&format!(
                    "svg[data-chart='{chart}'] text[data-role='centre']"
                )))
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };

    // Members by tier: one bar per tier, the figures' counts.
    let tiers = values("tiers").await;
    let expected: Vec<(String, i64)> = figures["members_by_tier"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["code"].as_str().unwrap().to_string(),
                t["members"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(tiers, expected);
    assert_eq!(tiers[1], ("silver".to_string(), 1), "M4 is Silver");
    // Enrollments: 30 columns summing to the six members.
    let days = values("enrollments").await;
    assert_eq!(days.len(), 30);
    assert_eq!(days.iter().map(|d| d.1).sum::<i64>(), 6);
    // Activity, member share, repeat rate, liabilities, terminals.
    let activity = values("activity").await;
    assert_eq!(
        activity[0],
        (
            "active".into(),
            figures["activity"]["active"].as_i64().unwrap()
        )
    );
    assert_eq!(
        centre("gmv").await,
        percent(&figures["sales"]["member_share_bp"])
    );
    assert_eq!(
        centre("repeat").await,
        percent(&figures["repeat"]["rate_bp"])
    );
    let liabilities = values("liabilities").await;
    assert!(
        liabilities.contains(&(
            "sv_principal".into(),
            figures["liabilities"]["stored_value_principal_fen"]
                .as_i64()
                .unwrap()
        ))
    );
    assert!(liabilities.contains(&("sv_bonus".into(), 5000 + 15000)));
    let pending = values("terminal-pending").await;
    assert_eq!(pending.len(), 3);
    assert_eq!(
        pending
            .iter()
            .find(|p| p.0 == c.creds.terminal_id.to_string())
            .unwrap()
            .1,
        3
    );
    // The conflicts queue with its reason.
    let rows = browser
        .find_all(Locator::Css(
            "table.conflicts tbody tr[data-kind='seen_at_two_stores']",
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].text().await.unwrap().contains("minutes apart"));
    // Counted by kind and age above it.
    let ages = text_at(
        &browser,
        "table.review-ages tbody tr[data-kind='seen_at_two_stores']",
    )
    .await;
    assert!(
        ages.contains("minutes apart") && ages.contains('1'),
        "{ages}"
    );
    // No phone number anywhere on the page.
    let source = browser.source().await.unwrap();
    for n in 1..=6 {
        let (phone, masked) = (format!("1391357246{n}"), format!("139****246{n}"));
        assert!(!source.contains(&phone) && !source.contains(&masked));
    }
    save_screenshot(&browser, "dashboard-en.png").await;

    // 中文.
    click(&browser, "#lang-zh").await;
    wait_for(&browser, "body[data-rendered='zh-CN']", 10).await;
    let heading = text_at(&browser, "#card-tiers h2").await;
    assert_eq!(heading, "各等级会员数");
    let tier_label = text_at(&browser, "svg[data-chart='tiers'] text").await;
    assert_eq!(tier_label, "普通会员");
    save_screenshot(&browser, "dashboard-zh-CN.png").await;

    browser.close().await.unwrap();
    served.stop().await;
    println!("browser test took {:.1} s", started.elapsed().as_secs_f64());
}
