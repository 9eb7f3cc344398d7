//! Refused batches never wedge the queue (issue 22): every refusal carries
//! its class (`retry_later`, `fix_and_retry`, `never`; PROTOCOL.md,
//! "Refusal classes"), and the terminal acts on it.
//!
//! - A batch head office refuses as too large (`413 too_large`, class
//!   `never`) is halved until it fits; a batch over the terminal's own
//!   byte budget is split before it is sent.
//! - A single event that can never be taken is quarantined at the
//!   terminal with its reason, replaced under its `event_id` and `seq` by a
//!   placeholder head office dead-letters as `quarantined`, shown on the
//!   status strip; the events behind it go on.
//! - A `fix_and_retry` refusal (a revoked terminal) quarantines nothing:
//!   the queue waits, whole, for the fix.
//!
//! Each test prints its counts: sent, applied, quarantined, lost,
//! duplicated, and the refusals head office counted.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]
// The test reads head office's database file.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

#[path = "util/sync.rs"]
mod sync_util;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sync_util::{sqlite_hq, sync_until_idle, terminal_with_cashier};
use tillcard::clock::{Clock, SystemClock};
use tillcard::counter::text;
use tillcard::rules::Money;
use tillcard::rules::pricing::{Basket, BasketLine, TenderRequest};
use tillcard::rules::tenders::{Payment, TenderKind};
use tillcard::store::handle::StoreHandle;
use tillcard::store::members::EnrollRequest;
use tillcard::uplink::{Uplink, UplinkConfig, UplinkStatus, provision};
use tillcard_hq::service::limits::UploadLimits;
use tillcard_hq::service::{Hq, serve};
use tokio::sync::watch;

/// Head office on SQLite at `dir`, refusing uploads over `limits`, served
/// on loopback: the service and its URL.
async fn hq_with_limits(dir: &Path, limits: UploadLimits) -> (Arc<Hq>, String) {
    let (_store, hq) = sqlite_hq(dir).await;
    let hq = Arc::new(Arc::into_inner(hq).unwrap().with_upload_limits(limits));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(serve(listener, hq.clone(), std::future::pending()));
    (hq, url)
}

/// Rings up one member sale of `lines` lines (each line's name
/// `name_len` characters): its sale id.
async fn ring_up(handle: &StoreHandle, lines: usize, name_len: usize, price: i64) -> String {
    let handle = handle.clone();
    tokio::task::spawn_blocking(move || {
        handle
            .call(move |s| {
                let clerk = s.login("c1", "3817")?;
                let member = match s.find_member_by_phone("13600000055")? {
                    Some(m) => m.id,
                    None => {
                        let request = EnrollRequest {
                            phone: "13600000055".into(),
                            name: None,
                            birthday: None,
                            consent: true,
                            referred_by: None,
                        };
                        s.enroll(&clerk, &request)?.member.id
                    }
                };
                let basket = Basket {
                    lines: (0..lines)
                        .map(|i| BasketLine {
                            sku: format!("sku{i}"),
                            name: "x".repeat(name_len),
                            category: "grocery".into(),
                            quantity: 1,
                            unit_price: Money::from_fen(price),
                            list_price: None,
                        })
                        .collect(),
                };
                let quote = s.price(Some(member), &basket, &TenderRequest::default(), true)?;
                Ok(s.commit_sale(
                    &clerk,
                    &quote,
                    &Payment::single(TenderKind::Cash, quote.amount_due),
                )?
                .sale
                .to_string())
            })
            .unwrap()
    })
    .await
    .unwrap()
}

/// Runs the uplink with `config` in the background: its status, the
/// switch that stops it, and its task.
fn start_uplink(
    handle: &StoreHandle,
    clock: &Arc<dyn Clock>,
    config: UplinkConfig,
) -> (
    watch::Receiver<UplinkStatus>,
    watch::Sender<bool>,
    tokio::task::JoinHandle<()>,
) {
    let (status_tx, status) = watch::channel(UplinkStatus::default());
    let (stop, shutdown) = watch::channel(false);
    let task = tokio::spawn(
        Uplink::new(handle.clone(), clock.clone(), config, status_tx)
            .unwrap()
            .run(shutdown),
    );
    (status, stop, task)
}

