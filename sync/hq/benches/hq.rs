//! Head-office benchmark (`cargo bench -p tillcard-hq`; `BENCH_QUICK=1`
//! for a ~30 s run). Prints `bench: <name> = <value> <unit>` lines:
//!
//! - `hq.batches_per_s`, `hq.ack_p50_ms`, `hq.ack_p99_ms`: 1,000 simulated
//!   terminals (provisioned, signing every request) uploading concurrently
//!   over HTTP to one head office on the SQLite backend.
//! - `hq.ingest_events_per_s`: the same kind of load on PostgreSQL (full
//!   path: HTTP, signature, decode, plan, one transaction per batch).
//! - `hq.raw_insert_events_per_s`: a plain batched INSERT of the same rows
//!   (same batch size and concurrency, as many connections as head office's
//!   pool, same PostgreSQL, same run).
//! - `hq.ingest_ratio`: the first over the second.
//!
//! - `hq.downlink_first_pull_cpu_ms`, `hq.downlink_further_pull_cpu_ms`,
//!   `hq.downlink_pull_member_snapshots`: terminals pulling a store's whole
//!   change log from an empty cursor (`hq/downlink.rs` says the workload).
//! - `hq.reverify_sale_us`: head office's second pricing of one member's
//!   sale (`rules::reverify`, what ingest runs per sale event): five lines
//!   in three categories, a coupon, points redeemed; mean over 20,000
//!   (5,000 with `BENCH_QUICK=1`) sales, in this process, no database.
//! - `hq.ingest_many_members_events_per_s`, `hq.ingest_many_members_ratio`:
//!   ingest of a store's kind of batch: every event for a different member,
//!   sales earning points (a top-up every tenth visit) to members enrolled
//!   beforehand (each terminal's enrollment batch uploaded before the
//!   clock; full runs also print the rate with it timed too, on stderr);
//!   over the median raw INSERT rate.
//! - `hq.tier_evaluation_1m_s` (`hq.tier_evaluation_100k_s` with
//!   `BENCH_QUICK=1`): the daily tier evaluation over members with
//!   purchase histories (`hq/tiers.rs` says the workload).
//! - `hq.burst_drain_s`, `hq.burst_ack_p99_ms`: 10,800 terminals back
//!   after a 10-minute outage all reconnect within a minute and send their
//!   backlogs (`hq/burst.rs` says the workload).
//! - `hq.failover_resume_s`: uploads through HAProxy stopped by the loss of
//!   the PostgreSQL primary, until every terminal is acknowledged again
//!   (`hq/failover.rs`; needs Debian's patroni, etcd-server, haproxy).
//! - `hq.campaign_issue_1m_s`: one run of a campaign (sleeping 90 days or
//!   more and tagged `vip`, a 10% control group, one coupon each) over
//!   1,000,000 members on SQLite, each with one sale spread over the last
//!   360 days and every fifth tagged: about 150,000 match, 135,000 get a
//!   coupon. Seeded by SQL, then timed from the run's start to its end
//!   (facts read in pages, the plan, grants written 1,000 a transaction).
//!   The same size with `BENCH_QUICK=1`.
//!
//! The PostgreSQL figures are medians over interleaved rounds (5; 3 with
//! `BENCH_QUICK=1`, same size), each on a fresh database: ingest, then the plain
//! INSERT; the ratio is the median of each round's own ratio. Every round's
//! figures are printed on stderr. Both sides are timed warm, as a head
//! office that has been running is: before the ingest, other terminals
//! (twice the pool's connections) upload two batches each, untimed, so
//! every pooled connection is open with its statements prepared; before
//! the plain INSERT, each connection of its pool inserts a row of its own.
//! Measured cold, the first round paid for opening connections and
//! preparing statements inside the timed second, and the ingest (seven
//! statements, seven tables) paid more for it than the plain INSERT (one of
//! each): about 0.03 off the ratio.
//!
//! Beside the figures it prints (on stderr) the CPU seconds per 1,000
//! events spent in this process (head office and the simulated terminals)
//! and in PostgreSQL during each PostgreSQL phase, since both share the
//! machine's cores. `BENCH_ONLY=postgres` skips the SQLite part (for
//! profiling the ingest path alone); `BENCH_PGSS=1` loads
//! pg_stat_statements into the throwaway PostgreSQL and prints its
//! per-statement figures; `BENCH_ONLY=downlink` runs the downlink part
//! alone, `BENCH_ONLY=tiers` the tier evaluation (`hq/tiers.rs`),
//! `BENCH_ONLY=burst` the reconnection burst, `BENCH_ONLY=chain` a chain's
//! ordinary day (`hq/chain.rs`), `BENCH_ONLY=failover` the failover of the HA cluster (`hq/failover.rs`),
//! `BENCH_ONLY=many` one round of the plain INSERT and the store-like batches; `BENCH_MARKS=1` prints when the upload phase and
//! the plain INSERT's start and end on CLOCK_MONOTONIC, for
//! `perf record -k CLOCK_MONOTONIC` and `perf report --time`.

