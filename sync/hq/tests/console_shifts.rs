//! The console's shift closes (issue 24), on both backends: Z reports
//! uploaded as real `shift_closed` events are listed for the chosen store
//! only, newest first, with their figures, the page's totals row, store
//! days and pages by key (two terminals' closes at one moment walked
//! once); one close opens with every clerk's figures; the CSV export
//! holds every close of the days (more than a page) with totals over all
//! of them; a role without `ReadShiftCloses` (marketing) is refused, the
//! page, the export and the API alike.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use axum::http::{StatusCode, header};
use tillcard_hq::console::{self, shift_closes, text};
use tillcard_hq::dashboard::SESSION_COOKIE;
use tillcard_hq::figures::in_business_offset;
use tillcard_hq::service::LoginOutcome;
use tillcard_hq::service::back_office::Actor;
use tillcard_hq::service::roles::Role;
use tillcard_hq::store::shift_closes::{ShiftCloseKey, ShiftClosePage};
use tillcard_protocol::wire::{EventBody, OutboxEvent};
use tillcard_rules::ids::{SourceId, Timestamp};
use tillcard_rules::money::Money;
use tillcard_rules::shift::{ShiftAction, ShiftReport};
use tillcard_rules::tenders::{Tender, TenderKind};
use util::{Backend, Harness, Till, harness};
use uuid::Uuid;

both!(
    a_stores_shift_closes_are_listed_with_totals_and_open_per_clerk,
    listed_and_opened
);
both!(shift_closes_page_by_key_and_by_store_day, paged_and_by_day);
both!(a_role_without_shift_closes_is_refused, refused_to_marketing);
both!(
    shift_closes_export_as_csv_with_totals_over_the_range,
    exported_as_csv
);

const PASSWORD: &str = "s3cret-enough";

/// A signed-in console user's cookie header.
async fn sign_in(h: &Harness, user: &str, role: Role) -> String {
    h.hq.save_user(&Actor::cli(), user, PASSWORD, Some(role))
        .await
        .unwrap();
    let LoginOutcome::Session(token) = h.hq.login(user, PASSWORD).await.unwrap() else {
        panic!("login refused");
    };
    format!("{SESSION_COOKIE}={token}; tillcard_lang=en")
}

async fn page(h: &Harness, cookie: &str, path: &str) -> (StatusCode, String) {
    let (s, _, body) = h.get(path, &[("cookie", cookie)]).await;
    (s, String::from_utf8(body).unwrap())
}

fn yuan(n: i64) -> Money {
    Money::from_yuan(n)
}

fn tender(kind: TenderKind, n: i64) -> Tender {
    Tender {
        kind,
        amount: yuan(n),
    }
}

fn sale(net: i64, tenders: Vec<Tender>) -> ShiftAction {
    ShiftAction::Sale {
        gross: yuan(net),
        discounts: Money::ZERO,
        net: yuan(net),
        tenders,
        change: Money::ZERO,
        stored_value_used: Money::ZERO,
        points_value: Money::ZERO,
        points_redeemed: 0,
        points_issued: 0,
    }
}

/// The `shift_closed` event of a report built from `actions` (each with
/// its clerk), closed by `m1`; the event and its shift id.
fn close(
    till: &mut Till,
    opened_at: Option<Timestamp>,
    actions: &[(&str, ShiftAction)],
) -> (OutboxEvent, String, ShiftReport) {
    let first = till.next_seq;
    let report = ShiftReport::build(
        actions
            .iter()
            .enumerate()
            .map(|(i, (clerk, action))| (first + i as u64, *clerk, action)),
        opened_at,
        till.clock,
    );
    let shift = SourceId(Uuid::now_v7());
    let body = EventBody::ShiftClosed {
        shift,
        closed_by: "m1".into(),
        report: Box::new(report.clone()),
    };
    (till.event(&body), shift.to_string(), report)
}

