//! Partitions (issue 22): 20 terminals, each syncing with one head office
//! through its own fault proxy, keep ringing up sales, top-ups and refunds
//! on random members while their proxies partition them at random
//! (connections refused, or a black hole), delay requests and drop
//! connections, before a request is forwarded and after head office
//! answered it. About 2 minutes by default (`TILLCARD_PARTITION_SECS`
//! sets the seconds). Then the network heals and the cashiers stop: every
//! queue must be empty within 60 s, and the set checker must find every
//! event the terminals committed at head office exactly once (0 lost, 0
//! duplicated, 0 unexpected) and every member's totals equal.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

#[path = "util/fault_proxy.rs"]
mod fault_proxy;
#[path = "util/fleet.rs"]
mod fleet;
#[path = "util/set_check.rs"]
mod set_check;
#[path = "util/sync.rs"]
mod sync_util;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use fault_proxy::{ExchangeFaults, Fault, Partition};
use fleet::Fleet;
use tillcard::clock::{Clock, SystemClock};

const TERMINALS: usize = 20;
const MEMBERS_PER_TERMINAL: u32 = 6;
/// How long queues may take to empty after the heal (issue 22).
const DRAIN_LIMIT: Duration = Duration::from_secs(60);
/// The faults of each exchange while the network is up: delays, and
/// connections dropped before the request is forwarded or after head
/// office answered it.
const FAULTS: ExchangeFaults = ExchangeFaults {
    percent: 15,
    kinds: &[
        Fault::Delay,
        Fault::Delay,
        Fault::DropRequest,
        Fault::DropResponseAfterCommit,
        Fault::DropResponseAfterCommit,
        Fault::Reset,
    ],
};

fn partition_secs() -> u64 {
    std::env::var("TILLCARD_PARTITION_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_terminals_through_random_partitions_lose_and_double_nothing() {
    tillcard::logging::init_for_tests();
    let hq_dir = tempfile::tempdir().unwrap();
    let (hq_store, hq) = sync_util::sqlite_hq(hq_dir.path()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hq_addr = listener.local_addr().unwrap();
    tokio::spawn(tillcard_hq::service::serve(
        listener,
        hq.clone(),
        std::future::pending(),
    ));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let mut fleet = Fleet::start(
        &hq,
        hq_addr,
        TERMINALS,
        MEMBERS_PER_TERMINAL,
        FAULTS,
        0x9A27_1710,
        clock.clone(),
    )
    .await;

    // The partition phase: cashiers ring up while every proxy partitions
    // its terminal at random (open 1 to 6 s, then cut 0.5 to 5 s).
    let secs = partition_secs();
    let stop_cashiers = Arc::new(AtomicBool::new(false));
    let (stop_chaos, chaos_stopped) = tokio::sync::watch::channel(false);
    let mut chaos = Vec::new();
    for terminal in &fleet.terminals {
        let proxy = terminal.proxy.clone();
        let stopped = chaos_stopped.clone();
        chaos.push(tokio::spawn(async move {
            proxy
                .partition_randomly(
                    Duration::from_secs(1)..Duration::from_secs(6),
                    Duration::from_millis(500)..Duration::from_secs(5),
                    stopped,
                )
                .await;
        }));
    }
    let cashiers = {
        let stop = stop_cashiers.clone();
        let fleet = &fleet;
        async move {
            fleet
                .ring_up(Duration::from_millis(150), 0xCA5E, stop)
                .await
        }
    };
    let timer = async {
        tokio::time::sleep(Duration::from_secs(secs)).await;
        stop_cashiers.store(true, std::sync::atomic::Ordering::Relaxed);
    };
    let (activity, ()) = tokio::join!(cashiers, timer);

    // Heal: no partition, no fault; every queue empties.
    stop_chaos.send(true).unwrap();
    for task in chaos {
        task.await.unwrap();
    }
    for terminal in &fleet.terminals {
        terminal.proxy.heal();
    }
    let drained = fleet.drained_within(DRAIN_LIMIT).await;
    fleet.stop().await;

    // Counts of what the network did.
    let mut partitions = 0;
    let mut refused = 0;
    let mut drops = 0;
    let mut drops_after_forward = 0;
    let mut delays = 0;
    let mut exchanges = 0;
    for terminal in &fleet.terminals {
        let by_kind = terminal.proxy.partitions();
        partitions += by_kind.values().sum::<u64>();
        refused += by_kind.get(&Partition::Refused).copied().unwrap_or(0);
        let injected = terminal.proxy.injected();
        drops += [
            Fault::DropRequest,
            Fault::DropResponseAfterCommit,
            Fault::Reset,
        ]
        .iter()
        .map(|f| injected.get(f).copied().unwrap_or(0))
        .sum::<u64>();
        drops_after_forward += injected
            .get(&Fault::DropResponseAfterCommit)
            .copied()
            .unwrap_or(0);
        delays += injected.get(&Fault::Delay).copied().unwrap_or(0);
        exchanges += terminal.proxy.exchanges();
    }

    // The set check and every member's totals.
    let committed: Vec<_> = fleet.terminals.iter().map(|t| t.committed()).collect();
    let verdict = set_check::check(&hq_dir.path().join("hq.sqlite"), &committed);
    let now = clock.now();
    let mut members_checked = 0;
    let mut members_differ = Vec::new();
    for terminal in &fleet.terminals {
        let (checked, differ) =
            set_check::member_totals(&hq_store, &terminal.handle, &terminal.members, now).await;
        members_checked += checked;
        members_differ.extend(differ);
    }
    let drain_secs = drained.map_or(f64::NAN, |d| d.as_secs_f64());
    println!(
        "partitions: {TERMINALS} terminals for {secs} s, {} sales, {} top-ups, {} refunds; \
         {partitions} partitions injected ({refused} refused, {} black holes), {drops} drops \
         ({drops_after_forward} after head office answered), {delays} delays, {exchanges} \
         exchanges; {} events checked ({} ledger entries): lost {}, duplicated {}, unexpected {}, \
         dead-lettered {}; {members_checked} members' totals compared, {} differ; queues empty \
         {drain_secs:.1} s after the heal",
        activity.sales,
        activity.top_ups,
        activity.refunds,
        partitions - refused,
        verdict.events,
        verdict.entries,
        verdict.lost,
        verdict.duplicated,
        verdict.unexpected,
        verdict.dead,
        members_differ.len(),
    );
    assert!(
        drained.is_some(),
        "queues not empty {} s after the heal: {:?}",
        DRAIN_LIMIT.as_secs(),
        committed.iter().map(|c| c.pending).collect::<Vec<_>>()
    );
    assert_eq!(verdict.lost, 0, "events lost");
    assert_eq!(verdict.duplicated, 0, "events duplicated");
    assert_eq!(verdict.unexpected, 0, "unexpected events");
    assert_eq!(verdict.dead, 0, "events dead-lettered");
    assert!(
        members_differ.is_empty(),
        "members' totals differ: {members_differ:?}"
    );
    assert!(
        partitions >= TERMINALS as u64 && drops_after_forward > 0,
        "too few faults to mean anything: {partitions} partitions, {drops_after_forward} drops after forward"
    );
    assert!(activity.sales > TERMINALS as u64, "hardly any sales");
}
