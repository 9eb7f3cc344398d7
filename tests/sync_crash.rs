//! SIGKILL during sync (issue 22): a child process rings up sales and runs
//! the real uplink against a head office this test serves (so it survives
//! every kill) through a proxy this test controls, and is killed with
//! SIGKILL again and again (800 times by default; `TILLCARD_SYNC_CRASH_KILLS`
//! sets the number): at random moments while it uploads, and, every fourth
//! kill, deterministically in the window after head office answered an
//! upload with 200 and before the terminal recorded the ack (the proxy
//! holds that answer and reports it; then the child is killed).
//!
//! After every kill the store must open, pass its integrity check, keep a
//! gapless outbox sequence, hold every sale the child printed as committed,
//! and never have recorded an ack beyond what head office holds; after a
//! kill in the ack window head office must hold more than the terminal
//! recorded (the window was hit). At the end the terminal drains and the
//! set checker finds every event at head office exactly once and every
//! printed sale there. With `tests/store_crash.rs` (200 kills) that is
//! 1,000 SIGKILLs by default.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]
// clippy.toml keeps database connections in the store modules; this test
// reads both ends' files directly to check them after each kill.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

#[path = "util/fault_proxy.rs"]
mod fault_proxy;
#[path = "util/set_check.rs"]
mod set_check;
#[path = "util/sync.rs"]
mod sync_util;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fault_proxy::{ExchangeFaults, FaultProxy};
use tillcard::clock::{Clock, SystemClock};
use tillcard::rules::booking::TopUp;
use tillcard::rules::pricing::{Basket, BasketLine, StoredValueRequest, TenderRequest};
use tillcard::rules::tenders::{Payment, TenderKind};
use tillcard::rules::{MemberId, Money};
use tillcard::store::handle::StoreHandle;
use tillcard::store::members::EnrollRequest;
use tillcard::store::{PinHashCost, Store, StoreConfig};
use tillcard::uplink::{Uplink, UplinkConfig, UplinkStatus, provision};
use tokio::sync::watch;

const DB_ENV: &str = "TILLCARD_SYNC_CRASH_DB";
const URL_ENV: &str = "TILLCARD_SYNC_CRASH_URL";
const SEED_ENV: &str = "TILLCARD_SYNC_CRASH_SEED";
const MEMBERS: u32 = 6;
/// Every this many kills, one in the window after head office's 200.
const ACK_WINDOW_EVERY: usize = 4;

