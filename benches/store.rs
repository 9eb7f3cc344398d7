//! Store benchmarks: durable commit rate against a plain INSERT+commit on the
//! same disk with the same settings, member lookups with 1,000,000 members
//! cached, and enrollment latency. `BENCH_QUICK=1` uses 100,000 members and
//! fewer commits.

// clippy.toml keeps database connections in the store modules; a bench compares against (or prepares) a database directly.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "benchmark code")]

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use rusqlite::Connection;
use tillcard::clock::SystemClock;
use tillcard::rules::pricing::{Basket, BasketLine, StoredValueRequest, TenderRequest};
use tillcard::rules::tenders::{Payment, TenderKind};
use tillcard::rules::{MemberId, Money};
use tillcard::store::clerks::Role;
use tillcard::store::members::{EnrollRequest, MemberRecord};
use tillcard::store::{PinHashCost, Store, StoreConfig};
use uuid::Uuid;

fn p99_ms(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    let rank = ((samples.len() as f64) * 0.99).ceil() as usize;
    samples[rank.clamp(1, samples.len()) - 1]
}

fn open(path: &Path) -> Store {
    let config = StoreConfig {
        pin_cost: PinHashCost::TEST_ONLY,
        ..StoreConfig::new(
            "T-BENCH",
            tillcard::store_key::StoreKey::from_bytes([0x5a; 32]),
        )
    };
    Store::open(path, config, Arc::new(SystemClock::new())).unwrap()
}

/// A plain table with the store's durability settings, for single-row
/// INSERT + COMMIT.
fn raw_connection(dir: &Path) -> Connection {
    let conn = Connection::open(dir.join("raw.sqlite")).unwrap();
    conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0))
        .unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        .unwrap();
    conn
}

fn raw_commit(conn: &Connection, i: usize) {
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    conn.execute("INSERT INTO t (body) VALUES (?1)", [format!("row {i}")])
        .unwrap();
    conn.execute_batch("COMMIT").unwrap();
}

fn main() {
    let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| v == "1");
    let members = if quick { 100_000 } else { 1_000_000 };
    let commits = if quick { 200 } else { 600 };
    let dir = tempfile::tempdir_in(std::env::current_dir().unwrap()).unwrap();
    let mut store = open(&dir.path().join("terminal.sqlite"));
    store
        .add_clerk("c1", "Cashier", Role::Cashier, "3817")
        .unwrap();
    let clerk = store.login("c1", "3817").unwrap();
    let member = store
        .enroll(
            &clerk,
            &EnrollRequest {
                phone: "13900000000".into(),
                name: Some("王芳".into()),
                birthday: None,
                consent: true,
                referred_by: None,
            },
        )
        .unwrap()
        .member
        .id;
    store
        .top_up(
            &clerk,
            member,
            &tillcard::rules::booking::TopUp::Amount(Money::from_yuan(1_000_000)),
        )
        .unwrap();

    // Sales: priced outside the timing, committed inside it.
    let basket = Basket {
        lines: (0..3)
            .map(|i| BasketLine {
                sku: format!("sku{i}"),
                name: format!("item {i}"),
                category: "grocery".into(),
                quantity: 1,
                unit_price: Money::from_fen(1990 + i),
                list_price: None,
            })
            .collect(),
    };
    let tender = TenderRequest {
        stored_value: StoredValueRequest::UpTo(Money::from_yuan(10)),
        ..TenderRequest::default()
    };
    // Sales and raw commits alternate in blocks so both see the same disk
    // and the same background load.
    let raw = raw_connection(dir.path());
    let (mut sale_secs, mut raw_secs) = (0.0, 0.0);
    for block in 0..commits / 50 {
        for _ in 0..50 {
            let quote = store.price(Some(member), &basket, &tender, false).unwrap();
            let started = Instant::now();
            store
                .commit_sale(
                    &clerk,
                    &quote,
                    &Payment::single(TenderKind::Cash, quote.amount_due),
                )
                .unwrap();
            sale_secs += started.elapsed().as_secs_f64();
        }
        let started = Instant::now();
        for i in 0..50 {
            raw_commit(&raw, block * 50 + i);
        }
        raw_secs += started.elapsed().as_secs_f64();
    }
    let sales_per_s = commits as f64 / sale_secs;
    let raw_per_s = commits as f64 / raw_secs;
    println!("bench: store.sale_commits_per_s = {sales_per_s:.0} commits/s");
    println!("bench: store.raw_insert_commits_per_s = {raw_per_s:.0} commits/s");
    println!(
        "bench: store.commit_ratio = {:.2} ratio",
        sales_per_s / raw_per_s
    );

    // Enrollment latency (one durable transaction each).
    let mut enroll_ms = Vec::new();
    for n in 0..(if quick { 100 } else { 300 }) {
        let request = EnrollRequest {
            phone: format!("137{n:08}"),
            name: Some("李娜".into()),
            birthday: None,
            consent: true,
            referred_by: None,
        };
        let started = Instant::now();
        store.enroll(&clerk, &request).unwrap();
        enroll_ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    println!("bench: store.enroll_p99_ms = {:.3} ms", p99_ms(enroll_ms));

    // A store's whole member list from head office.
    let started = Instant::now();
    let records: Vec<(MemberRecord, String)> = (0..members)
        .map(|n| {
            (
                MemberRecord {
                    id: MemberId(Uuid::from_u128(0xA000_0000_0000 + n as u128)),
                    phone_masked: "186****0000".into(),
                    name_masked: "陈*".into(),
                    birthday: None,
                    referred_by: None,
                    tags: Vec::new(),
                    balances_known: true,
                    frozen: false,
                },
                format!("186{n:08}"),
            )
        })
        .collect();
    store
        .import_members(records.iter().map(|(r, p)| (r, Some(p.as_str()))))
        .unwrap();
    eprintln!(
        "imported {members} members in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let lookups = if quick { 5_000 } else { 20_000 };
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % members as u64) as usize
    };
    let mut card_ms = Vec::with_capacity(lookups);
    let mut phone_ms = Vec::with_capacity(lookups);
    for _ in 0..lookups {
        let (record, phone) = &records[next()];
        let started = Instant::now();
        let found = store.find_member(record.id).unwrap();
        card_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        assert!(found.is_some());
        let (_, phone_other) = &records[next()];
        let started = Instant::now();
        let found = store.find_member_by_phone(phone_other).unwrap();
        phone_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        assert!(found.is_some());
        let _ = phone;
    }
    println!("bench: store.members_cached = {members} members");
    println!(
        "bench: store.lookup_card_p99_ms = {:.4} ms",
        p99_ms(card_ms)
    );
    println!(
        "bench: store.lookup_phone_p99_ms = {:.4} ms",
        p99_ms(phone_ms)
    );
}