/// Head office's database file (plain SQLite), read-only.
fn hq_db(dir: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(
        dir.join("hq.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap()
}

fn rows<T: rusqlite::types::FromSql>(conn: &rusqlite::Connection, sql: &str) -> Vec<T> {
    conn.prepare(sql)
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

/// `tillcard_hq_refusals_total{code="<code>"}` from head office's
/// `/metrics` (served to loopback without a token).
async fn refusals(url: &str, code: &str) -> u64 {
    let text = reqwest::get(format!("{url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let label = format!("tillcard_hq_refusals_total{{code=\"{code}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&label))
        .map_or(0, |n| n.trim().parse().unwrap())
}

/// What head office holds of the terminal: (events, sales, dead letters'
/// reasons).
fn hq_holds(dir: &Path) -> (usize, Vec<String>, Vec<String>) {
    let db = hq_db(dir);
    let events: i64 = db
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .unwrap();
    (
        usize::try_from(events).unwrap(),
        rows(&db, "SELECT sale_id FROM sales"),
        rows(&db, "SELECT reason FROM dead_letters ORDER BY seq"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_too_large_halves_and_an_event_too_large_is_quarantined() {
    let dir = tempfile::tempdir().unwrap();
    // 30 events or 64 KiB per upload: the terminal's batches of 200 are
    // refused as too large until halved to 25; one sale of 600 long lines
    // is too large on its own.
    let (hq, url) = hq_with_limits(
        dir.path(),
        UploadLimits {
            max_body_bytes: 64 * 1024,
            max_events: 30,
        },
    )
    .await;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let handle = terminal_with_cashier(dir.path(), "T-REFUSALS", clock.clone());
    let code = hq.issue_code("refusals").await.unwrap();
    provision(&handle, &url, &code, None, None).await.unwrap();

    let mut sent = Vec::new();
    for i in 0..120 {
        sent.push(ring_up(&handle, 1, 4, 1000 + i).await);
    }
    let too_large = ring_up(&handle, 600, 120, 100).await;
    for i in 0..60 {
        sent.push(ring_up(&handle, 1, 4, 2000 + i).await);
    }
    let last_seq = handle.call(|s| Ok(s.outbox_status()?.last_seq)).unwrap();

    let status = sync_until_idle(&handle, &url, clock.clone(), None).await;
    let quarantined = handle.call(|s| s.quarantined_events()).unwrap();
    let (events, hq_sales, dead) = hq_holds(dir.path());
    let hq_sale_set: BTreeSet<&String> = hq_sales.iter().collect();
    let lost = sent.iter().filter(|s| !hq_sale_set.contains(s)).count();
    let duplicated = hq_sales.len() - hq_sale_set.len();
    let refused_too_large = refusals(&url, "too_large").await;
    println!(
        "refusals: {} events sent ({} sales and 1 too large), head office holds {events} events, \
         {} sales, {} dead letters; quarantined {}; refused too_large {refused_too_large}; \
         lost {lost}, duplicated {duplicated}",
        last_seq,
        sent.len(),
        hq_sales.len(),
        dead.len(),
        quarantined.len(),
    );
    assert_eq!(status.pending, 0, "the queue moved on past the event");
    assert_eq!(status.quarantined, 1, "the status counts it");
    assert!(
        text::quarantined(tillcard::format::Language::En, status.quarantined).contains("1 event"),
        "the status strip's words name the count"
    );
    assert_eq!(quarantined.len(), 1);
    let (seq, kind, refused_as) = &quarantined[0];
    assert_eq!(kind, "sale_booked");
    assert_eq!(refused_as, "too_large");
    assert!(*seq > 1 && *seq < last_seq, "the event mid-queue: {seq}");
    assert!(refused_too_large > 1, "batches were refused, then halved");
    assert_eq!(lost, 0);
    assert_eq!(duplicated, 0);
    assert!(!hq_sale_set.contains(&too_large), "never taken as sent");
    assert_eq!(
        events,
        usize::try_from(last_seq).unwrap(),
        "every seq is held once"
    );
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert!(
        dead[0].starts_with("quarantined:") && dead[0].contains("too_large"),
        "{dead:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_over_the_terminals_budget_is_split_before_it_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let (hq, url) = hq_with_limits(
        dir.path(),
        UploadLimits {
            max_body_bytes: 64 * 1024,
            max_events: 200,
        },
    )
    .await;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let handle = terminal_with_cashier(dir.path(), "T-BUDGET", clock.clone());
    let code = hq.issue_code("budget").await.unwrap();
    provision(&handle, &url, &code, None, None).await.unwrap();
    let mut sent = Vec::new();
    for i in 0..150 {
        sent.push(ring_up(&handle, 2, 40, 1000 + i).await);
    }

    // The terminal's budget is under head office's limit: nothing is
    // refused, the batches are cut by size before sending.
    let config = UplinkConfig {
        min_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(100),
        idle_poll: Duration::from_millis(20),
        max_batch_bytes: 32 * 1024,
        ..UplinkConfig::new(url.clone())
    };
    let (mut status, stop, task) = start_uplink(&handle, &clock, config);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let s = status.borrow().clone();
        if s.online && s.pending == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "did not drain: {s:?}"
        );
        let _ = tokio::time::timeout(Duration::from_millis(200), status.changed()).await;
    }
    stop.send(true).unwrap();
    task.await.unwrap();

    let (events, hq_sales, dead) = hq_holds(dir.path());
    let hq_sale_set: BTreeSet<&String> = hq_sales.iter().collect();
    let lost = sent.iter().filter(|s| !hq_sale_set.contains(s)).count();
    // Unsplit, the queue would have gone as one batch (under the default
    // 200 events) of more than head office takes.
    handle.call(|_| Ok(())).unwrap();
    let queued_bytes: i64 = sync_util::raw(&dir.path().join("terminal.sqlite"))
        .query_row("SELECT sum(length(payload)) FROM outbox", [], |r| r.get(0))
        .unwrap();
    let refused_too_large = refusals(&url, "too_large").await;
    println!(
        "budget: {} sales sent, head office holds {events} events and {} sales; queued {queued_bytes} bytes of bodies; \
         refused too_large {refused_too_large}; dead letters {}; lost {lost}",
        sent.len(),
        hq_sales.len(),
        dead.len()
    );
    assert!(queued_bytes > 64 * 1024, "one batch would be too large");
    assert_eq!(refused_too_large, 0, "split before sending, never refused");
    assert_eq!(lost, 0);
    assert_eq!(hq_sales.len(), sent.len());
    assert!(dead.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_to_fix_quarantines_nothing_and_the_queue_waits_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (hq, url) = hq_with_limits(dir.path(), UploadLimits::default()).await;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let handle = terminal_with_cashier(dir.path(), "T-REVOKED", clock.clone());
    let code = hq.issue_code("revoked").await.unwrap();
    provision(&handle, &url, &code, None, None).await.unwrap();
    for i in 0..5 {
        ring_up(&handle, 1, 4, 1000 + i).await;
    }
    let terminal = handle
        .call(|s| Ok(s.credentials().map(|c| c.terminal_id)))
        .unwrap()
        .unwrap();
    hq.revoke_terminal(&tillcard_hq::service::back_office::Actor::cli(), terminal)
        .await
        .unwrap();
    let waiting = handle.call(|s| Ok(s.outbox_status()?.pending)).unwrap();

    // A revoked terminal's uploads are refused `terminal_revoked`, class
    // `fix_and_retry`: retried (slowly), never split, never set aside.
    let config = UplinkConfig {
        min_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        idle_poll: Duration::from_millis(20),
        ..UplinkConfig::new(url.clone())
    };
    let (mut status, stop, task) = start_uplink(&handle, &clock, config);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while refusals(&url, "terminal_revoked").await < 3 {
        assert!(tokio::time::Instant::now() < deadline, "no refusals");
        let _ = tokio::time::timeout(Duration::from_millis(200), status.changed()).await;
    }
    stop.send(true).unwrap();
    task.await.unwrap();
    let last = status.borrow().clone();
    let quarantined = handle.call(|s| s.quarantined_events()).unwrap();
    let still_waiting = handle.call(|s| Ok(s.outbox_status()?.pending)).unwrap();
    let refused = refusals(&url, "terminal_revoked").await;
    let (events, _, dead) = hq_holds(dir.path());
    println!(
        "revoked: {waiting} events waiting, refused terminal_revoked {refused} times; \
         still waiting {still_waiting}, quarantined {}, head office holds {events} events and {} dead letters",
        quarantined.len(),
        dead.len()
    );
    assert!(quarantined.is_empty(), "{quarantined:?}");
    assert_eq!(still_waiting, waiting, "the queue waits whole");
    assert_eq!(last.quarantined, 0);
    assert!(
        last.last_error.is_some(),
        "the status strip names the problem"
    );
    assert!(dead.is_empty());
}