// clippy.toml keeps database connections in the store modules; a bench compares against (or prepares) a database directly.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "benchmark harness")]

#[path = "../tests/util/pg.rs"]
#[allow(dead_code, reason = "shared with the tests")]
mod pg;

#[path = "hq/downlink.rs"]
mod downlink;

#[path = "hq/tiers.rs"]
mod tiers;

#[path = "../tests/util/ha.rs"]
mod ha;

#[path = "hq/failover.rs"]
mod failover;

#[path = "hq/burst.rs"]
mod burst;

#[path = "hq/chain.rs"]
mod chain;

use std::sync::Arc;
use std::time::Instant;

use tillcard_hq::loadgen::{self, Mix};
use tillcard_hq::service::{self, Hq};
use tillcard_hq::store::Store;

// Head office's own allocator (src/bin/tillcard-hq.rs): the bench runs
// head office in this process.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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

type Work = Vec<(
    tillcard_protocol::client::TerminalCredentials,
    Vec<Vec<tillcard_protocol::wire::OutboxEvent>>,
)>;

async fn load(
    base: &str,
    terminals: usize,
    batches: usize,
    events: usize,
) -> (loadgen::LoadReport, Work) {
    let (r, work, _) =
        load_measured(base, terminals, batches, events, 1, Mix::TopUps, None, 0).await;
    (r, work)
}

/// Provisions, builds and encodes the batches, then uploads them; also
/// returns the CPU seconds (this process, PostgreSQL on `port`) used while
/// uploading.
/// `untimed_first`: how many of each terminal's first batches are
/// uploaded before the clock starts (members enrolled beforehand); the
/// returned work is the timed batches.
#[allow(
    clippy::too_many_arguments,
    reason = "a bench's knobs, named at each call"
)]
async fn load_measured(
    base: &str,
    terminals: usize,
    batches: usize,
    events: usize,
    members: usize,
    mix: Mix,
    port: Option<u16>,
    untimed_first: usize,
) -> (loadgen::LoadReport, Work, (f64, f64)) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    let creds = loadgen::provision(&client, base, ADMIN, terminals)
        .await
        .unwrap();
    let start = chrono::Utc::now().fixed_offset();
    let build =
        |creds: Vec<tillcard_protocol::client::TerminalCredentials>, batches: usize| -> Work {
            creds
                .into_iter()
                .map(|c| {
                    let mut till = loadgen::Till::new(c.clone(), members).with_mix(mix);
                    let b = (0..batches)
                        .map(|_| till.batch(events, start).unwrap())
                        .collect();
                    (c, b)
                })
                .collect()
        };
    let mut work = build(creds, batches);
    if untimed_first > 0 {
        let first: Work = work
            .iter_mut()
            .map(|(c, b)| (c.clone(), b.drain(..untimed_first.min(b.len())).collect()))
            .collect();
        let done = loadgen::run_encoded(&client, base, loadgen::encode(first)).await;
        assert_eq!(done.errors, 0);
    }
    let encoded = loadgen::encode(work.clone());
    if port.is_some() {
        // PostgreSQL phases are measured warm, as a head office that has
        // been running is: other terminals first upload two batches each
        // (an enrollment's and a top-up's or sale's), untimed, so every
        // pooled connection is open and has its statements prepared. The
        // plain INSERT is warmed the same way (`postgres_round`).
        // Twice the pool's connections, so each serves a few batches.
        let warm_up_terminals = 2 * tillcard_hq::store::postgres::default_pool_size();
        let warm_creds = loadgen::provision(&client, base, ADMIN, warm_up_terminals)
            .await
            .unwrap();
        let warm = loadgen::run_encoded(&client, base, loadgen::encode(build(warm_creds, 2))).await;
        assert_eq!(warm.errors, 0);
    }
    let before = port.map(cpu_seconds);
    // For `perf report --time`: the upload phase on CLOCK_MONOTONIC
    // (`perf record -k CLOCK_MONOTONIC`).
    let marks = std::env::var_os("BENCH_MARKS").is_some();
    if marks {
        eprintln!("upload phase starts at {:?}", Instant::now());
    }
    let report = loadgen::run_encoded(&client, base, encoded).await;
    if marks {
        eprintln!("upload phase ends at {:?}", Instant::now());
    }
    let cpu = match (before, port.map(cpu_seconds)) {
        (Some(b), Some(a)) => (a.0 - b.0, a.1 - b.1),
        _ => (0.0, 0.0),
    };
    (report, work, cpu)
}

