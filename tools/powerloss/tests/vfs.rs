//! The shim through a real connection: with `synchronous=OFF` nothing a
//! transaction writes reaches the files (the connection still reads it
//! back), and once a commit syncs, the log on disk holds it.

// clippy.toml keeps database connections in the store modules; this test
// drives SQLite itself through the shim.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use rusqlite::Connection;

fn len(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

#[test]
fn unsynced_writes_stay_in_memory_and_a_sync_writes_them() {
    tillcard_powerloss::install().unwrap();
    let dir = std::env::temp_dir().join(format!("powerloss-vfs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("t.sqlite");
    let wal = dir.join("t.sqlite-wal");
    let conn = Connection::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    // Switching to WAL wrote (and synced) the first page.
    let header = len(&path);
    conn.execute_batch(
        "PRAGMA synchronous=OFF; CREATE TABLE t (x INTEGER);
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
         INSERT INTO t SELECT i FROM n;",
    )
    .unwrap();
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    let before = tillcard_powerloss::operations();
    let unsynced = (len(&path), len(&wal));
    conn.execute_batch("PRAGMA synchronous=FULL; INSERT INTO t VALUES (101);")
        .unwrap();
    let synced = len(&wal);
    let after = tillcard_powerloss::operations();
    drop(conn);
    std::fs::remove_dir_all(&dir).unwrap();
    println!(
        "shim: {rows} rows read back with files on disk at {unsynced:?} bytes; \
         {synced} bytes of log after a synced commit; {before} then {after} operations"
    );
    assert_eq!(rows, 100);
    assert_eq!(unsynced, (header, 0), "nothing synced, nothing new on disk");
    assert!(synced > 0, "the synced commit reached the log");
    assert!(after > before);
}