/// A worked shift of two clerks: c1 sells ¥100 less ¥10 off (¥60 WeChat
/// Pay, ¥30 cash, ¥20 change), earning 90 points, and refunds the cash,
/// taking the 90 back; c2 sells ¥50 (¥20 Alipay, ¥10 bank card, ¥15 stored
/// value, ¥5 of points: 500), earning 50, and books a ¥100 top-up with
/// ¥10 bonus.
fn worked_shift() -> Vec<(&'static str, ShiftAction)> {
    vec![
        (
            "c1",
            ShiftAction::Sale {
                gross: yuan(100),
                discounts: yuan(10),
                net: yuan(90),
                tenders: vec![
                    tender(TenderKind::WechatPay, 60),
                    tender(TenderKind::Cash, 30),
                ],
                change: yuan(20),
                stored_value_used: Money::ZERO,
                points_value: Money::ZERO,
                points_redeemed: 0,
                points_issued: 90,
            },
        ),
        (
            "c2",
            ShiftAction::Sale {
                gross: yuan(50),
                discounts: Money::ZERO,
                net: yuan(50),
                tenders: vec![
                    tender(TenderKind::Alipay, 20),
                    tender(TenderKind::BankCard, 10),
                ],
                change: Money::ZERO,
                stored_value_used: yuan(15),
                points_value: yuan(5),
                points_redeemed: 500,
                points_issued: 50,
            },
        ),
        (
            "c1",
            ShiftAction::Refund {
                tenders: vec![tender(TenderKind::Cash, 30)],
                stored_value_back: Money::ZERO,
                points_returned: 0,
                points_reversed: 90,
            },
        ),
        (
            "c2",
            ShiftAction::TopUp {
                principal: yuan(100),
                bonus: yuan(10),
            },
        ),
    ]
}

/// The text of each `<td>` of the element with id `id` (a row), tags
/// stripped.
fn cells(body: &str, id: &str) -> Vec<String> {
    let start = body
        .find(&format!(r#"id="{id}""#))
        .unwrap_or_else(|| panic!("no {id} in {body}"));
    let row = &body[start..];
    let row = &row[..row.find("</tr>").unwrap()];
    row.split("<td")
        .skip(1)
        .map(|cell| {
            let inner = &cell[cell.find('>').unwrap() + 1..];
            let mut text = String::new();
            let mut in_tag = false;
            for c in inner.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' => in_tag = false,
                    c if !in_tag => text.push(c),
                    _ => {}
                }
            }
            text.trim().to_string()
        })
        .collect()
}

/// The part of `body` from the element with id `id` to the next
/// `</section>`.
fn section<'a>(body: &'a str, id: &str) -> &'a str {
    let start = body
        .find(&format!(r#"id="{id}""#))
        .unwrap_or_else(|| panic!("no {id}"));
    let part = &body[start..];
    &part[..part.find("</section>").unwrap()]
}

/// The text of `<dd class="{class}">` in `part`.
fn dd<'a>(part: &'a str, class: &str) -> &'a str {
    let tag = format!(r#"<dd class="{class}">"#);
    let start = part.find(&tag).unwrap_or_else(|| panic!("no {class}")) + tag.len();
    part[start..].split('<').next().unwrap()
}

/// Taken, given back and net of `tender`'s line of the tender table in
/// `part`.
fn tender_line<'a>(part: &'a str, tender: &str) -> Vec<&'a str> {
    let tag = format!(r#"<tr class="tender_{tender}">"#);
    let line = &part[part.find(&tag).unwrap_or_else(|| panic!("no {tender}"))..];
    line[..line.find("</tr>").unwrap()]
        .split(r#"<td class="num">"#)
        .skip(1)
        .map(|c| c.split('<').next().unwrap())
        .collect()
}

fn local(at: Timestamp) -> String {
    in_business_offset(at).format("%Y-%m-%d %H:%M").to_string()
}

fn en(key: &str) -> &'static str {
    text::strings(tillcard_hq::dashboard::Lang::En)
        .get(key)
        .copied()
        .unwrap()
}

