//! Tenders and the shift close (Z report, issue 24) at a terminal against
//! a real head office: sales split over tenders with cash change, a refund
//! back to the sale's own tenders, a top-up, a payment that does not pay
//! the sale refused; the shift closed with its figures exact, per clerk
//! and for the terminal, then synced: head office holds the close (listed
//! per store) and each sale's payment and refund's tenders.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

#[path = "util/sync.rs"]
mod sync_util;

use std::sync::Arc;

use sync_util::{served_hq, sync_until_idle, terminal_with_cashier};
use tillcard::clock::SystemClock;
use tillcard::rules::Money;
use tillcard::rules::booking::TopUp;
use tillcard::rules::ledger::{EarnReason, points_earned};
use tillcard::rules::pricing::{Basket, BasketLine, TenderRequest};
use tillcard::rules::refund::RefundLine;
use tillcard::rules::shift::ShiftTender;
use tillcard::rules::tenders::{Payment, Tender, TenderKind};
use tillcard::store::StoreError;
use tillcard::store::clerks::Role;
use tillcard::store::members::EnrollRequest;
use tillcard::uplink::provision;

fn fen(n: i64) -> Money {
    Money::from_fen(n)
}

fn tender(kind: TenderKind, n: i64) -> Tender {
    Tender {
        kind,
        amount: fen(n),
    }
}

