//! A real chain's first day, on head office's SQLite and PostgreSQL: an
//! admin creates a store, a manager and a cashier through the HTTP API; a
//! terminal with an empty store (no demo, no clerk) registers with the
//! store's enrollment code, receives its staff, the cashier sets a PIN
//! with the setup code, makes a member sale, and the sale is at head
//! office. Then the cashier is deactivated at head office and refused at
//! that terminal after one sync. Bad input on the way (another store's
//! code, a used code, a trivial PIN, a setup code used twice) is refused
//! with its code and creates nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

#[path = "util/sale.rs"]
mod sale_util;
#[path = "util/sync.rs"]
mod sync_util;

#[path = "../sync/hq/tests/util/pg.rs"]
#[allow(dead_code, reason = "the cluster helpers this test does not use")]
mod pg;

use std::sync::Arc;

use serde_json::{Value, json};
use tillcard::clock::{Clock, SystemClock};
use tillcard::config::AddressProblem;
use tillcard::store::handle::StoreHandle;
use tillcard::store::{PinHashCost, Store, StoreConfig, StoreError};
use tillcard::uplink::{Uplink, UplinkConfig, UplinkError, UplinkStatus, provision, set_pin};
use tillcard_hq::service::{Hq, serve};
use tokio::sync::watch;

const ADMIN_TOKEN: &str = "first-day-admin-token-0123456789";

struct Chain {
    _dir: tempfile::TempDir,
    hq: Arc<Hq>,
    url: String,
    http: reqwest::Client,
}

impl Chain {
    async fn open(store: Arc<dyn tillcard_hq::store::Store>, dir: tempfile::TempDir) -> Chain {
        let hq = Arc::new(Hq::open(store, Some(ADMIN_TOKEN.into())).await.unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(serve(listener, hq.clone(), std::future::pending()));
        Chain {
            _dir: dir,
            hq,
            url,
            http: reqwest::Client::new(),
        }
    }

    /// An admin API call: its status and JSON answer.
    async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn admin_ok(&self, method: &str, path: &str, body: Value) -> Value {
        let (status, answer) = self.admin(method, path, Some(body)).await;
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {answer}"
        );
        answer
    }
}

async fn sqlite_chain() -> Chain {
    tillcard::logging::init_for_tests();
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = sync_util::sqlite_hq(dir.path()).await;
    Chain::open(store, dir).await
}

async fn postgres_chain() -> Chain {
    tillcard::logging::init_for_tests();
    let url = pg::fresh_database().await;
    let store: Arc<dyn tillcard_hq::store::Store> = Arc::new(
        tillcard_hq::store::postgres::PgStore::connect(&url)
            .await
            .unwrap(),
    );
    Chain::open(store, tempfile::tempdir().unwrap()).await
}

/// A terminal's store with nothing in it: no demo, no clerk, no program.
fn empty_terminal(dir: &std::path::Path, clock: Arc<dyn Clock>) -> StoreHandle {
    let config = StoreConfig {
        pin_cost: PinHashCost::TEST_ONLY,
        ..StoreConfig::new(
            "T-NEW",
            tillcard::store_key::StoreKey::from_bytes([0x5a; 32]),
        )
    };
    let store = Store::open(&dir.join("terminal.sqlite"), config, clock).unwrap();
    assert!(store.clerk_list().unwrap().is_empty());
    assert!(store.credentials().is_none());
    StoreHandle::spawn(store).unwrap()
}

/// One sync to the end: uploads drained, the downlink pulled.
async fn sync(url: &str, handle: &StoreHandle, clock: Arc<dyn Clock>) -> UplinkStatus {
    let (status_tx, status) = watch::channel(UplinkStatus::default());
    Uplink::new(
        handle.clone(),
        clock,
        UplinkConfig::new(url.to_owned()),
        status_tx,
    )
    .unwrap()
    .sync_until_idle()
    .await
    .unwrap();
    status.borrow().clone()
}

