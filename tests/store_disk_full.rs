//! A full disk at commit: the action fails with a clear message, nothing of
//! it is written, nothing already committed is lost, and the terminal carries
//! on once there is space again.

// clippy.toml keeps database connections in the store modules; this test inspects or breaks the database directly.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use tillcard::rules::tenders::{Payment, TenderKind};
use tillcard::store::StoreError;
use util::store::*;

fn counts(path: &std::path::Path) -> Vec<i64> {
    let conn = raw(path);
    ["sales", "ledger", "outbox", "audit", "members"]
        .iter()
        .map(|t| {
            conn.query_row(&format!("SELECT COUNT(*) FROM {t}"), [], |r| r.get(0))
                .unwrap()
        })
        .collect()
}

#[test]
fn a_full_disk_at_commit_leaves_no_half_written_sale_and_says_so() {
    let (mut t, clerk, member) = open_store_with_member();
    let first = quote(&t.store, Some(member.id), 2, 20);
    t.store
        .commit_sale(
            &clerk,
            &first,
            &Payment::single(TenderKind::Cash, first.amount_due),
        )
        .unwrap();
    let before = counts(&t.path());

    // The file may not grow by a single page: a big sale cannot fit.
    let pages = t.store.page_count().unwrap();
    t.store.simulate_disk_limit(pages).unwrap();
    let big = quote(&t.store, Some(member.id), 400, 3);
    let error = t
        .store
        .commit_sale(
            &clerk,
            &big,
            &Payment::single(TenderKind::Cash, big.amount_due),
        )
        .unwrap_err();
    assert!(matches!(error, StoreError::DiskFull), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("disk is full") && message.contains("NOT recorded"),
        "{message}"
    );
    assert_eq!(
        counts(&t.path()),
        before,
        "a failed commit left rows behind"
    );
    t.store.integrity_check().unwrap();

    // Space again: the same sale commits, with the next sequence number.
    t.store.simulate_disk_limit(1 << 30).unwrap();
    let receipt = t
        .store
        .commit_sale(
            &clerk,
            &big,
            &Payment::single(TenderKind::Cash, big.amount_due),
        )
        .unwrap();
    assert_eq!(
        receipt.seq,
        before[2] + 1,
        "the failed attempt must not use up a sequence number"
    );
    let t = t.reopen();
    t.store.integrity_check().unwrap();
    assert_eq!(
        t.store.outbox_status().unwrap().last_seq as i64,
        receipt.seq
    );
}
