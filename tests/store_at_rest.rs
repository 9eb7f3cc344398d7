//! The terminal's store at rest (issue 21): after real use (registration
//! with head office, enrollments, sales, a sync), a copy of the
//! whole data directory (without the key directory) opens in no sqlcipher
//! and holds no phone, name, member id or key material; the store key
//! seals and unseals through a TPM2 (swtpm, started here) and the host key;
//! a plain store from the previous version keeps its data, encrypted.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

#[path = "util/sync.rs"]
mod sync_util;
mod util;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tillcard::clock::{FakeClock, SystemClock};
use tillcard::config::TerminalConfig;
use tillcard::rules::tenders::{Payment, TenderKind};
use tillcard::saved_files::SavedFiles;
use tillcard::store::PinHashCost;
use tillcard::store::clerks::Role;
use tillcard::store::handle::StoreHandle;
use tillcard::store_key::{HostSealer, KeyVault, Sealer, Sealing, StoreKey, Tpm2Sealer};
use tillcard::uplink::provision;
use util::store::*;

fn terminal_config(root: &Path, sealing: Sealing) -> TerminalConfig {
    TerminalConfig {
        data_dir: root.join("data"),
        key_dir: Some(root.join("keys")),
        key_sealing: Some(sealing),
        ..TerminalConfig::default()
    }
}

fn copy_dir(from: &Path, to: &Path) -> Vec<PathBuf> {
    std::fs::create_dir_all(to).unwrap();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            files.extend(copy_dir(&entry.path(), &target));
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
            files.push(target);
        }
    }
    files
}

fn occurrences(haystack: &[u8], needle: &[u8]) -> usize {
    if needle.is_empty() || haystack.len() < needle.len() {
        return 0;
    }
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

/// `sqlcipher FILE` with `key` (None: no key) running one query; whether it
/// printed a result.
fn sqlcipher_opens(file: &Path, key: Option<&StoreKey>) -> (bool, String) {
    let mut cmd = Command::new("sqlcipher");
    if let Some(key) = key {
        cmd.arg("-cmd")
            .arg(format!("PRAGMA key = \"{}\";", key.sql_literal()));
    }
    let out = cmd
        .arg(file)
        .arg("SELECT count(*) FROM sqlite_master;")
        .output()
        .expect("the sqlcipher command-line tool (Debian sqlcipher; scripts/install-deps --test)");
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    (
        out.status.success() && stdout.parse::<i64>().is_ok(),
        format!("{stdout} {stderr}").trim().to_owned(),
    )
}

/// A keyed connection to the store file with `key` (reading secrets out).
fn keyed(path: &Path, key: &StoreKey) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(&tillcard::store::key_statements(key))
        .unwrap();
    conn
}

