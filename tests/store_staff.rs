//! Clerks head office sets up, as the terminal's store takes them from the
//! downlink: a PIN hash sealed to this terminal signs the clerk in, a
//! deactivation is refused at the next sign-in, a clerk moved away is
//! forgotten, a hash sealed to another terminal fails the whole page, and
//! a registered terminal registers again only with a manager's approval.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use ed25519_dalek::SigningKey;
use tillcard::store::StoreError;
use tillcard::store::clerks::Role;
use tillcard_protocol::auth;
use tillcard_protocol::staff::{StaffRole, StaffSnapshot};
use tillcard_protocol::wire::{Change, ChangesPage, Provisioned, TerminalId};
use util::store::*;

/// An empty store (no clerk at all), registered with a made-up head
/// office; the terminal's signing key.
fn registered_store() -> (TestStore, SigningKey) {
    let mut t = open_store();
    let key = auth::generate_signing_key();
    t.store
        .provision(key.clone(), &provisioned(), None)
        .unwrap();
    (t, key)
}

fn provisioned() -> Provisioned {
    Provisioned {
        terminal_id: TerminalId(uuid::Uuid::now_v7()),
        store: "SH-001".into(),
        hq_box_public_key: auth::box_public_key(&auth::random_32()),
        trusted_keys: Vec::new(),
        lookup_key: auth::b64(&auth::random_32()),
        card_key_id: None,
        downlink_key: None,
        registration: None,
    }
}

fn page(changes: Vec<Change>, cursor: &str) -> ChangesPage {
    ChangesPage {
        changes,
        cursor: cursor.into(),
        more: false,
        acked_seq: None,
        resync: false,
    }
}

fn li_na(sealed_pin_hash: Option<String>, active: bool) -> Change {
    Change::Staff {
        staff: StaffSnapshot {
            staff_id: "li.na".into(),
            display_name: "李娜".into(),
            role: StaffRole::Manager,
            active,
            sealed_pin_hash,
        },
        signature: None,
    }
}

#[test]
fn a_clerk_from_head_office_signs_in_with_the_pin_set_at_another_till_until_deactivated() {
    let (mut t, key) = registered_store();
    let public = auth::encode_public_key(&key.verifying_key());
    // The hash another till of the store made when the clerk chose 604918.
    let hash = t.store.hash_new_pin("604918", Role::Manager).unwrap();
    let sealed = auth::seal_to_terminal(&public, &hash).unwrap();

    t.store
        .apply_changes(page(vec![li_na(None, true)], "c1"))
        .unwrap();
    let listed = t.store.clerk_list().unwrap();
    let clerk = listed.iter().find(|c| c.id == "li.na").unwrap();
    assert!(!clerk.has_pin, "no PIN yet: sign-in offers the set-up");
    assert_eq!(clerk.role, Role::Manager);
    assert!(matches!(
        t.store.login("li.na", "604918"),
        Err(StoreError::PinNotSet)
    ));

    t.store
        .apply_changes(page(vec![li_na(Some(sealed.clone()), true)], "c2"))
        .unwrap();
    assert!(
        t.store
            .clerk_list()
            .unwrap()
            .iter()
            .any(|c| c.id == "li.na" && c.has_pin)
    );
    assert!(matches!(
        t.store.login("li.na", "1111"),
        Err(StoreError::WrongPin { .. })
    ));
    assert_eq!(
        t.store.login("li.na", "604918").unwrap().role(),
        Role::Manager
    );
    assert!(
        t.store.approve("li.na", "604918").is_ok(),
        "a manager from head office approves"
    );

    t.store
        .apply_changes(page(vec![li_na(Some(sealed), false)], "c3"))
        .unwrap();
    assert!(
        matches!(
            t.store.login("li.na", "604918"),
            Err(StoreError::ClerkInactive)
        ),
        "deactivated at head office: refused after one sync"
    );
    assert!(
        !t.store
            .clerk_list()
            .unwrap()
            .iter()
            .any(|c| c.id == "li.na"),
        "and no longer on the sign-in screen"
    );

    t.store
        .apply_changes(page(
            vec![Change::StaffRemoved {
                staff_id: "li.na".into(),
                signature: None,
            }],
            "c4",
        ))
        .unwrap();
    assert!(matches!(
        t.store.login("li.na", "604918"),
        Err(StoreError::UnknownClerk)
    ));
    assert_eq!(t.store.downlink_cursor().unwrap().as_deref(), Some("c4"));
    assert!(
        t.store.verify_audit_chain().unwrap().is_ok(),
        "the audit chain holds"
    );
}

#[test]
fn a_pin_hash_sealed_to_another_terminal_fails_the_page_and_applies_none_of_it() {
    let (mut t, _key) = registered_store();
    let other = auth::generate_signing_key();
    let hash = t.store.hash_new_pin("604918", Role::Manager).unwrap();
    let sealed_elsewhere =
        auth::seal_to_terminal(&auth::encode_public_key(&other.verifying_key()), &hash).unwrap();
    let before = t.store.clerk_list().unwrap();
    let result = t.store.apply_changes(page(
        vec![
            Change::StaffRemoved {
                staff_id: CASHIER.0.into(),
                signature: None,
            },
            li_na(Some(sealed_elsewhere), true),
        ],
        "c9",
    ));
    assert!(matches!(result, Err(StoreError::Damaged(_))), "{result:?}");
    assert_eq!(
        t.store.clerk_list().unwrap(),
        before,
        "nothing of the page applied"
    );
    assert_eq!(t.store.downlink_cursor().unwrap(), None, "nor its cursor");
}

#[test]
fn a_staff_change_out_of_bounds_is_refused() {
    let (mut t, _key) = registered_store();
    for (id, name) in [
        ("", "名"),
        ("li na", "名"),
        ("li.na", ""),
        ("li.na", "a\u{7}b"),
    ] {
        let change = Change::Staff {
            staff: StaffSnapshot {
                staff_id: id.into(),
                display_name: name.into(),
                role: StaffRole::Cashier,
                active: true,
                sealed_pin_hash: None,
            },
            signature: None,
        };
        assert!(
            t.store.apply_changes(page(vec![change], "x")).is_err(),
            "{id:?} {name:?}"
        );
    }
}

#[test]
fn a_registered_terminal_registers_again_only_with_a_managers_approval() {
    let (mut t, _key) = registered_store();
    let again = auth::generate_signing_key();
    assert!(matches!(
        t.store.provision(again.clone(), &provisioned(), None),
        Err(StoreError::AlreadyRegistered)
    ));
    let approval = t.store.approve(MANAGER.0, MANAGER.1).unwrap();
    t.store
        .provision(again, &provisioned(), Some(&approval))
        .unwrap();
}
