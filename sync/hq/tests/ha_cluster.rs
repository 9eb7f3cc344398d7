//! A head office that survives a lost machine (issue 23): three real
//! `tillcard-hq serve` nodes behind HAProxy, on a PostgreSQL pair managed
//! by Patroni with etcd (Debian's packages, started here on loopback ports
//! chosen at run time: `util/ha.rs`, from `packaging/ha/`), and twenty
//! terminals uploading and polling the downlink through HAProxy as the
//! uplink does (any failure: the same batch again after a pause, from head
//! office's last acknowledgement).
//!
//! While they run, one head-office node is killed with SIGKILL while
//! uploads are in flight; later the PostgreSQL primary's machine is lost
//! (its Patroni and postmaster killed), and Patroni promotes the
//! synchronous standby. After each, every terminal must have an upload
//! acknowledged again within 30 s. At the end every terminal's events are
//! at head office exactly once (as many events and ledger entries as the
//! terminals made, no dead letter, no conflict), and no terminal ever saw
//! head office hold less of it than it had acknowledged (a lost
//! acknowledged event would show there, and as a gap the terminal could
//! not fill). The lost database machine then rejoins as the standby.
//!
//! The nodes read the dashboard's figures from the standby (HAProxy's
//! standby frontend, `database.read_url`): before the failover the figures
//! say they came from the standby and how far it trailed; after it, with
//! no standby left, that they came from the primary because none answered.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

#[path = "util/ha.rs"]
mod ha;
mod util;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tillcard_hq::loadgen::{self, Mix, Till};
use tillcard_protocol::client;
use tillcard_protocol::wire::OutboxEvent;

const BIN: &str = env!("CARGO_BIN_EXE_tillcard-hq");
const ADMIN_TOKEN: &str = "ha-test-admin-token-0123456789abcdef";
const HQ_NODES: usize = 3;
const TERMINALS: usize = 20;
const EVENTS_PER_BATCH: usize = 20;
/// The bound on how long uploads may stop after a failure.
const RESUME_BOUND: Duration = Duration::from_secs(30);

