//! How fast a terminal's backlog drains once the network is back (issue
//! 22): 50,000 sales rung up offline (a store's day: 2,000 members
//! enrolled first, one sale in three a walk-in, the rest to the members in
//! turn; `sync_util::ring_up_offline_sales`), then uploaded to a head office on
//! loopback (SQLite backend) by the real uplink on its production batch
//! size (`UplinkConfig::new`, 200 events a request). The store's
//! write-ahead log is watched throughout, ringing up and draining
//! (`store.wal_max_mb`; bound `store::WAL_BOUND_BYTES`).
//! `BENCH_QUICK=1` changes nothing there: the backlog is rung up in about
//! 35 s in release and the issue names the 50,000-sale figure.
//!
//! Then the heal after partitions (`sync.partition_heal_drain_s`, goal <=
//! 60 s): 20 terminals ring up through their own fault proxies while these
//! partition them at random (`tests/sync_partitions.rs`'s network) for 60 s
//! (15 s with `BENCH_QUICK=1`); the network heals and the cashiers stop,
//! and the figure is the time until every queue is empty, checked by the
//! set checker (0 lost, 0 duplicated, 0 unexpected).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "benchmark code")]

#[path = "../tests/util/fault_proxy.rs"]
mod fault_proxy;
#[path = "../tests/util/fleet.rs"]
mod fleet;
#[path = "../tests/util/set_check.rs"]
mod set_check;
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
    partition_heal_drain().await;
}

/// `sync.partition_heal_drain_s`: 20 terminals partitioned at random while
/// they ring up, then healed; the seconds until every queue is empty.
async fn partition_heal_drain() {
    use fault_proxy::{ExchangeFaults, Fault};
    use std::sync::atomic::{AtomicBool, Ordering};

    const TERMINALS: usize = 20;
    let secs = if std::env::var("BENCH_QUICK").is_ok_and(|v| v == "1") {
        15
    } else {
        60
    };
    let dir = tempfile::tempdir_in(std::env::current_dir().unwrap()).unwrap();
    let (_hq_store, hq) = sync_util::sqlite_hq(dir.path()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hq_addr = listener.local_addr().unwrap();
    tokio::spawn(tillcard_hq::service::serve(
        listener,
        hq.clone(),
        std::future::pending(),
    ));
    let faults = ExchangeFaults {
        percent: 15,
        kinds: &[
            Fault::Delay,
            Fault::DropRequest,
            Fault::DropResponseAfterCommit,
        ],
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let mut fleet = fleet::Fleet::start(&hq, hq_addr, TERMINALS, 6, faults, 0xBE7C, clock).await;
    let stop_cashiers = Arc::new(AtomicBool::new(false));
    let (stop_chaos, chaos_stopped) = watch::channel(false);
    let mut chaos = Vec::new();
    for terminal in &fleet.terminals {
        let proxy = terminal.proxy.clone();
        let stopped = chaos_stopped.clone();
        chaos.push(tokio::spawn(async move {
            proxy
                .partition_randomly(
                    Duration::from_secs(1)..Duration::from_secs(6),
                    Duration::from_millis(500)..Duration::from_secs(5),
                    stopped,
                )
                .await;
        }));
    }
    let timer = async {
        tokio::time::sleep(Duration::from_secs(secs)).await;
        stop_cashiers.store(true, Ordering::Relaxed);
    };
    let (activity, ()) = tokio::join!(
        fleet.ring_up(Duration::from_millis(50), 0xBE7C, stop_cashiers.clone()),
        timer
    );
    stop_chaos.send(true).unwrap();
    for task in chaos {
        task.await.unwrap();
    }
    let pending: u64 = fleet.terminals.iter().map(|t| t.committed().pending).sum();
    for terminal in &fleet.terminals {
        terminal.proxy.heal();
    }
    let drained = fleet
        .drained_within(Duration::from_secs(600))
        .await
        .expect("queues not empty 600 s after the heal");
    fleet.stop().await;
    let committed: Vec<_> = fleet.terminals.iter().map(|t| t.committed()).collect();
    let verdict = set_check::check(&dir.path().join("hq.sqlite"), &committed);
    assert_eq!(
        (verdict.lost, verdict.duplicated, verdict.unexpected),
        (0, 0, 0),
        "{verdict:?}"
    );
    println!(
        "bench: sync.partition_heal_events = {} events ({} sales in {secs} s, {pending} pending at the heal)",
        verdict.events, activity.sales
    );
    println!(
        "bench: sync.partition_heal_drain_s = {:.2} s",
        drained.as_secs_f64()
    );
}
