//! The wire contract holds against a hostile or buggy terminal: amounts
//! beyond the protocol's bounds are dead-lettered with their reason (never a
//! panic, never a 500, never a wrapped balance), the figures sum any chain
//! exactly, events applied in any order give the account sequence order
//! gives, and sequence numbers beyond 2^53 - 1 are refused as malformed
//! without flagging the terminal. Every scenario runs on SQLite and on
//! PostgreSQL.

// clippy.toml keeps database connections in the store modules; this test inspects or breaks the database directly.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use axum::http::StatusCode;
use tillcard_protocol::wire::{EventBody, OutboxEvent};
use tillcard_rules::ids::{MemberId, SourceId};
use tillcard_rules::ledger::{EntryKind, LedgerEntry};
use tillcard_rules::pricing::TenderRequest;
use tillcard_rules::{MemberAccount, Money};
use util::{ADMIN, Backend, Harness, Till, harness, new_member};
use uuid::Uuid;

both!(
    an_overflowing_amount_is_dead_lettered_and_head_office_stays_up,
    overflowing_amounts
);
both!(
    figures_sum_a_chain_past_the_i64_range_exactly,
    figures_past_i64
);
both!(
    out_of_order_events_give_the_sequence_order_account,
    out_of_order
);
both!(
    sequence_numbers_past_the_bound_are_malformed_not_a_clone,
    sequence_bounds
);
both!(
    a_failed_batch_leaves_every_other_terminal_uploading,
    failed_batch
);
both!(
    an_erasure_that_overtakes_the_enrollment_leaves_a_tombstone,
    erasure_first
);
both!(
    documented_poison_is_dead_lettered_with_its_code,
    documented_poison
);

/// A top-up of `fen` for `member` whose one entry credits exactly that: the
/// event a hostile terminal would send, consistent in itself.
fn top_up_of(till: &mut Till, member: MemberId, fen: i64) -> OutboxEvent {
    let principal = Money::from_fen(fen);
    let entry = LedgerEntry {
        member,
        source: SourceId(Uuid::now_v7()),
        at: till.clock,
        kind: EntryKind::StoredValueCredited {
            principal,
            bonus: Money::ZERO,
            package: None,
        },
    };
    till.event(&EventBody::TopUp {
        member,
        principal,
        bonus: Money::ZERO,
        package: None,
        entries: vec![entry],
    })
}

