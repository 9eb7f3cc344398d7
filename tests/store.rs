//! The store's business actions, clerks, audit chain and migrations.

// clippy.toml keeps database connections in the store modules; this test inspects or breaks the database directly.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use rusqlite::Connection;
use tillcard::clock::Clock;
use tillcard::rules::booking::{BookingError, TopUp};
use tillcard::rules::pricing::{StoredValueRequest, TenderRequest};
use tillcard::rules::refund::RefundLine;
use tillcard::rules::tenders::{Payment, TenderKind};
use tillcard::rules::{Money, SourceId};
use tillcard::store::audit::AuditBroken;
use tillcard::store::schema;
use tillcard::store::{StoreError, migrate};
use util::store::*;

fn count(path: &std::path::Path, table: &str) -> i64 {
    let conn = raw(path);
    conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn enrolling_a_phone_already_enrolled_is_refused_with_a_clear_message() {
    let mut t = open_store();
    let clerk = cashier(&mut t.store);
    let first = t.store.enroll(&clerk, &enroll_request(1)).unwrap();
    assert_eq!(first.member.phone_masked, "138****0001");
    assert_eq!(first.member.name_masked, "张*");
    for variant in ["13800000001", "138 0000 0001", "+86 138-0000-0001"] {
        let mut again = enroll_request(1);
        again.phone = variant.into();
        let error = t.store.enroll(&clerk, &again).unwrap_err();
        assert!(
            matches!(error, StoreError::DuplicatePhone { .. }),
            "{variant}: {error:?}"
        );
        assert!(error.to_string().contains("already enrolled"), "{error}");
        assert!(
            !error.to_string().contains("13800000001"),
            "raw phone in message: {error}"
        );
    }
    assert_eq!(count(&t.path(), "members"), 1);
    let found = t
        .store
        .find_member_by_phone("138-0000-0001")
        .unwrap()
        .unwrap();
    assert_eq!(found.id, first.member.id);
}

#[test]
fn enrollment_needs_consent_and_a_real_mobile_number() {
    let mut t = open_store();
    let clerk = cashier(&mut t.store);
    let mut no_consent = enroll_request(2);
    no_consent.consent = false;
    assert!(matches!(
        t.store.enroll(&clerk, &no_consent),
        Err(StoreError::NoConsent)
    ));
    let mut bad = enroll_request(2);
    bad.phone = "2380000".into();
    assert!(matches!(
        t.store.enroll(&clerk, &bad),
        Err(StoreError::InvalidPhone)
    ));
    assert_eq!(count(&t.path(), "members"), 0);
    assert_eq!(count(&t.path(), "outbox"), 0);
}

#[test]
fn the_raw_phone_and_name_are_never_stored() {
    let mut t = open_store();
    let clerk = cashier(&mut t.store);
    enroll(&mut t.store, &clerk, 7);
    drop(t.store);
    let bytes = std::fs::read(t.dir.path().join("terminal.sqlite")).unwrap();
    let wal = std::fs::read(t.dir.path().join("terminal.sqlite-wal")).unwrap_or_default();
    for haystack in [&bytes, &wal] {
        let text = String::from_utf8_lossy(haystack);
        assert!(!text.contains("13800000007"), "raw phone stored");
        assert!(!text.contains("张伟"), "raw name stored");
    }
}

#[test]
fn a_sale_writes_its_ledger_entries_outbox_event_and_audit_row_together() {
    let (mut t, clerk, member) = open_store_with_member();
    t.store
        .top_up(&clerk, member.id, &TopUp::Package("500+50".into()))
        .unwrap();
    let coupon = t.store.account(member.id).unwrap().coupons[0].coupon.id;
    let tender = TenderRequest {
        coupons: vec![coupon],
        redeem_points: 0,
        stored_value: StoredValueRequest::AsMuchAsPossible,
    };
    let quote = t
        .store
        .price(Some(member.id), &basket(2, 40), &tender, false)
        .unwrap();
    // 40 + 80 = 120, welcome coupon ¥10 off ¥50 -> 110, all from stored value.
    assert_eq!(quote.total, Money::from_yuan(110));
    assert_eq!(quote.stored_value_used(), Money::from_yuan(110));
    assert_eq!(quote.amount_due, Money::ZERO);
    let receipt = t
        .store
        .commit_sale(
            &clerk,
            &quote,
            &Payment::single(TenderKind::Cash, quote.amount_due),
        )
        .unwrap();
    assert_eq!(receipt.seq, 3, "enroll = 1, top-up = 2, sale = 3");

    let account = t.store.account(member.id).unwrap();
    assert_eq!(account.stored_value.total(), Money::from_yuan(550 - 110));
    assert_eq!(
        account.points_balance(t.clock.now()),
        110,
        "110 yuan paid with stored value earns 110 points"
    );
    assert_eq!(account.usable_coupons(t.clock.now()).count(), 0);

    let conn = raw(&t.path());
    let seqs: Vec<i64> = conn
        .prepare("SELECT seq FROM outbox ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(seqs, vec![1, 2, 3]);
    let sale_entries: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM ledger WHERE source_id = ?1 AND event_seq = 3",
            [receipt.sale.0.to_string()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(sale_entries as usize, receipt.entries.len());
    let audited: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM audit WHERE action = 'sale' AND subject = ?1",
            [receipt.sale.0.to_string()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audited, 1);
    let status = t.store.outbox_status().unwrap();
    assert_eq!((status.pending, status.last_seq), (3, 3));
}

#[test]
fn committing_the_same_quote_twice_is_refused_and_books_nothing() {
    let (mut t, clerk, member) = open_store_with_member();
    let quote = quote(&t.store, Some(member.id), 1, 30);
    t.store
        .commit_sale(
            &clerk,
            &quote,
            &Payment::single(TenderKind::Cash, quote.amount_due),
        )
        .unwrap();
    let again = t
        .store
        .commit_sale(
            &clerk,
            &quote,
            &Payment::single(TenderKind::Cash, quote.amount_due),
        )
        .unwrap_err();
    assert!(
        matches!(again, StoreError::Booking(BookingError::AlreadyBooked(id)) if id == quote.id)
    );
    assert_eq!(count(&t.path(), "sales"), 1);
    assert_eq!(count(&t.path(), "outbox"), 2);
}

#[test]
fn a_walk_in_sale_is_recorded_without_ledger_entries() {
    let mut t = open_store();
    let clerk = cashier(&mut t.store);
    let quote = quote(&t.store, None, 1, 30);
    let receipt = t
        .store
        .commit_sale(
            &clerk,
            &quote,
            &Payment::single(TenderKind::Cash, quote.amount_due),
        )
        .unwrap();
    assert!(receipt.entries.is_empty());
    assert_eq!(count(&t.path(), "sales"), 1);
    assert_eq!(count(&t.path(), "ledger"), 0);
}

#[test]
fn refund_and_adjustment_need_a_manager_pin_and_record_who_approved() {
    let (mut t, clerk, member) = open_store_with_member();
    let quote = quote(&t.store, Some(member.id), 2, 40);
    let sale = t
        .store
        .commit_sale(
            &clerk,
            &quote,
            &Payment::single(TenderKind::Cash, quote.amount_due),
        )
        .unwrap();

    assert!(matches!(
        t.store.approve(CASHIER.0, CASHIER.1),
        Err(StoreError::NotAManager)
    ));
    assert!(matches!(
        t.store.approve(MANAGER.0, "0000"),
        Err(StoreError::WrongPin { .. })
    ));
    let approval = t.store.approve(MANAGER.0, MANAGER.1).unwrap();

    let receipt = t
        .store
        .refund(
            &clerk,
            &approval,
            sale.sale,
            &[RefundLine {
                line: 1,
                quantity: 1,
            }],
        )
        .unwrap();
    // Line 1 is 2 × ¥40; refunding one unit gives back ¥40.
    assert_eq!(receipt.outcome.money, Money::from_yuan(40));
    let conn = raw(&t.path());
    let approved_by: String = conn
        .query_row("SELECT approved_by FROM refunds", [], |r| r.get(0))
        .unwrap();
    assert_eq!(approved_by, MANAGER.0);

    t.store
        .adjust_points(&clerk, &approval, member.id, 50, "goodwill")
        .unwrap();
    let subject: String = conn
        .query_row(
            "SELECT subject FROM audit WHERE action = 'adjust_points'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        subject.ends_with(&format!("approved by {}", MANAGER.0)),
        "{subject}"
    );
    // Taking away more than the member has is refused and books nothing.
    let before = count(&t.path(), "ledger");
    assert!(
        t.store
            .adjust_points(&clerk, &approval, member.id, -100_000, "typo")
            .is_err()
    );
    assert_eq!(count(&t.path(), "ledger"), before);
}

#[test]
fn five_wrong_pins_lock_the_clerk_out_until_the_lockout_ends() {
    let mut t = open_store();
    for attempt in 1..=4 {
        match t.store.login(CASHIER.0, "1111") {
            Err(StoreError::WrongPin { attempts_left }) => assert_eq!(attempts_left, 5 - attempt),
            other => panic!("attempt {attempt}: {other:?}"),
        }
    }
    assert!(matches!(
        t.store.login(CASHIER.0, "1111"),
        Err(StoreError::Locked { .. })
    ));
    // Locked: even the right PIN is refused.
    assert!(matches!(
        t.store.login(CASHIER.0, CASHIER.1),
        Err(StoreError::Locked { .. })
    ));
    t.clock.advance(chrono::Duration::seconds(30));
    assert!(t.store.login(CASHIER.0, CASHIER.1).is_ok());
    // A success resets the count.
    assert!(matches!(
        t.store.login(CASHIER.0, "1111"),
        Err(StoreError::WrongPin { attempts_left: 4 })
    ));
    assert_eq!(
        t.store.verify_audit_chain().unwrap(),
        Ok(count(&t.path(), "audit") as u64)
    );
}

fn audited_store() -> TestStore {
    let mut t = open_store();
    let clerk = cashier(&mut t.store);
    for n in 0..3 {
        enroll(&mut t.store, &clerk, n);
    }
    t
}

#[test]
fn the_audit_chain_detects_an_edited_row() {
    let t = audited_store();
    let rows = t.store.verify_audit_chain().unwrap().unwrap();
    assert!(rows >= 5);
    let raw = raw(&t.path());
    raw.execute("UPDATE audit SET clerk_id = 'm1' WHERE seq = 4", [])
        .unwrap();
    assert_eq!(
        t.store.verify_audit_chain().unwrap(),
        Err(AuditBroken::Edited(4))
    );
}

#[test]
fn the_audit_chain_detects_a_deleted_row_in_the_middle_and_at_the_end() {
    let t = audited_store();
    let raw = raw(&t.path());
    let last: i64 = raw
        .query_row("SELECT MAX(seq) FROM audit", [], |r| r.get(0))
        .unwrap();
    raw.execute("DELETE FROM audit WHERE seq = ?1", [last])
        .unwrap();
    assert_eq!(
        t.store.verify_audit_chain().unwrap(),
        Err(AuditBroken::HeadMismatch {
            expected: last,
            found: last - 1
        })
    );
    raw.execute("DELETE FROM audit WHERE seq = 3", []).unwrap();
    assert_eq!(
        t.store.verify_audit_chain().unwrap(),
        Err(AuditBroken::Unlinked(4))
    );
}

#[test]
fn migrations_run_from_an_empty_file_and_from_every_earlier_version() {
    let latest = schema::latest_version();
    assert!(latest >= 3);
    for from in 0..=latest {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("terminal.sqlite");
        {
            let mut conn = Connection::open(&path).unwrap();
            assert_eq!(migrate(&mut conn, from).unwrap(), from);
            if from >= 1 {
                // Data written by that version must survive the upgrade.
                conn.execute(
                    "INSERT INTO terminal (id, terminal_id, phone_key, next_seq) VALUES (1, 'T-OLD', zeroblob(32), 8)",
                    [],
                )
                .unwrap();
                conn.execute(
                    "INSERT INTO members (member_id, phone_masked, name_masked, enrolled_at)
                     VALUES ('0190b3a0-0000-7000-8000-000000000001', '138****0001', '张*', '2026-01-01T00:00:00+08:00')",
                    [],
                )
                .unwrap();
            }
        }
        let t = open_file(&path).unwrap();
        let conn = raw(&path);
        let version: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, latest, "from version {from}");
        if from >= 1 {
            assert_eq!(count(&path, "members"), 1, "from version {from}");
            let next: i64 = conn
                .query_row("SELECT next_seq FROM terminal", [], |r| r.get(0))
                .unwrap();
            assert_eq!(next, 8, "from version {from}");
        }
        assert_eq!(t.verify_audit_chain().unwrap(), Ok(0));
    }
}

/// Writes `n` audit rows chained the way schema 12 did (SHA-256, no key),
/// with the head on `terminal`.
fn unkeyed_rows(conn: &Connection, n: i64) {
    use sha2::{Digest, Sha256};
    let mut prev = vec![0u8; 32];
    for seq in 1..=n {
        let at = format!("2026-01-01T00:00:0{seq}+08:00");
        let fields = [
            seq.to_string(),
            at.clone(),
            "c1".into(),
            "login".into(),
            "ok".into(),
        ];
        let mut hasher = Sha256::new();
        hasher.update(&prev);
        for field in &fields {
            hasher.update((field.len() as u64).to_le_bytes());
            hasher.update(field.as_bytes());
        }
        let hash = hasher.finalize().to_vec();
        conn.execute(
            "INSERT INTO audit (seq, at, clerk_id, action, subject, prev_hash, hash)
             VALUES (?1, ?2, 'c1', 'login', 'ok', ?3, ?4)",
            rusqlite::params![seq, at, prev, hash],
        )
        .unwrap();
        conn.execute(
            "UPDATE terminal SET audit_head_seq = ?1, audit_head_hash = ?2",
            rusqlite::params![seq, hash],
        )
        .unwrap();
        prev = hash;
    }
}

#[test]
fn an_unkeyed_chain_from_before_is_rechained_under_the_key_with_a_marker_row() {
    let mut outcomes = Vec::new();
    for edited in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("terminal.sqlite");
        {
            let mut conn = Connection::open(&path).unwrap();
            migrate(&mut conn, 12).unwrap();
            conn.execute(
                "INSERT INTO terminal (id, terminal_id, phone_key, next_seq) VALUES (1, 'T-OLD', zeroblob(32), 1)",
                [],
            )
            .unwrap();
            unkeyed_rows(&conn, 3);
            if edited {
                conn.execute("UPDATE audit SET subject = 'edited' WHERE seq = 2", [])
                    .unwrap();
            }
        }
        let t = open_file(&path).unwrap();
        let verdict = t.verify_audit_chain().unwrap();
        let marker = t.recent_audit(1).unwrap().remove(0);
        let conn = raw(&path);
        let key: Vec<u8> = conn
            .query_row("SELECT audit_key FROM terminal", [], |r| r.get(0))
            .unwrap();
        println!(
            "unkeyed chain of 3 rows (row 2 edited before the upgrade: {edited}): keyed chain verifies {verdict:?}, key {} bytes, marker row {} {:?} {:?}",
            key.len(),
            marker.seq,
            marker.action,
            marker.subject
        );
        assert_eq!(verdict, Ok(4));
        assert_eq!(key.len(), 32);
        assert_eq!((marker.seq, marker.action.as_str()), (4, "audit_keyed"));
        outcomes.push(marker.subject);
        // Opened again: keyed already, nothing re-chained or appended.
        drop(t);
        assert_eq!(
            open_file(&path).unwrap().verify_audit_chain().unwrap(),
            Ok(4)
        );
    }
    assert_eq!(outcomes[0], "rows 3");
    assert_eq!(outcomes[1], "rows 3; unkeyed chain: audit row 2 was edited");
}

#[test]
fn a_file_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("terminal.sqlite");
    raw(&path)
        .pragma_update(None, "user_version", schema::latest_version() + 1)
        .unwrap();
    let error = open_file(&path).unwrap_err();
    assert!(matches!(error, StoreError::TooNew { .. }), "{error:?}");
}

