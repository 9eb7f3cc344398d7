//! The downlink as the terminal's uplink will consume it: pages applied
//! through `client::apply_page` into a sink, cursors resumed, snapshots as
//! opening accounts. Runs on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use std::collections::BTreeMap;

use tillcard_hq::store::scope::ScopeKey;
use tillcard_protocol::client::{self, DownlinkSink};
use tillcard_protocol::staff::StaffSnapshot;
use tillcard_protocol::wire::{MemberSnapshot, TrustedKey};
use tillcard_rules::ids::MemberId;
use tillcard_rules::ledger::Coupon;
use tillcard_rules::{MemberAccount, Program};
use util::{Backend, harness, new_member};

both!(downlink_pages_apply_into_a_terminal_cache, downlink);
both!(
    every_terminal_is_sent_members_read_and_folded_once,
    folded_once
);
both!(
    a_member_changed_on_many_pages_is_sent_once_per_pull_at_their_last_change,
    sent_once
);
both!(
    a_store_is_sent_the_members_it_has_seen_and_forgets_them_after_the_window,
    scoped
);
both!(
    trusted_keys_are_signed_once_for_the_chain_and_verify_at_every_terminal,
    signed_once
);

#[derive(Default)]
struct Cache {
    program: Option<Program>,
    members: BTreeMap<MemberId, MemberSnapshot>,
    keys: Vec<TrustedKey>,
    erased: Vec<MemberId>,
    forgotten: Vec<MemberId>,
    revoked: Vec<(Option<MemberId>, Option<String>)>,
    staff: BTreeMap<String, StaffSnapshot>,
    items: BTreeMap<String, tillcard_rules::catalog::CatalogItem>,
    cursor: Option<String>,
    /// Snapshots received, by member (a member sent twice counts 2).
    received: BTreeMap<MemberId, usize>,
}

impl DownlinkSink for Cache {
    type Error = std::convert::Infallible;
    fn program(&mut self, program: Program) -> Result<(), Self::Error> {
        self.program = Some(program);
        Ok(())
    }
    fn member(&mut self, snapshot: MemberSnapshot) -> Result<(), Self::Error> {
        *self.received.entry(snapshot.member).or_default() += 1;
        self.members.insert(snapshot.member, snapshot);
        Ok(())
    }
    fn coupon(&mut self, _: MemberId, _: Coupon) -> Result<(), Self::Error> {
        Ok(())
    }
    fn revocation(
        &mut self,
        member: Option<MemberId>,
        card: Option<String>,
    ) -> Result<(), Self::Error> {
        self.revoked.push((member, card));
        Ok(())
    }
    fn trusted_key(&mut self, key: TrustedKey) -> Result<(), Self::Error> {
        self.keys.push(key);
        Ok(())
    }
    fn erase(&mut self, member: MemberId) -> Result<(), Self::Error> {
        self.members.remove(&member);
        self.erased.push(member);
        Ok(())
    }
    fn forget(&mut self, member: MemberId) -> Result<(), Self::Error> {
        self.members.remove(&member);
        self.forgotten.push(member);
        Ok(())
    }
    fn staff(&mut self, staff: StaffSnapshot) -> Result<(), Self::Error> {
        self.staff.insert(staff.staff_id.clone(), staff);
        Ok(())
    }
    fn staff_removed(&mut self, staff_id: &str) -> Result<(), Self::Error> {
        self.staff.remove(staff_id);
        Ok(())
    }
    fn item(&mut self, item: tillcard_rules::catalog::CatalogItem) -> Result<(), Self::Error> {
        self.items.insert(item.sku.clone(), item);
        Ok(())
    }
    fn cursor(&mut self, cursor: &str) -> Result<(), Self::Error> {
        self.cursor = Some(cursor.to_string());
        Ok(())
    }
    // This cache pins no downlink key: it reads changes as they come
    // (the terminal's store verifies them; tests/sync_terminal.rs).
    fn downlink_key(
        &self,
    ) -> Option<(
        ed25519_dalek::VerifyingKey,
        tillcard_protocol::wire::TerminalId,
    )> {
        None
    }
    fn refused(
        &mut self,
        _: &tillcard_protocol::wire::Change,
        why: tillcard_protocol::trust::ChangeRefusal,
    ) -> Result<(), Self::Error> {
        panic!("no change is refused without a pinned key: {why}")
    }
}

