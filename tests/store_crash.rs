//! Crash safety: a child process runs checkouts, refunds and top-ups in a
//! loop, printing each action after its commit returned, while this test
//! kills it with SIGKILL at random moments (200 times by default;
//! `TILLCARD_CRASH_KILLS` raises it for a benchmark run). After every kill
//! the file must pass its integrity check, the outbox sequence must be
//! gapless, every sale must have its outbox event and ledger entries and
//! vice versa, the ledger must fold to the same balances as the events, and
//! every action the child saw committed must be there.

// clippy.toml keeps database connections in the store modules; this test inspects or breaks the database directly.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;
use tillcard::clock::SystemClock;
use tillcard::rules::MemberId;
use tillcard::rules::account::MemberAccount;
use tillcard::rules::booking::TopUp;
use tillcard::rules::ledger::LedgerEntry;
use tillcard::rules::pricing::{StoredValueRequest, TenderRequest};
use tillcard::rules::refund::RefundLine;
use tillcard::rules::tenders::{Payment, TenderKind};
use tillcard::store::events::EventBody;
use tillcard::store::{Store, StoreError};
use util::Rng;
use util::store::*;

const DB_ENV: &str = "TILLCARD_CRASH_DB";
const MEMBERS: u32 = 6;

/// The child: runs actions until killed. Only runs when the parent starts
/// this binary with `--ignored` and the database path.
#[test]
#[ignore = "child process of crash_safety_under_sigkill"]
fn crash_child_loop() {
    let Ok(path) = std::env::var(DB_ENV) else {
        return;
    };
    let seed: u64 = std::env::var("TILLCARD_CRASH_SEED")
        .unwrap()
        .parse()
        .unwrap();
    let mut rng = Rng::new(seed);
    let mut store = Store::open(Path::new(&path), config(), Arc::new(SystemClock::new())).unwrap();
    let clerk = cashier(&mut store);
    let approval = store.approve(MANAGER.0, MANAGER.1).unwrap();
    let members: Vec<MemberId> = (0..MEMBERS)
        .map(|n| {
            store
                .find_member_by_phone(&format!("1380000{n:04}"))
                .unwrap()
                .unwrap()
                .id
        })
        .collect();
    loop {
        let member = members[rng.below(MEMBERS as usize)];
        match rng.below(10) {
            0..=5 => {
                let tender = TenderRequest {
                    coupons: Vec::new(),
                    redeem_points: 100 * rng.below(4) as i64,
                    stored_value: if rng.below(2) == 0 {
                        StoredValueRequest::AsMuchAsPossible
                    } else {
                        StoredValueRequest::None
                    },
                };
                let walk_in = rng.below(8) == 0;
                let basket = basket(1 + rng.below(4), 5 + rng.below(60) as i64);
                let quote = store
                    .price(
                        (!walk_in).then_some(member),
                        &basket,
                        &tender,
                        rng.below(2) == 0,
                    )
                    .unwrap();
                let receipt = store
                    .commit_sale(
                        &clerk,
                        &quote,
                        &Payment::single(TenderKind::Cash, quote.amount_due),
                    )
                    .unwrap();
                println!("committed sale {}", receipt.sale.0);
            }
            6..=7 => {
                let sales = store.recent_sales(20).unwrap();
                if sales.is_empty() {
                    continue;
                }
                let sale = &sales[rng.below(sales.len())];
                let quote = store.sale(sale.sale).unwrap();
                let line = rng.below(quote.lines.len());
                let request = [RefundLine { line, quantity: 1 }];
                match store.refund(&clerk, &approval, sale.sale, &request) {
                    Ok(receipt) => println!("committed refund {}", receipt.refund.0),
                    Err(StoreError::Refund(_)) => {} // already fully refunded
                    Err(other) => panic!("refund failed: {other}"),
                }
            }
            _ => {
                let entries = store
                    .top_up(&clerk, member, &TopUp::Package("500+50".into()))
                    .unwrap();
                println!("committed top_up {}", entries[0].source.0);
            }
        }
    }
}

fn seed_database(path: &Path) {
    let mut store = Store::open(path, config(), Arc::new(SystemClock::new())).unwrap();
    store
        .add_clerk(
            CASHIER.0,
            "Cashier",
            tillcard::store::clerks::Role::Cashier,
            CASHIER.1,
        )
        .unwrap();
    store
        .add_clerk(
            MANAGER.0,
            "Manager",
            tillcard::store::clerks::Role::Manager,
            MANAGER.1,
        )
        .unwrap();
    let clerk = cashier(&mut store);
    for n in 0..MEMBERS {
        let member = enroll(&mut store, &clerk, n);
        store
            .top_up(&clerk, member.id, &TopUp::Package("1000+150".into()))
            .unwrap();
    }
}

