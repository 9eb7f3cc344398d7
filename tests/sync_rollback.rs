//! A rolled-back terminal (issue 22): a real copy of the terminal's store
//! file is taken, more sales are rung up and synced, then the copy is
//! restored and new sales rung up. Those reuse sequence numbers head
//! office holds with other content; the terminal learns it from head
//! office's `held_seq`, renumbers its waiting events above it in a new
//! epoch (`store::epochs`) and the queue drains. Head office then holds
//! every sale once: those synced before the restore and every one the
//! restored store holds, none lost, none applied twice, and no (terminal,
//! seq) naming two contents. A true clone (two live copies of one
//! terminal) is still told apart: once one copy renumbered, the other's
//! new events are refused as `terminal_cloned` and flagged, never
//! renumbered.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]
// The test reads head office's database file and checkpoints the
// terminal's for its copy.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

#[path = "util/sync.rs"]
mod sync_util;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sync_util::{raw, served_hq, sync_until_idle, test_key};
use tillcard::clock::{Clock, SystemClock};
use tillcard::rules::Money;
use tillcard::rules::pricing::{Basket, BasketLine, TenderRequest};
use tillcard::rules::tenders::{Payment, TenderKind};
use tillcard::store::clerks::Role;
use tillcard::store::handle::StoreHandle;
use tillcard::store::members::EnrollRequest;
use tillcard::store::{PinHashCost, Store, StoreConfig};
use tillcard::uplink::{Uplink, UplinkConfig, UplinkError, UplinkStatus, provision};
use tokio::sync::watch;

/// Opens the terminal store at `path` on its worker; `first`: a new store,
/// given cashier `c1` (PIN 3817).
fn open_terminal(path: &Path, clock: Arc<dyn Clock>, first: bool) -> StoreHandle {
    let config = StoreConfig {
        pin_cost: PinHashCost::TEST_ONLY,
        ..StoreConfig::new("T-ROLLBACK", test_key())
    };
    let mut store = Store::open(path, config, clock).unwrap();
    if first {
        store
            .add_clerk("c1", "Cashier", Role::Cashier, "3817")
            .unwrap();
    }
    StoreHandle::spawn(store).unwrap()
}

/// A real backup of an idle store: its write-ahead log checkpointed into
/// the main file (fully: no reader holds it back), then the file copied.
fn backup(handle: &StoreHandle, from: &Path, to: &Path) {
    // Every write queued before is done.
    handle.call(|_| Ok(())).unwrap();
    let conn = raw(from);
    let (busy, _, _): (i64, i64, i64) = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(busy, 0, "the checkpoint completed");
    drop(conn);
    std::fs::copy(from, to).unwrap();
}

/// Rings up `n` sales (every third a walk-in, the others for the member
/// enrolled first, enrolling them when `enroll`); the sale ids.
async fn ring_up(handle: &StoreHandle, n: usize, enroll: bool, price_base: i64) -> Vec<String> {
    let handle = handle.clone();
    tokio::task::spawn_blocking(move || {
        handle
            .call(move |s| {
                let clerk = s.login("c1", "3817")?;
                if enroll {
                    let request = EnrollRequest {
                        phone: "13600000077".into(),
                        name: None,
                        birthday: None,
                        consent: true,
                        referred_by: None,
                    };
                    s.enroll(&clerk, &request)?;
                }
                let member = s.find_member_by_phone("13600000077")?.map(|m| m.id);
                let mut sales = Vec::new();
                for i in 0..n {
                    let basket = Basket {
                        lines: vec![BasketLine {
                            sku: format!("sku{i}"),
                            name: "item".into(),
                            category: "grocery".into(),
                            quantity: 1,
                            unit_price: Money::from_fen(price_base + i as i64),
                            list_price: None,
                        }],
                    };
                    let who = if i % 3 == 2 { None } else { member };
                    let quote = s.price(who, &basket, &TenderRequest::default(), true)?;
                    sales.push(
                        s.commit_sale(
                            &clerk,
                            &quote,
                            &Payment::single(TenderKind::Cash, quote.amount_due),
                        )?
                        .sale
                        .to_string(),
                    );
                }
                Ok(sales)
            })
            .unwrap()
    })
    .await
    .unwrap()
}

