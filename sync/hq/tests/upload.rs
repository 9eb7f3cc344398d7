//! Exactly-once upload: concurrent and replayed batches, cloned terminals,
//! poison events, and a head office restored from an older backup. Every
//! scenario runs on SQLite and on PostgreSQL.

// clippy.toml keeps database connections in the store modules; this test inspects or breaks the database directly.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use axum::http::StatusCode;
use tillcard_protocol::auth;
use tillcard_protocol::wire::{OutboxEvent, TerminalId};
use tillcard_rules::MemberAccount;
use util::{Backend, harness, new_member};

both!(
    concurrent_and_replayed_batches_apply_once,
    concurrent_and_replayed
);
both!(cloned_terminal_is_refused_and_flagged, cloned_terminal);
both!(
    a_flood_of_bad_signatures_is_all_refused_and_flags_once,
    bad_signature_flood
);
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
            acks.push(tillcard_protocol::client::decode_ack(&body).unwrap());
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

async fn bad_signature_flood(backend: Backend) {
    const FLOOD: usize = 200;
    let h = harness(backend).await;
    let till = h.provision("S001").await;
    let mut forger = util::Till {
        next_seq: 1,
        ..till.clone()
    };
    forger.creds.signing_key = auth::generate_signing_key();
    let mut refused = 0;
    for i in 0..FLOOD {
        let events = forger.simple_batch(new_member(), &format!("1380013{i:04}"), 1);
        let (s, _) = h.upload(&forger, events).await;
        if s == StatusCode::UNAUTHORIZED {
            refused += 1;
        }
    }
    let flags = h.hq.store().terminal_flags().await.unwrap();
    let scrape = h.hq.metrics().encode().unwrap();
    let line = |name: &str| {
        scrape
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
    };
    let (bad, suppressed) = (
        line("tillcard_hq_bad_signatures_total"),
        line("tillcard_hq_bad_signature_flags_suppressed_total"),
    );
    println!(
        "[{backend:?}] {FLOOD} forged batches: {refused} refused, flags {}, bad_signatures_total {bad:?}, suppressed {suppressed:?}",
        flags.len()
    );
    assert_eq!(refused, FLOOD, "every forged request refused");
    assert_eq!(flags.len(), 1, "one flag for the flood");
    assert_eq!(flags[0].0, till.creds.terminal_id);
    assert_eq!(bad, Some(FLOOD as f64));
    assert_eq!(suppressed, Some((FLOOD - 1) as f64));
    assert_eq!(h.hq.store().counts().await.unwrap().events, 0);
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
        next_seq: 6,
        ..till.clone()
    };
    clone.creds.signing_key = auth::generate_signing_key();
    let more = clone.simple_batch(new_member(), "13800138002", 2);
    let (s1, _) = h.upload(&clone, more).await;

    // Clone 2: the right key (copied disk) but seq 3 re-used with other content.
    let mut copy = util::Till {
        next_seq: 3,
        ..till.clone()
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
    let mut bad: tillcard_protocol::wire::EventBody = batch[6].decode_body().unwrap();
    if let tillcard_protocol::wire::EventBody::TopUp { entries, .. } = &mut bad {
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
        dead[0].reason.starts_with("undecodable: could not decode"),
        "{}",
        dead[0].reason
    );
    // A top-up whose entry is another member's is not a top-up of its own
    // member's stored value.
    assert!(
        dead[1]
            .reason
            .starts_with("invalid: a top-up's entries must be"),
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
        next_seq: 1,
        ..till.clone()
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

both!(
    concurrent_batches_about_one_member_keep_its_balances,
    one_member_two_terminals
);

/// Two terminals upload at the same time, every batch about the same
/// member: the member's cached fold (what batches are planned against and
/// the figures sum) must end equal to the fold of its whole ledger, with no
/// batch's entries lost to another batch's write.
async fn one_member_two_terminals(backend: Backend) {
    let h = harness(backend).await;
    let mut a = h.provision("S001").await;
    let mut b = h.provision("S001").await;
    let member = new_member();
    let (e, entries) = a.enroll(member, "13800138050");
    let (s, _) = h.upload(&a, vec![e]).await;
    assert_eq!(s, StatusCode::OK);
    let opening = MemberAccount::fold(MemberAccount::new(member), &entries);
    let (batches, rounds, per_batch) = (2usize, 12usize, 4usize);
    let work =
        [&mut a, &mut b].map(|till| top_up_batches(till, &opening, rounds, per_batch, |_| None));
    let acks: Vec<u64> = upload_at_once(&h, work)
        .await
        .iter()
        .map(|acks| acks.last().unwrap().acked_seq)
        .collect();
    let (_, ledger) = h.hq.store().member(member).await.unwrap().unwrap();
    let folded = MemberAccount::fold(MemberAccount::new(member), &ledger);
    let figures = h.figures_at(a.clock + chrono::Duration::days(1)).await;
    let principal = figures["liabilities"]["stored_value_principal_fen"]
        .as_i64()
        .unwrap();
    let top_ups = (batches * rounds * per_batch) as i64;
    println!(
        "[{backend:?}] one member, two terminals, {batches} x {rounds} concurrent batches of {per_batch} top-ups: acks {acks:?}; ledger {} entries, fold {} fen, figures (cached fold) {principal} fen",
        ledger.len(),
        folded.stored_value.principal.fen()
    );
    assert_eq!(
        acks,
        vec![
            1 + rounds as u64 * per_batch as u64,
            rounds as u64 * per_batch as u64
        ]
    );
    assert_eq!(folded.stored_value.principal.fen(), top_ups * 1000);
    assert_eq!(
        principal,
        top_ups * 1000,
        "the cached fold lost another batch's entries"
    );
}

/// What a scenario left at head office, with every id that differs from one
/// run to the next replaced by its role.
#[derive(Debug, PartialEq)]
struct Outcome {
    acks: Vec<(u64, u32, u32, u32)>,
    counts: tillcard_hq::store::Counts,
    dead: Vec<(String, u64, String)>,
    conflicts: Vec<(String, String, String, Option<u64>)>,
    points: i64,
    stored_value_fen: (i64, i64),
    liabilities: serde_json::Value,
    sales: serde_json::Value,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mixed_batch_stores_the_same_on_both_backends() {
    let sqlite = mixed_batch(Backend::Sqlite).await;
    let postgres = mixed_batch(Backend::Postgres).await;
    println!("mixed batch, SQLite: {sqlite:?}");
    println!("mixed batch, PostgreSQL: {postgres:?}");
    assert_eq!(
        sqlite, postgres,
        "same stored result and acks on both backends"
    );
}

/// One member enrolled and topped up at store S001 (terminal A), sold to at
/// S002 (terminal B) eight minutes later; then A sends one batch mixing two
/// duplicates, an undecodable event, a sale overdrawing stored value six
/// minutes from B's, a top-up, an action already in the ledger under a new
/// seq, a walk-in sale and an event above a gap; then the missing event;
/// then the mixed batch again.
async fn mixed_batch(backend: Backend) -> Outcome {
    use tillcard_protocol::wire::EventBody;
    use tillcard_rules::Money;
    use tillcard_rules::pricing::{StoredValueRequest, TenderRequest};

    let h = harness(backend).await;
    let (mut a, mut b) = h.two_stores().await;
    let member = tillcard_rules::ids::MemberId(uuid::Uuid::from_u128(0x5eed));
    let mut acks = Vec::new();
    let mut ack = |a: tillcard_protocol::wire::UploadAck| {
        acks.push((a.acked_seq, a.applied, a.duplicates, a.dead_lettered))
    };
    let mut ledger = Vec::new();

    let (e1, en) = a.enroll(member, "13800138060");
    let acc = MemberAccount::fold(MemberAccount::new(member), &en);
    let (e2, tu) = a.top_up(&acc, 100);
    let acc = MemberAccount::fold(acc, &tu);
    let (e3, pts) = a.add_points(&acc, 1000);
    let synced = MemberAccount::fold(acc, &pts);
    ledger.extend(en.iter().chain(&tu).chain(&pts).cloned());
    let (_, a1) = h.upload(&a, vec![e1, e2.clone(), e3.clone()]).await;
    ack(a1.unwrap());

    let tender = TenderRequest {
        coupons: vec![],
        redeem_points: 800,
        stored_value: StoredValueRequest::UpTo(Money::from_yuan(80)),
    };
    b.clock += chrono::Duration::minutes(10);
    let (sb, sale_b) = b.sale(&synced, 150, tender.clone());
    ledger.extend(sale_b);
    let (_, b1) = h.upload(&b, vec![sb]).await;
    ack(b1.unwrap());

    let mut poison = a.event(&EventBody::MemberErased { member });
    poison.body = serde_json::json!({"type": "top_up", "member": member, "principal": "ten"});
    let (sa, sale_a) = a.sale(&synced, 150, tender);
    let (e6, tu6) = a.top_up(&synced, 50);
    let replayed = a.event(&e2.decode_body().unwrap());
    let (walk_in, _) = a.walk_in_sale(30);
    let (e9, tu9) = a.top_up(&synced, 10);
    let (e10, tu10) = a.top_up(&synced, 20);
    ledger.extend(sale_a.iter().chain(&tu6).chain(&tu10).chain(&tu9).cloned());
    let mixed = vec![e2.clone(), e3, poison, sa, e6, replayed, walk_in, e10];
    let (s, a2) = h.upload(&a, mixed.clone()).await;
    assert_eq!(s, StatusCode::OK);
    ack(a2.unwrap());
    let (_, a3) = h.upload(&a, vec![e9]).await;
    ack(a3.unwrap());
    let (_, a4) = h.upload(&a, mixed).await;
    ack(a4.unwrap());

    let store = h.hq.store();
    let who = |t: Option<tillcard_protocol::wire::TerminalId>| match t {
        Some(t) if t == a.creds.terminal_id => "A".to_string(),
        Some(t) if t == b.creds.terminal_id => "B".to_string(),
        other => format!("{other:?}"),
    };
    let source = match e2.decode_body().unwrap() {
        EventBody::TopUp { entries, .. } => entries[0].source.to_string(),
        other => panic!("{other:?}"),
    };
    let (_, stored) = store.member(member).await.unwrap().unwrap();
    assert_eq!(
        stored, ledger,
        "[{backend:?}] the ledger holds each applied action once, in upload order"
    );
    let account = MemberAccount::fold(MemberAccount::new(member), &stored);
    let figures = h.figures_at(util::t0() + chrono::Duration::days(1)).await;
    let outcome = Outcome {
        acks: acks.clone(),
        counts: store.counts().await.unwrap(),
        dead: store
            .dead_letters()
            .await
            .unwrap()
            .into_iter()
            .map(|d| {
                let reason = d.reason.replace(&source, "<source>");
                (who(Some(d.terminal_id)), d.seq, reason)
            })
            .collect(),
        conflicts: store
            .conflicts()
            .await
            .unwrap()
            .into_iter()
            .map(|c| (c.kind, c.reason, who(c.terminal_id), c.seq))
            .collect(),
        points: account.points_balance(util::t0()),
        stored_value_fen: (
            account.stored_value.principal.fen(),
            account.stored_value.bonus.fen(),
        ),
        liabilities: figures["liabilities"].clone(),
        sales: figures["sales"].clone(),
    };
    // Worked out by hand: see the scenario above.
    assert_eq!(
        acks,
        vec![
            (3, 3, 0, 0),  // A: enrollment, top-up, points
            (1, 1, 0, 0),  // B: the sale
            (8, 4, 2, 2), // A mixed: 5, 6, 8, 10 applied; 2, 3 duplicates; 4, 7 dead; 10 above the gap
            (10, 1, 0, 0), // A: event 9 fills the gap
            (10, 0, 8, 0), // A mixed again: all duplicates
        ],
        "[{backend:?}]"
    );
    assert_eq!(
        (outcome.counts.events, outcome.counts.dead_letters),
        (11, 2)
    );
    assert_eq!(outcome.counts.ledger, ledger.len() as u64);
    let dead: Vec<(&str, u64)> = outcome
        .dead
        .iter()
        .map(|(w, s, _)| (w.as_str(), *s))
        .collect();
    assert_eq!(dead, vec![("A", 4), ("A", 7)]);
    assert!(
        outcome.dead[0]
            .2
            .starts_with("undecodable: could not decode")
    );
    assert_eq!(
        outcome.dead[1].2,
        "already_booked: action <source> is already in the member's ledger"
    );
    let conflicts: Vec<(&str, &str, Option<u64>)> = outcome
        .conflicts
        .iter()
        .map(|(k, _, w, s)| (k.as_str(), w.as_str(), *s))
        .collect();
    assert_eq!(
        conflicts,
        vec![
            ("seen_at_two_stores", "B", Some(1)),
            ("seen_at_two_stores", "A", Some(5)),
            ("negative_balance", "A", Some(5)),
        ]
    );
    assert_eq!(
        outcome.conflicts[0].1,
        "seen at store S001 and at store S002 8 minutes apart"
    );
    assert_eq!(
        outcome.conflicts[1].1,
        "seen at store S002 and at store S001 6 minutes apart"
    );
    // ¥100 + ¥50 + ¥10 + ¥20 topped up, ¥80 paid twice.
    assert_eq!(outcome.stored_value_fen, (2_000, 0));
    // The figures sum the cached fold: it matches the ledger's.
    assert_eq!(
        outcome.liabilities["stored_value_principal_fen"].as_i64(),
        Some(2_000)
    );
    outcome
}

both!(
    a_walk_in_sale_carrying_a_members_entries_is_dead_lettered,
    walk_in_sale_with_entries
);

/// A sale sent without its member but with the member's entries once left
/// ledger entries of a member head office has no row for. A walk-in sale
/// books no entries: both the sale and its replay under a new seq are
/// refused at the door, and nothing reaches the ledger.
async fn walk_in_sale_with_entries(backend: Backend) {
    use tillcard_protocol::wire::EventBody;
    let h = harness(backend).await;
    let mut till = h.provision("S001").await;
    let member = new_member();
    let account = MemberAccount::new(member);
    let (sale, _) = till.sale(&account, 80, Default::default());
    let mut body = sale.decode_body().unwrap();
    if let EventBody::SaleBooked { quote, .. } = &mut body {
        quote.member = None;
    }
    let first = till.event(&body);
    let again = till.event(&body);
    let (_, a1) = h.upload(&till, vec![first]).await;
    let (_, a2) = h.upload(&till, vec![again]).await;
    let (a1, a2) = (a1.unwrap(), a2.unwrap());
    let dead = h.hq.store().dead_letters().await.unwrap();
    println!(
        "[{backend:?}] walk-in sale with a member's entries: applied {} then {}, dead {} then {}: {:?}",
        a1.applied, a2.applied, a1.dead_lettered, a2.dead_lettered, dead
    );
    assert_eq!(
        (a1.applied, a2.applied, a1.dead_lettered, a2.dead_lettered),
        (0, 0, 1, 1)
    );
    assert!(
        dead.iter()
            .all(|d| d.reason == "invalid: a walk-in sale (no member) books no entries")
    );
    assert!(h.hq.store().member(member).await.unwrap().is_none());
    assert_eq!(h.hq.store().counts().await.unwrap().ledger, 0);
}

both!(
    a_referrers_points_booked_by_another_members_sale_reach_its_cached_fold,
    referrer_not_in_the_batch
);

/// A referred member's first purchase books points for the referrer too,
/// in a batch that never names the referrer: the referrer's cached fold
/// (which later batches are planned against and the figures sum) must take
/// them, as its ledger does.
async fn referrer_not_in_the_batch(backend: Backend) {
    let h = harness(backend).await;
    let mut till = h.provision("S001").await;
    let (referrer, member) = (new_member(), new_member());
    let (e1, referrer_entries) = till.enroll(referrer, "13800138071");
    let (e2, member_entries) = till.enroll(member, "13800138072");
    let (_, ack) = h.upload(&till, vec![e1, e2]).await;
    assert_eq!(ack.unwrap().applied, 2);
    let account = MemberAccount::fold(MemberAccount::new(member), &member_entries);
    let (sale, sale_entries) =
        till.referred_sale(&account, Some(referrer), 200, Default::default());
    let bonus: Vec<_> = sale_entries
        .iter()
        .filter(|e| e.member == referrer)
        .cloned()
        .collect();
    assert!(!bonus.is_empty(), "the rules book the referrer's reward");
    // Only a referral reward may be for someone else than the sale's member.
    let mut forged = sale.decode_body().unwrap();
    if let tillcard_protocol::wire::EventBody::SaleBooked { entries, .. } = &mut forged {
        for e in entries.iter_mut().filter(|e| e.member == referrer) {
            if let tillcard_rules::ledger::EntryKind::PointsEarned { reason, .. } = &mut e.kind {
                *reason = tillcard_rules::ledger::EarnReason::Purchase;
            }
        }
    }
    let refused = tillcard_hq::ingest::validate(&forged).unwrap_err();
    assert_eq!(refused.code, tillcard_hq::ingest::PoisonCode::Invalid);
    assert_eq!(
        refused.detail,
        "an entry is for another member than the event"
    );
    let (_, ack) = h.upload(&till, vec![sale]).await;
    let dead = h.hq.store().dead_letters().await.unwrap();
    assert_eq!(ack.unwrap().applied, 1, "{dead:?}");

    let store = h.hq.store();
    let (_, ledger) = store.member(referrer).await.unwrap().unwrap();
    let expected: Vec<_> = referrer_entries.iter().chain(&bonus).cloned().collect();
    assert_eq!(ledger, expected, "[{backend:?}] the referrer's ledger");
    let at = util::t0() + chrono::Duration::days(1);
    let points = |entries: &[tillcard_rules::ledger::LedgerEntry], who| {
        MemberAccount::fold(MemberAccount::new(who), entries).points_balance(at)
    };
    let all_member_entries: Vec<_> = member_entries
        .iter()
        .chain(sale_entries.iter().filter(|e| e.member == member))
        .cloned()
        .collect();
    let want = points(&expected, referrer) + points(&all_member_entries, member);
    let figures = h.figures_at(at).await;
    println!(
        "[{backend:?}] referral: referrer's ledger {} entries, points outstanding {} (want {want})",
        ledger.len(),
        figures["liabilities"]["points"]
    );
    assert!(points(&bonus, referrer) > 0);
    assert_eq!(
        figures["liabilities"]["points"].as_i64(),
        Some(want),
        "[{backend:?}] the figures (cached folds) count the referrer's reward"
    );
}

both!(
    concurrent_enrollments_of_one_phone_are_flagged_once,
    one_phone_two_terminals
);

/// Two stores enroll the same phones at the same moment (each its own new
/// member): for every phone exactly one enrollment is recorded as the
/// duplicate of the other, never neither.
async fn one_phone_two_terminals(backend: Backend) {
    let h = harness(backend).await;
    let (mut a, mut b) = h.two_stores().await;
    let phones = 12;
    let mut tasks = Vec::new();
    for i in 0..phones {
        let phone = format!("1370000{i:04}");
        for till in [&mut a, &mut b] {
            let (event, _) = till.enroll(new_member(), &phone);
            let creds = till.creds.clone();
            let h2 = util::Harness::shell(&h);
            let request = creds
                .upload_request(vec![event], chrono::Utc::now().timestamp())
                .unwrap();
            tasks.push(tokio::spawn(async move { h2.send(request).await.0 }));
        }
    }
    // Each terminal's events carry consecutive seqs; sent all at once they
    // arrive in any order, acked once the gaps fill.
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::OK);
    }
    let duplicates =
        h.hq.store()
            .conflicts()
            .await
            .unwrap()
            .into_iter()
            .filter(|c| c.kind == "duplicate_phone")
            .count();
    println!(
        "[{backend:?}] {phones} phones enrolled at two stores at once: {duplicates} duplicate_phone conflicts"
    );
    assert_eq!(duplicates, phones, "one duplicate per phone");
}

both!(
    an_old_action_replayed_after_many_newer_ones_is_still_dead_lettered,
    replay_below_the_cached_action_ids
);

/// Head office's cached fold keeps a member's newest action ids only
/// (`ingest::CACHED_SOURCES`). A batch with an older action is planned
/// against the whole ledger: a replay of the member's first top-up, sent
/// after many newer actions, is still refused, while an old action never
/// booked (from a terminal that was offline all along) is applied.
async fn replay_below_the_cached_action_ids(backend: Backend) {
    use tillcard_hq::ingest::CACHED_SOURCES;
    let h = harness(backend).await;
    let (mut a, mut offline) = h.two_stores().await;
    let member = new_member();
    let (enrollment, mut account) = a.enroll_account(member, "13900139000");
    // Booked at the offline terminal before any of A's top-ups: its action
    // id is older than all of them.
    let (late, _) = offline.top_up(&account, 7);
    let (first, entries) = a.top_up(&account, 1);
    account = MemberAccount::fold(account, &entries);
    let first_body = first.decode_body().unwrap();
    let mut events = vec![enrollment, first];
    for _ in 0..CACHED_SOURCES + 8 {
        let (event, entries) = a.top_up(&account, 1);
        account = MemberAccount::fold(account, &entries);
        events.push(event);
    }
    let topped_up = events.len() - 1;
    assert_eq!(h.upload(&a, events).await.0, StatusCode::OK);
    let replay = a.event(&first_body);
    let (_, replayed) = h.upload(&a, vec![replay]).await;
    let (_, late_ack) = h.upload(&offline, vec![late]).await;
    let (replayed, late_ack) = (replayed.unwrap(), late_ack.unwrap());
    let dead = h.hq.store().dead_letters().await.unwrap();
    let (_, ledger) = h.hq.store().member(member).await.unwrap().unwrap();
    let balance = MemberAccount::fold(MemberAccount::new(member), &ledger);
    println!(
        "[{backend:?}] old action after {topped_up} top-ups: replay applied {} dead {}; offline top-up applied {}; stored value {:?}; dead letters {:?}",
        replayed.applied,
        replayed.dead_lettered,
        late_ack.applied,
        balance.stored_value,
        dead.iter().map(|d| &d.reason).collect::<Vec<_>>()
    );
    assert_eq!((replayed.applied, replayed.dead_lettered), (0, 1));
    assert!(dead[0].reason.contains("already in the member's ledger"));
    assert_eq!(late_ack.applied, 1);
    assert_eq!(
        balance.stored_value.principal.fen(),
        (topped_up as i64 + 7) * 100,
        "every top-up once, the offline one included"
    );
    // The figures sum head office's cached fold: it must agree.
    let figures = h.figures_at(a.clock).await;
    assert_eq!(
        figures["liabilities"]["stored_value_principal_fen"].as_i64(),
        Some((topped_up as i64 + 7) * 100)
    );
}

both!(
    the_load_generators_batches_deal_members_in_turn_and_are_applied_whole,
    load_generator_batches
);

/// The load generator's sales mix: three members dealt in turn, enrolled
/// on their first visit, a top-up on every tenth visit, sales otherwise;
/// head office applies every event (the benchmark's figures count them).
async fn load_generator_batches(backend: Backend) {
    use tillcard_hq::loadgen::{Mix, Till};
    let h = harness(backend).await;
    let till = h.provision("S001").await;
    let mut generator = Till::new(till.creds.clone(), 3).with_mix(Mix::Sales);
    let batches: Vec<Vec<OutboxEvent>> = (0..4)
        .map(|_| generator.batch(10, util::t0()).unwrap())
        .collect();
    let mut kinds = std::collections::BTreeMap::new();
    let mut members = std::collections::BTreeSet::new();
    for event in batches.iter().flatten() {
        let body = event.decode_body().unwrap();
        *kinds.entry(body.kind()).or_insert(0) += 1;
        members.extend(body.member());
    }
    let mut applied = 0;
    for batch in batches {
        let (s, ack) = h.upload(&till, batch).await;
        assert_eq!(s, StatusCode::OK);
        let ack = ack.unwrap();
        assert_eq!(ack.dead_lettered, 0);
        applied += ack.applied;
    }
    println!(
        "[{backend:?}] load generator: {kinds:?} for {} members, applied {applied}",
        members.len()
    );
    assert_eq!(members.len(), 3);
    assert_eq!(kinds.get("member_enrolled"), Some(&3));
    // Seqs 31-33 are each member's tenth visit.
    assert_eq!(kinds.get("top_up"), Some(&3));
    assert_eq!(kinds.get("sale_booked"), Some(&34));
    assert_eq!(applied, 40);
}

/// Batches about more members than head office's lock budget take the
/// wide lock, exclusive, instead of a lock per member (a server's lock
/// table is shared and bounded). Here the budget is one: terminal A's
/// batches book for the member and for another one (wide), B's for the
/// member alone (a member lock), all at once. Neither may plan against a
/// fold the other is rewriting: the member's cached fold ends equal to its
/// ledger's.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wide_and_narrow_batches_about_one_member_keep_its_balances_postgres() {
    let backend = util::Backend::PostgresLockBudget(1);
    let h = harness(backend).await;
    let (mut a, mut b) = h.two_stores().await;
    let member = new_member();
    let (e, entries) = a.enroll(member, "13800138060");
    assert_eq!(h.upload(&a, vec![e]).await.0, StatusCode::OK);
    let opening = MemberAccount::fold(MemberAccount::new(member), &entries);
    let (rounds, per_batch) = (12usize, 3usize);
    let wide = top_up_batches(&mut a, &opening, rounds, per_batch, |till| {
        Some(till.top_up(&MemberAccount::new(new_member()), 1).0)
    });
    let narrow = top_up_batches(&mut b, &opening, rounds, per_batch, |_| None);
    let applied: Vec<u32> = upload_at_once(&h, [wide, narrow])
        .await
        .iter()
        .map(|acks| acks.iter().map(|a| a.applied).sum())
        .collect();
    let (_, ledger) = h.hq.store().member(member).await.unwrap().unwrap();
    let folded = MemberAccount::fold(MemberAccount::new(member), &ledger);
    let figures = h.figures_at(a.clock + chrono::Duration::days(1)).await;
    let principal = figures["liabilities"]["stored_value_principal_fen"]
        .as_i64()
        .unwrap();
    let member_top_ups = (2 * rounds * per_batch) as i64;
    let others = rounds as i64;
    println!(
        "[{backend:?}] wide (A) and narrow (B) batches at once: applied {applied:?}; member's ledger {} fen, figures (cached folds) {principal} fen",
        folded.stored_value.principal.fen()
    );
    assert_eq!(
        applied,
        vec![
            (rounds * (per_batch + 1)) as u32,
            (rounds * per_batch) as u32
        ]
    );
    assert_eq!(folded.stored_value.principal.fen(), member_top_ups * 1000);
    assert_eq!(
        principal,
        member_top_ups * 1000 + others * 100,
        "a cached fold lost another batch's entries"
    );
}

