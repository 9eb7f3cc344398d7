//! A walk-in sale returned twice (issue 24): a sale with no member, sold
//! at terminal A, partly returned at B and the same line returned again at
//! C, all offline. Head office has no member's queue to put it in, so it
//! flags the sale itself (`walk_in_returns`): once, naming A, B and C and
//! the line; the batch sent again flags nothing more; refunds within what
//! was sold flag nothing; a member's sale returned twice still goes to the
//! member's conflict queue. Head-office staff who work the conflicts see
//! the flag on the review queue page and acknowledge it (who and when
//! kept, audited, off the open list); a role that may not work the
//! conflicts is refused. On SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tillcard_hq::console;
use tillcard_hq::dashboard::Lang;
use tillcard_hq::service::roles::Role;
use tillcard_hq::store::WalkInReturnCase;
use tillcard_rules::pricing::{Basket, BasketLine, TenderRequest};
use tillcard_rules::refund::RefundLine;
use tillcard_rules::{MemberAccount, Money};
use util::{ADMIN, Backend, Browser, Harness, Till, harness, new_member, quote_of};

both!(
    a_walk_in_sale_returned_at_two_terminals_is_flagged_once,
    flagged_once
);
both!(
    the_console_shows_the_flag_and_acknowledging_it_records_who,
    console_acknowledge
);

/// Two bags of rice and a bottle of oil: line 1 can be returned in part.
fn two_lines() -> Basket {
    let line = |sku: &str, quantity: i64, yuan: i64| BasketLine {
        sku: sku.into(),
        name: sku.into(),
        category: "grocery".into(),
        quantity,
        unit_price: Money::from_yuan(yuan),
        list_price: None,
    };
    Basket {
        lines: vec![line("rice-5kg", 2, 60), line("oil-1l", 1, 30)],
    }
}

fn rice(quantity: i64) -> Vec<RefundLine> {
    vec![RefundLine { line: 0, quantity }]
}

/// Three terminals at three stores.
async fn three_tills(h: &Harness) -> (Till, Till, Till) {
    let (a, mut b) = h.two_stores_apart(chrono::Duration::hours(1)).await;
    let mut c = h.provision("S003").await;
    b.clock += chrono::Duration::hours(1);
    c.clock += chrono::Duration::hours(2);
    (a, b, c)
}

/// A walk-in sale of [`two_lines`] at A, rice returned once at B (`at_b`
/// bags) and once at C (`at_c` bags), each batch uploaded in that order;
/// the sale's id and C's batch (to send again).
async fn sold_and_returned(
    h: &Harness,
    (a, b, c): (&mut Till, &mut Till, &mut Till),
    at_b: i64,
    at_c: i64,
) -> (String, tillcard_protocol::wire::OutboxEvent) {
    let (sale, quote) = a.walk_in_basket_sale(&two_lines());
    let (from_b, _) = b.refund_lines(&quote, &[], None, rice(at_b));
    let (from_c, _) = c.refund_lines(&quote, &[], None, rice(at_c));
    for (till, event) in [(&*a, sale), (&*b, from_b), (&*c, from_c.clone())] {
        let (s, ack) = h.upload(till, vec![event]).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(ack.unwrap().applied, 1);
    }
    (quote.id.0.to_string(), from_c)
}

async fn flags_of(h: &Harness, sale: &str) -> Vec<WalkInReturnCase> {
    h.hq.store().walk_in_returns_of(sale).await.unwrap()
}

async fn flagged_once(backend: Backend) {
    let h = harness(backend).await;
    let (mut a, mut b, mut c) = three_tills(&h).await;
    // Rice: 2 sold, 1 returned at B, 2 more at C.
    let (sale, from_c) = sold_and_returned(&h, (&mut a, &mut b, &mut c), 1, 2).await;
    let first = flags_of(&h, &sale).await;
    // C's batch sent again: a duplicate, nothing new.
    let (s, ack) = h.upload(&c, vec![from_c]).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ack.unwrap().duplicates, 1);
    let again = flags_of(&h, &sale).await;
    // Another walk-in sale whose returns stay within what was sold.
    let (within, _) = sold_and_returned(&h, (&mut a, &mut b, &mut c), 1, 1).await;
    let none = flags_of(&h, &within).await;
    println!(
        "[{backend:?}] walk-in sale: sent 4 batches (sale, two returns, one again), flagged {} then {}; within what was sold: flagged {}",
        first.len(),
        again.len(),
        none.len()
    );
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(again, first, "sent again: still the one flag");
    assert!(none.is_empty(), "{none:?}");
    let flag = &first[0];
    assert_eq!(flag.sold_at, a.creds.terminal_id.to_string());
    let mut returned = vec![
        b.creds.terminal_id.to_string(),
        c.creds.terminal_id.to_string(),
    ];
    returned.sort();
    assert_eq!(flag.returned_at, returned);
    assert_eq!(flag.lines, vec!["line 1: sold 2, refunded 3".to_string()]);
    assert_eq!(flag.terminal_id, c.creds.terminal_id.to_string());
    assert_eq!(flag.state, "open");
    assert_eq!(flag.acknowledged_by, None);
    assert_eq!(h.hq.walk_in_return_queue().await.unwrap(), first);
    // Not a member's conflict: no member to put it on.
    assert!(
        h.hq.store()
            .conflicts()
            .await
            .unwrap()
            .iter()
            .all(|c| c.kind != "returned_twice")
    );

    // A member's sale returned twice still goes to the member's queue.
    let member = new_member();
    let (enrolled, account) = a.enroll_account(member, "13900139078");
    h.upload(&a, vec![enrolled]).await;
    let (sold, sale_entries) = a.sale(&account, 120, TenderRequest::default());
    let quote = quote_of(&sold);
    let after_sale = MemberAccount::fold(account, &sale_entries);
    let (at_b, _) = b.refund_all(&quote, &sale_entries, Some(&after_sale));
    let (at_c, _) = c.refund_all(&quote, &sale_entries, Some(&after_sale));
    h.upload(&a, vec![sold]).await;
    h.upload(&b, vec![at_b]).await;
    h.upload(&c, vec![at_c]).await;
    let conflicts: Vec<_> =
        h.hq.store()
            .conflicts()
            .await
            .unwrap()
            .into_iter()
            .filter(|c| c.kind == "returned_twice")
            .collect();
    println!(
        "[{backend:?}] member's sale returned twice: {} conflict(s); open walk-in flags {}",
        conflicts.len(),
        h.hq.walk_in_return_queue().await.unwrap().len()
    );
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].member, member);
    assert!(flags_of(&h, &quote.id.0.to_string()).await.is_empty());
    assert_eq!(h.hq.walk_in_return_queue().await.unwrap().len(), 1);
}

