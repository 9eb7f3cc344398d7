//! Offline double spending across terminals, recorded for review, a sale
//! booked beyond the program (re-verification), and the erasure of a
//! member's personal data. Every scenario runs on SQLite and on
//! PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use axum::http::StatusCode;
use tillcard_hq::store::ConflictRecord;
use tillcard_protocol::wire::{Change, EventBody};
use tillcard_rules::MemberAccount;
use tillcard_rules::Money;
use tillcard_rules::ledger::{EarnReason, EntryKind, points_earned};
use tillcard_rules::pricing::{StoredValueRequest, TenderRequest};
use util::{Backend, harness, new_member};

both!(two_offline_terminals_overdraw_once_flagged, overdraw);
both!(single_use_coupon_used_at_two_terminals, coupon_twice);
both!(
    same_phone_enrolled_at_two_stores_is_flagged,
    duplicate_phone
);
both!(member_seen_at_two_stores_minutes_apart, two_stores);
both!(
    a_signed_sale_with_inflated_points_is_booked_and_raises_a_conflict_with_both_figures,
    inflated_points
);
both!(erasure_removes_personal_data_and_goes_down, erasure);
both!(tier_and_expiry_jobs_run_chain_wide, jobs);
both!(
    an_enrollment_uploaded_after_the_members_other_events_completes_the_row,
    late_enrollment
);
both!(
    an_enrollment_uploaded_after_the_members_erasure_brings_nothing_back,
    enrollment_after_erasure
);

/// Each conflict's kind and reason (what the tests print).
fn kinds_and_reasons(conflicts: &[ConflictRecord]) -> Vec<(&str, &str)> {
    conflicts
        .iter()
        .map(|c| (c.kind.as_str(), c.reason.as_str()))
        .collect()
}

async fn overdraw(backend: Backend) {
    let h = harness(backend).await;
    let (mut a, mut b) = h.two_stores_apart(chrono::Duration::hours(3)).await;
    let member = new_member();
    // At A: enroll, top up ¥100, 1,000 points; all synced and sent down to B.
    let (e1, acc) = a.enroll_account(member, "13900139000");
    let (e2, tu) = a.top_up(&acc, 100);
    let acc = MemberAccount::fold(acc, &tu);
    let (e3, pts) = a.add_points(&acc, 1000);
    let synced = MemberAccount::fold(acc, &pts);
    let (s, _) = h.upload(&a, vec![e1, e2, e3]).await;
    assert_eq!(s, StatusCode::OK);
    // Both offline: each sells ¥150 using 800 points (¥8) and up to ¥80 stored value.
    let tender = TenderRequest {
        coupons: vec![],
        redeem_points: 800,
        stored_value: StoredValueRequest::UpTo(Money::from_yuan(80)),
    };
    let (sa, _) = a.sale(&synced, 150, tender.clone());
    let (sb, _) = b.sale(&synced, 150, tender);
    let (s1, ack1) = h.upload(&a, vec![sa]).await;
    let (s2, ack2) = h.upload(&b, vec![sb]).await;
    let conflicts = h.hq.store().conflicts().await.unwrap();
    let (_, entries) = h.hq.store().member(member).await.unwrap().unwrap();
    let account = MemberAccount::fold(MemberAccount::new(member), &entries);
    let points: i64 = account.lots.iter().map(|l| l.remaining).sum();
    println!(
        "[{backend:?}] overdraw: uploads {s1} {s2}, applied {} + {}, conflicts {}: {:?}; points now {points}, stored value now {} fen",
        ack1.unwrap().applied,
        ack2.unwrap().applied,
        conflicts.len(),
        kinds_and_reasons(&conflicts),
        account.stored_value.total().fen()
    );
    assert_eq!(
        ack1.unwrap().applied + ack2.unwrap().applied,
        2,
        "both sales applied"
    );
    assert_eq!(conflicts.len(), 1, "exactly one conflict");
    assert_eq!(conflicts[0].kind, "negative_balance");
    assert_eq!(conflicts[0].terminal_id, Some(b.creds.terminal_id));
    // Bounded by what the entries say: 2 × 800 points from 1,000; 2 × ¥80 from ¥100.
    assert_eq!(points, 1000 - 1600 + earned_points(&account));
    assert_eq!(account.stored_value.total().fen(), 10_000 - 16_000);
}

/// Points earned back on the two sales (lots other than the adjustment's).
fn earned_points(account: &MemberAccount) -> i64 {
    account.lots.iter().skip(1).map(|l| l.remaining).sum()
}

