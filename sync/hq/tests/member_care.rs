//! Member care through the admin API, on SQLite and on PostgreSQL: a
//! member frozen and unfrozen, each change audited with its reason and sent
//! down in the member's snapshot; an unknown member, an erased one and a
//! blank reason refused with nothing written.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use axum::http::StatusCode;
use tillcard_protocol::wire::Change;
use util::{Backend, harness, new_member};

both!(
    a_member_is_frozen_and_unfrozen_audited_and_sent_down,
    freeze_and_unfreeze
);
both!(
    an_unknown_or_erased_member_or_a_blank_reason_is_refused,
    refusals
);

/// The `frozen` of the newest snapshot of `member` on the downlink.
fn newest_frozen(down: &[Change], member: tillcard_rules::MemberId) -> Option<bool> {
    down.iter().rev().find_map(|c| match c {
        Change::Member { snapshot } if snapshot.member == member => Some(snapshot.frozen),
        _ => None,
    })
}

async fn freeze_and_unfreeze(backend: Backend) {
    let h = harness(backend).await;
    let mut till = h.provision("S001").await;
    let member = new_member();
    let (enrolled, _) = till.enroll(member, "13500135000");
    h.upload(&till, vec![enrolled]).await;

    let path = |what: &str| format!("/v1/admin/members/{member}/{what}");
    let (status, _) = h
        .admin_post(
            &path("freeze"),
            serde_json::json!({"reason": "disputed top-up"}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let down = h.all_changes(&till).await;
    let frozen = newest_frozen(&down, member);
    let (record, _) = h.hq.store().member(member).await.unwrap().unwrap();
    let (status, _) = h
        .admin_post(&path("unfreeze"), serde_json::json!({"reason": "resolved"}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let down = h.all_changes(&till).await;
    let unfrozen = newest_frozen(&down, member);
    let trail =
        h.hq.audit_trail(Some(&format!("member:{member}")), None)
            .await
            .unwrap();
    println!(
        "member care ({backend:?}): snapshot sent down frozen {frozen:?}, then {unfrozen:?}; audit {:?}",
        trail
            .iter()
            .map(|a| (a.action.as_str(), a.detail.as_str()))
            .collect::<Vec<_>>()
    );
    assert!(record.frozen, "held frozen at head office");
    assert_eq!(frozen, Some(true), "the snapshot went down frozen");
    assert_eq!(unfrozen, Some(false), "and unfrozen");
    let trail: Vec<(&str, &str, &str)> = trail
        .iter()
        .map(|a| (a.action.as_str(), a.actor.as_str(), a.detail.as_str()))
        .collect();
    assert_eq!(
        trail,
        [
            ("member_unfrozen", "admin-token", "resolved"),
            ("member_frozen", "admin-token", "disputed top-up")
        ]
    );
}

async fn refusals(backend: Backend) {
    let h = harness(backend).await;
    let mut till = h.provision("S001").await;
    let member = new_member();
    let (enrolled, _) = till.enroll(member, "13500135000");
    h.upload(&till, vec![enrolled]).await;
    let freeze = |member: tillcard_rules::MemberId, reason: &str| {
        let path = format!("/v1/admin/members/{member}/freeze");
        let body = serde_json::json!({ "reason": reason });
        let h = &h;
        async move { h.admin_post(&path, body).await }
    };

    let (unknown, body) = freeze(new_member(), "fraud").await;
    assert_eq!(unknown, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "unknown_member");
    let (blank, body) = freeze(member, "   ").await;
    assert_eq!(blank, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_reason");
    let (status, _) = h
        .admin_post(
            &format!("/v1/admin/members/{member}/erase"),
            serde_json::json!({}),
        )
        .await;
    assert!(status.is_success(), "{status}");
    let (erased, body) = freeze(member, "fraud").await;
    assert_eq!(erased, StatusCode::NOT_FOUND, "{body}");

    let trail =
        h.hq.audit_trail(Some(&format!("member:{member}")), None)
            .await
            .unwrap();
    println!(
        "member care refusals ({backend:?}): unknown {unknown}, blank reason {blank}, erased {erased}; audit rows {}",
        trail.len()
    );
    assert!(trail.is_empty(), "nothing audited: {trail:?}");
    let (record, _) = h.hq.store().member(member).await.unwrap().unwrap();
    assert!(!record.frozen);
}

both!(
    a_members_tags_are_set_trimmed_bounded_audited_and_sent_down,
    tags
);

async fn tags(backend: Backend) {
    let h = harness(backend).await;
    let mut till = h.provision("S001").await;
    let member = new_member();
    let (enrolled, _) = till.enroll(member, "13500135000");
    h.upload(&till, vec![enrolled]).await;
    let path = format!("/v1/admin/members/{member}/tags");

    let (status, body) = h
        .admin_post(
            &path,
            serde_json::json!({"tags": [" VIP ", "员工", "VIP", ""]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["tags"],
        serde_json::json!(["VIP", "员工"]),
        "trimmed, once each"
    );
    let down = h.all_changes(&till).await;
    let sent = down.iter().rev().find_map(|c| match c {
        Change::Member { snapshot } if snapshot.member == member => Some(snapshot.tags.clone()),
        _ => None,
    });
    let (too_many, _) = h
        .admin_post(
            &path,
            serde_json::json!({"tags": (0..11).map(|i| format!("t{i}")).collect::<Vec<_>>()}),
        )
        .await;
    let (too_long, body) = h
        .admin_post(&path, serde_json::json!({"tags": ["x".repeat(21)]}))
        .await;
    assert_eq!(body["error"], "invalid_tags");
    let (record, _) = h.hq.store().member(member).await.unwrap().unwrap();
    let trail =
        h.hq.audit_trail(Some(&format!("member:{member}")), None)
            .await
            .unwrap();
    println!(
        "member tags ({backend:?}): sent down {sent:?}; eleven tags {too_many}, a 21-character tag {too_long}; held {:?}; audit {:?}",
        record.tags,
        trail
            .iter()
            .map(|a| (a.action.as_str(), a.detail.as_str()))
            .collect::<Vec<_>>()
    );
    assert_eq!(sent, Some(vec!["VIP".to_string(), "员工".to_string()]));
    assert_eq!(too_many, StatusCode::BAD_REQUEST);
    assert_eq!(too_long, StatusCode::BAD_REQUEST);
    assert_eq!(
        record.tags,
        ["VIP", "员工"],
        "the refused changes wrote nothing"
    );
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].action, "member_tags_set");
    assert_eq!(trail[0].detail, "VIP, 员工");
}
