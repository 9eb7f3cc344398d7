//! The dashboard's doors and head office's metrics, driven through the
//! router: users and sessions (stored on both backends), wrong passwords,
//! the lockout, logout, the page and its assets served by head office
//! itself, and `/metrics` counters moving after an upload.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use std::net::SocketAddr;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tillcard_hq::dashboard::{Lang, LoginText, MAX_FAILURES, SESSION_COOKIE};
use util::{Backend, Harness, harness, new_member};

both!(login_session_logout_and_lockout, login_flow);
both!(metrics_counters_move_after_an_upload, metrics_after_upload);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_answer_loopback_only_without_a_token_and_the_token_only_with_one() {
    let open = harness(Backend::Sqlite).await;
    let remote: SocketAddr = "203.0.113.9:41000".parse().unwrap();
    let get = |h: &Harness, peer: SocketAddr, headers: &[(&str, &str)]| {
        let mut req = Request::builder().uri("/metrics");
        for (n, v) in headers {
            req = req.header(*n, *v);
        }
        let req = req.body(Body::empty()).unwrap();
        let h = Harness::shell(h);
        async move {
            let (s, _, body) = h.exchange_from(peer, req).await;
            let code = serde_json::from_slice::<serde_json::Value>(&body)
                .map(|v| v["error"].as_str().unwrap_or("").to_owned())
                .unwrap_or_default();
            (s, code)
        }
    };
    let cases = [
        (
            get(&open, util::LOCAL_PEER, &[]).await,
            (StatusCode::OK, ""),
        ),
        (
            get(&open, "[::1]:5000".parse().unwrap(), &[]).await,
            (StatusCode::OK, ""),
        ),
        (
            get(&open, remote, &[]).await,
            (StatusCode::FORBIDDEN, "metrics_not_local"),
        ),
        (
            get(
                &open,
                util::LOCAL_PEER,
                &[("x-forwarded-for", "203.0.113.9")],
            )
            .await,
            (StatusCode::FORBIDDEN, "metrics_not_local"),
        ),
    ];
    for (i, ((s, code), (want_s, want_code))) in cases.iter().enumerate() {
        println!("no token, case {i}: {s} {code:?}");
        assert_eq!((*s, code.as_str()), (*want_s, *want_code), "case {i}");
    }

    let (store, tmp) = util::open_store(Backend::Sqlite).await;
    let hq = tillcard_hq::service::Hq::open(store, None)
        .await
        .unwrap()
        .with_metrics_token(Some("scrape-token".into()));
    let guarded = Harness::over(std::sync::Arc::new(hq), tmp);
    let cases = [
        (
            get(&guarded, util::LOCAL_PEER, &[]).await,
            (StatusCode::UNAUTHORIZED, "metrics_token_required"),
        ),
        (
            get(&guarded, remote, &[("authorization", "Bearer wrong")]).await,
            (StatusCode::UNAUTHORIZED, "metrics_token_required"),
        ),
        (
            get(
                &guarded,
                remote,
                &[("authorization", "Bearer scrape-token")],
            )
            .await,
            (StatusCode::OK, ""),
        ),
    ];
    for (i, ((s, code), (want_s, want_code))) in cases.iter().enumerate() {
        println!("with a token, case {i}: {s} {code:?}");
        assert_eq!((*s, code.as_str()), (*want_s, *want_code), "case {i}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_is_throttled_per_address_with_retry_after_and_the_cookie_is_secure() {
    use tillcard_hq::service::limits::ADDRESS_MAX_FAILURES;
    let h = harness(Backend::Sqlite).await;
    h.hq.add_user("ana", PASSWORD).await.unwrap();
    let attacker: SocketAddr = "198.51.100.4:40000".parse().unwrap();
    let colleague: SocketAddr = "198.51.100.5:40000".parse().unwrap();
    let login = |peer: SocketAddr, user: &'static str, password: &'static str| {
        let h = Harness::shell(&h);
        async move {
            let form = format!("username={user}&password={password}&lang=en");
            h.exchange_from(
                peer,
                Request::builder()
                    .method("POST")
                    .uri("/dashboard/login")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(form))
                    .unwrap(),
            )
            .await
        }
    };
    // Wrong passwords for several user names from one address: no user
    // name reaches its own lockout, the address does.
    let users = ["ana", "bo", "cy", "di", "ed"];
    for i in 0..ADDRESS_MAX_FAILURES as usize {
        let (s, _, _) = login(attacker, users[i % users.len()], "wrong-password").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "failure {i}");
    }
    let (s, headers, body) = login(attacker, "ana", PASSWORD).await;
    let retry_after: u64 = headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    println!(
        "after {ADDRESS_MAX_FAILURES} failures from one address: {s}, Retry-After {retry_after}"
    );
    assert_eq!(
        s,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert!(headers.get(header::SET_COOKIE).is_none());
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains("Too many failed attempts")
    );

    // Another address signs in, and its cookie is Secure.
    let (s, headers, _) = login(colleague, "ana", PASSWORD).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let cookie = headers[header::SET_COOKIE].to_str().unwrap();
    println!(
        "colleague: {s}, cookie flags {:?}",
        cookie.split_once(';').map(|c| c.1)
    );
    assert!(
        cookie.contains("; HttpOnly;")
            && cookie.contains("; Secure;")
            && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let scrape = h.hq.metrics().encode().unwrap();
    assert_eq!(
        metric(
            &scrape,
            "tillcard_hq_sign_ins_throttled_total{scope=\"address\"}"
        ),
        Some(1.0)
    );
}

const PASSWORD: &str = "s3cret-enough";

async fn post_login(
    h: &Harness,
    user: &str,
    password: &str,
    lang: &str,
) -> (StatusCode, axum::http::HeaderMap, String) {
    post_login_from(h, util::LOCAL_PEER, user, password, lang).await
}

/// A sign-in posted from the client at `peer`.
async fn post_login_from(
    h: &Harness,
    peer: SocketAddr,
    user: &str,
    password: &str,
    lang: &str,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let form = format!("username={user}&password={password}&lang={lang}");
    let (status, headers, body) = h
        .exchange_from(
            peer,
            Request::builder()
                .method("POST")
                .uri("/dashboard/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form))
                .unwrap(),
        )
        .await;
    (status, headers, String::from_utf8(body).unwrap())
}

async fn login_flow(backend: Backend) {
    let h = harness(backend).await;
    h.hq.add_user("ana", PASSWORD).await.unwrap();
    // Too short a password is refused at creation.
    assert!(h.hq.add_user("bob", "short").await.is_err());
    // The stored hash is Argon2id, never the password.
    let user = h.hq.store().user("ana").await.unwrap().unwrap();
    assert!(user.password_hash.starts_with("$argon2id$"));
    assert!(h.hq.store().find_text(PASSWORD).await.unwrap().is_empty());

    // No session: the page sends to the login page; the login page is
    // served in both languages.
    let (s, headers, _) = h.get("/dashboard", &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/dashboard/login");
    for (lang, text) in [
        ("en", LoginText::of(Lang::En)),
        ("zh-CN", LoginText::of(Lang::ZhCn)),
    ] {
        let (s, _, body) = h.get(&format!("/dashboard/login?lang={lang}"), &[]).await;
        let body = String::from_utf8(body).unwrap();
        assert_eq!(s, StatusCode::OK);
        assert!(
            body.contains(text.title) && body.contains(text.submit),
            "{lang}"
        );
    }

    // Wrong password: a clear message, no cookie.
    let (s, headers, body) = post_login(&h, "ana", "wrong-password", "en").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(headers.get(header::SET_COOKIE).is_none());
    assert!(body.contains(LoginText::of(Lang::En).wrong));
    // Unknown user: the same answer.
    let (s, _, body) = post_login(&h, "nobody", PASSWORD, "zh-CN").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(body.contains(LoginText::of(Lang::ZhCn).wrong));

    // Right password: a session cookie, HttpOnly, SameSite=Strict, expiring.
    let (s, headers, _) = post_login(&h, "ana", PASSWORD, "en").await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/dashboard?lang=en");
    let cookie = headers[header::SET_COOKIE].to_str().unwrap().to_string();
    for flag in ["HttpOnly", "SameSite=Strict", "Max-Age=28800", "Path=/"] {
        assert!(cookie.contains(flag), "{flag} missing from {cookie}");
    }
    let pair = cookie.split(';').next().unwrap().to_string();
    let token = pair.strip_prefix(&format!("{SESSION_COOKIE}=")).unwrap();
    // Only the token's hash is stored.
    assert!(h.hq.store().find_text(token).await.unwrap().is_empty());

    // The session opens the page and the figures.
    let (s, headers, body) = h.get("/dashboard", &[("cookie", &pair)]).await;
    assert_eq!(s, StatusCode::OK);
    let page = String::from_utf8(body).unwrap();
    assert!(page.contains("/dashboard/assets/dashboard.js"));
    assert!(
        headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    let (s, _, _) = h.get("/v1/admin/figures", &[("cookie", &pair)]).await;
    assert_eq!(s, StatusCode::OK);
    // Page, script and style come from head office and load nothing from
    // elsewhere (the SVG namespace is a name, not a fetch).
    for path in [
        "/dashboard/assets/dashboard.js",
        "/dashboard/assets/dashboard.css",
    ] {
        let (s, _, body) = h.get(path, &[]).await;
        assert_eq!(s, StatusCode::OK);
        let text = String::from_utf8(body)
            .unwrap()
            .replace("http://www.w3.org/2000/svg", "");
        assert!(
            !text.contains("http://") && !text.contains("https://") && !text.contains("//cdn"),
            "{path}"
        );
    }
    assert!(!page.contains("http://") && !page.contains("https://"));

    // Logout ends the session and clears the cookie.
    let req = Request::builder()
        .method("POST")
        .uri("/dashboard/logout")
        .header("cookie", &pair)
        .body(Body::empty())
        .unwrap();
    let res = tower::ServiceExt::oneshot(h.router.clone(), req)
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        res.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let (s, _, _) = h.get("/v1/admin/figures", &[("cookie", &pair)]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, _) = h.get("/dashboard", &[("cookie", &pair)]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);

    // MAX_FAILURES wrong passwords lock the user name, whichever addresses
    // they come from (each from its own, below the per-address limit):
    // then even the right password is refused, with the wait in the
    // message.
    let from = |i: u32| SocketAddr::from(([192, 0, 2, 10 + i as u8], 40_000));
    for i in 0..MAX_FAILURES - 1 {
        let (s, _, _) = post_login_from(&h, from(i), "ana", "nope-nope", "en").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, _, body) = post_login_from(&h, from(MAX_FAILURES), "ana", "nope-nope", "en").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert!(body.contains("Too many failed attempts"));
    let (s, headers, _) = post_login_from(&h, from(MAX_FAILURES + 1), "ana", PASSWORD, "en").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert!(headers.get(header::SET_COOKIE).is_none());
}

/// The value of the metric line that starts with `prefix` (name{labels}).
fn metric(scrape: &str, prefix: &str) -> Option<f64> {
    scrape
        .lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

async fn metrics_after_upload(backend: Backend) {
    let h = harness(backend).await;
    let scrape = |h: &Harness| {
        let h = Harness::shell(h);
        async move {
            let (s, headers, body) = h.get("/metrics", &[]).await;
            assert_eq!(s, StatusCode::OK);
            assert!(
                headers[header::CONTENT_TYPE]
                    .to_str()
                    .unwrap()
                    .starts_with("application/openmetrics-text")
            );
            String::from_utf8(body).unwrap()
        }
    };
    let before = scrape(&h).await;
    assert_eq!(
        metric(&before, "tillcard_hq_batches_ingested_total"),
        Some(0.0)
    );

    let mut till = h.provision("S001").await;
    let events = till.simple_batch(new_member(), "13800138000", 3);
    let (s, ack) = h.upload_with_head(&till, events, 5).await;
    assert_eq!((s, ack.unwrap().acked_seq), (StatusCode::OK, 3));
    // A refused upload (unsigned) counts as a refusal.
    assert_eq!(h.upload_unsigned().await, StatusCode::UNAUTHORIZED);

    let after = scrape(&h).await;
    let tid = till.creds.terminal_id.to_string();
    assert_eq!(
        metric(&after, "tillcard_hq_batches_ingested_total"),
        Some(1.0)
    );
    assert_eq!(
        metric(
            &after,
            "tillcard_hq_events_ingested_total{outcome=\"applied\"}"
        ),
        Some(3.0)
    );
    assert_eq!(
        metric(&after, "tillcard_hq_ingest_seconds_count"),
        Some(1.0)
    );
    assert_eq!(
        metric(
            &after,
            "tillcard_hq_http_requests_total{method=\"POST\",route=\"/v1/batches\",status=\"200\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        metric(
            &after,
            "tillcard_hq_http_requests_total{method=\"POST\",route=\"/v1/batches\",status=\"401\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        metric(&after, "tillcard_hq_refusals_total{code=\"unsigned\"}"),
        Some(1.0)
    );
    let labels = format!("{{terminal=\"{tid}\",store=\"S001\"}}");
    assert_eq!(
        metric(&after, &format!("tillcard_hq_terminal_acked_seq{labels}")),
        Some(3.0)
    );
    assert_eq!(
        metric(
            &after,
            &format!("tillcard_hq_terminal_pending_events{labels}")
        ),
        Some(2.0)
    );
    assert!(metric(&after, &format!("tillcard_hq_terminal_lag_seconds{labels}")).unwrap() < 120.0);
    assert!(after.trim_end().ends_with("# EOF"));
    assert!(!after.contains("13800138000") && !after.contains("138****8000"));
}