/// CPU seconds used so far by this process and by the PostgreSQL cluster
/// listening on `port` (its postmaster, the children it has reaped, and its
/// live backends), read from `/proc`.
fn cpu_seconds(port: u16) -> (f64, f64) {
    let tick = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
        .unwrap_or(100.0);
    // Fields after the command name: state is [0], ppid [1], utime [11],
    // stime [12], cutime [13], cstime [14].
    let stat = |pid: &str| -> Option<Vec<String>> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let rest = &text[text.rfind(')')? + 2..];
        Some(rest.split(' ').map(str::to_string).collect())
    };
    let ticks = |f: &[String], from: usize, to: usize| -> f64 {
        f[from..=to]
            .iter()
            .map(|v| v.parse::<f64>().unwrap_or(0.0))
            .sum()
    };
    let own = stat("self").map_or(0.0, |f| ticks(&f, 11, 12)) / tick;
    let needle = format!("-p {port} ");
    let mut pg = 0.0;
    let mut postmaster = None;
    let pids: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    for pid in &pids {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains("postgres")
            && cmdline.contains(&needle)
            && let Some(f) = stat(pid)
        {
            pg += ticks(&f, 11, 14);
            postmaster = Some(pid.clone());
        }
    }
    if let Some(postmaster) = postmaster {
        for pid in &pids {
            if let Some(f) = stat(pid)
                && f[1] == postmaster
            {
                pg += ticks(&f, 11, 12);
            }
        }
    }
    (own, pg / tick)
}

/// Prints pg_stat_statements for the bench's database: calls, execution
/// time summed over calls, rows, statement (whitespace folded).
async fn statement_stats(pool: &deadpool_postgres::Pool) {
    let c = pool.get().await.unwrap();
    c.batch_execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .await
        .unwrap();
    let rows = c
        .query(
            "SELECT calls, total_exec_time, rows, wal_bytes::bigint, plans, left(regexp_replace(query, '\\s+', ' ', 'g'), 90)
             FROM pg_stat_statements
             ORDER BY total_exec_time DESC LIMIT 25",
            &[],
        )
        .await
        .unwrap();
    eprintln!("pg_stat_statements: calls, exec ms (summed), rows, WAL bytes, statement");
    for r in rows {
        eprintln!(
            "{:>7} {:>9.1} {:>8} {:>11} {}",
            r.get::<_, i64>(0),
            r.get::<_, f64>(1),
            r.get::<_, i64>(2),
            r.get::<_, i64>(3),
            r.get::<_, String>(5)
        );
        eprintln!("        planned {} times", r.get::<_, i64>(4));
    }
}

fn line(name: &str, value: f64, unit: &str) {
    // Ratios to three places, so one just under a goal never prints as
    // reaching it.
    let places = if unit == "ratio" { 3 } else { 2 };
    println!("bench: {name} = {value:.places$} {unit}");
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let quick = std::env::var_os("BENCH_QUICK").is_some();
    let only_postgres = std::env::var("BENCH_ONLY").is_ok_and(|v| v == "postgres");
    let total = Instant::now();
    if std::env::var("BENCH_ONLY").is_ok_and(|v| v == "downlink") {
        downlink::downlink_part(quick).await;
        return;
    }
    if std::env::var("BENCH_ONLY").is_ok_and(|v| v == "tiers") {
        tiers::tiers_part(quick).await;
        return;
    }
    if std::env::var("BENCH_ONLY").is_ok_and(|v| v == "burst") {
        burst::burst_part(quick).await;
        return;
    }
    if std::env::var("BENCH_ONLY").is_ok_and(|v| v == "chain") {
        chain::chain_part(quick).await;
        return;
    }
    if std::env::var("BENCH_ONLY").is_ok_and(|v| v == "failover") {
        failover::failover_part(quick).await;
        return;
    }
    if std::env::var("BENCH_ONLY").is_ok_and(|v| v == "many") {
        many_members_part(quick).await;
        return;
    }

    // 1. SQLite: 1,000 terminals.
    if !only_postgres {
        sqlite_part(quick).await;
        downlink::downlink_part(quick).await;
        reverify_part(quick);
        campaign_part().await;
        tiers::tiers_part(quick).await;
    }
    postgres_part(quick).await;
    burst::burst_part(quick).await;
    chain::chain_part(quick).await;
    failover::failover_part(quick).await;
    eprintln!("bench total {:.1} s", total.elapsed().as_secs_f64());
}

