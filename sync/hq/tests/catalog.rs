//! The product catalog at head office (issue 24): items written through
//! the admin API and imported from CSV, all or nothing, sent down to every
//! terminal of the chain once per change, audited. Runs on SQLite and
//! PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tillcard_protocol::wire::Change;
use tillcard_rules::catalog::CatalogItem;
use util::{ADMIN, Backend, Harness, harness};

both!(
    items_written_and_imported_reach_every_terminal_once_per_change,
    written_and_sent
);
both!(
    a_write_with_any_problem_is_refused_whole_with_every_problem_listed,
    refused_whole
);

const FILE: &str = "sku,barcode,name_zh,name_en,category,price,member_prices,sold_by_weight,active
A-0001,6901028075831,可口可乐 330ml,Coca-Cola 330 ml,drinks,3.50,gold=3.00,,
F-0100,,富士苹果,Fuji apples,fresh,12.98,,true,
A-0002,036000291452,纸巾,Tissues,household,8.00,,,
";

async fn import(h: &Harness, file: &str) -> (StatusCode, serde_json::Value) {
    let req = Request::builder()
        .method("POST")
        .uri("/v1/admin/catalog/import")
        .header("authorization", format!("Bearer {ADMIN}"))
        .header("content-type", "text/csv")
        .body(Body::from(file.to_string()))
        .unwrap();
    let (s, b) = h.request(req).await;
    (
        s,
        serde_json::from_slice(&b).unwrap_or(serde_json::Value::Null),
    )
}

async fn get(h: &Harness, path: &str) -> (StatusCode, serde_json::Value) {
    let req = Request::builder()
        .uri(path)
        .header("authorization", format!("Bearer {ADMIN}"))
        .body(Body::empty())
        .unwrap();
    let (s, b) = h.request(req).await;
    (
        s,
        serde_json::from_slice(&b).unwrap_or(serde_json::Value::Null),
    )
}

fn items_of(changes: &[Change]) -> Vec<CatalogItem> {
    changes
        .iter()
        .filter_map(|c| match c {
            Change::Item { item } => Some((**item).clone()),
            _ => None,
        })
        .collect()
}

async fn written_and_sent(backend: Backend) {
    let h = harness(backend).await;
    let (a, b) = h.two_stores().await;
    let (s, write) = import(&h, FILE).await;
    assert_eq!(s, StatusCode::OK, "{write}");
    assert_eq!(write, serde_json::json!({"written": 3, "unchanged": 0}));
    // The same file again changes nothing and sends nothing more.
    let (_, again) = import(&h, FILE).await;
    assert_eq!(again, serde_json::json!({"written": 0, "unchanged": 3}));
    // One item changed through the JSON API.
    let (s, one) = get(&h, "/v1/admin/catalog/items/A-0001").await;
    assert_eq!(s, StatusCode::OK);
    let mut cola: CatalogItem = serde_json::from_value(one).unwrap();
    cola.price = tillcard_rules::Money::from_fen(380);
    let (s, write) = h
        .admin_post("/v1/admin/catalog/items", serde_json::json!([cola]))
        .await;
    assert_eq!(s, StatusCode::OK, "{write}");
    assert_eq!(write["written"], 1);
    for till in [&a, &b] {
        let items = items_of(&h.all_changes(till).await);
        let skus: Vec<&str> = items.iter().map(|i| i.sku.as_str()).collect();
        println!("[{backend:?}] a terminal received items {skus:?}");
        // Every store's terminal gets every item, once per change.
        assert_eq!(skus, ["A-0001", "F-0100", "A-0002", "A-0001"]);
        assert_eq!(items[3], cola);
    }
    // Pages in SKU order.
    let (_, page) = get(&h, "/v1/admin/catalog/items?limit=2").await;
    let skus: Vec<&str> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["sku"].as_str().unwrap())
        .collect();
    assert_eq!(skus, ["A-0001", "A-0002"]);
    let (_, rest) = get(&h, "/v1/admin/catalog/items?after=A-0002").await;
    assert_eq!(rest[0]["sku"], "F-0100");
    assert_eq!(
        get(&h, "/v1/admin/catalog/items/NOPE").await.0,
        StatusCode::NOT_FOUND
    );
    // Audited: one row per write that changed something.
    let trail = h.hq.audit_trail(None, Some(100)).await.unwrap();
    let writes = trail
        .iter()
        .filter(|r| r.action == "catalog_written")
        .count();
    assert_eq!(writes, 2, "the import and the single change");
}

async fn refused_whole(backend: Backend) {
    let h = harness(backend).await;
    let (a, _) = h.two_stores().await;
    let bad =
        "sku,barcode,name_zh,category,price\nB-1,6901028075832,茶,drinks,1.00\nB-2,,茶,drinks,x\n";
    let (s, body) = import(&h, bad).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("row 2") && message.contains("row 3, price"),
        "{body}"
    );
    assert_eq!(import(&h, FILE).await.0, StatusCode::OK);
    // Another item with a sold item's barcode: refused, nothing written.
    let twin = "sku,barcode,name_zh,category,price\nC-1,,新,drinks,1.00\nC-2,6901028075831,同码,drinks,2.00\n";
    let (s, body) = import(&h, twin).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"], "barcode_taken");
    assert_eq!(
        get(&h, "/v1/admin/catalog/items/C-1").await.0,
        StatusCode::NOT_FOUND,
        "the valid row of a refused write is not kept"
    );
    // Moving the barcode in one write (the old item made inactive) is fine.
    let moved = "sku,barcode,name_zh,category,price,active\nA-0001,6901028075831,可口可乐 330ml,drinks,3.50,false\nC-2,6901028075831,同码,drinks,2.00,true\n";
    let (s, body) = import(&h, moved).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // Two items with one SKU in one JSON write.
    let (_, one) = get(&h, "/v1/admin/catalog/items/F-0100").await;
    let (s, body) = h
        .admin_post("/v1/admin/catalog/items", serde_json::json!([one, one]))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    let items = items_of(&h.all_changes(&a).await);
    println!(
        "[{backend:?}] {} item changes reached the terminal after the refusals",
        items.len()
    );
    assert_eq!(items.len(), 5, "3 imported, then A-0001 and C-2 moved");
}
