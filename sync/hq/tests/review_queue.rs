//! Dead letters and terminal flags in the review queue, and the conflicts'
//! `adjust` and `merge` resolutions, through the admin API on SQLite and on
//! PostgreSQL.
//!
//! A dead letter: an enrollment uploaded while head office's sealing key
//! was lost (a restart that read another key) is dead-lettered `sealed`;
//! re-applied with the key still lost it answers `still_refused` and
//! changes nothing but its reason's moment; re-applied after the key is
//! restored it applies (the member exists), leaves the queue, and the
//! audit trail has each step; the terminal's resend is a duplicate (the
//! event row kept its content hash). Flags: two sequence conflicts flag a
//! terminal twice; one is assigned and dismissed, the other accepted; a
//! closed flag and an unknown one refuse. Conflicts: one phone enrolled
//! three times; one duplicate merged into the first member (the merge
//! done before the resolution, which then only closes), the other
//! adjusted by points (refused above the threshold first, the conflict
//! left open). A dead letter from before head office kept the event's wall
//! time and schema version reads the moment it was refused and schema
//! version 1, and still re-applies.
// clippy.toml keeps database connections in the store modules; this test
// writes a dead letter as head office wrote them before it kept the
// event's wall time and schema version.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use axum::http::StatusCode;
use tillcard_hq::service::back_office::Actor;
use tillcard_hq::store::{AuditEntry, DeadLetterCase, FlagCase};
use tillcard_protocol::auth;
use tillcard_rules::MemberAccount;
use util::{ADMIN, Backend, Harness, harness, new_member};

both!(
    a_dead_letter_is_reapplied_after_the_fix_and_still_refused_before,
    reapply_after_the_fix
);
both!(
    flags_are_assigned_dismissed_and_accepted_once_each,
    work_the_flags
);
both!(
    conflicts_are_resolved_by_merge_and_by_points_adjustment,
    merge_and_adjust
);