async fn sqlite_part(quick: bool) {
    let (terminals, batches, events) = if quick { (1000, 2, 20) } else { (1000, 5, 20) };
    let tmp = tempfile::tempdir().unwrap();
    let store =
        tillcard_hq::store::sqlite::SqliteStore::open(&tmp.path().join("bench.sqlite")).unwrap();
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
}

/// One campaign run over a million members (see the module doc).
async fn campaign_part() {
    const MEMBERS: u128 = 1_000_000;
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("campaign.sqlite");
    let store = tillcard_hq::store::sqlite::SqliteStore::open(&path).unwrap();
    let hq = Hq::open(Arc::new(store), None).await.unwrap();
    let now = chrono::Utc::now().fixed_offset();
    let now_ms = now.timestamp_millis();
    let seeded = Instant::now();
    {
        let mut c = rusqlite::Connection::open(&path).unwrap();
        let tx = c.transaction().unwrap();
        {
            let mut member = tx
                .prepare(
                    "INSERT INTO members (member_id, tags, enrolled_at_ms, tier) VALUES (?1, ?2, ?3, 0)",
                )
                .unwrap();
            let mut sale = tx
                .prepare(
                    "INSERT INTO sales (terminal_id, sale_id, seq, member_id, at_ms, total_fen, lines)
                     VALUES ('bench', ?1, ?2, ?3, ?4, 5000, '[]')",
                )
                .unwrap();
            for i in 0..MEMBERS {
                let id = uuid::Uuid::from_u128(
                    i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835),
                )
                .to_string();
                let tags = if i % 5 == 0 { r#"["vip"]"# } else { "[]" };
                let day = i64::try_from(i % 360).unwrap();
                let at = now_ms - (day + 1) * 86_400_000;
                member
                    .execute(rusqlite::params![id, tags, at - 86_400_000])
                    .unwrap();
                let sale_id = uuid::Uuid::from_u128(i | (1 << 127)).to_string();
                sale.execute(rusqlite::params![sale_id, i as i64, id, at])
                    .unwrap();
            }
        }
        tx.commit().unwrap();
    }
    eprintln!(
        "campaign: seeded {MEMBERS} members with a sale each in {:.1} s",
        seeded.elapsed().as_secs_f64()
    );
    let spec: tillcard_hq::campaigns::CampaignSpec = serde_json::from_value(serde_json::json!({
        "code": "bench-sleepers", "name": "Bench sleepers",
        "coupon": {"code": "x", "kind": {"kind": "amount_off", "off": 2000, "min_spend": 5000},
                   "valid_days": 30},
        "segment": {"tags": ["vip"], "min_days_since_purchase": 90},
        "starts_at": (now - chrono::Duration::minutes(1)).to_rfc3339(),
        "ends_at": (now + chrono::Duration::days(30)).to_rfc3339(),
        "per_member": 1, "budget": 10_000_000, "control_bp": 1000,
    }))
    .unwrap();
    let actor = tillcard_hq::service::back_office::Actor::cli();
    hq.create_campaign(&actor, &spec).await.unwrap();
    let started = Instant::now();
    let run = hq.run_campaign("bench-sleepers", now).await.unwrap();
    let took = started.elapsed().as_secs_f64();
    eprintln!(
        "campaign: {MEMBERS} members, treated {}, control {}, coupons {} in {took:.1} s",
        run.treated, run.control, run.coupons
    );
    assert!(run.treated > 100_000 && run.control > 10_000, "{run:?}");
    line("hq.campaign_issue_1m_s", took, "s");
}

