//! Member money through the admin API, on SQLite and on PostgreSQL: a
//! stored-value cash-out (principal paid back, the bonus with it
//! forfeited) and a points adjustment, each with a reason; below its
//! threshold applied at once and sent down in the member's snapshot;
//! above it a request that the requester may not approve, that another
//! user approves on the balance held at that moment (refused above it,
//! nothing written) or rejects; a cash-out above the balance, a blank
//! reason, a zero amount and an unknown member refused, nothing written.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tillcard_hq::console::{self, text};
use tillcard_hq::service::back_office::Actor;
use tillcard_hq::service::roles::Role;
use tillcard_rules::MemberAccount;
use tillcard_rules::ledger::LedgerEntry;
use util::{Backend, Browser, Harness, Till, harness, new_member};

both!(
    below_its_threshold_a_cash_out_and_an_adjustment_apply_at_once_and_go_down,
    below_threshold
);
both!(
    above_its_threshold_another_user_approves_on_the_balance_held_then,
    above_threshold
);
both!(
    a_cash_out_above_the_balance_and_bad_requests_are_refused_writing_nothing,
    refusals
);
both!(
    the_console_asks_with_the_member_forms_and_another_user_approves,
    console_flow
);

/// Enrolls a member at `till` with `entries` of opening business; their
/// account as the till holds it.
async fn member_with(h: &Harness, till: &mut Till, phone: &str) -> MemberAccount {
    let member = new_member();
    let (enrolled, entries) = till.enroll(member, phone);
    h.upload(till, vec![enrolled]).await;
    MemberAccount::fold(MemberAccount::new(member), &entries)
}

/// Uploads `event` and folds its entries into `account`.
async fn book(
    h: &Harness,
    till: &Till,
    account: MemberAccount,
    (event, entries): (tillcard_protocol::wire::OutboxEvent, Vec<LedgerEntry>),
) -> MemberAccount {
    let (status, _) = h.upload(till, vec![event]).await;
    assert_eq!(status, StatusCode::OK);
    MemberAccount::fold(account, &entries)
}

fn olga() -> Actor {
    Actor {
        name: "olga".into(),
        role: Role::Admin,
    }
}

/// What head office holds of the member now: principal, bonus (fen) and
/// points.
async fn held(h: &Harness, member: tillcard_rules::MemberId) -> (i64, i64, i64) {
    let (_, entries) = h.hq.store().member(member).await.unwrap().unwrap();
    let account = MemberAccount::fold(MemberAccount::new(member), &entries);
    (
        account.stored_value.principal.fen(),
        account.stored_value.bonus.fen(),
        account.points_balance(chrono::Utc::now().fixed_offset()),
    )
}

/// Ledger rows, audit rows and downlink changes: what a refusal must not
/// add to.
async fn written(h: &Harness, till: &Till) -> (u64, usize, usize) {
    let counts = h.hq.store().counts().await.unwrap();
    let audit = h.hq.audit_trail(None, Some(1000)).await.unwrap().len();
    (counts.ledger, audit, h.all_changes(till).await.len())
}

