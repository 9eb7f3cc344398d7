//! How fast a terminal's backlog drains once the network is back: 10,000
//! pending events (sales) uploaded to a head office on loopback (SQLite
//! backend) by the real uplink. `BENCH_QUICK=1` changes nothing: the
//! backlog is rung up in a few seconds and drains in about one, and the
//! issue names the 10,000-event figure.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "benchmark code")]

#[path = "../tests/util/sync.rs"]
mod sync_util;

use std::sync::Arc;
use std::time::{Duration, Instant};

use sync_util::{served_hq, terminal_with_cashier};
use tillcard::clock::{Clock, SystemClock};
use tillcard::rules::Money;
use tillcard::rules::pricing::{Basket, BasketLine, TenderRequest};
use tillcard::store::members::EnrollRequest;
use tillcard::uplink::{Uplink, UplinkConfig, UplinkStatus, provision};
use tokio::sync::watch;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let events = 10_000;
    let dir = tempfile::tempdir_in(std::env::current_dir().unwrap()).unwrap();
    let (hq_store, hq, url) = served_hq(dir.path()).await;

    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let handle = terminal_with_cashier(dir.path(), "T-BENCH", clock.clone());
    let code = hq.issue_code("bench").await.unwrap();
    provision(&handle, &url, &code, None, None).await.unwrap();

    // The backlog: sales rung up while offline.
    let backlog = handle.clone();
    let last_seq = tokio::task::spawn_blocking(move || {
        backlog
            .call(move |s| {
                let clerk = s.login("c1", "3817")?;
                let request = EnrollRequest {
                    phone: "13600000000".into(),
                    name: None,
                    birthday: None,
                    consent: true,
                    referred_by: None,
                };
                let member = s.enroll(&clerk, &request)?.member.id;
                for i in 0..events - 1 {
                    let basket = Basket {
                        lines: vec![BasketLine {
                            sku: format!("sku{}", i % 50),
                            name: "item".into(),
                            category: "grocery".into(),
                            quantity: 1,
                            unit_price: Money::from_fen(990 + (i as i64 % 500)),
                        }],
                    };
                    let quote = s.price(Some(member), &basket, &TenderRequest::default(), true)?;
                    s.commit_sale(&clerk, &quote)?;
                }
                Ok(s.outbox_status()?.last_seq)
            })
            .unwrap()
    })
    .await
    .unwrap();

    let (status_tx, mut status) = watch::channel(UplinkStatus::default());
    let (stop, shutdown) = watch::channel(false);
    let uplink_config = UplinkConfig {
        saved_files: None,
        batch_size: 1_000,
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
            started.elapsed() < Duration::from_secs(300),
            "backlog not drained"
        );
    }
    let drained = started.elapsed().as_secs_f64();
    stop.send(true).unwrap();
    task.await.unwrap();
    let counts = hq_store.counts().await.unwrap();
    assert_eq!(counts.events, last_seq);
    println!("bench: sync.backlog_events = {last_seq} events");
    println!("bench: sync.backlog_10k_drain_s = {drained:.2} s");
    println!(
        "bench: sync.backlog_drain_events_per_s = {:.0} events/s",
        last_seq as f64 / drained
    );
}
