//! The poll cache (`service::poll_cache`, issue 23) on both backends, with
//! two head-office nodes on one database: a poll that finds nothing new is
//! answered from the node's reading of where the store's log ends; a
//! change made through the other node reaches a caught-up terminal once
//! the reading's bound has passed; a revoked terminal gets nothing but
//! "nothing new" from a node that remembers it, and not even that once the
//! terminal's bound has passed, or at once from the node that revoked it.
//! An operator's write through a node is seen by that node's next poll at
//! once, whatever its bound; a terminal's upload leaves the reading alone.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use tillcard_hq::service::Hq;
use tillcard_hq::service::back_office::Actor;
use tillcard_hq::service::poll_cache::PollBounds;
use tillcard_hq::store::Store;
use tillcard_protocol::client;
use tillcard_protocol::wire::{Change, ChangesPage};
use util::{ADMIN, Backend, Harness, Till, new_member};

both!(
    a_caught_up_poll_is_answered_from_the_cache_until_its_bound,
    caught_up
);
both!(
    a_revoked_terminal_gets_nothing_from_a_node_that_remembers_it,
    revoked
);
both!(
    an_operator_s_write_through_a_node_reaches_its_next_poll_at_once,
    written_here
);

/// Two nodes on one fresh database, as two `tillcard-hq` processes.
async fn two_nodes(backend: Backend) -> (Harness, Harness) {
    let (a, second): (Harness, Arc<dyn Store>) = match backend {
        Backend::Sqlite => {
            let (h, path) = util::harness_sqlite().await;
            let second = tillcard_hq::store::sqlite::SqliteStore::open(&path).unwrap();
            (h, Arc::new(second))
        }
        _ => {
            let (h, url) = util::harness_postgres().await;
            let second = tillcard_hq::store::postgres::PgStore::connect(&url)
                .await
                .unwrap();
            (h, Arc::new(second))
        }
    };
    let b = Harness::over(
        Arc::new(Hq::open(second, Some(ADMIN.into())).await.unwrap()),
        None,
    );
    (a, b)
}

const LONG: Duration = Duration::from_secs(3600);

/// One poll from `cursor`.
async fn poll(h: &Harness, till: &Till, cursor: Option<&str>) -> (StatusCode, Option<ChangesPage>) {
    let request = till
        .creds
        .changes_request(cursor, chrono::Utc::now().timestamp());
    let (status, body) = h.send(request).await;
    (
        status,
        (status == StatusCode::OK).then(|| client::decode_page(&body).unwrap()),
    )
}

/// Pulls until no page is left; the cursor reached and the changes.
async fn pull(h: &Harness, till: &Till, mut cursor: Option<String>) -> (String, Vec<Change>) {
    let mut changes = Vec::new();
    loop {
        let (status, page) = poll(h, till, cursor.as_deref()).await;
        assert_eq!(status, StatusCode::OK);
        let page = page.unwrap();
        changes.extend(page.changes);
        cursor = Some(page.cursor.clone());
        if !page.more {
            return (page.cursor, changes);
        }
    }
}

