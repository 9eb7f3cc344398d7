//! Head office restored with PostgreSQL's own tools (issue 22): head office
//! on a throwaway PostgreSQL is backed up with `pg_dump` (custom format)
//! while terminals upload; more sales sync after the backup, and a terminal
//! registered after it sells and syncs too. Head office is then restored
//! with `pg_restore` into a fresh database and restarted on it. Every
//! terminal learns from head office's downlink page (`acked_seq`) that it
//! holds less than it acknowledged and uploads it again; the terminal the
//! restored database does not know re-introduces itself with its
//! registration certificate; the downlink cursors that name changes the
//! restored database lacks start the log again. Then every event each
//! terminal holds (its sales among them) is set-checked against head
//! office's events: 0 lost, 0 duplicated.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]
// The test reads head office's database directly and runs pg_dump.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

#[path = "util/sync.rs"]
mod sync_util;

#[path = "../sync/hq/tests/util/pg.rs"]
mod pg;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sync_util::{sync_until_idle, terminal_with_cashier};
use tillcard::clock::{Clock, SystemClock};
use tillcard::rules::Money;
use tillcard::rules::pricing::{Basket, BasketLine, TenderRequest};
use tillcard::rules::tenders::{Payment, TenderKind};
use tillcard::store::handle::StoreHandle;
use tillcard::store::members::EnrollRequest;
use tillcard::uplink::provision;
use tillcard_hq::service::{Hq, serve};
use tokio::sync::oneshot;

const SALES_BEFORE: usize = 12;
const SALES_DURING: usize = 8;
const SALES_AFTER: usize = 10;

/// Head office served on a fixed address until `stop` is sent.
struct Served {
    hq: Arc<Hq>,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn serve_on(url: &str, listen: &str) -> Served {
    let store: Arc<dyn tillcard_hq::store::Store> = Arc::new(
        tillcard_hq::store::postgres::PgStore::connect(url)
            .await
            .unwrap(),
    );
    let hq = Arc::new(Hq::open(store, None).await.unwrap());
    let listener = tokio::net::TcpListener::bind(listen).await.unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, hq.clone(), async move {
        let _ = stopped.await;
    }));
    Served { hq, stop, task }
}

/// PostgreSQL's own client program `name` from the newest Debian server
/// installed (the one `pg.rs` started): its version matches the server's.
fn pg_bin(name: &str) -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL installed under /usr/lib/postgresql")
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin").join(name))
        .filter(|p| p.exists())
        .collect();
    found.sort();
    found.pop().expect("pg_dump and pg_restore installed")
}

fn run(program: &Path, args: &[&str]) {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} failed: {}",
        program.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The database name at the end of a URL.
fn db_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap()
}

/// Enrolls a member with `phone` and rings up `sales` sales for them.
async fn ring_up(handle: &StoreHandle, phone: String, sales: usize) {
    let h = handle.clone();
    tokio::task::spawn_blocking(move || {
        h.call(move |s| {
            let clerk = s.login("c1", "3817")?;
            let member = match s.find_member_by_phone(&phone)? {
                Some(found) => found.id,
                None => {
                    let request = EnrollRequest {
                        phone: phone.clone(),
                        name: None,
                        birthday: None,
                        consent: true,
                        referred_by: None,
                    };
                    s.enroll(&clerk, &request)?.member.id
                }
            };
            for i in 0..sales {
                let basket = Basket {
                    lines: vec![BasketLine {
                        sku: format!("sku{}", i % 7),
                        name: "item".into(),
                        category: "grocery".into(),
                        quantity: 1,
                        unit_price: Money::from_fen(1290 + i as i64 * 10),
                        list_price: None,
                    }],
                };
                let quote = s.price(Some(member), &basket, &TenderRequest::default(), true)?;
                s.commit_sale(
                    &clerk,
                    &quote,
                    &Payment::single(TenderKind::Cash, quote.amount_due),
                )?;
            }
            Ok(())
        })
        .unwrap()
    })
    .await
    .unwrap();
}

