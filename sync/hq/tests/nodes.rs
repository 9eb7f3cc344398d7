//! Several head-office nodes on one database (issue 23), on both
//! backends: what they must agree on lives in the database, so a request
//! may reach any node. Failed sign-ins (per user name, per client
//! address, overall) are counted there by one statement each, so nodes
//! counting at once add up and a lockout on one node holds on all;
//! sessions and the console's one-time notices follow the user from node
//! to node. Behind a trusted load balancer a node counts the client named
//! in `X-Forwarded-For`; a node shutting down says so on `/health`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use tillcard_hq::console::{self, text};
use tillcard_hq::dashboard::{self, LOCKOUT, MAX_FAILURES, SESSION_COOKIE, USER_RULE};
use tillcard_hq::service::back_office::Actor;
use tillcard_hq::service::limits::{self, ADDRESS_RULE, OVERALL_RULE};
use tillcard_hq::service::roles::Role;
use tillcard_hq::service::{Hq, LoginOutcome};
use tillcard_hq::store::Store;
use util::{ADMIN, Backend, Harness};

const PASSWORD: &str = "correct horse battery";

/// Two nodes on one fresh database: each its own store connection(s) and
/// its own `Hq`, as two `tillcard-hq` processes would have.
async fn two_nodes(backend: Backend) -> (Harness, Harness) {
    let (first, second): (Arc<dyn Store>, Arc<dyn Store>) = match backend {
        Backend::Sqlite => {
            let (h, path) = util::harness_sqlite().await;
            let second = tillcard_hq::store::sqlite::SqliteStore::open(&path).unwrap();
            let b = Harness::over(
                Arc::new(
                    Hq::open(Arc::new(second), Some(ADMIN.into()))
                        .await
                        .unwrap(),
                ),
                None,
            );
            return (h, b);
        }
        _ => {
            let (h, url) = util::harness_postgres().await;
            let second = tillcard_hq::store::postgres::PgStore::connect(&url)
                .await
                .unwrap();
            (Arc::clone(h.hq.store()), Arc::new(second) as Arc<dyn Store>)
        }
    };
    let a = Harness::over(
        Arc::new(Hq::open(first, Some(ADMIN.into())).await.unwrap()),
        None,
    );
    let b = Harness::over(
        Arc::new(Hq::open(second, Some(ADMIN.into())).await.unwrap()),
        None,
    );
    (a, b)
}

fn en(key: &str) -> &'static str {
    text::TABLE.iter().find(|r| r.0 == key).unwrap().2
}

async fn counts_follow_their_rules(backend: Backend) {
    let h = util::harness(backend).await;
    let store = Arc::clone(h.hq.store());
    let t0: i64 = 1_800_000_000_000;
    let s = |n: u64| i64::try_from(n * 1000).unwrap();

    // An address: five failures within the minute close it for the rest
    // of that minute; the next window counts from one again.
    let key = limits::address_key("203.0.113.7".parse().unwrap());
    for i in 0..5 {
        let row = store
            .count_failure(&key, ADDRESS_RULE, t0 + s(i))
            .await
            .unwrap();
        assert_eq!(row.failures, i64::try_from(i).unwrap() + 1);
        assert_eq!(row.window_start_ms, t0);
    }
    let row = store.throttle(&key).await.unwrap();
    assert_eq!(
        ADDRESS_RULE.refusal(row.as_ref(), t0 + s(10)),
        Some(Duration::from_secs(50))
    );
    assert_eq!(ADDRESS_RULE.refusal(row.as_ref(), t0 + s(60)), None);
    let next = store
        .count_failure(&key, ADDRESS_RULE, t0 + s(61))
        .await
        .unwrap();
    assert_eq!((next.failures, next.window_start_ms), (1, t0 + s(61)));

    // A user name: MAX_FAILURES failures lock it for LOCKOUT from the
    // last; after that a failure counts from one and does not lock.
    let user = dashboard::user_key("Ana");
    for i in 1..MAX_FAILURES {
        let row = store
            .count_failure(&user, USER_RULE, t0 + s(u64::from(i)))
            .await
            .unwrap();
        assert_eq!(
            USER_RULE.refusal(Some(&row), t0 + s(u64::from(i))),
            None,
            "{i}"
        );
    }
    let at = t0 + s(u64::from(MAX_FAILURES));
    let locked = store.count_failure(&user, USER_RULE, at).await.unwrap();
    assert_eq!(USER_RULE.refusal(Some(&locked), at), Some(LOCKOUT));
    let lockout_ms = i64::try_from(LOCKOUT.as_millis()).unwrap();
    assert_eq!(USER_RULE.refusal(Some(&locked), at + lockout_ms), None);
    let after = store
        .count_failure(&user, USER_RULE, at + lockout_ms)
        .await
        .unwrap();
    assert_eq!(after.failures, 1);
    assert_eq!(USER_RULE.refusal(Some(&after), at + lockout_ms), None);
    store.clear_throttle(&user).await.unwrap();
    assert_eq!(store.throttle(&user).await.unwrap(), None);

    // Counted at once (as by many nodes), every failure adds up.
    let counted = futures_util::future::join_all((0..40).map(|_| {
        let store = Arc::clone(&store);
        async move {
            store
                .count_failure(limits::OVERALL_KEY, OVERALL_RULE, t0)
                .await
                .unwrap()
        }
    }))
    .await;
    let final_count = store.throttle(limits::OVERALL_KEY).await.unwrap().unwrap();
    let mut seen: Vec<i64> = counted.iter().map(|r| r.failures).collect();
    seen.sort_unstable();
    println!(
        "{backend:?}: 40 failures counted at once: final count {}, each saw a distinct count: {}",
        final_count.failures,
        seen == (1..=40).collect::<Vec<_>>()
    );
    assert_eq!(final_count.failures, 40);
    assert_eq!(seen, (1..=40).collect::<Vec<_>>());
}

