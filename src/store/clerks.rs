//! Clerks: PINs hashed with Argon2id (new ones meeting [`crate::pins`]'s
//! policy), cashier and manager roles, a lockout after repeated wrong PINs
//! that escalates on the monotonic clock and that another manager lifts, and the manager approval that refunds and
//! adjustments require. A [`Clerk`] or an [`Approval`] can only be obtained
//! by giving the right PIN, so an action that takes one cannot happen
//! without it.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rusqlite::{OptionalExtension, params};

use tillcard_protocol::staff::StaffRole;

use super::{PinHashCost, Store, StoreError, audit};
use crate::pins;

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

impl From<Role> for StaffRole {
    fn from(role: Role) -> StaffRole {
        match role {
            Role::Cashier => StaffRole::Cashier,
            Role::Manager => StaffRole::Manager,
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
    pin_meets_policy: bool,
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
    /// Whether the PIN they signed in with meets today's policy (a PIN
    /// chosen before it is accepted; the counter asks for a new one).
    pub fn pin_meets_policy(&self) -> bool {
        self.pin_meets_policy
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

/// Whether `hash` is an Argon2id PHC string: what a PIN hash from head
/// office must be before it is stored.
pub(crate) fn is_argon2id_hash(hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| parsed.algorithm == argon2::ARGON2ID_IDENT)
}

/// What is left of a lockout of `lock_ms` armed at the monotonic reading
/// `armed_at`, at the reading `now`. A reading before the arming (another
/// process's clock) counts as no time passed: never shorter.
fn lock_left_ms(lock_ms: u64, armed_at: u64, now: u64) -> u64 {
    lock_ms.saturating_sub(now.saturating_sub(armed_at))
}

/// At start-up: the monotonic clock started again from zero, so each
/// lockout still running is re-armed in full from `now`. A restart never
/// shortens a lockout (it may lengthen one by the time already served).
pub(crate) fn rearm_lockouts(conn: &rusqlite::Connection, now: u64) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE clerks SET lock_at_mono = ?1 WHERE lock_ms > 0",
        [i64::try_from(now).unwrap_or(i64::MAX)],
    )?;
    Ok(())
}

impl Store {
    /// `pin` as an Argon2id PHC string with a fresh salt, at this store's
    /// cost, once it meets the policy for `role` ([`crate::pins`]): what is
    /// stored, and what a PIN set-up sends (sealed) to head office. The PIN
    /// itself is never kept.
    pub fn hash_new_pin(&self, pin: &str, role: Role) -> Result<String, StoreError> {
        pins::check_pin(pin, role.into()).map_err(StoreError::WeakPin)?;
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

    /// The role of clerk `id` (a PIN set-up hashes to that role's policy).
    pub fn clerk_role(&self, id: &str) -> Result<Role, StoreError> {
        self.conn()
            .query_row("SELECT role FROM clerks WHERE clerk_id = ?1", [id], |r| {
                r.get::<_, String>(0)
            })
            .optional()?
            .map(|role| Role::from_stored(&role))
            .ok_or(StoreError::UnknownClerk)
    }

    /// Adds a clerk with `pin` (meeting the policy for `role`), stored only
    /// as an Argon2id hash.
    pub fn add_clerk(
        &mut self,
        id: &str,
        name: &str,
        role: Role,
        pin: &str,
    ) -> Result<(), StoreError> {
        let hash = self.hash_new_pin(pin, role)?;
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

    /// Checks `pin` for `clerk_id`. Wrong PINs in a row are counted; from
    /// the fifth on each one locks the clerk out for longer
    /// ([`pins::lockout_after`]), timed on the clock's monotonic reading,
    /// which setting the wall clock does not move. While locked out the PIN
    /// is not even checked. Every checked attempt is audited.
    pub fn login(&mut self, clerk_id: &str, pin: &str) -> Result<Clerk, StoreError> {
        let now = self.clock.now();
        let mono = self.clock.monotonic_ms();
        type LoginRow = (String, String, Option<String>, u32, i64, i64, bool);
        let row: Option<LoginRow> = self
            .conn()
            .query_row(
                "SELECT display_name, role, pin_hash, failed_attempts, lock_ms, lock_at_mono, active
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
                        r.get(6)?,
                    ))
                },
            )
            .optional()?;
        let Some((name, role, hash, failures, lock_ms, armed_at, active)) = row else {
            return Err(StoreError::UnknownClerk);
        };
        if !active {
            return Err(StoreError::ClerkInactive);
        }
        let Some(hash) = hash else {
            return Err(StoreError::PinNotSet);
        };
        let left = lock_left_ms(
            u64::try_from(lock_ms).unwrap_or(u64::MAX),
            u64::try_from(armed_at).unwrap_or(0),
            mono,
        );
        if left > 0 {
            return Err(StoreError::Locked {
                wait_secs: pins::wait_secs(left),
            });
        }
        let parsed = PasswordHash::new(&hash)
            .map_err(|e| StoreError::Damaged(format!("stored PIN hash: {e}")))?;
        let ok = hasher(self.config.pin_cost)?
            .verify_password(pin.as_bytes(), &parsed)
            .is_ok();
        let at = now.to_rfc3339();
        let role = Role::from_stored(&role);
        if ok {
            let meets_policy = pins::check_pin(pin, role.into()).is_ok();
            let detail = if meets_policy {
                "ok"
            } else {
                "ok, PIN below the policy"
            };
            self.write(|tx, _| {
                tx.execute(
                    "UPDATE clerks SET failed_attempts = 0, lock_ms = 0, lock_at_mono = 0
                     WHERE clerk_id = ?1",
                    [clerk_id],
                )?;
                audit::append(tx, &at, clerk_id, "login", detail)
            })?;
            return Ok(Clerk {
                id: clerk_id.to_owned(),
                name,
                role,
                pin_meets_policy: meets_policy,
            });
        }
        let failures = failures.saturating_add(1);
        let lockout = pins::lockout_after(failures);
        let mono_sql = i64::try_from(mono).unwrap_or(i64::MAX);
        let lock_sql = i64::try_from(lockout.unwrap_or(0)).unwrap_or(i64::MAX);
        self.write(|tx, _| {
            tx.execute(
                "UPDATE clerks SET failed_attempts = ?2, lock_ms = ?3, lock_at_mono = ?4
                 WHERE clerk_id = ?1",
                params![clerk_id, failures, lock_sql, mono_sql],
            )?;
            let detail = match lockout {
                Some(ms) => format!("wrong PIN {failures} in a row, locked out {} s", ms / 1000),
                None => format!("wrong PIN {failures} in a row"),
            };
            audit::append(tx, &at, clerk_id, "login", &detail)
        })?;
        match lockout {
            Some(ms) => Err(StoreError::Locked {
                wait_secs: pins::wait_secs(ms),
            }),
            None => Err(StoreError::WrongPin {
                attempts_left: pins::FREE_FAILURES.saturating_sub(failures),
            }),
        }
    }

