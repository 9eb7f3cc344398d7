//! PINs that do not fall to guessing (issue 21): 10,000 guesses at one
//! clerk against the escalating lockout on a fake monotonic clock, a
//! lockout that setting the wall clock or restarting does not shorten, a
//! manager lifting a cashier's lockout (never a manager's), and the PIN
//! policy where clerks are added. One test inspects the database (the
//! audit row of a lift), hence the connection allowed here.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use chrono::Duration;
use tillcard::clock::Clock;
use tillcard::pins::{self, PinProblem};
use tillcard::store::StoreError;
use tillcard::store::clerks::Role;
use util::store::{CASHIER, MANAGER, open_store, start_time};

/// Wrong PINs at `id` until the lockout starts; its wait in seconds.
fn lock_out(t: &mut util::store::TestStore, id: &str) -> u64 {
    for _ in 0..pins::FREE_FAILURES {
        if let Err(StoreError::Locked { wait_secs }) = t.store.login(id, "90817") {
            return wait_secs;
        }
    }
    panic!("{id} was never locked out");
}

#[test]
fn ten_thousand_guesses_against_one_clerk_take_at_least_the_documented_time() {
    let mut t = open_store();
    // The clerk's PIN has 5 digits: the attacker tries every 4-digit PIN.
    t.store
        .add_clerk("c9", "Guessed", Role::Cashier, "38172")
        .unwrap();
    let mono_before = t.clock.monotonic_ms();
    let (mut guesses, mut accepted, mut refused_unchecked) = (0u32, 0u32, 0u32);
    let mut waited_ms = 0u64;
    for n in 0..10_000u32 {
        let guess = format!("{n:04}");
        let left = t.store.lockout_left_secs("c9").unwrap();
        if left > 0 {
            if n % 1000 == 0 {
                // Trying before the wait is over is refused unchecked, the
                // right PIN too.
                assert!(matches!(
                    t.store.login("c9", "38172"),
                    Err(StoreError::Locked { .. })
                ));
                refused_unchecked += 1;
            }
            t.clock
                .advance(Duration::seconds(i64::try_from(left).unwrap()));
            waited_ms += left * 1000;
        }
        guesses += 1;
        match t.store.login("c9", &guess) {
            Ok(_) => accepted += 1,
            Err(StoreError::WrongPin { .. } | StoreError::Locked { .. }) => {}
            Err(other) => panic!("guess {guess}: {other:?}"),
        }
    }
    let advanced_ms = t.clock.monotonic_ms() - mono_before;
    let floor_ms = pins::min_wait_ms_for_guesses(10_000);
    let days = |ms: u64| ms as f64 / 86_400_000.0;
    println!(
        "guesses {guesses}, accepted {accepted}, refused while locked {refused_unchecked}; \
         the clock advanced {advanced_ms} ms ({:.1} days), waits {waited_ms} ms; \
         documented floor {floor_ms} ms ({:.1} days, README: at least {} days)",
        days(advanced_ms),
        days(floor_ms),
        pins::DAYS_FOR_10_000_GUESSES
    );
    assert_eq!(guesses, 10_000);
    assert_eq!(accepted, 0, "the PIN was not among the guesses");
    assert!(refused_unchecked > 0);
    assert!(waited_ms >= floor_ms, "{waited_ms} < {floor_ms}");
    assert!(advanced_ms >= pins::DAYS_FOR_10_000_GUESSES * 86_400_000);
    // The clerk still signs in with the right PIN once the wait is over.
    let left = t.store.lockout_left_secs("c9").unwrap();
    t.clock
        .advance(Duration::seconds(i64::try_from(left).unwrap()));
    assert!(t.store.login("c9", "38172").is_ok());
}

