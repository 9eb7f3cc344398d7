//! Shared by the sync tests and the sync bench: a head office on SQLite
//! served on loopback, and a terminal's store with a cashier, ready to be
//! provisioned. Included by `#[path]` (not part of `util`: the scanning
//! tests need none of it).
#![allow(dead_code, reason = "each user takes part of the helpers")]

use std::path::Path;
use std::sync::Arc;

use std::time::Duration;

use tillcard::clock::Clock;
use tillcard::rules::tenders::{Payment, TenderKind};
use tillcard::saved_files::SavedFiles;
use tillcard::store::clerks::Role;
use tillcard::store::handle::StoreHandle;
use tillcard::store::{PinHashCost, Store, StoreConfig};
use tillcard::uplink::{Uplink, UplinkConfig, UplinkStatus};
use tillcard_hq::service::{Hq, serve};
use tillcard_hq::store::sqlite::SqliteStore;
use tokio::sync::watch;

/// Head office on SQLite at `dir/hq.sqlite`: its store and the service,
/// not served yet.
pub async fn sqlite_hq(dir: &Path) -> (Arc<dyn tillcard_hq::store::Store>, Arc<Hq>) {
    let hq_store: Arc<dyn tillcard_hq::store::Store> =
        Arc::new(SqliteStore::open(&dir.join("hq.sqlite")).unwrap());
    let hq = Arc::new(Hq::open(hq_store.clone(), None).await.unwrap());
    (hq_store, hq)
}

/// [`sqlite_hq`] served on loopback for as long as the runtime runs: its
/// store, the service and its URL.
pub async fn served_hq(dir: &Path) -> (Arc<dyn tillcard_hq::store::Store>, Arc<Hq>, String) {
    let (hq_store, hq) = sqlite_hq(dir).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(serve(listener, hq.clone(), std::future::pending()));
    (hq_store, hq, url)
}

/// A terminal's store at `dir/terminal.sqlite` named `terminal_id` (PINs
/// hashed at test cost), with cashier `c1` (PIN 3817), on its worker.
pub fn terminal_with_cashier(
    dir: &Path,
    terminal_id: impl Into<String>,
    clock: Arc<dyn Clock>,
) -> StoreHandle {
    let config = StoreConfig {
        pin_cost: PinHashCost::TEST_ONLY,
        ..StoreConfig::new(terminal_id, test_key())
    };
    let mut store = Store::open(&dir.join("terminal.sqlite"), config, clock).unwrap();
    store
        .add_clerk("c1", "Cashier", Role::Cashier, "3817")
        .unwrap();
    StoreHandle::spawn(store).unwrap()
}

/// The fixed store key the test terminals are encrypted with.
pub fn test_key() -> tillcard::store_key::StoreKey {
    tillcard::store_key::StoreKey::from_bytes([0x5a; 32])
}

/// A raw, keyed connection to a test terminal's store file.
#[allow(dead_code, clippy::disallowed_types, clippy::disallowed_methods)]
pub fn raw(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(&tillcard::store::key_statements(&test_key()))
        .unwrap();
    conn
}

/// A card whose member `handle` does not hold, scanned while online, as
/// the terminal does it: the holder admitted (balances unknown), then the
/// member fetched from head office on demand (`Uplink::fetch_member`),
/// which keeps them in this store's downlink from then on. Whether head
/// office's snapshot was applied.
pub async fn scan_card_of(
    handle: &StoreHandle,
    url: &str,
    clock: Arc<dyn Clock>,
    member: tillcard::rules::MemberId,
) -> bool {
    handle.call(move |s| s.admit_card_holder(member)).unwrap();
    let (status_tx, _status) = watch::channel(UplinkStatus::default());
    Uplink::new(
        handle.clone(),
        clock,
        UplinkConfig::new(url.to_owned()),
        status_tx,
    )
    .unwrap()
    .fetch_member(member)
    .await
    .unwrap()
}