#[test]
fn a_damaged_file_is_refused_with_a_clear_message_and_kept_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("terminal.sqlite");
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&path, &garbage).unwrap();
    let error = open_file(&path).unwrap_err();
    // Encrypted, a damaged file and a wrong key look alike: the page
    // HMACs fail. Either way it is refused, kept, and said in words.
    assert!(
        matches!(error, StoreError::WrongKey { plain: false }),
        "{error:?}"
    );
    assert!(error.to_string().contains("kept for support"), "{error}");
    assert_eq!(std::fs::read(&path).unwrap(), garbage);
}

#[test]
fn provisional_balance_is_the_snapshot_plus_this_terminals_unsynced_events() {
    use tillcard::rules::account::MemberAccount;
    use tillcard::rules::ids::LotId;
    use tillcard::rules::ledger::{EarnReason, EntryKind, LedgerEntry};
    let (mut t, clerk, member) = open_store_with_member();
    let now = t.clock.now();
    // Head office says: 1,000 points (earned at another store).
    let other_store_sale = SourceId(uuid::Uuid::from_u128(99));
    let snapshot = MemberAccount::fold(
        MemberAccount::new(member.id),
        &[LedgerEntry {
            member: member.id,
            source: other_store_sale,
            at: now,
            kind: EntryKind::PointsEarned {
                lot: LotId(other_store_sale),
                points: 1_000,
                expires_at: now + chrono::Duration::days(300),
                reason: EarnReason::Purchase,
            },
        }],
    );
    t.store.apply_member_snapshot(&member, &snapshot).unwrap();
    let tender = TenderRequest {
        redeem_points: 200,
        ..TenderRequest::default()
    };
    let quote = t
        .store
        .price(Some(member.id), &basket(1, 50), &tender, false)
        .unwrap();
    assert_eq!(quote.points_redeemed, 200);
    let sale = t
        .store
        .commit_sale(
            &clerk,
            &quote,
            &Payment::single(TenderKind::Cash, quote.amount_due),
        )
        .unwrap();
    // 1,000 - 200 redeemed + 48 earned on ¥48 paid.
    assert_eq!(t.store.account(member.id).unwrap().points_balance(now), 848);

    // Head office's next snapshot already contains this sale: not counted twice.
    let mut synced = snapshot.clone();
    for entry in &sale.entries {
        synced.apply(entry);
    }
    t.store.apply_member_snapshot(&member, &synced).unwrap();
    assert_eq!(t.store.account(member.id).unwrap().points_balance(now), 848);
}

