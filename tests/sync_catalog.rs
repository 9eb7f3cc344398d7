//! The product catalog from head office to the counter's lookup (issue
//! 24): a CSV imported at head office reaches a registered terminal on its
//! next sync; a scanned barcode finds its item (UPC-A by its 12 digits as
//! its EAN-13), a changed item replaces the held one, and an item out of
//! its bounds in a page is refused and recorded while the page goes on.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

#[path = "util/sync.rs"]
mod sync_util;

use std::sync::Arc;

use sync_util::{served_hq, sync_until_idle, terminal_with_cashier};
use tillcard::clock::{Clock, SystemClock};
use tillcard::rules::Money;
use tillcard::rules::catalog::{CatalogItem, ItemCode};
use tillcard::store::handle::StoreHandle;
use tillcard::uplink::provision;
use tillcard_hq::service::back_office::Actor;

const FILE: &str = "sku,barcode,name_zh,name_en,category,price,member_prices,sold_by_weight,active
A-0001,6901028075831,可口可乐 330ml,Coca-Cola 330 ml,drinks,3.50,gold=3.00,,
F-0100,,富士苹果,Fuji apples,fresh,12.98,,true,
A-0002,036000291452,纸巾,Tissues,household,8.00,,,
";

fn call<R: Send + 'static>(
    handle: &StoreHandle,
    f: impl FnOnce(&mut tillcard::store::Store) -> Result<R, tillcard::store::StoreError>
    + Send
    + 'static,
) -> R {
    handle.call(f).unwrap()
}

fn by_code(handle: &StoreHandle, code: &str) -> Option<CatalogItem> {
    let code = ItemCode::parse(code).unwrap();
    call(handle, move |s| s.item_by_code(&code))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catalog_imported_at_head_office_is_found_by_barcode_at_the_counter() {
    tillcard::logging::init_for_tests();
    let dir = tempfile::tempdir().unwrap();
    let (_store, hq, url) = served_hq(dir.path()).await;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let till_dir = tempfile::tempdir().unwrap();
    let till = terminal_with_cashier(till_dir.path(), "store-1", clock.clone());
    let code = hq.issue_code("store-1").await.unwrap();
    provision(&till, &url, &code, None, None).await.unwrap();

    let write = hq
        .import_catalog(&Actor::cli(), FILE.as_bytes())
        .await
        .unwrap();
    assert_eq!(write.written, 3);
    sync_until_idle(&till, &url, clock.clone(), None).await;
    let cola = by_code(&till, "6901028075831").expect("the EAN-13 is found");
    assert_eq!(cola.sku, "A-0001");
    assert_eq!(cola.member_price("gold"), Some(Money::from_fen(300)));
    let tissues = by_code(&till, "036000291452").expect("UPC-A as scanned");
    assert_eq!(tissues.sku, "A-0002");
    assert_eq!(by_code(&till, "0036000291452").unwrap().sku, "A-0002");
    assert!(by_code(&till, "96385074").is_none(), "an unknown barcode");
    assert_eq!(call(&till, |s| s.catalog_size()), (3, 3));

    // A change replaces the held item; an item made inactive is kept.
    let changed = "sku,barcode,name_zh,category,price,active\nA-0001,6901028075831,可口可乐 330ml,drinks,3.80,\nA-0002,036000291452,纸巾,household,8.00,false\n";
    hq.import_catalog(&Actor::cli(), changed.as_bytes())
        .await
        .unwrap();
    sync_until_idle(&till, &url, clock.clone(), None).await;
    assert_eq!(
        by_code(&till, "6901028075831").unwrap().price,
        Money::from_fen(380)
    );
    assert!(!by_code(&till, "036000291452").unwrap().active);
    assert_eq!(call(&till, |s| s.catalog_size()), (3, 2));

    // An item out of its bounds (a forged page) is refused, the rest kept.
    let mut bad = cola.clone();
    bad.sku = "BAD 1".into();
    let mut good = cola;
    good.sku = "A-0003".into();
    good.barcode = None;
    let refused = call(&till, move |s| {
        s.apply_changes(tillcard_protocol::wire::ChangesPage {
            changes: vec![
                tillcard_protocol::wire::Change::Item {
                    item: Box::new(bad),
                },
                tillcard_protocol::wire::Change::Item {
                    item: Box::new(good),
                },
            ],
            cursor: s.downlink_cursor()?.unwrap_or_default(),
            more: false,
            acked_seq: None,
            resync: false,
        })?;
        Ok(s.item_by_sku("A-0003")?.is_some() && s.item_by_sku("BAD 1")?.is_none())
    });
    let refusals = call(&till, |s| s.refused_changes());
    println!(
        "catalog: 3 imported and found; the bad item refused, its neighbour kept: {refused}; refusals {refusals}"
    );
    assert!(refused);
    assert_eq!(refusals, 1);
}
