//! Two accounts of one phone merged through the admin API, on SQLite and
//! on PostgreSQL: the ledger moves to the survivor (its balances the sum),
//! both sides are visible in member care, both go down to the terminals,
//! each side audited; an event an offline terminal uploads later about the
//! merged-away member is booked onto the survivor; refusals (different
//! phones, unknown, erased, the same member, merged before) write nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use axum::http::StatusCode;
use tillcard_hq::service::Actor;
use tillcard_protocol::wire::{Change, MemberSnapshot};
use tillcard_rules::{MemberAccount, MemberId, Money};
use util::{Backend, Harness, harness, new_member};

both!(
    two_accounts_of_one_phone_merge_into_the_survivor_with_the_summed_balances,
    merge
);
both!(
    a_merge_of_different_phones_unknown_erased_same_or_merged_members_writes_nothing,
    refusals
);

const PHONE: &str = "13600136000";

/// The member's account folded from head office's ledger.
async fn account_at_hq(h: &Harness, member: MemberId) -> MemberAccount {
    let (_, entries) = h.hq.store().member(member).await.unwrap().unwrap();
    MemberAccount::fold(MemberAccount::new(member), &entries)
}

/// The newest snapshot of `member` on the downlink.
fn newest(down: &[Change], member: MemberId) -> Option<MemberSnapshot> {
    down.iter().rev().find_map(|c| match c {
        Change::Member { snapshot } if snapshot.member == member => Some((**snapshot).clone()),
        _ => None,
    })
}

async fn merge_into(h: &Harness, merged: MemberId, into: MemberId) -> (StatusCode, String) {
    let (status, body) = h
        .admin_post(
            &format!("/v1/admin/members/{merged}/merge"),
            serde_json::json!({"into": into, "reason": "one customer, enrolled twice"}),
        )
        .await;
    (
        status,
        body["error"].as_str().unwrap_or_default().to_string(),
    )
}

