//! A rolled-back terminal at head office (issue 22; PROTOCOL.md, "A
//! terminal rolled back"): a sequence conflict in the terminal's epoch is
//! answered with `held_seq` and not flagged; the renumbered events open a
//! new epoch above it (recorded as `outbox_renumbered`); an event renumbered
//! twice is never applied twice; an epoch opened below what head office
//! holds is refused; and a copy that keeps numbering in the epoch left
//! behind is a clone: `terminal_cloned`, flagged once. Every scenario runs
//! on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use axum::http::StatusCode;
use tillcard_protocol::wire::{self, ErrorBody, OutboxEpoch, OutboxEvent, UploadAck, UploadBatch};
use util::{Backend, Harness, Till, harness, new_member};

both!(
    a_rolled_back_terminal_renumbers_and_a_clone_is_flagged,
    rolled_back_and_clone
);

/// The answer to `events` sent in `epoch`: the ack, or the error body.
async fn upload_in(
    h: &Harness,
    till: &Till,
    events: Vec<OutboxEvent>,
    epoch: Option<OutboxEpoch>,
) -> (StatusCode, Result<UploadAck, ErrorBody>) {
    let request = till
        .creds
        .upload_request_in_epoch(
            UploadBatch {
                protocol_version: wire::PROTOCOL_VERSION,
                terminal_id: till.creds.terminal_id,
                events,
                outbox_head_seq: None,
                app_version: None,
                audit: None,
                epoch,
            },
            chrono::Utc::now().timestamp(),
        )
        .unwrap();
    let (status, body) = h.send(request).await;
    if status == StatusCode::OK {
        (
            status,
            Ok(tillcard_protocol::client::decode_ack(&body).unwrap()),
        )
    } else {
        (status, Err(serde_json::from_slice(&body).unwrap()))
    }
}

/// `events` renumbered from `first`, in order (ids and bodies kept).
fn renumbered(events: &[OutboxEvent], first: u64) -> Vec<OutboxEvent> {
    events
        .iter()
        .zip(first..)
        .map(|(e, seq)| {
            let mut e = e.clone();
            e.envelope.seq = seq;
            e
        })
        .collect()
}

fn epoch(n: u64, first_seq: u64) -> Option<OutboxEpoch> {
    Some(OutboxEpoch { n, first_seq })
}

