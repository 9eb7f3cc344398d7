//! A sale returned twice (issue 24): two terminals each take a full return
//! of one member's sale from its receipt code while offline. Head office
//! receives both refunds before the sale itself (the selling terminal
//! syncs last), holds them, and flags the sale as returned twice when it
//! arrives, once, naming the terminals; the sale sent again flags nothing
//! more. On SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use axum::http::StatusCode;
use tillcard_rules::MemberAccount;
use tillcard_rules::pricing::TenderRequest;
use util::{Backend, harness, new_member, quote_of};

both!(
    a_sale_refunded_at_two_terminals_before_it_arrives_is_flagged_when_it_does,
    refunds_before_sale
);

async fn refunds_before_sale(backend: Backend) {
    let h = harness(backend).await;
    let (mut a, mut b) = h.two_stores_apart(chrono::Duration::hours(3)).await;
    let mut c = h.provision("S003").await;
    c.clock += chrono::Duration::hours(6);
    let member = new_member();
    let (enrolled, account) = a.enroll_account(member, "13900139077");
    let (s, _) = h.upload(&a, vec![enrolled]).await;
    assert_eq!(s, StatusCode::OK);
    let (sale, sale_entries) = a.sale(&account, 120, TenderRequest::default());
    let quote = quote_of(&sale);
    let after_sale = MemberAccount::fold(account, &sale_entries);
    // B and C each return all of it, from the receipt, offline.
    let (at_b, _) = b.refund_all(&quote, &sale_entries, Some(&after_sale));
    let (at_c, _) = c.refund_all(&quote, &sale_entries, Some(&after_sale));
    let (s1, ack1) = h.upload(&b, vec![at_b]).await;
    let (s2, ack2) = h.upload(&c, vec![at_c]).await;
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK));
    assert_eq!(ack1.unwrap().applied + ack2.unwrap().applied, 2);
    let flagged = |conflicts: Vec<tillcard_hq::store::ConflictRecord>| {
        conflicts
            .into_iter()
            .filter(|c| c.kind == "returned_twice")
            .collect::<Vec<_>>()
    };
    assert!(
        flagged(h.hq.store().conflicts().await.unwrap()).is_empty(),
        "nothing to judge before the sale arrives"
    );
    // The sale arrives: judged against both refunds.
    let (s3, ack3) = h.upload(&a, vec![sale.clone()]).await;
    assert_eq!(s3, StatusCode::OK);
    assert_eq!(ack3.unwrap().applied, 1);
    let after = flagged(h.hq.store().conflicts().await.unwrap());
    // Sent again: a duplicate, nothing new.
    h.upload(&a, vec![sale]).await;
    let again = flagged(h.hq.store().conflicts().await.unwrap());
    println!(
        "[{backend:?}] refunds before their sale: refunded 2, flagged {} then {} after the sale was sent again: {:?}",
        after.len(),
        again.len(),
        after.iter().map(|c| &c.reason).collect::<Vec<_>>()
    );
    assert_eq!(after.len(), 1);
    assert_eq!(again.len(), 1);
    let conflict = &after[0];
    assert_eq!(conflict.member, member);
    assert_eq!(conflict.terminal_id, Some(a.creds.terminal_id));
    assert!(
        conflict.reason.contains("line 1: sold 1, refunded 2"),
        "{}",
        conflict.reason
    );
    for till in [&a, &b, &c] {
        assert!(
            conflict
                .reason
                .contains(&till.creds.terminal_id.to_string()),
            "the terminals involved are named: {}",
            conflict.reason
        );
    }
    // And in the review queue, for a head-office user to work.
    let queue = h.hq.conflict_queue().await.unwrap();
    assert!(
        queue
            .iter()
            .any(|c| c.kind == "returned_twice" && c.member_id == member && c.state == "open")
    );
}