/// The same phones enrolled at two stores at once, every batch over a
/// lock budget of one key (a member and its phone are two): all take the
/// wide lock, and still each phone is flagged exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_enrollments_under_the_wide_lock_are_flagged_once_postgres() {
    one_phone_two_terminals(util::Backend::PostgresLockBudget(1)).await;
}

/// Head office sends a batch's BEGIN with its reads and its COMMIT with its
/// writes. A batch whose writes fail halfway (a trigger refuses one of its
/// events) and a cloned terminal's refused batch must still leave no
/// connection inside a transaction (it would hold the terminal's row lock
/// and stall its next batches): nothing of the failed batch is stored, and
/// the terminal's next batches apply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_and_refused_batches_leave_no_transaction_open_postgres() {
    let (h, url) = util::harness_postgres().await;
    let (side, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let open_transactions = || async {
        // The server ends a failed batch's transaction as it reads the
        // COMMIT queued behind it, or when head office closes the
        // connection: give it a moment.
        let mut open = 0;
        for _ in 0..50 {
            open = side
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity
                     WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
                    &[],
                )
                .await
                .unwrap()
                .get::<_, i64>(0);
            if open == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        open
    };
    let mut till = h.provision("S001").await;
    let first = till.simple_batch(new_member(), "13800138070", 4);
    assert_eq!(h.upload(&till, first.clone()).await.0, StatusCode::OK);

    let second = till.simple_batch(new_member(), "13800138071", 4);
    side.batch_execute(
        "CREATE FUNCTION refuse_seq_7() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN IF NEW.seq = 7 THEN RAISE EXCEPTION 'test: event 7 refused'; END IF;
         RETURN NEW; END $$;
         CREATE TRIGGER refuse_seq_7 BEFORE INSERT ON events
         FOR EACH ROW EXECUTE FUNCTION refuse_seq_7();",
    )
    .await
    .unwrap();
    let (failed, _) = h.upload(&till, second.clone()).await;
    let open_after_failure = open_transactions().await;
    let events_after_failure = h.hq.store().counts().await.unwrap().events;
    side.batch_execute("DROP TRIGGER refuse_seq_7 ON events")
        .await
        .unwrap();

    let forged = util::Till {
        next_seq: 2,
        ..till.clone()
    }
    .simple_batch(new_member(), "13800138072", 1);
    let (refused, _) = h.upload(&till, forged).await;
    let open_after_refusal = open_transactions().await;

    let (retried, ack) = h.upload(&till, second).await;
    let third = till.simple_batch(new_member(), "13800138073", 2);
    let (next, next_ack) = h.upload(&till, third).await;
    let events = h.hq.store().counts().await.unwrap().events;
    println!(
        "[Postgres] batch failing at its writes: {failed}, transactions left open {open_after_failure}, events stored {events_after_failure}; \
         cloned batch: {refused}, transactions left open {open_after_refusal}; \
         the failed batch again: {retried}, then the next: {next}; events stored {events}"
    );
    assert!(failed.is_server_error());
    assert_eq!(open_after_failure, 0);
    assert_eq!(
        events_after_failure, 4,
        "nothing of the failed batch stored"
    );
    assert_eq!(refused, StatusCode::CONFLICT);
    assert_eq!(open_after_refusal, 0);
    assert_eq!(retried, StatusCode::OK);
    assert_eq!(ack.unwrap().acked_seq, 8);
    assert_eq!(next, StatusCode::OK);
    assert_eq!(next_ack.unwrap().acked_seq, 10);
    assert_eq!(events, 10);
}

