//! A long offline day drains (issue 22): a registered terminal rings up
//! 10,000 sales with head office out of reach (a store's day: members
//! enrolled first, walk-ins and members in turn;
//! `sync_util::ring_up_offline_sales`) (`TILLCARD_BACKLOG_SALES`
//! scales it; `TILLCARD_BACKLOG_SALES=50000` is the issue's day, which took
//! over ten minutes of ring-up in a debug build with RUST_LOG=debug, too
//! long for CI: `benches/sync.rs` drains 50,000 in release), then the network comes back and the real uplink, on its
//! production batch size, drains the queue. Throughout, the store's
//! write-ahead log stays within its bound (`store::WAL_BOUND_BYTES`:
//! checkpoints every 1,000 pages, the file cut back to the journal size
//! limit, acknowledgements and pruning in small transactions); afterwards
//! head office holds every event once and, past the retention, every
//! acknowledged event's body is pruned.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

#[path = "util/sync.rs"]
mod sync_util;

use std::sync::Arc;
use std::time::{Duration, Instant};

use sync_util::{WalWatch, ring_up_offline_sales, served_hq, terminal_with_cashier};
use tillcard::clock::{Clock, SystemClock};
use tillcard::store::WAL_BOUND_BYTES;
use tillcard::uplink::{Uplink, UplinkConfig, UplinkStatus, provision};
use tokio::sync::watch;

fn backlog_sales() -> usize {
    std::env::var("TILLCARD_BACKLOG_SALES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_offline_day_of_sales_drains_once_with_the_wal_bounded_and_bodies_pruned() {
    let sales = backlog_sales();
    let dir = tempfile::tempdir().unwrap();
    let (hq_store, hq, url) = served_hq(dir.path()).await;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let handle = terminal_with_cashier(dir.path(), "T-BACKLOG", clock.clone());
    let code = hq.issue_code("backlog").await.unwrap();
    provision(&handle, &url, &code, None, None).await.unwrap();

    // Offline: no uplink runs while the day's sales are rung up.
    let wal = WalWatch::start(&dir.path().join("terminal.sqlite"));
    let rung_up = Instant::now();
    let last_seq = ring_up_offline_sales(&handle, sales).await;
    let rung_up = rung_up.elapsed().as_secs_f64();
    let queued = handle.call(|s| s.outbox_status()).unwrap();
    assert_eq!(
        queued.pending, last_seq,
        "every event waits for head office"
    );

    // The network is back: the uplink on its production batch size.
    let (status_tx, mut status) = watch::channel(UplinkStatus::default());
    let (stop, shutdown) = watch::channel(false);
    let config = UplinkConfig {
        min_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(200),
        idle_poll: Duration::from_millis(20),
        ..UplinkConfig::new(url.clone())
    };
    let batch_size = config.batch_size;
    let drain = Instant::now();
    let task = tokio::spawn(
        Uplink::new(handle.clone(), clock.clone(), config, status_tx)
            .unwrap()
            .run(shutdown),
    );
    let deadline = Instant::now() + Duration::from_secs(600);
    while status.borrow().acked_seq < last_seq {
        let _ = tokio::time::timeout(Duration::from_millis(100), status.changed()).await;
        assert!(
            Instant::now() < deadline,
            "the backlog did not drain: {:?}",
            status.borrow().clone()
        );
    }
    let drained = drain.elapsed().as_secs_f64();
    stop.send(true).unwrap();
    task.await.unwrap();

    // Past the retention every acknowledged body goes, in bounded steps.
    let later = clock.now() + chrono::Duration::seconds(2);
    let pruned = handle
        .call(move |s| s.prune_outbox(later, Duration::from_secs(1)))
        .unwrap();
    let wal_max = wal.stop();

    let counts = hq_store.counts().await.unwrap();
    let left = handle.call(|s| s.outbox_status()).unwrap();
    let duplicated = counts.events.saturating_sub(last_seq);
    let lost = last_seq.saturating_sub(counts.events);
    println!(
        "backlog: {sales} sales rung up offline in {rung_up:.1} s, {last_seq} events queued; \
         drained in {drained:.1} s at batch size {batch_size}; head office holds {} events \
         (lost {lost}, duplicated {duplicated}); {} left pending; {pruned} bodies pruned; \
         WAL at most {:.1} MiB (bound {:.0} MiB)",
        counts.events,
        left.pending,
        wal_max as f64 / 1048576.0,
        WAL_BOUND_BYTES as f64 / 1048576.0,
    );
    assert_eq!(
        counts.events, last_seq,
        "head office holds every event once"
    );
    assert_eq!(left.pending, 0, "the queue is empty");
    assert_eq!(
        pruned as u64, last_seq,
        "every acknowledged body is pruned after the retention"
    );
    assert!(wal_max > 0, "the WAL was watched");
    assert!(
        wal_max <= WAL_BOUND_BYTES,
        "the WAL grew to {wal_max} bytes, past its bound of {WAL_BOUND_BYTES}"
    );
}
