//! Campaigns through the admin API and the daily jobs, on SQLite and on
//! PostgreSQL: a sleeping-member campaign with a control group and a
//! birthday campaign run over a fake December; members come back and use
//! their coupons; the campaigns' figures count them and match the ledger.
//! A campaign stops at its budget; bad definitions are refused with
//! nothing written.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use std::collections::BTreeMap;

use axum::http::StatusCode;
use chrono::Duration;
use serde_json::{Value, json};
use tillcard_hq::jobs::{self, JobsConfig};
use tillcard_rules::ids::{MemberId, Timestamp};
use tillcard_rules::ledger::EntryKind;
use tillcard_rules::pricing::{MonthDay, TenderRequest};
use tillcard_rules::{MemberAccount, Money};
use util::{Backend, Harness, Till, harness, new_member, quote_of};

both!(
    a_sleeping_and_a_birthday_campaign_run_over_a_month,
    a_month_of_campaigns
);
both!(a_campaign_stops_at_its_budget, budget);
both!(bad_campaigns_are_refused_with_nothing_written, refusals);

fn at(text: &str) -> Timestamp {
    Timestamp::parse_from_rfc3339(text).unwrap()
}

fn coupon(off_fen: i64, min_fen: i64) -> Value {
    json!({"code": "x", "kind": {"kind": "amount_off", "off": off_fen, "min_spend": min_fen},
           "valid_days": 30})
}

fn campaign(code: &str, segment: Value, per_member: u16, budget: u32, control_bp: u16) -> Value {
    json!({
        "code": code, "name": format!("{code} campaign"), "coupon": coupon(2000, 5000),
        "segment": segment, "starts_at": "2026-12-01T00:00:00+08:00",
        "ends_at": "2027-01-01T00:00:00+08:00", "per_member": per_member,
        "budget": budget, "control_bp": control_bp,
    })
}

async fn get_status(h: &Harness, path: &str) -> (StatusCode, Vec<u8>) {
    let token = format!("Bearer {}", util::ADMIN);
    let (status, _, body) = h.get(path, &[("authorization", &token)]).await;
    (status, body)
}

