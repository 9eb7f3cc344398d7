//! The HTTP surface: health, the OpenAPI document matching the routes,
//! admin and provisioning refusals, errors that never leak internals.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tillcard_sync::service::ROUTES;
use util::{Backend, harness};

both!(health_openapi_and_refusals, surface);

async fn surface(backend: Backend) {
    let h = harness(backend).await;
    let get = |p: &str| Request::builder().uri(p).body(Body::empty()).unwrap();
    let (s, body) = h.request(get("/health")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(String::from_utf8_lossy(&body), r#"{"status":"ok"}"#);

    let (s, body) = h.request(get("/openapi.json")).await;
    assert_eq!(s, StatusCode::OK);
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for (method, path) in ROUTES {
        assert!(
            paths.get(*path).and_then(|p| p.get(*method)).is_some(),
            "{method} {path} missing from openapi.json"
        );
    }
    let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(
        documented,
        ROUTES.len(),
        "openapi.json documents a route the service does not have"
    );

    // Admin without token, with a wrong token.
    let req = Request::builder()
        .method("POST")
        .uri("/v1/admin/enroll-codes")
        .body(Body::from(r#"{"store":"S"}"#))
        .unwrap();
    let (s1, _) = h.request(req).await;
    let req = Request::builder()
        .method("POST")
        .uri("/v1/admin/enroll-codes")
        .header("authorization", "Bearer nope")
        .body(Body::from(r#"{"store":"S"}"#))
        .unwrap();
    let (s2, _) = h.request(req).await;
    // A code redeems once.
    let (_, code) = h
        .admin_post(
            "/v1/admin/enroll-codes",
            serde_json::json!({"store": "S009"}),
        )
        .await;
    let code = code["code"].as_str().unwrap();
    let key = tillcard_sync::auth::generate_signing_key();
    let redeem = || {
        Request::builder()
            .method("POST")
            .uri("/v1/terminals/redeem")
            .body(Body::from(
                tillcard_sync::client::redeem_request(code, &key).unwrap(),
            ))
            .unwrap()
    };
    let (r1, _) = h.request(redeem()).await;
    let (r2, body) = h.request(redeem()).await;
    let err: serde_json::Value = serde_json::from_slice(&body).unwrap();
    // Unsigned upload; garbage body from a signed terminal.
    let req = Request::builder()
        .method("POST")
        .uri("/v1/batches")
        .body(Body::from("x"))
        .unwrap();
    let (s3, _) = h.request(req).await;
    let till = h.provision("S010").await;
    let mut signed = till
        .creds
        .upload_request(vec![], chrono::Utc::now().timestamp())
        .unwrap();
    signed.body = b"not gzip".to_vec();
    let headers = tillcard_sync::auth::sign_request(
        &till.creds.signing_key,
        till.creds.terminal_id,
        "POST",
        "/v1/batches",
        chrono::Utc::now().timestamp(),
        &signed.body,
    );
    signed.headers = headers
        .pairs()
        .iter()
        .map(|(n, v)| (*n, v.to_string()))
        .collect();
    let (s4, body) = h.send(signed).await;
    let bad: serde_json::Value = serde_json::from_slice(&body).unwrap();
    println!(
        "[{backend:?}] admin no token {s1}, wrong token {s2}; redeem {r1} then {r2} {err}; unsigned upload {s3}; garbage body {s4} {bad}"
    );
    assert_eq!(
        (s1, s2),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    assert_eq!((r1, r2), (StatusCode::OK, StatusCode::FORBIDDEN));
    assert_eq!(err["error"], "code_refused");
    assert_eq!(s3, StatusCode::UNAUTHORIZED);
    assert_eq!(s4, StatusCode::BAD_REQUEST);
    assert_eq!(bad["error"], "bad_request");
}

both!(
    a_card_key_used_before_registration_keeps_its_id_when_free,
    card_key_ids
);

/// A terminal that signed member cards before registration asks for its card
/// key's id: head office keeps it when free (those cards verify chain-wide),
/// gives the next free id when another key holds it, and pushes each key
/// under the id it granted.
async fn card_key_ids(backend: Backend) {
    let h = harness(backend).await;
    let redeem = |wanted: Option<u16>| {
        let h = util::Harness::shell(&h);
        async move {
            let (_, code) = h
                .admin_post(
                    "/v1/admin/enroll-codes",
                    serde_json::json!({"store": "S020"}),
                )
                .await;
            let key = tillcard_sync::auth::generate_signing_key();
            let body = tillcard_sync::client::redeem_request_with_card_key(
                code["code"].as_str().unwrap(),
                &key,
                wanted,
            )
            .unwrap();
            let req = Request::builder()
                .method("POST")
                .uri("/v1/terminals/redeem")
                .header("content-type", tillcard_sync::protocol::CONTENT_TYPE)
                .header(
                    "content-encoding",
                    tillcard_sync::protocol::CONTENT_ENCODING,
                )
                .body(Body::from(body))
                .unwrap();
            let (s, body) = h.request(req).await;
            assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
            let provisioned = tillcard_sync::client::decode_provisioned(&body).unwrap();
            let public_key = tillcard_sync::auth::encode_public_key(&key.verifying_key());
            (provisioned.card_key_id.unwrap(), public_key)
        }
    };
    let (first, first_key) = redeem(Some(0xA5A5)).await;
    assert_eq!(first, 0xA5A5, "a free id is kept");
    let (second, second_key) = redeem(Some(0xA5A5)).await;
    assert_ne!(second, 0xA5A5, "an id is never given twice");
    assert!(second >= 0x8000);
    let (third, _) = redeem(Some(7)).await;
    assert!(
        third >= 0x8000,
        "an id outside the terminals' range is not granted: {third}"
    );
    let till = h.provision("S021").await;
    let trusted = |changes: &[tillcard_sync::protocol::Change]| -> Vec<(String, String)> {
        changes
            .iter()
            .filter_map(|c| match c {
                tillcard_sync::protocol::Change::TrustedKey { key } => {
                    Some((key.key_id.clone(), key.public_key.clone()))
                }
                _ => None,
            })
            .collect()
    };
    let wanted = [
        (first.to_string(), first_key.clone()),
        (second.to_string(), second_key.clone()),
    ];
    let changes = h
        .changes_when(&till, |c| {
            let keys = trusted(c);
            wanted.iter().all(|w| keys.contains(w))
        })
        .await;
    let trusted = trusted(&changes);
    assert!(trusted.contains(&(first.to_string(), first_key)));
    assert!(trusted.contains(&(second.to_string(), second_key)));
}