async fn below_threshold(backend: Backend) {
    let h = harness(backend).await;
    let mut till = h.provision("S001").await;
    let account = member_with(&h, &mut till, "13500135001").await;
    let member = account.member;
    let top_up = till.top_up_package(&account, "500+50");
    let account = book(&h, &till, account, top_up).await;
    assert_eq!(account.stored_value.total().fen(), 55_000);

    let path = |what: &str| format!("/v1/admin/members/{member}/{what}");
    let (status, cashed) = h
        .admin_post(
            &path("cash-out"),
            serde_json::json!({"amount_fen": 20_000, "reason": "moving away"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{cashed}");
    let (status, adjusted) = h
        .admin_post(
            &path("points-adjustment"),
            serde_json::json!({"points": 300, "reason": "goodwill"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{adjusted}");
    let down = h.member_account(&till, member).await;
    let trail =
        h.hq.audit_trail(Some(&format!("member:{member}")), None)
            .await
            .unwrap();
    println!(
        "member money below thresholds ({backend:?}): cash-out {cashed}, adjustment {adjusted}; \
         sent down principal {} bonus {}; audit {:?}",
        down.stored_value.principal,
        down.stored_value.bonus,
        trail
            .iter()
            .map(|a| (a.action.as_str(), a.detail.as_str()))
            .collect::<Vec<_>>()
    );
    assert_eq!(cashed["state"], "applied");
    assert_eq!(cashed["principal_paid_fen"], 20_000);
    assert_eq!(
        cashed["bonus_forfeited_fen"], 2_000,
        "200/500 of the ¥50 bonus"
    );
    assert_eq!(adjusted["state"], "applied");
    assert_eq!(adjusted["points"], 300);
    assert_eq!(held(&h, member).await, (30_000, 3_000, 300));
    assert_eq!(down.stored_value.principal.fen(), 30_000, "sent down");
    assert_eq!(down.stored_value.bonus.fen(), 3_000);
    assert_eq!(down.points_balance(chrono::Utc::now().fixed_offset()), 300);
    let actions: Vec<(&str, &str)> = trail
        .iter()
        .map(|a| (a.action.as_str(), a.actor.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("points_adjustment", "admin-token"),
            ("cash_out", "admin-token")
        ]
    );
    assert!(
        trail[1].detail.ends_with(": moving away"),
        "{}",
        trail[1].detail
    );
    assert!(trail[0].detail.ends_with(": goodwill"));
}

async fn above_threshold(backend: Backend) {
    let h = harness(backend).await;
    h.hq.save_user(&Actor::cli(), "olga", "a long passphrase", None)
        .await
        .unwrap();
    let mut till = h.provision("S001").await;
    let account = member_with(&h, &mut till, "13500135002").await;
    let member = account.member;
    let top_up = till.top_up(&account, 1000);
    let account = book(&h, &till, account, top_up).await;
    let points = till.add_points(&account, 2000);
    let account = book(&h, &till, account, points).await;
    let path = |what: &str| format!("/v1/admin/members/{member}/{what}");

    // ¥800.00 is above the ¥500.00 threshold: a request, nothing booked.
    let before = written(&h, &till).await;
    let (status, asked) = h
        .admin_post(
            &path("cash-out"),
            serde_json::json!({"amount_fen": 80_000, "reason": "closing the card"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{asked}");
    assert_eq!(asked["state"], "pending");
    let request = asked["request_no"].as_i64().unwrap();
    let after_request = written(&h, &till).await;
    assert_eq!(
        (after_request.0, after_request.2),
        (before.0, before.2),
        "a request books nothing and sends nothing down"
    );
    assert_eq!(after_request.1, before.1 + 1, "one audit row: requested");
    assert_eq!(held(&h, member).await.0, 100_000);

    // The requester may not approve it.
    let approve = format!("/v1/admin/member-money/requests/{request}/approve");
    let (status, body) = h.admin_post(&approve, serde_json::json!(null)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "same_approver");
    assert_eq!(written(&h, &till).await, after_request, "nothing written");

    // Meanwhile ¥300.00 goes (below the threshold): ¥700.00 is left, so
    // approving ¥800.00 now is refused and the request stays pending.
    let (status, _) = h
        .admin_post(
            &path("cash-out"),
            serde_json::json!({"amount_fen": 30_000, "reason": "part now"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let before_approval = written(&h, &till).await;
    let refused =
        h.hq.approve_member_money(&olga(), request)
            .await
            .unwrap_err();
    assert_eq!(refused.code(), "above_balance");
    assert_eq!(written(&h, &till).await, before_approval, "nothing written");
    let pending = h.hq.member_money_requests().await.unwrap();
    assert_eq!(pending[0].state, "pending");

    // A top-up at the store: ¥900.00 held, and olga's approval books it.
    let top_up = till.top_up(&account, 200);
    book(&h, &till, account, top_up).await;
    let approved = h.hq.approve_member_money(&olga(), request).await.unwrap();
    let again =
        h.hq.approve_member_money(&olga(), request)
            .await
            .unwrap_err();

    // 1,500 points away is above 1,000: a request olga rejects.
    let (status, asked) = h
        .admin_post(
            &path("points-adjustment"),
            serde_json::json!({"points": -1500, "reason": "points booked twice"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let points_request = asked["request_no"].as_i64().unwrap();
    h.hq.reject_member_money(&olga(), points_request, "checked: booked once")
        .await
        .unwrap();
    let rejected_again =
        h.hq.reject_member_money(&olga(), points_request, "twice")
            .await
            .unwrap_err();
    let requests = h.hq.member_money_requests().await.unwrap();
    let down = h.member_account(&till, member).await;
    let trail =
        h.hq.audit_trail(Some(&format!("member:{member}")), None)
            .await
            .unwrap();
    println!(
        "member money above thresholds ({backend:?}): approved {approved:?}; requests {:?}; \
         sent down principal {}; audit {:?}",
        requests
            .iter()
            .map(|r| (r.request_no, r.kind.as_str(), r.state.as_str()))
            .collect::<Vec<_>>(),
        down.stored_value.principal,
        trail
            .iter()
            .map(|a| (a.action.as_str(), a.actor.as_str()))
            .collect::<Vec<_>>()
    );
    assert_eq!(approved.state, "applied");
    assert_eq!(approved.principal_paid_fen, Some(80_000));
    assert_eq!(again.code(), "request_closed");
    assert_eq!(rejected_again.code(), "request_closed");
    assert_eq!(held(&h, member).await, (10_000, 0, 2000));
    assert_eq!(down.stored_value.principal.fen(), 10_000, "sent down");
    let cash = requests.iter().find(|r| r.request_no == request).unwrap();
    assert_eq!(
        (cash.state.as_str(), cash.decided_by.as_deref()),
        ("approved", Some("olga"))
    );
    assert_eq!(cash.source.as_deref(), approved.source.as_deref());
    let points = requests
        .iter()
        .find(|r| r.request_no == points_request)
        .unwrap();
    assert_eq!(
        (points.state.as_str(), points.decision_note.as_deref()),
        ("rejected", Some("checked: booked once"))
    );
    let actions: Vec<(&str, &str)> = trail
        .iter()
        .map(|a| (a.action.as_str(), a.actor.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("member_money_rejected", "olga"),
            ("member_money_requested", "admin-token"),
            ("cash_out", "olga"),
            ("cash_out", "admin-token"),
            ("member_money_requested", "admin-token"),
        ]
    );
}

async fn refusals(backend: Backend) {
    let h = harness(backend).await;
    let mut till = h.provision("S001").await;
    let account = member_with(&h, &mut till, "13500135003").await;
    let member = account.member;
    let top_up = till.top_up_package(&account, "500+50");
    let account = book(&h, &till, account, top_up).await;
    let points = till.add_points(&account, 100);
    book(&h, &till, account, points).await;
    let before = written(&h, &till).await;
    let path = |what: &str| format!("/v1/admin/members/{member}/{what}");
    let cases = [
        (
            path("cash-out"),
            serde_json::json!({"amount_fen": 50_001, "reason": "one fen too many"}),
            StatusCode::CONFLICT,
            "above_balance",
        ),
        (
            path("points-adjustment"),
            serde_json::json!({"points": -101, "reason": "too many"}),
            StatusCode::CONFLICT,
            "insufficient_points",
        ),
        (
            path("cash-out"),
            serde_json::json!({"amount_fen": 0, "reason": "zero"}),
            StatusCode::BAD_REQUEST,
            "invalid_amount",
        ),
        (
            path("points-adjustment"),
            serde_json::json!({"points": 0, "reason": "zero"}),
            StatusCode::BAD_REQUEST,
            "invalid_points",
        ),
        (
            path("cash-out"),
            serde_json::json!({"reason": "  "}),
            StatusCode::BAD_REQUEST,
            "invalid_reason",
        ),
        (
            format!("/v1/admin/members/{}/cash-out", new_member()),
            serde_json::json!({"reason": "nobody"}),
            StatusCode::NOT_FOUND,
            "unknown_member",
        ),
        (
            "/v1/admin/member-money/requests/999/approve".to_string(),
            serde_json::json!(null),
            StatusCode::NOT_FOUND,
            "unknown_request",
        ),
    ];
    let mut answers = Vec::new();
    for (path, body, status, code) in cases {
        let (got, answer) = h.admin_post(&path, body).await;
        answers.push((
            got.as_u16(),
            answer["error"].as_str().unwrap_or("").to_string(),
        ));
        assert_eq!(
            (got, answer["error"].as_str()),
            (status, Some(code)),
            "{path}"
        );
    }
    let after = written(&h, &till).await;
    println!(
        "member money refusals ({backend:?}): {answers:?}; ledger, audit, changes before {before:?} after {after:?}"
    );
    assert_eq!(after, before, "refusals write nothing");
    assert_eq!(held(&h, member).await, (50_000, 5_000, 100));
}

async fn page(h: &Harness, b: &Browser, path: &str) -> String {
    let (s, _, body) = h.get(path, &[("cookie", &b.cookie)]).await;
    assert_eq!(s, StatusCode::OK, "{path}");
    String::from_utf8(body).unwrap()
}

/// A form POST with the session's CSRF token: status, Location and body.
async fn post(
    h: &Harness,
    b: &Browser,
    path: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String, String) {
    let mut form: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", console::url_encode(v)))
        .collect();
    form.push(format!("csrf={}", b.csrf));
    let (s, headers, body) = h
        .exchange(
            Request::builder()
                .method("POST")
                .uri(path)
                .header(header::COOKIE, &b.cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form.join("&")))
                .unwrap(),
        )
        .await;
    let location = headers
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (s, location, String::from_utf8(body).unwrap())
}

fn en(key: &str) -> &'static str {
    text::TABLE.iter().find(|r| r.0 == key).unwrap().2
}

async fn console_flow(backend: Backend) {
    let h = harness(backend).await;
    let mut till = h.provision("S001").await;
    let account = member_with(&h, &mut till, "13500135004").await;
    let member = account.member;
    let top_up = till.top_up(&account, 1000);
    book(&h, &till, account, top_up).await;
    let ops = h.sign_in("wang", Role::StoreOps).await;
    let olga_browser = h.sign_in("olga", Role::Admin).await;

    // Member care shows the two forms beside the member found.
    let (status, _, found) = post(
        &h,
        &ops,
        "/console/members",
        &[("q", &member.to_string()), ("why", "closing the card")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(found.contains("cash-out-submit") && found.contains("points-submit"));

    // ¥800.00 from the form: above the threshold, a request.
    let path = format!("/console/members/{member}/cash-out");
    let form = [("amount", "800.00"), ("reason", "closing the card")];
    let (status, location, _) = post(&h, &ops, &path, &form).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/console/member-money")
    );
    let asked = page(&h, &ops, "/console/member-money").await;
    let request = h.hq.member_money_requests().await.unwrap()[0].request_no;
    let approve = format!("/console/member-money/{request}/approve");
    let (forbidden, _, _) = post(&h, &ops, &approve, &[]).await;
    let before_approval = page(&h, &olga_browser, "/console/member-money").await;
    let (status, location, _) = post(&h, &olga_browser, &approve, &[]).await;
    let approved = page(&h, &olga_browser, "/console/member-money").await;
    println!(
        "member money in the console ({backend:?}): store_ops approving {forbidden}, olga approving {status} to {location}; principal now {:?}",
        held(&h, member).await
    );
    let pending_notice = en("member_money_pending").replace('\'', "&#x27;");
    assert!(asked.contains(&pending_notice), "{asked}");
    assert!(asked.contains("¥800.00"));
    assert!(
        !asked.contains("approve-submit"),
        "store_ops may not approve"
    );
    assert_eq!(forbidden, StatusCode::FORBIDDEN);
    assert!(before_approval.contains("approve-submit"), "olga may");
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(approved.contains(en("member_money_approved")), "{approved}");
    assert!(approved.contains(en("money_approved")));
    assert_eq!(held(&h, member).await.0, 20_000);
}
