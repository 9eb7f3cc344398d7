//! `hq.chain_ack_p99_ms`, `hq.downlink_cpu_us_per_terminal_poll` and
//! `hq.downlink_bytes_per_terminal_hour` (issue 23): a chain's ordinary
//! day at head office. Workload: 10,800 terminals (3,600 stores x 3 tills;
//! 240 terminals of 80 stores, phases of 6 s and 12 s, with `BENCH_QUICK`;
//! `BENCH_CHAIN_TILLS=n` for another size), each with 20 members of its
//! own enrolled beforehand.
//!
//! Set-up, not timed: the tills are registered one after another (each
//! registration adds the till's card key to the chain-wide log), then each
//! uploads its enrollment batch (8 at a time). Then the tills catch up
//! with the log: one till pulls it all from an empty cursor (every till's
//! card key, the program, its store's members; its pages, bytes and
//! seconds are printed), and every other till starts from that till's
//! cursor and pulls its own store's rest of the log. What the set-up does
//! not run is every till's own pull of the chain's card keys (10,800 x
//! 10,800 = 116 million changes at full size): a till that has been
//! running has them already, and the timed phases never see them.
//!
//! Timed: each till runs the uplink's round every 5 s (`idle_poll`): every
//! sixth round it first uploads what a till sells in 30 s (1 to 5 events,
//! each for another of its members: sales of ¥38, every tenth visit a
//! ¥100 top-up), then it pulls the downlink until no page is left. The
//! tills' rounds are spread evenly over the 5 s, their uploads over the
//! 30 s. Head office runs in this process on its own two-thread runtime
//! (`hq-server`) on a fresh PostgreSQL database, sharing the machine's
//! cores with the simulated tills and PostgreSQL.
//!
//! Head office runs as a node does, with its poll cache
//! (`service::poll_cache`: a poll that finds nothing new answered without
//! the database); `BENCH_POLL_CACHE=off` reads every poll from the
//! database, as before it.
//!
//! Two timed phases of the same tills: uploads only (each sixth round),
//! then the full rounds. Between them, untimed, every till pulls what the
//! first phase wrote (as a till polling every 5 s always has), so the
//! second does not open with every till pulling 30 s of backlog at once. The downlink's CPU per poll is the difference of
//! the two phases' CPU rate (head office's threads and PostgreSQL) over
//! the polls per second: what polling adds. Bytes are the gzip bodies of
//! the downlink's answers as sent. Printed beside the figures: the members
//! one till holds against the chain's (what scoping keeps off each till).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use tillcard_hq::loadgen::{self, Mix, Till};
use tillcard_hq::service::poll_cache::PollBounds;
use tillcard_hq::service::{self, Hq};
use tillcard_protocol::client;
use tillcard_protocol::wire::Change;

use super::{ADMIN, cpu_seconds, line, pg};

/// Members each till enrolled before the timed phases.
const MEMBERS_PER_TILL: usize = 20;
/// The uplink's idle poll and a till's upload period.
const ROUND: Duration = Duration::from_secs(5);
const ROUNDS_PER_UPLOAD: u64 = 6;

/// CPU seconds of this process's threads named `hq-server`.
fn server_cpu_seconds() -> f64 {
    let tick = 100.0;
    let mut total = 0.0;
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    for task in tasks.filter_map(Result::ok) {
        let path = task.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if comm.trim() != "hq-server" {
            continue;
        }
        let stat = std::fs::read_to_string(path.join("stat")).unwrap_or_default();
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
            continue;
        };
        let fields: Vec<&str> = rest.split(' ').collect();
        total +=
            fields[11].parse::<f64>().unwrap_or(0.0) + fields[12].parse::<f64>().unwrap_or(0.0);
    }
    total / tick
}

/// One simulated till between rounds.
struct Counter {
    till: Till,
    cursor: Option<String>,
}

#[derive(Default)]
struct Tally {
    acks_ms: std::sync::Mutex<Vec<f64>>,
    polls_ms: std::sync::Mutex<Vec<f64>>,
    polls: AtomicU64,
    poll_bytes: AtomicU64,
    uploads: AtomicU64,
    events: AtomicU64,
    errors: AtomicU64,
    /// Pages that started a till's log again (`resync`).
    resyncs: AtomicU64,
    /// Errors by kind (an answer's status, a timeout).
    error_kinds: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
}

