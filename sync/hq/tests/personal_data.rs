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

/// A phone, name and birthday written in plain by a head office from
/// before (the SQLite schema after the migrations, whose plain columns only
/// head office's start-up drops; the PostgreSQL schema as of migration 14),
/// then head office started on it: each member opens and is found by phone.
async fn upgrade_scenario(
    store: std::sync::Arc<dyn tillcard_hq::store::Store>,
    write_plain: impl std::future::Future<Output = Vec<MemberId>>,
) -> Vec<MemberId> {
    let members = write_plain.await;
    let hq = tillcard_hq::service::Hq::open(store, None).await.unwrap();
    let keys = PersonalKeys::for_tests();
    for (i, member) in members.iter().enumerate() {
        let (record, _) = hq.store().member(*member).await.unwrap().unwrap();
        let opened = record.test_personal();
        assert_eq!(opened.phone, Some(phone(i)), "member {i} opens");
        assert_eq!(opened.name.as_deref(), Some("张三"));
        assert_eq!(opened.birthday.map(|b| (b.month, b.day)), Some((5, 17)));
        let hits = hq
            .store()
            .members_by_phone_key(&keys.phone_key(&phone(i)))
            .await
            .unwrap();
        assert_eq!(hits, vec![*member], "member {i} found by phone");
    }
    members
}

const PLAIN_ROWS: usize = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn plain_rows_of_an_older_sqlite_head_office_are_encrypted_at_start_up() {
    use tillcard_hq::store::Store as _;
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("hq.sqlite");
    let store = tillcard_hq::store::sqlite::SqliteStore::open(&path).unwrap();
    store.migrate().await.unwrap();
    let plain = async {
        let c = rusqlite::Connection::open(&path).unwrap();
        let mut members = Vec::new();
        for i in 0..PLAIN_ROWS {
            let member = new_member();
            c.execute(
                "INSERT INTO members (member_id, phone, name, birthday, phone_key)
                 VALUES (?1, ?2, '张三', '{\"month\":5,\"day\":17}', 'old')",
                rusqlite::params![member.to_string(), phone(i)],
            )
            .unwrap();
            members.push(member);
        }
        members
    };
    let members = upgrade_scenario(std::sync::Arc::new(store), plain).await;
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend(std::fs::read(path.with_extension("sqlite-wal")).unwrap_or_default());
    let plain_left: usize = needles().iter().map(|n| count(&bytes, n)).sum();
    let c = rusqlite::Connection::open(&path).unwrap();
    let plain_columns: i64 = c
        .query_row(
            "SELECT count(*) FROM pragma_table_info('members')
             WHERE name IN ('phone', 'name', 'birthday')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    println!(
        "sqlite upgrade: {} plain members encrypted and found by phone; plain columns left {plain_columns}; plain values in the file {plain_left}",
        members.len()
    );
    assert_eq!((plain_columns, plain_left), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn plain_rows_of_an_older_postgres_head_office_are_encrypted_at_start_up() {
    use tillcard_hq::store::postgres::{MIGRATIONS, PgStore};
    let url = util::pg::fresh_database().await;
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let plain = async {
        client
            .batch_execute("CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY)")
            .await
            .unwrap();
        for (n, sql) in MIGRATIONS[..14].iter().enumerate() {
            client.batch_execute(sql).await.unwrap();
            client
                .execute(
                    "INSERT INTO schema_migrations (version) VALUES ($1)",
                    &[&(n as i64 + 1)],
                )
                .await
                .unwrap();
        }
        let mut members = Vec::new();
        for i in 0..PLAIN_ROWS {
            let member = new_member();
            client
                .execute(
                    "INSERT INTO members (member_id, phone, name, birthday, phone_key)
                     VALUES ($1, $2, '张三', '{\"month\":5,\"day\":17}', 'old')",
                    &[&member.to_string(), &phone(i)],
                )
                .await
                .unwrap();
            members.push(member);
        }
        members
    };
    let store = PgStore::connect(&url).await.unwrap();
    let members = upgrade_scenario(std::sync::Arc::new(store), plain).await;
    let rows = client
        .query("SELECT m::text FROM members m", &[])
        .await
        .unwrap();
    let text: String = rows.iter().map(|r| r.get::<_, String>(0)).collect();
    let plain_left: usize = needles()
        .iter()
        .map(|n| text.matches(n.as_str()).count())
        .sum();
    let plain_columns: i64 = client
        .query_one(
            "SELECT count(*) FROM information_schema.columns
             WHERE table_name = 'members' AND column_name IN ('phone', 'name', 'birthday')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    println!(
        "postgres upgrade: {} plain members encrypted and found by phone; plain columns left {plain_columns}; plain values in the rows {plain_left}",
        members.len()
    );
    assert_eq!((plain_columns, plain_left), (0, 0));
}
