//! The terminal against a real head office (no faults): erasure reaches the
//! terminal's cache on its next sync, a head office restored from an older
//! backup gets the missing events again and loses nothing, members
//! enrolled at another store come down and are found by phone, and a
//! referred member's first purchase at another store still rewards the
//! referrer, and a program version published ahead prices every sale from
//! its moment on, at a terminal offline across it too, as head office's
//! re-pricing agrees.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

#[path = "util/sync.rs"]
mod sync_util;

use std::sync::Arc;

use sync_util::{scan_card_of, served_hq, sync_until_idle, terminal_with_cashier};
use tillcard::clock::{Clock, FakeClock, SystemClock};
use tillcard::rules::MemberId;
use tillcard::rules::Money;
use tillcard::rules::booking::TopUp;
use tillcard::rules::ledger::{EarnReason, points_earned};
use tillcard::rules::pricing::{Basket, BasketLine, TenderRequest};
use tillcard::rules::tenders::{Payment, TenderKind};
use tillcard::saved_files::SavedFiles;
use tillcard::store::Store;
use tillcard::store::handle::StoreHandle;
use tillcard::store::members::EnrollRequest;
use tillcard::uplink::{UplinkStatus, provision};
use tillcard_hq::service::Hq;

struct World {
    _dirs: Vec<tempfile::TempDir>,
    hq: Arc<Hq>,
    hq_store: Arc<dyn tillcard_hq::store::Store>,
    url: String,
    clock: Arc<dyn Clock>,
}

async fn world() -> World {
    world_with(Arc::new(SystemClock::new())).await
}

/// A head office served on loopback; terminals will run on `clock`.
async fn world_with(clock: Arc<dyn Clock>) -> World {
    tillcard::logging::init_for_tests();
    let dir = tempfile::tempdir().unwrap();
    let (hq_store, hq, url) = served_hq(dir.path()).await;
    World {
        _dirs: vec![dir],
        hq,
        hq_store,
        url,
        clock,
    }
}

async fn terminal(world: &mut World, name: &str) -> StoreHandle {
    let handle = unregistered_terminal(world, name);
    register(world, &handle, name).await;
    handle
}

/// Registered terminals at two stores, "store-a" and "store-b".
async fn two_stores(world: &mut World) -> (StoreHandle, StoreHandle) {
    let a = terminal(world, "store-a").await;
    let b = terminal(world, "store-b").await;
    (a, b)
}

/// Registers a terminal with head office (a fresh one-time code).
async fn register(world: &World, handle: &StoreHandle, name: &str) {
    let code = world.hq.issue_code(name).await.unwrap();
    provision(handle, &world.url, &code, None, None)
        .await
        .unwrap();
}

/// A terminal that has not met head office yet.
fn unregistered_terminal(world: &mut World, name: &str) -> StoreHandle {
    let dir = tempfile::tempdir().unwrap();
    let handle = terminal_with_cashier(dir.path(), name, world.clock.clone());
    world._dirs.push(dir);
    handle
}

/// `member`'s card scanned at `handle` while online: fetched on demand
/// unless held, in the store's downlink from then on (`store::scope`).
async fn scan(world: &World, handle: &StoreHandle, member: MemberId) {
    assert!(
        scan_card_of(handle, &world.url, world.clock.clone(), member).await,
        "head office's snapshot of the scanned member was applied"
    );
}

/// Runs the uplink until the queue is drained and the downlink was pulled.
async fn sync(world: &World, handle: &StoreHandle) -> UplinkStatus {
    sync_saving(world, handle, None).await
}

/// [`sync`] for a terminal that saves cards and receipts in `files`.
async fn sync_saving(
    world: &World,
    handle: &StoreHandle,
    files: Option<SavedFiles>,
) -> UplinkStatus {
    sync_until_idle(handle, &world.url, world.clock.clone(), files).await
}

fn call<R: Send + 'static>(
    handle: &StoreHandle,
    f: impl FnOnce(&mut Store) -> Result<R, tillcard::store::StoreError> + Send + 'static,
) -> R {
    handle.call(f).unwrap()
}

fn enroll(handle: &StoreHandle, phone: &'static str) -> MemberId {
    enroll_referred(handle, phone, None)
}

