//! Tier evaluation over a chain's members (issue 23: `hq.tier_evaluation_1m_s`).
//!
//! Workload: 1,000,000 members on SQLite (100,000 with `BENCH_QUICK`,
//! reported as `hq.tier_evaluation_100k_s`), written straight into the
//! database: each member 1 to 4 purchases over the last 14 months (each
//! purchase a points lot and its qualifying spend, as a terminal books
//! it), a third of them raised to silver a year ago. Then head office's
//! daily tier evaluation runs once over all of them with the default
//! program: pages of members read in sets, folded, decided, and what is
//! due booked a page at a time. Printed: the members, the ledger rows, the
//! tier changes and the seconds.

use std::sync::Arc;
use std::time::Instant;

use tillcard_hq::service::Hq;
use tillcard_rules::ids::{LotId, MemberId, SourceId};
use tillcard_rules::ledger::{EarnReason, EntryKind, LedgerEntry};
use tillcard_rules::{Money, TierLevel};
use uuid::Uuid;

use super::line;

pub async fn tiers_part(quick: bool) {
    let members: u128 = if quick { 100_000 } else { 1_000_000 };
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("tiers.sqlite");
    let store = tillcard_hq::store::sqlite::SqliteStore::open(&path).unwrap();
    let hq = Hq::open(Arc::new(store), None).await.unwrap();
    let now = chrono::DateTime::parse_from_rfc3339("2026-12-01T03:00:00+08:00").unwrap();
    let seeded = Instant::now();
    let mut rows = 0u64;
    {
        let mut c = rusqlite::Connection::open(&path).unwrap();
        let tx = c.transaction().unwrap();
        {
            let mut member = tx
                .prepare("INSERT INTO members (member_id, enrolled_at_ms) VALUES (?1, ?2)")
                .unwrap();
            let mut ledger = tx
                .prepare("INSERT INTO ledger (member_id, source, entry) VALUES (?1, ?2, ?3)")
                .unwrap();
            for i in 0..members {
                let id = MemberId(Uuid::from_u128(
                    i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835) | 1,
                ));
                let text = id.to_string();
                let enrolled = now - chrono::Duration::days(430);
                member
                    .execute(rusqlite::params![text, enrolled.timestamp_millis()])
                    .unwrap();
                let mut book = |n: u128, at, kind| {
                    let entry = LedgerEntry {
                        member: id,
                        source: SourceId(Uuid::from_u128((i << 8) | n)),
                        at,
                        kind,
                    };
                    ledger
                        .execute(rusqlite::params![
                            text,
                            entry.source.to_string(),
                            serde_json::to_string(&entry).unwrap()
                        ])
                        .unwrap();
                };
                if i % 3 == 0 {
                    book(
                        0,
                        now - chrono::Duration::days(365),
                        EntryKind::TierChanged {
                            from: TierLevel(0),
                            to: TierLevel(1),
                            provisional: false,
                        },
                    );
                    rows += 1;
                }
                for sale in 0..(1 + i % 4) {
                    let days = i64::try_from((i * 7 + sale * 97) % 420).unwrap();
                    let at = now - chrono::Duration::days(days + 1);
                    let yuan = i64::try_from(50 + (i * 13 + sale * 31) % 900).unwrap();
                    let source = SourceId(Uuid::from_u128((i << 8) | (sale + 1)));
                    book(
                        sale + 1,
                        at,
                        EntryKind::PointsEarned {
                            lot: LotId(source),
                            points: yuan,
                            expires_at: at + chrono::Duration::days(365),
                            reason: EarnReason::Purchase,
                        },
                    );
                    book(
                        sale + 1,
                        at,
                        EntryKind::QualifyingSpend {
                            amount: Money::from_yuan(yuan),
                        },
                    );
                    rows += 2;
                }
            }
        }
        tx.commit().unwrap();
    }
    eprintln!(
        "tiers: seeded {members} members, {rows} ledger rows in {:.1} s",
        seeded.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let changes = hq.evaluate_tiers(now).await.unwrap();
    let took = started.elapsed().as_secs_f64();
    eprintln!("tiers: {members} members evaluated, {changes} tier changes booked in {took:.1} s");
    assert!(changes > 0, "some tiers change");
    if members == 1_000_000 {
        line("hq.tier_evaluation_1m_s", took, "s");
    } else {
        line("hq.tier_evaluation_100k_s", took, "s");
    }
}
