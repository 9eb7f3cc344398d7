//! `hq.burst_drain_s` (issue 23): a chain coming back after an outage.
//! Workload: terminals that sold through a 10-minute outage (each a
//! backlog of 20 uploads' worth, 1 to 5 events each, every event for
//! another member, as a till sells) all reconnect within one minute, each
//! at a uniformly random moment (the uplink's jitter), and send their
//! backlog (one batch each: the protocol takes 1,000 events a batch); a
//! refused or failed upload is sent again after the uplink's backoff (full
//! jitter from 1 s, doubling). Head office runs in this process on a
//! fresh PostgreSQL database, sharing the machine's cores with the
//! simulated terminals and PostgreSQL. 10,800 terminals (3,600 stores x 3
//! tills); 1,000 reconnecting within 10 s with `BENCH_QUICK`. Uploads only:
//! the downlink's catch-up is not in this figure.
//!
//! Printed: the backlog, the provisioning time (not counted), and the
//! seconds from the first reconnection until every backlog is
//! acknowledged, with the acknowledgement latencies' p50 and p99.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tillcard_hq::loadgen::{self, Mix, Till};
use tillcard_protocol::client;

use super::{ADMIN, line, pg, start_hq};

pub async fn burst_part(quick: bool) {
    let (terminals, window) = if quick {
        (1_000usize, Duration::from_secs(10))
    } else {
        (10_800usize, Duration::from_secs(60))
    };
    let url = pg::fresh_database().await;
    let store = tillcard_hq::store::postgres::PgStore::connect(&url)
        .await
        .unwrap();
    let (base, stop) = start_hq(Arc::new(store)).await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let provisioned = Instant::now();
    let creds = loadgen::provision(&client, &base, ADMIN, terminals)
        .await
        .unwrap();
    let provision_s = provisioned.elapsed().as_secs_f64();
    // The backlogs, built before the clock starts.
    let start_at = chrono::Utc::now().fixed_offset() - chrono::Duration::minutes(10);
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut events = 0usize;
    let backlogs: Vec<_> = creds
        .into_iter()
        .map(|c| {
            let mut till = Till::new(c, 100).with_mix(Mix::Sales);
            let n: usize = (0..20).map(|_| 1 + (next() % 5) as usize).sum();
            events += n;
            let batch = till.batch(n, start_at).unwrap();
            let delay = Duration::from_millis(next() % (window.as_millis() as u64));
            (till, batch, delay, next())
        })
        .collect();
    eprintln!(
        "burst: {terminals} terminals provisioned in {provision_s:.1} s; backlog {events} events (one batch each), reconnecting within {} s",
        window.as_secs()
    );
    let started = Instant::now();
    let tasks: Vec<_> = backlogs
        .into_iter()
        .map(|(till, batch, delay, seed)| {
            let (client, base) = (client.clone(), base.clone());
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let mut backoff = Duration::from_secs(1);
                let mut jitter = seed | 1;
                let mut retries = 0u32;
                loop {
                    let request = till
                        .credentials()
                        .upload_request(batch.clone(), chrono::Utc::now().timestamp())
                        .unwrap();
                    let sent = Instant::now();
                    match loadgen::send(&client, &base, request).await {
                        Ok(body) => {
                            let ack = client::decode_ack(&body).unwrap();
                            assert_eq!(ack.acked_seq, batch.len() as u64);
                            return (sent.elapsed(), retries);
                        }
                        Err(_) => {
                            retries += 1;
                            jitter ^= jitter << 13;
                            jitter ^= jitter >> 7;
                            jitter ^= jitter << 17;
                            let wait = jitter % (backoff.as_millis() as u64 + 1);
                            tokio::time::sleep(Duration::from_millis(wait)).await;
                            backoff = (backoff * 2).min(Duration::from_secs(300));
                        }
                    }
                }
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(tasks.len());
    let mut retries = 0u32;
    for task in tasks {
        let (latency, tried) = task.await.unwrap();
        latencies.push(latency.as_secs_f64() * 1000.0);
        retries += tried;
    }
    let drained = started.elapsed().as_secs_f64();
    let _ = stop.send(());
    latencies.sort_by(f64::total_cmp);
    let q = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize];
    eprintln!(
        "burst: {terminals} backlogs ({events} events) acknowledged {drained:.1} s after the first reconnection; ack p50 {:.0} ms, p99 {:.0} ms; {retries} uploads sent again after a failure",
        q(0.5),
        q(0.99)
    );
    line("hq.burst_drain_s", drained, "s");
    line("hq.burst_ack_p99_ms", q(0.99), "ms");
}