async fn pull(h: &util::Harness, till: &util::Till, cache: &mut Cache) -> usize {
    h.settle_downlink().await;
    let mut pages = 0;
    loop {
        let req = till
            .creds
            .changes_request(cache.cursor.as_deref(), chrono::Utc::now().timestamp());
        let (s, body) = h.send(req).await;
        assert_eq!(s, axum::http::StatusCode::OK);
        pages += 1;
        if !client::apply_page(cache, client::decode_page(&body).unwrap()).unwrap() {
            return pages;
        }
    }
}

async fn downlink(backend: Backend) {
    let h = harness(backend).await;
    let (mut a, b) = h.two_stores().await;
    let member = new_member();
    let (e1, acc) = a.enroll_account(member, "13300133000");
    let (e2, tu) = a.top_up(&acc, 200);
    let topped_up = MemberAccount::fold(acc, &tu);
    h.upload(&a, vec![e1, e2]).await;

    // Another store's till is not sent the member (`store::scope`) until
    // their card is scanned there online and fetched on demand; from then
    // on the store's downlink carries them.
    let mut cache = Cache::default();
    pull(&h, &b, &mut cache).await;
    assert!(cache.members.is_empty(), "not in this store's scope");
    let (s, body) = h
        .send(
            b.creds
                .member_request(member, chrono::Utc::now().timestamp()),
        )
        .await;
    assert_eq!(s, axum::http::StatusCode::OK);
    let tillcard_protocol::wire::Change::Member { snapshot } =
        client::decode_change(&body).unwrap()
    else {
        panic!("a member change");
    };
    cache.member(*snapshot).unwrap();
    let (e3, more) = a.top_up(&topped_up, 300);
    let expected = MemberAccount::fold(topped_up, &more);
    h.upload(&a, vec![e3]).await;
    let pages = pull(&h, &b, &mut cache).await;
    assert_eq!(
        cache.received[&member], 2,
        "fetched, then the top-up's change"
    );
    let snap = &cache.members[&member];
    println!(
        "[{backend:?}] downlink at another store: {pages} page(s), program {}, keys {}, members {}, stored value {} fen, cursor {:?}",
        cache.program.is_some(),
        cache.keys.len(),
        cache.members.len(),
        snap.account.stored_value.total().fen(),
        cache.cursor
    );
    assert_eq!(cache.program, Some(Program::default()));
    // Head office's own card key, then each provisioned terminal's, under
    // the card key id head office registered for it.
    assert_eq!(cache.keys[..1], h.hq.trusted_keys()[..]);
    let terminal_keys: Vec<String> = [&a, &b]
        .iter()
        .map(|t| tillcard_protocol::auth::encode_public_key(&t.creds.signing_key.verifying_key()))
        .collect();
    assert_eq!(
        cache.keys[1..]
            .iter()
            .map(|k| k.public_key.clone())
            .collect::<Vec<_>>(),
        terminal_keys
    );
    assert!(
        cache.keys[1..]
            .iter()
            .all(|k| k.key_id.parse::<u16>().is_ok_and(|id| id >= 0x8000))
    );
    assert_eq!(snap.account.stored_value, expected.stored_value);
    assert_eq!(snap.account.coupons, expected.coupons);
    assert_eq!(
        snap.phone_lookup,
        Some(b.creds.phone_lookup("13300133000").unwrap())
    );
    assert_ne!(
        snap.phone_lookup,
        Some(a.creds.phone_lookup("13300133000").unwrap()),
        "lookup keys differ per terminal"
    );
    assert_eq!(snap.masked_phone.as_deref(), Some("133****3000"));

    // Nothing new: an empty page; then an erasure arrives and clears the cache.
    let before = cache.cursor.clone();
    pull(&h, &b, &mut cache).await;
    assert_eq!(cache.cursor, before);
    let (s, _) = h
        .admin_post(
            "/v1/admin/revocations",
            serde_json::json!({"card_serial": "card-42"}),
        )
        .await;
    assert_eq!(s, axum::http::StatusCode::NO_CONTENT);
    pull(&h, &b, &mut cache).await;
    assert_eq!(cache.revoked, vec![(None, Some("card-42".to_string()))]);
    h.hq.erase(member).await.unwrap();
    pull(&h, &b, &mut cache).await;
    assert!(cache.members.is_empty());
    assert_eq!(cache.erased, vec![member]);
}