/// `rounds` batches of `per_batch` top-ups of ¥10 booked at `till` against
/// its own view of the member (from `opening`), each batch ending with
/// what `extra` books, if anything. Returns a copy of the terminal to
/// upload them with.
fn top_up_batches(
    till: &mut util::Till,
    opening: &MemberAccount,
    rounds: usize,
    per_batch: usize,
    mut extra: impl FnMut(&mut util::Till) -> Option<OutboxEvent>,
) -> (util::Till, Vec<Vec<OutboxEvent>>) {
    let mut view = opening.clone();
    let mut uploads = Vec::new();
    for _ in 0..rounds {
        let mut batch = Vec::new();
        for _ in 0..per_batch {
            let (e, entries) = till.top_up(&view, 10);
            view = MemberAccount::fold(view, &entries);
            batch.push(e);
        }
        batch.extend(extra(till));
        uploads.push(batch);
    }
    (till.clone(), uploads)
}

/// Uploads every terminal's batches in order, all terminals at once (a task
/// each); every upload must be accepted. Returns each terminal's acks.
async fn upload_at_once<const N: usize>(
    h: &util::Harness,
    work: [(util::Till, Vec<Vec<OutboxEvent>>); N],
) -> Vec<Vec<tillcard_protocol::wire::UploadAck>> {
    let tasks: Vec<_> = work
        .into_iter()
        .map(|(till, uploads)| {
            let h2 = util::Harness::shell(h);
            tokio::spawn(async move {
                let mut acks = Vec::new();
                for batch in uploads {
                    let (s, ack) = h2.upload(&till, batch).await;
                    assert_eq!(s, StatusCode::OK);
                    acks.push(ack.unwrap());
                }
                acks
            })
        })
        .collect();
    let mut acks = Vec::new();
    for t in tasks {
        acks.push(t.await.unwrap());
    }
    acks
}

