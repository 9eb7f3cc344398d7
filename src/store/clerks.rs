//! Clerks: PINs hashed with Argon2id, cashier and manager roles, lockout
//! after repeated wrong PINs, and the manager approval that refunds and
//! adjustments require. A [`Clerk`] or an [`Approval`] can only be obtained
//! by giving the right PIN, so an action that takes one cannot happen
//! without it.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rusqlite::{OptionalExtension, params};

use tillcard_protocol::staff::StaffRole;

use super::{PinHashCost, Store, StoreError, audit};

/// What a clerk may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sales, enrollment, top-ups.
    Cashier,
    /// Everything, including approving refunds and adjustments.
    Manager,
}

impl Role {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Role::Cashier => "cashier",
            Role::Manager => "manager",
        }
    }

    /// The role stored as `text`; anything but "manager" is a cashier, so
    /// a damaged row never grants more than it should.
    pub(crate) fn from_stored(text: &str) -> Role {
        if text == "manager" {
            Role::Manager
        } else {
            Role::Cashier
        }
    }
}

impl From<StaffRole> for Role {
    fn from(role: StaffRole) -> Role {
        match role {
            StaffRole::Cashier => Role::Cashier,
            StaffRole::Manager => Role::Manager,
        }
    }
}

/// A clerk who has logged in with the right PIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clerk {
    id: String,
    name: String,
    role: Role,
}

impl Clerk {
    /// Clerk id.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// Display name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Role.
    pub fn role(&self) -> Role {
        self.role
    }
}

/// A clerk as the login screen lists them (no PIN, no proof of anything).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClerkInfo {
    /// Clerk id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Whether the clerk has a PIN (a clerk head office set up has none
    /// until they choose one with their setup code).
    pub has_pin: bool,
}

/// Why a PIN a clerk chose is refused before it is hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewPinProblem {
    /// Not 4 to 8 digits.
    Shape,
    /// Guessable at a glance: one digit repeated (1111), a straight run
    /// (1234, 123456, 4321) or a pair repeated (1212).
    Trivial,
    /// The repeat differs from the first entry.
    Mismatch,
}

/// Checks a new PIN and its repeat, the shape first, then whether it is
/// trivial, then whether the two match.
pub fn new_pin_problem(pin: &str, repeat: &str) -> Option<NewPinProblem> {
    if !valid_pin(pin) {
        return Some(NewPinProblem::Shape);
    }
    if is_trivial_pin(pin) {
        return Some(NewPinProblem::Trivial);
    }
    if pin != repeat {
        return Some(NewPinProblem::Mismatch);
    }
    None
}

/// One digit repeated, a straight run up or down, or a repeated pair: the
/// PINs a bystander guesses first.
fn is_trivial_pin(pin: &str) -> bool {
    let digits: Vec<i16> = pin
        .bytes()
        .map(|b| i16::from(b) - i16::from(b'0'))
        .collect();
    let steps: Vec<i16> = digits.windows(2).map(|w| w[1] - w[0]).collect();
    let run = steps.iter().all(|s| *s == steps[0]) && matches!(steps.first(), Some(-1..=1));
    let pair = digits.len().is_multiple_of(2) && digits.chunks(2).all(|c| c == &digits[..2]);
    run || pair
}

/// A manager's approval, given by entering a manager PIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    manager_id: String,
}

impl Approval {
    /// The approving manager.
    pub fn manager_id(&self) -> &str {
        &self.manager_id
    }
}

