//! The back office through the admin API, on both backends: stores, staff
//! and enrollment codes from creation to use; every bad input refused with
//! its code and nothing half created; the audit trail; staff on the
//! downlink (sealed to each terminal of the clerk's store, removed
//! elsewhere); the PIN set-up at a terminal; the four refusals of a
//! redemption; who may do what by role; the software version terminals
//! tell with their uploads, as listed.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tillcard_hq::service::LoginOutcome;
use tillcard_hq::store::StaffUpdate;
use tillcard_protocol::client;
use tillcard_protocol::staff::StaffSnapshot;
use tillcard_protocol::wire::{self, Change};
use util::{ADMIN, Backend, Harness, Till, harness};

/// An admin GET answered with JSON.
async fn admin_get(h: &Harness, path: &str) -> (StatusCode, Value) {
    let (s, _, body) = h
        .get(path, &[("authorization", &format!("Bearer {ADMIN}"))])
        .await;
    (s, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// Creates a store through the API.
async fn store(h: &Harness, code: &str) {
    let (s, body) = h
        .admin_post(
            "/v1/admin/stores",
            json!({"code": code, "name": format!("Store {code}"), "time_zone": "Asia/Shanghai"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

/// Creates a clerk through the API: their id and setup code.
async fn clerk(h: &Harness, id: &str, name: &str, stores: &[&str]) -> (String, String) {
    let (s, body) = h
        .admin_post(
            "/v1/admin/staff",
            json!({"staff_id": id, "display_name": name, "role": "cashier", "stores": stores}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    (
        body["staff"]["staff_id"].as_str().unwrap().to_string(),
        body["setup_code"].as_str().unwrap().to_string(),
    )
}

fn expect(what: &str, got: (StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!(got.0, status, "{what}: {}", got.1);
    assert_eq!(got.1["error"], code, "{what}: {}", got.1);
}

/// A PIN hash as a terminal makes one (Argon2id, PHC string).
fn pin_hash(pin: &str) -> String {
    tillcard_hq::dashboard::hash_password(pin).unwrap()
}

/// Sets a PIN at `till`: the status and the answer (a snapshot, or the
/// error body).
async fn set_pin(
    h: &Harness,
    till: &Till,
    staff: &str,
    code: &str,
    hash: &str,
) -> (StatusCode, Value, Option<StaffSnapshot>) {
    let req = till
        .creds
        .set_pin_request(staff, code, hash, chrono::Utc::now().timestamp())
        .unwrap();
    let (s, body) = h.send(req).await;
    if s == StatusCode::OK {
        let snapshot: StaffSnapshot = wire::decode(&body).unwrap();
        (s, Value::Null, Some(snapshot))
    } else {
        (s, serde_json::from_slice(&body).unwrap(), None)
    }
}

/// The last staff change about `staff` on `till`'s downlink, waiting (as
/// `changes_when` does) until `ready` holds of it.
async fn staff_change(
    h: &Harness,
    till: &Till,
    staff: &str,
    ready: impl Fn(&Change) -> bool,
) -> Change {
    let about = |c: &Change| match c {
        Change::Staff { staff: s, .. } => s.staff_id == staff,
        Change::StaffRemoved { staff_id, .. } => staff_id == staff,
        _ => false,
    };
    let changes = h
        .changes_when(till, |cs| {
            cs.iter().rev().find(|c| about(c)).is_some_and(&ready)
        })
        .await;
    changes.into_iter().rev().find(|c| about(c)).unwrap()
}

/// Rows of the audit trail about `subject`, as (actor, action).
async fn audit(h: &Harness, subject: &str) -> Vec<(String, String)> {
    let (s, rows) = admin_get(h, &format!("/v1/admin/audit?subject={subject}")).await;
    assert_eq!(s, StatusCode::OK);
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["actor"].as_str().unwrap().to_string(),
                r["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

both!(stores_staff_and_codes_from_creation_to_use, lifecycle);

async fn lifecycle(backend: Backend) {
    let h = harness(backend).await;
    store(&h, "S001").await;
    store(&h, "S002").await;
    let (s, stores) = admin_get(&h, "/v1/admin/stores").await;
    assert_eq!(s, StatusCode::OK);
    let codes: Vec<&str> = stores
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["S001", "S002"]);
    let (s, updated) = h
        .admin_post(
            "/v1/admin/stores/S002",
            json!({"name": "Pudong", "time_zone": "Asia/Urumqi"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{updated}");
    assert_eq!(
        (updated["name"].as_str(), updated["time_zone"].as_str()),
        (Some("Pudong"), Some("Asia/Urumqi"))
    );

    // A clerk at two stores, with a setup code shown once.
    let (s, created) = h
        .admin_post(
            "/v1/admin/staff",
            json!({"display_name": "  Wang Fang ", "role": "manager", "stores": ["S002", "S001"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{created}");
    let id = created["staff"]["staff_id"].as_str().unwrap().to_string();
    assert!(tillcard_protocol::staff::is_staff_id(&id));
    assert!(tillcard_protocol::staff::is_setup_code(
        created["setup_code"].as_str().unwrap()
    ));
    assert_eq!(created["staff"]["display_name"], "Wang Fang");
    assert_eq!(created["staff"]["stores"], json!(["S001", "S002"]));
    assert_eq!(created["staff"]["pin_set"], false);
    let (_, at_s001) = admin_get(&h, "/v1/admin/staff?store=S001").await;
    assert_eq!(at_s001.as_array().unwrap().len(), 1);
    assert!(
        !at_s001
            .to_string()
            .contains(created["setup_code"].as_str().unwrap()),
        "the setup code is never listed"
    );

    // Renamed, deactivated, reactivated, moved, PIN reset.
    let path = |action: &str| format!("/v1/admin/staff/{id}/{action}");
    let (s, renamed) = h
        .admin_post(&path("rename"), json!({"display_name": "Wang F."}))
        .await;
    assert_eq!(
        (s, renamed["display_name"].as_str()),
        (StatusCode::OK, Some("Wang F."))
    );
    let (s, off) = h.admin_post(&path("deactivate"), Value::Null).await;
    assert_eq!((s, off["active"].as_bool()), (StatusCode::OK, Some(false)));
    let (s, on) = h.admin_post(&path("activate"), Value::Null).await;
    assert_eq!((s, on["active"].as_bool()), (StatusCode::OK, Some(true)));
    let (s, moved) = h
        .admin_post(&path("stores"), json!({"stores": ["S002"]}))
        .await;
    assert_eq!(
        (s, moved["stores"].clone()),
        (StatusCode::OK, json!(["S002"]))
    );
    let (s, reset) = h.admin_post(&path("reset-pin"), Value::Null).await;
    assert_eq!(s, StatusCode::OK);
    assert_ne!(reset["setup_code"], created["setup_code"]);
    let (_, at_s001) = admin_get(&h, "/v1/admin/staff?store=S001").await;
    assert_eq!(at_s001, json!([]), "moved away from S001");

    // An enrollment code for an existing store: listed unused, then used
    // by the terminal that redeemed it; never the code itself.
    let (s, issued) = h
        .admin_post(
            "/v1/admin/enroll-codes",
            json!({"store": "S001", "expires_in_days": 2}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{issued}");
    let (_, listed) = admin_get(&h, "/v1/admin/enroll-codes").await;
    assert_eq!(listed[0]["state"], "unused");
    assert_eq!(listed[0]["code_id"], issued["code_id"]);
    assert!(
        !listed
            .to_string()
            .contains(issued["code"].as_str().unwrap())
    );
    let mut till = redeem(&h, issued["code"].as_str().unwrap(), None)
        .await
        .unwrap();
    let (_, listed) = admin_get(&h, "/v1/admin/enroll-codes").await;
    assert_eq!(listed[0]["state"], "used");
    assert_eq!(
        listed[0]["used_by"].as_str(),
        Some(till.creds.terminal_id.to_string().as_str())
    );
    assert!(listed[0]["used_at"].is_string());

    // Terminals: listed with their store, revoked through the API.
    let (_, terminals) = admin_get(&h, "/v1/admin/terminals").await;
    assert_eq!(terminals[0]["store"], "S001");
    assert_eq!(terminals[0]["revoked"], false);
    assert_eq!(terminals[0]["app_version"], Value::Null, "never said");

    // The software version a terminal tells with an upload is listed; an
    // upload without one (an older build) keeps it; a malformed one
    // refuses the batch and changes nothing; a newer one replaces it.
    let version = |terminals: &Value| terminals[0]["app_version"].clone();
    let (enrolled, _) = till.enroll(util::new_member(), "13700137041");
    let (s, ack) = h
        .upload_with_version(&till, vec![enrolled], "0.4.0+g1a2b3c")
        .await;
    assert_eq!((s, ack.map(|a| a.applied)), (StatusCode::OK, Some(1)));
    let (_, terminals) = admin_get(&h, "/v1/admin/terminals").await;
    assert_eq!(version(&terminals), "0.4.0+g1a2b3c");
    let (s, _) = h.upload(&till, vec![]).await;
    assert_eq!(s, StatusCode::OK);
    let (_, terminals) = admin_get(&h, "/v1/admin/terminals").await;
    assert_eq!(version(&terminals), "0.4.0+g1a2b3c", "kept");
    assert!(terminals[0]["last_seen"].is_string());
    let overlong = "1".repeat(wire::MAX_APP_VERSION_CHARS + 1);
    for malformed in ["0.4.1 beta", overlong.as_str(), ""] {
        let (s, ack) = h.upload_with_version(&till, vec![], malformed).await;
        assert_eq!((s, ack), (StatusCode::BAD_REQUEST, None), "{malformed:?}");
    }
    let (_, terminals) = admin_get(&h, "/v1/admin/terminals").await;
    assert_eq!(version(&terminals), "0.4.0+g1a2b3c", "unchanged");
    let (s, _) = h.upload_with_version(&till, vec![], "0.4.1").await;
    assert_eq!(s, StatusCode::OK);
    let (_, terminals) = admin_get(&h, "/v1/admin/terminals").await;
    assert_eq!(version(&terminals), "0.4.1");
    let (s, _) = h
        .admin_post(
            &format!("/v1/admin/terminals/{}/revoke", till.creds.terminal_id),
            Value::Null,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, terminals) = admin_get(&h, "/v1/admin/terminals").await;
    assert_eq!(terminals[0]["revoked"], true);

    // Every change is audited, naming the actor; newest first.
    let staff_trail = audit(&h, &format!("staff:{id}")).await;
    let actions: Vec<&str> = staff_trail.iter().map(|(_, a)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "staff_pin_reset",
            "staff_stores_set",
            "staff_activated",
            "staff_deactivated",
            "staff_renamed",
            "staff_created"
        ]
    );
    assert!(staff_trail.iter().all(|(actor, _)| actor == "admin-token"));
    assert_eq!(
        audit(&h, "store:S002").await,
        [
            ("admin-token".to_string(), "store_updated".to_string()),
            ("admin-token".to_string(), "store_created".to_string())
        ]
    );
    let code_trail = audit(&h, &format!("code:{}", issued["code_id"].as_str().unwrap())).await;
    assert_eq!(code_trail.len(), 1);
    let terminal_trail = audit(&h, &format!("terminal:{}", till.creds.terminal_id)).await;
    assert_eq!(terminal_trail[0].1, "terminal_revoked");
    let (_, everything) = admin_get(&h, "/v1/admin/audit").await;
    let text = everything.to_string();
    for secret in [
        &created["setup_code"],
        &reset["setup_code"],
        &issued["code"],
    ] {
        assert!(
            !text.contains(secret.as_str().unwrap()),
            "no code in the audit trail"
        );
    }
}

both!(
    bad_input_is_refused_with_its_code_and_nothing_half_created,
    bad_input
);

async fn bad_input(backend: Backend) {
    let h = harness(backend).await;
    store(&h, "S001").await;
    store(&h, "S002").await;
    clerk(&h, "wang", "Wang Fang", &["S001"]).await;
    let (_, audit_before) = admin_get(&h, "/v1/admin/audit").await;
    let (_, changes_before_staff) = admin_get(&h, "/v1/admin/staff").await;

    let post = |path: &'static str, body: Value| h.admin_post(path, body);
    let tz = "Asia/Shanghai";
    let cases: Vec<(&str, (StatusCode, Value), StatusCode, &str)> = vec![
        (
            "duplicate store code",
            post("/v1/admin/stores", json!({"code": "S001", "name": "x", "time_zone": tz})).await,
            StatusCode::CONFLICT,
            "store_exists",
        ),
        (
            "invalid time zone",
            post("/v1/admin/stores", json!({"code": "S003", "name": "x", "time_zone": "Asia/Shanghia"}))
                .await,
            StatusCode::BAD_REQUEST,
            "invalid_time_zone",
        ),
        (
            "invalid store code",
            post("/v1/admin/stores", json!({"code": "S 003", "name": "x", "time_zone": tz})).await,
            StatusCode::BAD_REQUEST,
            "invalid_store_code",
        ),
        (
            "blank store name",
            post("/v1/admin/stores", json!({"code": "S003", "name": "  ", "time_zone": tz})).await,
            StatusCode::BAD_REQUEST,
            "invalid_store_name",
        ),
        (
            "update of an unknown store",
            post("/v1/admin/stores/S404", json!({"name": "x"})).await,
            StatusCode::NOT_FOUND,
            "unknown_store",
        ),
        (
            "clerk at an unknown store",
            post(
                "/v1/admin/staff",
                json!({"staff_id": "li", "display_name": "Li", "role": "cashier", "stores": ["S001", "S404"]}),
            )
            .await,
            StatusCode::NOT_FOUND,
            "unknown_store",
        ),
        (
            "duplicate display name in a store, other case and spaces",
            post(
                "/v1/admin/staff",
                json!({"staff_id": "li", "display_name": "  wang FANG ", "role": "cashier", "stores": ["S002", "S001"]}),
            )
            .await,
            StatusCode::CONFLICT,
            "duplicate_staff_name",
        ),
        (
            "duplicate staff id",
            post(
                "/v1/admin/staff",
                json!({"staff_id": "wang", "display_name": "Other", "role": "cashier", "stores": ["S002"]}),
            )
            .await,
            StatusCode::CONFLICT,
            "staff_exists",
        ),
        (
            "invalid staff id",
            post(
                "/v1/admin/staff",
                json!({"staff_id": "wang fang", "display_name": "Li", "role": "cashier", "stores": ["S001"]}),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "invalid_staff_id",
        ),
        (
            "invalid display name",
            post(
                "/v1/admin/staff",
                json!({"staff_id": "li", "display_name": "a\nb", "role": "cashier", "stores": ["S001"]}),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "invalid_display_name",
        ),
        (
            "too long a display name",
            post(
                "/v1/admin/staff",
                json!({"staff_id": "li", "display_name": "名".repeat(41), "role": "cashier", "stores": ["S001"]}),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "invalid_display_name",
        ),
        (
            "a clerk with no store",
            post(
                "/v1/admin/staff",
                json!({"staff_id": "li", "display_name": "Li", "role": "cashier", "stores": []}),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "invalid_staff_stores",
        ),
        (
            "unknown clerk",
            post("/v1/admin/staff/nobody/deactivate", Value::Null).await,
            StatusCode::NOT_FOUND,
            "unknown_staff",
        ),
        (
            "a move to an unknown store",
            post("/v1/admin/staff/wang/stores", json!({"stores": ["S404"]})).await,
            StatusCode::NOT_FOUND,
            "unknown_store",
        ),
        (
            "enrollment code for an unknown store",
            post("/v1/admin/enroll-codes", json!({"store": "S404"})).await,
            StatusCode::NOT_FOUND,
            "unknown_store",
        ),
        (
            "enrollment code for 91 days",
            post("/v1/admin/enroll-codes", json!({"store": "S001", "expires_in_days": 91})).await,
            StatusCode::BAD_REQUEST,
            "invalid_expiry",
        ),
    ];
    for (what, got, status, code) in cases {
        expect(what, got, status, code);
    }
    // A rename onto another clerk's name in a shared store.
    clerk(&h, "li", "Li Na", &["S001"]).await;
    expect(
        "rename onto a taken name",
        post(
            "/v1/admin/staff/li/rename",
            json!({"display_name": "WANG fang"}),
        )
        .await,
        StatusCode::CONFLICT,
        "duplicate_staff_name",
    );

    // Nothing half created: the stores, clerks and codes are as before
    // (plus the one clerk made on purpose), and the audit trail has only
    // that clerk's row more.
    let (_, stores) = admin_get(&h, "/v1/admin/stores").await;
    assert_eq!(stores.as_array().unwrap().len(), 2);
    let (_, staff) = admin_get(&h, "/v1/admin/staff").await;
    assert_eq!(
        staff.as_array().unwrap().len(),
        changes_before_staff.as_array().unwrap().len() + 1
    );
    assert_eq!(staff[0]["staff_id"], "li");
    assert_eq!(staff[1]["stores"], json!(["S001"]), "wang was not moved");
    assert_eq!(staff[1]["active"], true);
    let (_, codes) = admin_get(&h, "/v1/admin/enroll-codes").await;
    assert_eq!(codes, json!([]));
    let (_, audit_after) = admin_get(&h, "/v1/admin/audit").await;
    assert_eq!(
        audit_after.as_array().unwrap().len(),
        audit_before.as_array().unwrap().len() + 1
    );
    assert_eq!(audit_after[0]["action"], "staff_created");
    assert_eq!(
        h.hq.store()
            .staff_member("wang")
            .await
            .unwrap()
            .unwrap()
            .display_name,
        "Wang Fang"
    );
}

/// Redeems `code` with a new key (for `store` when given): the terminal,
/// or the refusal's (status, code).
async fn redeem(
    h: &Harness,
    code: &str,
    store: Option<&str>,
) -> Result<Till, (StatusCode, String)> {
    let key = tillcard_protocol::auth::generate_signing_key();
    let body = client::redeem_request_with_card_key(code, &key, None, store).unwrap();
    let req = Request::builder()
        .method("POST")
        .uri(client::REDEEM_PATH)
        .header("content-type", wire::CONTENT_TYPE)
        .header("content-encoding", wire::CONTENT_ENCODING)
        .body(Body::from(body))
        .unwrap();
    let (s, body) = h.request(req).await;
    if s != StatusCode::OK {
        let error: Value = serde_json::from_slice(&body).unwrap();
        return Err((s, error["error"].as_str().unwrap().to_string()));
    }
    let provisioned = client::decode_provisioned(&body).unwrap();
    Ok(Till {
        creds: client::TerminalCredentials::from_provisioned(key, &provisioned),
        next_seq: 1,
        clock: util::t0(),
        program: tillcard_rules::Program::default(),
    })
}

both!(a_redemption_is_refused_four_ways, redemption_refusals);

async fn redemption_refusals(backend: Backend) {
    let h = harness(backend).await;
    store(&h, "S001").await;
    store(&h, "S002").await;
    let issue = |store: &'static str| {
        let h = Harness::shell(&h);
        async move {
            let (s, body) = h
                .admin_post("/v1/admin/enroll-codes", json!({"store": store}))
                .await;
            assert_eq!(s, StatusCode::OK);
            body["code"].as_str().unwrap().to_string()
        }
    };
    let forbidden = |code: &str| Some((StatusCode::FORBIDDEN, code.to_string()));
    assert_eq!(
        redeem(&h, "0123456789abcdef0123", None).await.err(),
        forbidden("code_unknown")
    );
    let code = issue("S001").await;
    assert_eq!(
        redeem(&h, &code, Some("S002")).await.err(),
        forbidden("code_for_other_store"),
        "a code for S001 does not register a till set up for S002"
    );
    redeem(&h, &code, Some("S001")).await.unwrap();
    assert_eq!(
        redeem(&h, &code, Some("S001")).await.err(),
        forbidden("code_used")
    );
    // An expired code: written through the store with an expiry passed.
    let expired = "1111-2222-3333-4444";
    let past = chrono::Utc::now().fixed_offset() - chrono::Duration::minutes(1);
    let audit = tillcard_hq::store::AuditEntry {
        at: past.to_rfc3339(),
        actor: "test".into(),
        action: "code_issued".into(),
        subject: "code:test".into(),
        detail: String::new(),
    };
    h.hq.store()
        .insert_code(
            &tillcard_protocol::auth::sha256_hex(&tillcard_protocol::auth::enroll_code_key(
                expired,
            )),
            "S001",
            past,
            &audit,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        redeem(&h, expired, None).await.err(),
        forbidden("code_expired")
    );
    let (_, listed) = admin_get(&h, "/v1/admin/enroll-codes").await;
    let states: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["state"].as_str().unwrap())
        .collect();
    assert!(
        states.contains(&"expired") && states.contains(&"used"),
        "{states:?}"
    );
    let (_, terminals) = admin_get(&h, "/v1/admin/terminals").await;
    assert_eq!(
        terminals.as_array().unwrap().len(),
        1,
        "refusals register nothing"
    );
    assert_eq!(terminals[0]["store"], "S001");
}

both!(
    staff_come_down_to_their_stores_terminals_only,
    staff_downlink
);

async fn staff_downlink(backend: Backend) {
    let h = harness(backend).await;
    let (a, b) = h.two_stores().await;
    let a2 = h.provision("S001").await;
    let (id, code) = clerk(&h, "wang", "Wang Fang", &["S001"]).await;

    // S001's terminals get the clerk, without a PIN yet; S002's do not.
    let is_staff = |c: &Change| matches!(c, Change::Staff { .. });
    let Change::Staff { staff, .. } = staff_change(&h, &a, &id, is_staff).await else {
        unreachable!()
    };
    assert_eq!(
        (staff.display_name.as_str(), staff.active),
        ("Wang Fang", true)
    );
    assert_eq!(staff.sealed_pin_hash, None);
    let removed = |c: &Change| matches!(c, Change::StaffRemoved { .. });
    assert!(matches!(
        staff_change(&h, &b, &id, removed).await,
        Change::StaffRemoved { .. }
    ));

    // The PIN set at `a`: every S001 terminal gets the hash sealed to its
    // own key, which no other terminal's key opens.
    let hash = pin_hash("2580");
    let (s, _, snapshot) = set_pin(&h, &a, &id, &code, &hash).await;
    assert_eq!(s, StatusCode::OK);
    let answered = snapshot.unwrap().sealed_pin_hash.unwrap();
    assert_eq!(a.creds.open_pin_hash(&answered).unwrap(), hash);
    let with_pin =
        |c: &Change| matches!(c, Change::Staff { staff, .. } if staff.sealed_pin_hash.is_some());
    let Change::Staff { staff, .. } = staff_change(&h, &a2, &id, with_pin).await else {
        unreachable!()
    };
    let sealed = staff.sealed_pin_hash.unwrap();
    assert_eq!(a2.creds.open_pin_hash(&sealed).unwrap(), hash);
    assert!(
        a.creds.open_pin_hash(&sealed).is_err(),
        "sealed to a2 alone"
    );
    assert!(b.creds.open_pin_hash(&sealed).is_err());
    // Each clerk once per page, at its last place.
    let changes = h.all_changes(&a).await;
    let about_wang = changes
        .iter()
        .filter(|c| matches!(c, Change::Staff { staff, .. } if staff.staff_id == id))
        .count();
    assert_eq!(about_wang, 1, "one snapshot of the clerk per page");

    // Deactivated: down as active false.
    let (s, _) = h
        .admin_post(&format!("/v1/admin/staff/{id}/deactivate"), Value::Null)
        .await;
    assert_eq!(s, StatusCode::OK);
    let inactive = |c: &Change| matches!(c, Change::Staff { staff, .. } if !staff.active);
    assert!(matches!(
        staff_change(&h, &a, &id, inactive).await,
        Change::Staff { staff, .. } if !staff.active && staff.sealed_pin_hash.is_some()
    ));

    // Moved to S002: removed at S001, arrives at S002 with the hash sealed
    // to b.
    h.admin_post(&format!("/v1/admin/staff/{id}/activate"), Value::Null)
        .await;
    let (s, _) = h
        .admin_post(
            &format!("/v1/admin/staff/{id}/stores"),
            json!({"stores": ["S002"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(matches!(
        staff_change(&h, &a, &id, removed).await,
        Change::StaffRemoved { .. }
    ));
    let Change::Staff { staff, .. } = staff_change(&h, &b, &id, with_pin).await else {
        unreachable!()
    };
    assert!(staff.active);
    assert_eq!(
        b.creds
            .open_pin_hash(&staff.sealed_pin_hash.unwrap())
            .unwrap(),
        hash
    );

    // A terminal registered now replays the log: it gets S002's clerk.
    let late = h.provision("S002").await;
    assert!(matches!(
        staff_change(&h, &late, &id, with_pin).await,
        Change::Staff { staff, .. } if staff.staff_id == id
    ));
}

both!(a_clerk_sets_a_pin_once_with_the_setup_code, pin_setup);

async fn pin_setup(backend: Backend) {
    let h = harness(backend).await;
    let (a, b) = h.two_stores().await;
    let (id, code) = clerk(&h, "wang", "Wang Fang", &["S001"]).await;
    let hash = pin_hash("2580");
    let wrong = if code == "00000000" {
        "11111111"
    } else {
        "00000000"
    };

    // At another store's terminal: refused, not counted.
    let (s, e, _) = set_pin(&h, &b, &id, &code, &hash).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("staff_not_at_store"))
    );
    // Not an Argon2id hash: refused before anything is touched.
    let (s, e, _) = set_pin(&h, &a, &id, &code, "2580").await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_pin_hash"))
    );
    // Five wrong codes, each counted; then even the right code is void.
    for n in 1..=5u32 {
        let (s, e, _) = set_pin(&h, &a, &id, wrong, &hash).await;
        assert_eq!(
            (s, e["error"].as_str()),
            (StatusCode::FORBIDDEN, Some("setup_code_wrong")),
            "try {n}"
        );
        let record = h.hq.store().staff_member(&id).await.unwrap().unwrap();
        assert_eq!(record.setup_failures, n);
    }
    let (s, e, _) = set_pin(&h, &a, &id, &code, &hash).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("setup_code_void"))
    );
    assert!(
        h.hq.store()
            .staff_member(&id)
            .await
            .unwrap()
            .unwrap()
            .pin_hash
            .is_none()
    );

    // A reset issues a new code; an inactive clerk may not use it.
    let (_, reset) = h
        .admin_post(&format!("/v1/admin/staff/{id}/reset-pin"), Value::Null)
        .await;
    let code = reset["setup_code"].as_str().unwrap().to_string();
    h.admin_post(&format!("/v1/admin/staff/{id}/deactivate"), Value::Null)
        .await;
    let (s, e, _) = set_pin(&h, &a, &id, &code, &hash).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("staff_inactive"))
    );
    h.admin_post(&format!("/v1/admin/staff/{id}/activate"), Value::Null)
        .await;

    // The good case: stored, answered sealed to the asking terminal.
    let (s, _, snapshot) = set_pin(&h, &a, &id, &code, &hash).await;
    assert_eq!(s, StatusCode::OK);
    let snapshot = snapshot.unwrap();
    assert_eq!(
        (snapshot.staff_id.as_str(), snapshot.active),
        (id.as_str(), true)
    );
    assert_eq!(
        a.creds
            .open_pin_hash(&snapshot.sealed_pin_hash.unwrap())
            .unwrap(),
        hash
    );
    let record = h.hq.store().staff_member(&id).await.unwrap().unwrap();
    assert_eq!(record.pin_hash.as_deref(), Some(hash.as_str()));
    assert_eq!(record.setup_code_hash, None);
    // The same code twice.
    let (s, e, _) = set_pin(&h, &a, &id, &code, &pin_hash("1111")).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("setup_code_used"))
    );

    // An expired code (set through the store with an expiry passed).
    let expired_code = "24682468";
    let past = chrono::Utc::now().fixed_offset() - chrono::Duration::minutes(1);
    h.hq.store()
        .update_staff(
            &id,
            &StaffUpdate::ResetPin {
                setup_code_hash: pin_hash(expired_code),
                expires_at: past.to_rfc3339(),
            },
            "test",
            chrono::Utc::now().fixed_offset(),
        )
        .await
        .unwrap()
        .unwrap();
    let (s, e, _) = set_pin(&h, &a, &id, expired_code, &hash).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("setup_code_expired"))
    );

    // The trail names the terminal; neither hash nor code is in it.
    let (_, trail) = admin_get(&h, &format!("/v1/admin/audit?subject=staff:{id}")).await;
    let text = trail.to_string();
    assert!(text.contains(&format!("terminal:{}", a.creds.terminal_id)));
    assert!(text.contains("staff_pin_set") && text.contains("staff_setup_code_wrong"));
    assert!(!text.contains("argon2") && !text.contains(&code));
    // A revoked terminal is refused like at /v1/batches.
    h.admin_post(
        &format!("/v1/admin/terminals/{}/revoke", a.creds.terminal_id),
        Value::Null,
    )
    .await;
    let (s, e, _) = set_pin(&h, &a, &id, &code, &hash).await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("terminal_revoked"))
    );
}

both!(a_session_may_do_what_its_role_allows, roles);

async fn roles(backend: Backend) {
    let h = harness(backend).await;
    let session = |name: &'static str, role: &'static str| {
        let h = Harness::shell(&h);
        async move {
            let (s, _) = h
                .admin_post(
                    "/v1/admin/users",
                    json!({"username": name, "password": "a long passphrase", "role": role}),
                )
                .await;
            assert_eq!(s, StatusCode::NO_CONTENT);
            match h.hq.login(name, "a long passphrase").await.unwrap() {
                LoginOutcome::Session(token) => format!("tillcard_hq_session={token}"),
                other => panic!("{other:?}"),
            }
        }
    };
    let ops = session("olga", "store_ops").await;
    let analyst = session("ana", "analyst").await;
    let auditor = session("aud", "auditor").await;
    let call = |cookie: &str, method: &str, path: &str, body: Value| {
        Request::builder()
            .method(method)
            .uri(path)
            .header("cookie", cookie)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let new_store = json!({"code": "S001", "name": "One", "time_zone": "Asia/Shanghai"});
    let (s, _) = h
        .request(call(&ops, "POST", "/v1/admin/stores", new_store.clone()))
        .await;
    assert_eq!(s, StatusCode::OK, "store_ops creates stores");
    let (s, body) = h
        .request(call(&analyst, "POST", "/v1/admin/stores", new_store))
        .await;
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (s, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("role_forbidden"))
    );
    let (s, _) = h
        .request(call(&analyst, "GET", "/v1/admin/stores", Value::Null))
        .await;
    assert_eq!(s, StatusCode::OK, "an analyst reads");
    let (s, _) = h
        .request(call(&analyst, "GET", "/v1/admin/audit", Value::Null))
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "an analyst does not read the audit trail"
    );
    let (s, trail) = h
        .request(call(&auditor, "GET", "/v1/admin/audit", Value::Null))
        .await;
    assert_eq!(s, StatusCode::OK, "an auditor does");
    let trail: Value = serde_json::from_slice(&trail).unwrap();
    assert_eq!(
        trail[0]["actor"], "olga",
        "a session's changes name its user"
    );
    assert_eq!(trail[0]["action"], "store_created");
    let (s, _) = h
        .request(call(
            &ops,
            "POST",
            "/v1/admin/users/ana/role",
            json!({"role": "admin"}),
        ))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "store_ops does not manage users");
    let (s, _) = h
        .admin_post("/v1/admin/users/ana/role", json!({"role": "marketing"}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, users) = admin_get(&h, "/v1/admin/users").await;
    assert_eq!(users[0]["username"], "ana");
    assert_eq!(users[0]["role"], "marketing");
    expect(
        "role of an unknown user",
        h.admin_post("/v1/admin/users/nobody/role", json!({"role": "admin"}))
            .await,
        StatusCode::NOT_FOUND,
        "unknown_user",
    );
}