/// Head office reads event bodies in one pass (not through serde's buffer
/// for internally tagged enums): every kind reads back equal from its JSON
/// with the kind first (as serialized), with keys sorted (as sent, the kind
/// last) and from a JSON tree; a missing field, a missing kind and an
/// unknown kind are refused in serde's words.
#[tokio::test]
async fn every_kind_of_event_body_reads_back_from_text_and_tree() {
    use tillcard_protocol::wire::EventBody;
    use tillcard_rules::ids::SourceId;
    use tillcard_rules::refund::RefundLine;

    let h = harness(Backend::Sqlite).await;
    let mut till = h.provision("S001").await;
    let member = new_member();
    let (enrolled, welcome) = till.enroll(member, "13800138090");
    let account = MemberAccount::fold(MemberAccount::new(member), &welcome);
    let (topped_up, _) = till.top_up(&account, 10);
    let (walk_in, _) = till.walk_in_sale(30);
    let bodies = vec![
        enrolled.decode_body().unwrap(),
        walk_in.decode_body().unwrap(),
        EventBody::Refunded {
            sale: SourceId(uuid::Uuid::now_v7()),
            refund: SourceId(uuid::Uuid::now_v7()),
            lines: vec![RefundLine {
                line: 0,
                quantity: 1,
            }],
            approved_by: "M01".into(),
            entries: vec![],
            tenders: None,
            sale_terminal: None,
        },
        topped_up.decode_body().unwrap(),
        EventBody::ManualAdjustment {
            member,
            reason: "goodwill".into(),
            approved_by: "M01".into(),
            entries: welcome.clone(),
        },
        EventBody::CouponIssued {
            member,
            entries: welcome,
        },
        EventBody::MemberErased { member },
    ];
    let mut kinds = std::collections::BTreeSet::new();
    for body in &bodies {
        kinds.insert(body.kind());
        let kind_first = serde_json::to_string(body).unwrap();
        let tree = serde_json::to_value(body).unwrap();
        let sorted = serde_json::to_string(&tree).unwrap();
        assert!(kind_first.starts_with("{\"type\""), "{kind_first}");
        assert!(!sorted.starts_with("{\"type\""), "{sorted}");
        assert_eq!(
            &serde_json::from_str::<EventBody>(&kind_first).unwrap(),
            body
        );
        assert_eq!(&serde_json::from_str::<EventBody>(&sorted).unwrap(), body);
        assert_eq!(&serde_json::from_value::<EventBody>(tree).unwrap(), body);
    }
    assert_eq!(kinds.len(), 7, "every kind once: {kinds:?}");

    let mut tree = serde_json::to_value(&bodies[3]).unwrap();
    let fields = tree.as_object_mut().unwrap();
    fields.remove("member");
    let refused = |tree: &serde_json::Value| {
        serde_json::from_value::<EventBody>(tree.clone())
            .unwrap_err()
            .to_string()
    };
    let missing_member = refused(&tree);
    let fields = tree.as_object_mut().unwrap();
    fields.insert("type".into(), "teleport".into());
    let unknown_kind = refused(&tree);
    tree.as_object_mut().unwrap().remove("type");
    let missing_kind = refused(&tree);
    println!("refused: {missing_member}; {unknown_kind}; {missing_kind}");
    assert_eq!(missing_member, "missing field `member`");
    assert!(
        unknown_kind.starts_with("unknown variant `teleport`, expected one of `member_enrolled`"),
        "{unknown_kind}"
    );
    assert_eq!(missing_kind, "missing field `type`");
}

