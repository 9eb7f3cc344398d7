//! How fast a terminal's backlog drains once the network is back (issue
//! 22): 50,000 sales rung up offline, then uploaded to a head office on
//! loopback (SQLite backend) by the real uplink on its production batch
//! size (`UplinkConfig::new`, 200 events a request). The store's
//! write-ahead log is watched throughout, ringing up and draining
//! (`store.wal_max_mb`; bound `store::WAL_BOUND_BYTES`).
//! `BENCH_QUICK=1` changes nothing: the backlog is rung up in about 20 s
//! in release and the issue names the 50,000-sale figure.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "benchmark code")]

#[path = "../tests/util/sync.rs"]
mod sync_util;

use std::sync::Arc;
use std::time::{Duration, Instant};

use sync_util::{WalWatch, ring_up_offline_sales, served_hq, terminal_with_cashier};
use tillcard::clock::{Clock, SystemClock};
use tillcard::uplink::{Uplink, UplinkConfig, UplinkStatus, provision};
use tokio::sync::watch;

const SALES: usize = 50_000;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir_in(std::env::current_dir().unwrap()).unwrap();
    let (hq_store, hq, url) = served_hq(dir.path()).await;

    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let handle = terminal_with_cashier(dir.path(), "T-BENCH", clock.clone());
    let code = hq.issue_code("bench").await.unwrap();
    provision(&handle, &url, &code, None, None).await.unwrap();

    let wal = WalWatch::start(&dir.path().join("terminal.sqlite"));
    let rung_up = Instant::now();
    let last_seq = ring_up_offline_sales(&handle, SALES).await;
    let rung_up = rung_up.elapsed().as_secs_f64();

    let (status_tx, mut status) = watch::channel(UplinkStatus::default());
    let (stop, shutdown) = watch::channel(false);
    let uplink_config = UplinkConfig {
        saved_files: None,
        min_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(200),
        idle_poll: Duration::from_millis(20),
        ..UplinkConfig::new(url)
    };
    let started = Instant::now();
    let task = tokio::spawn(
        Uplink::new(handle.clone(), clock, uplink_config, status_tx)
            .unwrap()
            .run(shutdown),
    );
    while status.borrow().acked_seq < last_seq {
        let _ = tokio::time::timeout(Duration::from_millis(100), status.changed()).await;
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "backlog not drained"
        );
    }
    let drained = started.elapsed().as_secs_f64();
    stop.send(true).unwrap();
    task.await.unwrap();
    let wal_max = wal.stop();
    let counts = hq_store.counts().await.unwrap();
    assert_eq!(counts.events, last_seq);
    println!("bench: sync.backlog_events = {last_seq} events");
    println!("bench: sync.backlog_ring_up_s = {rung_up:.1} s");
    println!("bench: sync.backlog_50k_drain_s = {drained:.2} s");
    println!(
        "bench: sync.backlog_drain_events_per_s = {:.0} events/s",
        last_seq as f64 / drained
    );
    println!(
        "bench: store.wal_max_mb = {:.1} MB",
        wal_max as f64 / 1_000_000.0
    );
}