#[test]
fn setting_the_wall_clock_or_restarting_does_not_shorten_a_lockout() {
    let mut t = open_store();
    assert_eq!(lock_out(&mut t, CASHIER.0), 30, "the first lockout: 30 s");
    for (label, wall) in [
        ("a day ahead", start_time() + Duration::days(1)),
        ("a year back", start_time() - Duration::days(365)),
        ("ten years ahead", start_time() + Duration::days(3650)),
    ] {
        t.clock.set_wall(wall);
        match t.store.login(CASHIER.0, CASHIER.1) {
            Err(StoreError::Locked { wait_secs }) => {
                println!("wall clock {label}: still locked, {wait_secs} s to wait");
                assert!(wait_secs >= 29, "{label}: {wait_secs}");
            }
            other => panic!("wall clock {label}: {other:?}"),
        }
    }
    t.clock.advance(Duration::seconds(20));
    // A restart re-arms what is left in full (never less).
    let mut t = t.reopen();
    let left = t.store.lockout_left_secs(CASHIER.0).unwrap();
    println!("after 20 s and a restart: {left} s to wait");
    assert!(left >= 30, "{left}");
    t.clock
        .advance(Duration::seconds(i64::try_from(left).unwrap()));
    // The next wrong PIN doubles the lockout; the right one ends it all.
    match t.store.login(CASHIER.0, "90817") {
        Err(StoreError::Locked { wait_secs }) => assert_eq!(wait_secs, 60),
        other => panic!("{other:?}"),
    }
    t.clock.advance(Duration::seconds(60));
    assert!(t.store.login(CASHIER.0, CASHIER.1).is_ok());
    assert!(matches!(
        t.store.login(CASHIER.0, "90817"),
        Err(StoreError::WrongPin { attempts_left: 4 })
    ));
    assert!(t.store.verify_audit_chain().unwrap().is_ok());
}

#[test]
fn a_managers_pin_lifts_a_cashiers_lockout_but_not_a_managers() {
    let mut t = open_store();
    t.store
        .add_clerk("m2", "Second manager", Role::Manager, "604918")
        .unwrap();
    lock_out(&mut t, CASHIER.0);
    let approval = t.store.approve(MANAGER.0, MANAGER.1).unwrap();
    t.store.lift_lockout(&approval, CASHIER.0).unwrap();
    assert_eq!(t.store.lockout_left_secs(CASHIER.0).unwrap(), 0);
    assert!(t.store.login(CASHIER.0, CASHIER.1).is_ok(), "lifted");

    lock_out(&mut t, MANAGER.0);
    let other = t.store.approve("m2", "604918").unwrap();
    assert!(matches!(
        t.store.lift_lockout(&other, MANAGER.0),
        Err(StoreError::ManagerLockout)
    ));
    assert!(matches!(
        t.store.approve(MANAGER.0, MANAGER.1),
        Err(StoreError::Locked { .. })
    ));
    // Inspects the database: the audit row of the lift.
    let lifted: i64 = util::store::raw(&t.path())
        .query_row(
            "SELECT count(*) FROM audit WHERE action = 'lockout_lifted'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    println!("lockouts lifted, audited: {lifted}");
    assert_eq!(lifted, 1);
}

#[test]
fn clerks_are_added_only_with_a_pin_the_policy_allows() {
    let mut t = open_store();
    let refused: Vec<(&str, Role, PinProblem)> = vec![
        ("1234", Role::Cashier, PinProblem::Run),
        ("1111", Role::Cashier, PinProblem::Repeated),
        ("1988", Role::Cashier, PinProblem::Year),
        ("2580", Role::Cashier, PinProblem::Common),
        ("3817", Role::Manager, PinProblem::ManagerTooShort),
        ("123", Role::Cashier, PinProblem::Shape),
    ];
    for (n, (pin, role, problem)) in refused.iter().enumerate() {
        let id = format!("x{n}");
        match t.store.add_clerk(&id, "New", *role, pin) {
            Err(StoreError::WeakPin(p)) => assert_eq!(p, *problem, "{pin}"),
            other => panic!("{pin}: {other:?}"),
        }
    }
    t.store
        .add_clerk("ok", "New", Role::Manager, "604918")
        .unwrap();
    println!("{} PINs refused at add_clerk, one accepted", refused.len());
}