impl Tally {
    fn error(&self, what: &str, error: &loadgen::LoadError) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let kind = match error {
            loadgen::LoadError::Status(status) => format!("{what} {status}"),
            loadgen::LoadError::Http(e) if e.is_timeout() => format!("{what} timeout"),
            _ => format!("{what} other"),
        };
        *self.error_kinds.lock().unwrap().entry(kind).or_default() += 1;
    }
}

/// Pulls `counter`'s downlink until no page is left; the requests made,
/// the bytes received and the members seen.
async fn pull(
    http: &reqwest::Client,
    base: &str,
    counter: &mut Counter,
    tally: &Tally,
    seen: Option<&mut std::collections::HashSet<tillcard_rules::ids::MemberId>>,
) -> Result<(), loadgen::LoadError> {
    let mut seen = seen;
    loop {
        let request = counter
            .till
            .credentials()
            .changes_request(counter.cursor.as_deref(), chrono::Utc::now().timestamp());
        let sent = Instant::now();
        let body = loadgen::send(http, base, request).await?;
        tally
            .polls_ms
            .lock()
            .unwrap()
            .push(sent.elapsed().as_secs_f64() * 1000.0);
        tally.polls.fetch_add(1, Ordering::Relaxed);
        tally
            .poll_bytes
            .fetch_add(body.len() as u64, Ordering::Relaxed);
        let page = client::decode_page(&body)?;
        if page.resync {
            tally.resyncs.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(seen) = seen.as_deref_mut() {
            for change in &page.changes {
                if let Change::Member { snapshot } = change {
                    seen.insert(snapshot.member);
                }
            }
        }
        counter.cursor = Some(page.cursor);
        if !page.more {
            return Ok(());
        }
    }
}

/// Runs every till's rounds for `duration`, uploading on each sixth round
/// and pulling on every round when `poll`; returns the tills.
async fn phase(
    http: &reqwest::Client,
    base: &str,
    counters: Vec<Counter>,
    duration: Duration,
    poll: bool,
    tally: Arc<Tally>,
    start_at: chrono::DateTime<chrono::FixedOffset>,
) -> Vec<Counter> {
    let n = counters.len() as u64;
    let stop = Arc::new(AtomicBool::new(false));
    let began = tokio::time::Instant::now();
    let tasks: Vec<_> = counters
        .into_iter()
        .enumerate()
        .map(|(i, mut counter)| {
            let (http, base, tally, stop) = (
                http.clone(),
                base.to_string(),
                Arc::clone(&tally),
                Arc::clone(&stop),
            );
            let i = i as u64;
            // Rounds spread evenly over the 5 s; uploads over the 30 s.
            let offset = ROUND.mul_f64((i % 1000) as f64 / 1000.0);
            let upload_round = (i * 7919) % ROUNDS_PER_UPLOAD;
            let mut rng = 0x9e37_79b9_7f4a_7c15u64 ^ (i + 1).wrapping_mul(0x2545_f491_4f6c_dd1d);
            tokio::spawn(async move {
                let mut round = 0u64;
                loop {
                    let at = began + offset + ROUND * u32::try_from(round).unwrap_or(u32::MAX);
                    tokio::time::sleep_until(at).await;
                    if stop.load(Ordering::Relaxed) {
                        return counter;
                    }
                    if round % ROUNDS_PER_UPLOAD == upload_round {
                        rng ^= rng << 13;
                        rng ^= rng >> 7;
                        rng ^= rng << 17;
                        let events = 1 + (rng % 5) as usize;
                        let batch = counter.till.batch(events, start_at).unwrap();
                        let request = counter
                            .till
                            .credentials()
                            .upload_request(batch, chrono::Utc::now().timestamp())
                            .unwrap();
                        let sent = Instant::now();
                        match loadgen::send(&http, &base, request).await {
                            Ok(_) => {
                                tally
                                    .acks_ms
                                    .lock()
                                    .unwrap()
                                    .push(sent.elapsed().as_secs_f64() * 1000.0);
                                tally.uploads.fetch_add(1, Ordering::Relaxed);
                                tally.events.fetch_add(events as u64, Ordering::Relaxed);
                            }
                            Err(error) => tally.error("upload", &error),
                        }
                    }
                    if poll && let Err(error) = pull(&http, &base, &mut counter, &tally, None).await
                    {
                        tally.error("poll", &error);
                    }
                    round += 1;
                }
            })
        })
        .collect();
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut out = Vec::with_capacity(n as usize);
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

pub async fn chain_part(quick: bool) {
    // Quick: small enough that the whole `BENCH_QUICK=1 cargo bench
    // --workspace` stays within its four minutes.
    let (default_tills, timed) = if quick {
        (240usize, Duration::from_secs(12))
    } else {
        (10_800usize, Duration::from_secs(60))
    };
    // `BENCH_CHAIN_TILLS` scales the chain (three tills a store).
    let terminals = std::env::var("BENCH_CHAIN_TILLS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n >= 3)
        .unwrap_or(default_tills);
    // `BENCH_POLL_CACHE=off`: every poll read from the database, as
    // before the poll cache.
    let poll_bounds = if std::env::var("BENCH_POLL_CACHE").is_ok_and(|v| v == "off") {
        PollBounds::OFF
    } else {
        PollBounds::DEFAULT
    };
    eprintln!("chain: poll cache {poll_bounds:?}");
    let url = pg::fresh_database().await;
    let url_for_stats = url.clone();
    let port = pg::cluster().port;
    // Head office on a runtime of its own, so its CPU is its threads'.
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("hq-server")
        .enable_all()
        .build()
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop_hq, stopped) = tokio::sync::oneshot::channel::<()>();
    let std_listener = listener.into_std().unwrap();
    let opened: Arc<std::sync::OnceLock<Arc<Hq>>> = Arc::default();
    let opened_in = Arc::clone(&opened);
    server.spawn(async move {
        let store = tillcard_hq::store::postgres::PgStore::connect(&url)
            .await
            .unwrap();
        let hq = Arc::new(Hq::open(Arc::new(store), Some(ADMIN.into())).await.unwrap());
        // As a head-office node runs (`Hq::open` turns it off for tests).
        hq.set_poll_bounds(poll_bounds);
        let _ = opened_in.set(Arc::clone(&hq));
        let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
        service::serve(listener, hq, async {
            let _ = stopped.await;
        })
        .await
    });
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let prepared = Instant::now();
    // Three tills a store.
    let creds = loadgen::provision_at_stores(&http, &base, ADMIN, terminals, terminals / 3)
        .await
        .unwrap();
    eprintln!(
        "chain: {terminals} tills provisioned in {:.1} s (untimed)",
        prepared.elapsed().as_secs_f64()
    );
    // Each till enrolls its members (one untimed batch), then pulls its
    // store's downlink to the end.
    let start_at = chrono::Utc::now().fixed_offset() - chrono::Duration::days(3);
    let mut counters: Vec<Counter> = creds
        .into_iter()
        .map(|c| Counter {
            till: Till::new(c, MEMBERS_PER_TILL).with_mix(Mix::Sales),
            cursor: None,
        })
        .collect();
    // A few at a time: head office admits a bounded number of uploads at
    // once and answers the rest `503 busy`.
    let enrollments: Vec<_> = counters
        .iter_mut()
        .map(|c| {
            let batch = c.till.batch(MEMBERS_PER_TILL, start_at).unwrap();
            c.till
                .credentials()
                .upload_request(batch, chrono::Utc::now().timestamp())
                .unwrap()
        })
        .collect();
    let sent: Vec<_> = futures_util::stream::iter(enrollments)
        .map(|request| loadgen::send(&http, &base, request))
        .buffer_unordered(8)
        .collect()
        .await;
    assert!(
        sent.iter().all(Result::is_ok),
        "every enrollment batch taken"
    );
    eprintln!(
        "chain: {} members enrolled, {:.1} s from the start (untimed)",
        terminals * MEMBERS_PER_TILL,
        prepared.elapsed().as_secs_f64()
    );
    // Catching up. A new till's first pull brings the whole chain-wide
    // log: every till's card key (10,800 at full size). One till pulls it
    // all from an empty cursor, timed and printed; every other till starts
    // from that till's cursor, as if it had received the same chain-wide
    // changes, and pulls its own store's rest of the log. Pulling the card
    // keys once per till (116 million changes at full size) is what is not
    // run.
    // A cursor names the change it stopped at, and a till of another
    // store does not read a store's change: it would start its log again.
    // So a last registration (a spare till, not in the workload) puts a
    // chain-wide change, its card key, at the log's end for the first
    // till's pull to stop at.
    loadgen::provision_at_stores(&http, &base, ADMIN, 1, 1)
        .await
        .unwrap();
    let warm = Arc::new(Tally::default());
    let mut held = std::collections::HashSet::new();
    let first_pull = Instant::now();
    pull(&http, &base, &mut counters[0], &warm, Some(&mut held))
        .await
        .unwrap();
    let first_pull_s = first_pull.elapsed().as_secs_f64();
    let (first_pages, first_bytes) = (
        warm.polls.load(Ordering::Relaxed),
        warm.poll_bytes.load(Ordering::Relaxed),
    );
    let shared_cursor = counters[0].cursor.clone();
    let rest: Vec<_> = counters
        .split_off(1)
        .into_iter()
        .map(|mut counter| {
            counter.cursor.clone_from(&shared_cursor);
            let (http, base, warm) = (http.clone(), base.clone(), Arc::clone(&warm));
            async move {
                pull(&http, &base, &mut counter, &warm, None).await.unwrap();
                counter
            }
        })
        .collect();
    let caught_up: Vec<Counter> = futures_util::stream::iter(rest)
        .buffered(16)
        .collect()
        .await;
    counters.extend(caught_up);
    assert_eq!(
        warm.resyncs.load(Ordering::Relaxed),
        0,
        "every till caught up from the first till's cursor"
    );
    let chain_members = terminals * MEMBERS_PER_TILL;
    eprintln!(
        "chain: {terminals} tills provisioned, {chain_members} members enrolled and every till caught up in {:.1} s (untimed); one new till's first pull of the whole log: {first_pages} pages, {first_bytes} bytes in {first_pull_s:.1} s; it holds {} members of the chain's {chain_members}",
        prepared.elapsed().as_secs_f64(),
        held.len()
    );

    // Phase 1: uploads only.
    let uploads_only = Arc::new(Tally::default());
    let (cpu0, pg0) = (server_cpu_seconds(), cpu_seconds(port).1);
    let alone_started = Instant::now();
    let counters = phase(
        &http,
        &base,
        counters,
        timed / 2,
        false,
        Arc::clone(&uploads_only),
        start_at,
    )
    .await;
    let (cpu_alone, pg_alone) = (server_cpu_seconds(), cpu_seconds(port).1);
    let alone_elapsed = alone_started.elapsed().as_secs_f64();
    // Untimed: every till catches up with what the first phase wrote (each
    // till's own upload and its store's, 30 s of them), as a till that
    // polls every 5 s always has; else the second phase would open with
    // every till pulling half a minute's backlog at once.
    let between = Instant::now();
    let catch_up = Arc::new(Tally::default());
    let pulls: Vec<_> = counters
        .into_iter()
        .map(|mut counter| {
            let (http, base, tally) = (http.clone(), base.clone(), Arc::clone(&catch_up));
            async move {
                pull(&http, &base, &mut counter, &tally, None)
                    .await
                    .unwrap();
                counter
            }
        })
        .collect();
    let counters: Vec<Counter> = futures_util::stream::iter(pulls)
        .buffered(16)
        .collect()
        .await;
    eprintln!(
        "chain: between the phases every till caught up again in {:.1} s (untimed, {} pages)",
        between.elapsed().as_secs_f64(),
        catch_up.polls.load(Ordering::Relaxed)
    );
    let (cpu1, pg1) = (server_cpu_seconds(), cpu_seconds(port).1);
    // Phase 2: the uplink's whole rounds.
    let cached_polls = || {
        opened
            .get()
            .map_or(0, |hq| hq.metrics().downlink_polls_cached.get())
    };
    let cached0 = cached_polls();
    let full = Arc::new(Tally::default());
    let phase_started = Instant::now();
    let _counters = phase(
        &http,
        &base,
        counters,
        timed,
        true,
        Arc::clone(&full),
        start_at,
    )
    .await;
    let elapsed = phase_started.elapsed().as_secs_f64();
    let (cpu2, pg2) = (server_cpu_seconds(), cpu_seconds(port).1);
    let cached = cached_polls() - cached0;
    let _ = stop_hq.send(());
    server.shutdown_background();
    if std::env::var_os("BENCH_PGSS").is_some() {
        super::statement_stats(&super::pool(&url_for_stats)).await;
    }

    let rate = |cpu: f64, secs: f64| cpu / secs;
    let upload_rate = rate((cpu_alone - cpu0) + (pg_alone - pg0), alone_elapsed);
    let full_rate = rate((cpu2 - cpu1) + (pg2 - pg1), elapsed);
    let polls = full.polls.load(Ordering::Relaxed) as f64;
    let poll_us = ((full_rate - upload_rate) * elapsed / polls.max(1.0) * 1e6).max(0.0);
    let bytes_hour =
        full.poll_bytes.load(Ordering::Relaxed) as f64 / terminals as f64 / elapsed * 3600.0;
    let mut acks = full.acks_ms.lock().unwrap().clone();
    let mut poll_ms = full.polls_ms.lock().unwrap().clone();
    let mut acks_alone = uploads_only.acks_ms.lock().unwrap().clone();
    eprintln!(
        "chain: {terminals} tills for {elapsed:.0} s: {} uploads ({} events, {:.0}/s), {polls:.0} polls ({:.0}/s), {} errors; ack p50 {:.0} ms p99 {:.0} ms (uploads alone p99 {:.0} ms); poll p50 {:.0} ms p99 {:.0} ms; head office + PostgreSQL CPU {:.2} cores with polls, {:.2} without; downlink {:.0} bytes per till per hour",
        full.uploads.load(Ordering::Relaxed),
        full.events.load(Ordering::Relaxed),
        full.events.load(Ordering::Relaxed) as f64 / elapsed,
        polls / elapsed,
        full.errors.load(Ordering::Relaxed) + uploads_only.errors.load(Ordering::Relaxed),
        quantile(&mut acks, 0.5),
        quantile(&mut acks, 0.99),
        quantile(&mut acks_alone, 0.99),
        quantile(&mut poll_ms, 0.5),
        quantile(&mut poll_ms, 0.99),
        full_rate,
        upload_rate,
        bytes_hour
    );
    let mut kinds = uploads_only.error_kinds.lock().unwrap().clone();
    for (kind, n) in full.error_kinds.lock().unwrap().iter() {
        *kinds.entry(kind.clone()).or_default() += n;
    }
    if !kinds.is_empty() {
        eprintln!("chain: errors by kind: {kinds:?}");
    }
    eprintln!(
        "chain: {cached} of the {polls:.0} polls ({:.0}%) answered nothing new from the poll cache",
        cached as f64 * 100.0 / polls.max(1.0)
    );
    eprintln!(
        "chain: CPU seconds uploads alone: head office {:.2}, PostgreSQL {:.2}; full rounds: head office {:.2}, PostgreSQL {:.2}",
        cpu_alone - cpu0,
        pg_alone - pg0,
        cpu2 - cpu1,
        pg2 - pg1
    );
    line("hq.chain_ack_p99_ms", quantile(&mut acks, 0.99), "ms");
    line("hq.chain_poll_p99_ms", quantile(&mut poll_ms, 0.99), "ms");
    line("hq.downlink_cpu_us_per_terminal_poll", poll_us, "us");
    line("hq.downlink_bytes_per_terminal_hour", bytes_hour, "bytes");
    line(
        "hq.chain_members_held_per_till",
        held.len() as f64,
        "members",
    );
}