/// The (id, event seq) rows `sql` selects.
fn ids_and_seqs(conn: &Connection, sql: &str) -> BTreeSet<(String, i64)> {
    conn.prepare(sql)
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The (id, seq) of each event `id_of` gives an id.
fn event_ids_and_seqs(
    events: &[(i64, EventBody)],
    id_of: impl Fn(&EventBody) -> Option<String>,
) -> BTreeSet<(String, i64)> {
    events
        .iter()
        .filter_map(|(seq, body)| id_of(body).map(|id| (id, *seq)))
        .collect()
}

/// Everything the file must satisfy after a crash. Returns the number of
/// outbox events.
fn check_invariants(path: &Path, committed: &[(String, String)]) -> usize {
    // Opening runs the integrity check; a damaged file would be refused.
    let store = Store::open(path, config(), Arc::new(SystemClock::new())).unwrap();
    store.integrity_check().unwrap();
    drop(store);
    let conn = raw(path);

    let mut events: Vec<(i64, EventBody)> = Vec::new();
    let mut stmt = conn
        .prepare("SELECT seq, payload FROM outbox ORDER BY seq")
        .unwrap();
    for row in stmt
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
        .unwrap()
    {
        let (seq, payload) = row.unwrap();
        events.push((seq, serde_json::from_str(&payload).unwrap()));
    }
    for (i, (seq, _)) in events.iter().enumerate() {
        assert_eq!(*seq, i as i64 + 1, "outbox sequence has a gap");
    }
    let next_seq: i64 = conn
        .query_row("SELECT next_seq FROM terminal", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        next_seq,
        events.len() as i64 + 1,
        "next_seq out of step with the outbox"
    );

    // Ledger rows, grouped by the event that wrote them, must be exactly the
    // entries that event carries.
    let mut ledger: BTreeMap<i64, Vec<LedgerEntry>> = BTreeMap::new();
    let mut stmt = conn
        .prepare("SELECT event_seq, body FROM ledger ORDER BY id")
        .unwrap();
    for row in stmt
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
        .unwrap()
    {
        let (seq, body) = row.unwrap();
        ledger
            .entry(seq)
            .or_default()
            .push(serde_json::from_str(&body).unwrap());
    }
    for (seq, body) in &events {
        let stored = ledger.remove(seq).unwrap_or_default();
        assert_eq!(
            stored,
            body.entries(),
            "event {seq}: ledger rows differ from the event's entries"
        );
    }
    assert!(
        ledger.is_empty(),
        "ledger rows without an outbox event: {:?}",
        ledger.keys()
    );

    // Every sale row has its sale event and vice versa; same for refunds.
    let sales = ids_and_seqs(&conn, "SELECT sale_id, event_seq FROM sales");
    let sale_events = event_ids_and_seqs(&events, |body| match body {
        EventBody::SaleBooked { quote, .. } => Some(quote.id.0.to_string()),
        _ => None,
    });
    assert_eq!(sales, sale_events, "sales and sale events differ");
    let refunds = ids_and_seqs(&conn, "SELECT refund_id, event_seq FROM refunds");
    let refund_events = event_ids_and_seqs(&events, |body| match body {
        EventBody::Refunded { refund, .. } => Some(refund.0.to_string()),
        _ => None,
    });
    assert_eq!(refunds, refund_events, "refunds and refund events differ");

    // Balances from the store equal the fold of the events' entries.
    let store = Store::open(path, config(), Arc::new(SystemClock::new())).unwrap();
    let mut by_member: BTreeMap<MemberId, Vec<LedgerEntry>> = BTreeMap::new();
    for (_, body) in &events {
        for entry in body.entries() {
            by_member
                .entry(entry.member)
                .or_default()
                .push(entry.clone());
        }
    }
    for (member, entries) in &by_member {
        let folded = MemberAccount::fold(MemberAccount::new(*member), entries);
        let account = store.account(*member).unwrap();
        assert_eq!(account.stored_value, folded.stored_value);
        assert_eq!(account.lots, folded.lots);
        assert!(account.stored_value.principal.fen() >= 0 && account.stored_value.bonus.fen() >= 0);
    }

    // Nothing the child saw committed is missing.
    let sources: BTreeSet<String> = events
        .iter()
        .flat_map(|(_, body)| {
            let mut ids: Vec<String> = body
                .entries()
                .iter()
                .map(|e| e.source.0.to_string())
                .collect();
            match body {
                EventBody::SaleBooked { quote, .. } => ids.push(quote.id.0.to_string()),
                EventBody::Refunded { refund, .. } => ids.push(refund.0.to_string()),
                _ => {}
            }
            ids
        })
        .collect();
    for (kind, id) in committed {
        assert!(
            sources.contains(id),
            "{kind} {id} was reported committed but is missing"
        );
    }
    events.len()
}

#[test]
fn crash_safety_under_sigkill() {
    let kills: usize = std::env::var("TILLCARD_CRASH_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(200);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("terminal.sqlite");
    seed_database(&path);
    let exe = std::env::current_exe().unwrap();
    let mut rng = Rng::new(0x5EED_CAFE);
    let mut committed_total = 0usize;
    let mut events = 0usize;
    for round in 0..kills {
        let mut child = Command::new(&exe)
            .args([
                "crash_child_loop",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(DB_ENV, &path)
            .env("TILLCARD_CRASH_SEED", (round as u64 + 1).to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let seen = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
        let reader = {
            let seen = seen.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if let Some(rest) = line.strip_prefix("committed ") {
                        let (kind, id) = rest.split_once(' ').unwrap();
                        seen.lock().unwrap().push((kind.to_owned(), id.to_owned()));
                    }
                }
            })
        };
        std::thread::sleep(Duration::from_millis(20 + rng.below(120) as u64));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        let committed = seen.lock().unwrap().clone();
        committed_total += committed.len();
        events = check_invariants(&path, &committed);
    }
    println!(
        "crash test: {kills} SIGKILLs, {committed_total} actions reported committed, {events} outbox events, all invariants held"
    );
    assert!(
        committed_total > kills,
        "the child hardly committed anything: {committed_total}"
    );
}