async fn merge(backend: Backend) {
    let h = harness(backend).await;
    let (mut a, mut b) = h.two_stores().await;
    // One phone enrolled at two stores while both were offline.
    let kept = new_member();
    let (enrolled, kept_account) = a.enroll_account(kept, PHONE);
    let (top_up, _) = a.top_up(&kept_account, 100);
    h.upload(&a, vec![enrolled, top_up]).await;
    let gone = new_member();
    let (enrolled, gone_account) = b.enroll_account(gone, PHONE);
    let (top_up, entries) = b.top_up(&gone_account, 50);
    let gone_account = MemberAccount::fold(gone_account, &entries);
    let (points, entries) = b.add_points(&gone_account, 300);
    let gone_account = MemberAccount::fold(gone_account, &entries);
    h.upload(&b, vec![enrolled, top_up, points]).await;
    let (record, _) = h.hq.store().member(gone).await.unwrap().unwrap();
    assert_eq!(record.duplicate_of, Some(kept), "flagged at ingest");
    let now = chrono::Utc::now().fixed_offset();
    let before = (account_at_hq(&h, kept).await, account_at_hq(&h, gone).await);

    let (status, error) = merge_into(&h, gone, kept).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{error}");
    let after = account_at_hq(&h, kept).await;
    let (gone_record, gone_entries) = h.hq.store().member(gone).await.unwrap().unwrap();
    // Each store's tills are sent the members they hold (`store::scope`),
    // and a merge joins the two members' scopes: the survivor goes to the
    // merged-away member's store (which serves the survivor now), and the
    // merged-away member, marked merged, to the survivor's store, so an
    // old card of either store resolves to the survivor at both.
    let (down, down_b) = (h.all_changes(&a).await, h.all_changes(&b).await);
    let (kept_down, gone_down) = (newest(&down, kept).unwrap(), newest(&down_b, gone).unwrap());
    assert_eq!(
        newest(&down, gone).and_then(|g| g.merged_into),
        Some(kept),
        "the merged-away member reaches the survivor's store, marked merged"
    );
    assert_eq!(
        newest(&down_b, kept).map(|k| k.account.stored_value),
        Some(kept_down.account.stored_value),
        "the survivor reaches the merged-away member's store"
    );
    // An offline terminal's event about the merged-away member, uploaded
    // later (and again: a resend is a duplicate).
    let (late, _) = b.top_up(&gone_account, 20);
    let (_, first) = h.upload(&b, vec![late.clone()]).await;
    let (_, again) = h.upload(&b, vec![late]).await;
    let late_after = account_at_hq(&h, kept).await;
    let (_, gone_entries_late) = h.hq.store().member(gone).await.unwrap().unwrap();
    let seen =
        h.hq.look_up_member(&Actor::cli(), PHONE, "merge check")
            .await
            .unwrap();
    println!(
        "merge ({backend:?}): kept {} + {} pts, gone {} + {} pts -> kept {} + {} pts; late top-up -> {} (applied {:?}, resent duplicates {:?}); gone's ledger {} then {} entries",
        before.0.stored_value.total(),
        before.0.points_balance(now),
        before.1.stored_value.total(),
        before.1.points_balance(now),
        after.stored_value.total(),
        after.points_balance(now),
        late_after.stored_value.total(),
        first.map(|a| a.applied),
        again.map(|a| a.duplicates),
        gone_entries.len(),
        gone_entries_late.len(),
    );
    assert_eq!(
        after.stored_value.total(),
        before.0.stored_value.total() + before.1.stored_value.total()
    );
    assert_eq!(
        after.points_balance(now),
        before.0.points_balance(now) + before.1.points_balance(now)
    );
    assert_eq!(after.stored_value.total(), Money::from_yuan(150));
    assert!(gone_entries.is_empty(), "the ledger moved");
    assert_eq!(gone_record.merged_into, Some(kept));
    assert_eq!(
        kept_down.account.stored_value.total(),
        Money::from_yuan(150)
    );
    assert_eq!(gone_down.merged_into, Some(kept));
    assert_eq!(gone_down.phone_lookup, None, "the phone finds the survivor");
    assert!(kept_down.phone_lookup.is_some());
    assert_eq!(late_after.stored_value.total(), Money::from_yuan(170));
    assert!(
        gone_entries_late.is_empty(),
        "no balance on the dead account"
    );
    assert_eq!(first.map(|a| a.applied), Some(1));
    assert_eq!(again.map(|a| a.duplicates), Some(1));
    let shown: Vec<(String, Option<String>, Vec<String>)> = seen
        .iter()
        .map(|v| {
            (
                v.member.clone(),
                v.merged_into.clone(),
                v.merged_from.clone(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            (kept.to_string(), None, vec![gone.to_string()]),
            (gone.to_string(), Some(kept.to_string()), vec![]),
        ],
        "both sides visible"
    );
    for (member, action) in [(gone, "member_merged_into"), (kept, "member_merged_from")] {
        let trail =
            h.hq.audit_trail(Some(&format!("member:{member}")), None)
                .await
                .unwrap();
        let row = trail.iter().find(|a| a.action == action).unwrap();
        assert_eq!(row.detail, "one customer, enrolled twice");
    }
}

async fn refusals(backend: Backend) {
    let h = harness(backend).await;
    let (mut a, mut b) = h.two_stores().await;
    let (x, y, z, other) = (new_member(), new_member(), new_member(), new_member());
    let (ex, _) = a.enroll(x, PHONE);
    let (ey, _) = b.enroll(y, PHONE);
    let (ez, _) = b.enroll(z, PHONE);
    let (eo, _) = b.enroll(other, "13900139000");
    h.upload(&a, vec![ex]).await;
    h.upload(&b, vec![ey, ez, eo]).await;
    let erased = new_member();
    let (ee, _) = a.enroll(erased, PHONE);
    h.upload(&a, vec![ee]).await;
    h.hq.erase(erased).await.unwrap();
    // y merged into x: from now on y is merged already.
    assert_eq!(merge_into(&h, y, x).await.0, StatusCode::NO_CONTENT);

    let counts = h.hq.store().counts().await.unwrap();
    let changes = h.all_changes(&a).await.len();
    let trail = h.hq.audit_trail(None, Some(1000)).await.unwrap().len();
    let mut answers = Vec::new();
    for (what, merged, into) in [
        ("different phones", other, x),
        ("unknown", new_member(), x),
        ("unknown survivor", z, new_member()),
        ("erased", erased, x),
        ("same member", x, x),
        ("merged away", y, z),
        ("into merged away", z, y),
    ] {
        answers.push((what, merge_into(&h, merged, into).await));
    }
    let blank = h
        .admin_post(
            &format!("/v1/admin/members/{z}/merge"),
            serde_json::json!({"into": x, "reason": " "}),
        )
        .await;
    println!(
        "merge refusals ({backend:?}): {answers:?}; blank reason {}",
        blank.0
    );
    let expected = [
        ("different phones", StatusCode::CONFLICT, "different_phones"),
        ("unknown", StatusCode::NOT_FOUND, "unknown_member"),
        ("unknown survivor", StatusCode::NOT_FOUND, "unknown_member"),
        ("erased", StatusCode::NOT_FOUND, "unknown_member"),
        ("same member", StatusCode::BAD_REQUEST, "merge_same_member"),
        ("merged away", StatusCode::CONFLICT, "already_merged"),
        ("into merged away", StatusCode::CONFLICT, "already_merged"),
    ];
    for ((what, (status, code)), (w, s, c)) in answers.iter().zip(expected) {
        assert_eq!((*what, *status, code.as_str()), (w, s, c));
    }
    assert_eq!(blank.0, StatusCode::BAD_REQUEST);
    assert_eq!(blank.1["error"], "invalid_reason");
    assert_eq!(h.hq.store().counts().await.unwrap(), counts, "no row moved");
    assert_eq!(h.all_changes(&a).await.len(), changes, "nothing sent down");
    assert_eq!(
        h.hq.audit_trail(None, Some(1000)).await.unwrap().len(),
        trail,
        "nothing audited"
    );
    for member in [x, z, other] {
        let (record, _) = h.hq.store().member(member).await.unwrap().unwrap();
        assert_eq!(record.merged_into, None);
    }
}