async fn listed_and_opened(backend: Backend) {
    let h = harness(backend).await;
    let (mut a, mut b) = h.two_stores().await;
    let opened = a.clock;
    let (worked, worked_id, worked_report) = close(&mut a, Some(opened), &worked_shift());
    let (cash, cash_id, cash_report) = close(
        &mut a,
        Some(worked_report.closed_at),
        &[("c1", sale(100, vec![tender(TenderKind::Cash, 100)]))],
    );
    let (other, other_id, _) = close(
        &mut b,
        None,
        &[("c9", sale(7, vec![tender(TenderKind::Cash, 7)]))],
    );
    let (s, ack) = h.upload(&a, vec![worked, cash]).await;
    assert_eq!((s, ack.unwrap().applied), (StatusCode::OK, 2));
    let (s, ack) = h.upload(&b, vec![other]).await;
    assert_eq!((s, ack.unwrap().applied), (StatusCode::OK, 1));

    let ops = sign_in(&h, "ops", Role::StoreOps).await;
    // The navigation links the page; without a store it asks for one.
    let (s, body) = page(&h, &ops, "/console/shift-closes").await;
    assert_eq!(s, StatusCode::OK, "[{backend:?}] {body}");
    assert!(body.contains(r#"id="nav-shift-closes""#), "[{backend:?}]");
    assert!(body.contains(r#"id="shift-pick""#), "[{backend:?}]");

    let (s, body) = page(&h, &ops, "/console/shift-closes?store=S001").await;
    assert_eq!(s, StatusCode::OK, "[{backend:?}]");
    // S001's two closes, newest first; S002's not at all.
    assert_eq!(body.matches(r#"class="close""#).count(), 2, "[{backend:?}]");
    let (newest, oldest) = (
        body.find(&format!("close-{cash_id}")).unwrap(),
        body.find(&format!("close-{worked_id}")).unwrap(),
    );
    assert!(newest < oldest, "[{backend:?}] newest first");
    assert!(!body.contains(&other_id), "[{backend:?}] another store's");
    let terminal = a.creds.terminal_id.0.to_string();
    // Terminal, closed, opened, closed by, sales, net, net by tender (cash,
    // bank card, WeChat Pay, Alipay, stored value, points), discounts,
    // points issued and redeemed, stored value in and out, refunds, cash
    // expected, the detail link.
    let worked_row = cells(&body, &format!("close-{worked_id}"));
    println!("[{backend:?}] worked shift: {worked_row:?}");
    assert_eq!(
        worked_row,
        vec![
            terminal.clone(),
            local(worked_report.closed_at),
            local(opened),
            "m1".into(),
            "2".into(),
            "¥140.00".into(),
            "¥0.00".into(),
            "¥10.00".into(),
            "¥60.00".into(),
            "¥20.00".into(),
            "¥15.00".into(),
            "¥5.00".into(),
            "¥10.00".into(),
            "140".into(),
            "500".into(),
            "¥110.00".into(),
            "¥15.00".into(),
            "1 · ¥30.00".into(),
            "¥0.00".into(),
            en("shift_details").into(),
        ],
        "[{backend:?}]"
    );
    let cash_row = cells(&body, &format!("close-{cash_id}"));
    assert_eq!(
        cash_row[1..8],
        [
            local(cash_report.closed_at),
            local(worked_report.closed_at),
            "m1".into(),
            "1".into(),
            "¥100.00".into(),
            "¥100.00".into(),
            "¥0.00".into(),
        ],
        "[{backend:?}]"
    );
    // The page's totals: both closes added up.
    let totals = cells(&body, "shift-totals");
    println!("[{backend:?}] totals: {totals:?}");
    assert_eq!(
        totals,
        [
            "3",
            "¥240.00",
            "¥100.00",
            "¥10.00",
            "¥60.00",
            "¥20.00",
            "¥15.00",
            "¥5.00",
            "¥10.00",
            "140",
            "500",
            "¥110.00",
            "¥15.00",
            "1 · ¥30.00",
            "¥100.00",
            "",
        ],
        "[{backend:?}]"
    );

    // One close: the terminal's figures and each clerk's.
    let href = format!("/console/shift-closes/{terminal}/{worked_id}");
    assert!(body.contains(&format!(r#"href="{href}""#)), "[{backend:?}]");
    let (s, detail) = page(&h, &ops, &href).await;
    assert_eq!(s, StatusCode::OK, "[{backend:?}] {detail}");
    assert!(detail.contains(r#"id="shift-closed-by">m1<"#));
    let whole = section(&detail, "terminal");
    assert_eq!(
        (dd(whole, "sales"), dd(whole, "net"), dd(whole, "gross")),
        ("2", "¥140.00", "¥150.00")
    );
    assert_eq!(
        tender_line(whole, "cash"),
        ["¥30.00", "¥30.00", "¥0.00"],
        "[{backend:?}]"
    );
    assert_eq!(
        tender_line(whole, "points"),
        ["¥5.00", "¥0.00", "¥5.00"],
        "[{backend:?}]"
    );
    let c1 = section(&detail, "clerk-c1");
    let c2 = section(&detail, "clerk-c2");
    println!(
        "[{backend:?}] c1 net {} refunded {}, c2 net {} top-ups {}",
        dd(c1, "net"),
        dd(c1, "refunded"),
        dd(c2, "net"),
        dd(c2, "stored-value-in-principal")
    );
    assert_eq!(
        (
            dd(c1, "sales"),
            dd(c1, "net"),
            dd(c1, "discounts"),
            dd(c1, "change-given"),
            dd(c1, "refunds"),
            dd(c1, "refunded"),
            dd(c1, "points-issued"),
            dd(c1, "points-reversed"),
            dd(c1, "cash-expected"),
        ),
        (
            "1", "¥90.00", "¥10.00", "¥20.00", "1", "¥30.00", "90", "90", "¥0.00"
        ),
        "[{backend:?}]"
    );
    assert_eq!(
        (
            dd(c2, "sales"),
            dd(c2, "net"),
            dd(c2, "points-redeemed"),
            dd(c2, "stored-value-out"),
            dd(c2, "top-ups"),
            dd(c2, "stored-value-in-principal"),
            dd(c2, "stored-value-in-bonus"),
        ),
        ("1", "¥50.00", "500", "¥15.00", "1", "¥100.00", "¥10.00"),
        "[{backend:?}]"
    );
    // The clerks' tender lines: taken, given back, net.
    assert_eq!(
        tender_line(c1, "cash"),
        ["¥30.00", "¥30.00", "¥0.00"],
        "[{backend:?}]"
    );
    assert_eq!(
        tender_line(c2, "stored_value"),
        ["¥15.00", "¥0.00", "¥15.00"],
        "[{backend:?}]"
    );
    assert!(!detail.contains("clerk-c9"), "[{backend:?}]");

    // A close head office does not hold: 404.
    let (s, _) = page(
        &h,
        &ops,
        &format!("/console/shift-closes/{terminal}/{}", Uuid::now_v7()),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "[{backend:?}]");

    // In Chinese too.
    let (_, zh) = page(&h, &ops, "/console/shift-closes?store=S001&lang=zh-CN").await;
    assert!(zh.contains("交班报表") && zh.contains("本页合计") && zh.contains("微信支付"));
}

async fn paged_and_by_day(backend: Backend) {
    let h = harness(backend).await;
    let (mut a, _) = h.two_stores().await;
    let n = usize::try_from(shift_closes::ROWS).unwrap() + 1;
    let mut events = Vec::new();
    let mut ids = Vec::new();
    for i in 0..n {
        let n = i64::try_from(i).unwrap() + 1;
        let (event, id, _) = close(
            &mut a,
            None,
            &[("c1", sale(n, vec![tender(TenderKind::Cash, n)]))],
        );
        events.push(event);
        ids.push(id);
    }
    let (s, ack) = h.upload(&a, events).await;
    assert_eq!(
        (s, ack.unwrap().applied),
        (StatusCode::OK, u32::try_from(n).unwrap()),
        "[{backend:?}]"
    );
    let analyst = sign_in(&h, "ana", Role::Analyst).await;
    let (s, first) = page(&h, &analyst, "/console/shift-closes?store=S001").await;
    assert_eq!(s, StatusCode::OK, "[{backend:?}]");
    let shown = |body: &str| {
        ids.iter()
            .filter(|id| body.contains(&format!("close-{id}")))
            .cloned()
            .collect::<Vec<_>>()
    };
    let on_first = shown(&first);
    assert_eq!(on_first.len(), n - 1, "[{backend:?}] a page's worth");
    assert!(
        !on_first.contains(&ids[0]),
        "[{backend:?}] the oldest waits"
    );
    // The totals are the page's: ¥2 + ... + ¥51.
    let page_net: i64 = (2..=i64::try_from(n).unwrap()).sum();
    assert_eq!(
        cells(&first, "shift-totals")[..2],
        [(n - 1).to_string(), yuan(page_net).to_string()],
        "[{backend:?}]"
    );
    let older = first
        .split(r#"id="shift-older""#)
        .next()
        .and_then(|before| before.rsplit("href=\"").next())
        .map(|href| href.split('"').next().unwrap().replace("&amp;", "&"))
        .unwrap();
    println!("[{backend:?}] older: {older}");
    let (_, second) = page(&h, &analyst, &older).await;
    assert_eq!(shown(&second), vec![ids[0].clone()], "[{backend:?}]");
    assert!(!second.contains(r#"id="shift-older""#), "[{backend:?}]");
    assert!(second.contains(r#"id="shift-newest""#), "[{backend:?}]");

    // Store days: the closes' own day (2026-11-20 in China), the next one,
    // and days that are not dates.
    let (_, day) = page(
        &h,
        &analyst,
        "/console/shift-closes?store=S001&from=2026-11-20&to=2026-11-20",
    )
    .await;
    assert_eq!(shown(&day).len(), n - 1, "[{backend:?}]");
    let (_, next_day) = page(
        &h,
        &analyst,
        "/console/shift-closes?store=S001&from=2026-11-21",
    )
    .await;
    assert!(next_day.contains(r#"id="shift-none""#), "[{backend:?}]");
    assert!(shown(&next_day).is_empty());
    let (_, up_to_before) = page(
        &h,
        &analyst,
        "/console/shift-closes?store=S001&to=2026-11-19",
    )
    .await;
    assert!(shown(&up_to_before).is_empty(), "[{backend:?}]");
    let (s, bad) = page(
        &h,
        &analyst,
        "/console/shift-closes?store=S001&from=20.11.2026",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(bad.contains(r#"id="shift-bad-days""#) && shown(&bad).is_empty());

    // A second terminal of the store closes at the very moment of the
    // first one's oldest close: pages of one, by key, still walk every
    // close once, in the listing's order.
    let mut c = h.provision("S001").await;
    let (tie, tie_id, _) = close(
        &mut c,
        None,
        &[("c2", sale(3, vec![tender(TenderKind::Cash, 3)]))],
    );
    let (s, _) = h.upload(&c, vec![tie]).await;
    assert_eq!(s, StatusCode::OK, "[{backend:?}]");
    let store = h.hq.store();
    let all = store.shift_closes("S001", 500).await.unwrap();
    let tied = all.iter().find(|x| x.shift_id == tie_id).unwrap();
    assert_eq!(
        all.iter()
            .filter(|x| x.closed_at_ms == tied.closed_at_ms)
            .count(),
        2,
        "[{backend:?}] two closes at one moment"
    );
    let mut walked = Vec::new();
    let mut after = None;
    loop {
        let one = store
            .shift_close_page(&ShiftClosePage {
                store: "S001".into(),
                since_ms: i64::MIN,
                until_ms: i64::MAX,
                after: after.clone(),
                limit: 1,
            })
            .await
            .unwrap();
        let Some(close) = one.first() else { break };
        after = Some(ShiftCloseKey::of(close));
        walked.push(close.shift_id.clone());
        assert!(walked.len() <= all.len(), "[{backend:?}] a page repeated");
    }
    assert_eq!(
        walked,
        all.iter().map(|x| x.shift_id.clone()).collect::<Vec<_>>(),
        "[{backend:?}]"
    );
}

async fn refused_to_marketing(backend: Backend) {
    let h = harness(backend).await;
    let (mut a, _) = h.two_stores().await;
    let (event, id, _) = close(
        &mut a,
        None,
        &[("c1", sale(5, vec![tender(TenderKind::Cash, 5)]))],
    );
    h.upload(&a, vec![event]).await;
    let terminal = a.creds.terminal_id.0.to_string();

    // No session: the login page, coming back here.
    let (s, headers, _) = h.get("/console/shift-closes?store=S001", &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let to = headers[header::LOCATION].to_str().unwrap();
    assert!(
        to.contains(&format!(
            "next={}",
            console::url_encode("/console/shift-closes")
        )),
        "{to}"
    );

    let marketing = sign_in(&h, "mkt", Role::Marketing).await;
    for path in [
        "/console/shift-closes?store=S001".to_string(),
        format!("/console/shift-closes/{terminal}/{id}"),
    ] {
        let (s, body) = page(&h, &marketing, &path).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "[{backend:?}] {path}");
        assert!(body.contains(en("forbidden_detail")), "{path}");
        assert!(!body.contains(&id), "[{backend:?}] nothing of the close");
        assert!(!body.contains(r#"id="nav-shift-closes""#), "no link to it");
    }
    // The API answers the session the same.
    let (s, _, _) = h
        .get(
            "/v1/admin/shift-closes?store=S001",
            &[("cookie", &marketing)],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "[{backend:?}]");
    // An auditor may read them.
    let auditor = sign_in(&h, "aud", Role::Auditor).await;
    let (s, body) = page(&h, &auditor, "/console/shift-closes?store=S001").await;
    assert_eq!(s, StatusCode::OK, "[{backend:?}]");
    assert!(body.contains(&format!("close-{id}")), "[{backend:?}]");
}

async fn exported_as_csv(backend: Backend) {
    let h = harness(backend).await;
    let (mut a, mut b) = h.two_stores().await;
    // More closes than a page of the list, each a sale of ¥1, ¥2, ...
    let n = usize::try_from(shift_closes::ROWS).unwrap() + 1;
    let mut events = Vec::new();
    let mut ids = Vec::new();
    for i in 0..n {
        let yuan_n = i64::try_from(i).unwrap() + 1;
        let (event, id, _) = close(
            &mut a,
            None,
            &[("c1", sale(yuan_n, vec![tender(TenderKind::Cash, yuan_n)]))],
        );
        events.push(event);
        ids.push(id);
    }
    assert_eq!(h.upload(&a, events).await.0, StatusCode::OK);
    let (other, other_id, _) = close(
        &mut b,
        None,
        &[("c9", sale(7, vec![tender(TenderKind::Alipay, 7)]))],
    );
    assert_eq!(h.upload(&b, vec![other]).await.0, StatusCode::OK);

    let analyst = sign_in(&h, "ana", Role::Analyst).await;
    let (s, list) = page(&h, &analyst, "/console/shift-closes?store=S001").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        list.contains(r#"href="/console/shift-closes.csv?store=S001&amp;from=&amp;to=""#),
        "[{backend:?}] the list links its export"
    );
    let (s, headers, body) = h
        .get(
            "/console/shift-closes.csv?store=S001&from=&to=",
            &[("cookie", &analyst)],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "[{backend:?}]");
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert_eq!(
        headers[header::CONTENT_DISPOSITION].to_str().unwrap(),
        r#"attachment; filename="shift-closes-S001.csv""#
    );
    let mut reader = csv::Reader::from_reader(body.as_slice());
    let columns = reader.headers().unwrap().clone();
    let at = |name: &str| columns.iter().position(|c| c == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(
        rows.len(),
        n + 1,
        "[{backend:?}] every close, then the totals"
    );
    let (closes, total) = rows.split_at(n);
    let shifts: Vec<&str> = closes.iter().map(|r| &r[at("shift")]).collect();
    let newest_first: Vec<&str> = ids.iter().rev().map(String::as_str).collect();
    assert_eq!(
        shifts, newest_first,
        "[{backend:?}] newest first, none left out"
    );
    assert!(
        !body
            .windows(other_id.len())
            .any(|w| w == other_id.as_bytes())
    );
    assert_eq!(&closes[0][at("net")], format!("{n}.00"));
    assert_eq!(&closes[0][at("net_cash")], format!("{n}.00"));
    assert_eq!(&closes[0][at("closed_by")], "m1");
    // The totals are the range's, not a page's: ¥1 + ... + ¥51.
    let range_net: i64 = (1..=i64::try_from(n).unwrap()).sum();
    let total = &total[0];
    assert_eq!(&total[at("terminal")], "total");
    assert_eq!(&total[at("shift")], n.to_string(), "the closes counted");
    assert_eq!(&total[at("sales")], n.to_string());
    assert_eq!(
        &total[at("net")],
        format!("{range_net}.00"),
        "[{backend:?}]"
    );
    assert_eq!(&total[at("cash_expected")], format!("{range_net}.00"));
    assert_eq!(&total[at("net_alipay")], "0.00", "another store's");

    // Days the closes are not on: the header and a zero totals row.
    let day = in_business_offset(a.clock).date_naive();
    let next = day.succ_opt().unwrap();
    let (s, _, body) = h
        .get(
            &format!("/console/shift-closes.csv?store=S001&from={next}&to={next}"),
            &[("cookie", &analyst)],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(body.as_slice())
        .records()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 1, "[{backend:?}]");
    assert_eq!(&rows[0][at("net")], "0.00");
    // Days that are not dates, or no store: refused in words.
    for path in [
        "/console/shift-closes.csv?store=S001&from=7%20Dec&to=",
        "/console/shift-closes.csv?store=&from=&to=",
    ] {
        let (s, _, body) = h.get(path, &[("cookie", &analyst)]).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "[{backend:?}] {path}");
        assert!(!String::from_utf8(body).unwrap().is_empty());
    }
    // Marketing is refused; no session goes to the login page.
    let marketing = sign_in(&h, "mkt", Role::Marketing).await;
    let (s, body) = page(&h, &marketing, "/console/shift-closes.csv?store=S001").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "[{backend:?}]");
    assert!(!body.contains(&ids[0]), "nothing of the closes");
    let (s, headers, _) = h.get("/console/shift-closes.csv?store=S001", &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let to = headers[header::LOCATION].to_str().unwrap();
    assert!(
        to.contains(&console::url_encode("/console/shift-closes")),
        "{to}"
    );
}
