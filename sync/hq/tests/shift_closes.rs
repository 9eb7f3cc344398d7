//! Tenders and shift closes at head office (issue 24): a terminal's
//! `shift_closed` event is kept under its store and listed by
//! `GET /v1/admin/shift-closes?store=...`; a sale's payment and a refund's
//! tenders beyond the protocol's bounds, or not paying the sale, are
//! dead-lettered with their reason (never a panic, a 500 or an overflow),
//! and head office stays up. Every scenario runs on SQLite and on
//! PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use axum::http::StatusCode;
use tillcard_protocol::wire::{EventBody, OutboxEvent};
use tillcard_rules::ids::SourceId;
use tillcard_rules::money::Money;
use tillcard_rules::refund::RefundLine;
use tillcard_rules::shift::{ShiftAction, ShiftReport};
use tillcard_rules::tenders::{Payment, Tender, TenderKind};
use util::{ADMIN, Backend, Harness, Till, harness};
use uuid::Uuid;

both!(
    shift_closes_are_listed_per_store_newest_first,
    listed_per_store
);
both!(
    tenders_beyond_the_bounds_or_not_paying_the_sale_are_dead_lettered,
    tenders_refused
);

fn fen(n: i64) -> Money {
    Money::from_fen(n)
}

fn tender(kind: TenderKind, n: i64) -> Tender {
    Tender {
        kind,
        amount: fen(n),
    }
}

/// A close of one cash sale of `yuan` by `c1`, closed by `m1`.
fn close_of(till: &mut Till, yuan: i64) -> (OutboxEvent, ShiftReport) {
    let sale = ShiftAction::Sale {
        gross: Money::from_yuan(yuan),
        discounts: Money::ZERO,
        net: Money::from_yuan(yuan),
        tenders: vec![Tender {
            kind: TenderKind::Cash,
            amount: Money::from_yuan(yuan),
        }],
        change: Money::ZERO,
        stored_value_used: Money::ZERO,
        points_value: Money::ZERO,
        points_redeemed: 0,
        points_issued: 0,
    };
    let report = ShiftReport::build([(till.next_seq, "c1", &sale)], None, till.clock);
    let body = EventBody::ShiftClosed {
        shift: SourceId(Uuid::now_v7()),
        closed_by: "m1".into(),
        report: Box::new(report.clone()),
    };
    (till.event(&body), report)
}

async fn closes(h: &Harness, query: &str) -> (StatusCode, serde_json::Value) {
    let (s, _, body) = h
        .get(
            &format!("/v1/admin/shift-closes{query}"),
            &[("authorization", &format!("Bearer {ADMIN}"))],
        )
        .await;
    (
        s,
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    )
}

async fn listed_per_store(backend: Backend) {
    let h = harness(backend).await;
    let (mut a, mut b) = h.two_stores().await;
    let (first, first_report) = close_of(&mut a, 100);
    let first_again = first.clone();
    let (second, second_report) = close_of(&mut a, 250);
    let (other, _) = close_of(&mut b, 7);
    let (s, ack) = h.upload(&a, vec![first, second]).await;
    assert_eq!(
        (s, ack.unwrap().applied),
        (StatusCode::OK, 2),
        "[{backend:?}]"
    );
    let (s, ack) = h.upload(&b, vec![other]).await;
    assert_eq!(
        (s, ack.unwrap().applied),
        (StatusCode::OK, 1),
        "[{backend:?}]"
    );

    let (s, list) = closes(&h, "?store=S001").await;
    assert_eq!(s, StatusCode::OK, "[{backend:?}] {list}");
    let list = list.as_array().unwrap();
    println!(
        "[{backend:?}] S001 closes: {}",
        list.iter()
            .map(|c| format!("seq {} net {}", c["seq"], c["report"]["terminal"]["net"]))
            .collect::<Vec<_>>()
            .join(", ")
    );
    assert_eq!(list.len(), 2, "[{backend:?}]");
    // Newest first, each report as the terminal sent it.
    let newest: ShiftReport = serde_json::from_value(list[0]["report"].clone()).unwrap();
    let oldest: ShiftReport = serde_json::from_value(list[1]["report"].clone()).unwrap();
    assert_eq!(
        (newest, oldest),
        (second_report, first_report),
        "[{backend:?}]"
    );
    assert_eq!(list[0]["store"], "S001");
    assert_eq!(list[0]["closed_by"], "m1");
    assert_eq!(list[0]["seq"], 2);
    let (_, one) = closes(&h, "?store=S001&limit=1").await;
    assert_eq!(one.as_array().unwrap().len(), 1, "[{backend:?}]");
    let (_, other_store) = closes(&h, "?store=S002").await;
    assert_eq!(other_store.as_array().unwrap().len(), 1, "[{backend:?}]");
    let (_, none) = closes(&h, "?store=S999").await;
    assert_eq!(none, serde_json::json!([]), "[{backend:?}]");
    // The store is required; the token too.
    let (s, _) = closes(&h, "").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "[{backend:?}]");
    let (s, _, _) = h.get("/v1/admin/shift-closes?store=S001", &[]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "[{backend:?}]");
    // The same close uploaded again is a duplicate, not kept twice.
    let (s, ack) = h.upload(&a, vec![first_again]).await;
    assert_eq!(
        (s, ack.unwrap().duplicates),
        (StatusCode::OK, 1),
        "[{backend:?}]"
    );
    let (_, list) = closes(&h, "?store=S001").await;
    assert_eq!(list.as_array().unwrap().len(), 2, "[{backend:?}]");
}