#[tokio::test(flavor = "multi_thread")]
async fn a_copy_of_the_data_directory_opens_nowhere_and_holds_no_personal_data_or_keys() {
    tillcard::logging::init_for_tests();
    let root = tempfile::tempdir().unwrap();
    let hq_dir = tempfile::tempdir().unwrap();
    let (_, hq, url) = sync_util::served_hq(hq_dir.path()).await;
    let config = terminal_config(root.path(), Sealing::Host);
    std::fs::create_dir_all(&config.data_dir).unwrap();
    // Head office checks request times against its own clock.
    let clock: Arc<dyn tillcard::clock::Clock> = Arc::new(SystemClock::new());
    let (mut store, vault) =
        tillcard::sealed_store::open(&config, clock.clone(), PinHashCost::TEST_ONLY).unwrap();
    store
        .add_clerk(CASHIER.0, "Cashier", Role::Cashier, CASHIER.1)
        .unwrap();
    let first_key = vault.candidates().unwrap().remove(0);
    let handle = StoreHandle::spawn(store).unwrap();

    // Registration, and the new store key it brings.
    let code = hq.issue_code("T-AT-REST").await.unwrap();
    provision(&handle, &url, &code, None, None).await.unwrap();
    let files = SavedFiles::of(&config);
    tillcard::sealed_store::rekey(&vault, &handle, files.clone()).unwrap();
    let key = vault.candidates().unwrap().remove(0);
    println!(
        "registered; store key renewed: {}",
        key.bytes() != first_key.bytes()
    );
    assert_ne!(key.bytes(), first_key.bytes());

    // Real use: enrollments with cards, a sale each with its receipt.
    let names = ["欧阳娜娜", "Zhang Wei", "李小龙"];
    let mut members = Vec::new();
    for (n, name) in names.iter().enumerate() {
        let files = files.clone();
        let name = (*name).to_owned();
        let member = handle
            .call(move |store| {
                let clerk = cashier(store);
                let mut request = enroll_request(n as u32 + 1);
                request.phone = format!("139{:08}", 12_345_670 + n as u32);
                request.name = Some(name.clone());
                let member = store.enroll(&clerk, &request)?.member;
                let card = store.issue_card(member.id.0, 1)?;
                assert!(
                    files
                        .save_card(&store.files_key(), member.id, &card)
                        .is_some()
                );
                let q = quote(store, Some(member.id), 2, 30);
                let receipt = store.commit_sale(
                    &clerk,
                    &q,
                    &Payment::single(TenderKind::Cash, q.amount_due),
                )?;
                let text = format!(
                    "Receipt {}\nMember {} {} {}\n",
                    receipt.sale.0, member.id.0, name, request.phone
                );
                files
                    .save_receipt(&store.files_key(), &receipt.sale.0.to_string(), &text)
                    .unwrap();
                Ok((member.id.0, request.phone.clone(), name))
            })
            .unwrap();
        members.push(member);
    }
    let status = sync_util::sync_until_idle(&handle, &url, clock.clone(), Some(files)).await;
    println!("synced: {} pending", status.pending);
    assert_eq!(status.pending, 0);

    // The secrets to look for, read from the store itself.
    let store_path = config.store_path();
    let conn = keyed(&store_path, &key);
    let phone_key: Vec<u8> = conn
        .query_row("SELECT phone_key FROM terminal", [], |r| r.get(0))
        .unwrap();
    let audit_key: Vec<u8> = conn
        .query_row("SELECT audit_key FROM terminal", [], |r| r.get(0))
        .unwrap();
    let seed: Vec<u8> = conn
        .query_row("SELECT seed FROM card_issuer WHERE id = 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    let (request_key, lookup_key): (Vec<u8>, String) = conn
        .query_row(
            "SELECT signing_key, lookup_key FROM credentials WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    drop(conn);
    // Copied while the terminal runs (the -wal is live), as a thief would.
    let copy = root.path().join("stolen");
    let copied = copy_dir(&config.data_dir, &copy);
    drop(handle);
    let names_of: Vec<String> = copied
        .iter()
        .map(|p| p.strip_prefix(&copy).unwrap().display().to_string())
        .collect();
    println!("copied {} files: {names_of:?}", copied.len());
    assert!(copied.iter().any(|p| p.ends_with("terminal.sqlite")));
    assert!(
        copied
            .iter()
            .any(|p| p.to_string_lossy().contains("receipts"))
    );

    // (a) sqlcipher cannot open it without the key or with a wrong one.
    let db = copy.join("terminal.sqlite");
    let (opened, said) = sqlcipher_opens(&db, None);
    println!("sqlcipher, no key: opened={opened} ({said})");
    assert!(!opened);
    let wrong = StoreKey::from_bytes([0x11; 32]);
    let (opened, said) = sqlcipher_opens(&db, Some(&wrong));
    println!("sqlcipher, wrong key: opened={opened} ({said})");
    assert!(!opened);
    // The copy itself is whole: with the machine's key it opens (through
    // this build's SQLCipher 4; Debian 12's command-line tool is SQLCipher
    // 3, which cannot read version 4 files even with the key).
    let whole = keyed(&db, &key);
    let members_in_copy: i64 = whole
        .query_row("SELECT count(*) FROM members", [], |r| r.get(0))
        .unwrap();
    println!("the copy with the machine's key (SQLCipher 4): {members_in_copy} members");
    assert_eq!(members_in_copy, members.len() as i64);
    // The key it had before registration no longer opens it.
    let stale = keyed(&db, &first_key)
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })
        .is_ok();
    println!("the copy with the key from before registration: opened={stale}");
    assert!(!stale);

    // (b) a byte scan of every copied file.
    let mut needles: Vec<(String, Vec<u8>)> = Vec::new();
    for (id, phone, name) in &members {
        needles.push((format!("phone {phone}"), phone.as_bytes().to_vec()));
        needles.push((
            format!("masked phone of {phone}"),
            format!("{}****{}", &phone[..3], &phone[7..]).into_bytes(),
        ));
        needles.push((format!("name {name}"), name.as_bytes().to_vec()));
        needles.push((format!("member id {id}"), id.to_string().into_bytes()));
        needles.push((format!("member id {id} (16 bytes)"), id.as_bytes().to_vec()));
    }
    needles.push(("card-signing seed".into(), seed.clone()));
    needles.push(("phone lookup key".into(), phone_key.clone()));
    needles.push(("audit key".into(), audit_key.clone()));
    needles.push(("request-signing key".into(), request_key.clone()));
    needles.push((
        "head office lookup key".into(),
        lookup_key.clone().into_bytes(),
    ));
    for (what, k) in [
        ("store key", &key),
        ("store key before registration", &first_key),
    ] {
        needles.push((what.into(), k.bytes().to_vec()));
        needles.push((format!("{what} (hex)"), k.sql_literal().into_bytes()));
    }
    let mut bytes_scanned = 0;
    let mut found = Vec::new();
    for file in &copied {
        let data = std::fs::read(file).unwrap();
        bytes_scanned += data.len();
        for (what, needle) in &needles {
            let n = occurrences(&data, needle);
            if n > 0 {
                found.push(format!("{what} in {} ({n}x)", file.display()));
            }
        }
    }
    println!(
        "scanned {} files, {bytes_scanned} bytes, for {} secrets ({} members): {} found",
        copied.len(),
        needles.len(),
        members.len(),
        found.len()
    );
    assert!(found.is_empty(), "{found:?}");
    // The scan can find things: the same needles in the plain receipt text.
    let receipt = std::fs::read_dir(config.receipts_dir())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let plain = SavedFiles::read_sealed(
        &receipt,
        &tillcard::store::Store::open(
            &store_path,
            tillcard::store::StoreConfig {
                pin_cost: PinHashCost::TEST_ONLY,
                ..tillcard::store::StoreConfig::new("T-LOCAL", key.clone())
            },
            Arc::new(FakeClock::at(start_time())),
        )
        .unwrap()
        .files_key(),
    )
    .unwrap();
    let hits: usize = needles.iter().map(|(_, n)| occurrences(&plain, n)).sum();
    println!("the same scan on one receipt opened with the key: {hits} hits");
    assert!(hits >= 3);
}

