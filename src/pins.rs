//! The PIN policy and the lockout schedule, as pure functions (no I/O, no
//! clock: the store passes readings in). One place decides what a new PIN
//! may be ([`check_new_pin`]) and how long a clerk waits after wrong PINs
//! ([`lockout_after`]); `store/clerks` applies both, the counter's PIN
//! set-up refuses on the spot with the same answer.
//!
//! The policy (README, "PINs and lockout"):
//! - a cashier's PIN is 4 to 8 digits, a manager's 6 to 8;
//! - refused as guessable: one block repeated (1111, 1212, 123123,
//!   520520), a straight run up or down, wrapping 9 to 0 (1234, 7890,
//!   654321), a year 1940-2039 (4 digits), or one of [`COMMON_PINS`].
//!
//! The lockout: [`FREE_FAILURES`] wrong PINs in a row cost nothing; from
//! then on each wrong PIN locks the clerk for [`FIRST_LOCKOUT_MS`], doubling
//! with each further one, capped at [`MAX_LOCKOUT_MS`]. A right PIN, a
//! manager's approval or a new PIN from head office starts the count again.

use std::ops::RangeInclusive;

use tillcard_protocol::staff::StaffRole;

/// Digits a cashier's PIN may have.
pub const CASHIER_DIGITS: RangeInclusive<usize> = 4..=8;
/// Digits a manager's PIN may have.
pub const MANAGER_DIGITS: RangeInclusive<usize> = 6..=8;

/// Wrong PINs in a row before the first lockout.
pub const FREE_FAILURES: u32 = 5;
/// The first lockout, in milliseconds (30 s).
pub const FIRST_LOCKOUT_MS: u64 = 30_000;
/// The longest lockout, in milliseconds (1 h).
pub const MAX_LOCKOUT_MS: u64 = 3_600_000;

/// The documented floor: 10,000 guesses at one clerk take at least this
/// many days of waiting (see [`min_wait_ms_for_guesses`]; 416.2 days).
pub const DAYS_FOR_10_000_GUESSES: u64 = 416;

/// PINs people choose most (published studies of leaked PIN sets, and the
/// Chinese number words: 520 "I love you", 1314 "for life", 168/888
/// "fortune"), beyond what the repeat and run checks already catch.
pub const COMMON_PINS: &[&str] = &[
    // 4 digits
    "1004", "1122", "1313", "1314", "1688", "2001", "2580", "0852", "5201", "5211", "6969", "1010",
    "1357", "2468", "1369", "1478", "3698", "7410", "0520", "1001", "5683",
    // 6 digits
    "112233", "123321", "147258", "147852", "159357", "258369", "369258", "520131", "521314",
    "131452", "168888", "666888", "888666", "741852", "852963", "789456", "456789", "102030",
    "100200", "135790", "246810", // 8 digits
    "52013140", "13145200", "12344321", "11223344", "88889999",
];

/// Why a new PIN is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinProblem {
    /// Not 4 to 8 ASCII digits.
    Shape,
    /// A manager's PIN under 6 digits.
    ManagerTooShort,
    /// One block repeated: 1111, 1212, 123123.
    Repeated,
    /// A straight run up or down: 1234, 7890, 654321.
    Run,
    /// A year (4 digits, 1940-2039): birth years are guessed first.
    Year,
    /// On the list of the most common PINs.
    Common,
    /// The repeat differs from the first entry.
    Mismatch,
}

/// Checks a new PIN for a clerk of `role`, and its repeat: the shape
/// first, then the role's length, then the guessable kinds, then whether
/// the two entries match.
pub fn check_new_pin(pin: &str, repeat: &str, role: StaffRole) -> Result<(), PinProblem> {
    check_pin(pin, role)?;
    if pin != repeat {
        return Err(PinProblem::Mismatch);
    }
    Ok(())
}

