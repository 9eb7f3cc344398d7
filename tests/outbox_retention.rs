//! Erasure reaches the outbox (issue 21), on a fake clock: an acknowledged
//! enrollment loses the personal fields this terminal can read at once
//! (its sealed fields stay for a head office restored from a backup);
//! acknowledged events lose their bodies after the retention, counted from
//! the acknowledgement, never before; rows stay for the ledger's foreign
//! keys; a head office restored from a backup older than the retention is
//! told why the upload stops.

// clippy.toml keeps database connections in the store modules; this test inspects the outbox directly.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use serde_json::Value;
use tillcard::rules::pricing::MonthDay;
use tillcard::rules::tenders::{Payment, TenderKind};
use tillcard::store::retention::DEFAULT_OUTBOX_RETENTION;
use util::store::*;

/// (seq, kind, payload as JSON or Null when pruned, pruned flag).
fn outbox(path: &std::path::Path) -> Vec<(i64, String, Value, bool)> {
    let conn = raw(path);
    let mut stmt = conn
        .prepare("SELECT seq, kind, payload, pruned FROM outbox ORDER BY seq")
        .unwrap();
    stmt.query_map([], |r| {
        let payload: String = r.get(2)?;
        Ok((
            r.get(0)?,
            r.get(1)?,
            serde_json::from_str(&payload).unwrap_or(Value::Null),
            r.get::<_, i64>(3)? == 1,
        ))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

#[test]
fn acked_events_lose_personal_fields_at_once_and_bodies_after_the_retention() {
    let mut t = open_store();
    let clerk = cashier(&mut t.store);
    let mut request = enroll_request(1);
    request.birthday = Some(MonthDay { month: 3, day: 14 });
    let member = t.store.enroll(&clerk, &request).unwrap().member;
    let quote = util::store::quote(&t.store, Some(member.id), 1, 30);
    t.store
        .commit_sale(
            &clerk,
            &quote,
            &Payment::single(TenderKind::Cash, quote.amount_due),
        )
        .unwrap();
    let before = outbox(&t.path());
    assert_eq!(before.len(), 2);
    let enrolled = &before[0].2;
    assert_eq!(before[0].1, "member_enrolled");
    assert!(enrolled["masked_name"].is_string() && enrolled["birthday"].is_object());
    let sealed = enrolled["phone_sealed"].clone();
    println!(
        "before the ack: masked_name {}, birthday {}, masked_phone {} chars",
        enrolled["masked_name"].is_string(),
        enrolled["birthday"].is_object(),
        enrolled["masked_phone"].as_str().unwrap().len()
    );

    // Head office acknowledges both.
    t.store.record_ack(2).unwrap();
    let acked = outbox(&t.path());
    let scrubbed = &acked[0].2;
    println!(
        "acknowledged:   masked_name {}, birthday {}, masked_phone {:?}, phone_sealed kept {}",
        scrubbed["masked_name"],
        scrubbed["birthday"],
        scrubbed["masked_phone"],
        scrubbed["phone_sealed"] == sealed
    );
    assert!(scrubbed["masked_name"].is_null(), "{scrubbed}");
    assert!(scrubbed["birthday"].is_null(), "{scrubbed}");
    let masked_phone = scrubbed["masked_phone"].as_str().unwrap();
    assert!(!masked_phone.is_empty() && masked_phone.chars().all(|c| c == '*'));
    assert_eq!(
        scrubbed["phone_sealed"], sealed,
        "sealed fields kept for a restore"
    );
    assert_eq!(
        acked[1].2, before[1].2,
        "a sale carries no personal field: unchanged"
    );

    // A day short of the retention: nothing pruned.
    let day = chrono::Duration::days(1);
    let retention_days = i64::try_from(DEFAULT_OUTBOX_RETENTION.as_secs() / 86_400).unwrap();
    t.clock
        .advance(day * i32::try_from(retention_days - 1).unwrap());
    let now = tillcard::clock::Clock::now(t.clock.as_ref());
    assert_eq!(
        t.store.prune_outbox(now, DEFAULT_OUTBOX_RETENTION).unwrap(),
        0
    );
    // A third event, acknowledged on day 29.
    let quote = util::store::quote(&t.store, Some(member.id), 1, 20);
    t.store
        .commit_sale(
            &clerk,
            &quote,
            &Payment::single(TenderKind::Cash, quote.amount_due),
        )
        .unwrap();
    t.store.record_ack(3).unwrap();

    // Two days later (day 31): the first two go, the third stays.
    t.clock.advance(day * 2);
    let now = tillcard::clock::Clock::now(t.clock.as_ref());
    let pruned = t.store.prune_outbox(now, DEFAULT_OUTBOX_RETENTION).unwrap();
    let after = outbox(&t.path());
    println!(
        "day {}: pruned {pruned}; rows {} (pruned flags {:?})",
        retention_days + 1,
        after.len(),
        after.iter().map(|r| r.3).collect::<Vec<_>>()
    );
    assert_eq!(pruned, 2);
    assert_eq!(after.len(), 3, "rows kept: the ledger names its events");
    assert!(after[0].2.is_null() && after[0].3 && after[1].2.is_null() && after[1].3);
    assert!(!after[2].3 && after[2].2.is_object());
    assert_eq!(
        t.store.prune_outbox(now, DEFAULT_OUTBOX_RETENTION).unwrap(),
        0
    );
    // The member's balances still fold from the ledger.
    assert!(t.store.find_member(member.id).unwrap().is_some());

    // Head office restored from a backup older than the retention asks
    // for everything again: the upload stops and says why.
    t.store.reopen_from(0).unwrap();
    let error = t.store.pending_events(10).unwrap_err();
    println!("restored head office asks again: {error}");
    assert!(error.to_string().contains("retention"), "{error}");
}