/// Issue 23: a member is read and folded once per change for every
/// terminal, not once per terminal; a later change is read once again, and
/// each terminal still gets its own phone-lookup hash.
async fn folded_once(backend: Backend) {
    let h = harness(backend).await;
    // Two tills of one store: both have the members in scope.
    let (mut a, b) = (h.provision("S001").await, h.provision("S001").await);
    let mut accounts = Vec::new();
    let mut events = Vec::new();
    for i in 0..12 {
        let member = new_member();
        let (enrolled, account) = a.enroll_account(member, &format!("1330013{i:04}"));
        let (topped_up, entries) = a.top_up(&account, 100 + i);
        events.extend([enrolled, topped_up]);
        accounts.push(MemberAccount::fold(account, &entries));
    }
    h.upload(&a, events).await;
    let read = || h.hq.metrics().downlink_members_read.get();
    let cached = || h.hq.metrics().downlink_members_cached.get();

    let (mut at_b, mut at_a) = (Cache::default(), Cache::default());
    pull(&h, &b, &mut at_b).await;
    let read_by_first = read();
    pull(&h, &a, &mut at_a).await;
    println!(
        "[{backend:?}] 12 members, two terminals: read {read_by_first} for the first, {} for the second, {} from the cache",
        read() - read_by_first,
        cached()
    );
    assert_eq!(
        read_by_first, 12,
        "the first terminal's pull reads each member once"
    );
    assert_eq!(
        read(),
        12,
        "the second terminal's pull reads no member again"
    );
    assert_eq!(cached(), 12);
    for account in &accounts {
        let (at_a, at_b) = (
            &at_a.members[&account.member],
            &at_b.members[&account.member],
        );
        assert_eq!(at_a.account.stored_value, account.stored_value);
        assert_eq!(at_b.account.stored_value, account.stored_value);
        assert_ne!(
            at_a.phone_lookup, at_b.phone_lookup,
            "each terminal's own lookup key"
        );
    }

    // A later change of one member is read once more, and both terminals
    // receive it.
    let (topped_up, entries) = a.top_up(&accounts[0], 50);
    let after = MemberAccount::fold(accounts[0].clone(), &entries);
    h.upload(&a, vec![topped_up]).await;
    pull(&h, &b, &mut at_b).await;
    pull(&h, &a, &mut at_a).await;
    assert_eq!(read(), 13);
    assert_eq!(cached(), 13);
    for cache in [&at_a, &at_b] {
        assert_eq!(
            cache.members[&after.member].account.stored_value,
            after.stored_value
        );
    }
}

