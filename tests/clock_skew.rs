//! Clock skew (issue 22): a terminal whose clock is hours ahead or behind
//! syncs within one retry (head office's time comes with the refusal and
//! the retry is signed with it, with no backoff: the uplink here backs off
//! an hour, so any wait would end the test as a failure), head office
//! records the skew and flags it once, and a restart offline keeps the
//! learned offset. A wall-clock jump on a running terminal neither grants a
//! fresh daily offline allowance nor lifts a PIN lockout.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

#[path = "util/sync.rs"]
mod sync_util;
mod util;

use std::sync::Arc;
use std::time::Duration;

use sync_util::{ring_up_offline_sales, served_hq, terminal_with_cashier};
use tillcard::clock::{Clock, FakeClock};
use tillcard::rules::booking::TopUp;
use tillcard::rules::pricing::{StoredValueRequest, TenderRequest};
use tillcard::rules::tenders::{Payment, TenderKind};
use tillcard::rules::{Money, Timestamp};
use tillcard::server_time::CorrectedClock;
use tillcard::store::clerks::Role;
use tillcard::store::handle::StoreHandle;
use tillcard::store::{Store, StoreError};
use tillcard::uplink::{Uplink, UplinkConfig, UplinkError, UplinkStatus, provision};
use tillcard_protocol::server_clock::CLOCK_SKEW_FLAG_MS;
use tokio::sync::watch;
use util::store::{CASHIER, MANAGER, basket, config, enroll};

const SALES: usize = 5;

/// The uplink with an hour's backoff: a retry after a backoff would not
/// happen within the test.
fn uplink(handle: &StoreHandle, url: &str, clock: Arc<dyn Clock>) -> Uplink {
    let (status, _) = watch::channel(UplinkStatus::default());
    Uplink::new(
        handle.clone(),
        clock,
        UplinkConfig {
            min_backoff: Duration::from_secs(3600),
            max_backoff: Duration::from_secs(3600),
            ..UplinkConfig::new(url.to_owned())
        },
        status,
    )
    .unwrap()
}

fn real_now() -> Timestamp {
    chrono::Utc::now().fixed_offset()
}

async fn call<R: Send + 'static>(
    handle: &StoreHandle,
    f: impl FnOnce(&mut Store) -> Result<R, StoreError> + Send + 'static,
) -> R {
    let handle = handle.clone();
    tokio::task::spawn_blocking(move || handle.call(f))
        .await
        .unwrap()
        .unwrap()
}

