//! The benchmarks' catalog of a store: item `n` with its EAN-13, price,
//! category and (one item in three) a gold member price; as the store's
//! `CatalogItem` and as a row of head office's CSV import.

use tillcard::rules::Money;
use tillcard::rules::catalog::{CatalogItem, TierPrice};

/// The EAN-13 of item `n`: a Chinese prefix, the number, its check digit.
pub fn ean13(n: usize) -> String {
    let body = format!("690{n:09}");
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, d)| u32::from(d - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

pub fn item(n: usize) -> CatalogItem {
    let price = Money::from_fen(100 + (n as i64 * 37) % 9_900);
    CatalogItem {
        sku: format!("S{n:06}"),
        barcode: Some(ean13(n)),
        name_zh: format!("商品 {n}"),
        name_en: format!("Item {n}"),
        category: ["grocery", "drinks", "household", "fresh"][n % 4].into(),
        price,
        // A third of the items have a gold member price, 10% off.
        member_prices: if n.is_multiple_of(3) {
            vec![TierPrice {
                tier: "gold".into(),
                price: price.mul_ratio_half_up(9, 10),
            }]
        } else {
            Vec::new()
        },
        sold_by_weight: false,
        active: true,
    }
}

/// The CSV import's header, the columns [`csv_row`] fills.
#[allow(dead_code, reason = "only the catalog bench imports CSV")]
pub const CSV_HEADER: &str =
    "sku,barcode,name_zh,name_en,category,price,member_prices,sold_by_weight,active";

/// Item `n` as a row of head office's CSV import.
#[allow(dead_code, reason = "only the catalog bench imports CSV")]
pub fn csv_row(n: usize) -> String {
    let item = item(n);
    let member_prices: Vec<String> = item
        .member_prices
        .iter()
        .map(|p| format!("{}={}", p.tier, p.price.to_plain_string()))
        .collect();
    format!(
        "{},{},{},{},{},{},{},,",
        item.sku,
        item.barcode.unwrap_or_default(),
        item.name_zh,
        item.name_en,
        item.category,
        item.price.to_plain_string(),
        member_prices.join(";"),
    )
}