#[test]
fn a_wrong_key_is_refused_in_words_and_a_plain_store_is_encrypted_keeping_its_data() {
    let t = open_store_with_member();
    let (t, _, _) = t;
    let path = t.path();
    drop(t.store);
    let wrong = tillcard::store::StoreConfig {
        pin_cost: PinHashCost::TEST_ONLY,
        ..tillcard::store::StoreConfig::new("T", StoreKey::from_bytes([1; 32]))
    };
    let error = tillcard::store::Store::open(&path, wrong, Arc::new(FakeClock::at(start_time())))
        .unwrap_err();
    println!("wrong key: {error}");
    assert!(matches!(
        error,
        tillcard::store::StoreError::WrongKey { plain: false }
    ));
    assert!(error.to_string().contains("store key"));

    // A plain store, as the previous version wrote it.
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("terminal.sqlite");
    {
        let conn = rusqlite::Connection::open(&plain).unwrap();
        conn.execute_batch("PRAGMA journal_mode=WAL;").unwrap();
        let mut conn = conn;
        tillcard::store::migrate(&mut conn, tillcard::store::schema::latest_version()).unwrap();
    }
    {
        let mut store = open_file(&plain).unwrap();
        store
            .add_clerk(CASHIER.0, "Cashier", Role::Cashier, CASHIER.1)
            .unwrap();
    }
    // Made plain again with data in it: decrypt into a plain copy.
    let plain_copy = dir.path().join("old.sqlite");
    {
        let conn = raw(&plain);
        conn.execute(
            &format!("ATTACH DATABASE '{}' AS plain KEY ''", plain_copy.display()),
            [],
        )
        .unwrap();
        conn.query_row("SELECT sqlcipher_export('plain')", [], |_| Ok(()))
            .unwrap();
        let v: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        conn.execute_batch(&format!("PRAGMA plain.user_version = {v}; DETACH plain;"))
            .unwrap();
    }
    let old = dir.path().join("upgraded.sqlite");
    std::fs::rename(&plain_copy, &old).unwrap();
    assert!(tillcard::store::is_plain_sqlite(&old));
    let mut store = open_file(&old).unwrap();
    assert!(!tillcard::store::is_plain_sqlite(&old));
    let clerks = store.clerk_list().unwrap().len();
    let clerk = store.login(CASHIER.0, CASHIER.1).unwrap();
    enroll(&mut store, &clerk, 7);
    println!("plain store encrypted at open: {clerks} clerk(s) kept, header no longer plain");
    assert_eq!(clerks, 1);
}

