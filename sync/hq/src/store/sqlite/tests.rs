//! The SQLite backend's own tests: migrations and recovery.

use rusqlite::Connection;
use tillcard_rules::ids::Timestamp;

use super::*;
use crate::figures::millis;

#[tokio::test]
async fn migration_2_dates_members_enrolled_before_it_by_their_consent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hq.sqlite");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO members (member_id, consent_at) VALUES ('m1', '2026-11-20T10:00:00+08:00')",
            [],
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    store.migrate().await.unwrap();
    let conn = store.conn.lock().unwrap();
    let (on, ms): (String, i64) = conn
        .query_row(
            "SELECT enrolled_on, enrolled_at_ms FROM members WHERE member_id = 'm1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(on, "2026-11-20");
    let expected = Timestamp::parse_from_rfc3339("2026-11-20T10:00:00+08:00").unwrap();
    assert_eq!(ms, millis(expected));
}

#[tokio::test]
async fn a_panic_holding_the_connection_does_not_take_the_store_down() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("hq.sqlite")).unwrap();
    store.migrate().await.unwrap();
    let panicked = store
        .run(|c| -> StoreResult<()> {
            c.execute_batch("BEGIN; INSERT INTO hq_settings (key, value) VALUES ('k', 'v');")?;
            panic!("a bug while the transaction is open")
        })
        .await;
    assert!(panicked.is_err(), "the panic is an error for its caller");
    store.ping().await.unwrap();
    let (autocommit, rows) = store
        .run(|c| {
            let rows: i64 = c.query_row(
                "SELECT count(*) FROM hq_settings WHERE key = 'k'",
                [],
                |r| r.get(0),
            )?;
            Ok((c.is_autocommit(), rows))
        })
        .await
        .unwrap();
    assert!(autocommit, "the transaction the panic left open is gone");
    assert_eq!(rows, 0, "and what it wrote was rolled back");
}
