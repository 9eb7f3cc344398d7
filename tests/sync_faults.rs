//! Exactly once under faults: four terminals ring up 10,000 sales while a
//! proxy between them and head office drops requests, drops responses after
//! head office committed, duplicates, delays, resets and truncates 30% of
//! exchanges. Afterwards head office holds exactly the terminals' events
//! (10,000 sales among them), every queue is drained, and head office's
//! balances equal the terminals' ledgers.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

#[path = "util/fault_proxy.rs"]
mod fault_proxy;
#[path = "util/sync.rs"]
mod sync_util;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fault_proxy::{ExchangeFaults, Fault, FaultProxy};
use sync_util::{sqlite_hq, terminal_with_cashier};
use tillcard::clock::{Clock, SystemClock};
use tillcard::rules::account::MemberAccount;
use tillcard::rules::booking::TopUp;
use tillcard::rules::ledger::LedgerEntry;
use tillcard::rules::pricing::{Basket, BasketLine, StoredValueRequest, TenderRequest};
use tillcard::rules::tenders::{Payment, TenderKind};
use tillcard::rules::{MemberId, Money};
use tillcard::store::handle::StoreHandle;
use tillcard::store::members::EnrollRequest;
use tillcard::uplink::{Uplink, UplinkConfig, UplinkStatus, provision};
use tillcard_hq::service::serve;
use tokio::sync::watch;

const TERMINALS: usize = 4;
const SALES_PER_TERMINAL: usize = 2_500;
const MEMBERS_PER_TERMINAL: u32 = 5;
const FAULT_PERCENT: u64 = 30;

