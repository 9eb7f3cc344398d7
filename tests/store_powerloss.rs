//! Power loss (issue 22): a SIGKILL keeps the kernel's page cache, so it
//! never tests fsync. Here a child terminal runs its store through
//! `tillcard-powerloss`, a SQLite VFS that keeps every write in memory
//! until that file is synced, and is cut off (`_exit`) at a chosen write,
//! truncation or sync: everything not synced is gone, as after a power
//! cut. The child rings up sales (printing `committed` once `commit_sale`
//! returned, and `receipt` once the receipt is saved after it) and syncs
//! with a head office this test serves. 1,000 crash points during
//! checkout and sync by default (`TILLCARD_POWERLOSS_POINTS` scales it),
//! spread over a child's run. After each cut the store is opened as the
//! terminal would open it after the power came back, and:
//! - `PRAGMA integrity_check` is ok;
//! - every sale whose commit returned is there, at the sequence number
//!   its commit returned (none lost);
//! - every receipt (printed line or saved file) has its sale row;
//! - no sequence number names two events: not across recoveries, and not
//!   between the terminal and what head office received;
//!
//! and once synced (every 250 cuts and at the end) head office holds
//! exactly the terminal's events: 0 lost, 0 duplicated.

// clippy.toml keeps database connections in the store modules; this test
// reads the terminal's and head office's files directly to compare them.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

#[path = "util/sync.rs"]
mod sync_util;
mod util;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use tillcard::clock::{Clock, SystemClock};
use tillcard::config::TerminalConfig;
use tillcard::rules::pricing::TenderRequest;
use tillcard::rules::tenders::{Payment, TenderKind};
use tillcard::saved_files::SavedFiles;
use tillcard::store::Store;
use tillcard::store::clerks::Role;
use tillcard::store::handle::StoreHandle;
use tillcard::uplink::{Uplink, UplinkConfig, UplinkStatus, provision};
use tokio::sync::watch;
use util::Rng;
use util::store::{CASHIER, basket, config, enroll_request, raw};

const MODE: &str = "TILLCARD_POWERLOSS_MODE";
const DIR: &str = "TILLCARD_POWERLOSS_DIR";
const URL: &str = "TILLCARD_POWERLOSS_URL";
const CODE: &str = "TILLCARD_POWERLOSS_CODE";
const CRASH_AT: &str = "TILLCARD_POWERLOSS_CRASH_AT";
const SEED: &str = "TILLCARD_POWERLOSS_SEED";
/// Members the child rings sales up for (walk-ins besides).
const MEMBERS: u32 = 3;
/// A child's script: a sale, a sale, a sync, three times.
const STEPS: usize = 9;
/// Head office and the terminal are compared after a full sync this often
/// (in cuts), and at the end.
const SET_CHECK_EVERY: usize = 250;