async fn page(h: &Harness, b: &Browser, path: &str) -> (StatusCode, String) {
    let (s, _, body) = h.get(path, &[("cookie", &b.cookie)]).await;
    (s, String::from_utf8(body).unwrap())
}

/// The console's acknowledge form, posted with the session's CSRF token.
async fn acknowledge(h: &Harness, b: &Browser, flag_no: i64) -> (StatusCode, String) {
    let (s, headers, _) = h
        .exchange(
            Request::builder()
                .method("POST")
                .uri(format!("/console/walk-in-returns/{flag_no}/acknowledge"))
                .header(header::COOKIE, &b.cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("csrf={}", b.csrf)))
                .unwrap(),
        )
        .await;
    let location = headers
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (s, location)
}

async fn console_acknowledge(backend: Backend) {
    let h = harness(backend).await;
    let (mut a, mut b, mut c) = three_tills(&h).await;
    let (sale, _) = sold_and_returned(&h, (&mut a, &mut b, &mut c), 2, 1).await;
    let flag = flags_of(&h, &sale).await.pop().unwrap();
    let row = format!("id=\"walk-in-return-{}\"", flag.flag_no);
    let words = console::text::strings(Lang::En);

    // Store ops works the conflicts: the section and the flag's row.
    let ops = h.sign_in("olga", Role::StoreOps).await;
    let (s, body) = page(&h, &ops, "/console/conflicts").await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains(words["walk_in_returns"]), "section heading");
    assert!(body.contains(&row) && body.contains(&sale));
    assert!(body.contains("line 1: sold 2, refunded 3"));
    assert!(body.contains(&c.creds.terminal_id.to_string()));

    // Marketing may not resolve conflicts: refused, the flag stays open.
    let mia = h.sign_in("mia", Role::Marketing).await;
    let (s, _) = acknowledge(&h, &mia, flag.flag_no).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = page(&h, &mia, "/console/conflicts").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(h.hq.walk_in_return_queue().await.unwrap().len(), 1);

    // The admin API lists it too.
    let (s, _, listed) = h
        .get(
            "/v1/admin/walk-in-returns",
            &[("authorization", &format!("Bearer {ADMIN}"))],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let listed: serde_json::Value = serde_json::from_slice(&listed).unwrap();
    assert_eq!(listed[0]["flag_no"], flag.flag_no);
    assert_eq!(listed[0]["lines"][0], "line 1: sold 2, refunded 3");

    // The dashboard counts it as waiting for review, until acknowledged.
    let waiting = |figures: serde_json::Value| -> Vec<(String, u64)> {
        figures["conflicts"]["by_kind_and_age"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["kind"].as_str().unwrap().to_string(),
                    a["under_a_day"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let now = chrono::Utc::now().fixed_offset();
    let before = waiting(h.figures_at(now).await);
    assert!(
        before.contains(&("walk_in_return".to_string(), 1)),
        "{before:?}"
    );

    // Acknowledged by store ops: who and when kept, audited, off the list.
    let (s, to) = acknowledge(&h, &ops, flag.flag_no).await;
    assert_eq!(
        (s, to.as_str()),
        (StatusCode::SEE_OTHER, "/console/conflicts")
    );
    let after = flags_of(&h, &sale).await;
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].state, "acknowledged");
    assert_eq!(after[0].acknowledged_by.as_deref(), Some("olga"));
    assert!(after[0].acknowledged_at.is_some());
    assert!(h.hq.walk_in_return_queue().await.unwrap().is_empty());
    let after_ack = waiting(h.figures_at(now).await);
    assert!(
        !after_ack.iter().any(|(kind, _)| kind == "walk_in_return"),
        "{after_ack:?}"
    );
    let (_, body) = page(&h, &ops, "/console/conflicts").await;
    assert!(!body.contains(&row));
    let subject = format!("walk_in_return:{}", flag.flag_no);
    let trail = h.hq.audit_trail(Some(&subject), None).await.unwrap();
    assert_eq!(trail.len(), 1, "{trail:?}");
    assert_eq!(
        (trail[0].actor.as_str(), trail[0].action.as_str()),
        ("olga", "walk_in_return_acknowledged")
    );

    // Once only; an unknown flag is not found.
    let (s, body) = h
        .admin_post(
            &format!("/v1/admin/walk-in-returns/{}/acknowledge", flag.flag_no),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"], "walk_in_return_acknowledged");
    let (s, _) = h
        .admin_post(
            "/v1/admin/walk-in-returns/999999/acknowledge",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    println!(
        "[{backend:?}] console: flag {} shown, refused to marketing, acknowledged by olga, open flags now 0",
        flag.flag_no
    );
}
