//! A member's card re-issued through the admin API, on SQLite and on
//! PostgreSQL: the serial raised, the card before revoked on the downlink,
//! the member sent down with the new serial, audited with the reason; an
//! unknown or erased member and a blank reason refused with nothing
//! written.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use axum::http::StatusCode;
use tillcard_protocol::wire::Change;
use util::{Backend, harness, new_member};

both!(
    a_card_reissued_raises_the_serial_revokes_the_old_card_and_is_audited,
    reissue
);
both!(
    a_reissue_for_an_unknown_or_erased_member_or_without_reason_writes_nothing,
    refusals
);

async fn reissue(backend: Backend) {
    let h = harness(backend).await;
    let mut till = h.provision("S001").await;
    let member = new_member();
    let (enrolled, _) = till.enroll(member, "13500135001");
    h.upload(&till, vec![enrolled]).await;
    let path = format!("/v1/admin/members/{member}/reissue-card");

    let (first, body) = h
        .admin_post(&path, serde_json::json!({"reason": "phone stolen"}))
        .await;
    assert_eq!(first, StatusCode::OK, "{body}");
    assert_eq!(body["card_serial"], 2);
    assert_eq!(body["member"], member.to_string());
    let (_, body) = h
        .admin_post(&path, serde_json::json!({"reason": "lost again"}))
        .await;
    assert_eq!(body["card_serial"], 3);

    let down = h.all_changes(&till).await;
    let revoked: Vec<Option<String>> = down
        .iter()
        .filter_map(|c| match c {
            Change::Revocation {
                member: Some(m),
                card_serial,
                ..
            } if *m == member => Some(card_serial.clone()),
            _ => None,
        })
        .collect();
    let serial_sent = down.iter().rev().find_map(|c| match c {
        Change::Member { snapshot } if snapshot.member == member => Some(snapshot.card_serial),
        _ => None,
    });
    let (record, _) = h.hq.store().member(member).await.unwrap().unwrap();
    let trail =
        h.hq.audit_trail(Some(&format!("member:{member}")), None)
            .await
            .unwrap();
    println!(
        "re-issue ({backend:?}): serial now {}, revoked {revoked:?}, snapshot sent with {serial_sent:?}, {} audit rows",
        record.card_serial,
        trail.len()
    );
    assert_eq!(record.card_serial, 3);
    assert_eq!(revoked, [Some("1".into()), Some("2".into())]);
    assert_eq!(serial_sent, Some(Some(3)));
    let trail: Vec<(&str, &str)> = trail
        .iter()
        .map(|a| (a.action.as_str(), a.detail.as_str()))
        .collect();
    assert_eq!(
        trail,
        [
            ("card_reissued", "lost again"),
            ("card_reissued", "phone stolen")
        ]
    );
}

async fn refusals(backend: Backend) {
    let h = harness(backend).await;
    let mut till = h.provision("S001").await;
    let member = new_member();
    let (enrolled, _) = till.enroll(member, "13500135002");
    h.upload(&till, vec![enrolled]).await;
    let changes = h.all_changes(&till).await.len();
    let reissue = |member: tillcard_rules::MemberId, reason: &str| {
        let path = format!("/v1/admin/members/{member}/reissue-card");
        let body = serde_json::json!({ "reason": reason });
        let h = &h;
        async move { h.admin_post(&path, body).await }
    };

    let (unknown, body) = reissue(new_member(), "lost").await;
    assert_eq!(unknown, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "unknown_member");
    let (blank, body) = reissue(member, " ").await;
    assert_eq!(blank, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_reason");
    let unchanged = h.all_changes(&till).await.len();
    h.hq.erase(member).await.unwrap();
    let (erased, body) = reissue(member, "lost").await;
    assert_eq!(erased, StatusCode::NOT_FOUND, "{body}");

    let trail =
        h.hq.audit_trail(Some(&format!("member:{member}")), None)
            .await
            .unwrap();
    let (record, _) = h.hq.store().member(member).await.unwrap().unwrap();
    println!(
        "re-issue refusals ({backend:?}): unknown {unknown}, blank {blank}, erased {erased}; audit rows {}, serial {}",
        trail.len(),
        record.card_serial
    );
    assert!(trail.is_empty(), "nothing audited: {trail:?}");
    assert_eq!(record.card_serial, 1, "the serial did not move");
    assert_eq!(unchanged, changes, "nothing sent down");
}