/// The cost of re-pricing one member's sale at head office.
fn reverify_part(quick: bool) {
    use tillcard_rules::ledger::{Coupon, EntryKind, LedgerEntry};
    use tillcard_rules::pricing::{
        self, Basket, BasketLine, Context, MemberProfile, PricingRequest, Shopper,
        StoredValueRequest, TenderRequest,
    };
    use tillcard_rules::program::{CategoryScope, CouponKind};
    use tillcard_rules::reverify::{Held, reverify_sale};
    use tillcard_rules::{
        CouponId, LotId, MemberAccount, MemberId, Money, Program, SourceId, TierLevel,
    };
    use uuid::Uuid;

    let n = if quick { 5_000 } else { 20_000 };
    let program = Program::default();
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-30T10:00:00+08:00").unwrap();
    let categories = ["grocery", "dairy", "household"];
    let sales: Vec<_> = (0..n)
        .map(|i: u128| {
            let member = MemberId(Uuid::from_u128(i + 1));
            let coupon = Coupon {
                id: CouponId {
                    issued_by: SourceId(Uuid::from_u128(i << 64)),
                    index: 0,
                },
                code: "welcome-10-off-50".into(),
                kind: CouponKind::AmountOff {
                    off: Money::from_yuan(10),
                    min_spend: Money::from_yuan(50),
                },
                scope: CategoryScope::All,
                valid_from: at - chrono::Duration::days(1),
                valid_until: at + chrono::Duration::days(30),
                stacks_with_tier_discount: true,
            };
            let entries = [
                EntryKind::CouponIssued {
                    coupon: coupon.clone(),
                },
                EntryKind::PointsEarned {
                    lot: LotId(SourceId(Uuid::from_u128((i << 64) + 1))),
                    points: 5_000,
                    expires_at: at + chrono::Duration::days(300),
                    reason: tillcard_rules::ledger::EarnReason::Purchase,
                },
            ]
            .map(|kind| LedgerEntry {
                member,
                source: SourceId(Uuid::from_u128(i << 64)),
                at,
                kind,
            });
            let mut account = MemberAccount::fold(MemberAccount::new(member), &entries);
            account.tier = TierLevel(u8::try_from(i % 3).unwrap());
            let basket = Basket {
                lines: (0..5)
                    .map(|l: usize| BasketLine {
                        sku: format!("sku-{l}"),
                        name: format!("item {l}"),
                        category: categories[l % 3].into(),
                        quantity: 1 + (l as i64 % 2),
                        unit_price: Money::from_fen(1_990 + 700 * l as i64),
                        list_price: None,
                    })
                    .collect(),
            };
            let profile = MemberProfile {
                id: member,
                birthday: None,
                referred_by: None,
                balances_known: true,
                frozen: false,
            };
            let quote = pricing::price(&PricingRequest {
                quote_id: SourceId(Uuid::from_u128((i << 64) + 2)),
                program: &program,
                basket: &basket,
                shopper: Some(Shopper {
                    profile: &profile,
                    account: &account,
                }),
                context: Context {
                    now: at,
                    offline: false,
                    offline_allowance_left: Money::ZERO,
                },
                tender: &TenderRequest {
                    coupons: vec![coupon.id],
                    redeem_points: 1_000,
                    stored_value: StoredValueRequest::None,
                },
            })
            .unwrap();
            let booked = tillcard_rules::booking::book_sale(
                &program,
                &quote,
                &profile,
                &account,
                tillcard_rules::Authority::Terminal,
            )
            .unwrap();
            (quote, booked, account)
        })
        .collect();
    let started = Instant::now();
    let mut flagged = 0usize;
    for (quote, entries, account) in &sales {
        let held = Held {
            account: Some(account),
            birthday: None,
        };
        let excess = reverify_sale(&program, quote, entries, held).unwrap();
        flagged += usize::from(!excess.is_empty());
    }
    let elapsed = started.elapsed();
    eprintln!(
        "reverify: {n} sales re-priced in {:.1} ms, {flagged} flagged",
        elapsed.as_secs_f64() * 1e3
    );
    assert_eq!(flagged, 0, "an honest sale was flagged");
    line(
        "hq.reverify_sale_us",
        elapsed.as_secs_f64() * 1e6 / n as f64,
        "us",
    );
}