/// Three members topped up in each of 200 batches: 600 member changes,
/// more than a page holds (`CHANGES_PAGE_LIMIT`). A terminal pulling the
/// whole log receives each member once, with the account after the last
/// top-up; the pages before left them out (counted as deferred). A
/// terminal that pulled half-way receives them again after their later
/// changes.
async fn sent_once(backend: Backend) {
    let h = harness(backend).await;
    let (mut a, b) = (h.provision("S001").await, h.provision("S001").await);
    let mut accounts: Vec<MemberAccount> = Vec::new();
    let mut events = Vec::new();
    for i in 0..3 {
        let member = new_member();
        let (enrolled, account) = a.enroll_account(member, &format!("1330024{i:04}"));
        events.push(enrolled);
        accounts.push(account);
    }
    h.upload(&a, events).await;
    let mut half_way = Cache::default();
    for round in 0..200 {
        let mut batch = Vec::new();
        for account in &mut accounts {
            let (topped_up, entries) = a.top_up(account, 1);
            batch.push(topped_up);
            *account = MemberAccount::fold(account.clone(), &entries);
        }
        h.upload(&a, batch).await;
        if round == 99 {
            pull(&h, &b, &mut half_way).await;
        }
    }
    let deferred_before = h.hq.metrics().downlink_members_deferred.get();
    let mut cache = Cache::default();
    let pages = pull(&h, &b, &mut cache).await;
    let deferred = h.hq.metrics().downlink_members_deferred.get() - deferred_before;
    pull(&h, &b, &mut half_way).await;
    println!(
        "[{backend:?}] 3 members changed in 201 batches: {pages} pages, snapshots received {:?}, \
         {deferred} left out for a later page; half-way terminal received {:?}",
        cache.received.values().collect::<Vec<_>>(),
        half_way.received.values().collect::<Vec<_>>(),
    );
    assert!(pages > 1, "the log spans pages");
    assert!(deferred >= 3, "earlier pages left the members out");
    for account in &accounts {
        assert_eq!(cache.received[&account.member], 1, "sent once per pull");
        assert_eq!(
            cache.members[&account.member].account.stored_value, account.stored_value,
            "at their last change"
        );
        assert_eq!(half_way.received[&account.member], 2, "once per pull");
        assert_eq!(
            half_way.members[&account.member].account.stored_value,
            account.stored_value
        );
    }
}