/// Catches `till` up through `h` until a poll at its cursor is answered
/// from the cache (PostgreSQL withholds changes while older transactions
/// of other tests run, so the log's end may take a moment to settle).
async fn caught_up_from_cache(h: &Harness, till: &Till) -> String {
    h.settle_downlink().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let (mut cursor, _) = pull(h, till, None).await;
    loop {
        let cached = h.hq.metrics().downlink_polls_cached.get();
        let (status, page) = poll(h, till, Some(&cursor)).await;
        assert_eq!(status, StatusCode::OK);
        let page = page.unwrap();
        if h.hq.metrics().downlink_polls_cached.get() > cached {
            assert!(page.changes.is_empty() && !page.more && !page.resync);
            assert_eq!(page.cursor, cursor, "nothing new: the same cursor");
            return cursor;
        }
        assert!(Instant::now() < deadline, "no poll answered from the cache");
        cursor = pull(h, till, Some(cursor)).await.0;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn has_member(changes: &[Change], member: tillcard_rules::ids::MemberId) -> bool {
    changes
        .iter()
        .any(|c| matches!(c, Change::Member { snapshot } if snapshot.member == member))
}

async fn caught_up(backend: Backend) {
    let (a, b) = two_nodes(backend).await;
    let mut till = a.provision("S1").await;
    // Node A remembers for an hour: its reading is in force.
    a.hq.set_poll_bounds(PollBounds {
        log_head: LONG,
        terminal: LONG,
    });
    let cursor = caught_up_from_cache(&a, &till).await;
    // A remembered terminal's empty answer does not say what head office
    // holds of it (another node may have taken its uploads since).
    let (_, page) = poll(&a, &till, Some(&cursor)).await;
    assert_eq!(page.unwrap().acked_seq, None);
    // A member enrolled through node B: node A's reading is younger than
    // its bound, so the caught-up till is told nothing new...
    let member = new_member();
    let events = till.simple_batch(member, "+8613800000001", 2);
    assert_eq!(b.upload(&till, events).await.0, StatusCode::OK);
    b.settle_downlink().await;
    let (status, page) = poll(&a, &till, Some(&cursor)).await;
    assert_eq!(status, StatusCode::OK);
    let page = page.unwrap();
    assert!(page.changes.is_empty());
    assert_eq!(page.cursor, cursor);
    // ...while node B, which reads the database, sends the member.
    let (_, through_b) = pull(&b, &till, Some(cursor.clone())).await;
    assert!(has_member(&through_b, member));
    // With a bound of 200 ms, node A reads the logs' ends again once it
    // has passed, and the change arrives through it too.
    a.hq.set_poll_bounds(PollBounds {
        log_head: Duration::from_millis(200),
        terminal: LONG,
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, changes) = pull(&a, &till, Some(cursor.clone())).await;
        if has_member(&changes, member) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the change made through node B never reached the till through node A"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A cursor that is not where the log ends is answered by the
    // database: from the start, the whole log again.
    let (_, from_start) = pull(&a, &till, None).await;
    assert!(has_member(&from_start, member));
}

async fn revoked(backend: Backend) {
    let (a, b) = two_nodes(backend).await;
    let mut till = a.provision("S1").await;
    let other = a.provision("S1").await;
    a.hq.set_poll_bounds(PollBounds {
        log_head: LONG,
        terminal: LONG,
    });
    let cursor = caught_up_from_cache(&a, &till).await;
    // Revoked through node B: node A still remembers the terminal and its
    // log's end, so a poll at the end is told nothing new, and nothing
    // else...
    b.hq.revoke_terminal(&Actor::cli(), till.creds.terminal_id)
        .await
        .unwrap();
    let (status, page) = poll(&a, &till, Some(&cursor)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.unwrap().changes.is_empty());
    // ...a page with changes reads the terminal again and is refused...
    assert_eq!(poll(&a, &till, None).await.0, StatusCode::FORBIDDEN);
    // ...and so are its uploads, at once.
    let events = till.simple_batch(new_member(), "+8613800000002", 1);
    assert_eq!(a.upload(&till, events).await.0, StatusCode::FORBIDDEN);
    // Once the terminal's bound has passed, even "nothing new" is refused.
    a.hq.set_poll_bounds(PollBounds {
        log_head: LONG,
        terminal: Duration::from_millis(200),
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        poll(&a, &till, Some(&cursor)).await.0,
        StatusCode::FORBIDDEN
    );
    // Revoked through node A itself: refused at once, whatever its bounds.
    a.hq.set_poll_bounds(PollBounds {
        log_head: LONG,
        terminal: LONG,
    });
    let other_cursor = caught_up_from_cache(&a, &other).await;
    a.hq.revoke_terminal(&Actor::cli(), other.creds.terminal_id)
        .await
        .unwrap();
    assert_eq!(
        poll(&a, &other, Some(&other_cursor)).await.0,
        StatusCode::FORBIDDEN
    );
}

async fn written_here(backend: Backend) {
    let (a, _b) = two_nodes(backend).await;
    let mut till = a.provision("S1").await;
    a.hq.set_poll_bounds(PollBounds {
        log_head: LONG,
        terminal: LONG,
    });
    let cursor = caught_up_from_cache(&a, &till).await;
    // A terminal's upload through the node leaves its reading alone: the
    // next poll at the end is still answered from the cache.
    let member = new_member();
    let events = till.simple_batch(member, "+8613800000003", 1);
    assert_eq!(a.upload(&till, events).await.0, StatusCode::OK);
    let cached = a.hq.metrics().downlink_polls_cached.get();
    let (_, page) = poll(&a, &till, Some(&cursor)).await;
    assert!(page.unwrap().changes.is_empty());
    assert_eq!(
        a.hq.metrics().downlink_polls_cached.get(),
        cached + 1,
        "an upload does not make the node read the logs' ends again"
    );
    // An operator revokes the member's cards through the same node: the
    // till's next poll finds the revocation, though the node's reading
    // would have been good for an hour.
    let (status, _) = a
        .admin_post(
            "/v1/admin/revocations",
            serde_json::json!({ "member": member }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    a.settle_downlink().await;
    let (_, changes) = pull(&a, &till, Some(cursor)).await;
    assert!(
        changes
            .iter()
            .any(|c| matches!(c, Change::Revocation { member: Some(m), .. } if *m == member)),
        "the revocation written through this node reaches its next poll"
    );
}
