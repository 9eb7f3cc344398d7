//! Personal data at head office encrypted at rest (`tillcard_hq::personal`):
//! after enrollments through the normal path (sealed uploads), neither the
//! SQLite file (with its WAL) nor PostgreSQL's raw rows hold a phone, a
//! name or a birthday in plain, yet a phone still finds its member; and an
//! erasure crypto-shreds: the ciphertext taken before (as from a copy)
//! no longer opens, its data key being gone.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]
// clippy.toml keeps database connections in the store modules; this test
// reads the database's raw rows directly.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod util;

use axum::http::StatusCode;
use tillcard_hq::personal::{OpenError, PersonalKeys};
use tillcard_rules::MemberId;
use util::{Harness, new_member};

const MEMBERS: usize = 20;

fn phone(i: usize) -> String {
    format!("139{:08}", 40_000_000 + i * 7_919)
}

/// What must not be found in plain: every phone, the name, the birthday
/// (as the JSON it was stored as before, and as `MM-DD`).
fn needles() -> Vec<String> {
    let mut needles: Vec<String> = (0..MEMBERS).map(phone).collect();
    needles.extend([
        "张三".to_string(),
        r#"{"month":5,"day":17}"#.to_string(),
        "05-17".to_string(),
    ]);
    needles
}

/// Enrolls [`MEMBERS`] members at one terminal through the upload path.
async fn enroll_members(h: &Harness) -> Vec<MemberId> {
    let mut till = h.provision("S001").await;
    let mut members = Vec::new();
    let mut events = Vec::new();
    for i in 0..MEMBERS {
        let member = new_member();
        let (event, _) = till.enroll(member, &phone(i));
        events.push(event);
        members.push(member);
    }
    let (status, _) = h.upload(&till, events).await;
    assert_eq!(status, StatusCode::OK);
    members
}

/// Each phone finds its member through the keyed hash (as member care's
/// search does), and opens to itself: how many did.
async fn lookups(h: &Harness, members: &[MemberId]) -> usize {
    let keys = PersonalKeys::for_tests();
    let mut found = 0;
    for (i, member) in members.iter().enumerate() {
        let hits =
            h.hq.store()
                .members_by_phone_key(&keys.phone_key(&phone(i)))
                .await
                .unwrap();
        let (record, _) = h.hq.store().member(*member).await.unwrap().unwrap();
        if hits == vec![*member] && record.test_personal().phone == Some(phone(i)) {
            found += 1;
        }
    }
    found
}