/// Issue 23, `store::scope`: a store's tills are sent the members its
/// tills booked for (or fetched), not the chain's; a member seen at two
/// stores goes to both; after the scope window lapses each store's tills
/// are told to forget the member, and a visit brings them back to that
/// store alone.
async fn scoped(backend: Backend) {
    let h = harness(backend).await;
    let (mut a, a2, mut b) = (
        h.provision("S001").await,
        h.provision("S001").await,
        h.provision("S002").await,
    );
    let (m1, m2) = (new_member(), new_member());
    let (e1, acc1) = a.enroll_account(m1, "13300135001");
    let (e2, acc2) = b.enroll_account(m2, "13300135002");
    h.upload(&a, vec![e1]).await;
    h.upload(&b, vec![e2]).await;
    let (mut at_a2, mut at_b) = (Cache::default(), Cache::default());
    pull(&h, &a2, &mut at_a2).await;
    pull(&h, &b, &mut at_b).await;
    let held = |c: &Cache| c.members.keys().copied().collect::<Vec<_>>();
    assert_eq!(held(&at_a2), vec![m1], "S001 holds its own member only");
    assert_eq!(held(&at_b), vec![m2], "S002 holds its own member only");

    // m1 shops at S002 (card scanned offline there): both stores now.
    let (sale, entries) = b.top_up(&acc1, 20);
    let acc1 = MemberAccount::fold(acc1, &entries);
    h.upload(&b, vec![sale]).await;
    pull(&h, &a2, &mut at_a2).await;
    pull(&h, &b, &mut at_b).await;
    assert_eq!(held(&at_b), {
        let mut both = vec![m1, m2];
        both.sort();
        both
    });
    assert_eq!(
        at_a2.members[&m1].account.stored_value, acc1.stored_value,
        "S001 is sent what happened at S002"
    );
    let scopes = h.hq.store().scopes_of(m1).await.unwrap();
    assert_eq!(
        scopes.iter().map(|s| s.store.as_str()).collect::<Vec<_>>(),
        ["S001", "S002"]
    );

    // A year on, nobody was seen anywhere: every scope lapses, walked one
    // scope a page here (the daily job reads 10,000 a page).
    let later = chrono::Utc::now().fixed_offset() + chrono::Duration::days(365);
    let cutoff = tillcard_hq::store::scope::scope_day(later - chrono::Duration::days(180));
    let (mut lapsed, mut after, mut pages) = (0, ScopeKey::default(), 0);
    loop {
        let page = h.hq.store().lapse_scopes(&cutoff, &after, 1).await.unwrap();
        pages += 1;
        lapsed += page.lapsed;
        match page.next {
            Some(next) => after = next,
            None => break,
        }
    }
    assert_eq!(pages, 4, "three scopes a page each, then the empty end");
    pull(&h, &a2, &mut at_a2).await;
    pull(&h, &b, &mut at_b).await;
    println!(
        "[{backend:?}] scopes lapsed {lapsed}; S001 till forgot {:?}, S002 till forgot {} members",
        at_a2.forgotten.len(),
        at_b.forgotten.len()
    );
    assert_eq!(lapsed, 3, "(m1, S001), (m1, S002), (m2, S002)");
    assert!(at_a2.members.is_empty() && at_b.members.is_empty());
    assert_eq!(at_a2.forgotten, vec![m1]);
    assert_eq!(at_b.forgotten.len(), 2);
    assert_eq!(h.hq.lapse_scopes(later, 180).await.unwrap(), 0, "once");

    // m1 comes back to S001 only: S001's tills hold them again, S002's
    // do not; a lapsed member is not sent to every till.
    let (back, _) = a.top_up(&acc1, 5);
    h.upload(&a, vec![back]).await;
    pull(&h, &a2, &mut at_a2).await;
    pull(&h, &b, &mut at_b).await;
    assert_eq!(held(&at_a2), vec![m1]);
    assert!(at_b.members.is_empty());
    let _ = acc2;

    // A member head office does not know is not found, and not scoped.
    let stranger = new_member();
    let (s, _) = h
        .send(
            b.creds
                .member_request(stranger, chrono::Utc::now().timestamp()),
        )
        .await;
    assert_eq!(s, axum::http::StatusCode::NOT_FOUND);
    assert!(h.hq.store().scopes_of(stranger).await.unwrap().is_empty());
}

async fn signed_once(backend: Backend) {
    let h = harness(backend).await;
    let (a, b) = h.two_stores().await;
    let c = h.provision("S003").await;
    let downlink_key =
        tillcard_protocol::auth::decode_public_key(&h.hq.downlink_public_key()).unwrap();
    let made = || h.hq.metrics().downlink_signatures.get();
    let before = made();
    let mut seen = Vec::new();
    let mut chain_wide = 0;
    for till in [&a, &b, &c] {
        let changes = h.all_changes(till).await;
        let mut keys = Vec::new();
        for change in &changes {
            assert_eq!(
                tillcard_protocol::trust::verify_change(
                    change,
                    &downlink_key,
                    till.creds.terminal_id
                ),
                Ok(()),
                "{change:?}"
            );
            if let tillcard_protocol::wire::Change::TrustedKey { key, signature } = change {
                keys.push((key.key_id.clone(), signature.clone()));
            }
        }
        chain_wide = changes.iter().filter(|c| c.is_chain_wide()).count();
        seen.push(keys);
    }
    let made = made() - before;
    println!(
        "[{backend:?}] 3 terminals pulled {} trusted keys and {chain_wide} chain-wide changes each; {made} signatures made",
        seen[0].len()
    );
    assert_eq!(
        seen[0].len(),
        4,
        "each till's card key and head office's own"
    );
    assert_eq!(seen[0], seen[1], "the same signatures at every terminal");
    assert_eq!(seen[1], seen[2]);
    assert!(
        made <= chain_wide as u64,
        "each chain-wide change signed at most once, not once per terminal ({made} for {chain_wide})"
    );
}
