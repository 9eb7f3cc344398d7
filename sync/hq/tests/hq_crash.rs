//! Head office killed mid-batch (issue 22), on both backends: a real
//! `tillcard-hq serve` process takes uploads from four terminals (the load
//! generator's, each re-sending from head office's last acknowledgement
//! whenever an exchange fails, as the terminal's uplink does) while this
//! test kills it with SIGKILL at random moments (50 to 300 ms apart) and
//! starts it again on the same port: 30 times on SQLite and 30 on PostgreSQL by default
//! (`TILLCARD_HQ_KILLS` sets the number per backend). A kill counts as
//! mid-batch when an upload was in flight at that instant. Afterwards the
//! database holds every event exactly once: as many events and ledger
//! entries as the terminals made, no dead letter, no conflict.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tillcard_hq::loadgen::{self, Mix, Till};
use tillcard_protocol::client;
use tillcard_protocol::wire::OutboxEvent;

const BIN: &str = env!("CARGO_BIN_EXE_tillcard-hq");
const ADMIN_TOKEN: &str = "crash-test-admin-token-0123456789";
const TERMINALS: usize = 4;
const EVENTS_PER_BATCH: usize = 50;

fn kills_per_backend() -> usize {
    std::env::var("TILLCARD_HQ_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30)
}

/// Where the head office under test keeps its data.
#[derive(Clone)]
enum Database {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

/// `tillcard-hq serve` on `listen` against `database`.
fn start(database: &Database, listen: &str, key: &Path) -> Child {
    let mut command = Command::new(BIN);
    command
        .arg("serve")
        .env("TILLCARD_HQ_LISTEN", listen)
        .env("TILLCARD_HQ_PERSONAL_KEY_FILE", key)
        .env("TILLCARD_HQ_ADMIN_TOKEN", ADMIN_TOKEN)
        .env_remove("TILLCARD_HQ_DATABASE_URL_FILE")
        .env_remove("TILLCARD_HQ_ADMIN_TOKEN_FILE")
        .env_remove("TILLCARD_HQ_CONFIG")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    match database {
        Database::Sqlite(path) => command
            .env("TILLCARD_HQ_SQLITE", path)
            .env_remove("TILLCARD_HQ_DATABASE_URL"),
        Database::Postgres(url) => command
            .env("TILLCARD_HQ_DATABASE_URL", url)
            .env_remove("TILLCARD_HQ_SQLITE"),
    };
    command.spawn().unwrap()
}

/// Waits until head office answers on `base` (at most 60 s).
async fn wait_up(http: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(response) = http.get(format!("{base}/health")).send().await
            && response.status().is_success()
        {
            return;
        }
        assert!(Instant::now() < deadline, "head office did not come up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What one terminal sent: its events and how many requests it took.
struct Uploaded {
    events: Vec<OutboxEvent>,
    requests: u64,
}

/// One terminal's uploads: each round sends the batch after head office's
/// last acknowledgement; any failure (head office killed, connection
/// refused or cut) is retried after a short pause, exactly as the uplink
/// does. The till makes a new batch whenever everything so far is
/// acknowledged while the kills go on, and stops once they are over and
/// its last event is acknowledged.
async fn upload_all(
    http: reqwest::Client,
    base: String,
    mut till: Till,
    killing: Arc<AtomicBool>,
    in_flight: Arc<AtomicUsize>,
) -> Uploaded {
    let start_at = util::t0();
    let mut events = Vec::new();
    let mut acked = 0u64;
    let mut requests = 0u64;
    loop {
        if acked == events.len() as u64 {
            if !killing.load(Ordering::SeqCst) && !events.is_empty() {
                return Uploaded { events, requests };
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
        let answer = loadgen::send(&http, &base, request).await;
        in_flight.fetch_sub(1, Ordering::SeqCst);
        requests += 1;
        match answer {
            Ok(body) => acked = acked.max(client::decode_ack(&body).unwrap().acked_seq),
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

async fn killed_mid_batch(database: Database, label: &str) {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("personal.key");
    std::fs::write(&key, [0x5a; 32]).unwrap();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let listen = format!("127.0.0.1:{port}");
    let base = format!("http://{listen}");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    let mut hq = start(&database, &listen, &key);
    wait_up(&http, &base).await;
    let terminals = loadgen::provision(&http, &base, ADMIN_TOKEN, TERMINALS)
        .await
        .unwrap();
    let killing = Arc::new(AtomicBool::new(true));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let uploads: Vec<_> = terminals
        .into_iter()
        .map(|creds| {
            tokio::spawn(upload_all(
                http.clone(),
                base.clone(),
                Till::new(creds, 12).with_mix(Mix::Sales),
                killing.clone(),
                in_flight.clone(),
            ))
        })
        .collect();

    let kills = kills_per_backend();
    let mid_batch = AtomicU64::new(0);
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut killed = 0;
    while killed < kills {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        tokio::time::sleep(Duration::from_millis(50 + rng % 250)).await;
        if in_flight.load(Ordering::SeqCst) > 0 {
            mid_batch.fetch_add(1, Ordering::Relaxed);
        }
        hq.kill().unwrap(); // SIGKILL
        hq.wait().unwrap();
        killed += 1;
        hq = start(&database, &listen, &key);
        wait_up(&http, &base).await;
    }
    killing.store(false, Ordering::SeqCst);
    let (mut requests, mut expected_events, mut expected_entries) = (0, 0u64, 0u64);
    for upload in uploads {
        let uploaded = tokio::time::timeout(Duration::from_secs(300), upload)
            .await
            .expect("every terminal's uploads are acknowledged")
            .unwrap();
        requests += uploaded.requests;
        expected_events += uploaded.events.len() as u64;
        expected_entries += uploaded
            .events
            .iter()
            .map(|e| e.decode_body().unwrap().entries().len() as u64)
            .sum::<u64>();
    }
    hq.kill().unwrap();
    hq.wait().unwrap();

    let store: Arc<dyn tillcard_hq::store::Store> = match &database {
        Database::Sqlite(path) => {
            Arc::new(tillcard_hq::store::sqlite::SqliteStore::open(path).unwrap())
        }
        Database::Postgres(url) => Arc::new(
            tillcard_hq::store::postgres::PgStore::connect(url)
                .await
                .unwrap(),
        ),
    };
    let counts = store.counts().await.unwrap();
    let mid_batch = mid_batch.load(Ordering::Relaxed);
    println!(
        "hq crash ({label}): {killed} SIGKILLs of head office, {mid_batch} with an upload in \
         flight; {requests} uploads sent for {expected_events} events; stored {} events \
         (lost {}, duplicated {}), {} ledger entries of {expected_entries}, {} dead letters, \
         {} conflicts",
        counts.events,
        expected_events.saturating_sub(counts.events),
        counts.events.saturating_sub(expected_events),
        counts.ledger,
        counts.dead_letters,
        counts.conflicts,
    );
    assert!(killed > 0, "head office was never killed");
    assert!(
        mid_batch > 0,
        "no kill landed while an upload was in flight"
    );
    assert_eq!(counts.events, expected_events, "every event stored once");
    assert_eq!(counts.ledger, expected_entries, "every entry booked once");
    assert_eq!(counts.dead_letters, 0);
    assert_eq!(counts.conflicts, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_office_killed_mid_batch_keeps_every_event_exactly_once_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    killed_mid_batch(Database::Sqlite(dir.path().join("hq.sqlite")), "SQLite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_office_killed_mid_batch_keeps_every_event_exactly_once_postgres() {
    let url = util::pg::fresh_database().await;
    killed_mid_batch(Database::Postgres(url), "PostgreSQL").await;
}