/// A walk-in sale of `yuan` with `payment` in place of its own.
fn sale_paid(till: &mut Till, yuan: i64, payment: Payment) -> OutboxEvent {
    let (sale, _) = till.walk_in_sale(yuan);
    let mut body = sale.decode_body().unwrap();
    if let EventBody::SaleBooked { payment: p, .. } = &mut body {
        *p = Some(payment);
    }
    OutboxEvent::new(sale.envelope.clone(), &body).unwrap()
}

async fn tenders_refused(backend: Backend) {
    let h = harness(backend).await;
    let (mut till, _) = h.two_stores().await;
    // A sale of ¥10 paid exactly, split: applied.
    let good = sale_paid(
        &mut till,
        10,
        Payment {
            tenders: vec![
                tender(TenderKind::Alipay, 600),
                tender(TenderKind::Cash, 400),
            ],
            cash_given: Some(fen(500)),
        },
    );
    // A tender of i64::MAX fen: past the bound on any amount.
    let huge = sale_paid(
        &mut till,
        10,
        Payment {
            tenders: vec![
                tender(TenderKind::BankCard, i64::MAX),
                tender(TenderKind::Cash, i64::MAX),
            ],
            cash_given: Some(fen(i64::MAX)),
        },
    );
    // Tenders each within the bound that do not pay the sale.
    let short = sale_paid(
        &mut till,
        10,
        Payment {
            tenders: vec![tender(TenderKind::WechatPay, 999)],
            cash_given: None,
        },
    );
    // A refund whose tenders overflow when added up.
    let refund = EventBody::Refunded {
        sale: SourceId(Uuid::now_v7()),
        refund: SourceId(Uuid::now_v7()),
        lines: vec![RefundLine {
            line: 0,
            quantity: 1,
        }],
        approved_by: "M01".into(),
        entries: vec![],
        tenders: Some(vec![tender(TenderKind::Cash, i64::MAX); 9]),
        sale_terminal: None,
    };
    let refund = till.event(&refund);
    // A shift close whose report is beyond the bounds.
    let (close, mut report) = close_of(&mut till, 1);
    report.terminal.cash_expected = fen(i64::MIN);
    let mut body = close.decode_body().unwrap();
    if let EventBody::ShiftClosed { report: r, .. } = &mut body {
        **r = report;
    }
    let close = OutboxEvent::new(close.envelope.clone(), &body).unwrap();
    let (s, ack) = h
        .upload(&till, vec![good, huge, short, refund, close])
        .await;
    assert_eq!(
        s,
        StatusCode::OK,
        "[{backend:?}] refused as poison, not 500"
    );
    let ack = ack.unwrap();
    let (_, _, body) = h
        .get(
            "/v1/admin/dead-letters",
            &[("authorization", &format!("Bearer {ADMIN}"))],
        )
        .await;
    let dead: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let codes: Vec<(u64, String)> = dead
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["seq"].as_u64().unwrap(),
                d["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    println!(
        "[{backend:?}] applied {}, dead-lettered {}: (seq, code) {codes:?}",
        ack.applied, ack.dead_lettered
    );
    assert_eq!((ack.applied, ack.dead_lettered), (1, 4), "[{backend:?}]");
    assert_eq!(
        codes,
        vec![
            (2, "out_of_bounds".to_string()),
            (3, "invalid".to_string()),
            (4, "out_of_bounds".to_string()),
            (5, "out_of_bounds".to_string()),
        ],
        "[{backend:?}]"
    );
    // Head office is up, and nothing of the refused close is listed.
    let (s, list) = closes(&h, "?store=S001").await;
    assert_eq!(
        (s, list),
        (StatusCode::OK, serde_json::json!([])),
        "[{backend:?}]"
    );
}