fn kills() -> usize {
    std::env::var("TILLCARD_SYNC_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(800)
}

fn store_config() -> StoreConfig {
    StoreConfig {
        pin_cost: PinHashCost::TEST_ONLY,
        ..StoreConfig::new("T-CRASH", sync_util::test_key())
    }
}

/// xorshift64*: small, seeded.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// The child: rings up sales (printing each after its commit returned) and
/// runs the uplink until killed. Runs only when the parent starts this
/// binary with `--ignored` and the environment.
#[test]
#[ignore = "child process of sigkill_during_sync"]
fn sync_crash_child() {
    let (Ok(path), Ok(url)) = (std::env::var(DB_ENV), std::env::var(URL_ENV)) else {
        return;
    };
    let seed: u64 = std::env::var(SEED_ENV).unwrap().parse().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let store = Store::open(Path::new(&path), store_config(), clock.clone()).unwrap();
    let handle = StoreHandle::spawn(store).unwrap();
    let (status_tx, _status) = watch::channel(UplinkStatus::default());
    let config = UplinkConfig {
        saved_files: None,
        batch_size: 20,
        min_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        idle_poll: Duration::from_millis(10),
        request_timeout: Duration::from_secs(5),
        ..UplinkConfig::new(url)
    };
    let uplink = Uplink::new(handle.clone(), clock, config, status_tx).unwrap();
    let (_stop, shutdown) = watch::channel(false);
    runtime.spawn(uplink.run(shutdown));
    let members: Vec<MemberId> = handle
        .call(|s| {
            (0..MEMBERS)
                .map(|n| Ok(s.find_member_by_phone(&phone(n))?.unwrap().id))
                .collect()
        })
        .unwrap();
    let clerk = handle.call(|s| s.login("c1", "3817")).unwrap();
    println!("ready");
    let mut rng = Rng::new(seed);
    loop {
        let member = members[rng.below(u64::from(MEMBERS)) as usize];
        let pick = rng.next_u64();
        let clerk = clerk.clone();
        if pick.is_multiple_of(20) {
            handle
                .call(move |s| s.top_up(&clerk, member, &TopUp::Package("500+50".into())))
                .unwrap();
            continue;
        }
        let basket = Basket {
            lines: vec![BasketLine {
                sku: format!("sku{}", pick % 20),
                name: "item".into(),
                category: "grocery".into(),
                quantity: 1 + ((pick >> 8) % 3) as i64,
                unit_price: Money::from_fen(300 + ((pick >> 16) % 4000) as i64),
                list_price: None,
            }],
        };
        let tender = TenderRequest {
            stored_value: if (pick >> 32).is_multiple_of(3) {
                StoredValueRequest::AsMuchAsPossible
            } else {
                StoredValueRequest::None
            },
            ..TenderRequest::default()
        };
        let walk_in = (pick >> 40).is_multiple_of(10);
        let sale = handle
            .call(move |s| {
                let quote = s.price((!walk_in).then_some(member), &basket, &tender, false)?;
                Ok(s.commit_sale(
                    &clerk,
                    &quote,
                    &Payment::single(TenderKind::Cash, quote.amount_due),
                )?
                .sale)
            })
            .unwrap();
        println!("committed sale {}", sale.0);
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn phone(n: u32) -> String {
    format!("1390000{n:04}")
}

/// Head office's acknowledgement of `terminal_id` (read from its file).
fn hq_acked(hq_path: &Path, terminal_id: &str) -> u64 {
    let conn =
        rusqlite::Connection::open_with_flags(hq_path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    conn.query_row(
        "SELECT acked_seq FROM terminals WHERE terminal_id = ?1",
        [terminal_id],
        |r| r.get::<_, i64>(0),
    )
    .unwrap() as u64
}

/// What the store must satisfy after a kill: it opens (integrity checked),
/// its outbox is gapless and in step with `next_seq`, every sale the child
/// printed is there, and the acknowledged events are a prefix of the
/// outbox. Returns (events, the last acknowledged seq).
fn check_store(path: &Path, printed: &[String]) -> (u64, u64) {
    let store = Store::open(path, store_config(), Arc::new(SystemClock::new())).unwrap();
    store.integrity_check().unwrap();
    drop(store);
    let conn = sync_util::raw(path);
    let seqs: Vec<i64> = conn
        .prepare("SELECT seq FROM outbox ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (i, seq) in seqs.iter().enumerate() {
        assert_eq!(*seq, i as i64 + 1, "outbox sequence has a gap");
    }
    let next_seq: i64 = conn
        .query_row("SELECT next_seq FROM terminal", [], |r| r.get(0))
        .unwrap();
    assert_eq!(next_seq, seqs.len() as i64 + 1, "next_seq out of step");
    let (acked_rows, acked_max): (i64, i64) = conn
        .query_row(
            "SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM outbox WHERE acked = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        acked_rows, acked_max,
        "acknowledged events are not a prefix"
    );
    let sales: BTreeSet<String> = conn
        .prepare("SELECT sale_id FROM sales")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for sale in printed {
        assert!(
            sales.contains(sale),
            "sale {sale} was printed committed but is missing"
        );
    }
    (seqs.len() as u64, acked_max as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_sync_loses_and_doubles_nothing() {
    tillcard::logging::init_for_tests();
    let kills = kills();
    let dir = tempfile::tempdir().unwrap();
    let hq_path = dir.path().join("hq.sqlite");
    let (hq_store, hq) = sync_util::sqlite_hq(dir.path()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hq_addr = listener.local_addr().unwrap();
    tokio::spawn(tillcard_hq::service::serve(
        listener,
        hq.clone(),
        std::future::pending(),
    ));
    let proxy = FaultProxy::start(hq_addr, ExchangeFaults::NONE, 0x51C4).await;

    // The terminal: provisioned, members enrolled and topped up, closed.
    let path = dir.path().join("terminal.sqlite");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let members = {
        let handle = sync_util::terminal_with_cashier(dir.path(), "T-CRASH", clock.clone());
        let code = hq.issue_code("crash").await.unwrap();
        provision(&handle, &format!("http://{hq_addr}"), &code, None, None)
            .await
            .unwrap();
        let setup = handle.clone();
        tokio::task::spawn_blocking(move || {
            setup
                .call(|s| {
                    let clerk = s.login("c1", "3817")?;
                    let mut ids = Vec::new();
                    for n in 0..MEMBERS {
                        let request = EnrollRequest {
                            phone: phone(n),
                            name: None,
                            birthday: None,
                            consent: true,
                            referred_by: None,
                        };
                        let id = s.enroll(&clerk, &request)?.member.id;
                        s.top_up(&clerk, id, &TopUp::Package("1000+150".into()))?;
                        ids.push(id);
                    }
                    Ok(ids)
                })
                .unwrap()
        })
        .await
        .unwrap()
    };
    let terminal_id = set_check::committed(&path).terminal_id;

    let exe = std::env::current_exe().unwrap();
    let mut rng = Rng::new(0x5EED_5C4A);
    let mut printed: Vec<String> = Vec::new();
    let (mut mid_upload, mut after_200) = (0usize, 0usize);
    let started = Instant::now();
    for round in 0..kills {
        let mut child = Command::new(&exe)
            .args([
                "sync_crash_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(DB_ENV, &path)
            .env(URL_ENV, proxy.url())
            .env(SEED_ENV, (round as u64 + 1).to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let seen = Arc::new(Mutex::new(Vec::<String>::new()));
        let ready = Arc::new(AtomicBool::new(false));
        let reader = {
            let (seen, ready) = (seen.clone(), ready.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    // libtest writes "test sync_crash_child ... " first,
                    // on the line the child's first print ends.
                    if line.ends_with("ready") {
                        ready.store(true, Ordering::SeqCst);
                    } else if let Some(id) = line.strip_prefix("committed sale ") {
                        seen.lock().unwrap().push(id.to_owned());
                    }
                }
            })
        };
        let in_window = round % ACK_WINDOW_EVERY == ACK_WINDOW_EVERY - 1;
        if in_window {
            // Hold head office's next 200 to an upload, then kill.
            let mut hold = proxy.arm_hold();
            let held = tokio::time::timeout(Duration::from_secs(60), &mut hold.held).await;
            assert!(
                matches!(held, Ok(Ok(()))),
                "no upload was answered within 60 s"
            );
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            drop(hold); // the held answer is never delivered
            after_200 += 1;
        } else {
            let deadline = Instant::now() + Duration::from_secs(60);
            while !ready.load(Ordering::SeqCst) {
                assert!(
                    Instant::now() < deadline && child.try_wait().unwrap().is_none(),
                    "the child did not start"
                );
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            tokio::time::sleep(Duration::from_millis(rng.below(150))).await;
            if proxy.upload_in_flight() {
                mid_upload += 1;
            }
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
        }
        reader.join().unwrap();
        printed.extend(seen.lock().unwrap().drain(..));
        let (_, acked) = tokio::task::block_in_place(|| check_store(&path, &printed));
        let at_hq = hq_acked(&hq_path, &terminal_id);
        assert!(
            acked <= at_hq,
            "the terminal recorded an ack ({acked}) beyond head office's ({at_hq})"
        );
        if in_window {
            assert!(
                acked < at_hq,
                "kill {round} was meant to fall after head office's 200 ({at_hq}) and before the ack ({acked})"
            );
        }
    }
    let killing = started.elapsed();

    // Drain, then the set check.
    let handle =
        StoreHandle::spawn(Store::open(&path, store_config(), clock.clone()).unwrap()).unwrap();
    let status =
        sync_util::sync_until_idle(&handle, &format!("http://{hq_addr}"), clock.clone(), None)
            .await;
    let committed = set_check::committed(&path);
    let verdict = set_check::check(&hq_path, std::slice::from_ref(&committed));
    let conn =
        rusqlite::Connection::open_with_flags(&hq_path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let hq_sales: BTreeSet<String> = conn
        .prepare("SELECT sale_id FROM sales")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let sales_missing = printed.iter().filter(|s| !hq_sales.contains(*s)).count();
    let (members_checked, members_differ) =
        set_check::member_totals(&hq_store, &handle, &members, clock.now()).await;
    println!(
        "sync crash: {kills} SIGKILLs ({mid_upload} mid-upload, {after_200} after head office's 200 \
         before the ack; {} answers held), {} sales checked ({sales_missing} missing at head office), \
         {} events checked: lost {}, duplicated {}, unexpected {}, dead-lettered {}; \
         {members_checked} members' totals compared, {} differ; {} pending after the drain; \
         kills took {:.1} s",
        proxy.holds(),
        printed.len(),
        verdict.events,
        verdict.lost,
        verdict.duplicated,
        verdict.unexpected,
        verdict.dead,
        members_differ.len(),
        status.pending,
        killing.as_secs_f64(),
    );
    assert_eq!(status.pending, 0, "queue not drained");
    assert_eq!(sales_missing, 0, "sales missing at head office");
    assert_eq!(verdict.lost, 0, "events lost");
    assert_eq!(verdict.duplicated, 0, "events duplicated");
    assert_eq!(verdict.unexpected, 0, "unexpected events");
    assert_eq!(verdict.dead, 0, "events dead-lettered");
    assert!(
        members_differ.is_empty(),
        "members' totals differ: {members_differ:?}"
    );
    assert!(printed.len() > kills, "the child hardly committed anything");
    assert!(
        mid_upload > 0 && after_200 > 0,
        "no kill fell mid-upload ({mid_upload}) or after a 200 ({after_200})"
    );
}
