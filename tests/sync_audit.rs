//! The terminal's keyed audit chain against a real head office: after real
//! use and a sync, an audit row rewritten with SQL (the content alone, or
//! re-chained with the terminal's own audit key so the local check
//! passes) is flagged at head office after the next sync
//! (`audit_rewritten`), as is a chain cut short (`audit_truncated`); a
//! terminal nobody touched syncs many times, its chain sent in pieces,
//! without a flag.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "rewrites the terminal's audit rows straight in its file, as anyone holding the file could"
)]

#[path = "util/sync.rs"]
mod sync_util;

use std::path::PathBuf;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use sync_util::{served_hq, sync_until_idle, terminal_with_cashier};
use tillcard::clock::SystemClock;
use tillcard::rules::Money;
use tillcard::rules::booking::TopUp;
use tillcard::rules::pricing::{Basket, BasketLine, TenderRequest};
use tillcard::rules::tenders::{Payment, TenderKind};
use tillcard::store::Store;
use tillcard::store::audit::AuditBroken;
use tillcard::store::handle::StoreHandle;
use tillcard::store::members::EnrollRequest;
use tillcard::uplink::provision;
use tillcard_hq::service::Hq;
use tillcard_protocol::wire::TerminalId;

struct World {
    _dirs: Vec<tempfile::TempDir>,
    hq: Arc<Hq>,
    url: String,
}

struct Terminal {
    handle: StoreHandle,
    file: PathBuf,
    id: TerminalId,
}

async fn world() -> World {
    tillcard::logging::init_for_tests();
    let dir = tempfile::tempdir().unwrap();
    let (_, hq, url) = served_hq(dir.path()).await;
    World {
        _dirs: vec![dir],
        hq,
        url,
    }
}

/// A registered terminal with cashier c1.
async fn terminal(world: &mut World, name: &str) -> Terminal {
    let dir = tempfile::tempdir().unwrap();
    let handle = terminal_with_cashier(dir.path(), name, Arc::new(SystemClock::new()));
    let file = dir.path().join("terminal.sqlite");
    world._dirs.push(dir);
    let code = world.hq.issue_code(name).await.unwrap();
    provision(&handle, &world.url, &code, None, None)
        .await
        .unwrap();
    let id = call(&handle, |s| Ok(s.credentials().unwrap().terminal_id));
    Terminal { handle, file, id }
}

fn call<R: Send + 'static>(
    handle: &StoreHandle,
    f: impl FnOnce(&mut Store) -> Result<R, tillcard::store::StoreError> + Send + 'static,
) -> R {
    handle.call(f).unwrap()
}

/// Runs the uplink until the queue is drained and the downlink was pulled.
async fn sync(world: &World, till: &Terminal) {
    sync_until_idle(&till.handle, &world.url, Arc::new(SystemClock::new()), None).await;
}

/// Real use: two members enrolled and topped up, a sale each.
fn real_use(till: &Terminal, first_phone: u64) {
    for n in 0..2 {
        let phone = format!("{}", first_phone + n);
        call(&till.handle, move |s| {
            let clerk = s.login("c1", "3817")?;
            let id = s
                .enroll(
                    &clerk,
                    &EnrollRequest {
                        phone,
                        name: Some("王芳".into()),
                        birthday: None,
                        consent: true,
                        referred_by: None,
                    },
                )?
                .member
                .id;
            s.top_up(&clerk, id, &TopUp::Package("500+50".into()))?;
            let quote = s.price(Some(id), &rice_100(), &TenderRequest::default(), false)?;
            s.commit_sale(
                &clerk,
                &quote,
                &Payment::single(TenderKind::Cash, quote.amount_due),
            )?;
            Ok(())
        });
    }
}

/// One walk-in sale (a login and a sale: two audit rows, one event).
fn walk_in_sale(till: &Terminal) {
    call(&till.handle, |s| {
        let clerk = s.login("c1", "3817")?;
        let quote = s.price(None, &rice_100(), &TenderRequest::default(), false)?;
        s.commit_sale(
            &clerk,
            &quote,
            &Payment::single(TenderKind::Cash, quote.amount_due),
        )?;
        Ok(())
    });
}

fn rice_100() -> Basket {
    Basket {
        lines: vec![BasketLine {
            sku: "rice".into(),
            name: "rice 5kg".into(),
            category: "grocery".into(),
            quantity: 1,
            unit_price: Money::from_yuan(100),
            list_price: None,
        }],
    }
}

