//! The chain's figures (`GET /v1/admin/figures`) after a scripted month of
//! two stores, with every expected number worked out by hand in the
//! comments. Runs on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use axum::http::StatusCode;
use serde_json::json;
use tillcard_rules::MemberAccount;
use tillcard_rules::ids::Timestamp;
use tillcard_rules::pricing::TenderRequest;
use util::{Backend, harness, new_member, quote_of};

both!(figures_of_a_scripted_month, scripted_month);
both!(figures_need_admin_token_or_session, figures_auth);

fn at(text: &str) -> Timestamp {
    Timestamp::parse_from_rfc3339(text).unwrap()
}

fn fold(account: MemberAccount, entries: &[tillcard_rules::ledger::LedgerEntry]) -> MemberAccount {
    MemberAccount::fold(account, entries)
}

async fn scripted_month(backend: Backend) {
    let h = harness(backend).await;
    let (mut a, mut b) = h.two_stores().await;
    let now = at("2026-11-30T12:00:00+08:00");
    let cash = TenderRequest::default();

    // M4: enrolled 2025-05-01, 300 points by adjustment that same day. The
    // lot expires at the end of May 2026: nothing left by `now`. Never bought.
    let m4 = new_member();
    a.clock = at("2025-05-01T09:00:00+08:00");
    let (e_m4, en) = a.enroll(m4, "13900000004");
    let (e_m4_pts, _) = a.add_points(&fold(MemberAccount::new(m4), &en), 300);
    // M3: enrolled 2026-06-01, bought ¥50 on 2026-07-01 (50 points), then
    // nothing: asleep (bought before the 90 days).
    let m3 = new_member();
    a.clock = at("2026-06-01T09:00:00+08:00");
    let (e_m3, en) = a.enroll(m3, "13900000003");
    let m3_acc = fold(MemberAccount::new(m3), &en);
    a.clock = at("2026-07-01T09:00:00+08:00");
    let (e_m3_sale, _) = a.sale(&m3_acc, 50, cash.clone());
    // M1: enrolled 2026-11-20 at S001, tops up 500+50, buys ¥200 (11-25)
    // and ¥100 (11-28 10:00) at S001.
    let m1 = new_member();
    a.clock = at("2026-11-20T10:00:00+08:00");
    let (e_m1, en) = a.enroll(m1, "13900000001");
    let m1_acc = fold(MemberAccount::new(m1), &en);
    let (e_m1_top, top) = a.top_up_package(&m1_acc, "500+50");
    let m1_acc = fold(m1_acc, &top);
    a.clock = at("2026-11-25T10:00:00+08:00");
    let (e_m1_s1, s1) = a.sale(&m1_acc, 200, cash.clone());
    let m1_acc = fold(m1_acc, &s1);
    a.clock = at("2026-11-28T10:00:00+08:00");
    let (e_m1_s2, s2) = a.sale(&m1_acc, 100, cash.clone());
    let m1_acc = fold(m1_acc, &s2);
    // A walk-in ¥300 at S001 on 11-29.
    a.clock = at("2026-11-29T15:00:00+08:00");
    let (e_walk_a, _) = a.walk_in_sale(300);
    let (s, ack) = h
        .upload(
            &a,
            vec![
                e_m4,
                e_m4_pts,
                e_m3,
                e_m3_sale,
                e_m1,
                e_m1_top,
                e_m1_s1,
                e_m1_s2.clone(),
                e_walk_a,
            ],
        )
        .await;
    assert_eq!((s, ack.unwrap().applied), (StatusCode::OK, 9));

    // At S002: M2 enrolls 11-21 and buys ¥1,500 on 11-26 (upgraded to
    // Silver by that purchase); M1 buys ¥50 at S002 on 11-28 10:10, ten
    // minutes after buying at S001: one `seen_at_two_stores` conflict.
    // A walk-in ¥200 on 11-29, refunded in full the same day. M5 enrolls
    // on 11-29 and has not bought yet.
    let m2 = new_member();
    b.clock = at("2026-11-21T11:00:00+08:00");
    let (e_m2, en) = b.enroll(m2, "13900000002");
    b.clock = at("2026-11-26T11:00:00+08:00");
    let (e_m2_sale, _) = b.sale(&fold(MemberAccount::new(m2), &en), 1500, cash.clone());
    b.clock = at("2026-11-28T10:10:00+08:00");
    let (e_m1_b, _) = b.sale(&m1_acc, 50, cash.clone());
    b.clock = at("2026-11-29T16:00:00+08:00");
    let (e_walk_b, walk_quote) = b.walk_in_sale(200);
    let (e_walk_refund, _) = b.refund_all(&walk_quote, &[], None);
    let m5 = new_member();
    let (e_m5, _) = b.enroll(m5, "13900000005");
    // S002 says its outbox holds 8 events: 2 still wait after these 6.
    let (s, ack) = h
        .upload_with_head(
            &b,
            vec![e_m2, e_m2_sale, e_m1_b, e_walk_b, e_walk_refund, e_m5],
            8,
        )
        .await;
    assert_eq!((s, ack.unwrap().applied), (StatusCode::OK, 6));

    // Back at S001 (11-28 11:00): the ¥100 sale of M1 refunded in full.
    a.clock = at("2026-11-28T11:00:00+08:00");
    let q2 = quote_of(&e_m1_s2);
    let (e_m1_refund, _) = a.refund_all(&q2, &s2, Some(&m1_acc));
    let (s, _) = h.upload(&a, vec![e_m1_refund]).await;
    assert_eq!(s, StatusCode::OK);

    let expected = |points_job_ran: bool| {
        json!({
            // Regular: M1, M3, M4, M5; Silver: M2 (¥1,500 >= ¥1,000).
            "members_by_tier": [4, 1, 0, 0],
            "members_total": 5,
            // Nov 1..30: M1 on the 20th, M2 on the 21st, M5 on the 29th.
            "enrollments": {"2026-11-20": 1, "2026-11-21": 1, "2026-11-29": 1, "total": 3},
            // Since 2026-09-01 12:00: M1 and M2 bought; M3 bought in July;
            // M4 never bought and enrolled long ago; M5 is new.
            "activity": {"active": 2, "sleeping": 2, "sleeping_lapsed": 1,
                         "sleeping_never_purchased": 1, "new_not_yet_purchased": 1},
            // Since 10-31 12:00. Members: 200 + 100 + 50 + 1,500 = ¥1,850,
            // less the ¥100 refund = ¥1,750. Walk-ins: 300 + 200 - 200 = ¥300.
            // Share 1,750 / 2,050 = 85.3658% -> 8537 bp.
            "sales": {"member_fen": 175_000, "walk_in_fen": 30_000, "total_fen": 205_000,
                      "member_refunds_fen": 10_000, "walk_in_refunds_fen": 20_000,
                      "member_sales": 4, "walk_in_sales": 2, "member_share_bp": 8537,
                      "refunds_awaiting_sale": 0},
            // Buyers in 30 days: M1 (3 sales), M2 (1): 1 of 2 = 50%.
            "repeat": {"buyers": 2, "repeat_buyers": 1, "rate_bp": 5000},
            // Points: M1 200 + (100 - 100 refunded) + 50 = 250; M2 1,500;
            // M3 50; M4's 300 expired = 1,800 points = ¥18.00 at 100 per ¥1.
            // Stored value: M1's 500+50 package.
            "liabilities": {"points": 1800, "points_value_fen": 1800,
                            "stored_value_principal_fen": 50_000, "stored_value_bonus_fen": 5_000},
            "job": points_job_ran,
        })
    };

    let check = |f: &serde_json::Value, e: &serde_json::Value| {
        let tiers: Vec<u64> = f["members_by_tier"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["members"].as_u64().unwrap())
            .collect();
        assert_eq!(json!(tiers), e["members_by_tier"], "[{backend:?}] tiers");
        assert_eq!(f["members_by_tier"][1]["code"], "silver");
        assert_eq!(f["members_total"], e["members_total"]);
        let days = f["enrollments_per_day"].as_array().unwrap();
        assert_eq!(days.len(), 30);
        assert_eq!(days[0]["date"], "2026-11-01");
        assert_eq!(days[29]["date"], "2026-11-30");
        let total: u64 = days.iter().map(|d| d["count"].as_u64().unwrap()).sum();
        assert_eq!(total, e["enrollments"]["total"].as_u64().unwrap());
        for day in ["2026-11-20", "2026-11-21", "2026-11-29"] {
            let n = days.iter().find(|d| d["date"] == day).unwrap()["count"].clone();
            assert_eq!(n, e["enrollments"][day], "[{backend:?}] {day}");
        }
        assert_eq!(f["activity"], e["activity"], "[{backend:?}] activity");
        assert_eq!(f["sales"], e["sales"], "[{backend:?}] sales");
        assert_eq!(f["repeat"], e["repeat"], "[{backend:?}] repeat");
        assert_eq!(
            f["liabilities"], e["liabilities"],
            "[{backend:?}] liabilities"
        );
    };

    let f = h.figures_at(now).await;
    check(&f, &expected(false));
    // Terminals: S001 sent 10 events, never said its outbox head; S002 sent
    // 6 of 8.
    let terminals = f["terminals"].as_array().unwrap();
    assert_eq!(terminals.len(), 2);
    let t1 = terminals.iter().find(|t| t["store"] == "S001").unwrap();
    let t2 = terminals.iter().find(|t| t["store"] == "S002").unwrap();
    assert_eq!(
        (t1["acked_seq"].as_u64(), t1["pending"].as_u64()),
        (Some(10), None)
    );
    assert_eq!(
        (t2["acked_seq"].as_u64(), t2["pending"].as_u64()),
        (Some(6), Some(2))
    );
    assert!(t1["last_batch_at"].is_string() && t1["lag_seconds"].is_i64());
    // The conflict queue: exactly the one raised by M1 at two stores.
    assert_eq!(f["conflicts"]["total"], 1);
    let c = &f["conflicts"]["items"][0];
    assert_eq!(c["kind"], "seen_at_two_stores");
    assert_eq!(c["member_id"], m1.to_string());
    assert!(c["reason"].as_str().unwrap().contains("10 minutes apart"));
    // Lag as of a real clock: the batches came in just now.
    let live = h.figures_at(chrono::Utc::now().fixed_offset()).await;
    for t in live["terminals"].as_array().unwrap() {
        assert!(t["lag_seconds"].as_i64().unwrap() < 120, "{t}");
    }

    // The expiry job appends M4's expiry to the ledger: its cached fold and
    // summary are dropped and the figures fold from the ledger instead.
    // Nothing may change.
    let expired = h.hq.expire_points(now).await.unwrap();
    assert_eq!(expired, 1, "M4's lot expires");
    let after = h.figures_at(now).await;
    check(&after, &expected(true));

    // As of 11-28 10:30, before both refunds and both walk-ins, the 30-day
    // window holds member sales 200 + 100 + 50 + 1,500 = ¥1,850 and
    // nothing else: share 100%.
    let earlier = h.figures_at(at("2026-11-28T10:30:00+08:00")).await;
    assert_eq!(earlier["sales"]["member_fen"], 185_000);
    assert_eq!(earlier["sales"]["walk_in_fen"], 0);
    assert_eq!(earlier["sales"]["member_share_bp"], 10_000);
    // M5 (enrolled 11-29) is not a member yet then.
    assert_eq!(earlier["activity"]["new_not_yet_purchased"], 0);
}

async fn figures_auth(backend: Backend) {
    let h = harness(backend).await;
    let (s, _, _) = h.get("/v1/admin/figures", &[]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, _) = h
        .get("/v1/admin/figures", &[("authorization", "Bearer wrong")])
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, _) = h
        .get(
            "/v1/admin/figures",
            &[("cookie", "tillcard_hq_session=forged")],
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // An empty chain: every tier at zero, no share, no repeat rate.
    let f = h.figures_at(chrono::Utc::now().fixed_offset()).await;
    assert_eq!(f["members_total"], 0);
    assert_eq!(f["members_by_tier"].as_array().unwrap().len(), 4);
    assert!(f["sales"]["member_share_bp"].is_null());
    assert!(f["repeat"]["rate_bp"].is_null());
}
