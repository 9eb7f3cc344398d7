//! The HTTP surface: health, the OpenAPI document matching the routes,
//! admin and provisioning refusals, errors that never leak internals.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tillcard_hq::service::routes;
use tower::ServiceExt as _;
use util::{Backend, harness};

both!(health_openapi_and_refusals, surface);

async fn surface(backend: Backend) {
    let h = harness(backend).await;
    let get = |p: &str| Request::builder().uri(p).body(Body::empty()).unwrap();
    let (s, body) = h.request(get("/health")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        String::from_utf8_lossy(&body),
        r#"{"status":"ok","store":"ok"}"#
    );

    let (s, body) = h.request(get("/openapi.json")).await;
    assert_eq!(s, StatusCode::OK);
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for route in routes() {
        let (method, path) = (route.method, route.path);
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing from openapi.json"
        );
    }
    let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(
        documented,
        routes().count(),
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
    h.ensure_store("S009").await;
    let code = h.issue_code("S009").await;
    let key = tillcard_protocol::auth::generate_signing_key();
    let redeem = || {
        Request::builder()
            .method("POST")
            .uri("/v1/terminals/redeem")
            .body(Body::from(
                tillcard_protocol::client::redeem_request(&code, &key).unwrap(),
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
    let headers = tillcard_protocol::auth::sign_request(
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
    assert_eq!(err["error"], "code_used");
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
    h.ensure_store("S020").await;
    let redeem = |wanted: Option<u16>| {
        let h = util::Harness::shell(&h);
        async move {
            let code = h.issue_code("S020").await;
            let key = tillcard_protocol::auth::generate_signing_key();
            let body =
                tillcard_protocol::client::redeem_request_with_card_key(&code, &key, wanted, None)
                    .unwrap();
            let req = Request::builder()
                .method("POST")
                .uri("/v1/terminals/redeem")
                .header("content-type", tillcard_protocol::wire::CONTENT_TYPE)
                .header(
                    "content-encoding",
                    tillcard_protocol::wire::CONTENT_ENCODING,
                )
                .body(Body::from(body))
                .unwrap();
            let (s, body) = h.request(req).await;
            assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
            let provisioned = tillcard_protocol::client::decode_provisioned(&body).unwrap();
            let public_key = tillcard_protocol::auth::encode_public_key(&key.verifying_key());
            (provisioned.card_key_id.unwrap(), public_key)
        }
    };
    let (first, first_key) = redeem(Some(0xA5A5)).await;
    assert_eq!(first, 0xA5A5, "a free id is kept");
    let (second, second_key) = redeem(Some(0xA5A5)).await;
    assert_ne!(second, 0xA5A5, "an id is never given twice");
    assert!(second >= 0x8000);
    let till = h.provision("S021").await;
    let trusted = |changes: &[tillcard_protocol::wire::Change]| -> Vec<(String, String)> {
        changes
            .iter()
            .filter_map(|c| match c {
                tillcard_protocol::wire::Change::TrustedKey { key, .. } => {
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

/// `sync/hq/openapi.json` is the document the service generates from its route
/// table and types; `UPDATE_OPENAPI=1` rewrites the file.
#[test]
fn openapi_json_is_the_generated_document() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    let generated =
        serde_json::to_string_pretty(&tillcard_hq::service::openapi_document()).unwrap() + "\n";
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let file = std::fs::read_to_string(&path).unwrap();
    assert!(
        file == generated,
        "sync/hq/openapi.json is not the generated document: run \
         UPDATE_OPENAPI=1 cargo test -p tillcard-hq --test api"
    );
    let doc: serde_json::Value = serde_json::from_str(&file).unwrap();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "EventBody",
        "LedgerEntry",
        "EntryKind",
        "Quote",
        "Coupon",
        "MemberAccount",
    ] {
        assert!(schemas.contains_key(name), "{name} has no schema");
    }
    let money = &schemas["Money"];
    assert_eq!(money["type"], "integer", "money is an integer of fen");
    assert_eq!(money["maximum"], tillcard_rules::limits::MAX_FEN);
}

both!(every_refusal_is_json_with_its_documented_code, refusals);

/// Sends `req` and returns (status, error code), asserting the answer is an
/// ErrorBody.
async fn refusal(h: &util::Harness, req: Request<Body>, what: &str) -> (StatusCode, String) {
    let (s, body) = h.request(req).await;
    let error: serde_json::Value = serde_json::from_slice(&body).unwrap_or_else(|_| {
        panic!(
            "{what}: {s} is not JSON: {}",
            String::from_utf8_lossy(&body)
        )
    });
    assert!(error["message"].is_string(), "{what}: {error}");
    (s, error["error"].as_str().unwrap().to_string())
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

async fn refusals(backend: Backend) {
    let h = harness(backend).await;
    let admin = format!("Bearer {}", util::ADMIN);
    let admin_post = |path: &str, body: Body| {
        Request::post(path)
            .header("authorization", &admin)
            .body(body)
            .unwrap()
    };
    let mut seen = Vec::new();
    let mut expect = |what: &str, got: (StatusCode, String), status: StatusCode, code: &str| {
        seen.push(format!("{what}: {} {}", got.0.as_u16(), got.1));
        assert_eq!(got, (status, code.to_string()), "{what}");
    };

    let too_big = vec![b'x'; tillcard_protocol::wire::MAX_BODY_BYTES + 1];
    let req = admin_post("/v1/admin/enroll-codes", Body::from(too_big));
    let got = refusal(&h, req, "body over the limit").await;
    expect(
        "body over the limit",
        got,
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
    );

    let req = admin_post("/v1/admin/terminals/not-a-uuid/revoke", Body::empty());
    let got = refusal(&h, req, "path id").await;
    expect("path id", got, StatusCode::BAD_REQUEST, "bad_request");

    let req = admin_post(
        "/v1/admin/terminals/00000000-0000-0000-0000-000000000001/revoke",
        Body::empty(),
    );
    let got = refusal(&h, req, "unknown terminal").await;
    expect("unknown terminal", got, StatusCode::NOT_FOUND, "not_found");

    let req = Request::post("/dashboard/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("password=x"))
        .unwrap();
    let got = refusal(&h, req, "login form").await;
    expect("login form", got, StatusCode::BAD_REQUEST, "bad_request");

    let req = Request::get("/no/such/route").body(Body::empty()).unwrap();
    let got = refusal(&h, req, "unknown route").await;
    expect("unknown route", got, StatusCode::NOT_FOUND, "not_found");

    let req = Request::delete("/v1/batches").body(Body::empty()).unwrap();
    let got = refusal(&h, req, "method").await;
    expect(
        "method",
        got,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
    let req = Request::delete("/v1/batches").body(Body::empty()).unwrap();
    let res = h.router.clone().oneshot(req).await.unwrap();
    assert_eq!(
        res.headers().get("allow").and_then(|v| v.to_str().ok()),
        Some("POST"),
        "a 405 still says what is allowed"
    );

    let req = Request::post("/v1/admin/jobs/expiry")
        .body(Body::empty())
        .unwrap();
    let got = refusal(&h, req, "no admin token").await;
    expect(
        "no admin token",
        got,
        StatusCode::UNAUTHORIZED,
        "bad_admin_token",
    );

    let req = Request::get("/v1/admin/figures")
        .body(Body::empty())
        .unwrap();
    let got = refusal(&h, req, "no session").await;
    expect(
        "no session",
        got,
        StatusCode::UNAUTHORIZED,
        "login_required",
    );

    // Redeem: another protocol version, a card key id outside the
    // terminals' range, bytes after the gzip data.
    h.ensure_store("S030").await;
    let code = h.issue_code("S030").await;
    let key = tillcard_protocol::auth::generate_signing_key();
    let public_key = tillcard_protocol::auth::encode_public_key(&key.verifying_key());
    let redeem = |json: serde_json::Value, trailing: &[u8]| {
        let mut body = gzip(json.to_string().as_bytes());
        body.extend_from_slice(trailing);
        Request::post("/v1/terminals/redeem")
            .header("content-encoding", "gzip")
            .body(Body::from(body))
            .unwrap()
    };
    let request = |version: u16, card_key_id: Option<u16>| {
        serde_json::json!({
            "protocol_version": version, "code": code, "public_key": public_key,
            "card_key_id": card_key_id,
        })
    };
    let got = refusal(&h, redeem(request(2, None), b""), "redeem version").await;
    expect(
        "redeem version",
        got,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    let got = refusal(&h, redeem(request(1, Some(7)), b""), "card key id").await;
    expect("card key id", got, StatusCode::BAD_REQUEST, "bad_request");
    let got = refusal(&h, redeem(request(1, None), b"junk"), "after gzip").await;
    expect("after gzip", got, StatusCode::BAD_REQUEST, "bad_request");
    let (s, _) = h.request(redeem(request(1, None), b"")).await;
    assert_eq!(s, StatusCode::OK, "the code still redeems once");

    // The downlink: an empty cursor is not the first page.
    let till = h.provision("S031").await;
    let signed = till
        .creds
        .changes_request(Some(""), chrono::Utc::now().timestamp());
    let (s, body) = h.send(signed).await;
    let error: serde_json::Value = serde_json::from_slice(&body).unwrap();
    expect(
        "empty cursor",
        (s, error["error"].as_str().unwrap().to_string()),
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    println!("[{backend:?}] refusals: {seen:#?}");
}
