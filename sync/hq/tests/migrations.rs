//! Upgrading a PostgreSQL head office: what an older schema stored reads
//! back the same after the migrations that follow it.

// clippy.toml keeps database connections in the store modules; this test inspects or breaks the database directly.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use tillcard_hq::store::Store;
use tillcard_hq::store::postgres::{MIGRATIONS, PgStore};
use tillcard_rules::booking::{self, TopUp};
use tillcard_rules::ids::{MemberId, SourceId};
use tillcard_rules::{MemberAccount, Money, Program};
use util::pg;

/// Ledger rows written one entry per row (migrations 1-3, a terminal's
/// entries and a head-office job's) come out of migration 4's chunks as the
/// same entries in the same order, and batches append after them.
#[tokio::test]
async fn a_ledger_of_one_entry_per_row_reads_back_the_same_after_migration_4() {
    let url = pg::fresh_database().await;
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute("CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY)")
        .await
        .unwrap();
    for (n, sql) in MIGRATIONS[..3].iter().enumerate() {
        client.batch_execute(sql).await.unwrap();
        client
            .execute(
                "INSERT INTO schema_migrations (version) VALUES ($1)",
                &[&(n as i64 + 1)],
            )
            .await
            .unwrap();
    }

    let program = Program::default();
    let member = MemberId(uuid::Uuid::now_v7());
    let at = util::t0();
    let mut entries =
        booking::book_enrollment(&program, member, at, SourceId(uuid::Uuid::now_v7()));
    let account = MemberAccount::fold(MemberAccount::new(member), &entries);
    let top_up = TopUp::Amount(Money::from_yuan(10));
    entries.extend(
        booking::book_top_up(
            &program,
            &account,
            &top_up,
            at,
            SourceId(uuid::Uuid::now_v7()),
        )
        .unwrap(),
    );
    let terminal = "01900000-0000-7000-8000-000000000007";
    client
        .execute(
            "INSERT INTO members (member_id) VALUES ($1)",
            &[&member.to_string()],
        )
        .await
        .unwrap();
    // The terminal's entries with their seqs; the last as a job's (no
    // terminal, no seq).
    for (n, entry) in entries.iter().enumerate() {
        let last = n + 1 == entries.len();
        let (tid, seq) = if last {
            (None, None)
        } else {
            (Some(terminal), Some(n as i64 + 1))
        };
        client
            .execute(
                "INSERT INTO ledger (member_id, source, terminal_id, seq, entry)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &member.to_string(),
                    &entry.source.to_string(),
                    &tid,
                    &seq,
                    &serde_json::to_string(entry).unwrap(),
                ],
            )
            .await
            .unwrap();
    }

    let store = PgStore::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let (_, ledger) = store.member(member).await.unwrap().unwrap();
    println!(
        "migration 4: {} entries written one per row, {} read back",
        entries.len(),
        ledger.len()
    );
    assert_eq!(ledger, entries);
    assert_eq!(store.counts().await.unwrap().ledger, entries.len() as u64);
    let seqs: Vec<Option<i64>> = client
        .query("SELECT seq FROM ledger ORDER BY entry_no", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut want: Vec<Option<i64>> = (1..entries.len() as i64).map(Some).collect();
    want.push(None);
    assert_eq!(seqs, want, "each old row keeps its event's seq");

    // A job appends after them.
    let more = booking::book_top_up(
        &program,
        &MemberAccount::fold(MemberAccount::new(member), &entries),
        &top_up,
        at,
        SourceId(uuid::Uuid::now_v7()),
    )
    .unwrap();
    store.append_entries(member, &more).await.unwrap();
    let (_, ledger) = store.member(member).await.unwrap().unwrap();
    let want: Vec<_> = entries.iter().chain(&more).cloned().collect();
    assert_eq!(ledger, want);
}
