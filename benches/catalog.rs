//! A store's catalog from head office to a new till (issue 24: "100,000
//! items per store ... sent down with the cursor"): 100,000 items imported
//! at head office as one CSV file (SQLite backend, served on loopback),
//! then a freshly registered terminal's real uplink pulls the change log
//! until its catalog holds every item. Prints `bench: <name> = <value>
//! <unit>` lines:
//! - `hq.catalog_import_100k_s`: parsing, checking and writing the file;
//! - `sync.catalog_100k_download_s`: registration done to the last item
//!   held by the till (every page of the downlink, its checks and writes);
//! - `sync.catalog_download_items_per_s`.
//!
//! `BENCH_QUICK=1` changes nothing: the issue names the 100,000 figure.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "benchmark code")]

#[path = "util/catalog_items.rs"]
mod catalog_items;
#[path = "../tests/util/sync.rs"]
mod sync_util;

use std::sync::Arc;
use std::time::{Duration, Instant};

use catalog_items::{CSV_HEADER, csv_row, ean13};
use sync_util::{served_hq, terminal_with_cashier};
use tillcard::clock::{Clock, SystemClock};
use tillcard::rules::catalog::ItemCode;
use tillcard::uplink::{Uplink, UplinkConfig, UplinkStatus, provision};
use tillcard_hq::service::back_office::Actor;
use tokio::sync::watch;

const ITEMS: usize = 100_000;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir_in(std::env::current_dir().unwrap()).unwrap();
    let (_hq_store, hq, url) = served_hq(dir.path()).await;

    let mut file = String::with_capacity(ITEMS * 80);
    file.push_str(CSV_HEADER);
    file.push('\n');
    for n in 0..ITEMS {
        file.push_str(&csv_row(n));
        file.push('\n');
    }
    let started = Instant::now();
    let written = hq
        .import_catalog(&Actor::cli(), file.as_bytes())
        .await
        .unwrap();
    let import_s = started.elapsed().as_secs_f64();
    assert_eq!(written.written, ITEMS as u64);

    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let till = terminal_with_cashier(dir.path(), "store-1", clock.clone());
    let code = hq.issue_code("store-1").await.unwrap();
    provision(&till, &url, &code, None, None).await.unwrap();

    let (status_tx, _status) = watch::channel(UplinkStatus::default());
    let (stop, shutdown) = watch::channel(false);
    let config = UplinkConfig {
        saved_files: None,
        min_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(200),
        idle_poll: Duration::from_millis(20),
        ..UplinkConfig::new(url)
    };
    let started = Instant::now();
    let task = tokio::spawn(
        Uplink::new(till.clone(), clock, config, status_tx)
            .unwrap()
            .run(shutdown),
    );
    loop {
        let (held, _) = till.call(|s| s.catalog_size()).unwrap();
        if held >= ITEMS as u64 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(900),
            "the catalog did not arrive: {held} of {ITEMS} items"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let download_s = started.elapsed().as_secs_f64();
    stop.send(true).unwrap();
    task.await.unwrap();
    // The last item is found by its barcode, as a scan would find it.
    let last = ItemCode::parse(&ean13(ITEMS - 1)).unwrap();
    let found = till.call(move |s| s.item_by_code(&last)).unwrap();
    assert_eq!(found.map(|i| i.sku), Some(format!("S{:06}", ITEMS - 1)));

    println!("bench: hq.catalog_import_100k_s = {import_s:.2} s");
    println!("bench: sync.catalog_100k_download_s = {download_s:.2} s");
    println!(
        "bench: sync.catalog_download_items_per_s = {:.0} items/s",
        ITEMS as f64 / download_s
    );
}