/// A terminal `hours` off syncs at once; what head office recorded.
async fn skewed_terminal_syncs(hours: i64) {
    let dir = tempfile::tempdir().unwrap();
    let (hq_store, hq, url) = served_hq(dir.path()).await;
    let fake = Arc::new(FakeClock::at(real_now() + chrono::Duration::hours(hours)));
    let corrected = CorrectedClock::new(fake.clone());
    let clock: Arc<dyn Clock> = corrected.clone();
    let handle = terminal_with_cashier(dir.path(), format!("T-SKEW{hours}"), clock.clone());
    let code = hq.issue_code("skew").await.unwrap();
    provision(&handle, &url, &code, None, None).await.unwrap();
    let last_seq = ring_up_offline_sales(&handle, SALES).await;

    // The control: a terminal on the plain (uncorrected) clock, the same
    // hours off, is refused even after its one immediate retry.
    let plain_dir = tempfile::tempdir().unwrap();
    let plain_clock: Arc<dyn Clock> =
        Arc::new(FakeClock::at(real_now() + chrono::Duration::hours(hours)));
    let plain = terminal_with_cashier(plain_dir.path(), "T-PLAIN", plain_clock.clone());
    let code = hq.issue_code("skew").await.unwrap();
    provision(&plain, &url, &code, None, None).await.unwrap();
    ring_up_offline_sales(&plain, 1).await;
    let refused = uplink(&plain, &url, plain_clock).sync_until_idle().await;
    let plain_code = match &refused {
        Err(UplinkError::Refused { code, .. }) => code.clone(),
        other => panic!("the plain clock {hours} h off: {other:?}"),
    };
    assert_eq!(plain_code, "stale_request");

    // The corrected terminal: refused once, then the retry at once.
    let skew_before = corrected.wall_skew_ms();
    uplink(&handle, &url, clock.clone())
        .sync_until_idle()
        .await
        .unwrap();
    let (pending, offset) = call(&handle, |s| {
        Ok((s.outbox_status()?.pending, s.clock_offset()?))
    })
    .await;
    let terminal_id = call(&handle, |s| Ok(s.credentials().unwrap().terminal_id)).await;
    let record = hq_store.terminal(terminal_id).await.unwrap().unwrap();
    let flags: Vec<String> = hq_store
        .terminal_flags()
        .await
        .unwrap()
        .into_iter()
        .filter(|(id, _)| *id == terminal_id)
        .map(|(_, reason)| reason)
        .collect();
    let expected_ms = hours * 3_600_000;
    println!(
        "terminal {hours:+} h: {SALES} sales + enrollment (seq 1..={last_seq}) synced in one \
         sync_until_idle with an hour's backoff (plain clock: refused {plain_code}); skew before \
         {skew_before:?} ms, terminal now reports {:?} ms, head office recorded {:?} ms \
         (expected {expected_ms}), acked {}, pending {pending}, persisted offset {offset:?} ms, \
         flags {} {flags:?}",
        corrected.wall_skew_ms(),
        record.clock_skew_ms,
        record.acked_seq,
        flags.len()
    );
    assert_eq!(skew_before, None, "head office not heard before the sync");
    assert_eq!(record.acked_seq, last_seq, "every event taken");
    assert_eq!(pending, 0);
    let near = |ms: Option<i64>, want: i64| ms.is_some_and(|m| (m - want).abs() < 5_000);
    assert!(
        near(record.clock_skew_ms, expected_ms),
        "head office's record"
    );
    assert!(
        near(corrected.wall_skew_ms(), expected_ms),
        "the terminal's measure"
    );
    assert!(near(offset, -expected_ms), "the persisted offset");
    assert!(expected_ms.abs() > CLOCK_SKEW_FLAG_MS);
    assert_eq!(flags.len(), 1, "flagged once: {flags:?}");
    assert!(flags[0].starts_with("clock_skew:"), "{flags:?}");

    // A restart offline: the wall clock plus the persisted offset.
    let restarted = CorrectedClock::new(fake.clone());
    restarted.restore_offset(offset.unwrap());
    let off_ms = (restarted.now().timestamp_millis() - real_now().timestamp_millis()).abs();
    println!("after a restart offline the corrected clock is {off_ms} ms from head office's");
    assert!(off_ms < 5_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_three_hours_ahead_syncs_within_one_retry_and_is_flagged() {
    skewed_terminal_syncs(3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_five_hours_behind_syncs_within_one_retry_and_is_flagged() {
    skewed_terminal_syncs(-5).await;
}

/// A store on a corrected clock over `fake`, with a cashier and a manager.
fn corrected_store(dir: &std::path::Path, fake: &Arc<FakeClock>) -> Store {
    let clock: Arc<dyn Clock> = CorrectedClock::new(fake.clone());
    let mut store = Store::open(&dir.join("terminal.sqlite"), config(), clock).unwrap();
    store
        .add_clerk(CASHIER.0, "Cashier", Role::Cashier, CASHIER.1)
        .unwrap();
    store
        .add_clerk(MANAGER.0, "Manager", Role::Manager, MANAGER.1)
        .unwrap();
    store
}

#[test]
fn a_wall_clock_jump_neither_resets_the_offline_allowance_nor_lifts_a_lockout() {
    let dir = tempfile::tempdir().unwrap();
    let start = util::store::start_time();
    let fake = Arc::new(FakeClock::at(start));
    let mut store = corrected_store(dir.path(), &fake);
    let clerk = store.login(CASHIER.0, CASHIER.1).unwrap();
    let member = enroll(&mut store, &clerk, 1).id;
    store
        .top_up(&clerk, member, &TopUp::Package("1000+150".into()))
        .unwrap();
    let program = store.program().unwrap();
    let full = program.offline.allowance_per_member_per_day;
    // Offline sales paid with stored value until the allowance is spent.
    let tender = TenderRequest {
        stored_value: StoredValueRequest::AsMuchAsPossible,
        ..TenderRequest::default()
    };
    let mut sales = 0;
    while store.offline_allowance_left(member, &program).unwrap() > Money::ZERO && sales < 20 {
        let quote = store
            .price(Some(member), &basket(1, 100), &tender, true)
            .unwrap();
        store
            .commit_sale(
                &clerk,
                &quote,
                &Payment::single(TenderKind::Cash, quote.amount_due),
            )
            .unwrap();
        sales += 1;
    }
    let left = store.offline_allowance_left(member, &program).unwrap();
    println!(
        "allowance {} fen spent in {sales} offline sales: {} fen left",
        full.fen(),
        left.fen()
    );
    assert_eq!(left, Money::ZERO);
    let mut checked = 0;
    for (label, wall) in [
        ("a day ahead", start + chrono::Duration::days(1)),
        ("a week ahead", start + chrono::Duration::days(7)),
        ("a day back", start - chrono::Duration::days(1)),
    ] {
        fake.set_wall(wall);
        let left = store.offline_allowance_left(member, &program).unwrap();
        let quote = store
            .price(Some(member), &basket(1, 100), &tender, true)
            .unwrap();
        println!(
            "wall clock {label}: allowance left {} fen, an offline sale may use {} fen of stored value",
            left.fen(),
            quote.stored_value_used().fen()
        );
        assert_eq!(left, Money::ZERO, "{label}");
        assert_eq!(quote.stored_value_used(), Money::ZERO, "{label}");
        checked += 1;
    }
    // The control: on the plain clock the same jump grants a fresh day.
    let plain_dir = tempfile::tempdir().unwrap();
    drop(store);
    std::fs::copy(
        dir.path().join("terminal.sqlite"),
        plain_dir.path().join("terminal.sqlite"),
    )
    .unwrap();
    let plain_fake = Arc::new(FakeClock::at(start + chrono::Duration::days(1)));
    let plain = Store::open(
        &plain_dir.path().join("terminal.sqlite"),
        config(),
        plain_fake,
    )
    .unwrap();
    let granted = plain.offline_allowance_left(member, &program).unwrap();
    println!(
        "control, the plain wall clock a day ahead: {} fen granted afresh",
        granted.fen()
    );
    assert_eq!(granted, full);

    // A lockout on the corrected clock: the wall clock moves, it holds.
    fake.set_wall(start);
    let lock_dir = tempfile::tempdir().unwrap();
    let mut store = corrected_store(lock_dir.path(), &fake);
    let mut wait = 0;
    for _ in 0..tillcard::pins::FREE_FAILURES {
        if let Err(StoreError::Locked { wait_secs }) = store.login(CASHIER.0, "90817") {
            wait = wait_secs;
            break;
        }
    }
    assert!(wait > 0, "locked out");
    let mut lock_checks = 0;
    for (label, wall) in [
        ("a day ahead", start + chrono::Duration::days(1)),
        ("a year back", start - chrono::Duration::days(365)),
    ] {
        fake.set_wall(wall);
        match store.login(CASHIER.0, CASHIER.1) {
            Err(StoreError::Locked { wait_secs }) => {
                println!(
                    "lockout of {wait} s, wall clock {label}: still locked, {wait_secs} s left"
                );
                assert!(wait_secs + 1 >= wait, "{label}");
            }
            other => panic!("wall clock {label}: {other:?}"),
        }
        lock_checks += 1;
    }
    println!(
        "checked: {checked} allowance jumps (0 granted), {lock_checks} lockout jumps (0 lifted), \
         1 control granted {} fen",
        granted.fen()
    );
}