/// (terminal id, seq, event id, kind) of every event a terminal holds.
fn terminal_events(path: &Path, terminal: &str) -> BTreeSet<(String, i64, String, String)> {
    sync_util::raw(path)
        .prepare("SELECT seq, event_id, kind FROM outbox")
        .unwrap()
        .query_map([], |r| {
            Ok((terminal.to_string(), r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// (terminal id, seq, event id, kind) of every event head office stores,
/// and how many rows name the same (terminal, seq) or event id twice.
async fn head_office_events(url: &str) -> (BTreeSet<(String, i64, String, String)>, u64) {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let rows = client
        .query("SELECT terminal_id, seq, event_id, kind FROM events", &[])
        .await
        .unwrap();
    let mut set = BTreeSet::new();
    let mut ids = BTreeSet::new();
    let mut doubled = 0;
    for row in rows {
        let event_id: String = row.get(2);
        if !ids.insert(event_id.clone()) {
            doubled += 1;
        }
        if !set.insert((row.get(0), row.get(1), event_id, row.get(3))) {
            doubled += 1;
        }
    }
    (set, doubled)
}

struct Till {
    name: &'static str,
    handle: StoreHandle,
    file: PathBuf,
    _dir: tempfile::TempDir,
}

async fn register(hq: &Hq, url: &str, clock: Arc<dyn Clock>, name: &'static str) -> Till {
    let dir = tempfile::tempdir().unwrap();
    let handle = terminal_with_cashier(dir.path(), name, clock);
    let code = hq.issue_code("store-a").await.unwrap();
    provision(&handle, url, &code, None, None).await.unwrap();
    Till {
        name,
        handle,
        file: dir.path().join("terminal.sqlite"),
        _dir: dir,
    }
}

fn terminal_id(till: &Till) -> String {
    till.handle
        .call(|s| Ok(s.credentials().unwrap().terminal_id.0.to_string()))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_office_restored_with_pg_restore_gets_every_sale_back_once() {
    tillcard::logging::init_for_tests();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let cluster = pg::cluster();
    let original = pg::fresh_database().await;
    let listen = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let base = format!("http://{listen}");
    let served = serve_on(&original, &listen).await;

    // Three terminals registered and synced before the backup.
    let mut tills = Vec::new();
    for name in ["till-1", "till-2", "till-3"] {
        let till = register(&served.hq, &base, clock.clone(), name).await;
        ring_up(
            &till.handle,
            format!("1390000000{}", tills.len()),
            SALES_BEFORE,
        )
        .await;
        sync_until_idle(&till.handle, &base, clock.clone(), None).await;
        tills.push(till);
    }
    let (before_backup, _) = head_office_events(&original).await;

    // The backup, taken while two terminals upload.
    for (i, till) in tills.iter().enumerate().take(2) {
        ring_up(&till.handle, format!("1390000000{i}"), SALES_DURING).await;
    }
    let dump_dir = tempfile::tempdir().unwrap();
    let dump = dump_dir.path().join("hq.dump");
    let uploads: Vec<_> = tills
        .iter()
        .take(2)
        .map(|t| {
            let (handle, base, clock) = (t.handle.clone(), base.clone(), clock.clone());
            tokio::spawn(async move { sync_until_idle(&handle, &base, clock, None).await })
        })
        .collect();
    let (pg_dump, port, user) = (
        pg_bin("pg_dump"),
        cluster.port.to_string(),
        cluster.user.clone(),
    );
    let (dump_path, db) = (
        dump.to_string_lossy().into_owned(),
        db_name(&original).to_owned(),
    );
    tokio::task::spawn_blocking(move || {
        run(
            &pg_dump,
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                &user,
                "-Fc",
                "-f",
                &dump_path,
                &db,
            ],
        )
    })
    .await
    .unwrap();
    for upload in uploads {
        upload.await.unwrap();
    }

    // After the backup: more sales everywhere, and a new terminal.
    for (i, till) in tills.iter().enumerate() {
        ring_up(&till.handle, format!("1390000000{i}"), SALES_AFTER).await;
        sync_until_idle(&till.handle, &base, clock.clone(), None).await;
    }
    let late = register(&served.hq, &base, clock.clone(), "till-late").await;
    ring_up(&late.handle, "13900000009".into(), SALES_AFTER).await;
    sync_until_idle(&late.handle, &base, clock.clone(), None).await;
    tills.push(late);
    let (before_restore, _) = head_office_events(&original).await;

    // Head office stops; its database is restored from the dump into a
    // fresh database, and head office starts again on that.
    served.stop.send(()).unwrap();
    served.task.await.unwrap().unwrap();
    let restored = pg::fresh_database().await;
    let (pg_restore, port, user) = (
        pg_bin("pg_restore"),
        cluster.port.to_string(),
        cluster.user.clone(),
    );
    let (dump_path, db) = (
        dump.to_string_lossy().into_owned(),
        db_name(&restored).to_owned(),
    );
    tokio::task::spawn_blocking(move || {
        run(
            &pg_restore,
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                &user,
                "--no-owner",
                "--exit-on-error",
                "-d",
                &db,
                &dump_path,
            ],
        )
    })
    .await
    .unwrap();
    let (in_backup, _) = head_office_events(&restored).await;
    let served = serve_on(&restored, &listen).await;

    // Which terminals the restored head office does not know, and whose
    // downlink cursor names a change it does not hold.
    let mut unknown = 0;
    let mut cursors_past = 0;
    for till in &tills {
        let id = till
            .handle
            .call(|s| Ok(s.credentials().unwrap().terminal_id))
            .unwrap();
        let cursor = till.handle.call(|s| s.downlink_cursor()).unwrap();
        let store: Arc<dyn tillcard_hq::store::Store> = Arc::new(
            tillcard_hq::store::postgres::PgStore::connect(&restored)
                .await
                .unwrap(),
        );
        match store.terminal(id).await.unwrap() {
            None => unknown += 1,
            Some(record) => {
                let page = served.hq.changes(&record, cursor.as_deref()).await.unwrap();
                if page.resync {
                    cursors_past += 1;
                }
            }
        }
    }

    // Every terminal syncs with the restored head office.
    for till in &tills {
        sync_until_idle(&till.handle, &base, clock.clone(), None).await;
    }
    let (after, doubled) = head_office_events(&restored).await;

    // The set check: every event each terminal holds, at head office once.
    let mut held = BTreeSet::new();
    let mut sales = 0;
    for till in &tills {
        let events = terminal_events(&till.file, &terminal_id(till));
        sales += events.iter().filter(|e| e.3 == "sale_booked").count();
        held.extend(events);
    }
    let lost: Vec<_> = held.difference(&after).collect();
    let unexpected: Vec<_> = after.difference(&held).collect();
    let reuploaded = after.len() - in_backup.len();
    let mut per_terminal: BTreeMap<&str, usize> = BTreeMap::new();
    for till in &tills {
        let id = terminal_id(till);
        per_terminal.insert(till.name, after.iter().filter(|e| e.0 == id).count());
    }
    println!(
        "hq restore (PostgreSQL pg_dump -Fc / pg_restore): {} terminals ({} registered after the \
         backup, {unknown} unknown to the restored database); events at head office: {} before \
         the backup, {} in the backup, {} before the restore; {} re-uploaded; {} events held by \
         the terminals ({sales} sales) set-checked: lost {}, duplicated {doubled}, unexpected {}; \
         downlink cursors past the restored log {cursors_past}; per terminal {per_terminal:?}",
        tills.len(),
        1,
        before_backup.len(),
        in_backup.len(),
        before_restore.len(),
        reuploaded,
        held.len(),
        lost.len(),
        unexpected.len(),
    );
    assert!(
        in_backup.len() >= before_backup.len(),
        "the backup holds what was synced before it"
    );
    assert!(
        in_backup.len() < before_restore.len(),
        "the restore lost events to re-upload"
    );
    assert_eq!(
        unknown, 1,
        "the late terminal is unknown to the restored database"
    );
    assert!(
        cursors_past > 0,
        "some downlink cursor named a change the restore lost"
    );
    assert!(lost.is_empty(), "lost: {lost:?}");
    assert!(unexpected.is_empty(), "unexpected: {unexpected:?}");
    assert_eq!(doubled, 0, "duplicated");
    assert_eq!(
        after, before_restore,
        "head office holds what it held before the restore"
    );
    served.stop.send(()).unwrap();
    served.task.await.unwrap().unwrap();
}