/// Checks one PIN against the policy for `role` (no repeat): what a new PIN
/// must pass, and what sign-in checks to tell a clerk their old PIN no
/// longer meets it.
pub fn check_pin(pin: &str, role: StaffRole) -> Result<(), PinProblem> {
    if !CASHIER_DIGITS.contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PinProblem::Shape);
    }
    if role == StaffRole::Manager && !MANAGER_DIGITS.contains(&pin.len()) {
        return Err(PinProblem::ManagerTooShort);
    }
    let digits: Vec<u8> = pin.bytes().map(|b| b - b'0').collect();
    if is_repeated(&digits) {
        return Err(PinProblem::Repeated);
    }
    if is_run(&digits) {
        return Err(PinProblem::Run);
    }
    if is_year(&digits) {
        return Err(PinProblem::Year);
    }
    if COMMON_PINS.contains(&pin) {
        return Err(PinProblem::Common);
    }
    Ok(())
}

/// One shorter block repeated to the full length (1111, 1212, 123123).
fn is_repeated(digits: &[u8]) -> bool {
    (1..digits.len())
        .filter(|period| digits.len().is_multiple_of(*period))
        .any(|period| digits.chunks(period).all(|c| c == &digits[..period]))
}

/// Each digit one more than the last (9 wraps to 0), or each one less.
fn is_run(digits: &[u8]) -> bool {
    let steps = || digits.windows(2).map(|w| (10 + w[1] - w[0]) % 10);
    steps().all(|s| s == 1) || steps().all(|s| s == 9)
}

/// 4 digits reading as a year 1940-2039.
fn is_year(digits: &[u8]) -> bool {
    let [a, b, c, d] = digits else {
        return false;
    };
    let year = u32::from(*a) * 1000 + u32::from(*b) * 100 + u32::from(*c) * 10 + u32::from(*d);
    (1940..=2039).contains(&year)
}

/// The lockout, in milliseconds, after `failures` wrong PINs in a row
/// (counting the one just given): none before [`FREE_FAILURES`], then
/// 30 s, 60 s, 120 s ... up to 1 h.
pub fn lockout_after(failures: u32) -> Option<u64> {
    let beyond = failures.checked_sub(FREE_FAILURES)?;
    let doubled = 1u64
        .checked_shl(beyond.min(32))
        .and_then(|factor| FIRST_LOCKOUT_MS.checked_mul(factor))
        .unwrap_or(MAX_LOCKOUT_MS);
    Some(doubled.min(MAX_LOCKOUT_MS))
}

/// The least waiting, in milliseconds, before `guesses` PINs can all have
/// been tried at one clerk with no right one among them: the lockouts
/// after the 1st to the (guesses - 1)th wrong PIN.
pub fn min_wait_ms_for_guesses(guesses: u32) -> u64 {
    (1..guesses)
        .filter_map(lockout_after)
        .fold(0u64, u64::saturating_add)
}