async fn rolled_back_and_clone(backend: Backend) {
    let h = harness(backend).await;
    let mut till = h.provision("S001").await;
    let first = epoch(0, 1);
    let a = till.simple_batch(new_member(), "13800138101", 5);
    let (s, ack) = upload_in(&h, &till, a.clone(), first).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ack.unwrap().held_seq, Some(5));
    // The backup is taken here; the terminal goes on and syncs 6..=8.
    let mut restored = till.clone();
    let b = till.simple_batch(new_member(), "13800138102", 3);
    let (s, _) = upload_in(&h, &till, b, first).await;
    assert_eq!(s, StatusCode::OK);
    let ledger_before = h.hq.store().counts().await.unwrap().ledger;

    // Restored: its new events take 6 and 7, which head office holds.
    let c = restored.simple_batch(new_member(), "13800138103", 2);
    let (conflict_status, conflict) = upload_in(&h, &restored, c.clone(), first).await;
    let conflict = conflict.unwrap_err();
    let flags_after_conflict = h.hq.store().terminal_flags().await.unwrap().len();

    // An epoch opened at or below what head office holds is refused.
    let (low_status, low) = upload_in(&h, &restored, renumbered(&c, 8), epoch(1, 8)).await;

    // Renumbered above held_seq in epoch 1: applied once.
    let c1 = renumbered(&c, 9);
    let (s1, ack1) = upload_in(&h, &restored, c1.clone(), epoch(1, 9)).await;
    let ack1 = ack1.unwrap();
    let ledger_applied = h.hq.store().counts().await.unwrap().ledger;
    let (s1_again, again) = upload_in(&h, &restored, c1, epoch(1, 9)).await;
    let again = again.unwrap();
    // Its renumbering lost (a second rollback after head office took
    // it): the same events renumbered again in epoch 2 are duplicates by
    // id, never applied twice.
    let (s2, ack2) = upload_in(&h, &restored, renumbered(&c, 11), epoch(2, 11)).await;
    let ack2 = ack2.unwrap();
    let counts = h.hq.store().counts().await.unwrap();

    // The other copy (epoch 0) re-sends what head office holds: answered;
    // then a new event of its own: a clone.
    let (resend_status, _) = upload_in(&h, &till, a, first).await;
    let clone_event = till.simple_batch(new_member(), "13800138104", 1);
    let (clone_status, clone) = upload_in(&h, &till, clone_event.clone(), first).await;
    let (clone_again_status, _) = upload_in(&h, &till, clone_event, first).await;
    let flags = h.hq.store().terminal_flags().await.unwrap();
    let renumbered_flags = flags
        .iter()
        .filter(|(_, r)| r.starts_with("outbox_renumbered"))
        .count();
    let clone_flags = flags
        .iter()
        .filter(|(_, r)| r.starts_with("terminal_cloned"))
        .count();
    let final_counts = h.hq.store().counts().await.unwrap();
    println!(
        "[{backend:?}] conflict {conflict_status} {} held_seq {:?} (flags then {flags_after_conflict}); \
         epoch opened at 8: {low_status} {:?}; epoch 1 from 9: {s1} applied {} acked {} held {:?}; \
         resent: {s1_again} duplicates {}; renumbered again in epoch 2: {s2} applied {} duplicates {} acked {}; \
         ledger entries {ledger_before} before, {ledger_applied} once applied, {} after the second renumbering (events {}); \
         the epoch-0 copy: resend {resend_status}, new event {clone_status} {}, again {clone_again_status}; \
         flags: {renumbered_flags} outbox_renumbered, {clone_flags} terminal_cloned, {} in all; events stored at the end {}",
        conflict.error,
        conflict.held_seq,
        low.as_ref().err().map(|e| (&e.error, e.held_seq)),
        ack1.applied,
        ack1.acked_seq,
        ack1.held_seq,
        again.duplicates,
        ack2.applied,
        ack2.duplicates,
        ack2.acked_seq,
        counts.ledger,
        counts.events,
        clone.as_ref().err().map_or("", |e| e.error.as_str()),
        flags.len(),
        final_counts.events,
    );
    assert_eq!(conflict_status, StatusCode::CONFLICT);
    assert_eq!(conflict.error, "sequence_conflict");
    assert_eq!(conflict.held_seq, Some(8));
    assert_eq!(
        flags_after_conflict, 0,
        "a renumbering terminal is not flagged"
    );
    assert_eq!(low_status, StatusCode::CONFLICT);
    assert_eq!(low.unwrap_err().held_seq, Some(8));
    assert_eq!(s1, StatusCode::OK);
    assert_eq!(
        (ack1.applied, ack1.acked_seq, ack1.held_seq),
        (2, 10, Some(10))
    );
    assert_eq!(s1_again, StatusCode::OK);
    assert_eq!(again.duplicates, 2);
    assert_eq!(s2, StatusCode::OK);
    assert_eq!((ack2.applied, ack2.duplicates, ack2.acked_seq), (0, 2, 12));
    assert!(
        ledger_applied > ledger_before,
        "the renumbered events applied"
    );
    assert_eq!(counts.ledger, ledger_applied, "and never applied twice");
    assert_eq!(counts.events, 12, "seqs 1 to 12 held, each once");
    assert_eq!(
        resend_status,
        StatusCode::OK,
        "re-sending what is held passes"
    );
    assert_eq!(clone_status, StatusCode::CONFLICT);
    assert_eq!(clone.unwrap_err().error, "terminal_cloned");
    assert_eq!(clone_again_status, StatusCode::CONFLICT);
    assert_eq!(renumbered_flags, 2, "epochs 1 and 2");
    assert_eq!(clone_flags, 1, "flagged once, however often it retries");
    assert_eq!(final_counts.events, 12, "nothing of the clone's stored");
    assert_eq!(final_counts.ledger, counts.ledger);
}