fn points() -> usize {
    std::env::var("TILLCARD_POWERLOSS_POINTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000)
}

fn store_path(dir: &Path) -> PathBuf {
    dir.join("terminal.sqlite")
}

fn saved_files(dir: &Path) -> SavedFiles {
    SavedFiles::of(&TerminalConfig {
        data_dir: dir.to_owned(),
        ..TerminalConfig::default()
    })
}

fn uplink(handle: &StoreHandle, url: &str, clock: Arc<dyn Clock>) -> Uplink {
    let config = UplinkConfig {
        // Small batches: a sync is several uploads and acknowledgements.
        batch_size: 3,
        request_timeout: Duration::from_secs(20),
        ..UplinkConfig::new(url.to_owned())
    };
    let (status, _) = watch::channel(UplinkStatus::default());
    Uplink::new(handle.clone(), clock, config, status).unwrap()
}

/// The child: `setup` (a clerk, registration, members), `run` (through the
/// power-loss VFS, cut off at `TILLCARD_POWERLOSS_CRASH_AT` if set) or
/// `sync` (to the end, no cut). Only runs when the parent starts this
/// binary with `--ignored` and the mode.
#[test]
#[ignore = "child process of power_loss_during_checkout_and_sync"]
fn powerloss_child() {
    let Ok(mode) = std::env::var(MODE) else {
        return;
    };
    let dir = PathBuf::from(std::env::var(DIR).unwrap());
    let url = std::env::var(URL).unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    if mode == "run" {
        // Before the store opens: every connection from here on goes
        // through the shim.
        tillcard_powerloss::install().unwrap();
        let crash_at = std::env::var(CRASH_AT).ok().map(|v| v.parse().unwrap());
        tillcard_powerloss::set_crash_point(crash_at);
    }
    println!("phase open");
    let store = Store::open(&store_path(&dir), config(), clock.clone()).unwrap();
    let handle = StoreHandle::spawn(store).unwrap();
    match mode.as_str() {
        "setup" => {
            let code = std::env::var(CODE).unwrap();
            handle
                .call(|s| s.add_clerk(CASHIER.0, "Cashier", Role::Cashier, CASHIER.1))
                .unwrap();
            runtime
                .block_on(provision(&handle, &url, &code, None, None))
                .unwrap();
            handle
                .call(|s| {
                    let clerk = s.login(CASHIER.0, CASHIER.1)?;
                    for n in 0..MEMBERS {
                        s.enroll(&clerk, &enroll_request(n))?;
                    }
                    Ok(())
                })
                .unwrap();
            runtime
                .block_on(uplink(&handle, &url, clock).sync_until_idle())
                .unwrap();
            println!("set up");
        }
        "sync" => {
            runtime
                .block_on(uplink(&handle, &url, clock).sync_until_idle())
                .unwrap();
            let pending = handle.call(|s| s.outbox_status()).unwrap().pending;
            println!("synced pending {pending}");
        }
        "run" => run_script(&handle, &runtime, uplink(&handle, &url, clock), &dir),
        other => panic!("unknown mode {other}"),
    }
    println!("phase done");
    println!("operations {}", tillcard_powerloss::operations());
}

/// Sales and syncs, each announced by a `phase` line; a sale's
/// `committed <sale> <seq>` line only after its commit returned, its
/// `receipt <sale>` line only after the receipt was saved.
fn run_script(handle: &StoreHandle, runtime: &tokio::runtime::Runtime, uplink: Uplink, dir: &Path) {
    let seed: u64 = std::env::var(SEED).unwrap().parse().unwrap();
    let mut rng = Rng::new(seed);
    let clerk = handle.call(|s| s.login(CASHIER.0, CASHIER.1)).unwrap();
    let members: Vec<_> = (0..MEMBERS)
        .map(|n| {
            let phone = enroll_request(n).phone;
            handle
                .call(move |s| s.find_member_by_phone(&phone))
                .unwrap()
                .unwrap()
                .id
        })
        .collect();
    let files = saved_files(dir);
    for step in 0..STEPS {
        if step % 3 == 2 {
            println!("phase sync");
            match runtime.block_on(uplink.sync_until_idle()) {
                Ok(()) => println!("synced"),
                Err(e) => println!("sync failed: {e}"),
            }
            continue;
        }
        println!("phase checkout");
        let member = (rng.below(4) != 0).then(|| members[rng.below(members.len())]);
        let basket = basket(1 + rng.below(3), 5 + rng.below(60) as i64);
        let clerk = clerk.clone();
        let receipt = handle
            .call(move |s| {
                let quote = s.price(member, &basket, &TenderRequest::default(), true)?;
                s.commit_sale(
                    &clerk,
                    &quote,
                    &Payment::single(TenderKind::Cash, quote.amount_due),
                )
            })
            .unwrap();
        println!("committed {} {}", receipt.sale.0, receipt.seq);
        let (files, sale) = (files.clone(), receipt.sale.0.to_string());
        let text = format!("sale {sale}\ntotal {}\n", receipt.quote.amount_due.fen());
        handle
            .call(move |s| Ok(files.save_receipt(&s.files_key(), &sale, &text)))
            .unwrap()
            .unwrap();
        println!("receipt {}", receipt.sale.0);
    }
}

/// What one child process printed and how it ended.
struct ChildRun {
    /// Cut off at its crash point (else it ran to its end).
    cut: bool,
    /// The last phase it announced.
    phase: String,
    /// `(sale, seq)` of every sale whose commit returned.
    committed: Vec<(String, i64)>,
    /// Sales whose receipt was saved.
    receipts: Vec<String>,
    /// Operations counted, when it ran to its end.
    operations: Option<u64>,
    /// The operation it was cut off at (`Write Wal`, `Sync Database`...).
    cut_at: Option<String>,
}

fn child(dir: &Path, url: &str, mode: &str, extra: &[(&str, String)]) -> ChildRun {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "powerloss_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(MODE, mode)
        .env(DIR, dir)
        .env(URL, url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in extra {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let cut = output.status.code() == Some(tillcard_powerloss::CRASH_EXIT_CODE);
    assert!(
        cut || output.status.success(),
        "child ({mode}) failed: {:?}\n{stdout}\n{stderr}",
        output.status
    );
    let mut run = ChildRun {
        cut,
        phase: String::new(),
        committed: Vec::new(),
        receipts: Vec::new(),
        operations: None,
        cut_at: stderr.lines().find_map(|l| {
            l.strip_prefix("powerloss: crash point ")
                .and_then(|rest| rest.split_once(": "))
                .map(|(_, op)| op.to_owned())
        }),
    };
    for line in stdout.lines() {
        if let Some(phase) = line.strip_prefix("phase ") {
            run.phase = phase.to_owned();
        } else if let Some(rest) = line.strip_prefix("committed ") {
            let (sale, seq) = rest.split_once(' ').unwrap();
            run.committed.push((sale.to_owned(), seq.parse().unwrap()));
        } else if let Some(sale) = line.strip_prefix("receipt ") {
            run.receipts.push(sale.to_owned());
        } else if let Some(n) = line.strip_prefix("operations ") {
            run.operations = Some(n.parse().unwrap());
        }
    }
    if mode == "sync" {
        assert!(
            stdout.contains("synced pending 0"),
            "the sync did not drain: {stdout}"
        );
    }
    run
}

/// Every count the test prints; each failure kind must stay 0.
#[derive(Debug, Default)]
struct Tally {
    cuts_checkout: usize,
    cuts_sync: usize,
    cuts_open: usize,
    ran_to_end: usize,
    by_operation: BTreeMap<String, usize>,
    sales_checked: usize,
    receipts_checked: usize,
    lost: usize,
    receipts_without_rows: usize,
    reused_seqs: usize,
    head_office_ahead: usize,
    set_checks: usize,
    hq_lost: usize,
    hq_duplicated: usize,
    failures: Vec<String>,
}

impl Tally {
    fn fail(&mut self, what: String) {
        if self.failures.len() < 20 {
            self.failures.push(what);
        }
    }
}

/// `seq -> event id` of the terminal's outbox and `sale -> seq` of its
/// sales, read after the store was opened (recovered) and checked.
fn recover(path: &Path, round: usize) -> (BTreeMap<i64, String>, BTreeMap<String, i64>) {
    let store = Store::open(path, config(), Arc::new(SystemClock::new()))
        .unwrap_or_else(|e| panic!("cut {round}: the store did not open after the cut: {e}"));
    drop(store);
    let conn = raw(path);
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok", "cut {round}: integrity check");
    let outbox = conn
        .prepare("SELECT seq, event_id FROM outbox")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let sales = conn
        .prepare("SELECT sale_id, event_seq FROM sales")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    (outbox, sales)
}

/// Head office's `(seq, event id)` rows (one terminal in this head office).
fn head_office_events(hq_path: &Path) -> Vec<(i64, String)> {
    let conn = Connection::open_with_flags(hq_path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    conn.prepare("SELECT seq, event_id FROM events ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Everything that must hold after one cut and recovery.
fn check_after_cut(
    tally: &mut Tally,
    round: usize,
    run: &ChildRun,
    dir: &Path,
    hq_path: &Path,
    ever: &mut BTreeMap<i64, String>,
    acknowledged: &mut BTreeMap<String, i64>,
) {
    let (outbox, sales) = recover(&store_path(dir), round);
    acknowledged.extend(run.committed.iter().cloned());
    tally.sales_checked = acknowledged.len();
    // Every sale acknowledged so far, by every child: a sale must not
    // survive one cut and vanish at a later one.
    for (sale, seq) in acknowledged.iter() {
        match sales.get(sale) {
            None => {
                tally.lost += 1;
                tally.fail(format!(
                    "cut {round}: sale {sale} (seq {seq}) committed, gone"
                ));
            }
            Some(at) if at != seq => {
                tally.reused_seqs += 1;
                tally.fail(format!(
                    "cut {round}: sale {sale} committed at {seq}, now at {at}"
                ));
            }
            Some(_) => {}
        }
    }
    for sale in &run.receipts {
        tally.receipts_checked += 1;
        if !sales.contains_key(sale) {
            tally.receipts_without_rows += 1;
            tally.fail(format!("cut {round}: receipt {sale} printed, no sale row"));
        }
    }
    // Every receipt saved so far, by every child, has its row.
    let receipts = saved_files(dir).receipts().to_owned();
    for entry in std::fs::read_dir(&receipts).into_iter().flatten() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(sale) = name.strip_suffix(".txt")
            && !sales.contains_key(sale)
        {
            tally.receipts_without_rows += 1;
            tally.fail(format!("cut {round}: receipt file {name}, no sale row"));
        }
    }
    // A sequence number names one event, ever: across recoveries...
    for (seq, event) in &outbox {
        match ever.get(seq) {
            Some(before) if before != event => {
                tally.reused_seqs += 1;
                tally.fail(format!("cut {round}: seq {seq} was {before}, now {event}"));
            }
            Some(_) => {}
            None => {
                ever.insert(*seq, event.clone());
            }
        }
    }
    // ...and between the terminal and head office.
    for (seq, event) in head_office_events(hq_path) {
        match outbox.get(&seq) {
            None => {
                tally.head_office_ahead += 1;
                tally.fail(format!(
                    "cut {round}: head office holds seq {seq}, the terminal lost it"
                ));
            }
            Some(local) if *local != event => {
                tally.reused_seqs += 1;
                tally.fail(format!(
                    "cut {round}: seq {seq} is {local} here, {event} at head office"
                ));
            }
            Some(_) => {}
        }
    }
}

/// A full sync, then the set check: head office holds exactly the
/// terminal's events, each once.
fn set_check(tally: &mut Tally, dir: &Path, url: &str, hq_path: &Path, round: usize) {
    child(dir, url, "sync", &[]);
    let (outbox, _) = recover(&store_path(dir), round);
    let local: BTreeSet<(i64, String)> = outbox.into_iter().collect();
    let held = head_office_events(hq_path);
    let ids: BTreeSet<&String> = held.iter().map(|(_, id)| id).collect();
    let duplicated = held.len() - ids.len();
    let held: BTreeSet<(i64, String)> = held.iter().cloned().collect();
    let lost = local.difference(&held).count();
    let extra = held.difference(&local).count();
    tally.set_checks += 1;
    tally.hq_lost += lost;
    tally.hq_duplicated += duplicated + extra;
    if lost + duplicated + extra > 0 {
        tally.fail(format!(
            "set check after cut {round}: {lost} lost, {duplicated} duplicated, {extra} unknown to the terminal"
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn power_loss_during_checkout_and_sync() {
    let target = points();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_owned();
    let (_hq_store, hq, url) = sync_util::served_hq(&dir).await;
    let hq_path = dir.join("hq.sqlite");
    let code = hq.issue_code("powerloss").await.unwrap();
    let started = Instant::now();
    let tally = tokio::task::spawn_blocking(move || {
        child(&dir, &url, "setup", &[(CODE, code)]);
        // One child to its end, counting: where crash points can fall.
        let calibration = child(&dir, &url, "run", &[(SEED, "0".into())]);
        let span = calibration.operations.unwrap();
        println!("power loss: a child's run is {span} writes, truncations and syncs");
        let mut tally = Tally::default();
        let mut ever = BTreeMap::new();
        let mut acknowledged = BTreeMap::new();
        let mut rng = Rng::new(0x5EED_0022);
        let mut round = 0;
        while tally.cuts_checkout + tally.cuts_sync < target {
            round += 1;
            assert!(round <= 3 * target, "crash points keep missing: {tally:?}");
            let crash_at = 1 + rng.below(span as usize) as u64;
            let run = child(
                &dir,
                &url,
                "run",
                &[(CRASH_AT, crash_at.to_string()), (SEED, round.to_string())],
            );
            if !run.cut {
                tally.ran_to_end += 1;
            } else {
                match run.phase.as_str() {
                    "checkout" => tally.cuts_checkout += 1,
                    "sync" => tally.cuts_sync += 1,
                    _ => tally.cuts_open += 1,
                }
                let op = run.cut_at.clone().unwrap_or_else(|| "unknown".into());
                *tally.by_operation.entry(op).or_default() += 1;
            }
            check_after_cut(
                &mut tally,
                round,
                &run,
                &dir,
                &hq_path,
                &mut ever,
                &mut acknowledged,
            );
            if round % SET_CHECK_EVERY == 0 {
                set_check(&mut tally, &dir, &url, &hq_path, round);
            }
        }
        set_check(&mut tally, &dir, &url, &hq_path, round);
        tally
    })
    .await
    .unwrap();
    let cuts = tally.cuts_checkout + tally.cuts_sync + tally.cuts_open;
    println!(
        "power loss: {cuts} crash points ({} during checkout, {} during sync, {} while \
         opening), {} runs past their point; cut at {:?}; {} sales and {} receipts checked; \
         lost {}, receipts without rows {}, reused seqs {}, head office ahead of the \
         terminal {}; {} set checks after a full sync: lost {}, duplicated {}; {:.1} s",
        tally.cuts_checkout,
        tally.cuts_sync,
        tally.cuts_open,
        tally.ran_to_end,
        tally.by_operation,
        tally.sales_checked,
        tally.receipts_checked,
        tally.lost,
        tally.receipts_without_rows,
        tally.reused_seqs,
        tally.head_office_ahead,
        tally.set_checks,
        tally.hq_lost,
        tally.hq_duplicated,
        started.elapsed().as_secs_f64(),
    );
    assert!(tally.failures.is_empty(), "{:#?}", tally.failures);
    assert!(tally.cuts_checkout + tally.cuts_sync >= target);
    assert!(tally.cuts_checkout > 0 && tally.cuts_sync > 0, "{tally:?}");
    assert!(tally.sales_checked > 0, "no sale committed before a cut");
    assert_eq!(
        (tally.lost, tally.receipts_without_rows, tally.reused_seqs),
        (0, 0, 0)
    );
    assert_eq!(
        (tally.head_office_ahead, tally.hq_lost, tally.hq_duplicated),
        (0, 0, 0)
    );
}
