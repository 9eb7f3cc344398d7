//! The demo's product catalog (issue 24): a dozen goods a convenience
//! store sells, with real-looking barcodes, member prices for silver and
//! gold members, apples sold by weight, pork weighed in the back room
//! (its scale label names it by its SKU, the PLU 00731); and three goods whose barcodes
//! are printed on photos in `tests/data/barcodes` (a book, a pack of gum,
//! an American snack), so a camera demo or a test can scan them.
//!
//! Seeded into an empty demo store beside the demo members; a till
//! registered with head office receives head office's catalog instead.

use tillcard_rules::Money;
use tillcard_rules::catalog::{CatalogItem, TierPrice};

/// (sku, barcode, name zh, name en, category, price in fen, [(tier, fen)],
/// sold by weight).
type DemoItem = (
    &'static str,
    Option<&'static str>,
    &'static str,
    &'static str,
    &'static str,
    i64,
    &'static [(&'static str, i64)],
    bool,
);

/// The demo's catalog.
#[rustfmt::skip]
pub const DEMO_ITEMS: &[DemoItem] = &[
    ("D-001", Some("6901028075015"), "农夫山泉 550ml", "Spring water 550 ml", "drinks", 200, &[], false),
    ("D-002", Some("6901028075022"), "可口可乐 330ml", "Coca-Cola 330 ml", "drinks", 350, &[("gold", 300), ("diamond", 300)], false),
    ("D-003", Some("6901028075039"), "红烧牛肉面", "Braised beef noodles", "grocery", 450, &[], false),
    ("D-004", Some("6901028075046"), "东北大米 5kg", "Rice 5 kg", "grocery", 5990, &[("silver", 5690), ("gold", 5490), ("diamond", 5490)], false),
    ("D-005", Some("6901028075053"), "抽纸 3包", "Tissues, 3 packs", "household", 1290, &[], false),
    ("D-006", Some("6901028075060"), "纯牛奶 250ml×12", "Milk 250 ml ×12", "drinks", 5500, &[("silver", 5200), ("gold", 4990), ("diamond", 4990)], false),
    ("D-007", None, "富士苹果（称重）", "Fuji apples (by weight)", "fresh", 1298, &[("gold", 1198), ("diamond", 1198)], true),
    ("D-008", Some("9780201310054"), "编程图书", "Programming book", "books", 8900, &[], false),
    ("D-009", Some("12345670"), "口香糖", "Chewing gum", "grocery", 250, &[], false),
    ("D-010", Some("023942431015"), "进口零食", "Imported snack", "grocery", 1580, &[("gold", 1380), ("diamond", 1380)], false),
    ("D-011", Some("6901028075077"), "香烟", "Cigarettes", "tobacco", 2500, &[], false),
    ("D-012", Some("6901028075084"), "礼品卡 ¥100", "Gift card ¥100", "gift_card", 10000, &[], false),
    // Weighed in the back room: its scale label (prefix 2, PLU 00731, the
    // grams) names it by this SKU.
    ("00731", None, "鲜猪肉（称重）", "Fresh pork (by weight)", "fresh", 2680, &[("gold", 2480), ("diamond", 2480)], true),
];

/// The demo's catalog as items.
pub fn demo_items() -> Vec<CatalogItem> {
    DEMO_ITEMS
        .iter()
        .map(
            |(sku, barcode, zh, en, category, fen, prices, weighed)| CatalogItem {
                sku: (*sku).into(),
                barcode: barcode.map(str::to_string),
                name_zh: (*zh).into(),
                name_en: (*en).into(),
                category: (*category).into(),
                price: Money::from_fen(*fen),
                member_prices: prices
                    .iter()
                    .map(|(tier, fen)| TierPrice {
                        tier: (*tier).into(),
                        price: Money::from_fen(*fen),
                    })
                    .collect(),
                sold_by_weight: *weighed,
                active: true,
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_demo_item_is_valid_and_its_barcode_unique() {
        let items = demo_items();
        let mut codes = std::collections::HashSet::new();
        for item in &items {
            assert!(
                item.problems().is_empty(),
                "{}: {:?}",
                item.sku,
                item.problems()
            );
            if let Some(code) = item.code() {
                assert!(codes.insert(code.key().to_string()), "{}", item.sku);
            }
        }
        assert_eq!(items.len(), DEMO_ITEMS.len());
    }
}