async fn coupon_twice(backend: Backend) {
    let h = harness(backend).await;
    let (mut a, mut b) = h.two_stores_apart(chrono::Duration::hours(3)).await;
    let member = new_member();
    let (e1, synced) = a.enroll_account(member, "13900139001");
    let coupon = synced.coupons[0].coupon.id;
    h.upload(&a, vec![e1]).await;
    let tender = TenderRequest {
        coupons: vec![coupon],
        redeem_points: 0,
        stored_value: StoredValueRequest::None,
    };
    let (sa, ea) = a.sale(&synced, 80, tender.clone());
    let (sb, _) = b.sale(&synced, 80, tender);
    assert!(
        ea.iter()
            .any(|e| matches!(e.kind, tillcard_rules::EntryKind::CouponUsed { .. })),
        "the rules applied the coupon"
    );
    h.upload(&a, vec![sa]).await;
    h.upload(&b, vec![sb]).await;
    let conflicts = h.hq.store().conflicts().await.unwrap();
    println!(
        "[{backend:?}] coupon used at two terminals: conflicts {:?}",
        kinds_and_reasons(&conflicts)
    );
    let coupon_conflicts: Vec<_> = conflicts
        .iter()
        .filter(|c| c.kind == "coupon_used_twice")
        .collect();
    assert_eq!(coupon_conflicts.len(), 1);
    assert_eq!(coupon_conflicts[0].terminal_id, Some(b.creds.terminal_id));
    assert_eq!(conflicts.len(), 1);
}

async fn duplicate_phone(backend: Backend) {
    let h = harness(backend).await;
    let (mut a, mut b) = h.two_stores_apart(chrono::Duration::days(1)).await;
    let (m1, m2) = (new_member(), new_member());
    let (e1, _) = a.enroll(m1, "13700137000");
    let (e2, _) = b.enroll(m2, "137-0013-7000");
    h.upload(&a, vec![e1]).await;
    h.upload(&b, vec![e2]).await;
    let conflicts = h.hq.store().conflicts().await.unwrap();
    let (second, _) = h.hq.store().member(m2).await.unwrap().unwrap();
    println!(
        "[{backend:?}] same phone at two stores: conflicts {:?}; second member duplicate_of {:?}",
        kinds_and_reasons(&conflicts),
        second.duplicate_of
    );
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].kind, "duplicate_phone");
    assert_eq!(conflicts[0].member, m2);
    assert_eq!(second.duplicate_of, Some(m1));
}

async fn two_stores(backend: Backend) {
    let h = harness(backend).await;
    let (mut a, mut b) = h.two_stores().await;
    let member = new_member();
    let (e1, acc) = a.enroll_account(member, "13600136000");
    let (e2, _) = a.top_up(&acc, 50);
    b.clock = a.clock + chrono::Duration::minutes(5);
    let (e3, _) = b.top_up(&acc, 20);
    h.upload(&a, vec![e1, e2]).await;
    h.upload(&b, vec![e3]).await;
    let conflicts = h.hq.store().conflicts().await.unwrap();
    println!(
        "[{backend:?}] seen at two stores: {:?}",
        kinds_and_reasons(&conflicts)
    );
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].kind, "seen_at_two_stores");
}