/// Runs `handle`'s uplink against `url` (saving cards and receipts in
/// `files`, if given) until its queue is drained and the downlink was
/// pulled: two idle rounds in a row, within 30 s. The last status.
pub async fn sync_until_idle(
    handle: &StoreHandle,
    url: &str,
    clock: Arc<dyn Clock>,
    files: Option<SavedFiles>,
) -> UplinkStatus {
    let (status_tx, mut status) = watch::channel(UplinkStatus::default());
    let (stop, shutdown) = watch::channel(false);
    let config = UplinkConfig {
        saved_files: files,
        min_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(100),
        idle_poll: Duration::from_millis(20),
        ..UplinkConfig::new(url.to_owned())
    };
    let task = tokio::spawn(
        Uplink::new(handle.clone(), clock, config, status_tx)
            .unwrap()
            .run(shutdown),
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut idle_rounds = 0;
    while idle_rounds < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "sync did not settle: {:?}",
            status.borrow().clone()
        );
        let _ = tokio::time::timeout(Duration::from_millis(200), status.changed()).await;
        let s = status.borrow().clone();
        if s.online && s.pending == 0 {
            idle_rounds += 1;
        }
    }
    stop.send(true).unwrap();
    task.await.unwrap();
    status.borrow().clone()
}

/// Members a store's offline day draws on: one for every ten sales, at
/// most [`DAY_MEMBERS`] (a store's regulars).
const DAY_MEMBERS: usize = 2_000;

/// Rings up `sales` sales on `handle` as a store's counter does offline, and
/// returns the outbox's last sequence number: the events waiting for head
/// office. The day is a store's, not one member's: members are enrolled
/// first (one for every ten sales, at most [`DAY_MEMBERS`]), then one sale
/// in three is a walk-in without a card and the others go to the members in
/// turn; one line each, prices varying. (One member with every sale would
/// measure that member's growing history instead: each sale refolds it, at
/// the counter and at head office.)
pub async fn ring_up_offline_sales(handle: &StoreHandle, sales: usize) -> u64 {
    use tillcard::rules::Money;
    use tillcard::rules::pricing::{Basket, BasketLine, TenderRequest};
    use tillcard::store::members::EnrollRequest;

    let backlog = handle.clone();
    tokio::task::spawn_blocking(move || {
        backlog
            .call(move |s| {
                let clerk = s.login("c1", "3817")?;
                let mut members = Vec::new();
                for n in 0..(sales / 10).clamp(1, DAY_MEMBERS) {
                    let request = EnrollRequest {
                        phone: format!("136{n:08}"),
                        name: None,
                        birthday: None,
                        consent: true,
                        referred_by: None,
                    };
                    members.push(s.enroll(&clerk, &request)?.member.id);
                }
                for i in 0..sales {
                    let basket = Basket {
                        lines: vec![BasketLine {
                            sku: format!("sku{}", i % 50),
                            name: "item".into(),
                            category: "grocery".into(),
                            quantity: 1,
                            unit_price: Money::from_fen(990 + (i as i64 % 500)),
                            list_price: None,
                        }],
                    };
                    let member = (i % 3 != 2).then(|| members[i % members.len()]);
                    let quote = s.price(member, &basket, &TenderRequest::default(), true)?;
                    s.commit_sale(
                        &clerk,
                        &quote,
                        &Payment::single(TenderKind::Cash, quote.amount_due),
                    )?;
                }
                Ok(s.outbox_status()?.last_seq)
            })
            .unwrap()
    })
    .await
    .unwrap()
}

/// The largest size a store's write-ahead log (`<file>-wal`) reached
/// while it was watched: a thread reads the file's length every 5 ms
/// until [`WalWatch::stop`].
pub struct WalWatch {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<u64>,
}

impl WalWatch {
    /// Starts watching the WAL of the store file at `store_path`.
    pub fn start(store_path: &Path) -> WalWatch {
        use std::sync::atomic::{AtomicBool, Ordering};
        let mut wal = store_path.as_os_str().to_owned();
        wal.push("-wal");
        let wal = std::path::PathBuf::from(wal);
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut largest = 0;
            while !stopped.load(Ordering::Relaxed) {
                if let Ok(meta) = std::fs::metadata(&wal) {
                    largest = largest.max(meta.len());
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            largest
        });
        WalWatch { stop, thread }
    }

    /// Stops watching: the largest size seen, in bytes.
    pub fn stop(self) -> u64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}