#[tokio::test]
async fn sign_in_counts_follow_their_rules_in_the_database_sqlite() {
    counts_follow_their_rules(Backend::Sqlite).await;
}

#[tokio::test]
async fn sign_in_counts_follow_their_rules_in_the_database_postgres() {
    counts_follow_their_rules(Backend::Postgres).await;
}

async fn nodes_agree(backend: Backend) {
    let (a, b) = two_nodes(backend).await;
    a.hq.save_user(&Actor::cli(), "ana", PASSWORD, Some(Role::StoreOps))
        .await
        .unwrap();
    a.hq.save_user(&Actor::cli(), "olga", PASSWORD, Some(Role::StoreOps))
        .await
        .unwrap();

    // Wrong passwords for one name spread over both nodes, each from its
    // own address: the name is locked on both, even for the right one.
    let from = |i: u32| Some(std::net::IpAddr::from([192, 0, 2, 10 + i as u8]));
    for i in 0..MAX_FAILURES - 1 {
        let node = if i % 2 == 0 { &a } else { &b };
        let outcome = node
            .hq
            .login_from("ana", "nope-nope", from(i))
            .await
            .unwrap();
        assert!(matches!(outcome, LoginOutcome::Wrong), "{i}: {outcome:?}");
    }
    let last =
        b.hq.login_from("ana", "nope-nope", from(MAX_FAILURES))
            .await
            .unwrap();
    assert!(matches!(last, LoginOutcome::Locked(_)), "{last:?}");
    for node in [&a, &b] {
        let right = node.hq.login_from("ana", PASSWORD, from(99)).await.unwrap();
        assert!(matches!(right, LoginOutcome::Locked(_)), "{right:?}");
    }

    // A session made on one node is good on the other; a form posted on
    // one shows its notice on the page the other serves, once.
    let LoginOutcome::Session(token) = a.hq.login("olga", PASSWORD).await.unwrap() else {
        panic!("olga's login refused");
    };
    let cookie = format!("{SESSION_COOKIE}={token}; tillcard_lang=en");
    let form = format!(
        "code=S200&name=North&time_zone=Asia%2FShanghai&address=&csrf={}",
        console::csrf_token(&token)
    );
    let (s, headers, _) = a
        .exchange(
            Request::builder()
                .method("POST")
                .uri("/console/stores")
                .header(header::COOKIE, &cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form))
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/console/stores");
    let (s, _, body) = b.get("/console/stores", &[("cookie", &cookie)]).await;
    let body = String::from_utf8(body).unwrap();
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains(en("store_created")), "{body}");
    assert!(body.contains("S200"), "{body}");
    let (_, _, again) = a.get("/console/stores", &[("cookie", &cookie)]).await;
    assert!(
        !String::from_utf8(again)
            .unwrap()
            .contains(en("store_created"))
    );
    println!("{backend:?}: lockout, session and notice shared by two nodes");
}

#[tokio::test]
async fn two_nodes_share_lockouts_sessions_and_notices_sqlite() {
    nodes_agree(Backend::Sqlite).await;
}

#[tokio::test]
async fn two_nodes_share_lockouts_sessions_and_notices_postgres() {
    nodes_agree(Backend::Postgres).await;
}

#[tokio::test]
async fn behind_a_trusted_balancer_the_forwarded_client_counts_and_draining_shows_on_health() {
    let h = util::harness(Backend::Sqlite).await;
    let balancer: std::net::IpAddr = "127.0.0.1".parse().unwrap();
    let hq = Hq::open(Arc::clone(h.hq.store()), Some(ADMIN.into()))
        .await
        .unwrap()
        .with_trusted_proxies(vec![balancer]);
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-forwarded-for",
        HeaderValue::from_static("10.9.9.9, 198.51.100.7"),
    );
    // The balancer appended the last address; the first is the client's
    // own say and is not believed.
    assert_eq!(
        hq.client_addr(&headers, Some(balancer)),
        Some("198.51.100.7".parse().unwrap())
    );
    let stranger: std::net::IpAddr = "192.0.2.1".parse().unwrap();
    assert_eq!(hq.client_addr(&headers, Some(stranger)), Some(stranger));
    assert_eq!(
        hq.client_addr(&HeaderMap::new(), Some(balancer)),
        Some(balancer)
    );

    let node = Harness::over(Arc::new(hq), None);
    let (s, _, _) = node.get("/health", &[]).await;
    assert_eq!(s, StatusCode::OK);
    node.hq.start_draining();
    let (s, _, body) = node.get("/health", &[]).await;
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"], "draining", "{body}");
    assert_eq!(body["class"], "retry_later", "{body}");
}