/// Erases `member` through the admin API (answered 200).
async fn erase(h: &util::Harness, member: tillcard_rules::MemberId) {
    let (s, _) = h
        .admin_post(
            &format!("/v1/admin/members/{member}/erase"),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
}

async fn erasure(backend: Backend) {
    let h = harness(backend).await;
    let mut a = h.provision("S001").await;
    let member = new_member();
    let phone = "13500135000";
    let (e1, _) = a.enroll(member, phone);
    h.upload(&a, vec![e1]).await;
    let before = h.hq.store().find_text(phone).await.unwrap();
    let lookup = a.creds.phone_lookup(phone).unwrap();
    let is_cached = |down: &[Change]| {
        down.iter().any(|c| matches!(c, Change::Member { snapshot } if snapshot.member == member && snapshot.phone_lookup.as_deref() == Some(lookup.as_str())))
    };
    let down = h.changes_when(&a, is_cached).await;
    let cached = is_cached(&down);
    assert!(
        cached,
        "the snapshot went down with this terminal's phone lookup"
    );
    // Held at head office before erasure, encrypted: in plain nowhere.
    let (held, _) = h.hq.store().member(member).await.unwrap().unwrap();
    assert_eq!(held.test_personal().phone.as_deref(), Some(phone));
    assert!(
        before.is_empty(),
        "phone in plain at head office: {before:?}"
    );
    erase(&h, member).await;
    let after_phone = h.hq.store().find_text(phone).await.unwrap();
    let after_mask = h.hq.store().find_text("138****").await.unwrap();
    let after_name = h.hq.store().find_text("张").await.unwrap();
    let (record, entries) = h.hq.store().member(member).await.unwrap().unwrap();
    let down = h
        .changes_when(&a, |down| {
            down.iter()
                .any(|c| matches!(c, Change::Erasure { member: m } if *m == member))
        })
        .await;
    let erasures = down
        .iter()
        .filter(|c| matches!(c, Change::Erasure { member: m } if *m == member))
        .count();
    let snapshots = down
        .iter()
        .filter(|c| matches!(c, Change::Member { snapshot } if snapshot.member == member))
        .count();
    println!(
        "[{backend:?}] erasure: phone found before in {before:?}, after in {after_phone:?}; name after {after_name:?}; downlink erasures {erasures}, snapshots {snapshots}; ledger entries kept {}",
        entries.len()
    );
    assert!(after_phone.is_empty() && after_name.is_empty() && after_mask.is_empty());
    assert!(
        record.erased
            && record.test_personal().phone.is_none()
            && record.test_personal().birthday.is_none()
            && record.masked_name.is_none()
    );
    assert!(erasures >= 1);
    assert_eq!(snapshots, 0, "an erased member is never sent down again");
}

/// Enrollments recorded in the figures, summed over every day shown.
fn enrollments(figures: &serde_json::Value) -> u64 {
    figures["enrollments_per_day"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["count"].as_u64().unwrap())
        .sum()
}

/// A member enrolled at terminal A, which stays offline, while terminal B
/// books 100 points for them and uploads first: head office has the
/// member's row before the enrollment that gives it personal data.
/// Returns A and its enrollment, not yet uploaded.
async fn enrolled_offline_seen_elsewhere(
    h: &util::Harness,
    member: tillcard_rules::MemberId,
    phone: &str,
) -> (util::Till, tillcard_protocol::wire::OutboxEvent) {
    let (mut a, mut b) = h.two_stores().await;
    let (enrollment, en) = a.enroll(member, phone);
    let (points, _) = b.add_points(&MemberAccount::fold(MemberAccount::new(member), &en), 100);
    assert_eq!(h.upload(&b, vec![points]).await.0, StatusCode::OK);
    (a, enrollment)
}

async fn late_enrollment(backend: Backend) {
    let h = harness(backend).await;
    let member = new_member();
    let phone = "13600136000";
    let (a, enrollment) = enrolled_offline_seen_elsewhere(&h, member, phone).await;
    let (early, _) = h.hq.store().member(member).await.unwrap().unwrap();
    let before = enrollments(&h.figures_at(a.clock).await);
    assert_eq!(h.upload(&a, vec![enrollment]).await.0, StatusCode::OK);
    let (record, entries) = h.hq.store().member(member).await.unwrap().unwrap();
    let after = enrollments(&h.figures_at(a.clock).await);
    println!(
        "[{backend:?}] late enrollment: phone before {}, after {}; enrollments in the figures {before} then {after}; ledger entries {}",
        early.test_personal().phone.is_some(),
        record.test_personal().phone.is_some(),
        entries.len()
    );
    assert!(early.test_personal().phone.is_none() && early.masked_phone.is_none());
    assert_eq!(record.test_personal().phone.as_deref(), Some(phone));
    assert_eq!(record.masked_phone.as_deref(), Some("136****6000"));
    assert_eq!(record.masked_name.as_deref(), Some("张*"));
    assert!(record.test_personal().birthday.is_some() && !record.erased);
    assert_eq!((before, after), (0, 1));
    let balance = MemberAccount::fold(MemberAccount::new(member), &entries);
    assert_eq!(balance.points_balance(a.clock), 100, "B's points kept");
}

async fn enrollment_after_erasure(backend: Backend) {
    // As above, but the member is erased at head office before A's
    // enrollment arrives: its personal data must not come back.
    let h = harness(backend).await;
    let member = new_member();
    let phone = "13700137000";
    let (a, enrollment) = enrolled_offline_seen_elsewhere(&h, member, phone).await;
    erase(&h, member).await;
    let (s, ack) = h.upload(&a, vec![enrollment]).await;
    let (record, _) = h.hq.store().member(member).await.unwrap().unwrap();
    let found = h.hq.store().find_text(phone).await.unwrap();
    let masked = h.hq.store().find_text("137****").await.unwrap();
    println!(
        "[{backend:?}] enrollment after erasure: status {s}, acked {:?}, erased {}, phone found in {found:?}, masked phone in {masked:?}",
        ack.as_ref().map(|a| a.acked_seq),
        record.erased
    );
    assert_eq!(s, StatusCode::OK);
    assert!(record.erased);
    assert!(record.test_personal().phone.is_none() && record.masked_phone.is_none());
    assert!(record.masked_name.is_none() && record.test_personal().birthday.is_none());
    assert!(found.is_empty() && masked.is_empty());
}

async fn jobs(backend: Backend) {
    let h = harness(backend).await;
    let mut a = h.provision("S001").await;
    let member = new_member();
    let (e1, acc) = a.enroll_account(member, "13400134000");
    let (e2, _) = a.add_points(&acc, 500);
    h.upload(&a, vec![e1, e2]).await;
    let (s, tiers) = h
        .admin_post("/v1/admin/jobs/tier-evaluation", serde_json::json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    // Two years later every lot has expired.
    let later = a.clock + chrono::Duration::days(800);
    let expired = h.hq.expire_points(later).await.unwrap();
    let again = h.hq.expire_points(later).await.unwrap();
    let (_, entries) = h.hq.store().member(member).await.unwrap().unwrap();
    let account = MemberAccount::fold(MemberAccount::new(member), &entries);
    println!(
        "[{backend:?}] jobs: tier changes {tiers}, expiry entries {expired} then {again}, points left {}",
        account.points_balance(later)
    );
    assert_eq!(expired, 1);
    assert_eq!(again, 0, "expiry is idempotent");
    assert_eq!(account.points_balance(later), 0);
}

/// Points a member earned by purchases, at head office.
async fn purchase_points_at_hq(h: &util::Harness, member: tillcard_rules::MemberId) -> i64 {
    let (_, entries) = h.hq.store().member(member).await.unwrap().unwrap();
    points_earned(&entries, member, EarnReason::Purchase)
}

async fn inflated_points(backend: Backend) {
    let h = harness(backend).await;
    let (mut a, _) = h.two_stores().await;
    let member = new_member();
    let (e1, account) = a.enroll_account(member, "13900139044");
    // An honest sale first: re-priced, within the program, no conflict.
    let (honest, honest_entries) = a.sale(&account, 100, TenderRequest::default());
    let account = MemberAccount::fold(account, &honest_entries);
    let honest_points = quote_of_points(&honest);
    // Then a sale whose body the terminal signs with ten times the points
    // its own quote earns.
    let (drafted, _) = a.clone().sale(&account, 200, TenderRequest::default());
    let EventBody::SaleBooked {
        quote,
        mut entries,
        payment,
    } = drafted.decode_body().unwrap()
    else {
        panic!("not a sale");
    };
    let allowed = quote.earn.points;
    assert!(allowed > 0, "the sale earns points");
    for entry in &mut entries {
        if let EntryKind::PointsEarned {
            points,
            reason: EarnReason::Purchase,
            ..
        } = &mut entry.kind
        {
            *points *= 10;
        }
    }
    let inflated = a.event(&EventBody::SaleBooked {
        quote,
        entries,
        payment,
    });
    let (s, ack) = h.upload(&a, vec![e1, honest, inflated]).await;
    assert_eq!(s, StatusCode::OK, "a validly signed batch is accepted");
    let applied = ack.unwrap().applied;
    let conflicts = h.hq.store().conflicts().await.unwrap();
    let credited = purchase_points_at_hq(&h, member).await;
    println!(
        "[{backend:?}] inflated points: sent 3, applied {applied}; honest sale {honest_points} points, inflated sale booked {} for {allowed}; credited {credited}; conflicts {:?}",
        allowed * 10,
        kinds_and_reasons(&conflicts)
    );
    assert_eq!(
        applied, 3,
        "every event is applied (the counter served the member)"
    );
    let beyond: Vec<_> = conflicts
        .iter()
        .filter(|c| c.kind == "beyond_program")
        .collect();
    assert_eq!(beyond.len(), 1, "one conflict, for the inflated sale only");
    assert_eq!(beyond[0].member, member);
    assert_eq!(
        beyond[0].seq,
        Some(3),
        "the conflict names the inflated event"
    );
    assert!(
        beyond[0].reason.contains(&format!(
            "points earned booked {}; the program gives {allowed}",
            allowed * 10
        )),
        "both figures in the reason: {}",
        beyond[0].reason
    );
    // Credited as documented (PROTOCOL.md): booked as sent, for review.
    assert_eq!(credited, honest_points + allowed * 10);
}

/// The points a sale event's quote earns.
fn quote_of_points(event: &tillcard_protocol::wire::OutboxEvent) -> i64 {
    util::quote_of(event).earn.points
}