#[test]
fn a_new_store_has_2_kib_pages_and_one_encrypted_with_4_kib_pages_still_opens() {
    let (t, _, member) = open_store_with_member();
    let path = t.path();
    // A file opens only with its own page size (every page's MAC covers it).
    let opens_at = |file: &Path, page_size: u32| {
        rusqlite::Connection::open(file)
            .and_then(|c| {
                c.execute_batch(&tillcard::store::key_statements_for(&test_key(), page_size))?;
                c.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                    r.get::<_, i64>(0)
                })
            })
            .is_ok()
    };
    assert!(opens_at(&path, tillcard::store::PAGE_SIZE));
    assert!(!opens_at(&path, tillcard::store::EARLIER_PAGE_SIZE));
    // The same store as the version before wrote it: 4 KiB pages.
    let earlier = t.dir.path().join("earlier.sqlite");
    {
        let conn = raw(&path);
        conn.execute(
            &format!(
                "ATTACH DATABASE '{}' AS earlier KEY \"{}\"",
                earlier.display(),
                test_key().sql_literal()
            ),
            [],
        )
        .unwrap();
        conn.execute_batch(&format!(
            "PRAGMA earlier.cipher_page_size = {}; PRAGMA earlier.cipher_hmac_algorithm = HMAC_SHA256;",
            tillcard::store::EARLIER_PAGE_SIZE
        ))
        .unwrap();
        conn.query_row("SELECT sqlcipher_export('earlier')", [], |_| Ok(()))
            .unwrap();
        let v: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        conn.execute_batch(&format!(
            "PRAGMA earlier.user_version = {v}; DETACH earlier;"
        ))
        .unwrap();
    }
    drop(t.store);
    assert!(opens_at(&earlier, tillcard::store::EARLIER_PAGE_SIZE));
    assert!(!opens_at(&earlier, tillcard::store::PAGE_SIZE));
    let mut store = open_file(&earlier).unwrap();
    let clerk = store.login(CASHIER.0, CASHIER.1).unwrap();
    let kept = store.find_member(member.id).unwrap();
    let added = enroll(&mut store, &clerk, 8);
    println!(
        "a store with 4 KiB pages opened: member kept {}, one more enrolled",
        kept.is_some()
    );
    assert_eq!(kept, Some(member));
    assert!(store.find_member(added.id).unwrap().is_some());
}

/// swtpm on a port chosen now, killed on drop.
struct Swtpm {
    child: std::process::Child,
    port: u16,
    _state: tempfile::TempDir,
}

impl Drop for Swtpm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_swtpm() -> Swtpm {
    let state = tempfile::tempdir().unwrap();
    let started = Instant::now();
    loop {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        if port == u16::MAX || std::net::TcpListener::bind(("127.0.0.1", port + 1)).is_err() {
            continue;
        }
        let mut child = Command::new("swtpm")
            .args(["socket", "--tpm2"])
            .arg("--server")
            .arg(format!("type=tcp,port={port}"))
            .arg("--ctrl")
            .arg(format!("type=tcp,port={}", port + 1))
            .arg("--tpmstate")
            .arg(format!("dir={}", state.path().display()))
            .args(["--flags", "not-need-init,startup-clear"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("swtpm (Debian swtpm; scripts/install-deps --test)");
        while started.elapsed() < Duration::from_secs(20) {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Swtpm {
                    child,
                    port,
                    _state: state,
                };
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "swtpm did not start"
        );
    }
}

#[test]
fn the_store_key_seals_and_unseals_through_a_tpm2_and_through_the_host_key() {
    let swtpm = start_swtpm();
    let tpm = Tpm2Sealer::new(format!("swtpm:host=127.0.0.1,port={}", swtpm.port));
    let key = StoreKey::generate().unwrap();
    let started = Instant::now();
    let blob = tpm.seal(&key).unwrap();
    let sealed_ms = started.elapsed().as_millis();
    assert!(occurrences(&blob, key.bytes()) == 0);
    let started = Instant::now();
    assert_eq!(tpm.unseal(&blob).unwrap(), key);
    let unsealed_ms = started.elapsed().as_millis();
    let mut damaged = blob.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 1;
    let refused = tpm.unseal(&damaged).unwrap_err();
    println!(
        "tpm2 (swtpm port {}): sealed {} bytes in {sealed_ms} ms, unsealed in {unsealed_ms} ms; a damaged blob: {refused}",
        swtpm.port,
        blob.len()
    );
    // Through the vault and the store: a terminal on the TPM.
    let root = tempfile::tempdir().unwrap();
    let vault = KeyVault::new(root.path().join("keys"), Box::new(tpm.clone()));
    let first = vault.candidates().unwrap();
    assert_eq!(vault.candidates().unwrap(), first);
    let rotated = vault.rotate(|_| Ok::<(), ()>(())).unwrap();
    assert_eq!(vault.candidates().unwrap(), vec![rotated]);
    println!("tpm2 vault: key made, unsealed again, rotated");

    let host = HostSealer::new(root.path().join("host").join("host.key"));
    let blob = host.seal(&key).unwrap();
    assert_eq!(host.unseal(&blob).unwrap(), key);
    let other = HostSealer::new(root.path().join("other").join("host.key"));
    other.seal(&key).unwrap();
    let refused = other.unseal(&blob).unwrap_err();
    println!(
        "host: sealed {} bytes, unsealed; another host key: {refused}",
        blob.len()
    );
    // A TPM blob does not open with the host key and the other way round.
    assert!(host.unseal(&tpm.seal(&key).unwrap()).is_err());
    assert!(tpm.unseal(&blob).is_err());
}