/// The terminal's outbox: (seq, event id) of every event, and its sales.
fn terminal_holds(handle: &StoreHandle, path: &Path) -> (Vec<(i64, String)>, Vec<String>) {
    handle.call(|_| Ok(())).unwrap();
    let conn = raw(path);
    let events = conn
        .prepare("SELECT seq, event_id FROM outbox ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let sales = conn
        .prepare("SELECT sale_id FROM sales")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    (events, sales)
}

/// Head office's database file (plain SQLite), read-only.
fn hq_db(dir: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(
        dir.join("hq.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap()
}

fn rows<T: rusqlite::types::FromSql>(conn: &rusqlite::Connection, sql: &str) -> Vec<T> {
    conn.prepare(sql)
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_restored_from_a_backup_renumbers_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (_hq_store, hq, url) = served_hq(dir.path()).await;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let live = dir.path().join("terminal.sqlite");
    let handle = open_terminal(&live, clock.clone(), true);
    let code = hq.issue_code("rollback").await.unwrap();
    provision(&handle, &url, &code, None, None).await.unwrap();

    // Before the backup: sales synced, then sales still waiting.
    let synced_before_backup = ring_up(&handle, 5, true, 1000).await;
    sync_until_idle(&handle, &url, clock.clone(), None).await;
    let waiting_at_backup = ring_up(&handle, 3, false, 2000).await;
    let copy = dir.path().join("backup.sqlite");
    backup(&handle, &live, &copy);

    // After the backup: more sales, synced. Then the store is lost.
    let synced_after_backup = ring_up(&handle, 6, false, 3000).await;
    sync_until_idle(&handle, &url, clock.clone(), None).await;
    let (lost_store, _) = terminal_holds(&handle, &live);
    let held_before_restore = lost_store.last().map_or(0, |(seq, _)| *seq);
    drop(handle);

    // Restored from the backup onto another disk; new sales rung up, which
    // take numbers head office already holds.
    let restored_path = dir.path().join("restored.sqlite");
    std::fs::copy(&copy, &restored_path).unwrap();
    let restored = open_terminal(&restored_path, clock.clone(), false);
    let after_restore = ring_up(&restored, 4, false, 4000).await;
    let (before_sync, _) = terminal_holds(&restored, &restored_path);
    let reused: Vec<i64> = before_sync
        .iter()
        .map(|(seq, _)| *seq)
        .filter(|seq| *seq <= held_before_restore)
        .collect();
    let status = sync_until_idle(&restored, &url, clock.clone(), None).await;
    let epochs = restored.call(|s| s.outbox_epochs()).unwrap();
    let (events, sales) = terminal_holds(&restored, &restored_path);

    // Head office's set check.
    let db = hq_db(dir.path());
    let mut applied: BTreeMap<String, u32> = BTreeMap::new();
    let mut by_seq: BTreeMap<i64, (String, String)> = BTreeMap::new();
    let mut stmt = db
        .prepare("SELECT seq, event_id, status FROM events")
        .unwrap();
    for row in stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .unwrap()
    {
        let (seq, id, status) = row.unwrap();
        if status != "renumbered" {
            *applied.entry(id.clone()).or_default() += 1;
        }
        by_seq.insert(seq, (id, status));
    }
    let hq_sales: Vec<String> = rows(&db, "SELECT sale_id FROM sales");
    let hq_sale_set: BTreeSet<&String> = hq_sales.iter().collect();
    let dead: i64 = db
        .query_row("SELECT count(*) FROM dead_letters", [], |r| r.get(0))
        .unwrap();
    let flags: Vec<String> = rows(&db, "SELECT reason FROM terminal_flags");
    let expected: Vec<&String> = synced_before_backup
        .iter()
        .chain(&waiting_at_backup)
        .chain(&synced_after_backup)
        .chain(&after_restore)
        .collect();
    let lost = expected
        .iter()
        .filter(|s| !hq_sale_set.contains(*s))
        .count();
    let duplicated = hq_sales.len() - hq_sale_set.len();
    let applied_twice = applied.values().filter(|n| **n > 1).count();
    let restored_events_not_once = events
        .iter()
        .filter(|(_, id)| applied.get(id) != Some(&1))
        .count();
    // A (terminal, seq) names one content: the event the restored store
    // holds under that seq is the one head office holds under it.
    let two_contents = events
        .iter()
        .filter(|(seq, id)| by_seq.get(seq).is_none_or(|(held, _)| held != id))
        .count();
    let renumbered_rows = by_seq.values().filter(|(_, s)| s == "renumbered").count();
    println!(
        "rollback: {} sales expected ({} synced before the backup, {} waiting at it, {} synced after it, {} rung up after the restore); \
         {} seqs reused after the restore ({reused:?}); epochs opened {epochs:?}; \
         head office: {} events, {} sales, {renumbered_rows} renumbered rows, {dead} dead letters; \
         restored store: {} events, {} sales; lost {lost}, duplicated {duplicated}, applied twice {applied_twice}, \
         restored events not applied exactly once {restored_events_not_once}, seqs with two contents {two_contents}; flags {flags:?}",
        expected.len(),
        synced_before_backup.len(),
        waiting_at_backup.len(),
        synced_after_backup.len(),
        after_restore.len(),
        reused.len(),
        by_seq.len(),
        hq_sales.len(),
        events.len(),
        sales.len(),
    );
    assert!(!reused.is_empty(), "the restored store reused numbers");
    assert_eq!(status.pending, 0, "the queue drained");
    assert_eq!(epochs.len(), 1, "one renumbering");
    assert_eq!(
        epochs[0].epoch.first_seq,
        u64::try_from(held_before_restore).unwrap() + 1,
        "renumbered above what head office held"
    );
    assert_eq!(lost, 0);
    assert_eq!(duplicated, 0);
    assert_eq!(hq_sales.len(), expected.len());
    assert_eq!(applied_twice, 0);
    assert_eq!(restored_events_not_once, 0);
    assert_eq!(two_contents, 0);
    assert_eq!(dead, 0, "nothing was refused as booked twice");
    assert_eq!(
        sales.len(),
        synced_before_backup.len() + waiting_at_backup.len() + after_restore.len()
    );
    assert!(
        flags.iter().any(|f| f.starts_with("outbox_renumbered")),
        "the renumbering is recorded for review"
    );
    assert!(
        !flags.iter().any(|f| f.contains("clone")),
        "a rolled-back terminal is not flagged as a clone"
    );

    // New sales follow on, in the new epoch.
    let later = ring_up(&restored, 2, false, 5000).await;
    sync_until_idle(&restored, &url, clock.clone(), None).await;
    let hq_sales: Vec<String> = rows(&db, "SELECT sale_id FROM sales");
    println!(
        "after the recovery: {} more sales synced, head office holds {} sales",
        later.len(),
        hq_sales.len()
    );
    assert!(later.iter().all(|s| hq_sales.contains(s)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_true_clone_is_flagged_not_renumbered() {
    let dir = tempfile::tempdir().unwrap();
    let (_hq_store, hq, url) = served_hq(dir.path()).await;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let a_path = dir.path().join("terminal.sqlite");
    let a = open_terminal(&a_path, clock.clone(), true);
    let code = hq.issue_code("clone").await.unwrap();
    provision(&a, &url, &code, None, None).await.unwrap();
    ring_up(&a, 3, true, 1000).await;
    sync_until_idle(&a, &url, clock.clone(), None).await;

    // The disk is copied into a second till; both stay live.
    let b_path = dir.path().join("clone.sqlite");
    backup(&a, &a_path, &b_path);
    let b = open_terminal(&b_path, clock.clone(), false);
    ring_up(&a, 2, false, 2000).await;
    sync_until_idle(&a, &url, clock.clone(), None).await;
    // B's numbers collide with A's: from here it looks like a rollback, so
    // B renumbers (and head office records it).
    ring_up(&b, 2, false, 3000).await;
    let b_status = sync_until_idle(&b, &url, clock.clone(), None).await;
    let b_epochs = b.call(|s| s.outbox_epochs()).unwrap();

    // A goes on in the epoch B left: that is a second live copy.
    ring_up(&a, 1, false, 4000).await;
    let (status_tx, _status) = watch::channel(UplinkStatus::default());
    let config = UplinkConfig {
        min_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(100),
        ..UplinkConfig::new(url.clone())
    };
    let uplink = Uplink::new(a.clone(), clock.clone(), config, status_tx).unwrap();
    let refused = uplink.sync_until_idle().await;
    let refused_again = uplink.sync_until_idle().await;
    let a_epochs = a.call(|s| s.outbox_epochs()).unwrap();
    let a_pending = a.call(|s| s.outbox_status()).unwrap().pending;
    let db = hq_db(dir.path());
    let flags: Vec<String> = rows(&db, "SELECT reason FROM terminal_flags");
    let clone_flags = flags
        .iter()
        .filter(|f| f.starts_with("terminal_cloned"))
        .count();
    let code_of = |r: &Result<(), UplinkError>| match r {
        Err(UplinkError::Refused { code, .. }) => code.clone(),
        other => format!("{other:?}"),
    };
    println!(
        "clone: B renumbered {b_epochs:?} (pending after {}), A refused with {} then {}, A renumbered {} times, A pending {a_pending}; \
         clone flags {clone_flags}; flags {flags:?}",
        b_status.pending,
        code_of(&refused),
        code_of(&refused_again),
        a_epochs.len()
    );
    assert_eq!(b_status.pending, 0);
    assert_eq!(b_epochs.len(), 1);
    assert_eq!(code_of(&refused), "terminal_cloned");
    assert_eq!(code_of(&refused_again), "terminal_cloned");
    assert!(a_epochs.is_empty(), "the clone is not renumbered");
    assert_eq!(a_pending, 1, "its sale waits for review, not lost");
    assert_eq!(clone_flags, 1, "flagged once, however often it retries");
}