async fn listen() -> (tokio::net::TcpListener, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

struct Terminal {
    _dir: tempfile::TempDir,
    handle: StoreHandle,
    members: Vec<MemberId>,
    status: watch::Receiver<UplinkStatus>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_sales_from_four_terminals_arrive_exactly_once_through_30_percent_faults() {
    tillcard::logging::init_for_tests();
    // Head office on SQLite, and the faulty proxy in front of it.
    let hq_dir = tempfile::tempdir().unwrap();
    let (hq_store, hq) = sqlite_hq(hq_dir.path()).await;
    let (hq_listener, hq_addr) = listen().await;
    let (stop_hq, hq_stopped) = tokio::sync::oneshot::channel::<()>();
    let hq_task = tokio::spawn(serve(hq_listener, hq.clone(), async {
        let _ = hq_stopped.await;
    }));
    let proxy = FaultProxy::start(
        hq_addr,
        ExchangeFaults {
            percent: FAULT_PERCENT,
            kinds: Fault::ALL,
        },
        0x0DDB_1A5E_5BAD_5EED,
    )
    .await;

    // Four terminals, provisioned directly (a code is single-use), then
    // syncing through the proxy.
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let (stop_uplinks, shutdown) = watch::channel(false);
    let mut terminals = Vec::new();
    let mut uplinks = Vec::new();
    for t in 0..TERMINALS {
        let dir = tempfile::tempdir().unwrap();
        let handle = terminal_with_cashier(dir.path(), format!("T-{t}"), clock.clone());
        let code = hq.issue_code(&format!("store-{t}")).await.unwrap();
        provision(&handle, &format!("http://{hq_addr}"), &code, None, None)
            .await
            .unwrap();
        let members = {
            let handle = handle.clone();
            tokio::task::spawn_blocking(move || {
                handle
                    .call(move |s| {
                        let clerk = s.login("c1", "3817")?;
                        let mut ids = Vec::new();
                        for n in 0..MEMBERS_PER_TERMINAL {
                            let request = EnrollRequest {
                                phone: format!("13{t}{n:08}"),
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
        let (status_tx, status) = watch::channel(UplinkStatus::default());
        let config = UplinkConfig {
            saved_files: None,
            batch_size: 200,
            min_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(200),
            idle_poll: Duration::from_millis(50),
            request_timeout: Duration::from_secs(10),
            ..UplinkConfig::new(proxy.url())
        };
        let uplink = Uplink::new(handle.clone(), clock.clone(), config, status_tx).unwrap();
        uplinks.push(tokio::spawn(uplink.run(shutdown.clone())));
        terminals.push(Terminal {
            _dir: dir,
            handle,
            members,
            status,
        });
    }

    // Checkouts run while the uplinks sync.
    let started = Instant::now();
    let mut cashiers = Vec::new();
    for (t, terminal) in terminals.iter().enumerate() {
        let handle = terminal.handle.clone();
        let members = terminal.members.clone();
        cashiers.push(tokio::task::spawn_blocking(move || {
            let clerk = handle.call(|s| s.login("c1", "3817")).unwrap();
            for i in 0..SALES_PER_TERMINAL {
                let member = members[i % members.len()];
                let basket = Basket {
                    lines: vec![BasketLine {
                        sku: format!("sku{}", i % 7),
                        name: "item".into(),
                        category: "grocery".into(),
                        quantity: 1 + (i % 3) as i64,
                        unit_price: Money::from_fen(500 + (i * 37 + t * 11) as i64 % 3000),
                        list_price: None,
                    }],
                };
                let tender = TenderRequest {
                    stored_value: if i % 4 == 0 {
                        StoredValueRequest::UpTo(Money::from_yuan(5))
                    } else {
                        StoredValueRequest::None
                    },
                    ..TenderRequest::default()
                };
                let clerk = clerk.clone();
                handle
                    .call(move |s| {
                        let quote = s.price(Some(member), &basket, &tender, false)?;
                        s.commit_sale(
                            &clerk,
                            &quote,
                            &Payment::single(TenderKind::Cash, quote.amount_due),
                        )
                    })
                    .unwrap();
            }
        }));
    }
    for cashier in cashiers {
        cashier.await.unwrap();
    }
    let rung_up = started.elapsed();

    // Wait until every queue is drained.
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut last_seqs = Vec::new();
    for terminal in &terminals {
        let handle = terminal.handle.clone();
        let last = tokio::task::spawn_blocking(move || handle.call(|s| s.outbox_status()).unwrap())
            .await
            .unwrap()
            .last_seq;
        last_seqs.push(last);
        let mut status = terminal.status.clone();
        loop {
            let done = {
                let s = status.borrow();
                s.acked_seq == last && s.pending == 0
            };
            if done {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "queues not drained: {:?}",
                status.borrow().clone()
            );
            let _ = tokio::time::timeout(Duration::from_secs(1), status.changed()).await;
        }
    }
    let drained = started.elapsed();
    stop_uplinks.send(true).unwrap();
    for uplink in uplinks {
        uplink.await.unwrap();
    }

    // Exactly once at head office.
    let counts = hq_store.counts().await.unwrap();
    let expected_events: u64 = last_seqs.iter().sum();
    let setup_events = (TERMINALS as u64) * u64::from(MEMBERS_PER_TERMINAL) * 2;
    assert_eq!(
        counts.events, expected_events,
        "head office events != terminal events"
    );
    assert_eq!(
        counts.events - setup_events,
        (TERMINALS * SALES_PER_TERMINAL) as u64,
        "sales at head office"
    );
    assert_eq!(counts.dead_letters, 0);

    // Balances at head office equal the terminals' ledgers.
    let mut checked = 0;
    for terminal in &terminals {
        for &member in &terminal.members {
            let handle = terminal.handle.clone();
            let local = tokio::task::spawn_blocking(move || {
                handle.call(move |s| s.account(member)).unwrap()
            })
            .await
            .unwrap();
            let (_, entries): (_, Vec<LedgerEntry>) =
                hq_store.member(member).await.unwrap().unwrap();
            let remote = MemberAccount::fold(MemberAccount::new(member), &entries);
            let now = clock.now();
            assert_eq!(
                remote.stored_value, local.stored_value,
                "stored value of {member}"
            );
            assert_eq!(
                remote.points_balance(now),
                local.points_balance(now),
                "points of {member}"
            );
            assert_eq!(remote.rolling_spend(now, 12), local.rolling_spend(now, 12));
            checked += 1;
        }
    }
    let injected = proxy.injected();
    let faults: u64 = injected.values().sum();
    println!(
        "sync under faults: {} sales from {TERMINALS} terminals, {} events at head office, {} requests through the proxy, {faults} faults injected {injected:?}, {checked} member balances equal, rung up in {:.1} s, drained after {:.1} s",
        TERMINALS * SALES_PER_TERMINAL,
        counts.events,
        proxy.exchanges(),
        rung_up.as_secs_f64(),
        drained.as_secs_f64(),
    );
    assert!(
        faults > 20,
        "too few faults injected to mean anything: {faults}"
    );
    let _ = stop_hq.send(());
    let _ = hq_task.await;
}