fn refusal_code(result: Result<impl std::fmt::Debug, UplinkError>) -> String {
    match result {
        Err(UplinkError::Refused { code, .. }) => code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn first_day(chain: Chain) {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    // Head office sets up the store, its manager and cashier, and a code.
    for code in ["SH-001", "SH-002"] {
        chain
            .admin_ok(
                "POST",
                "/v1/admin/stores",
                json!({"code": code, "name": format!("Store {code}"),
                       "time_zone": "Asia/Shanghai", "address": "1 Nanjing Rd"}),
            )
            .await;
    }
    let manager = chain
        .admin_ok(
            "POST",
            "/v1/admin/staff",
            json!({"display_name": "王店长", "role": "manager", "stores": ["SH-001"]}),
        )
        .await;
    let cashier = chain
        .admin_ok(
            "POST",
            "/v1/admin/staff",
            json!({"display_name": "李娜", "role": "cashier", "stores": ["SH-001"]}),
        )
        .await;
    let (status, _) = chain
        .admin(
            "POST",
            "/v1/admin/staff",
            Some(json!({"display_name": "李娜", "role": "cashier", "stores": ["SH-001"]})),
        )
        .await;
    assert_eq!(status, 409, "a duplicate name in a store is refused");
    let cashier_id = cashier["staff"]["staff_id"].as_str().unwrap().to_owned();
    let setup_code = cashier["setup_code"].as_str().unwrap().to_owned();
    let manager_id = manager["staff"]["staff_id"].as_str().unwrap().to_owned();
    let other_store_code = chain
        .admin_ok("POST", "/v1/admin/enroll-codes", json!({"store": "SH-002"}))
        .await["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = chain
        .admin_ok("POST", "/v1/admin/enroll-codes", json!({"store": "SH-001"}))
        .await["code"]
        .as_str()
        .unwrap()
        .to_owned();

    // A new till, configured for SH-001, registers with the code.
    let dir = tempfile::tempdir().unwrap();
    let till = empty_terminal(dir.path(), clock.clone());
    assert_eq!(
        refusal_code(
            provision(
                &till,
                &chain.url,
                &other_store_code,
                Some("SH-001".into()),
                None
            )
            .await
        ),
        "code_for_other_store"
    );
    // An address off this machine in plain http is refused before
    // anything is sent: the code is not spent.
    let plain = provision(
        &till,
        "http://hq.example.com",
        &code,
        Some("SH-001".into()),
        None,
    )
    .await;
    assert!(
        matches!(
            &plain,
            Err(UplinkError::Address(AddressProblem::PlainHttp { host })) if host == "hq.example.com"
        ),
        "{plain:?}"
    );
    println!(
        "plain http refused: {}",
        plain.err().map(|e| e.to_string()).unwrap_or_default()
    );
    provision(&till, &chain.url, &code, Some("SH-001".into()), None)
        .await
        .unwrap();
    let second = tempfile::tempdir().unwrap();
    assert_eq!(
        refusal_code(
            provision(
                &empty_terminal(second.path(), clock.clone()),
                &chain.url,
                &code,
                None,
                None
            )
            .await
        ),
        "code_used",
        "a code registers one till"
    );
    assert!(
        matches!(
            provision(&till, &chain.url, &code, None, None).await,
            Err(UplinkError::Store(StoreError::AlreadyRegistered))
        ),
        "registering again needs a manager"
    );

    // Its staff arrive with the first sync.
    sync(&chain.url, &till, clock.clone()).await;
    let clerks = till.call(|s| s.clerk_list()).unwrap();
    let ids: Vec<&str> = clerks.iter().map(|c| c.id.as_str()).collect();
    assert!(
        ids.contains(&cashier_id.as_str()) && ids.contains(&manager_id.as_str()),
        "{ids:?}"
    );
    assert!(clerks.iter().all(|c| !c.has_pin), "nobody has a PIN yet");

    // The cashier sets a PIN with the setup code, and is signed in.
    let now = || chrono::Utc::now().timestamp();
    let clerk = set_pin(
        &till,
        &chain.url,
        cashier_id.clone(),
        setup_code.clone(),
        "3817".into(),
        now(),
    )
    .await
    .unwrap();
    assert_eq!(clerk.id(), cashier_id);
    assert_eq!(
        refusal_code(
            set_pin(
                &till,
                &chain.url,
                cashier_id.clone(),
                setup_code.clone(),
                "9173".into(),
                now()
            )
            .await
        ),
        "setup_code_used",
        "a setup code sets one PIN"
    );
    assert!(
        till.call({
            let id = cashier_id.clone();
            move |s| s.login(&id, "3817")
        })
        .is_ok(),
        "the PIN set stays"
    );

    // A member sale, at head office after the next sync.
    let (member, sale, _) = till
        .call({
            let id = cashier_id.clone();
            move |s| sale_util::first_member_sale(s, &id, "3817")
        })
        .unwrap();
    let status = sync(&chain.url, &till, clock.clone()).await;
    assert_eq!(status.pending, 0);
    let (_, ledger) = chain.hq.store().member(member).await.unwrap().unwrap();
    assert!(
        ledger.iter().any(|e| e.source == sale),
        "the sale is in the member's ledger at head office"
    );

    // Deactivated at head office: refused at the till after one sync.
    chain
        .admin_ok(
            "POST",
            &format!("/v1/admin/staff/{cashier_id}/deactivate"),
            json!({}),
        )
        .await;
    sync(&chain.url, &till, clock.clone()).await;
    let refused = till.call({
        let id = cashier_id.clone();
        move |s| s.login(&id, "3817")
    });
    assert!(
        matches!(refused, Err(StoreError::ClerkInactive)),
        "{refused:?}"
    );
    println!(
        "first day: store, 2 staff and a code via the API; till registered, staff synced, \
         PIN set, 1 member sale at head office, cashier refused after deactivation"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chains_first_day_on_sqlite() {
    first_day(sqlite_chain().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chains_first_day_on_postgres() {
    first_day(postgres_chain().await).await;
}
