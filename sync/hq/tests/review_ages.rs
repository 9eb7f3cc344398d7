//! The dashboard's counts of what waits for review by kind and age, on
//! SQLite and on PostgreSQL: an open conflict (one phone enrolled twice),
//! a dead letter (a terminal's event booking a cash-out, which only head
//! office may) and a terminal flag, counted under a day, then a day to a
//! week, then older as the figures' moment moves on; a dismissed conflict
//! no longer counted.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use axum::http::StatusCode;
use tillcard_protocol::wire::EventBody;
use tillcard_rules::ids::SourceId;
use tillcard_rules::ledger::{EntryKind, LedgerEntry};
use tillcard_rules::money::Money;
use util::{Backend, harness, new_member};

both!(
    conflicts_dead_letters_and_terminal_flags_are_counted_by_kind_and_age,
    counted
);

/// `(kind, under a day, a day to a week, older)` rows of the figures.
fn ages(figures: &serde_json::Value) -> Vec<(String, u64, u64, u64)> {
    figures["conflicts"]["by_kind_and_age"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap().to_string(),
                a["under_a_day"].as_u64().unwrap(),
                a["under_a_week"].as_u64().unwrap(),
                a["older"].as_u64().unwrap(),
            )
        })
        .collect()
}

async fn counted(backend: Backend) {
    let h = harness(backend).await;
    let (mut a, mut b) = h.two_stores_apart(chrono::Duration::days(1)).await;
    let (m1, m2) = (new_member(), new_member());
    let (e1, _) = a.enroll(m1, "13700137001");
    let (e2, _) = b.enroll(m2, "13700137001");
    h.upload(&a, vec![e1]).await;
    h.upload(&b, vec![e2]).await;
    let cash_out = EventBody::ManualAdjustment {
        member: m1,
        reason: "not a terminal's to book".into(),
        approved_by: "manager-1".into(),
        entries: vec![LedgerEntry {
            member: m1,
            source: SourceId(uuid::Uuid::now_v7()),
            at: a.clock,
            kind: EntryKind::StoredValueCashedOut {
                principal: Money::from_yuan(10),
                bonus: Money::ZERO,
            },
        }],
    };
    let event = a.event(&cash_out);
    let (status, ack) = h.upload(&a, vec![event]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ack.unwrap().dead_lettered, 1);
    h.hq.store()
        .flag_terminal(
            b.creds.terminal_id,
            "test flag",
            chrono::Utc::now().fixed_offset(),
        )
        .await
        .unwrap();

    let now = chrono::Utc::now().fixed_offset();
    let fresh = ages(&h.figures_at(now).await);
    let days_later = ages(&h.figures_at(now + chrono::Duration::days(2)).await);
    let weeks_later = ages(&h.figures_at(now + chrono::Duration::days(8)).await);
    let conflict = h.hq.conflict_queue().await.unwrap()[0].clone();
    h.hq.dismiss_conflict(
        &tillcard_hq::service::back_office::Actor::cli(),
        tillcard_hq::store::ConflictId {
            member: conflict.member_id,
            number: conflict.conflict_no,
        },
        "one person, two cards",
    )
    .await
    .unwrap();
    let dismissed = ages(&h.figures_at(now).await);
    println!(
        "review ages ({backend:?}): now {fresh:?}; two days on {days_later:?}; eight days on {weeks_later:?}; after the dismissal {dismissed:?}"
    );
    let row = |kind: &str, n: (u64, u64, u64)| (kind.to_string(), n.0, n.1, n.2);
    assert_eq!(
        fresh,
        [
            row("dead_letter", (1, 0, 0)),
            row("duplicate_phone", (1, 0, 0)),
            row("terminal_flag", (1, 0, 0)),
        ]
    );
    assert_eq!(
        days_later,
        [
            row("dead_letter", (0, 1, 0)),
            row("duplicate_phone", (0, 1, 0)),
            row("terminal_flag", (0, 1, 0)),
        ]
    );
    assert_eq!(
        weeks_later,
        [
            row("dead_letter", (0, 0, 1)),
            row("duplicate_phone", (0, 0, 1)),
            row("terminal_flag", (0, 0, 1)),
        ]
    );
    assert_eq!(
        dismissed,
        [
            row("dead_letter", (1, 0, 0)),
            row("terminal_flag", (1, 0, 0))
        ]
    );
}