/// `tillcard-hq serve` on `port`, on the cluster's database through
/// HAProxy, trusting HAProxy's `X-Forwarded-For`, draining for a second
/// on SIGTERM.
fn start_hq(url: &str, read_url: &str, port: u16, key: &std::path::Path) -> Child {
    Command::new(BIN)
        .arg("serve")
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("TILLCARD_HQ_LISTEN", format!("127.0.0.1:{port}"))
        .env("TILLCARD_HQ_DATABASE_URL", url)
        .env("TILLCARD_HQ_DATABASE_READ_URL", read_url)
        .env("TILLCARD_HQ_PERSONAL_KEY_FILE", key)
        .env("TILLCARD_HQ_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("TILLCARD_HQ_TRUSTED_PROXIES", "127.0.0.1")
        .env("TILLCARD_HQ_DRAIN_SECONDS", "1")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_healthy(http: &reqwest::Client, base: &str, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(response) = http.get(format!("{base}/health")).send().await
            && response.status().is_success()
        {
            return;
        }
        assert!(Instant::now() < deadline, "{base} did not answer /health");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The head-office processes, killed however the test ends (a failed
/// assertion included: they must not outlive it).
struct Nodes(Vec<Child>);

impl Drop for Nodes {
    fn drop(&mut self) {
        for node in &mut self.0 {
            let _ = node.kill();
            let _ = node.wait();
        }
    }
}

/// Where the dashboard's figures were read (`read_from` of
/// `GET /v1/admin/figures`), through HAProxy.
async fn figures_read_from(http: &reqwest::Client, base: &str) -> serde_json::Value {
    let body = http
        .get(format!("{base}/v1/admin/figures"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let figures: serde_json::Value = serde_json::from_slice(&body).unwrap();
    figures["read_from"].clone()
}

/// Milliseconds since the test's start (the terminals' last success).
fn since(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap()
}

/// What one terminal sent and saw.
struct Uploaded {
    events: Vec<OutboxEvent>,
    requests: u64,
    polls: u64,
    /// Downlink pages that said head office held less of this terminal
    /// than it had acknowledged.
    regressions: u64,
}

/// One terminal: each round uploads the batch after head office's last
/// acknowledgement, then polls one downlink page; any failure is retried
/// after a pause. New batches while `running`; then it stops once its
/// last event is acknowledged.
async fn terminal(
    http: reqwest::Client,
    base: String,
    mut till: Till,
    running: Arc<AtomicBool>,
    in_flight: Arc<AtomicUsize>,
    last_ok: Arc<AtomicU64>,
    start: Instant,
) -> Uploaded {
    let start_at = util::t0();
    let (mut events, mut acked, mut requests, mut polls, mut regressions) =
        (Vec::new(), 0u64, 0u64, 0u64, 0u64);
    let mut cursor: Option<String> = None;
    loop {
        if acked == events.len() as u64 {
            if !running.load(Ordering::SeqCst) && !events.is_empty() {
                return Uploaded {
                    events,
                    requests,
                    polls,
                    regressions,
                };
            }
            events.extend(till.batch(EVENTS_PER_BATCH, start_at).unwrap());
        }
        let from = usize::try_from(acked).unwrap();
        let batch = events[from..(from + EVENTS_PER_BATCH).min(events.len())].to_vec();
        let request = till
            .credentials()
            .upload_request(batch, chrono::Utc::now().timestamp())
            .unwrap();
        in_flight.fetch_add(1, Ordering::SeqCst);
        // An upload counts from when it was sent: one sent before a
        // failure and answered after it says nothing of the recovery.
        let sent_at = since(start);
        let answer = loadgen::send(&http, &base, request).await;
        in_flight.fetch_sub(1, Ordering::SeqCst);
        requests += 1;
        match answer {
            Ok(body) => {
                acked = acked.max(client::decode_ack(&body).unwrap().acked_seq);
                last_ok.store(sent_at, Ordering::SeqCst);
            }
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        }
        let poll = till
            .credentials()
            .changes_request(cursor.as_deref(), chrono::Utc::now().timestamp());
        if let Ok(body) = loadgen::send(&http, &base, poll).await {
            let page = client::decode_page(&body).unwrap();
            polls += 1;
            if page.acked_seq.is_some_and(|held| held < acked) {
                regressions += 1;
            }
            cursor = Some(page.cursor);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until every terminal has had an upload sent after `failed_at`
/// (ms since the start) acknowledged; how long that took.
async fn resumed(last_ok: &[Arc<AtomicU64>], start: Instant, failed_at: u64, what: &str) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if last_ok.iter().all(|t| t.load(Ordering::SeqCst) > failed_at) {
            let secs = (since(start) - failed_at) as f64 / 1000.0;
            println!("ha: every terminal acknowledged again {secs:.1} s after {what}");
            return secs;
        }
        assert!(
            Instant::now() < deadline,
            "uploads did not resume within 120 s after {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_and_a_patroni_pair_lose_and_double_nothing_through_a_node_kill_and_a_failover()
{
    let start = Instant::now();
    let hq_ports: Vec<u16> = (0..HQ_NODES)
        .map(|_| {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        })
        .collect();
    let mut cluster = ha::HaCluster::start(&hq_ports).await;
    let url = cluster.url();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("personal.key");
    std::fs::write(&key, [0x5a; 32]).unwrap();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    // The first node migrates and bootstraps the database; then the others.
    let mut nodes = Nodes(Vec::new());
    for port in &hq_ports {
        nodes
            .0
            .push(start_hq(&url, &cluster.read_url(), *port, &key));
        wait_healthy(
            &http,
            &format!("http://127.0.0.1:{port}"),
            Duration::from_secs(60),
        )
        .await;
    }
    let base = format!("http://127.0.0.1:{}", cluster.hq_front_port);
    wait_healthy(&http, &base, Duration::from_secs(30)).await;
    println!(
        "ha: {HQ_NODES} head-office nodes up behind HAProxy after {:.1} s",
        start.elapsed().as_secs_f64()
    );

    let credentials = loadgen::provision(&http, &base, ADMIN_TOKEN, TERMINALS)
        .await
        .unwrap();
    let running = Arc::new(AtomicBool::new(true));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let last_ok: Vec<Arc<AtomicU64>> = (0..TERMINALS)
        .map(|_| Arc::new(AtomicU64::new(0)))
        .collect();
    let terminals: Vec<_> = credentials
        .into_iter()
        .zip(&last_ok)
        .map(|(creds, last)| {
            tokio::spawn(terminal(
                http.clone(),
                base.clone(),
                Till::new(creds, 12).with_mix(Mix::Sales),
                running.clone(),
                in_flight.clone(),
                Arc::clone(last),
                start,
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(3)).await;
    // The dashboard reads the standby, saying how far it trails.
    let before = figures_read_from(&http, &base).await;
    println!("ha: the dashboard's figures with both databases up: {before}");
    assert_eq!(before["database"], "standby", "{before}");
    assert!(before["behind_ms"].as_i64().is_some(), "{before}");

    // A head-office node dies mid-batch.
    let deadline = Instant::now() + Duration::from_secs(10);
    while in_flight.load(Ordering::SeqCst) == 0 {
        assert!(
            Instant::now() < deadline,
            "no upload in flight to kill a node under"
        );
        tokio::task::yield_now().await;
    }
    let uploads_in_flight = in_flight.load(Ordering::SeqCst);
    let node_killed_at = since(start);
    nodes.0[0].kill().unwrap(); // SIGKILL
    nodes.0[0].wait().unwrap();
    let node_resume_s = resumed(&last_ok, start, node_killed_at, "the node kill").await;
    tokio::time::sleep(Duration::from_secs(3)).await;

    // The database's primary machine is lost.
    let primary = cluster
        .primary()
        .await
        .expect("a primary before the failover");
    let failover_at = since(start);
    cluster.kill_node(primary);
    let failover_resume_s = resumed(&last_ok, start, failover_at, "the primary's loss").await;
    let new_primary = cluster.primary().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    // No standby left: the dashboard reads the new primary and says so.
    let after = figures_read_from(&http, &base).await;
    println!("ha: the dashboard's figures with the standby promoted: {after}");
    assert_eq!(after["database"], "primary", "{after}");
    assert_eq!(after["standby_unavailable"], true, "{after}");

    running.store(false, Ordering::SeqCst);
    let (mut sent, mut requests, mut polls, mut regressions, mut entries) = (0u64, 0, 0, 0, 0u64);
    for terminal in terminals {
        let done = tokio::time::timeout(Duration::from_secs(180), terminal)
            .await
            .expect("every terminal's events are acknowledged")
            .unwrap();
        sent += done.events.len() as u64;
        requests += done.requests;
        polls += done.polls;
        regressions += done.regressions;
        entries += done
            .events
            .iter()
            .map(|e| e.decode_body().unwrap().entries().len() as u64)
            .sum::<u64>();
    }
    drop(nodes);

    // The lost machine comes back: it rejoins as the synchronous standby
    // (its PostgreSQL rewound to the new timeline, its old shared memory
    // released at its start).
    let rejoin = Instant::now();
    cluster.start_node(primary);
    cluster.wait_for_sync_standby(1 - primary).await;
    println!(
        "ha: the lost node rejoined as synchronous standby in {:.1} s",
        rejoin.elapsed().as_secs_f64()
    );

    let store = tillcard_hq::store::postgres::PgStore::connect(&url)
        .await
        .unwrap();
    let counts = tillcard_hq::store::Store::counts(&store).await.unwrap();
    println!(
        "ha: {TERMINALS} terminals through {HQ_NODES} nodes: {requests} uploads and {polls} \
         downlink polls; a node SIGKILLed with {uploads_in_flight} uploads in flight, uploads \
         resumed in {node_resume_s:.1} s; primary {primary} lost, new primary {new_primary:?}, \
         uploads resumed in {failover_resume_s:.1} s; sent {sent} events, applied {} (lost {}, \
         duplicated {}), {} ledger entries of {entries}, {} dead letters, {} conflicts, \
         {regressions} downlink pages holding less than acknowledged",
        counts.events,
        sent.saturating_sub(counts.events),
        counts.events.saturating_sub(sent),
        counts.ledger,
        counts.dead_letters,
        counts.conflicts,
    );
    assert_eq!(new_primary, Some(1 - primary), "the standby was promoted");
    assert!(
        node_resume_s <= RESUME_BOUND.as_secs_f64(),
        "{node_resume_s} s after the node kill"
    );
    assert!(
        failover_resume_s <= RESUME_BOUND.as_secs_f64(),
        "{failover_resume_s} s after the failover"
    );
    assert_eq!(
        regressions, 0,
        "head office never held less than it acknowledged"
    );
    assert_eq!(counts.events, sent, "every event stored once");
    assert_eq!(counts.ledger, entries, "every entry booked once");
    assert_eq!(counts.dead_letters, 0);
    assert_eq!(counts.conflicts, 0);
    drop(cluster);
}
