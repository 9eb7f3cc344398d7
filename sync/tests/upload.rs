//! Exactly-once upload: concurrent and replayed batches, cloned terminals,
//! poison events, and a head office restored from an older backup. Every
//! scenario runs on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use axum::http::StatusCode;
use tillcard_sync::auth;
use tillcard_sync::protocol::{OutboxEvent, TerminalId};
use util::{Backend, harness, new_member};

both!(
    concurrent_and_replayed_batches_apply_once,
    concurrent_and_replayed
);
both!(cloned_terminal_is_refused_and_flagged, cloned_terminal);
both!(
    poison_event_is_dead_lettered_and_does_not_block,
    poison_event
);
both!(
    restored_head_office_takes_the_missing_events_back,
    restored_from_backup
);
both!(
    unknown_and_revoked_terminals_are_refused,
    unknown_and_revoked
);

async fn concurrent_and_replayed(backend: Backend) {
    let h = harness(backend).await;
    let mut till = h.provision("S001").await;
    let batch = till.simple_batch(new_member(), "13800138000", 20);
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let router = h.router.clone();
        let req = till
            .creds
            .upload_request(batch.clone(), chrono::Utc::now().timestamp())
            .unwrap();
        let _ = router;
        let h2 = util::Harness::shell(&h);
        tasks.push(tokio::spawn(async move { h2.send(req).await }));
    }
    let mut acks = Vec::new();
    let mut statuses = Vec::new();
    for t in tasks {
        let (s, body) = t.await.unwrap();
        statuses.push(s);
        if s == StatusCode::OK {
            acks.push(tillcard_sync::client::decode_ack(&body).unwrap());
        }
    }
    for _ in 0..5 {
        let (s, ack) = h.upload(&till, batch.clone()).await;
        statuses.push(s);
        acks.push(ack.unwrap());
    }
    let counts = h.hq.store().counts().await.unwrap();
    let applied: u32 = acks.iter().map(|a| a.applied).sum();
    let dups: u32 = acks.iter().map(|a| a.duplicates).sum();
    println!(
        "[{backend:?}] 5 concurrent + 5 replays of 20 events: statuses {statuses:?}, applied total {applied}, duplicates total {dups}, events stored {}, ledger entries {}",
        counts.events, counts.ledger
    );
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "no 5xx, no refusals"
    );
    assert!(
        acks.iter().all(|a| a.acked_seq == 20),
        "same ack every time"
    );
    assert_eq!(applied, 20, "each event applied exactly once");
    assert_eq!(dups, 20 * 9);
    assert_eq!(counts.events, 20);
    // enrollment has the welcome coupon (1 entry), 19 top-ups one entry each.
    assert_eq!(counts.ledger, 20);
}

async fn cloned_terminal(backend: Backend) {
    let h = harness(backend).await;
    let mut till = h.provision("S001").await;
    let batch = till.simple_batch(new_member(), "13800138001", 5);
    let (s, ack) = h.upload(&till, batch.clone()).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ack.unwrap().acked_seq, 5);

    // Clone 1: same terminal id, another key.
    let mut clone = util::Till {
        creds: till.creds.clone(),
        next_seq: 6,
        clock: till.clock,
        program: till.program.clone(),
    };
    clone.creds.signing_key = auth::generate_signing_key();
    let more = clone.simple_batch(new_member(), "13800138002", 2);
    let (s1, _) = h.upload(&clone, more).await;

    // Clone 2: the right key (copied disk) but seq 3 re-used with other content.
    let mut copy = util::Till {
        creds: till.creds.clone(),
        next_seq: 3,
        clock: till.clock,
        program: till.program.clone(),
    };
    let forged: Vec<OutboxEvent> = copy.simple_batch(new_member(), "13800138003", 1);
    let (s2, _) = h.upload(&copy, forged).await;

    let flags = h.hq.store().terminal_flags().await.unwrap();
    let counts = h.hq.store().counts().await.unwrap();
    println!(
        "[{backend:?}] clone with other key: {s1}; clone re-using seq 3: {s2}; flags {}: {:?}; events stored {}",
        flags.len(),
        flags,
        counts.events
    );
    assert_eq!(s1, StatusCode::UNAUTHORIZED);
    assert_eq!(s2, StatusCode::CONFLICT);
    assert_eq!(flags.len(), 2);
    assert!(flags.iter().all(|(t, _)| *t == till.creds.terminal_id));
    assert_eq!(counts.events, 5, "nothing from the clones stored");
    // The genuine terminal carries on.
    let next = till.simple_batch(new_member(), "13800138004", 1);
    assert_eq!(till.next_seq, 7);
    let _ = next;
}