fn rice(quantity: i64) -> Basket {
    Basket {
        lines: vec![BasketLine {
            sku: "rice".into(),
            name: "rice 5kg".into(),
            category: "grocery".into(),
            quantity,
            unit_price: Money::from_yuan(50),
            list_price: None,
        }],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "reads head office's file for the payment it stored"
)]
async fn a_shift_of_split_tenders_a_refund_and_a_top_up_closes_exactly_and_reaches_head_office() {
    tillcard::logging::init_for_tests();
    let hq_dir = tempfile::tempdir().unwrap();
    let (_hq_store, hq, url) = served_hq(hq_dir.path()).await;
    let clock: Arc<dyn tillcard::clock::Clock> = Arc::new(SystemClock::new());
    let till_dir = tempfile::tempdir().unwrap();
    let till = terminal_with_cashier(till_dir.path(), "till-1", clock.clone());
    let code = hq.issue_code("store-1").await.unwrap();
    provision(&till, &url, &code, None, None).await.unwrap();

    let outcome = till
        .call(|s| {
            s.add_clerk("m1", "Manager", Role::Manager, "604918")?;
            let c1 = s.login("c1", "3817")?;
            let member = s
                .enroll(
                    &c1,
                    &EnrollRequest {
                        phone: "13912345601".into(),
                        name: None,
                        birthday: None,
                        consent: true,
                        referred_by: None,
                    },
                )?
                .member
                .id;
            // A walk-in sale of ¥100: WeChat Pay ¥60, cash ¥40 of ¥50
            // given (¥10 change).
            let walk_in = s.price(None, &rice(2), &TenderRequest::default(), false)?;
            assert_eq!(walk_in.amount_due, fen(10_000));
            let split = Payment {
                tenders: vec![
                    tender(TenderKind::WechatPay, 6_000),
                    tender(TenderKind::Cash, 4_000),
                ],
                cash_given: Some(fen(5_000)),
            };
            // Tenders short of the amount due are refused, nothing booked.
            let short = Payment {
                tenders: vec![tender(TenderKind::Cash, 9_000)],
                cash_given: Some(fen(9_000)),
            };
            let refused = s.commit_sale(&c1, &walk_in, &short).unwrap_err();
            assert!(matches!(refused, StoreError::Tenders(_)), "{refused:?}");
            println!("short payment refused: {refused}");
            let first = s.commit_sale(&c1, &walk_in, &split)?;
            assert_eq!(first.change, fen(1_000));
            // The member's sale by bank card (the member's tier prices it).
            let member_quote = s.price(Some(member), &rice(1), &TenderRequest::default(), false)?;
            let card = Payment::single(TenderKind::BankCard, member_quote.amount_due);
            let second = s.commit_sale(&c1, &member_quote, &card)?;
            // A top-up by the cashier: ¥500 paid, ¥50 given.
            s.top_up(&c1, member, &TopUp::Package("500+50".into()))?;
            // One of the two bags back, by the manager: ¥50 over the sale's
            // own tenders in proportion (¥30 WeChat Pay, ¥20 cash).
            let m1 = s.login("m1", "604918")?;
            let approval = s.approve("m1", "604918")?;
            let refund = s.refund(
                &m1,
                &approval,
                first.sale,
                &[RefundLine {
                    line: 0,
                    quantity: 1,
                }],
            )?;
            let preview = s.shift_report()?;
            let close = s.close_shift(&m1)?;
            let after = s.shift_report()?;
            Ok((member, member_quote, second, refund, preview, close, after))
        })
        .unwrap();
    let (member, member_quote, second, refund, preview, close, after) = outcome;
    assert_eq!(
        refund.tenders,
        [
            tender(TenderKind::WechatPay, 3_000),
            tender(TenderKind::Cash, 2_000)
        ]
    );
    let report = &close.report;
    let t = &report.terminal;
    let line = |f: &tillcard::rules::shift::ShiftFigures, which| {
        let l = f.tender(which);
        (l.sales.fen(), l.refunds.fen(), l.net.fen())
    };
    let card_due = member_quote.amount_due.fen();
    println!(
        "Z report: {} sales, {} refunds, {} top-ups; net {}; cash {:?}, WeChat {:?}, card {:?}; change {}; cash expected {}; points issued {}; stored value in {}",
        t.sales,
        t.refunds,
        t.top_ups,
        t.net,
        line(t, ShiftTender::Cash),
        line(t, ShiftTender::WechatPay),
        line(t, ShiftTender::BankCard),
        t.change_given,
        t.cash_expected,
        t.points_issued,
        t.stored_value_in()
    );
    assert_eq!((t.sales, t.refunds, t.top_ups), (2, 1, 1));
    assert_eq!(t.gross, fen(15_000));
    assert_eq!(t.discounts, member_quote.discount_total());
    assert_eq!(t.net, fen(10_000) + member_quote.total);
    assert_eq!(line(t, ShiftTender::Cash), (4_000, 2_000, 2_000));
    assert_eq!(line(t, ShiftTender::WechatPay), (6_000, 3_000, 3_000));
    assert_eq!(line(t, ShiftTender::BankCard), (card_due, 0, card_due));
    assert_eq!(line(t, ShiftTender::Alipay), (0, 0, 0));
    assert_eq!(t.change_given, fen(1_000));
    assert_eq!(t.cash_expected, fen(2_000), "¥40 cash in, ¥20 back");
    assert_eq!(t.refunded, fen(5_000));
    assert_eq!(
        (t.stored_value_in_principal, t.stored_value_in_bonus),
        (fen(50_000), fen(5_000))
    );
    assert_eq!(
        t.points_issued,
        points_earned(&second.entries, member, EarnReason::Purchase)
    );
    assert_eq!(t.points_reversed, refund.outcome.points_reversed);
    // Per clerk: the cashier sold and topped up, the manager refunded.
    let clerks: Vec<&str> = report.clerks.iter().map(|c| c.clerk.as_str()).collect();
    assert_eq!(clerks, ["c1", "m1"]);
    let (c1, m1) = (&report.clerks[0].figures, &report.clerks[1].figures);
    assert_eq!((c1.sales, c1.top_ups, c1.refunds), (2, 1, 0));
    assert_eq!(c1.cash_expected, fen(4_000));
    assert_eq!(
        (m1.sales, m1.refunds, m1.cash_expected),
        (0, 1, fen(-2_000))
    );
    // The preview was the same shift; after the close a new one is empty.
    assert_eq!(preview.terminal, report.terminal);
    assert_eq!((after.terminal.sales, after.clerks.len()), (0, 0));
    assert!(after.opened_at.is_some());

    // Synced: head office holds the close under the store, and the
    // payments.
    let status = sync_until_idle(&till, &url, clock.clone(), None).await;
    assert_eq!(status.pending, 0, "{status:?}");
    let closes = hq.shift_closes("store-1", None).await.unwrap();
    assert_eq!(closes.len(), 1);
    assert_eq!(closes[0].shift_id, close.shift.0.to_string());
    assert_eq!(closes[0].closed_by, "m1");
    assert_eq!(&closes[0].report, report);
    assert!(hq.shift_closes("store-2", None).await.unwrap().is_empty());
    let db = rusqlite::Connection::open(hq_dir.path().join("hq.sqlite")).unwrap();
    let payments: Vec<Option<String>> = db
        .prepare("SELECT payment FROM sales ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let held: Vec<Payment> = payments
        .iter()
        .map(|p| serde_json::from_str(p.as_deref().unwrap()).unwrap())
        .collect();
    assert_eq!(held.len(), 2);
    assert_eq!(held[0].tenders[0], tender(TenderKind::WechatPay, 6_000));
    assert_eq!(held[0].cash_given, Some(fen(5_000)));
    assert_eq!(
        held[1],
        Payment::single(TenderKind::BankCard, member_quote.amount_due)
    );
    let refund_tenders: String = db
        .query_row("SELECT tenders FROM refunds", [], |r| r.get(0))
        .unwrap();
    let refund_tenders: Vec<Tender> = serde_json::from_str(&refund_tenders).unwrap();
    assert_eq!(refund_tenders, refund.tenders);
}