#[test]
fn the_latest_tier_change_is_found_through_its_partial_index_which_sales_leave_empty() {
    let mut t = open_store();
    let clerk = cashier(&mut t.store);
    let member = enroll(&mut t.store, &clerk, 1).id;
    for _ in 0..3 {
        let q = quote(&t.store, Some(member), 2, 30);
        t.store
            .commit_sale(&clerk, &q, &Payment::single(TenderKind::Cash, q.amount_due))
            .unwrap();
    }
    let raw = raw(&t.path());
    let plan: Vec<String> = raw
        .prepare(
            "EXPLAIN QUERY PLAN SELECT body FROM ledger WHERE member_id = ?1 \
             AND kind = 'tier_changed' ORDER BY id DESC LIMIT 1",
        )
        .unwrap()
        .query_map([member.0.to_string()], |r| r.get::<_, String>(3))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    println!("plan: {plan:?}");
    assert!(plan.iter().any(|step| step.contains("ledger_tier_changes")));
    let (ledger_rows, indexed): (i64, i64) = raw
        .query_row(
            "SELECT (SELECT count(*) FROM ledger), \
             (SELECT count(*) FROM ledger INDEXED BY ledger_tier_changes WHERE kind = 'tier_changed')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    println!("{ledger_rows} ledger rows, {indexed} in the tier-change index");
    assert!(ledger_rows >= 3);
    assert_eq!(indexed, 0);
}