async fn poison_event(backend: Backend) {
    let h = harness(backend).await;
    let mut till = h.provision("S001").await;
    let mut batch = till.simple_batch(new_member(), "13800138010", 10);
    // Event 4: a body that does not decode. Event 7: decodes but breaks the
    // rules (an entry for another member than the event's).
    batch[3].body = serde_json::json!({"type": "sale_booked", "quote": "garbage"});
    let mut bad: tillcard_sync::protocol::EventBody = batch[6].decode_body().unwrap();
    if let tillcard_sync::protocol::EventBody::TopUp { entries, .. } = &mut bad {
        entries[0].member = new_member();
    }
    batch[6].body = serde_json::to_value(&bad).unwrap();
    let (s, ack) = h.upload(&till, batch).await;
    let ack = ack.unwrap();
    let dead = h.hq.store().dead_letters().await.unwrap();
    let counts = h.hq.store().counts().await.unwrap();
    println!(
        "[{backend:?}] poison: status {s}, ack {}, applied {}, dead-lettered {}: {:?}; ledger {}",
        ack.acked_seq, ack.applied, ack.dead_lettered, dead, counts.ledger
    );
    assert_eq!(ack.acked_seq, 10, "the ack covers the poison events");
    assert_eq!(ack.applied, 8);
    assert_eq!(ack.dead_lettered, 2);
    assert_eq!(dead.iter().map(|d| d.seq).collect::<Vec<_>>(), vec![4, 7]);
    assert!(
        dead[0].reason.contains("could not decode"),
        "{}",
        dead[0].reason
    );
    assert!(
        dead[1].reason.contains("another member"),
        "{}",
        dead[1].reason
    );
    assert_eq!(counts.ledger, 8);
}

async fn restored_from_backup(backend: Backend) {
    let h = harness(backend).await;
    let mut till = h.provision("S001").await;
    let all = till.simple_batch(new_member(), "13800138020", 30);
    let (_, ack) = h.upload(&till, all[..20].to_vec()).await;
    assert_eq!(ack.unwrap().acked_seq, 20);
    let (_, ack) = h.upload(&till, all[20..].to_vec()).await;
    assert_eq!(ack.unwrap().acked_seq, 30);
    let before = h.hq.store().counts().await.unwrap();
    // Head office restored from a backup taken after event 12.
    h.hq.store()
        .simulate_restore(till.creds.terminal_id, 12)
        .await
        .unwrap();
    // The terminal keeps acked events for a margin and sends what it has
    // above its last ack: head office answers with its real, lower ack.
    let (_, ack) = h.upload(&till, all[25..].to_vec()).await;
    let low = ack.unwrap();
    assert_eq!(
        low.acked_seq, 12,
        "head office tells the truth about what it holds"
    );
    // The terminal resends from ack + 1.
    let (_, ack) = h.upload(&till, all[12..].to_vec()).await;
    let ack = ack.unwrap();
    let after = h.hq.store().counts().await.unwrap();
    println!(
        "[{backend:?}] restore: events before {}, ack after restore {}, resend applied {} duplicates {}, ack {}, events after {}, ledger before {} after {}",
        before.events,
        low.acked_seq,
        ack.applied,
        ack.duplicates,
        ack.acked_seq,
        after.events,
        before.ledger,
        after.ledger
    );
    assert_eq!(ack.acked_seq, 30);
    assert_eq!(after.events, 30);
    assert_eq!(after.ledger, before.ledger, "nothing lost, nothing doubled");
    assert_eq!(ack.applied + ack.duplicates, 18);
}

async fn unknown_and_revoked(backend: Backend) {
    let h = harness(backend).await;
    let mut till = h.provision("S001").await;
    let batch = till.simple_batch(new_member(), "13800138030", 2);
    let mut stranger = util::Till {
        creds: till.creds.clone(),
        next_seq: 1,
        clock: till.clock,
        program: till.program.clone(),
    };
    stranger.creds.terminal_id = TerminalId(uuid::Uuid::now_v7());
    stranger.creds.signing_key = auth::generate_signing_key();
    let (s_unknown, _) = h.upload(&stranger, batch.clone()).await;
    let (s, _) = h
        .admin_post(
            &format!("/v1/admin/terminals/{}/revoke", till.creds.terminal_id),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s_revoked, _) = h.upload(&till, batch).await;
    // A used code cannot provision a second terminal.
    println!("[{backend:?}] unknown terminal: {s_unknown}; revoked terminal: {s_revoked}");
    assert_eq!(s_unknown, StatusCode::UNAUTHORIZED);
    assert_eq!(s_revoked, StatusCode::FORBIDDEN);
    assert_eq!(h.hq.store().counts().await.unwrap().events, 0);
}

both!(events_above_a_gap_are_stored_but_not_acked, gap);

async fn gap(backend: Backend) {
    let h = harness(backend).await;
    let mut till = h.provision("S001").await;
    let all = till.simple_batch(new_member(), "13800138040", 10);
    let (_, a1) = h.upload(&till, all[..3].to_vec()).await;
    // Events 6..=10 arrive before 4..=5 (say a retry of a later batch won the race).
    let (_, a2) = h.upload(&till, all[5..].to_vec()).await;
    let (_, a3) = h.upload(&till, all[3..5].to_vec()).await;
    let (a1, a2, a3) = (a1.unwrap(), a2.unwrap(), a3.unwrap());
    let counts = h.hq.store().counts().await.unwrap();
    println!(
        "[{backend:?}] gap: acks {} then {} (6..=10 stored above the gap) then {}; events {}",
        a1.acked_seq, a2.acked_seq, a3.acked_seq, counts.events
    );
    assert_eq!((a1.acked_seq, a2.acked_seq, a3.acked_seq), (3, 3, 10));
    assert_eq!(a2.applied, 5);
    assert_eq!(counts.events, 10);
}
