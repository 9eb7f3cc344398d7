//! Conflicts as a work queue through the admin API, on SQLite and on
//! PostgreSQL: two conflicts recorded (one phone enrolled at two stores,
//! twice), one assigned then resolved by freezing the member, one
//! dismissed; each step audited; a closed conflict refuses another step,
//! an unknown one and an unknown assignee are refused, nothing written.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use axum::http::StatusCode;
use tillcard_hq::service::back_office::Actor;
use tillcard_hq::store::ConflictCase;
use util::{ADMIN, Backend, harness, new_member};

both!(
    conflicts_are_assigned_resolved_and_dismissed_once_each_audited,
    work_the_queue
);

async fn queue(h: &util::Harness) -> Vec<ConflictCase> {
    let (status, _, body) = h
        .get(
            "/v1/admin/conflict-queue",
            &[("authorization", &format!("Bearer {ADMIN}"))],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|c| ConflictCase {
            member_id: serde_json::from_value(c["member_id"].clone()).unwrap(),
            conflict_no: c["conflict_no"].as_i64().unwrap(),
            kind: c["kind"].as_str().unwrap().into(),
            reason: c["reason"].as_str().unwrap().into(),
            terminal_id: serde_json::from_value(c["terminal_id"].clone()).unwrap(),
            seq: c["seq"].as_u64(),
            at: c["at"].as_str().unwrap().into(),
            state: c["state"].as_str().unwrap().into(),
            assignee: c["assignee"].as_str().map(Into::into),
            resolution: c["resolution"].as_str().map(Into::into),
            note: c["note"].as_str().map(Into::into),
            closed_by: c["closed_by"].as_str().map(Into::into),
            closed_at: c["closed_at"].as_str().map(Into::into),
        })
        .collect()
}

async fn work_the_queue(backend: Backend) {
    let h = harness(backend).await;
    h.hq.save_user(&Actor::cli(), "olga", "a long passphrase", None)
        .await
        .unwrap();
    let (mut a, mut b) = h.two_stores_apart(chrono::Duration::days(1)).await;
    let (m1, m2, m3) = (new_member(), new_member(), new_member());
    let (e1, _) = a.enroll(m1, "13700137000");
    let (e2, _) = b.enroll(m2, "137-0013-7000");
    let (e3, _) = b.enroll(m3, "13700137000");
    h.upload(&a, vec![e1]).await;
    h.upload(&b, vec![e2, e3]).await;
    let open = queue(&h).await;
    assert_eq!(open.len(), 2, "{open:?}");
    assert!(
        open.iter()
            .all(|c| c.state == "open" && c.kind == "duplicate_phone")
    );
    let path = |c: &ConflictCase, step: &str| {
        format!(
            "/v1/admin/conflicts/{}/{}/{step}",
            c.member_id, c.conflict_no
        )
    };
    let (first, second) = (open[0].clone(), open[1].clone());

    // Refused, nothing written: an unknown assignee, an unknown conflict,
    // a blank note.
    let (unknown_user, _) = h
        .admin_post(
            &path(&first, "assign"),
            serde_json::json!({"assignee": "nobody"}),
        )
        .await;
    let missing = ConflictCase {
        conflict_no: 999_999,
        ..first.clone()
    };
    let (unknown, body) = h
        .admin_post(
            &path(&missing, "dismiss"),
            serde_json::json!({"reason": "x"}),
        )
        .await;
    assert_eq!(body["error"], "unknown_conflict");
    let (blank, _) = h
        .admin_post(
            &path(&first, "resolve"),
            serde_json::json!({"action": "accept", "note": " "}),
        )
        .await;

    // Assign, then resolve by freezing; dismiss the other.
    let (assigned, _) = h
        .admin_post(
            &path(&first, "assign"),
            serde_json::json!({"assignee": "olga"}),
        )
        .await;
    let (resolved, _) = h
        .admin_post(
            &path(&first, "resolve"),
            serde_json::json!({"action": "freeze", "note": "same person, two cards"}),
        )
        .await;
    let (dismissed, _) = h
        .admin_post(
            &path(&second, "dismiss"),
            serde_json::json!({"reason": "family members share the phone"}),
        )
        .await;
    let (again, body) = h
        .admin_post(
            &path(&second, "dismiss"),
            serde_json::json!({"reason": "again"}),
        )
        .await;
    assert_eq!(body["error"], "conflict_closed");
    let (again_freeze, _) = h
        .admin_post(
            &path(&first, "resolve"),
            serde_json::json!({"action": "freeze", "note": "twice"}),
        )
        .await;

    let after = queue(&h).await;
    let state = |c: &ConflictCase| {
        after
            .iter()
            .find(|x| x.conflict_no == c.conflict_no)
            .cloned()
            .unwrap()
    };
    let (first_after, second_after) = (state(&first), state(&second));
    let (frozen_member, _) = h.hq.store().member(first.member_id).await.unwrap().unwrap();
    let trail =
        h.hq.audit_trail(
            Some(&format!(
                "conflict:{}/{}",
                first.member_id, first.conflict_no
            )),
            None,
        )
        .await
        .unwrap();
    let freezes =
        h.hq.audit_trail(Some(&format!("member:{}", first.member_id)), None)
            .await
            .unwrap();
    println!(
        "conflict queue ({backend:?}): refused {unknown_user} {unknown} {blank}; assigned {assigned}, resolved {resolved}, dismissed {dismissed}, again {again} {again_freeze}; \
         first {:?}/{:?}/{:?}, second {:?}; audit {:?}; member audit {}",
        first_after.state,
        first_after.assignee,
        first_after.resolution,
        second_after.state,
        trail.iter().map(|a| a.action.as_str()).collect::<Vec<_>>(),
        freezes.len()
    );
    assert_eq!(unknown_user, StatusCode::NOT_FOUND);
    assert_eq!(unknown, StatusCode::NOT_FOUND);
    assert_eq!(blank, StatusCode::BAD_REQUEST);
    assert_eq!(
        (assigned, resolved, dismissed),
        (
            StatusCode::NO_CONTENT,
            StatusCode::NO_CONTENT,
            StatusCode::NO_CONTENT
        )
    );
    assert_eq!(again, StatusCode::CONFLICT);
    assert_eq!(again_freeze, StatusCode::CONFLICT);
    assert_eq!(first_after.state, "resolved");
    assert_eq!(first_after.assignee.as_deref(), Some("olga"));
    assert_eq!(first_after.resolution.as_deref(), Some("freeze"));
    assert_eq!(first_after.note.as_deref(), Some("same person, two cards"));
    assert_eq!(first_after.closed_by.as_deref(), Some("admin-token"));
    assert_eq!(second_after.state, "dismissed");
    assert_eq!(
        second_after.note.as_deref(),
        Some("family members share the phone")
    );
    assert!(
        frozen_member.frozen,
        "resolving with freeze froze the member"
    );
    assert_eq!(
        trail.iter().map(|a| a.action.as_str()).collect::<Vec<_>>(),
        ["conflict_resolved", "conflict_assigned"]
    );
    assert_eq!(
        freezes.len(),
        1,
        "frozen once, not again by the refused step"
    );
}