async fn postgres_part(quick: bool) {
    // 2. PostgreSQL: full ingest path vs plain INSERT of the same rows, in
    // interleaved rounds (each phase lasts about a second, so one round
    // moves with whatever else the machine does); the figures are the
    // rounds' medians, the ratio the median of each round's own ratio.
    let rounds = if quick { 3 } else { 5 };
    let mut results = Vec::new();
    for round in 1..=rounds {
        let (ingest, raw) = postgres_round().await;
        eprintln!(
            "postgres round {round}/{rounds}: ingest {ingest:.0} events/s, raw insert {raw:.0} events/s, ratio {:.3}",
            ingest / raw
        );
        results.push((ingest, raw));
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let mid = v.len() / 2;
        if v.len().is_multiple_of(2) {
            (v[mid - 1] + v[mid]) / 2.0
        } else {
            v[mid]
        }
    };
    let ratios: Vec<f64> = results.iter().map(|(i, r)| i / r).collect();
    eprintln!(
        "postgres ratio over {rounds} rounds: {:.3} to {:.3}",
        ratios.iter().copied().fold(f64::INFINITY, f64::min),
        ratios.iter().copied().fold(0.0, f64::max)
    );
    line(
        "hq.ingest_events_per_s",
        median(results.iter().map(|r| r.0).collect()),
        "events/s",
    );
    line(
        "hq.raw_insert_events_per_s",
        median(results.iter().map(|r| r.1).collect()),
        "events/s",
    );
    line("hq.ingest_ratio", median(ratios), "ratio");

    // The figures above follow the load generator's default: one member per
    // terminal, so a batch of 100 events updates one member. A store's
    // batch is sales of different members: here each batch's events are
    // sales (a top-up every tenth visit) for as many members (fresh ones:
    // their histories stay short).
    let raw = median(results.iter().map(|r| r.1).collect());
    let many = many_members_round(quick, true).await;
    line("hq.ingest_many_members_events_per_s", many, "events/s");
    line("hq.ingest_many_members_ratio", many / raw, "ratio");
    // The same with the enrollment batch timed too (the figure before
    // 2026-12-07: a third of the events were enrollments); full runs only,
    // to keep the quick run within its time.
    if !quick {
        let with_enrollments = many_members_round(quick, false).await;
        eprintln!(
            "postgres ingest, enrollment batch timed too: {with_enrollments:.0} events/s, ratio {:.3}",
            with_enrollments / raw
        );
    }
}

/// `BENCH_ONLY=many`: the store-like batches alone, against one round's
/// plain INSERT (for profiling the many-members write path).
async fn many_members_part(quick: bool) {
    let (_, raw) = postgres_round().await;
    let many = many_members_round(quick, true).await;
    eprintln!(
        "many members: {many:.0} events/s against a plain INSERT of {raw:.0} rows/s: ratio {:.3}",
        many / raw
    );
}

/// Ingest on a fresh database with every event of a batch for a different
/// member; returns events/s. Each terminal's first batch enrolls its
/// members; `enrolled_before` uploads it before the clock, so that the
/// timed batches are a store's ordinary ones (sales to members enrolled
/// earlier, a top-up every tenth visit).
async fn many_members_round(quick: bool, enrolled_before: bool) -> f64 {
    let (terminals, timed, events) = if quick { (100, 2, 100) } else { (200, 3, 100) };
    let untimed = usize::from(enrolled_before);
    let batches = timed + untimed;
    let (ingest, _, url) = ingest_on_fresh_database(
        &format!(
            "postgres ingest, {events} members per batch{}",
            if enrolled_before {
                ", enrolled beforehand"
            } else {
                ""
            }
        ),
        (terminals, batches, events),
        events,
        Mix::Sales,
        untimed,
    )
    .await;
    if std::env::var_os("BENCH_PGSS").is_some() {
        statement_stats(&pool(&url)).await;
    }
    ingest
}