    /// The wait left, in whole seconds, before clerk `clerk_id` may try a
    /// PIN again (0: not locked out).
    pub fn lockout_left_secs(&self, clerk_id: &str) -> Result<u64, StoreError> {
        let mono = self.clock.monotonic_ms();
        let (lock_ms, armed_at): (i64, i64) = self
            .conn()
            .query_row(
                "SELECT lock_ms, lock_at_mono FROM clerks WHERE clerk_id = ?1",
                [clerk_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or(StoreError::UnknownClerk)?;
        Ok(pins::wait_secs(lock_left_ms(
            u64::try_from(lock_ms).unwrap_or(u64::MAX),
            u64::try_from(armed_at).unwrap_or(0),
            mono,
        )))
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

    /// Lifts cashier `clerk_id`'s lockout and clears their wrong-PIN count,
    /// with a manager's approval, audited under the manager. A manager's
    /// lockout is not lifted here, not even by another manager: head
    /// office's PIN reset does that (the new PIN clears the count).
    pub fn lift_lockout(&mut self, approval: &Approval, clerk_id: &str) -> Result<(), StoreError> {
        if self.clerk_role(clerk_id)? == Role::Manager {
            return Err(StoreError::ManagerLockout);
        }
        let at = self.clock.now().to_rfc3339();
        let manager = approval.manager_id.clone();
        self.write(|tx, _| {
            tx.execute(
                "UPDATE clerks SET failed_attempts = 0, lock_ms = 0, lock_at_mono = 0
                 WHERE clerk_id = ?1",
                [clerk_id],
            )?;
            audit::append(tx, &at, &manager, "lockout_lifted", clerk_id)
        })
    }
}