/// Every route that touches the store, with the admin token where needed:
/// each must answer 2xx.
async fn head_office_answers(h: &Harness, till: &Till, what: &str) {
    let auth = format!("Bearer {ADMIN}");
    let (s, _, body) = h.get("/health", &[]).await;
    assert_eq!(s, StatusCode::OK, "{what}: /health");
    let health: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(health["store"], "ok", "{what}: /health names the store");
    h.ensure_store("S009").await;
    let (s, _) = h
        .admin_post(
            "/v1/admin/enroll-codes",
            serde_json::json!({"store": "S009"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{what}: enrollment codes");
    let (s, _, body) = h
        .get("/v1/admin/figures", &[("authorization", &auth)])
        .await;
    assert_eq!(
        s,
        StatusCode::OK,
        "{what}: figures: {}",
        String::from_utf8_lossy(&body)
    );
    for job in ["tier-evaluation", "expiry"] {
        let (s, body) = h
            .admin_post(&format!("/v1/admin/jobs/{job}"), serde_json::json!({}))
            .await;
        assert_eq!(s, StatusCode::OK, "{what}: {job} job: {body}");
    }
    let (s, _, _) = h
        .get("/v1/admin/dead-letters", &[("authorization", &auth)])
        .await;
    assert_eq!(s, StatusCode::OK, "{what}: dead letters");
    // The downlink: all_changes asserts every page is a 200.
    h.all_changes(till).await;
}

async fn dead_letter_codes(h: &Harness) -> Vec<(u64, String)> {
    let (s, _, body) = h
        .get(
            "/v1/admin/dead-letters",
            &[("authorization", &format!("Bearer {ADMIN}"))],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let list: serde_json::Value = serde_json::from_slice(&body).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["seq"].as_u64().unwrap(),
                d["code"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn overflowing_amounts(backend: Backend) {
    let h = harness(backend).await;
    let (mut till, mut other) = h.two_stores().await;
    let member = new_member();
    let (enrolled, _) = till.enroll(member, "13800138001");
    let (_, ack) = h.upload(&till, vec![enrolled]).await;
    assert_eq!(ack.unwrap().applied, 1);

    // The top-up of i64::MAX fen: past the bound on any amount.
    let huge = top_up_of(&mut till, member, i64::MAX);
    let (s, ack) = h.upload(&till, vec![huge]).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "[{backend:?}] refused as poison, not 500"
    );
    let ack = ack.unwrap();
    assert_eq!((ack.applied, ack.dead_lettered), (0, 1), "[{backend:?}]");

    // Two top-ups each within the bound whose sum is not: the second is
    // refused against the member's history.
    let at_bound = top_up_of(&mut till, member, tillcard_rules::limits::MAX_FEN);
    let one_more = top_up_of(&mut till, member, 1);
    let (s, ack) = h.upload(&till, vec![at_bound, one_more]).await;
    assert_eq!(s, StatusCode::OK, "[{backend:?}]");
    let ack = ack.unwrap();
    assert_eq!((ack.applied, ack.dead_lettered), (1, 1), "[{backend:?}]");

    // A sale whose quote is beyond the bound (what broke the tier job).
    let account = MemberAccount::new(member);
    let (mut sale, _) = till.sale(&account, 10, TenderRequest::default());
    let mut body = sale.decode_body().unwrap();
    if let EventBody::SaleBooked { quote, .. } = &mut body {
        quote.subtotal = Money::from_fen(i64::MAX);
        quote.total = Money::from_fen(i64::MAX);
        quote.amount_due = Money::from_fen(i64::MAX);
        quote.qualifying_spend = Money::from_fen(i64::MAX);
    }
    sale = OutboxEvent::new(sale.envelope.clone(), &body).unwrap();
    let (s, ack) = h.upload(&till, vec![sale]).await;
    assert_eq!(s, StatusCode::OK, "[{backend:?}]");
    assert_eq!(ack.unwrap().dead_lettered, 1, "[{backend:?}]");

    let dead = dead_letter_codes(&h).await;
    println!("[{backend:?}] dead letters (seq, code): {dead:?}");
    assert_eq!(
        dead,
        vec![
            (2, "out_of_bounds".to_string()),
            (4, "balance_out_of_bounds".to_string()),
            (5, "out_of_bounds".to_string()),
        ],
        "[{backend:?}]"
    );

    // Head office is up for everyone, and the member's balance is the one
    // top-up within the bounds, not a wrapped sum.
    head_office_answers(&h, &till, &format!("[{backend:?}] after the poison")).await;
    let neighbour = new_member();
    let (enrolled, _) = other.enroll(neighbour, "13800138002");
    let small = top_up_of(&mut other, neighbour, 1);
    let (s, ack) = h.upload(&other, vec![enrolled, small]).await;
    assert_eq!(s, StatusCode::OK, "[{backend:?}] another terminal uploads");
    assert_eq!(
        ack.unwrap().applied,
        2,
        "[{backend:?}] a 1-fen top-up applies"
    );
    let figures = h.figures_at(util::t0() + chrono::Duration::days(1)).await;
    let principal = &figures["liabilities"]["stored_value_principal_fen"];
    println!("[{backend:?}] stored value principal after the poison: {principal}");
    assert_eq!(
        principal.as_i64(),
        Some(tillcard_rules::limits::MAX_FEN + 1),
        "[{backend:?}] {figures}"
    );
}

/// Sets every member's stored-value summary to `fen` straight in the
/// database, as a chain of large balances would leave it.
async fn set_every_principal(h: &Harness, url: Option<&str>, fen: i64) {
    match url {
        None => {
            let path = h.sqlite_path().unwrap();
            let db = rusqlite::Connection::open(path).unwrap();
            db.execute("UPDATE members SET sv_principal = ?1", [fen])
                .unwrap();
        }
        Some(url) => {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            client
                .execute("UPDATE members SET sv_principal = $1", &[&fen])
                .await
                .unwrap();
        }
    }
}

/// A head office on `backend`, with its PostgreSQL database's URL (for
/// the tests that write rows head office never would).
async fn harness_with_url(backend: Backend) -> (util::Harness, Option<String>) {
    match backend {
        Backend::Sqlite => (harness(backend).await, None),
        _ => {
            let (h, url) = util::harness_postgres().await;
            (h, Some(url))
        }
    }
}

async fn figures_past_i64(backend: Backend) {
    let (h, url) = harness_with_url(backend).await;
    let mut till = h.provision("S001").await;
    let (a, _) = till.enroll(new_member(), "13800138011");
    let (b, _) = till.enroll(new_member(), "13800138012");
    let (_, ack) = h.upload(&till, vec![a, b]).await;
    assert_eq!(ack.unwrap().applied, 2);
    set_every_principal(&h, url.as_deref(), 1 << 62).await;
    let figures = h.figures_at(util::t0() + chrono::Duration::days(1)).await;
    let principal = &figures["liabilities"]["stored_value_principal_fen"];
    println!("[{backend:?}] two members of 2^62 fen: principal {principal}");
    assert_eq!(principal.as_u64(), Some(1 << 63), "[{backend:?}] {figures}");
}

async fn out_of_order(backend: Backend) {
    let h = harness(backend).await;
    let mut till = h.provision("S001").await;
    let member = new_member();
    let (enrolled, mut account) = till.enroll_account(member, "13800138021");
    let (earning, entries) = till.sale(&account, 500, TenderRequest::default());
    account = MemberAccount::fold(account, &entries);
    let redeem = TenderRequest {
        redeem_points: 200,
        ..Default::default()
    };
    let (redemption, entries) = till.sale(&account, 50, redeem);
    account = MemberAccount::fold(account, &entries);
    assert!(
        entries
            .iter()
            .any(|e| matches!(e.kind, EntryKind::PointsRedeemed { .. })),
        "the second sale redeems points"
    );

    // The redemption arrives above a gap, before the sale that earned its
    // points; then the earning fills the gap.
    let (_, ack) = h.upload(&till, vec![enrolled]).await;
    assert_eq!(ack.unwrap().applied, 1);
    let (s, _) = h.upload(&till, vec![redemption]).await;
    assert_eq!(s, StatusCode::OK, "[{backend:?}]");
    let (_, ack) = h.upload(&till, vec![earning]).await;
    assert_eq!(ack.unwrap().acked_seq, 3, "[{backend:?}] the gap is filled");

    let at = util::t0() + chrono::Duration::days(1);
    let head_office = h.member_account(&till, member).await;
    println!(
        "[{backend:?}] out of order: lots {:?}, in order: {:?}",
        head_office.lots, account.lots
    );
    assert_eq!(
        head_office.lots, account.lots,
        "[{backend:?}] lots and their expiry"
    );
    assert_eq!(
        head_office.points_balance(at),
        account.points_balance(at),
        "[{backend:?}]"
    );
    let figures = h.figures_at(at).await;
    assert_eq!(
        figures["liabilities"]["points"].as_i64(),
        Some(account.points_balance(at)),
        "[{backend:?}] the figures count the points"
    );
    // The expiry job (at today's real date) expires nothing earned to last
    // until the end of next year.
    let (s, body) = h
        .admin_post("/v1/admin/jobs/expiry", serde_json::json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["entries"], 0, "[{backend:?}] nothing expires");
}

async fn sequence_bounds(backend: Backend) {
    let h = harness(backend).await;
    let mut till = h.provision("S001").await;
    let member = new_member();
    let (enrolled, _) = till.enroll(member, "13800138031");
    let (_, ack) = h.upload(&till, vec![enrolled]).await;
    assert_eq!(ack.unwrap().acked_seq, 1);

    // An event numbered 2^63: a malformed batch, refused whole.
    let mut event = top_up_of(&mut till.clone(), member, 100);
    event.envelope.seq = 1 << 63;
    let (s, _) = h.upload(&till, vec![event]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "[{backend:?}] seq 2^63");
    // A head of 2^63 likewise.
    let event = top_up_of(&mut till.clone(), member, 100);
    let (s, _) = h.upload_with_head(&till, vec![event], 1 << 63).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "[{backend:?}] head 2^63");
    // The largest allowed head is taken and shown as such.
    let (s, _) = h
        .upload_with_head(&till, vec![], tillcard_protocol::wire::MAX_SEQ)
        .await;
    assert_eq!(s, StatusCode::OK, "[{backend:?}] head 2^53 - 1");

    // Not flagged as a clone: its next event applies.
    let event = top_up_of(&mut till, member, 100);
    let (s, ack) = h.upload(&till, vec![event]).await;
    assert_eq!(s, StatusCode::OK, "[{backend:?}]");
    assert_eq!(ack.unwrap().applied, 1, "[{backend:?}]");
    let (s, _, body) = h
        .get(
            "/v1/admin/terminal-flags",
            &[("authorization", &format!("Bearer {ADMIN}"))],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let flags: serde_json::Value = serde_json::from_slice(&body).unwrap();
    println!("[{backend:?}] terminal flags after seq 2^63: {flags}");
    assert_eq!(flags, serde_json::json!([]), "[{backend:?}]");
}

/// Makes every write of `terminal`'s events fail in the database itself (a
/// trigger), as a full disk or a broken constraint would; or lifts that.
async fn fail_writes_of(h: &Harness, url: Option<&str>, terminal: &str, fail: bool) {
    match url {
        None => {
            let db = rusqlite::Connection::open(h.sqlite_path().unwrap()).unwrap();
            db.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
            let sql = if fail {
                format!(
                    "CREATE TRIGGER fail_writes BEFORE INSERT ON events
                     WHEN NEW.terminal_id = '{terminal}'
                     BEGIN SELECT RAISE(ABORT, 'injected write failure'); END;"
                )
            } else {
                "DROP TRIGGER fail_writes".to_string()
            };
            db.execute_batch(&sql).unwrap();
        }
        Some(url) => {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            let sql = if fail {
                format!(
                    "CREATE FUNCTION fail_writes() RETURNS trigger LANGUAGE plpgsql AS $$
                     BEGIN RAISE EXCEPTION 'injected write failure'; END $$;
                     CREATE TRIGGER fail_writes BEFORE INSERT ON events FOR EACH ROW
                     WHEN (NEW.terminal_id = '{terminal}') EXECUTE FUNCTION fail_writes();"
                )
            } else {
                "DROP TRIGGER fail_writes ON events; DROP FUNCTION fail_writes();".to_string()
            };
            client.batch_execute(&sql).await.unwrap();
        }
    }
}

async fn failed_batch(backend: Backend) {
    let (h, url) = harness_with_url(backend).await;
    let mut broken = h.provision("S001").await;
    let mut tills: Vec<Till> = Vec::new();
    for store in ["S002", "S003", "S004"] {
        tills.push(h.provision(store).await);
    }
    let failing = broken.simple_batch(new_member(), "13800138041", 5);
    fail_writes_of(
        &h,
        url.as_deref(),
        &broken.creds.terminal_id.to_string(),
        true,
    )
    .await;
    let (s, _) = h.upload(&broken, failing.clone()).await;
    assert_eq!(
        s,
        StatusCode::INTERNAL_SERVER_ERROR,
        "[{backend:?}] the failed write"
    );

    // Every other terminal uploads, and head office says it is healthy.
    let (mut sent, mut applied) = (failing.len(), 0);
    for (i, till) in tills.iter_mut().enumerate() {
        let batch = till.simple_batch(new_member(), &format!("1390013900{i}"), 4);
        sent += batch.len();
        let (s, ack) = h.upload(till, batch).await;
        assert_eq!(
            s,
            StatusCode::OK,
            "[{backend:?}] terminal {i} after the failure"
        );
        applied += ack.unwrap().applied as usize;
    }
    let (s, _, _) = h.get("/health", &[]).await;
    assert_eq!(s, StatusCode::OK);

    // The failed batch left nothing behind: once writes work, its retry
    // applies every event once.
    fail_writes_of(
        &h,
        url.as_deref(),
        &broken.creds.terminal_id.to_string(),
        false,
    )
    .await;
    let (s, ack) = h.upload(&broken, failing.clone()).await;
    assert_eq!(s, StatusCode::OK, "[{backend:?}] the retry");
    let ack = ack.unwrap();
    applied += ack.applied as usize;
    let (_, again) = h.upload(&broken, failing).await;
    let duplicated = again.unwrap().applied as usize;
    let lost = sent - applied;
    println!(
        "[{backend:?}] failed batch: sent {sent}, applied {applied}, lost {lost}, duplicated {duplicated}"
    );
    assert_eq!((lost, duplicated), (0, 0), "[{backend:?}]");
    assert_eq!(ack.applied, 5, "[{backend:?}]");
}

async fn erasure_first(backend: Backend) {
    let h = harness(backend).await;
    let (mut enrolling, mut erasing) = h.two_stores().await;
    let member = new_member();
    let (enrolled, _) = enrolling.enroll(member, "13800138051");
    let erased = erasing.event(&EventBody::MemberErased { member });
    let (_, ack) = h.upload(&erasing, vec![erased]).await;
    assert_eq!(ack.unwrap().applied, 1, "[{backend:?}] the erasure is kept");
    let (_, ack) = h.upload(&enrolling, vec![enrolled]).await;
    assert_eq!(ack.unwrap().applied, 1, "[{backend:?}]");
    let (record, _) = h.hq.store().member(member).await.unwrap().unwrap();
    println!(
        "[{backend:?}] erasure before enrollment: erased {}, phone kept {}",
        record.erased,
        record.test_personal().phone.is_some()
    );
    assert!(record.erased, "[{backend:?}]");
    assert_eq!(
        (
            record.test_personal().phone,
            record.masked_phone,
            record.masked_name
        ),
        (None, None, None),
        "[{backend:?}] no personal data of an erased member is stored"
    );
}

/// Each of the documented kinds of poison the outside integrator's client
/// found accepted: dead-lettered with its code, the batch otherwise applied.
async fn documented_poison(backend: Backend) {
    let h = harness(backend).await;
    let mut till = h.provision("S001").await;
    let member = new_member();
    let (enrolled, _) = till.enroll(member, "13800138061");
    let zero = top_up_of(&mut till, member, 0);
    let mut string_money = top_up_of(&mut till, member, 100);
    string_money.body["principal"] = serde_json::json!("100");
    let mut far_future = top_up_of(&mut till, member, 100);
    far_future.envelope.wall_time += chrono::Duration::days(365 * 8000);
    let mut no_entries = top_up_of(&mut till, member, 100);
    no_entries.body["entries"] = serde_json::json!([]);
    let fine = top_up_of(&mut till, member, 100);
    let (s, ack) = h
        .upload(
            &till,
            vec![enrolled, zero, string_money, far_future, no_entries, fine],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "[{backend:?}]");
    let ack = ack.unwrap();
    assert_eq!((ack.applied, ack.dead_lettered), (2, 4), "[{backend:?}]");
    let dead = dead_letter_codes(&h).await;
    println!("[{backend:?}] documented poison (seq, code): {dead:?}");
    assert_eq!(
        dead,
        vec![
            (2, "invalid".to_string()),
            (3, "undecodable".to_string()),
            (4, "out_of_bounds".to_string()),
            (5, "invalid".to_string()),
        ],
        "[{backend:?}]"
    );
}

/// PostgreSQL connections killed under head office (a failover, an
/// administrator's pg_terminate_backend): the pool drops each one it finds
/// closed and opens another, so head office answers again without a
/// restart, and nothing committed is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_postgres_connections_are_replaced() {
    let (h, url) = util::harness_postgres().await;
    let mut till = h.provision("S001").await;
    let member = new_member();
    let (enrolled, _) = till.enroll(member, "13800138071");
    let (_, ack) = h.upload(&till, vec![enrolled]).await;
    assert_eq!(ack.unwrap().applied, 1);

    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let killed: i64 = client
        .query_one(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()) AS t",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(killed > 0, "head office's connections were killed");

    // A request may meet a dead connection, which fails it and leaves the
    // pool; the terminal retries the same event until it is taken, as its
    // uplink does. Whether the pool notices a killed backend before it
    // hands the connection out again is a race with the connection's own
    // task (deadpool's fast recycling asks `is_closed`), so a retry may
    // meet a second dead connection; what holds is that each dead
    // connection fails at most one request and is then gone.
    let mut failures = 0;
    let mut applied = 0;
    let mut sent = 0;
    for _ in 0..20 {
        let event = top_up_of(&mut till, member, 100);
        sent += 1;
        let mut tries = 0;
        loop {
            tries += 1;
            let (s, ack) = h.upload(&till, vec![event.clone()]).await;
            match ack {
                Some(ack) => {
                    applied += ack.applied;
                    break;
                }
                None => {
                    failures += 1;
                    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
                    assert!(
                        tries <= killed,
                        "no more failed tries for one event than dead connections"
                    );
                }
            }
        }
    }
    let (s, _, _) = h.get("/health", &[]).await;
    let counts = h.hq.store().counts().await.unwrap();
    println!(
        "killed {killed} connections: sent {sent}, applied {applied}, failed requests {failures}, \
         events stored {}",
        counts.events
    );
    assert_eq!(s, StatusCode::OK, "healthy again");
    assert_eq!(applied, sent, "every event applied once after retries");
    assert_eq!(
        counts.events,
        1 + u64::from(sent),
        "nothing lost or doubled"
    );
    assert!(
        failures <= killed as u32,
        "at most one failed request per killed connection"
    );
}
