//! Head-office benchmark (`cargo bench -p tillcard-sync`; `BENCH_QUICK=1`
//! for a ~60 s run). Prints `bench: <name> = <value> <unit>` lines:
//!
//! - `hq.batches_per_s`, `hq.ack_p50_ms`, `hq.ack_p99_ms`: 1,000 simulated
//!   terminals (provisioned, signing every request) uploading concurrently
//!   over HTTP to one head office on the SQLite backend.
//! - `hq.ingest_events_per_s`: the same kind of load on PostgreSQL (full
//!   path: HTTP, signature, decode, plan, one transaction per batch).
//! - `hq.raw_insert_events_per_s`: a plain batched INSERT of the same rows
//!   (same batch size and concurrency, same PostgreSQL, same run).
//! - `hq.ingest_ratio`: the first over the second.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "benchmark harness")]

#[path = "../tests/util/pg.rs"]
#[allow(dead_code, reason = "shared with the tests")]
mod pg;

use std::sync::Arc;
use std::time::Instant;

use tillcard_sync::loadgen;
use tillcard_sync::service::{self, Hq};
use tillcard_sync::store::Store;

const ADMIN: &str = "bench-admin";

async fn start_hq(store: Arc<dyn Store>) -> (String, tokio::sync::oneshot::Sender<()>) {
    let hq = Arc::new(Hq::open(store, Some(ADMIN.into())).await.unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(service::serve(listener, hq, async {
        let _ = rx.await;
    }));
    (base, tx)
}

async fn load(
    base: &str,
    terminals: usize,
    batches: usize,
    events: usize,
) -> (
    loadgen::LoadReport,
    Vec<(
        tillcard_sync::client::TerminalCredentials,
        Vec<Vec<tillcard_sync::protocol::OutboxEvent>>,
    )>,
) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    let creds = loadgen::provision(&client, base, ADMIN, terminals)
        .await
        .unwrap();
    let start = chrono::Utc::now().fixed_offset();
    let work: Vec<_> = creds
        .into_iter()
        .map(|c| {
            let b = loadgen::make_batches(&c, batches, events, start).unwrap();
            (c, b)
        })
        .collect();
    let copy = work.clone();
    (loadgen::run(&client, base, work).await, copy)
}

fn line(name: &str, value: f64, unit: &str) {
    println!("bench: {name} = {value:.2} {unit}");
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let quick = std::env::var_os("BENCH_QUICK").is_some();
    let total = Instant::now();

    // 1. SQLite: 1,000 terminals.
    let (terminals, batches, events) = if quick { (1000, 2, 20) } else { (1000, 5, 20) };
    let tmp = tempfile::tempdir().unwrap();
    let store =
        tillcard_sync::store::sqlite::SqliteStore::open(&tmp.path().join("bench.sqlite")).unwrap();
    let (base, stop) = start_hq(Arc::new(store)).await;
    let (r, _) = load(&base, terminals, batches, events).await;
    let _ = stop.send(());
    eprintln!(
        "sqlite: {terminals} terminals x {batches} batches x {events} events: acked {} batches, {} errors, {:.1} s; body {} B gzip vs {} B JSON",
        r.batches,
        r.errors,
        r.elapsed.as_secs_f64(),
        r.bytes_sent,
        r.bytes_uncompressed
    );
    assert_eq!(r.errors, 0);
    line("hq.batches_per_s", r.batches_per_s(), "batches/s");
    line("hq.ack_p50_ms", r.quantile_ms(0.5), "ms");
    line("hq.ack_p99_ms", r.quantile_ms(0.99), "ms");

    // 2. PostgreSQL: full ingest path vs plain INSERT of the same rows.
    let (terminals, batches, events) = if quick { (100, 3, 100) } else { (200, 5, 100) };
    let url = pg::fresh_database().await;
    let store = tillcard_sync::store::postgres::PgStore::connect(&url)
        .await
        .unwrap();
    let (base, stop) = start_hq(Arc::new(store)).await;
    let (r, work) = load(&base, terminals, batches, events).await;
    let _ = stop.send(());
    assert_eq!(r.errors, 0);
    let ingest = r.events as f64 / r.elapsed.as_secs_f64();
    eprintln!(
        "postgres ingest: {} events in {} batches, {:.2} s",
        r.events,
        r.batches,
        r.elapsed.as_secs_f64()
    );

    let mut cfg = deadpool_postgres::Config::new();
    cfg.url = Some(url.clone());
    cfg.pool = Some(deadpool_postgres::PoolConfig::new(16));
    let pool = cfg
        .create_pool(
            Some(deadpool_postgres::Runtime::Tokio1),
            tokio_postgres::NoTls,
        )
        .unwrap();
    pool.get()
        .await
        .unwrap()
        .batch_execute(
            "CREATE TABLE raw_events (terminal_id TEXT NOT NULL, seq BIGINT NOT NULL, event_id TEXT NOT NULL,
             body TEXT NOT NULL, PRIMARY KEY (terminal_id, seq))",
        )
        .await
        .unwrap();
    // The same rows, encoded before the clock starts (as the ingest
    // requests are).
    let mut rows = 0u64;
    let mut prepared = Vec::new();
    for (creds, batches) in work {
        let tid = creds.terminal_id.to_string();
        let mut per_terminal = Vec::new();
        for batch in batches {
            rows += batch.len() as u64;
            let seqs: Vec<i64> = batch.iter().map(|e| e.envelope.seq as i64).collect();
            let ids: Vec<String> = batch
                .iter()
                .map(|e| e.envelope.event_id.to_string())
                .collect();
            let bodies: Vec<String> = batch
                .iter()
                .map(|e| serde_json::to_string(e).unwrap())
                .collect();
            per_terminal.push((seqs, ids, bodies));
        }
        prepared.push((tid, per_terminal));
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (tid, batches) in prepared {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            for (seqs, ids, bodies) in batches {
                let client = pool.get().await.unwrap();
                let stmt = client
                    .prepare_cached("INSERT INTO raw_events SELECT $1, s, i, b FROM unnest($2::bigint[], $3::text[], $4::text[]) AS t(s, i, b)")
                    .await
                    .unwrap();
                client.execute(&stmt, &[&tid, &seqs, &ids, &bodies]).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let raw = rows as f64 / started.elapsed().as_secs_f64();
    eprintln!(
        "postgres raw insert: {rows} rows, {:.2} s",
        started.elapsed().as_secs_f64()
    );
    line("hq.ingest_events_per_s", ingest, "events/s");
    line("hq.raw_insert_events_per_s", raw, "events/s");
    line("hq.ingest_ratio", ingest / raw, "ratio");
    eprintln!("bench total {:.1} s", total.elapsed().as_secs_f64());
}
