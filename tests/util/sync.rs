//! Shared by the sync tests and the sync bench: a head office on SQLite
//! served on loopback, and a terminal's store with a cashier, ready to be
//! provisioned. Included by `#[path]` (not part of `util`: the scanning
//! tests need none of it).
#![allow(dead_code, reason = "each user takes part of the helpers")]

use std::path::Path;
use std::sync::Arc;

use tillcard::clock::Clock;
use tillcard::store::clerks::Role;
use tillcard::store::handle::StoreHandle;
use tillcard::store::{PinHashCost, Store, StoreConfig};
use tillcard_hq::service::{Hq, serve};
use tillcard_hq::store::sqlite::SqliteStore;

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
    conn.execute_batch(&format!("PRAGMA key = \"{}\";", test_key().sql_literal()))
        .unwrap();
    conn
}