/// Enrolls a member (referred by `referred_by`, if any) and tops up 500+50.
fn enroll_referred(
    handle: &StoreHandle,
    phone: &'static str,
    referred_by: Option<MemberId>,
) -> MemberId {
    call(handle, move |s| {
        let clerk = s.login("c1", "3817")?;
        let id = s
            .enroll(
                &clerk,
                &EnrollRequest {
                    phone: phone.into(),
                    name: Some("王芳".into()),
                    birthday: None,
                    consent: true,
                    referred_by,
                },
            )?
            .member
            .id;
        s.top_up(&clerk, id, &TopUp::Package("500+50".into()))?;
        Ok(id)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasure_at_head_office_reaches_the_terminal_cache_on_its_next_sync() {
    let mut world = world().await;
    let till = terminal(&mut world, "store-1").await;
    let member = enroll(&till, "13912345678");
    sync(&world, &till).await;
    let (record, _) = world.hq_store.member(member).await.unwrap().unwrap();
    assert_eq!(
        record.test_personal().phone.as_deref(),
        Some("13912345678"),
        "head office opened the sealed phone"
    );

    assert!(world.hq.erase(member).await.unwrap());
    sync(&world, &till).await;
    let found = call(&till, move |s| s.find_member(member));
    assert!(
        found.is_none(),
        "the terminal still holds the erased member"
    );
    let by_phone = call(&till, |s| s.find_member_by_phone("13912345678"));
    assert!(by_phone.is_none());
    println!("erasure: member erased at head office and gone from the terminal after one sync");
}

/// Issue 23 (`store::scope`): a member not seen at the store within head
/// office's window is forgotten by its tills after the daily job, their
/// phone no longer found there; a member with an event still waiting to
/// upload stays, and the upload brings them back into the store's scope.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_who_left_the_stores_scope_is_forgotten_unless_an_event_waits() {
    let mut world = world().await;
    let till = terminal(&mut world, "store-1").await;
    let gone = enroll(&till, "13912340001");
    let back = enroll(&till, "13912340002");
    sync(&world, &till).await;
    // Half a year later (the job's moment): both lapse at head office.
    let later = chrono::Utc::now().fixed_offset() + chrono::Duration::days(200);
    let lapsed = world.hq.lapse_scopes(later, 180).await.unwrap();
    // `back` shops here before the till hears of it: the sale waits.
    sell_100(&till, back);
    // The forget of `back` applied while its sale waits keeps them.
    let kept = call(&till, move |s| {
        s.apply_changes(tillcard_protocol::wire::ChangesPage {
            changes: vec![tillcard_protocol::wire::Change::Forget { member: back }],
            cursor: s.downlink_cursor()?.unwrap_or_default(),
            more: false,
            acked_seq: None,
            resync: false,
        })?;
        Ok(s.find_member(back)?.is_some())
    });
    sync(&world, &till).await;
    let gone_here = call(&till, move |s| s.find_member(gone));
    let by_phone = call(&till, |s| s.find_member_by_phone("139 1234 0001"));
    let back_here = call(&till, move |s| s.find_member(back));
    let scopes = world.hq_store.scopes_of(back).await.unwrap();
    println!(
        "scope: {lapsed} lapsed; forgotten member held {}, found by phone {}; the shopper with a waiting sale kept {kept}, held after sync {} (balances known {:?}), in scope again {:?}",
        gone_here.is_some(),
        by_phone.is_some(),
        back_here.is_some(),
        back_here.as_ref().map(|m| m.balances_known),
        scopes.iter().map(|s| s.active).collect::<Vec<_>>()
    );
    assert_eq!(lapsed, 2);
    assert!(gone_here.is_none() && by_phone.is_none(), "forgotten");
    assert!(kept, "a member with a waiting event is not forgotten");
    let back_here = back_here.expect("the upload brought the member back");
    assert!(back_here.balances_known);
    assert_eq!(scopes.len(), 1);
    assert!(scopes[0].active, "in the store's scope again");
}

/// An erasure reaches what the terminal saved and sent: the member's card
/// and receipts are deleted (another member's stay), and the enrollment
/// event it keeps, acknowledged, holds no masked phone, masked name or
/// sealed phone any more; its other events (a sale) stay whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "reads the outbox straight from the terminal's file, as anyone holding the file could"
)]
async fn erasure_deletes_the_members_saved_card_and_receipts_and_scrubs_the_sent_enrollment() {
    let mut world = world().await;
    let till = terminal(&mut world, "store-1").await;
    let store_file = world._dirs.last().unwrap().path().join("terminal.sqlite");
    let data = tempfile::tempdir().unwrap();
    let mut config = tillcard::config::TerminalConfig::embedded_demo();
    config.data_dir = data.path().to_path_buf();
    let files = SavedFiles::of(&config);
    let member = enroll(&till, "13912340001");
    let other = enroll(&till, "13912340002");
    let sale_of = |member: MemberId| {
        call(&till, move |s| {
            let clerk = s.login("c1", "3817")?;
            let quote = s.price(Some(member), &rice_100(), &TenderRequest::default(), false)?;
            Ok(s.commit_sale(
                &clerk,
                &quote,
                &Payment::single(TenderKind::Cash, quote.amount_due),
            )?
            .sale)
        })
    };
    let (sale, other_sale) = (sale_of(member), sale_of(other));
    std::fs::create_dir_all(files.cards()).unwrap();
    std::fs::create_dir_all(files.receipts()).unwrap();
    let saved = [
        files.card(member),
        files.receipt(&sale.0.to_string()),
        files.card(other),
        files.receipt(&other_sale.0.to_string()),
    ];
    for path in &saved {
        std::fs::write(path, "139****0001").unwrap();
    }
    sync_saving(&world, &till, Some(files.clone())).await;

    assert!(world.hq.erase(member).await.unwrap());
    sync_saving(&world, &till, Some(files.clone())).await;
    let left: Vec<bool> = saved.iter().map(|p| p.exists()).collect();
    let outbox: Vec<(String, String)> = sync_util::raw(&store_file)
        .prepare("SELECT kind, payload FROM outbox WHERE payload LIKE '%' || ?1 || '%'")
        .unwrap()
        .query_map([member.0.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let enrollment = outbox
        .iter()
        .find(|(kind, _)| kind == "member_enrolled")
        .map(|(_, payload)| serde_json::from_str::<serde_json::Value>(payload).unwrap())
        .unwrap();
    let queued = call(&till, |s| s.erased_files());
    println!(
        "erasure of saved files: card, receipt, other card, other receipt exist {left:?}; {} events name the member; enrollment masked_phone {:?}, phone_sealed {:?}; still queued {}",
        outbox.len(),
        enrollment["masked_phone"],
        enrollment["phone_sealed"],
        queued.len()
    );
    assert_eq!(left, [false, false, true, true]);
    assert_eq!(enrollment["masked_phone"], "");
    assert_eq!(enrollment["phone_sealed"], "");
    assert!(enrollment["masked_name"].is_null() && enrollment["birthday"].is_null());
    assert!(
        outbox.iter().all(|(_, p)| !p.contains("****")),
        "no masked phone left in any event"
    );
    assert!(
        outbox.iter().any(|(kind, _)| kind == "sale_booked"),
        "the sale's event stays whole"
    );
    assert!(queued.is_empty(), "nothing left to delete");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_office_restored_from_an_older_backup_gets_the_missing_events_again() {
    let mut world = world().await;
    let till = terminal(&mut world, "store-1").await;
    let member = enroll(&till, "13812340000");
    for _ in 0..3 {
        call(&till, move |s| {
            let clerk = s.login("c1", "3817")?;
            s.top_up(&clerk, member, &TopUp::Package("500+50".into()))
        });
    }
    let first = sync(&world, &till).await;
    assert_eq!(first.acked_seq, 5);
    let before = world.hq_store.counts().await.unwrap();

    // Head office goes back to a backup holding only events 1-2.
    let terminal_id = call(&till, |s| Ok(s.credentials().unwrap().terminal_id));
    world
        .hq_store
        .simulate_restore(terminal_id, 2)
        .await
        .unwrap();
    assert!(world.hq_store.counts().await.unwrap().events < before.events);

    // One more action: its upload gets an ack of 2; the terminal re-sends 3-6.
    call(&till, move |s| {
        let clerk = s.login("c1", "3817")?;
        s.top_up(
            &clerk,
            member,
            &TopUp::Amount(tillcard::rules::Money::from_yuan(10)),
        )
    });
    let after = sync(&world, &till).await;
    assert_eq!(after.acked_seq, 6);
    let counts = world.hq_store.counts().await.unwrap();
    assert_eq!(
        counts.events,
        before.events + 1,
        "events lost or doubled after the restore"
    );
    let (_, entries) = world.hq_store.member(member).await.unwrap().unwrap();
    let remote = tillcard::rules::account::MemberAccount::fold(
        tillcard::rules::account::MemberAccount::new(member),
        &entries,
    );
    let local = call(&till, move |s| s.account(member));
    assert_eq!(remote.stored_value, local.stored_value);
    println!(
        "restore: head office back to seq 2 of 5; terminal re-sent 3-6; {} events, balances equal",
        counts.events
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_of_another_store_is_fetched_when_their_card_is_scanned_and_then_found_by_phone() {
    let mut world = world().await;
    let (store_a, store_b) = two_stores(&mut world).await;
    let member = enroll(&store_a, "13700001111");
    sync(&world, &store_a).await;
    sync(&world, &store_b).await;
    // Store b's tills do not hold the chain's members (`store::scope`).
    assert!(call(&store_b, |s| s.find_member_by_phone("137 0000 1111")).is_none());
    assert!(call(&store_b, move |s| s.find_member(member)).is_none());
    // The member's card is scanned at store b while online.
    scan(&world, &store_b, member).await;
    let found = call(&store_b, |s| s.find_member_by_phone("137 0000 1111"))
        .expect("member not found by phone at the other store");
    assert_eq!(found.id, member);
    assert_eq!(found.phone_masked, "137****1111");
    let account = call(&store_b, move |s| s.account(member));
    assert_eq!(
        account.stored_value.total(),
        tillcard::rules::Money::from_yuan(550)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_issued_offline_at_one_terminal_verifies_at_another_after_its_next_sync() {
    let mut world = world().await;
    let (a, b) = two_stores(&mut world).await;
    let member = enroll(&a, "13800000077");
    let card = call(&a, move |s| s.issue_card(member.0, 1));
    let token = tillcard::scan::credential::parse_token(&card).unwrap();
    let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap();

    let verifier = call(&a, Store::card_verifier);
    assert!(
        verifier.verify(&token, now).is_ok(),
        "the issuing terminal trusts its own cards"
    );
    let before = call(&b, Store::card_verifier);
    assert!(
        before.verify(&token, now).is_err(),
        "terminal B has not heard of A's card key yet"
    );
    sync(&world, &b).await;
    let after = call(&b, Store::card_verifier);
    let credential = after.verify(&token, now).unwrap();
    assert_eq!(credential.member_id, member.0);
    assert!(
        credential.issuer >= 0x8000,
        "a terminal card key id: {}",
        credential.issuer
    );
    println!(
        "card issued at A (key id {}) verified at B",
        credential.issuer
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cards_signed_before_the_terminal_was_registered_verify_chain_wide_after_it() {
    let mut world = world().await;
    // Day one: the store enrolls at the door before the terminal is
    // registered; the card is signed by the terminal's own card key.
    let a = unregistered_terminal(&mut world, "store-a");
    let member = enroll(&a, "13800000078");
    let card = call(&a, move |s| s.issue_card(member.0, 1));
    let token = tillcard::scan::credential::parse_token(&card).unwrap();
    let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap();
    let local_id = call(&a, |s| Ok(s.card_signer()?.key_id()));

    register(&world, &a, "store-a").await;
    assert_eq!(
        call(&a, |s| Ok(s.card_signer()?.key_id())),
        local_id,
        "head office kept the id the early cards name"
    );
    let b = terminal(&mut world, "store-b").await;
    sync(&world, &b).await;
    let credential = call(&b, Store::card_verifier)
        .verify(&token, now)
        .unwrap_or_else(|e| panic!("early card refused at B: {e:?}"));
    assert_eq!(credential.member_id, member.0);
    assert_eq!(credential.issuer, local_id);
    // A card issued after registration verifies at B too.
    let later = call(&a, move |s| s.issue_card(member.0, 2));
    let later = tillcard::scan::credential::parse_token(&later).unwrap();
    assert!(call(&b, Store::card_verifier).verify(&later, now).is_ok());
    println!("card signed before registration (key id {local_id}) verified at B");
}

/// Points a member earned for `reason`, at head office.
async fn points_at_hq(world: &World, member: MemberId, reason: EarnReason) -> i64 {
    let (_, entries) = world.hq_store.member(member).await.unwrap().unwrap();
    points_earned(&entries, member, reason)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_referred_members_first_purchase_at_another_store_rewards_the_referrer() {
    let mut world = world().await;
    let (store_a, store_b) = two_stores(&mut world).await;
    let referrer = enroll(&store_a, "13700002222");
    let newcomer = enroll_referred(&store_a, "13700003333", Some(referrer));
    sync(&world, &store_a).await;
    scan(&world, &store_b, newcomer).await;
    sync(&world, &store_b).await;
    let points_at_a =
        move |s: &mut Store| Ok(s.account(referrer)?.points_available(s.clock().now()));
    let before_at_a = call(&store_a, points_at_a);
    let known_at_b = call(&store_b, move |s| s.find_member(newcomer))
        .expect("the referred member did not come down to store b");
    assert_eq!(
        known_at_b.referred_by,
        Some(referrer),
        "store b's cache does not know who referred the member"
    );

    // The newcomer's first purchase, at store b.
    call(&store_b, move |s| {
        let clerk = s.login("c1", "3817")?;
        let basket = Basket {
            lines: vec![BasketLine {
                sku: "tea".into(),
                name: "green tea".into(),
                category: "grocery".into(),
                quantity: 1,
                unit_price: Money::from_yuan(80),
                list_price: None,
            }],
        };
        let quote = s.price(Some(newcomer), &basket, &TenderRequest::default(), false)?;
        s.commit_sale(
            &clerk,
            &quote,
            &Payment::single(TenderKind::Cash, quote.amount_due),
        )
    });
    sync(&world, &store_b).await;

    let reward = tillcard::rules::program::Program::default()
        .referral
        .points_each;
    assert!(reward > 0, "the default program gives a referral reward");
    let referrer_points = points_at_hq(&world, referrer, EarnReason::Referral).await;
    let newcomer_points = points_at_hq(&world, newcomer, EarnReason::Referral).await;
    assert_eq!(
        (referrer_points, newcomer_points),
        (reward, reward),
        "head office booked the referral reward (referrer, newcomer)"
    );
    // The referrer's own store sees the reward after its next sync.
    sync(&world, &store_a).await;
    assert_eq!(
        call(&store_a, points_at_a) - before_at_a,
        reward,
        "the referrer's store does not show the reward"
    );
    println!(
        "referral across stores: enrolled at a, first purchase at b; referrer and newcomer +{reward} points each at head office and at store a"
    );
}

/// One ¥100 line of groceries.
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

/// Prices one ¥100 line of groceries for `member` at `till` and books it;
/// the points the sale earned and the program version its quote names.
fn sell_100(till: &StoreHandle, member: MemberId) -> (i64, Option<u32>) {
    call(till, move |s| {
        let clerk = s.login("c1", "3817")?;
        let basket = rice_100();
        let quote = s.price(Some(member), &basket, &TenderRequest::default(), false)?;
        let earned = (quote.earn.points, quote.program_version);
        s.commit_sale(
            &clerk,
            &quote,
            &Payment::single(TenderKind::Cash, quote.amount_due),
        )?;
        Ok(earned)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_version_prices_sales_from_its_moment_at_both_terminals_one_offline_across_it() {
    let clock = Arc::new(FakeClock::at(chrono::Utc::now().fixed_offset()));
    let mut world = world_with(clock.clone()).await;
    let (store_a, store_b) = two_stores(&mut world).await;
    let member = enroll(&store_a, "13700004444");
    // Head office publishes double points from two minutes from now.
    let moment = clock.now() + chrono::Duration::minutes(2);
    let doubled = tillcard::rules::Program {
        effective_from: Some(moment),
        earning: tillcard::rules::program::EarnRules {
            points_per_yuan: 2,
            ..Default::default()
        },
        ..Default::default()
    };
    let actor = tillcard_hq::service::back_office::Actor::cli();
    let published = world.hq.publish_program(&actor, &doubled).await.unwrap();
    assert_eq!(
        published.version, 2,
        "the version after the default program"
    );
    sync(&world, &store_a).await;
    scan(&world, &store_b, member).await;
    sync(&world, &store_b).await;

    // Store b is offline from here on; a sale at each store before the
    // moment, then one at each after it.
    let (before_a, version_before_a) = sell_100(&store_a, member);
    let (before_b, version_before_b) = sell_100(&store_b, member);
    clock.advance(chrono::Duration::minutes(3));
    let (after_a, version_after_a) = sell_100(&store_a, member);
    let (after_b, version_after_b) = sell_100(&store_b, member);
    sync(&world, &store_a).await;
    sync(&world, &store_b).await;

    let conflicts = world.hq_store.conflicts().await.unwrap();
    let purchase_points = points_at_hq(&world, member, EarnReason::Purchase).await;
    println!(
        "program version: earned before the moment a {before_a} b {before_b}, after a {after_a} b {after_b} (b offline across it); head office booked {purchase_points}, conflicts {:?}",
        conflicts
            .iter()
            .map(|c| c.kind.as_str())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        (before_a, before_b),
        (100, 100),
        "the old version before the moment"
    );
    assert_eq!(
        (after_a, after_b),
        (200, 200),
        "the new version after it, offline too"
    );
    assert_eq!(
        [
            version_before_a,
            version_before_b,
            version_after_a,
            version_after_b
        ],
        [Some(1), Some(1), Some(2), Some(2)],
        "every sale names the version it was priced with"
    );
    assert_eq!(purchase_points, 600);
    assert!(
        conflicts.iter().all(|c| c.kind != "beyond_program"),
        "head office's re-pricing agrees with both terminals on every sale: {conflicts:?}"
    );
}

/// Prices ¥100 of groceries for `member` at `till`, asking for as much
/// stored value as possible, offline; the stored value it would use and
/// the rules that refused anything.
fn ask_stored_value(till: &StoreHandle, member: MemberId) -> (Money, Vec<String>) {
    call(till, move |s| {
        let basket = rice_100();
        let tender = TenderRequest {
            stored_value: tillcard::rules::pricing::StoredValueRequest::AsMuchAsPossible,
            ..TenderRequest::default()
        };
        let quote = s.price(Some(member), &basket, &tender, true)?;
        let rules = quote
            .refusals
            .iter()
            .map(|r| {
                serde_json::to_value(r.rule)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        Ok((quote.stored_value_used(), rules))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_frozen_at_head_office_redeems_nothing_at_another_store_after_its_next_sync() {
    let mut world = world().await;
    let (store_a, store_b) = two_stores(&mut world).await;
    let member = enroll(&store_a, "13700005555");
    sync(&world, &store_a).await;
    scan(&world, &store_b, member).await;
    sync(&world, &store_b).await;
    let (before, _) = ask_stored_value(&store_b, member);
    assert_eq!(before, Money::from_yuan(100), "served from stored value");

    let actor = tillcard_hq::service::back_office::Actor::cli();
    world
        .hq
        .set_member_frozen(&actor, member, true, "card reported stolen")
        .await
        .unwrap();
    sync(&world, &store_b).await;
    // Offline from here: the freeze is enforced from the terminal's cache,
    // and the member found by phone carries it.
    let (frozen, refused) = ask_stored_value(&store_b, member);
    let by_phone = call(&store_b, |s| s.find_member_by_phone("137 0000 5555")).unwrap();
    world
        .hq
        .set_member_frozen(&actor, member, false, "card found")
        .await
        .unwrap();
    sync(&world, &store_b).await;
    let (after, _) = ask_stored_value(&store_b, member);
    println!(
        "member care: stored value at store b before the freeze {before}, frozen {frozen} (refused {refused:?}), unfrozen {after}"
    );
    assert_eq!(frozen, Money::ZERO);
    assert_eq!(refused, ["member_frozen"]);
    assert!(by_phone.frozen, "found by phone, frozen");
    assert_eq!(after, Money::from_yuan(100), "unfrozen: served again");
    let trail = world
        .hq
        .audit_trail(Some(&format!("member:{member}")), None)
        .await
        .unwrap();
    let actions: Vec<&str> = trail.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        actions,
        ["member_unfrozen", "member_frozen"],
        "newest first"
    );
    assert_eq!(trail[1].detail, "card reported stolen");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_reissued_at_head_office_is_refused_at_another_store_and_the_new_serial_works() {
    use tillcard::scan::credential::{VerifyError, parse_token};
    let mut world = world().await;
    let (store_a, store_b) = two_stores(&mut world).await;
    let member = enroll(&store_a, "13700006666");
    let old_card = call(&store_a, move |s| s.issue_card(member.0, 1));
    let old = parse_token(&old_card).unwrap();
    sync(&world, &store_a).await;
    scan(&world, &store_b, member).await;
    sync(&world, &store_b).await;
    let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap();
    assert!(
        call(&store_b, Store::card_verifier)
            .verify(&old, now)
            .is_ok(),
        "the enrollment card scans at store b before the re-issue"
    );
    assert_eq!(call(&store_b, move |s| s.reissued_card(member.0)), None);

    let actor = tillcard_hq::service::back_office::Actor::cli();
    let serial = world
        .hq
        .reissue_card(&actor, member, "phone stolen")
        .await
        .unwrap();
    sync(&world, &store_b).await;
    // Offline from here: store b refuses the old card, finds the member by
    // phone and prints the new card with its own key.
    let refused = call(&store_b, Store::card_verifier).verify(&old, now);
    let found = call(&store_b, |s| s.find_member_by_phone("137 0000 6666")).unwrap();
    let new_card = call(&store_b, move |s| s.reissued_card(member.0)).unwrap();
    let new = parse_token(&new_card).unwrap();
    let at_b = call(&store_b, Store::card_verifier).verify(&new, now);
    sync(&world, &store_a).await;
    let at_a = call(&store_a, Store::card_verifier).verify(&new, now);
    let old_at_a = call(&store_a, Store::card_verifier).verify(&old, now);
    println!(
        "re-issue: serial {serial}; old card at store b {refused:?}, at store a {old_at_a:?}; new card at b {:?}, at a {:?}",
        at_b.as_ref().map(|c| c.card_serial),
        at_a.as_ref().map(|c| c.card_serial)
    );
    assert_eq!(serial, 2);
    assert_eq!(refused, Err(VerifyError::Revoked));
    assert_eq!(old_at_a, Err(VerifyError::Revoked));
    assert_eq!(found.id, member);
    let credential = at_b.unwrap();
    assert_eq!(
        (credential.member_id, credential.card_serial),
        (member.0, 2)
    );
    assert_eq!(
        at_a.unwrap().card_serial,
        2,
        "store b's card scans at store a"
    );
    let trail = world
        .hq
        .audit_trail(Some(&format!("member:{member}")), None)
        .await
        .unwrap();
    assert_eq!(trail[0].action, "card_reissued");
    assert_eq!(trail[0].detail, "phone stolen");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_accounts_of_one_phone_merged_at_head_office_are_one_member_at_another_store() {
    use tillcard::scan::credential::parse_token;
    let mut world = world().await;
    let (store_a, store_b) = two_stores(&mut world).await;
    // One phone enrolled at both stores while neither had heard of the
    // other's member; each tops up ¥500 (+¥50).
    let kept = enroll(&store_a, "13700007777");
    let gone = enroll(&store_b, "13700007777");
    let gone_card = call(&store_b, move |s| s.issue_card(gone.0, 1));
    sync(&world, &store_a).await;
    sync(&world, &store_b).await;
    // Store b goes offline before it hears of the merge and tops the
    // merged-away account up by ¥10.
    call(&store_b, move |s| {
        let clerk = s.login("c1", "3817")?;
        s.top_up(&clerk, gone, &TopUp::Amount(Money::from_yuan(10)))
    });

    let actor = tillcard_hq::service::back_office::Actor::cli();
    world
        .hq
        .merge_members(&actor, gone, kept, "one customer, enrolled twice")
        .await
        .unwrap();
    sync(&world, &store_a).await;
    let merged_total = call(&store_a, move |s| s.account(kept))
        .stored_value
        .total();
    let by_id = call(&store_a, move |s| s.find_member(gone)).unwrap();
    let token = parse_token(&gone_card).unwrap();
    let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap();
    let scanned = call(&store_a, Store::card_verifier)
        .verify(&token, now)
        .unwrap();
    let by_card = call(&store_a, move |s| {
        s.find_member(tillcard::rules::MemberId(scanned.member_id))
    })
    .unwrap();
    let by_phone = call(&store_a, |s| s.find_member_by_phone("137 0000 7777")).unwrap();
    // Store b comes back: its top-up of the merged-away account lands on
    // the survivor, and store a learns it.
    sync(&world, &store_b).await;
    sync(&world, &store_a).await;
    let after_late = call(&store_a, move |s| s.account(kept))
        .stored_value
        .total();
    let (_, gone_entries) = world.hq_store.member(gone).await.unwrap().unwrap();
    println!(
        "merge: store a sees {merged_total} after the merge, {after_late} after store b's offline top-up; the old id, card and phone find {:?}, {:?}, {:?}",
        by_id.id == kept,
        by_card.id == kept,
        by_phone.id == kept
    );
    assert_eq!(merged_total, Money::from_yuan(1100), "550 + 550");
    assert_eq!(by_id.id, kept);
    assert_eq!(by_card.id, kept, "the old card finds the survivor");
    assert_eq!(by_phone.id, kept);
    assert_eq!(after_late, Money::from_yuan(1110));
    assert!(
        gone_entries.is_empty(),
        "no balance on the merged-away account"
    );
}

/// The ids of `member`'s unused coupons of campaign `code` at `till`.
fn campaign_coupons(
    till: &StoreHandle,
    member: MemberId,
    code: &'static str,
) -> Vec<tillcard::rules::ids::CouponId> {
    call(till, move |s| {
        let account = s.account(member)?;
        Ok(account
            .coupons
            .iter()
            .filter(|c| c.coupon.code == code && c.uses <= 0)
            .map(|c| c.coupon.id)
            .collect())
    })
}

/// Prices ¥100 of groceries for `member` at `till` offline with `coupons`
/// and books the sale when nothing was refused; the rules that refused
/// anything and the coupon discount applied.
fn sell_with_coupons(
    till: &StoreHandle,
    member: MemberId,
    coupons: Vec<tillcard::rules::ids::CouponId>,
) -> (Vec<String>, Money) {
    call(till, move |s| {
        let clerk = s.login("c1", "3817")?;
        let tender = TenderRequest {
            coupons,
            ..TenderRequest::default()
        };
        let quote = s.price(Some(member), &rice_100(), &tender, true)?;
        let refused: Vec<String> = quote
            .refusals
            .iter()
            .map(|r| {
                serde_json::to_value(r.rule)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        let off = quote.coupon.as_ref().map_or(Money::ZERO, |c| c.amount);
        if refused.is_empty() {
            s.commit_sale(
                &clerk,
                &quote,
                &Payment::single(TenderKind::Cash, quote.amount_due),
            )?;
        }
        Ok((refused, off))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn campaign_coupons_reach_two_stores_and_are_used_offline_within_their_limits() {
    let mut world = world().await;
    let (store_a, store_b) = two_stores(&mut world).await;
    let member = enroll(&store_a, "13700007777");
    let other = enroll(&store_a, "13700008888");
    sync(&world, &store_a).await;
    let actor = tillcard_hq::service::back_office::Actor::cli();
    world
        .hq
        .set_member_tags(&actor, member, &["vip".to_string()])
        .await
        .unwrap();
    // Two ¥20-off coupons to every VIP, from now for a week.
    let now = chrono::Utc::now().fixed_offset();
    let spec: tillcard_hq::campaigns::CampaignSpec = serde_json::from_value(serde_json::json!({
        "code": "vip-week", "name": "VIP week",
        "coupon": {"code": "x", "kind": {"kind": "amount_off", "off": 2000, "min_spend": 5000},
                   "valid_days": 7},
        "segment": {"tags": ["vip"]},
        "starts_at": (now - chrono::Duration::minutes(1)).to_rfc3339(),
        "ends_at": (now + chrono::Duration::days(7)).to_rfc3339(),
        "per_member": 2, "budget": 100, "control_bp": 0,
    }))
    .unwrap();
    world.hq.create_campaign(&actor, &spec).await.unwrap();
    let run = world.hq.run_campaign("vip-week", now).await.unwrap();
    sync(&world, &store_a).await;
    scan(&world, &store_b, member).await;
    scan(&world, &store_b, other).await;
    sync(&world, &store_b).await;
    let at_a = campaign_coupons(&store_a, member, "vip-week");
    let at_b = campaign_coupons(&store_b, member, "vip-week");
    let others = campaign_coupons(&store_b, other, "vip-week");

    // Offline at store b: both coupons on one order are refused (one per
    // order); one of them is used.
    let (both, _) = sell_with_coupons(&store_b, member, at_b.clone());
    let (first, first_off) = sell_with_coupons(&store_b, member, vec![at_b[0]]);
    sync(&world, &store_b).await;
    sync(&world, &store_a).await;
    // Store a learned it: the used coupon is refused there, the other used.
    let (again, _) = sell_with_coupons(&store_a, member, vec![at_b[0]]);
    let (second, second_off) = sell_with_coupons(&store_a, member, vec![at_b[1]]);
    sync(&world, &store_a).await;
    let view = world.hq.campaign_view("vip-week").await.unwrap();
    let f = &view.figures;
    println!(
        "campaign at two stores: run {run:?}; coupons at a {}, at b {}, to a non-VIP {}; b offline: both at once refused {both:?}, one used (-{first_off}); a after sync: the used one refused {again:?}, the other used (-{second_off}); figures: issued {}, redeemed {}, orders {}, sales {} fen",
        at_a.len(),
        at_b.len(),
        others.len(),
        f.issued,
        f.redeemed,
        f.redeeming_orders,
        f.redeeming_sales_fen
    );
    assert_eq!((run.treated, run.coupons), (1, 2), "one VIP, two coupons");
    assert_eq!((at_a.len(), at_b.len(), others.len()), (2, 2, 0));
    assert_eq!(both, ["coupons_per_order"]);
    assert!(first.is_empty() && second.is_empty());
    assert_eq!(
        (first_off, second_off),
        (Money::from_yuan(20), Money::from_yuan(20))
    );
    assert_eq!(
        again,
        ["coupon_used"],
        "a coupon used at another store is refused with the reason"
    );
    assert_eq!((f.issued, f.redeemed, f.redeeming_orders), (2, 2, 2));
    assert_eq!(f.redeeming_sales_fen, 2 * 8_000, "two ¥100 orders at ¥80");
    let conflicts = world.hq_store.conflicts().await.unwrap();
    assert!(
        conflicts.iter().all(|c| c.kind != "coupon_used_twice"),
        "no coupon used twice: {conflicts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gift_redeemed_at_the_counter_reaches_head_office_and_another_store_with_the_same_points()
{
    let clock = Arc::new(FakeClock::at(chrono::Utc::now().fixed_offset()));
    let mut world = world_with(clock.clone()).await;
    let (store_a, store_b) = two_stores(&mut world).await;
    let member = enroll(&store_a, "13700006666");
    for _ in 0..5 {
        sell_100(&store_a, member);
    }
    // Head office publishes a catalogue with a 300-point mug, from two
    // minutes from now; it reaches both terminals with the version.
    let with_gifts = tillcard::rules::Program {
        effective_from: Some(clock.now() + chrono::Duration::minutes(2)),
        gifts: vec![tillcard::rules::program::Gift {
            code: "mug".into(),
            name: "保温杯".into(),
            points: 300,
            active: true,
        }],
        ..Default::default()
    };
    let actor = tillcard_hq::service::back_office::Actor::cli();
    world.hq.publish_program(&actor, &with_gifts).await.unwrap();
    sync(&world, &store_a).await;
    scan(&world, &store_b, member).await;
    sync(&world, &store_b).await;
    clock.advance(chrono::Duration::minutes(3));

    let points_at = |till: &StoreHandle| {
        call(till, move |s| {
            Ok(s.account(member)?.points_available(s.clock().now()))
        })
    };
    let before = points_at(&store_a);
    let catalogue_at_b = call(&store_b, |s| s.program()).gifts;
    call(&store_a, move |s| {
        let clerk = s.login("c1", "3817")?;
        s.redeem_gift(&clerk, member, "mug")
    });
    let after_a = points_at(&store_a);
    sync(&world, &store_a).await;
    sync(&world, &store_b).await;

    let (_, entries) = world.hq_store.member(member).await.unwrap().unwrap();
    let at_hq =
        tillcard::rules::MemberAccount::fold(tillcard::rules::MemberAccount::new(member), &entries)
            .points_available(clock.now());
    let gift_entries = entries
        .iter()
        .filter(|e| {
            matches!(
                &e.kind,
                tillcard::rules::EntryKind::PointsRedeemedForGift { gift, .. } if gift == "mug"
            )
        })
        .count();
    let after_b = points_at(&store_b);
    let dead = world.hq_store.dead_letters().await.unwrap();
    println!(
        "gift for points: {before} points at store a, {after_a} after the mug; head office {at_hq} ({gift_entries} gift entry), store b {after_b}; dead letters {}",
        dead.len()
    );
    assert_eq!(
        catalogue_at_b.len(),
        1,
        "the catalogue came down with the program"
    );
    assert_eq!(before, 500);
    assert_eq!(after_a, 200);
    assert_eq!(gift_entries, 1);
    assert_eq!(at_hq, 200, "head office's ledger agrees with the counter");
    assert_eq!(after_b, 200, "the other store sees the same balance");
    assert!(dead.is_empty(), "nothing dead-lettered: {dead:?}");
}

/// Issue 21: revoking terminal A withdraws its card key at terminal B. A
/// card A signed before the revocation still scans at B and its member is
/// handed a card head office signed; a card signed with A's card key
/// (taken from A's store, as a thief would) dated after the revocation is
/// refused at B. A tampered signed change is refused and counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_terminals_card_key_is_withdrawn_and_its_members_get_a_head_office_card() {
    use tillcard::scan::credential::{Credential, VerifyError, parse_token};
    use tillcard::scan::outcome::{ScanOutcome, classify};
    let mut world = world().await;
    let (store_a, store_b) = two_stores(&mut world).await;
    let member = enroll(&store_a, "13700007777");
    let before = call(&store_a, move |s| s.issue_card(member.0, 1));
    let before_token = parse_token(&before).unwrap();
    sync(&world, &store_a).await;
    scan(&world, &store_b, member).await;
    sync(&world, &store_b).await;
    let now = || u64::try_from(chrono::Utc::now().timestamp()).unwrap();
    assert!(
        call(&store_b, Store::card_verifier)
            .verify(&before_token, now())
            .is_ok(),
        "A's card scans at B before the revocation"
    );
    // Keys by purpose: A's card key is not its request-signing key.
    let (a_id, a_request_key) = call(&store_a, |s| {
        let c = s.credentials().unwrap();
        Ok((c.terminal_id, c.signing_key.verifying_key()))
    });
    let a_card = call(&store_a, Store::card_signer);
    assert_ne!(a_card.verifying_key(), a_request_key, "keys by purpose");

    let actor = tillcard_hq::service::back_office::Actor::cli();
    world.hq.revoke_terminal(&actor, a_id).await.unwrap();
    sync(&world, &store_b).await;

    let verifier = call(&store_b, Store::card_verifier);
    let honoured = verifier.verify(&before_token, now());
    // A thief's card: A's card key, dated after the revocation.
    let forged = a_card.issue(&Credential {
        member_id: member.0,
        card_serial: 1,
        issuer: a_card.key_id(),
        issued_at: u32::try_from(now() + 120).unwrap(),
        valid_until: None,
    });
    let refused = verifier.verify(&parse_token(&forged).unwrap(), now());
    let directory = tillcard::scan::directory::InMemoryDirectory::new();
    let outcome = classify(&forged, &verifier, &directory, now());
    let hq_card = call(&store_b, move |s| s.head_office_card(member.0)).unwrap();
    let hq_token = parse_token(&hq_card).unwrap();
    let hq_verified = verifier.verify(&hq_token, now());
    let reissued = call(&store_b, move |s| s.reissued_card(member.0));
    println!(
        "withdrawn key {}: card before revocation {:?}; card after {refused:?} ({:?}); \
         head office's card issuer {} serial {}: {:?}",
        a_card.key_id(),
        honoured.as_ref().map(|c| c.issuer),
        outcome.kind(),
        hq_token.credential.issuer,
        hq_token.credential.card_serial,
        hq_verified.as_ref().map(|c| c.member_id == member.0),
    );
    assert_eq!(honoured.map(|c| c.issuer), Ok(a_card.key_id()));
    assert_eq!(refused, Err(VerifyError::KeyWithdrawn));
    assert_eq!(outcome, ScanOutcome::KeyWithdrawn);
    assert_eq!(
        hq_token.credential.issuer, 1,
        "signed by head office's card key"
    );
    assert_eq!(hq_token.credential.card_serial, 1);
    assert_eq!(hq_verified.map(|c| c.member_id), Ok(member.0));
    assert_eq!(
        reissued.as_deref(),
        Some(hq_card.as_str()),
        "the member screen hands it over"
    );

    // A tampered signed change: the withdrawal with its revocation erased.
    let b_id = call(&store_b, |s| Ok(s.credentials().unwrap().terminal_id));
    let b_record = world.hq_store.terminal(b_id).await.unwrap().unwrap();
    let mut page = world.hq.changes(&b_record, None).await.unwrap();
    let mut tampered = 0;
    for change in &mut page.changes {
        if let tillcard_protocol::wire::Change::TrustedKey { key, .. } = change
            && key.revoked_at.is_some()
        {
            key.revoked_at = None;
            tampered += 1;
        }
    }
    page.more = false;
    let refused_before = call(&store_b, |s| s.refused_changes());
    call(&store_b, move |s| s.apply_changes(page));
    let refused_after = call(&store_b, |s| s.refused_changes());
    let still = call(&store_b, Store::card_verifier).verify(&parse_token(&forged).unwrap(), now());
    println!(
        "tampered changes {tampered}: refused {refused_before} -> {refused_after}; forged card still {still:?}"
    );
    assert!(tampered >= 1);
    assert_eq!(refused_after - refused_before, tampered);
    assert_eq!(still, Err(VerifyError::KeyWithdrawn));
}