/// Provisions terminals on a head office over a fresh PostgreSQL database
/// and uploads `shape` (terminals, batches each, events each) dealt to
/// `members` members per terminal; prints the run and its CPU, returns
/// events/s, the uploaded work and the database's URL.
async fn ingest_on_fresh_database(
    label: &str,
    (terminals, batches, events): (usize, usize, usize),
    members: usize,
    mix: Mix,
    untimed_first: usize,
) -> (f64, Work, String) {
    let url = pg::fresh_database().await;
    let store = tillcard_hq::store::postgres::PgStore::connect(&url)
        .await
        .unwrap();
    let (base, stop) = start_hq(Arc::new(store)).await;
    let port = pg::cluster().port;
    let (r, work, cpu) = load_measured(
        &base,
        terminals,
        batches,
        events,
        members,
        mix,
        Some(port),
        untimed_first,
    )
    .await;
    let _ = stop.send(());
    assert_eq!(r.errors, 0);
    eprintln!(
        "{label}: {} events in {} batches, {:.2} s ({} uploads refused busy and sent again); CPU per 1,000 events: {:.4} s in head office + simulated terminals, {:.4} s in PostgreSQL",
        r.events,
        r.batches,
        r.elapsed.as_secs_f64(),
        r.busy_retries,
        cpu.0 * 1000.0 / r.events as f64,
        cpu.1 * 1000.0 / r.events as f64,
    );
    (r.events as f64 / r.elapsed.as_secs_f64(), work, url)
}

/// A pool to `url` of head office's default size (also the plain INSERT's
/// best here: with 6 connections on 2 cores it ran about 10% faster than
/// with 16).
fn pool(url: &str) -> deadpool_postgres::Pool {
    let mut cfg = deadpool_postgres::Config::new();
    cfg.url = Some(url.to_string());
    cfg.pool = Some(deadpool_postgres::PoolConfig::new(
        tillcard_hq::store::postgres::default_pool_size(),
    ));
    cfg.create_pool(
        Some(deadpool_postgres::Runtime::Tokio1),
        tokio_postgres::NoTls,
    )
    .unwrap()
}

/// The plain INSERT. Set-returning functions in the select list stream
/// their rows; `FROM unnest(...)` stores them first (a tuple store per
/// call), 5-10% slower here. Head office writes this way too.
const RAW_INSERT: &str = "INSERT INTO raw_events
    SELECT $1, unnest($2::bigint[]), unnest($3::text[]), unnest($4::text[])";

/// One round on a fresh database: ingest through head office, then the
/// plain INSERT of the same rows; returns both rates in events/s.
async fn postgres_round() -> (f64, f64) {
    // The same in quick runs: shorter phases read as noise (a third of a
    // second each gave ratios 0.05 lower than the full run's).
    let shape = (200, 5, 100);
    let (ingest, work, url) =
        ingest_on_fresh_database("postgres ingest", shape, 1, Mix::TopUps, 0).await;
    let port = pg::cluster().port;
    let pool = pool(&url);
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
    // Warm, as the ingest is (`load_measured`): every connection of the
    // pool opened and its statement prepared by a row of its own first.
    let warm_up = (0..tillcard_hq::store::postgres::default_pool_size()).map(|n| {
        let pool = pool.clone();
        async move {
            let client = pool.get().await.unwrap();
            let stmt = client.prepare_cached(RAW_INSERT).await.unwrap();
            let (tid, seqs) = (format!("warm-up-{n}"), vec![1_i64]);
            let (ids, bodies) = (vec![tid.clone()], vec![String::from("{}")]);
            client
                .execute(&stmt, &[&tid, &seqs, &ids, &bodies])
                .await
                .unwrap();
        }
    });
    futures_util::future::join_all(warm_up).await;
    let cpu_before = cpu_seconds(port);
    let marks = std::env::var_os("BENCH_MARKS").is_some();
    if marks {
        eprintln!("raw insert phase starts at {:?}", Instant::now());
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (tid, batches) in prepared {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            for (seqs, ids, bodies) in batches {
                let client = pool.get().await.unwrap();
                let stmt = client.prepare_cached(RAW_INSERT).await.unwrap();
                client
                    .execute(&stmt, &[&tid, &seqs, &ids, &bodies])
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let raw = rows as f64 / started.elapsed().as_secs_f64();
    if marks {
        eprintln!("raw insert phase ends at {:?}", Instant::now());
    }
    let cpu_after = cpu_seconds(port);
    eprintln!(
        "postgres raw insert: {rows} rows, {:.2} s; CPU per 1,000 rows: {:.4} s in this process, {:.4} s in PostgreSQL",
        started.elapsed().as_secs_f64(),
        (cpu_after.0 - cpu_before.0) * 1000.0 / rows as f64,
        (cpu_after.1 - cpu_before.1) * 1000.0 / rows as f64,
    );
    if std::env::var_os("BENCH_PGSS").is_some() {
        statement_stats(&pool).await;
    }
    (ingest, raw)
}