/// The terminal's flags at head office.
async fn flags_of(world: &World, till: &Terminal) -> Vec<String> {
    world
        .hq
        .store()
        .terminal_flags()
        .await
        .unwrap()
        .into_iter()
        .filter(|(t, _)| *t == till.id)
        .map(|(_, reason)| reason)
        .collect()
}

fn audit_rows(till: &Terminal) -> i64 {
    sync_util::raw(&till.file)
        .query_row("SELECT count(*) FROM audit", [], |r| r.get(0))
        .unwrap()
}

/// Links the next batch would carry.
fn links_next(till: &Terminal) -> usize {
    call(&till.handle, |s| Ok(s.audit_for_upload()?.links.len()))
}

fn verify(till: &Terminal) -> Result<u64, AuditBroken> {
    call(&till.handle, |s| s.verify_audit_chain())
}

/// Re-chains every row from `from` with the terminal's own audit key, as
/// someone holding the file and its key could, and moves the head.
fn rechain_with_key(conn: &rusqlite::Connection, from: i64) {
    let key: Vec<u8> = conn
        .query_row("SELECT audit_key FROM terminal WHERE id = 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    let mut prev: Vec<u8> = conn
        .query_row("SELECT prev_hash FROM audit WHERE seq = ?1", [from], |r| {
            r.get(0)
        })
        .unwrap();
    let rows: Vec<(i64, String, String, String, String)> = conn
        .prepare(
            "SELECT seq, at, clerk_id, action, subject FROM audit WHERE seq >= ?1 ORDER BY seq",
        )
        .unwrap()
        .query_map([from], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (seq, at, clerk, action, subject) in rows {
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(&prev);
        for field in [seq.to_string().as_str(), &at, &clerk, &action, &subject] {
            mac.update(&(field.len() as u64).to_le_bytes());
            mac.update(field.as_bytes());
        }
        let link = mac.finalize().into_bytes().to_vec();
        conn.execute(
            "UPDATE audit SET prev_hash = ?2, hash = ?3 WHERE seq = ?1",
            rusqlite::params![seq, prev, link],
        )
        .unwrap();
        conn.execute(
            "UPDATE terminal SET audit_head_seq = ?1, audit_head_hash = ?2",
            rusqlite::params![seq, link],
        )
        .unwrap();
        prev = link;
    }
}

/// The seq of the first sale's audit row: well before head office's head.
fn first_sale_row(conn: &rusqlite::Connection) -> i64 {
    conn.query_row(
        "SELECT min(seq) FROM audit WHERE action = 'sale'",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewritten_audit_row_is_flagged_at_head_office_after_the_next_sync() {
    let mut world = world().await;
    let till = terminal(&mut world, "store-1").await;
    real_use(&till, 13912340001);
    let (rows, links) = (audit_rows(&till), links_next(&till));
    sync(&world, &till).await;
    let before = flags_of(&world, &till).await;
    let conn = sync_util::raw(&till.file);
    let row = first_sale_row(&conn);
    conn.execute("UPDATE audit SET clerk_id = 'm01' WHERE seq = ?1", [row])
        .unwrap();
    let local = verify(&till);
    walk_in_sale(&till);
    let links_after = links_next(&till);
    sync(&world, &till).await;
    let after = flags_of(&world, &till).await;
    println!(
        "rewrite (content only): {rows} audit rows, {links} links in the first batch, {} flags; row {row} rewritten, local check {local:?}; next batch {links_after} links; flags after the next sync {}: {after:?}",
        before.len(),
        after.len()
    );
    assert!(before.is_empty(), "{before:?}");
    assert_eq!(local, Err(AuditBroken::Edited(row)));
    assert!(
        after.iter().any(|r| r.starts_with("audit_rewritten: row ")),
        "{after:?}"
    );
    assert!(
        after
            .iter()
            .any(|r| r.starts_with("audit_rewritten: ") && r.contains(&format!("row {row}"))),
        "the local break is reported too: {after:?}"
    );
    // Flagged once: the next syncs raise nothing more.
    walk_in_sale(&till);
    sync(&world, &till).await;
    let later = flags_of(&world, &till).await;
    println!("rewrite: flags after one more sync {}", later.len());
    assert_eq!(later.len(), after.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_rewritten_and_rechained_with_the_terminals_key_is_still_flagged() {
    let mut world = world().await;
    let till = terminal(&mut world, "store-1").await;
    real_use(&till, 13912340011);
    sync(&world, &till).await;
    let conn = sync_util::raw(&till.file);
    let row = first_sale_row(&conn);
    conn.execute("UPDATE audit SET clerk_id = 'm01' WHERE seq = ?1", [row])
        .unwrap();
    rechain_with_key(&conn, row);
    let local = verify(&till);
    walk_in_sale(&till);
    sync(&world, &till).await;
    let after = flags_of(&world, &till).await;
    println!(
        "rewrite re-chained with the key: {} audit rows, row {row} rewritten, local check {local:?}; flags after the next sync {}: {after:?}",
        audit_rows(&till),
        after.len()
    );
    assert!(local.is_ok(), "the local check cannot see it: {local:?}");
    assert_eq!(after.len(), 1, "{after:?}");
    assert!(
        after[0].starts_with("audit_rewritten: row ") && after[0].contains("links differently")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_audit_is_flagged_at_head_office_after_the_next_sync() {
    let mut world = world().await;
    let till = terminal(&mut world, "store-1").await;
    real_use(&till, 13912340021);
    sync(&world, &till).await;
    let rows = audit_rows(&till);
    // The newest rows deleted and the head moved back to row 2: the local
    // check passes.
    let conn = sync_util::raw(&till.file);
    conn.execute("DELETE FROM audit WHERE seq > 2", []).unwrap();
    conn.execute(
        "UPDATE terminal SET audit_head_seq = 2, audit_head_hash = (SELECT hash FROM audit WHERE seq = 2)",
        [],
    )
    .unwrap();
    let local = verify(&till);
    walk_in_sale(&till);
    sync(&world, &till).await;
    let after = flags_of(&world, &till).await;
    println!(
        "truncation: {rows} audit rows cut to 2, local check {local:?}, {} rows after a sale; flags after the next sync {}: {after:?}",
        audit_rows(&till),
        after.len()
    );
    assert_eq!(local, Ok(2));
    assert_eq!(after.len(), 1, "{after:?}");
    assert!(after[0].starts_with("audit_truncated: "), "{after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untouched_terminal_syncs_several_times_without_a_flag() {
    let mut world = world().await;
    let till = terminal(&mut world, "store-1").await;
    real_use(&till, 13912340031);
    let mut report = Vec::new();
    for round in 0..6 {
        // One round with more rows than a batch carries (sign-ins).
        let logins = if round == 3 { 300 } else { 5 };
        call(&till.handle, move |s| {
            for _ in 0..logins {
                s.login("c1", "3817")?;
            }
            Ok(())
        });
        walk_in_sale(&till);
        let links = links_next(&till);
        sync(&world, &till).await;
        report.push((audit_rows(&till), links));
    }
    let flags = flags_of(&world, &till).await;
    println!(
        "untouched: 6 syncs, (audit rows, links sent) per sync {report:?}; local check {:?}; flags {}",
        verify(&till),
        flags.len()
    );
    assert!(flags.is_empty(), "{flags:?}");
    assert!(
        report
            .iter()
            .any(|(_, links)| *links == tillcard_protocol::wire::MAX_AUDIT_LINKS)
    );
    assert!(verify(&till).is_ok());
}

/// The uplink's walk resumes at head office's head when nothing but the
/// store wrote the file since the last walk; a write by anyone else makes
/// the next walk start at row 1. Both must send the same links and the
/// same verdict, whatever the rows since (here: a sale, and a round of
/// more sign-ins than two batches carry links, so that head office's head
/// lags the chain and a resumed walk skips, after the batch's links, the
/// rows an earlier walk checked).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_audit_walk_sends_what_a_whole_walk_sends() {
    let mut world = world().await;
    let till = terminal(&mut world, "store-1").await;
    real_use(&till, 13912340041);
    sync(&world, &till).await;
    let mut compared = Vec::new();
    for round in 0..4 {
        let logins = if round == 1 { 700 } else { 3 };
        call(&till.handle, move |s| {
            for _ in 0..logins {
                s.login("c1", "3817")?;
            }
            Ok(())
        });
        walk_in_sale(&till);
        let resumed = call(&till.handle, |s| s.audit_for_upload());
        // Another connection commits (a no-op write): the store cannot
        // know what it changed, so the next walk is whole.
        sync_util::raw(&till.file)
            .execute("UPDATE terminal SET id = id WHERE id = 1", [])
            .unwrap();
        let whole = call(&till.handle, |s| s.audit_for_upload());
        assert_eq!(resumed, whole, "round {round}");
        assert!(!whole.links.is_empty() && whole.broken_at.is_none());
        compared.push((whole.rows, whole.links.len()));
        sync(&world, &till).await;
    }
    let flags = flags_of(&world, &till).await;
    println!(
        "resumed walk: 4 rounds, (audit rows, links) each {compared:?}, equal to the whole walk; flags {}",
        flags.len()
    );
    assert!(flags.is_empty(), "{flags:?}");
}