fn count(haystack: &[u8], needle: &str) -> usize {
    let needle = needle.as_bytes();
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sqlite_file_holds_no_personal_data_in_plain_and_phones_still_find_members() {
    let (h, path) = util::harness_sqlite().await;
    let members = enroll_members(&h).await;
    let found = lookups(&h, &members).await;
    let mut bytes = std::fs::read(&path).unwrap();
    let wal = path.with_extension("sqlite-wal");
    let wal_bytes = std::fs::read(&wal).unwrap_or_default().len();
    bytes.extend(std::fs::read(&wal).unwrap_or_default());
    let hits: Vec<(String, usize)> = needles()
        .into_iter()
        .map(|n| {
            let c = count(&bytes, &n);
            (n, c)
        })
        .filter(|(_, c)| *c > 0)
        .collect();
    let masked = count(&bytes, "139****");
    println!(
        "sqlite: {MEMBERS} members enrolled; scanned {} bytes (WAL {wal_bytes}) for {} plain values: found {hits:?}; masked phones seen {masked}; lookups by phone found {found}/{MEMBERS}",
        bytes.len(),
        needles().len()
    );
    assert!(masked > 0, "the scan reads the members' rows");
    assert!(hits.is_empty(), "plain personal data in the file: {hits:?}");
    assert_eq!(found, MEMBERS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_raw_rows_hold_no_personal_data_in_plain_and_phones_still_find_members() {
    let (h, url) = util::harness_postgres().await;
    let members = enroll_members(&h).await;
    let found = lookups(&h, &members).await;
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    // Every row of every table of head office's schema, as text.
    let tables: Vec<String> = client
        .query(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut text = String::new();
    let mut rows = 0;
    for table in &tables {
        for row in client
            .query(&format!("SELECT t::text FROM \"{table}\" t"), &[])
            .await
            .unwrap()
        {
            text.push_str(row.get::<_, &str>(0));
            text.push('\n');
            rows += 1;
        }
    }
    let hits: Vec<(String, usize)> = needles()
        .into_iter()
        .map(|n| (n.clone(), text.matches(&n).count()))
        .filter(|(_, c)| *c > 0)
        .collect();
    let keys: i64 = client
        .query_one("SELECT count(*) FROM member_keys", &[])
        .await
        .unwrap()
        .get(0);
    println!(
        "postgres: {MEMBERS} members enrolled; {rows} raw rows of {} tables scanned ({} characters) for {} plain values: found {hits:?}; wrapped data keys {keys}; lookups by phone found {found}/{MEMBERS}",
        tables.len(),
        text.len(),
        needles().len()
    );
    assert!(text.contains("139****"), "the scan reads the members' rows");
    assert!(hits.is_empty(), "plain personal data in the rows: {hits:?}");
    assert_eq!(keys, MEMBERS as i64);
    assert_eq!(found, MEMBERS);
}

both!(
    erasure_crypto_shreds_the_ciphertext_kept_from_before,
    crypto_shred
);

async fn crypto_shred(backend: util::Backend) {
    let h = util::harness(backend).await;
    let members = enroll_members(&h).await;
    let (erased, kept) = (members[0], members[1]);
    let keys = PersonalKeys::for_tests();
    // The ciphertext as a copy would hold it (a dump of members' rows).
    let (before, _) = h.hq.store().member(erased).await.unwrap().unwrap();
    let copy = before.personal.clone();
    let wrapped = copy.wrapped_dek.clone().unwrap();
    assert_eq!(
        keys.open(erased, &copy).unwrap().phone,
        Some(phone(0)),
        "opens while the member's data key exists"
    );
    let (s, _) = h
        .admin_post(
            &format!("/v1/admin/members/{erased}/erase"),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (after, _) = h.hq.store().member(erased).await.unwrap().unwrap();
    let dek_rows = h.hq.store().find_text(&wrapped).await.unwrap();
    let ciphertext_rows =
        h.hq.store()
            .find_text(copy.phone.as_deref().unwrap())
            .await
            .unwrap();
    // What the database holds for the member now, beside the copied
    // ciphertext: no data key, so nothing opens it.
    let with_current_key = tillcard_hq::personal::SealedPersonal {
        wrapped_dek: after.personal.wrapped_dek.clone(),
        key_version: after.personal.key_version,
        ..copy.clone()
    };
    let reopened = keys.open(erased, &with_current_key);
    // Another member's data key (still held) does not open it either.
    let (other, _) = h.hq.store().member(kept).await.unwrap().unwrap();
    let with_other_key = tillcard_hq::personal::SealedPersonal {
        wrapped_dek: other.personal.wrapped_dek.clone(),
        ..copy.clone()
    };
    let borrowed = keys.open(erased, &with_other_key);
    println!(
        "[{backend:?}] crypto-shred: wrapped key rows after erasure {dek_rows:?}, ciphertext rows {ciphertext_rows:?}; copied ciphertext with the database's key now: {reopened:?}; with another member's key: {}",
        borrowed.is_ok()
    );
    assert!(after.erased && after.personal.wrapped_dek.is_none());
    assert!(dek_rows.is_empty() && ciphertext_rows.is_empty());
    assert_eq!(reopened, Err(OpenError::NoKey));
    assert!(borrowed.is_err());
    assert_eq!(other.test_personal().phone, Some(phone(1)), "others kept");
}