/// A head office on PostgreSQL with its database's URL (to write a dead
/// letter as stored before migration 14: no wall time, no schema version;
/// migration 11 on SQLite).
async fn postgres_with_url() -> (Harness, Option<String>) {
    let (h, url) = util::harness_postgres().await;
    (h, Some(url))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dead_letter_from_before_reads_its_refusal_moment_and_reapplies_sqlite() {
    old_row_falls_back(harness(Backend::Sqlite).await, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dead_letter_from_before_reads_its_refusal_moment_and_reapplies_postgres() {
    let (h, url) = postgres_with_url().await;
    old_row_falls_back(h, url).await;
}

async fn old_row_falls_back(h: Harness, url: Option<String>) {
    let mut till = h.provision("S001").await;
    let key = h.hq.store().setting("box_secret").await.unwrap().unwrap();
    set_box_secret(&h, &auth::b64(&auth::random_32())).await;
    let lost = h.reopened().await;
    let member = new_member();
    let (enrolled, _) = till.enroll(member, "13700137041");
    lost.upload(&till, vec![enrolled]).await;
    let forget = "UPDATE dead_letters SET wall_time = NULL, schema_version = NULL";
    match &url {
        None => {
            let db = rusqlite::Connection::open(h.sqlite_path().unwrap()).unwrap();
            db.execute(forget, []).unwrap();
        }
        Some(url) => {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            client.execute(forget, &[]).await.unwrap();
        }
    }
    let old = dead_letters(&lost).await.remove(0);
    set_box_secret(&h, &key).await;
    let restored = h.reopened().await;
    let (status, applied) = restored
        .admin_post(
            &format!(
                "/v1/admin/dead-letters/{}/{}/reapply",
                old.terminal_id, old.seq
            ),
            serde_json::json!({}),
        )
        .await;
    let held = restored.hq.store().member(member).await.unwrap();
    println!(
        "old dead letter ({:?}): wall time {} (refused at {}), schema version {}; re-applied {status} {applied}; member held {}",
        h.backend,
        old.wall_time,
        old.at,
        old.schema_version,
        held.is_some()
    );
    assert_eq!(old.wall_time, old.at, "the moment it was refused");
    assert_eq!(old.schema_version, tillcard_protocol::wire::SCHEMA_VERSION);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(applied["state"], "applied");
    assert!(held.is_some());
}

async fn get_json(h: &Harness, path: &str) -> serde_json::Value {
    let (status, _, body) = h
        .get(path, &[("authorization", &format!("Bearer {ADMIN}"))])
        .await;
    assert_eq!(status, StatusCode::OK, "{path}");
    serde_json::from_slice(&body).unwrap()
}

async fn dead_letters(h: &Harness) -> Vec<DeadLetterCase> {
    let value = get_json(h, "/v1/admin/dead-letter-queue").await;
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|d| DeadLetterCase {
            terminal_id: serde_json::from_value(d["terminal_id"].clone()).unwrap(),
            seq: d["seq"].as_u64().unwrap(),
            event_id: d["event_id"].as_str().unwrap().into(),
            kind: d["kind"].as_str().map(Into::into),
            reason: d["reason"].as_str().unwrap().into(),
            at: d["at"].as_str().unwrap().into(),
            wall_time: d["wall_time"].as_str().unwrap().into(),
            schema_version: u16::try_from(d["schema_version"].as_u64().unwrap()).unwrap(),
            state: d["state"].as_str().unwrap().into(),
            assignee: d["assignee"].as_str().map(Into::into),
            note: d["note"].as_str().map(Into::into),
            closed_by: d["closed_by"].as_str().map(Into::into),
            closed_at: d["closed_at"].as_str().map(Into::into),
        })
        .collect()
}

async fn flags(h: &Harness) -> Vec<FlagCase> {
    let value = get_json(h, "/v1/admin/flag-queue").await;
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|f| FlagCase {
            id: f["id"].as_i64().unwrap(),
            terminal_id: serde_json::from_value(f["terminal_id"].clone()).unwrap(),
            reason: f["reason"].as_str().unwrap().into(),
            at: f["at"].as_str().unwrap().into(),
            state: f["state"].as_str().unwrap().into(),
            assignee: f["assignee"].as_str().map(Into::into),
            resolution: f["resolution"].as_str().map(Into::into),
            note: f["note"].as_str().map(Into::into),
            closed_by: f["closed_by"].as_str().map(Into::into),
            closed_at: f["closed_at"].as_str().map(Into::into),
        })
        .collect()
}

/// Sets head office's sealing key in its settings (a restart then reads
/// it).
async fn set_box_secret(h: &Harness, secret: &str) {
    let audit = AuditEntry {
        at: chrono::Utc::now().to_rfc3339(),
        actor: "cli".into(),
        action: "test_box_secret_set".into(),
        subject: "settings:box_secret".into(),
        detail: String::new(),
    };
    h.hq.store()
        .put_settings(&[("box_secret".into(), secret.into())], &audit)
        .await
        .unwrap();
}

async fn reapply_after_the_fix(backend: Backend) {
    let h = harness(backend).await;
    h.hq.save_user(&Actor::cli(), "olga", "a long passphrase", None)
        .await
        .unwrap();
    let mut till = h.provision("S001").await;
    let store = h.hq.store();
    let key = store.setting("box_secret").await.unwrap().unwrap();

    // The key lost: head office restarts with another one.
    set_box_secret(&h, &auth::b64(&auth::random_32())).await;
    let lost = h.reopened().await;
    let member = new_member();
    let (enrolled, _) = till.enroll(member, "13700137011");
    let (status, ack) = lost.upload(&till, vec![enrolled.clone()]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ack.unwrap().dead_lettered, 1);
    let queued = dead_letters(&lost).await;
    assert_eq!(queued.len(), 1, "{queued:?}");
    let dead = queued[0].clone();
    assert!(dead.reason.starts_with("sealed"), "{}", dead.reason);
    assert_eq!(dead.state, "open");
    // An event whose body is poison is stored as `undecodable`.
    assert_eq!(dead.kind.as_deref(), Some("undecodable"));
    assert_eq!(dead.wall_time, enrolled.envelope.wall_time.to_rfc3339());
    let path = |step: &str| {
        format!(
            "/v1/admin/dead-letters/{}/{}/{step}",
            dead.terminal_id, dead.seq
        )
    };
    let (assigned, _) = lost
        .admin_post(&path("assign"), serde_json::json!({"assignee": "olga"}))
        .await;
    assert_eq!(assigned, StatusCode::NO_CONTENT);

    // Re-applied with the key still lost: refused again, nothing else.
    let before = store.counts().await.unwrap();
    let (status, still) = lost
        .admin_post(&path("reapply"), serde_json::json!({}))
        .await;
    let after_refusal = store.counts().await.unwrap();
    let requeued = dead_letters(&lost).await;
    let member_after_refusal = store.member(member).await.unwrap();

    // The key restored: the re-apply applies.
    set_box_secret(&h, &key).await;
    let restored = h.reopened().await;
    let (applied_status, applied) = restored
        .admin_post(&path("reapply"), serde_json::json!({}))
        .await;
    let after = store.counts().await.unwrap();
    let queue_after = dead_letters(&restored).await;
    let (record, ledger) = store.member(member).await.unwrap().unwrap();
    let (again, again_body) = restored
        .admin_post(&path("reapply"), serde_json::json!({}))
        .await;
    let (_, resend) = restored.upload(&till, vec![enrolled]).await;
    let resend = resend.unwrap();
    let trail = restored
        .hq
        .audit_trail(
            Some(&format!("dead_letter:{}/{}", dead.terminal_id, dead.seq)),
            None,
        )
        .await
        .unwrap();
    let actions: Vec<&str> = trail.iter().map(|a| a.action.as_str()).collect();
    println!(
        "re-apply ({backend:?}): still refused {status} {still}; counts before {before:?}, after the refusal {after_refusal:?}; \
         applied {applied_status} {applied}; counts after {after:?}; queue after {}; member ledger {}; again {again} {again_body}; \
         resend applied {} duplicates {}; audit {actions:?}",
        queue_after.len(),
        ledger.len(),
        resend.applied,
        resend.duplicates
    );
    assert_eq!(status, StatusCode::OK);
    assert_eq!(still["state"], "still_refused");
    assert_eq!(still["code"], "sealed");
    assert_eq!(before, after_refusal, "a refused re-apply changes nothing");
    assert!(member_after_refusal.is_none());
    assert_eq!(requeued.len(), 1);
    assert_eq!(requeued[0].state, "open");
    assert_eq!(
        requeued[0].assignee.as_deref(),
        Some("olga"),
        "still assigned"
    );
    assert!(requeued[0].reason.starts_with("sealed"));

    assert_eq!(applied_status, StatusCode::OK);
    assert_eq!(applied["state"], "applied");
    assert!(applied["code"].is_null());
    assert_eq!(after.dead_letters, 0);
    assert_eq!(
        after.events, before.events,
        "the event row is back, applied"
    );
    assert!(after.ledger > before.ledger);
    assert!(queue_after.is_empty(), "the item left the queue");
    assert!(record.masked_phone.is_some());
    assert_eq!(record.test_personal().phone.as_deref(), Some("13700137011"));
    assert!(!ledger.is_empty());
    assert_eq!(again, StatusCode::NOT_FOUND);
    assert_eq!(again_body["error"], "unknown_dead_letter");
    assert_eq!(
        (resend.applied, resend.duplicates),
        (0, 1),
        "the stored content hash is kept: a resend is a duplicate"
    );
    assert_eq!(
        actions,
        [
            "dead_letter_reapplied",
            "dead_letter_still_refused",
            "dead_letter_assigned"
        ]
    );
}

async fn work_the_flags(backend: Backend) {
    let h = harness(backend).await;
    h.hq.save_user(&Actor::cli(), "olga", "a long passphrase", None)
        .await
        .unwrap();
    let mut till = h.provision("S001").await;
    let batch = till.simple_batch(new_member(), "13800138021", 3);
    let (s, _) = h.upload(&till, batch).await;
    assert_eq!(s, StatusCode::OK);
    // Two copies of the terminal's disk each re-use a seq with other
    // content: two sequence conflicts, two flags.
    for (seq, phone) in [(2, "13800138022"), (3, "13800138023")] {
        let mut copy = util::Till {
            next_seq: seq,
            ..till.clone()
        };
        let forged = copy.simple_batch(new_member(), phone, 1);
        let (s, _) = h.upload(&copy, forged).await;
        assert_eq!(s, StatusCode::CONFLICT);
    }
    let open = flags(&h).await;
    assert_eq!(open.len(), 2, "{open:?}");
    let (newer, older) = (open[0].clone(), open[1].clone());
    let path = |f: &FlagCase, step: &str| format!("/v1/admin/terminal-flags/{}/{step}", f.id);

    let (assigned, _) = h
        .admin_post(
            &path(&newer, "assign"),
            serde_json::json!({"assignee": "olga"}),
        )
        .await;
    let (unknown_user, _) = h
        .admin_post(
            &path(&older, "assign"),
            serde_json::json!({"assignee": "nobody"}),
        )
        .await;
    let (dismissed, _) = h
        .admin_post(
            &path(&newer, "dismiss"),
            serde_json::json!({"reason": "the store restored a backup by hand"}),
        )
        .await;
    let (accepted, _) = h
        .admin_post(
            &path(&older, "resolve"),
            serde_json::json!({"action": "accept", "note": "same event, resent"}),
        )
        .await;
    let (again, again_body) = h
        .admin_post(
            &path(&older, "resolve"),
            serde_json::json!({"action": "revoke", "note": "twice"}),
        )
        .await;
    let missing = FlagCase {
        id: 999_999,
        ..older.clone()
    };
    let (unknown, unknown_body) = h
        .admin_post(
            &path(&missing, "dismiss"),
            serde_json::json!({"reason": "x"}),
        )
        .await;
    let after = flags(&h).await;
    let terminal =
        h.hq.store()
            .terminal(till.creds.terminal_id)
            .await
            .unwrap()
            .unwrap();
    let trail =
        h.hq.audit_trail(Some(&format!("flag:{}", newer.id)), None)
            .await
            .unwrap();
    let figures = h.figures_at(chrono::Utc::now().fixed_offset()).await;
    println!(
        "flags ({backend:?}): assigned {assigned}, unknown user {unknown_user}, dismissed {dismissed}, accepted {accepted}, \
         again {again} {again_body}, unknown {unknown} {unknown_body}; after {:?}; audit {:?}; review ages {}",
        after
            .iter()
            .map(|f| (&f.state, &f.resolution, &f.assignee))
            .collect::<Vec<_>>(),
        trail.iter().map(|a| a.action.as_str()).collect::<Vec<_>>(),
        figures["conflicts"]["by_kind_and_age"]
    );
    assert_eq!(assigned, StatusCode::NO_CONTENT);
    assert_eq!(unknown_user, StatusCode::NOT_FOUND);
    assert_eq!(dismissed, StatusCode::NO_CONTENT);
    assert_eq!(accepted, StatusCode::NO_CONTENT);
    assert_eq!(again, StatusCode::CONFLICT);
    assert_eq!(again_body["error"], "flag_closed");
    assert_eq!(unknown, StatusCode::NOT_FOUND);
    assert_eq!(unknown_body["error"], "unknown_flag");
    assert!(!terminal.revoked, "the refused revoke revoked nothing");
    let state = |id: i64| after.iter().find(|f| f.id == id).unwrap().clone();
    let (n, o) = (state(newer.id), state(older.id));
    assert_eq!(n.state, "dismissed");
    assert_eq!(n.assignee.as_deref(), Some("olga"));
    assert_eq!(
        n.note.as_deref(),
        Some("the store restored a backup by hand")
    );
    assert_eq!(o.state, "resolved");
    assert_eq!(o.resolution.as_deref(), Some("accept"));
    assert_eq!(o.closed_by.as_deref(), Some("admin-token"));
    assert_eq!(
        trail.iter().map(|a| a.action.as_str()).collect::<Vec<_>>(),
        ["flag_dismissed", "flag_assigned"]
    );
    assert!(
        !figures["conflicts"]["by_kind_and_age"]
            .to_string()
            .contains("terminal_flag"),
        "closed flags wait for no one: {}",
        figures["conflicts"]["by_kind_and_age"]
    );
}

async fn points(h: &Harness, member: tillcard_rules::ids::MemberId) -> i64 {
    let (_, ledger) = h.hq.store().member(member).await.unwrap().unwrap();
    MemberAccount::fold(MemberAccount::new(member), &ledger)
        .points_balance(chrono::Utc::now().fixed_offset())
}

async fn merge_and_adjust(backend: Backend) {
    let h = harness(backend).await;
    let (mut a, mut b) = h.two_stores_apart(chrono::Duration::days(1)).await;
    let (m1, m2, m3) = (new_member(), new_member(), new_member());
    let (e1, _) = a.enroll(m1, "13700137031");
    let (e2, _) = b.enroll(m2, "137-0013-7031");
    let (e3, _) = b.enroll(m3, "13700137031");
    h.upload(&a, vec![e1]).await;
    h.upload(&b, vec![e2, e3]).await;
    let queue = get_json(&h, "/v1/admin/conflict-queue").await;
    let conflicts = queue.as_array().unwrap();
    assert_eq!(conflicts.len(), 2, "{queue}");
    let of = |m: tillcard_rules::ids::MemberId| {
        conflicts
            .iter()
            .find(|c| c["member_id"] == m.to_string())
            .unwrap()["conflict_no"]
            .as_i64()
            .unwrap()
    };
    let path = |m: tillcard_rules::ids::MemberId, step: &str| {
        format!("/v1/admin/conflicts/{m}/{}/{step}", of(m))
    };
    let before = points(&h, m3).await;

    // The merge done already (as when a resolution's close failed after
    // its merge): resolving merges nothing twice and closes.
    let (merged_first, _) = h
        .admin_post(
            &format!("/v1/admin/members/{m2}/merge"),
            serde_json::json!({"into": m1.to_string(), "reason": "one customer, two cards"}),
        )
        .await;
    assert_eq!(merged_first, StatusCode::NO_CONTENT);
    let (merged, _) = h
        .admin_post(
            &path(m2, "resolve"),
            serde_json::json!({"action": "merge", "note": "one customer, two cards"}),
        )
        .await;
    let (too_many, too_many_body) = h
        .admin_post(
            &path(m3, "resolve"),
            serde_json::json!({"action": "adjust", "points": 5000, "note": "goodwill"}),
        )
        .await;
    let (no_points, _) = h
        .admin_post(
            &path(m3, "resolve"),
            serde_json::json!({"action": "adjust", "note": "goodwill"}),
        )
        .await;
    let (adjusted, _) = h
        .admin_post(
            &path(m3, "resolve"),
            serde_json::json!({"action": "adjust", "points": 50, "note": "goodwill"}),
        )
        .await;
    let (again, _) = h
        .admin_post(
            &path(m3, "resolve"),
            serde_json::json!({"action": "adjust", "points": 50, "note": "twice"}),
        )
        .await;
    let after = points(&h, m3).await;
    let (m2_record, _) = h.hq.store().member(m2).await.unwrap().unwrap();
    let queue = get_json(&h, "/v1/admin/conflict-queue").await;
    let state = |m: tillcard_rules::ids::MemberId| {
        queue
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["member_id"] == m.to_string())
            .unwrap()
            .clone()
    };
    let (c2, c3) = (state(m2), state(m3));
    let member_audit =
        h.hq.audit_trail(Some(&format!("member:{m3}")), None)
            .await
            .unwrap();
    println!(
        "merge and adjust ({backend:?}): merged {merged}; above the threshold {too_many} {too_many_body}; no points {no_points}; \
         adjusted {adjusted}; again {again}; points {before} -> {after}; m2 merged into {:?}; conflicts {} {}; member audit {:?}",
        m2_record.merged_into,
        c2["resolution"],
        c3["resolution"],
        member_audit
            .iter()
            .map(|a| a.action.as_str())
            .collect::<Vec<_>>()
    );
    assert_eq!(merged, StatusCode::NO_CONTENT);
    assert_eq!(m2_record.merged_into, Some(m1));
    let m2_audit =
        h.hq.audit_trail(Some(&format!("member:{m2}")), None)
            .await
            .unwrap();
    assert_eq!(
        m2_audit
            .iter()
            .filter(|a| a.action == "member_merged_into")
            .count(),
        1,
        "merged once: {m2_audit:?}"
    );
    assert_eq!(
        (c2["state"].as_str(), c2["resolution"].as_str()),
        (Some("resolved"), Some("merge"))
    );
    assert_eq!(too_many, StatusCode::CONFLICT);
    assert_eq!(too_many_body["error"], "needs_second_approver");
    assert_eq!(no_points, StatusCode::BAD_REQUEST);
    assert_eq!(adjusted, StatusCode::NO_CONTENT);
    assert_eq!(again, StatusCode::CONFLICT, "closed: adjusted once");
    assert_eq!(after - before, 50);
    assert_eq!(
        (c3["state"].as_str(), c3["resolution"].as_str()),
        (Some("resolved"), Some("adjust"))
    );
    assert_eq!(
        member_audit
            .iter()
            .filter(|a| a.action == "points_adjustment")
            .count(),
        1
    );
}
