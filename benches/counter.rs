//! Counter benchmark (issue 24): `counter.item_add_p99_ms`, the time from a
//! scanned barcode to the line on the sale priced, with 100,000 items in
//! the catalog: the barcode checked and keyed, the catalog's index read,
//! the line added for a member's tier (member prices) and the whole basket
//! priced again by the rules through the store, as the terminal does after
//! every scan. Baskets of 25 scans, then a new sale. `BENCH_QUICK=1` times
//! fewer scans over the same catalog. Prints `bench: <name> = <value>
//! <unit>` lines.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "benchmark code")]

use std::sync::Arc;
use std::time::Instant;

use tillcard::clock::SystemClock;
use tillcard::counter::checkout::{CouponChoice, PriceAsk, Sale, price_checkout};
use tillcard::rules::catalog::{CatalogItem, ItemCode, Quantity};
use tillcard::store::{PinHashCost, Store, StoreConfig};

#[path = "util/catalog_items.rs"]
mod catalog_items;
use catalog_items::{ean13, item};

/// The catalog's size, the figure for one store.
const ITEMS: usize = 100_000;
/// Scans per sale before a new one starts.
const BASKET: usize = 25;

fn p(samples: &mut [f64], q: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    let rank = ((samples.len() as f64) * q).ceil() as usize;
    samples[rank.clamp(1, samples.len()) - 1]
}

fn main() {
    let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| v == "1");
    let scans = if quick { 1_000 } else { 5_000 };
    let dir = tempfile::tempdir_in(std::env::current_dir().unwrap()).unwrap();
    let config = StoreConfig {
        pin_cost: PinHashCost::TEST_ONLY,
        ..StoreConfig::new(
            "T-BENCH",
            tillcard::store_key::StoreKey::from_bytes([0x5a; 32]),
        )
    };
    let mut store = Store::open(
        &dir.path().join("terminal.sqlite"),
        config,
        Arc::new(SystemClock::new()),
    )
    .unwrap();
    let started = Instant::now();
    let catalog: Vec<CatalogItem> = (0..ITEMS).map(item).collect();
    for chunk in catalog.chunks(10_000) {
        store.put_catalog_items(chunk).unwrap();
    }
    let load_s = started.elapsed().as_secs_f64();
    assert_eq!(store.catalog_size().unwrap().0, ITEMS as u64);

    let program = store.program().unwrap();
    let mut times = Vec::with_capacity(scans);
    let mut sale = Sale::default();
    // A multiplicative walk over the catalog: every scan another item.
    let mut n = 12_345usize;
    for request in 1..=scans as u64 {
        n = (n * 7_919 + 104_729) % ITEMS;
        let scanned = ean13(n);
        let t = Instant::now();
        let code = ItemCode::parse(&scanned).unwrap();
        let found = store.item_by_code(&code).unwrap().unwrap();
        sale.add_item(found, Quantity::Units(1), Some("gold"), false)
            .unwrap();
        let ask = PriceAsk {
            request,
            member: None,
            basket: sale.basket(),
            coupon: CouponChoice::None,
            points: 0,
            use_stored_value: false,
            offline: false,
        };
        let priced = price_checkout(&ask, &[], 0, program.redemption.step, |tender| {
            store.price(None, &ask.basket, tender, false)
        })
        .unwrap();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(priced.quote.lines.len(), sale.lines.len());
        if sale.lines.len() >= BASKET {
            sale = Sale::default();
        }
    }
    println!("bench: counter.catalog_items = {ITEMS} items");
    println!("bench: counter.catalog_load_s = {load_s:.2} s");
    println!(
        "bench: counter.item_add_median_ms = {:.3} ms",
        p(&mut times, 0.5)
    );
    println!(
        "bench: counter.item_add_p99_ms = {:.3} ms",
        p(&mut times, 0.99)
    );
    println!("bench: counter.item_add_scans = {scans} scans (baskets of {BASKET})");
}
