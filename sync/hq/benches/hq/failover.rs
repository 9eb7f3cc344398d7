//! `hq.failover_resume_s` (issue 23): how long uploads stop when the
//! database's primary machine is lost. Workload: the HA cluster of
//! `tests/ha_cluster.rs` (`tests/util/ha.rs`: etcd, a Patroni pair with
//! synchronous replication, HAProxy; Debian's packages, loopback), one
//! `tillcard-hq serve` node behind HAProxy, five terminals each uploading
//! five-event batches back to back (a failed one resent after 100 ms).
//! Each round kills the primary's Patroni and postmaster and times until
//! every terminal has an upload acknowledged again; the lost node then
//! rejoins as the synchronous standby before the next round. Three rounds
//! (one with `BENCH_QUICK`); the figure is their median.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tillcard_hq::loadgen::{self, Mix, Till};
use tillcard_protocol::client;

use super::ha::HaCluster;
use super::line;

const BIN: &str = env!("CARGO_BIN_EXE_tillcard-hq");
const ADMIN: &str = "failover-bench-admin-token-0123456789";
const TERMINALS: usize = 5;

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub async fn failover_part(quick: bool) {
    let rounds = if quick { 1 } else { 3 };
    let hq_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cluster = HaCluster::start(&[hq_port]).await;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("personal.key");
    std::fs::write(&key, [0x5a; 32]).unwrap();
    let node = Command::new(BIN)
        .arg("serve")
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("TILLCARD_HQ_LISTEN", format!("127.0.0.1:{hq_port}"))
        .env("TILLCARD_HQ_DATABASE_URL", cluster.url())
        .env("TILLCARD_HQ_PERSONAL_KEY_FILE", &key)
        .env("TILLCARD_HQ_ADMIN_TOKEN", ADMIN)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Killed however the bench ends.
    let node = KillOnDrop(node);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{}", cluster.hq_front_port);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !http
        .get(format!("{base}/health"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(Instant::now() < deadline, "head office did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let start = Instant::now();
    let since = move || u64::try_from(start.elapsed().as_millis()).unwrap();
    let running = Arc::new(AtomicBool::new(true));
    let last_ok: Vec<Arc<AtomicU64>> = (0..TERMINALS)
        .map(|_| Arc::new(AtomicU64::new(0)))
        .collect();
    let mut tasks = Vec::new();
    for (creds, last) in loadgen::provision(&http, &base, ADMIN, TERMINALS)
        .await
        .unwrap()
        .into_iter()
        .zip(&last_ok)
    {
        let (http, base, running, last) =
            (http.clone(), base.clone(), running.clone(), last.clone());
        tasks.push(tokio::spawn(async move {
            let mut till = Till::new(creds, 50).with_mix(Mix::Sales);
            let at = chrono::Utc::now().fixed_offset();
            let (mut events, mut acked) = (Vec::new(), 0u64);
            while running.load(Ordering::SeqCst) {
                if acked == events.len() as u64 {
                    events.extend(till.batch(5, at).unwrap());
                }
                let from = usize::try_from(acked).unwrap();
                // Counted from when it was sent: an upload answered just
                // after the kill was committed before it.
                let sent_at = since();
                let request = till
                    .credentials()
                    .upload_request(events[from..].to_vec(), chrono::Utc::now().timestamp())
                    .unwrap();
                match loadgen::send(&http, &base, request).await {
                    Ok(body) => {
                        acked = acked.max(client::decode_ack(&body).unwrap().acked_seq);
                        last.store(sent_at, Ordering::SeqCst);
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        }));
    }
    let mut resumed = Vec::new();
    for round in 1..=rounds {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let primary = cluster.primary().await.expect("a primary");
        let killed_at = since();
        cluster.kill_node(primary);
        let deadline = Instant::now() + Duration::from_secs(120);
        while !last_ok.iter().all(|t| t.load(Ordering::SeqCst) > killed_at) {
            assert!(Instant::now() < deadline, "uploads did not resume");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let secs = (since() - killed_at) as f64 / 1000.0;
        assert_eq!(
            cluster.primary().await,
            Some(1 - primary),
            "the standby took over"
        );
        eprintln!(
            "failover round {round}/{rounds}: node {primary} lost, every terminal acknowledged again after {secs:.1} s"
        );
        resumed.push(secs);
        cluster.start_node(primary);
        cluster.wait_for_sync_standby(1 - primary).await;
    }
    running.store(false, Ordering::SeqCst);
    for task in tasks {
        let _ = task.await;
    }
    drop(node);
    resumed.sort_by(f64::total_cmp);
    line("hq.failover_resume_s", resumed[resumed.len() / 2], "s");
}