async fn get_json(h: &Harness, path: &str) -> Value {
    let (status, body) = get_status(h, path).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

/// Enrolls `n` members with `birthday` at the till's clock, each buying
/// ¥60 a day later; uploads. Returns them.
async fn members_who_bought(
    h: &Harness,
    till: &mut Till,
    n: usize,
    birthday: MonthDay,
    phone0: u64,
) -> Vec<MemberId> {
    let mut events = Vec::new();
    let mut members = Vec::new();
    for i in 0..n {
        let member = new_member();
        let (enrolled, entries) =
            till.enroll_born(member, &format!("{}", phone0 + i as u64), birthday);
        let account = MemberAccount::fold(MemberAccount::new(member), &entries);
        let (sale, _) = till.sale(&account, 60, TenderRequest::default());
        events.push(enrolled);
        events.push(sale);
        members.push(member);
    }
    let (status, _) = h.upload(till, events).await;
    assert_eq!(status, StatusCode::OK);
    members
}

/// The campaign coupons `member` holds with `code`, as head office sends
/// the member down.
async fn held(
    h: &Harness,
    till: &Till,
    member: MemberId,
    code: &str,
) -> (MemberAccount, Vec<tillcard_rules::ids::CouponId>) {
    let account = h.member_account(till, member).await;
    let ids = account
        .coupons
        .iter()
        .filter(|c| c.coupon.code == code)
        .map(|c| c.coupon.id)
        .collect();
    (account, ids)
}

/// Runs the daily jobs at 03:05 of each day from `first` for `days` days.
async fn run_days(h: &Harness, first: &str, days: i64) {
    let config = JobsConfig::default();
    let start = at(first);
    for d in 0..days {
        let moment = start + Duration::days(d);
        let ran = jobs::run_due(&h.hq, &config, "test-process", moment)
            .await
            .unwrap();
        for r in &ran {
            assert!(r.outcome.is_ok(), "{r:?}");
        }
    }
}

/// Coupons of `code` in the members' ledgers at head office: (issued, used
/// and not restored).
async fn from_ledger(h: &Harness, members: &[MemberId], code: &str) -> (u64, u64) {
    let (mut issued, mut used) = (0u64, 0i64);
    for &m in members {
        let (_, entries) = h.hq.store().member(m).await.unwrap().unwrap();
        let ids: Vec<_> = entries
            .iter()
            .filter_map(|e| match &e.kind {
                EntryKind::CouponIssued { coupon } if coupon.code == code => Some(coupon.id),
                _ => None,
            })
            .collect();
        issued += ids.len() as u64;
        for e in &entries {
            match &e.kind {
                EntryKind::CouponUsed { coupon } if ids.contains(coupon) => used += 1,
                EntryKind::CouponRestored { coupon } if ids.contains(coupon) => used -= 1,
                _ => {}
            }
        }
    }
    (issued, u64::try_from(used).unwrap())
}

async fn a_month_of_campaigns(backend: Backend) {
    let h = harness(backend).await;
    let mut till = h.provision("S001").await;
    // 30 members who last bought in July (asleep by December), born in
    // May; 8 who bought in late November, born in December.
    till.clock = at("2026-07-01T10:00:00+08:00");
    let sleepers = members_who_bought(
        &h,
        &mut till,
        30,
        MonthDay { month: 5, day: 17 },
        13_900_000_000,
    )
    .await;
    till.clock = at("2026-11-21T10:00:00+08:00");
    let december = members_who_bought(
        &h,
        &mut till,
        8,
        MonthDay { month: 12, day: 9 },
        13_800_000_000,
    )
    .await;

    let sleeping = json!({"min_days_since_purchase": 90});
    let (status, body) = h
        .admin_post(
            "/v1/admin/campaigns",
            campaign("sleepers-2026-12", sleeping, 1, 1_000, 3_000),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = h
        .admin_post(
            "/v1/admin/campaigns",
            campaign("birthday-dec", json!({"birthday_month": true}), 2, 1_000, 0),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // The first ten days of December.
    run_days(&h, "2026-12-01T03:05:00+08:00", 10).await;

    // Five treated sleepers come back on 10 December: four use their
    // coupon on a ¥120 order, one buys without; two control members buy.
    let reached =
        h.hq.store()
            .reached_members("sleepers-2026-12")
            .await
            .unwrap();
    let treated: Vec<MemberId> = reached
        .iter()
        .filter(|r| r.treated)
        .map(|r| r.member)
        .collect();
    let control: Vec<MemberId> = reached
        .iter()
        .filter(|r| !r.treated)
        .map(|r| r.member)
        .collect();
    till.clock = at("2026-12-10T15:00:00+08:00");
    let mut events = Vec::new();
    let mut redeeming_total = 0i64;
    for (k, &member) in treated.iter().take(5).enumerate() {
        let (account, ids) = held(&h, &till, member, "sleepers-2026-12").await;
        assert_eq!(ids.len(), 1, "one coupon a member");
        let tender = if k < 4 {
            TenderRequest {
                coupons: ids,
                ..TenderRequest::default()
            }
        } else {
            TenderRequest::default()
        };
        let (sale, _) = till.sale(&account, 120, tender);
        if k < 4 {
            let quote = quote_of(&sale);
            assert_eq!(
                quote.coupon.as_ref().map(|c| c.amount),
                Some(Money::from_yuan(20)),
                "20 off"
            );
            redeeming_total += quote.total.fen();
        }
        events.push(sale);
    }
    for &member in control.iter().take(2) {
        let account = h.member_account(&till, member).await;
        assert!(
            account
                .coupons
                .iter()
                .all(|c| c.coupon.code != "sleepers-2026-12"),
            "control got nothing"
        );
        let (sale, _) = till.sale(&account, 80, TenderRequest::default());
        events.push(sale);
    }
    // Three December birthdays use one of their two campaign coupons.
    for &member in december.iter().take(3) {
        let (account, ids) = held(&h, &till, member, "birthday-dec").await;
        assert_eq!(ids.len(), 2);
        let (sale, _) = till.sale(
            &account,
            100,
            TenderRequest {
                coupons: vec![ids[0]],
                ..TenderRequest::default()
            },
        );
        events.push(sale);
    }
    let (status, _) = h.upload(&till, events).await;
    assert_eq!(status, StatusCode::OK);

    // The rest of the month.
    run_days(&h, "2026-12-11T03:05:00+08:00", 21).await;

    let view = get_json(&h, "/v1/admin/campaigns/sleepers-2026-12").await;
    let f = &view["figures"];
    let (ledger_issued, ledger_used) = from_ledger(&h, &sleepers, "sleepers-2026-12").await;
    let counts: BTreeMap<&str, Value> = [
        ("treated", json!(treated.len())),
        ("control", json!(control.len())),
        ("issued", f["issued"].clone()),
        ("ledger_issued", json!(ledger_issued)),
        ("redeemed", f["redeemed"].clone()),
        ("ledger_used", json!(ledger_used)),
        ("treated_reactivated", f["treated"]["reactivated"].clone()),
        ("control_reactivated", f["control"]["reactivated"].clone()),
    ]
    .into();
    println!("sleepers campaign ({backend:?}): {counts:?}; figures {f}");
    assert_eq!(
        treated.len() + control.len(),
        30,
        "every sleeper reached once"
    );
    assert!(
        !control.is_empty() && control.len() < 20,
        "about 30% held back"
    );
    assert!(
        reached
            .iter()
            .all(|r| sleepers.contains(&r.member) && r.sleeping)
    );
    assert_eq!(f["issued"], json!(treated.len()));
    assert_eq!(
        ledger_issued,
        treated.len() as u64,
        "the figure is the ledger's"
    );
    assert_eq!((f["redeemed"].clone(), ledger_used), (json!(4), 4));
    assert_eq!(f["redeeming_orders"], json!(4));
    assert_eq!(f["redeeming_sales_fen"], json!(redeeming_total));
    assert_eq!(f["treated"]["buyers"], json!(5));
    assert_eq!(f["treated"]["reactivated"], json!(5));
    assert_eq!(f["treated"]["sleeping"], json!(treated.len()));
    assert_eq!(f["control"]["members"], json!(control.len()));
    assert_eq!(f["control"]["reactivated"], json!(2));
    assert_eq!(f["control"]["sales_fen"], json!(2 * 8_000));

    let view = get_json(&h, "/v1/admin/campaigns/birthday-dec").await;
    let (ledger_issued, ledger_used) = from_ledger(&h, &december, "birthday-dec").await;
    println!(
        "birthday campaign ({backend:?}): figures {}",
        view["figures"]
    );
    assert_eq!(
        view["figures"]["issued"],
        json!(16),
        "two each to the 8 December birthdays"
    );
    assert_eq!((ledger_issued, ledger_used), (16, 3));
    assert_eq!(view["figures"]["redeemed"], json!(3));
    assert_eq!(view["figures"]["control"], Value::Null);

    // The program's own birthday coupon went to December's birthdays only,
    // once each across the month's 31 runs.
    let view = get_json(&h, "/v1/admin/campaigns/birthday-2026").await;
    assert_eq!(view["campaign"]["treated"], json!(8), "{view}");
    assert_eq!(view["campaign"]["issued"], json!(8));
    let list = get_json(&h, "/v1/admin/campaigns").await;
    assert_eq!(list.as_array().unwrap().len(), 3, "{list}");
}

async fn budget(backend: Backend) {
    let h = harness(backend).await;
    let mut till = h.provision("S001").await;
    till.clock = at("2026-11-21T10:00:00+08:00");
    members_who_bought(
        &h,
        &mut till,
        12,
        MonthDay { month: 5, day: 17 },
        13_700_000_000,
    )
    .await;
    let (status, _) = h
        .admin_post(
            "/v1/admin/campaigns",
            campaign("everyone", json!({}), 2, 9, 0),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let first =
        h.hq.run_campaign("everyone", at("2026-12-02T03:00:00+08:00"))
            .await
            .unwrap();
    let second =
        h.hq.run_campaign("everyone", at("2026-12-03T03:00:00+08:00"))
            .await
            .unwrap();
    let record = h.hq.store().campaign("everyone").await.unwrap().unwrap();
    println!(
        "budget 9, 2 a member, 12 members ({backend:?}): first run {first:?}, second {second:?}, issued {}",
        record.issued
    );
    assert_eq!(
        (first.treated, first.coupons, first.budget_spent),
        (4, 8, true),
        "a fifth member's 2 would pass 9"
    );
    assert_eq!(
        (second.treated, second.coupons),
        (0, 0),
        "nothing once the budget is spent"
    );
    assert_eq!(record.issued, 8);
    assert_eq!(record.treated, 4);
}

async fn refusals(backend: Backend) {
    let h = harness(backend).await;
    let mut bad = campaign("bad", json!({"tiers": ["no-such-tier"]}), 0, 0, 9_000);
    bad["ends_at"] = json!("2026-11-30T00:00:00+08:00");
    let (status, body) = h.admin_post("/v1/admin/campaigns", bad).await;
    println!("refused ({backend:?}): {body}");
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_campaign");
    let message = body["message"].as_str().unwrap();
    for field in [
        "ends_at",
        "per_member",
        "budget",
        "control_bp",
        "segment.tiers",
    ] {
        assert!(message.contains(field), "{field} named in {message}");
    }
    let (status, _) = h
        .admin_post("/v1/admin/campaigns", campaign("good", json!({}), 1, 10, 0))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = h
        .admin_post("/v1/admin/campaigns", campaign("good", json!({}), 1, 99, 0))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"], "campaign_exists");
    let (status, _) = get_status(&h, "/v1/admin/campaigns/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = h
        .admin_post("/v1/admin/campaigns/good/stop", json!({"reason": " "}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = h
        .admin_post(
            "/v1/admin/campaigns/good/stop",
            json!({"reason": "wrong coupon"}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = h
        .admin_post("/v1/admin/campaigns/good/stop", json!({"reason": "again"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let list = get_json(&h, "/v1/admin/campaigns").await;
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "nothing of the refused ones written"
    );
    assert_eq!(list[0]["budget"], json!(10), "the first definition kept");
    assert_eq!(list[0]["state"], "stopped");
    let trail = h.hq.audit_trail(Some("campaign:good"), None).await.unwrap();
    let actions: Vec<&str> = trail.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions, ["campaign_stopped", "campaign_created"]);
}