/// Head office ingests a bounded number of uploads at once: with its one
/// turn held, an upload waits `UPLOAD_WAIT`, is refused `503 busy`
/// (retry later, nothing applied), and goes through once the turn is free.
#[tokio::test]
async fn an_upload_with_no_turn_to_ingest_is_refused_busy_and_applies_when_sent_again() {
    use std::sync::Arc;
    use tillcard_hq::service::{Hq, UPLOAD_WAIT};
    let h = harness(Backend::Sqlite).await;
    let hq = Hq::open(Arc::clone(h.hq.store()), Some(util::ADMIN.into()))
        .await
        .unwrap()
        .with_uploads_at_once(1);
    let node = util::Harness::over(Arc::new(hq), None);
    let mut till = node.provision("S001").await;
    let batch = till.simple_batch(new_member(), "13800138000", 5);
    let request = || {
        till.creds
            .upload_request(batch.clone(), chrono::Utc::now().timestamp())
            .unwrap()
    };
    let turn = node.hq.upload_turn().await.unwrap();
    let waited = std::time::Instant::now();
    let (status, body) = node.send(request()).await;
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "busy", "{body}");
    assert_eq!(body["class"], "retry_later", "{body}");
    assert!(
        waited.elapsed() >= UPLOAD_WAIT,
        "it waited for a turn first"
    );
    assert_eq!(
        node.hq.store().counts().await.unwrap().events,
        0,
        "nothing applied"
    );
    assert_eq!(node.hq.metrics().uploads_busy.get(), 1);
    drop(turn);
    let (status, body) = node.send(request()).await;
    assert_eq!(status, StatusCode::OK);
    let ack = tillcard_protocol::client::decode_ack(&body).unwrap();
    assert_eq!(ack.acked_seq, 5);
    println!(
        "busy after {:?}, then acknowledged up to seq {}",
        waited.elapsed(),
        ack.acked_seq
    );
}