fn hasher(cost: PinHashCost) -> Result<Argon2<'static>, StoreError> {
    let params = Params::new(cost.memory_kib, cost.iterations, 1, None)
        .map_err(|e| StoreError::Database(format!("PIN hash parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn valid_pin(pin: &str) -> bool {
    (4..=8).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `hash` is an Argon2id PHC string: what a PIN hash from head
/// office must be before it is stored.
pub(crate) fn is_argon2id_hash(hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| parsed.algorithm == argon2::ARGON2ID_IDENT)
}

impl Store {
    /// `pin` (4-8 digits) as an Argon2id PHC string with a fresh salt, at
    /// this store's cost: what is stored, and what a PIN set-up sends
    /// (sealed) to head office. The PIN itself is never kept.
    pub fn hash_new_pin(&self, pin: &str) -> Result<String, StoreError> {
        if !valid_pin(pin) {
            return Err(StoreError::InvalidPin);
        }
        let mut salt_bytes = [0u8; 16];
        getrandom::fill(&mut salt_bytes)
            .map_err(|e| StoreError::Database(format!("no randomness from the OS: {e}")))?;
        let salt = SaltString::encode_b64(&salt_bytes)
            .map_err(|e| StoreError::Database(format!("salt: {e}")))?;
        Ok(hasher(self.config.pin_cost)?
            .hash_password(pin.as_bytes(), &salt)
            .map_err(|e| StoreError::Database(format!("PIN hash: {e}")))?
            .to_string())
    }

    /// Adds a clerk with `pin` (4-8 digits), stored only as an Argon2id hash.
    pub fn add_clerk(
        &mut self,
        id: &str,
        name: &str,
        role: Role,
        pin: &str,
    ) -> Result<(), StoreError> {
        let hash = self.hash_new_pin(pin)?;
        let at = self.clock.now().to_rfc3339();
        self.write(|tx, _| {
            let taken: Option<String> = tx
                .query_row("SELECT clerk_id FROM clerks WHERE clerk_id = ?1", [id], |r| r.get(0))
                .optional()?;
            if taken.is_some() {
                return Err(StoreError::DuplicateClerk);
            }
            tx.execute(
                "INSERT INTO clerks (clerk_id, display_name, role, pin_hash) VALUES (?1, ?2, ?3, ?4)",
                params![id, name, role.as_str(), hash],
            )?;
            audit::append(tx, &at, id, "clerk_added", role.as_str())
        })
    }

    /// Every active clerk, managers last, by name: the login screen's
    /// buttons.
    pub fn clerk_list(&self) -> Result<Vec<ClerkInfo>, StoreError> {
        let mut stmt = self.conn().prepare(
            "SELECT clerk_id, display_name, role, pin_hash IS NOT NULL FROM clerks
             WHERE active = 1 ORDER BY role = 'manager', display_name, clerk_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(ClerkInfo {
                id: r.get(0)?,
                name: r.get(1)?,
                role: Role::from_stored(&r.get::<_, String>(2)?),
                has_pin: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Checks `pin` for `clerk_id`, counting failures and locking the clerk
    /// out after too many. Every attempt is audited.
    pub fn login(&mut self, clerk_id: &str, pin: &str) -> Result<Clerk, StoreError> {
        let now = self.clock.now();
        type LoginRow = (String, String, Option<String>, u32, Option<String>, bool);
        let row: Option<LoginRow> = self
            .conn()
            .query_row(
                "SELECT display_name, role, pin_hash, failed_attempts, locked_until, active
                 FROM clerks WHERE clerk_id = ?1",
                [clerk_id],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                },
            )
            .optional()?;
        let Some((name, role, hash, failures, locked_until, active)) = row else {
            return Err(StoreError::UnknownClerk);
        };
        if !active {
            return Err(StoreError::ClerkInactive);
        }
        let Some(hash) = hash else {
            return Err(StoreError::PinNotSet);
        };
        if let Some(until) = locked_until
            .as_deref()
            .and_then(|u| tillcard_rules::Timestamp::parse_from_rfc3339(u).ok())
            .filter(|until| *until > now)
        {
            return Err(StoreError::Locked {
                until: until.format("%H:%M").to_string(),
            });
        }
        let parsed = PasswordHash::new(&hash)
            .map_err(|e| StoreError::Damaged(format!("stored PIN hash: {e}")))?;
        let ok = hasher(self.config.pin_cost)?
            .verify_password(pin.as_bytes(), &parsed)
            .is_ok();
        let at = now.to_rfc3339();
        let max = self.config.max_pin_failures.max(1);
        let lockout = self.config.lockout;
        if ok {
            self.write(|tx, _| {
                tx.execute(
                    "UPDATE clerks SET failed_attempts = 0, locked_until = NULL WHERE clerk_id = ?1",
                    [clerk_id],
                )?;
                audit::append(tx, &at, clerk_id, "login", "ok")
            })?;
            return Ok(Clerk {
                id: clerk_id.to_owned(),
                name,
                role: Role::from_stored(&role),
            });
        }
        let failures = failures + 1;
        let locked = failures >= max;
        let until = (now + lockout).to_rfc3339();
        self.write(|tx, _| {
            if locked {
                tx.execute(
                    "UPDATE clerks SET failed_attempts = 0, locked_until = ?2 WHERE clerk_id = ?1",
                    params![clerk_id, until],
                )?;
                audit::append(tx, &at, clerk_id, "login", "locked out")
            } else {
                tx.execute(
                    "UPDATE clerks SET failed_attempts = ?2 WHERE clerk_id = ?1",
                    params![clerk_id, failures],
                )?;
                audit::append(tx, &at, clerk_id, "login", "wrong PIN")
            }
        })?;
        if locked {
            Err(StoreError::Locked {
                until: (now + lockout).format("%H:%M").to_string(),
            })
        } else {
            Err(StoreError::WrongPin {
                attempts_left: max - failures,
            })
        }
    }

    /// A manager approval: the manager's id and PIN (with the same lockout
    /// as logging in). A cashier's PIN is refused.
    pub fn approve(&mut self, manager_id: &str, pin: &str) -> Result<Approval, StoreError> {
        let clerk = self.login(manager_id, pin)?;
        if clerk.role != Role::Manager {
            return Err(StoreError::NotAManager);
        }
        Ok(Approval {
            manager_id: clerk.id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{NewPinProblem, new_pin_problem};

    #[test]
    fn new_pins_are_refused_when_short_trivial_or_mismatched() {
        for trivial in [
            "1111", "1234", "123456", "4321", "98765", "1212", "000000", "01234567",
        ] {
            assert_eq!(
                new_pin_problem(trivial, trivial),
                Some(NewPinProblem::Trivial),
                "{trivial}"
            );
        }
        for shape in ["", "123", "123456789", "12a4", "１２３４"] {
            assert_eq!(
                new_pin_problem(shape, shape),
                Some(NewPinProblem::Shape),
                "{shape}"
            );
        }
        assert_eq!(
            new_pin_problem("2580", "2581"),
            Some(NewPinProblem::Mismatch)
        );
        for good in ["2580", "9173", "120394", "13579"] {
            assert_eq!(new_pin_problem(good, good), None, "{good}");
        }
    }
}
