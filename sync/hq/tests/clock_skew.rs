//! Terminals' clocks at head office (issue 22): every answer carries head
//! office's time, refusals included; a terminal's skew is recorded from
//! its `x-tillcard-clock-skew` or from a stale request's signed timestamp,
//! shown in the terminal list, and flagged once beyond 120 s. On SQLite and
//! PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tillcard_protocol::client::SignedRequest;
use tillcard_protocol::server_clock::{HEADER_SERVER_TIME, parse_server_time};
use tillcard_protocol::wire::TerminalId;
use util::{Backend, harness};

both!(skew_is_answered_recorded_and_flagged_once, skew_recorded);

async fn exchange(h: &util::Harness, signed: SignedRequest) -> (StatusCode, Option<i64>) {
    let mut req = Request::builder()
        .method(signed.method)
        .uri(&signed.path_and_query);
    for (n, v) in &signed.headers {
        req = req.header(*n, v);
    }
    let (status, headers, _) = h.exchange(req.body(Body::from(signed.body)).unwrap()).await;
    let server = headers
        .get(HEADER_SERVER_TIME)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_server_time);
    (status, server)
}

async fn state(h: &util::Harness, id: TerminalId) -> (Option<i64>, usize) {
    let record = h.hq.store().terminal(id).await.unwrap().unwrap();
    let flags =
        h.hq.store()
            .terminal_flags()
            .await
            .unwrap()
            .into_iter()
            .filter(|(t, reason)| *t == id && reason.starts_with("clock_skew:"))
            .count();
    (record.clock_skew_ms, flags)
}

async fn skew_recorded(backend: Backend) {
    let h = harness(backend).await;
    let till = h.provision("S001").await;
    let id = till.creds.terminal_id;
    let now = chrono::Utc::now().timestamp();
    let mut answered = 0;

    // An unsigned request and a refusal carry head office's time too.
    let (status, server) = exchange(
        &h,
        SignedRequest {
            method: "GET",
            path_and_query: "/v1/changes".into(),
            headers: Vec::new(),
            body: Vec::new(),
        },
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(server.is_some_and(|ms| (ms / 1000 - now).abs() < 60));
    answered += 1;

    // Three hours ahead, uncorrected: refused, the skew recorded, flagged.
    let (status, server) = exchange(&h, till.creds.changes_request(None, now + 3 * 3600)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(server.is_some(), "the refusal carries head office's time");
    answered += 1;
    let (skew, flags) = state(&h, id).await;
    println!("[{backend:?}] stale request 3 h ahead: recorded {skew:?} ms, {flags} flag(s)");
    assert!(skew.is_some_and(|s| (s - 10_800_000).abs() < 5_000));
    assert_eq!(flags, 1);

    // The retry signed with head office's time, reporting the skew: taken,
    // the skew kept, no second flag.
    let signed = till
        .creds
        .changes_request(None, server.unwrap() / 1000)
        .with_clock_skew(Some(10_800_250));
    let (status, _) = exchange(&h, signed).await;
    assert_eq!(status, StatusCode::OK);
    answered += 1;
    let (skew, flags) = state(&h, id).await;
    println!(
        "[{backend:?}] corrected retry reporting 10800250 ms: recorded {skew:?} ms, {flags} flag(s)"
    );
    assert!(skew.is_some_and(|s| (s - 10_800_000).abs() < 5_000));
    assert_eq!(flags, 1, "flagged once");

    // Fixed: 30 s is under the threshold; recorded, no flag. Then off
    // again within the flag interval (10 minutes): recorded, no second flag.
    for (reported, want_flags) in [(30_000, 1), (-200_000, 1), (-201_000, 1)] {
        let signed = till
            .creds
            .changes_request(None, chrono::Utc::now().timestamp())
            .with_clock_skew(Some(reported));
        let (status, server) = exchange(&h, signed).await;
        assert_eq!(status, StatusCode::OK);
        assert!(server.is_some());
        answered += 1;
        let (skew, flags) = state(&h, id).await;
        println!("[{backend:?}] reported {reported} ms: recorded {skew:?} ms, {flags} flag(s)");
        assert!(
            skew.is_some_and(|s| (s - reported).abs() < 2_000),
            "{reported}"
        );
        assert_eq!(flags, want_flags, "{reported}");
    }
    // The terminal list shows it.
    let listed = h.hq.store().terminals().await.unwrap();
    let shown = listed
        .iter()
        .find(|t| t.terminal_id == id.to_string())
        .and_then(|t| t.clock_skew_ms);
    println!(
        "[{backend:?}] {answered} answers all carried head office's time; listed skew {shown:?} ms"
    );
    assert!(shown.is_some_and(|s| (s + 200_000).abs() < 2_000));
}
