//! What the flows' unit tests share: a counter with a clerk about to log
//! in, clerks and approvals from a real store (they cannot be made any
//! other way), and a good scan. Test builds only.

use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::counter::keypad::Key;
use crate::counter::messages::{Action, ClerkEntry, Command, Done, Input};
use crate::counter::state::Counter;
use crate::format::Language;
use crate::scan::credential::Credential;
use crate::scan::directory::MemberSummary;
use crate::scan::outcome::ScanOutcome;
use crate::store::clerks::{Approval, Clerk, Role};

/// A counter with a cashier and a manager listed and the cashier's PIN
/// sent (the login answer not yet in), and the moment it happened.
pub(super) fn logged_in() -> (Counter, Instant) {
    let mut c = Counter::new(Language::En, Duration::from_secs(60), false);
    let t0 = Instant::now();
    c.handle(
        Input::Done(Done::Clerks(Ok(vec![
            ClerkEntry {
                id: "c1".into(),
                name: "Cashier".into(),
                role: Role::Cashier,
                has_pin: true,
            },
            ClerkEntry {
                id: "m1".into(),
                name: "Manager".into(),
                role: Role::Manager,
                has_pin: true,
            },
        ]))),
        t0,
    );
    c.handle(Input::Tap(Action::SelectClerk("c1".into())), t0);
    press(&mut c, "3817", t0);
    let commands = c.handle(Input::Tap(Action::SubmitPin), t0);
    assert_eq!(
        commands,
        vec![Command::Login {
            clerk_id: "c1".into(),
            pin: "3817".into()
        }]
    );
    (c, t0)
}

/// [`logged_in`] with the login answered: the cashier is signed in, on
/// the home screen.
pub(super) fn signed_in() -> (Counter, Instant) {
    let (mut c, t0) = logged_in();
    c.handle(Input::Done(Done::LoggedIn(Ok(clerk()))), t0);
    (c, t0)
}

/// Presses the keypad's keys for `keys` (digits) at `at`, one by one.
pub(super) fn press(c: &mut Counter, keys: &str, at: Instant) {
    for k in keys.chars() {
        c.handle(Input::Key(Key::from_label(&k.to_string()).unwrap()), at);
    }
}

/// A store in a temporary directory (clerks and approvals can only
/// come from a store).
fn test_store() -> (tempfile::TempDir, crate::store::Store) {
    let dir = tempfile::tempdir().unwrap();
    let clock = std::sync::Arc::new(crate::clock::FakeClock::at(
        tillcard_rules::Timestamp::parse_from_rfc3339("2026-11-30T10:00:00+08:00").unwrap(),
    ));
    let store = crate::store::Store::open(
        &dir.path().join("t.sqlite"),
        crate::store::StoreConfig {
            pin_cost: crate::store::PinHashCost::TEST_ONLY,
            ..crate::store::StoreConfig::new(
                "T",
                crate::store_key::StoreKey::from_bytes([0x5a; 32]),
            )
        },
        clock,
    )
    .unwrap();
    (dir, store)
}

/// [`test_store`] with one clerk added: `id`, `name`, `role`, `pin`.
fn store_with_clerk(
    id: &str,
    name: &str,
    role: Role,
    pin: &str,
) -> (tempfile::TempDir, crate::store::Store) {
    let (dir, mut store) = test_store();
    store.add_clerk(id, name, role, pin).unwrap();
    (dir, store)
}

/// A manager's approval, from a real store.
pub(super) fn approval() -> Approval {
    let (_dir, mut store) = store_with_clerk("m1", "Manager", Role::Manager, "738162");
    store.approve("m1", "738162").unwrap()
}

/// A logged-in cashier, from a real store.
pub(super) fn clerk() -> Clerk {
    // A Clerk can only come from the store; build one through a store.
    let (_dir, mut store) = store_with_clerk("c1", "Cashier", Role::Cashier, "3817");
    store.login("c1", "3817").unwrap()
}

/// A good scan of member `member`'s card.
pub(super) fn found(member: u128) -> ScanOutcome {
    ScanOutcome::MemberFound {
        credential: Credential {
            member_id: Uuid::from_u128(member),
            card_serial: 1,
            issuer: 1,
            issued_at: 0,
            valid_until: None,
        },
        member: MemberSummary {
            member_id: Uuid::from_u128(member),
            masked_name: "张*".into(),
            masked_phone: "138****5678".into(),
            tier: "gold".into(),
        },
    }
}