/// A wait in whole seconds, rounded up (a clerk told "0 s" would try at
/// once and be refused).
pub fn wait_secs(ms: u64) -> u64 {
    ms.div_ceil(1000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn guessable_pins_are_refused_with_their_reason() {
        let cases: &[(&str, StaffRole, PinProblem)] = &[
            ("", StaffRole::Cashier, PinProblem::Shape),
            ("123", StaffRole::Cashier, PinProblem::Shape),
            ("123456789", StaffRole::Cashier, PinProblem::Shape),
            ("12a4", StaffRole::Cashier, PinProblem::Shape),
            ("１２３４", StaffRole::Cashier, PinProblem::Shape),
            ("3817", StaffRole::Manager, PinProblem::ManagerTooShort),
            ("38172", StaffRole::Manager, PinProblem::ManagerTooShort),
            ("1111", StaffRole::Cashier, PinProblem::Repeated),
            ("1212", StaffRole::Cashier, PinProblem::Repeated),
            ("000000", StaffRole::Manager, PinProblem::Repeated),
            ("123123", StaffRole::Manager, PinProblem::Repeated),
            ("520520", StaffRole::Manager, PinProblem::Repeated),
            ("1234", StaffRole::Cashier, PinProblem::Run),
            ("4321", StaffRole::Cashier, PinProblem::Run),
            ("7890", StaffRole::Cashier, PinProblem::Run),
            ("123456", StaffRole::Manager, PinProblem::Run),
            ("654321", StaffRole::Manager, PinProblem::Run),
            ("01234567", StaffRole::Manager, PinProblem::Run),
            ("1988", StaffRole::Cashier, PinProblem::Year),
            ("2024", StaffRole::Cashier, PinProblem::Year),
            ("2580", StaffRole::Cashier, PinProblem::Common),
            ("1314", StaffRole::Cashier, PinProblem::Common),
            ("147258", StaffRole::Manager, PinProblem::Common),
        ];
        let mut refused = 0;
        for (pin, role, want) in cases {
            assert_eq!(check_pin(pin, *role), Err(*want), "{pin} as {role:?}");
            refused += 1;
        }
        for good in ["3817", "4926", "9173", "120394", "13579"] {
            assert_eq!(check_pin(good, StaffRole::Cashier), Ok(()), "{good}");
        }
        for good in ["738162", "120394", "90817263"] {
            assert_eq!(check_pin(good, StaffRole::Manager), Ok(()), "{good}");
        }
        assert_eq!(
            check_new_pin("3817", "3818", StaffRole::Cashier),
            Err(PinProblem::Mismatch)
        );
        assert_eq!(check_new_pin("3817", "3817", StaffRole::Cashier), Ok(()));
        println!("{refused} guessable PINs refused with their reason");
    }

    #[test]
    fn every_common_pin_is_digits_of_an_allowed_length_and_refused() {
        for pin in COMMON_PINS {
            assert!(CASHIER_DIGITS.contains(&pin.len()), "{pin}");
            assert!(check_pin(pin, StaffRole::Cashier).is_err(), "{pin}");
        }
        let open = (0..10_000u32)
            .filter(|n| check_pin(&format!("{n:04}"), StaffRole::Cashier).is_ok())
            .count();
        let open6 = (0..1_000_000u32)
            .filter(|n| check_pin(&format!("{n:06}"), StaffRole::Manager).is_ok())
            .count();
        println!(
            "{} common PINs listed; 4-digit PINs allowed: {open} of 10000; 6-digit: {open6} of 1000000",
            COMMON_PINS.len()
        );
        // The policy takes a small part of each space: guessing stays blind.
        assert!(open >= 9_700 && open6 >= 998_000);
    }

    #[test]
    fn the_lockout_doubles_from_30_seconds_to_an_hour() {
        let schedule: Vec<Option<u64>> = (1..=14).map(lockout_after).collect();
        println!("lockout after 1..14 failures (ms): {schedule:?}");
        assert_eq!(&schedule[..4], &[None, None, None, None]);
        assert_eq!(lockout_after(5), Some(30_000));
        assert_eq!(lockout_after(6), Some(60_000));
        assert_eq!(lockout_after(11), Some(1_920_000));
        assert_eq!(lockout_after(12), Some(MAX_LOCKOUT_MS));
        assert_eq!(lockout_after(u32::MAX), Some(MAX_LOCKOUT_MS));
        let floor = min_wait_ms_for_guesses(10_000);
        println!(
            "10000 guesses wait at least {floor} ms ({} days)",
            floor / 86_400_000
        );
        assert_eq!(floor / 86_400_000, DAYS_FOR_10_000_GUESSES);
        assert_eq!(wait_secs(1), 1);
        assert_eq!(wait_secs(30_000), 30);
    }

    proptest! {
        #[test]
        fn lockouts_never_shrink_and_stay_capped(failures in 0u32..100_000) {
            let now = lockout_after(failures).unwrap_or(0);
            let next = lockout_after(failures + 1).unwrap_or(0);
            prop_assert!(next >= now);
            prop_assert!(next <= MAX_LOCKOUT_MS);
        }

        #[test]
        fn an_accepted_pin_has_the_roles_length_and_no_pattern(pin in "[0-9]{0,9}", manager: bool) {
            let role = if manager { StaffRole::Manager } else { StaffRole::Cashier };
            if check_pin(&pin, role).is_ok() {
                let digits: Vec<u8> = pin.bytes().map(|b| b - b'0').collect();
                let lengths = if manager { MANAGER_DIGITS } else { CASHIER_DIGITS };
                prop_assert!(lengths.contains(&pin.len()));
                prop_assert!(!is_repeated(&digits) && !is_run(&digits));
                prop_assert!(!COMMON_PINS.contains(&pin.as_str()));
                // Any digit repeated to the length is refused.
                let same = pin.chars().next().map(|c| c.to_string().repeat(pin.len()));
                prop_assert!(same.is_some_and(|s| check_pin(&s, role).is_err()));
            }
        }
    }
}
