//! The back office's operations on [`Hq`]: stores, staff (created with a
//! one-time setup code, deactivated, reactivated, renamed, moved, their
//! PIN reset), enrollment codes, terminals, head-office users and their
//! roles, and the audit trail. Every change names its [`Actor`] and is
//! written with its audit row in one transaction by the store; what comes
//! in is validated before any SQL (`checks`), and every refusal has a
//! stable code (`checks::refusal`).
//!
//! Who may do what is decided before these are called: the admin API asks
//! [`Hq::authorize`], the command line acts as [`Actor::cli`].

use axum::http::{HeaderMap, header};
use tillcard_protocol::auth;
use tillcard_protocol::wire;

use super::checks::{
    DEFAULT_CODE_DAYS, MAX_ADDRESS_CHARS, MAX_AUDIT_ROWS, MAX_CODE_DAYS, MAX_STORE_NAME_CHARS,
    answer, bad, check_staff_id, check_store_code, check_text, check_time_zone, display_name,
    staff_stores,
};
use super::roles::{Operation, Role, may};
use super::{Hq, now};
use crate::admin;
use crate::dashboard;
use crate::error::HqError;
use crate::store::{
    AuditEntry, StaffRecord, StaffUpdate, StorePatch, StoreRecord, TerminalListing, UserRecord,
};

/// Who does a back-office change, as the audit trail names them, and with
/// which role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// `admin-token`, `cli`, a head-office user name, `terminal:<id>`.
    pub name: String,
    /// What they may do.
    pub role: Role,
}

impl Actor {
    /// The `tillcard-hq` command line (an admin: whoever runs it can read
    /// the database anyway).
    pub fn cli() -> Actor {
        Actor {
            name: "cli".into(),
            role: Role::Admin,
        }
    }

    /// The admin bearer token.
    pub fn admin_token() -> Actor {
        Actor {
            name: "admin-token".into(),
            role: Role::Admin,
        }
    }

    pub(super) fn audit(&self, action: &str, subject: String, detail: String) -> AuditEntry {
        AuditEntry {
            at: now().to_rfc3339(),
            actor: self.name.clone(),
            action: action.into(),
            subject,
            detail,
        }
    }
}

/// A new setup code: 8 random digits.
fn new_setup_code() -> String {
    auth::random_digits(tillcard_protocol::staff::SETUP_CODE_DIGITS)
}

/// The Argon2id hash of a setup code (hashed off the async threads).
async fn hash_setup_code(code: String) -> Result<String, HqError> {
    tokio::task::spawn_blocking(move || dashboard::hash_password(&code))
        .await
        .map_err(|e| HqError::Internal(crate::store::StoreError::Task(e.to_string())))?
        .map_err(|e| HqError::Internal(crate::store::StoreError::Task(e.to_string())))
}

/// When a code issued now for `days` expires.
fn expiry(days: u32) -> tillcard_rules::ids::Timestamp {
    now() + chrono::Duration::days(i64::from(days))
}

/// A clerk as the back office shows them.
pub fn staff_view(s: &StaffRecord) -> admin::StaffView {
    admin::StaffView {
        staff_id: s.staff_id.clone(),
        display_name: s.display_name.clone(),
        role: s.role,
        active: s.active,
        stores: s.stores.clone(),
        pin_set: s.pin_hash.is_some(),
        setup_expires_at: s.setup_code_hash.as_ref().and(s.setup_expires_at.clone()),
        setup_failures: s.setup_failures,
        updated_at: s.updated_at.clone(),
    }
}

fn store_view(s: StoreRecord) -> admin::StoreView {
    admin::StoreView {
        code: s.code,
        name: s.name,
        time_zone: s.time_zone,
        address: s.address,
        created_at: s.created_at,
    }
}

fn terminal_view(t: TerminalListing) -> Result<admin::TerminalView, HqError> {
    Ok(admin::TerminalView {
        terminal_id: crate::store::parse_terminal(&t.terminal_id)?,
        store: t.store,
        registered_at: t.registered_at,
        last_seen: t
            .last_batch_at_ms
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|at| at.to_rfc3339()),
        acked_seq: t.acked_seq,
        pending_events: t
            .outbox_head_seq
            .map(|head| head.saturating_sub(t.acked_seq)),
        app_version: t.app_version,
        revoked: t.revoked,
        clock_skew_ms: t.clock_skew_ms,
    })
}

impl Hq {
    /// Who a request to the admin API comes from, if they may do
    /// `operation`: the admin token acts as an admin; a dashboard session
    /// as its user's role.
    pub async fn authorize(
        &self,
        headers: &HeaderMap,
        operation: Operation,
    ) -> Result<Actor, HqError> {
        let actor = if headers.contains_key(header::AUTHORIZATION) {
            self.check_admin(headers)?;
            Actor::admin_token()
        } else {
            let Some(username) = self.session_user(headers).await? else {
                return Err(HqError::Unauthorized(
                    "login_required",
                    "admin token or dashboard session required".into(),
                ));
            };
            let role = match self.store.user(&username).await? {
                Some(user) => Role::parse(&user.role).ok_or_else(|| {
                    HqError::Internal(crate::store::StoreError::Corrupt("user role".into()))
                })?,
                None => {
                    return Err(HqError::Unauthorized(
                        "login_required",
                        "the session's user no longer exists".into(),
                    ));
                }
            };
            Actor {
                name: username,
                role,
            }
        };
        if may(actor.role, operation) {
            Ok(actor)
        } else {
            Err(HqError::Forbidden(
                "role_forbidden",
                format!("the role {} may not do this", actor.role.as_str()),
            ))
        }
    }

    /// Creates a store.
    pub async fn create_store(
        &self,
        actor: &Actor,
        request: &admin::NewStore,
    ) -> Result<admin::StoreView, HqError> {
        check_store_code(&request.code)?;
        check_text(
            "invalid_store_name",
            "store name",
            &request.name,
            MAX_STORE_NAME_CHARS,
            false,
        )?;
        check_time_zone(&request.time_zone)?;
        check_text(
            "invalid_address",
            "address",
            &request.address,
            MAX_ADDRESS_CHARS,
            true,
        )?;
        let record = StoreRecord {
            code: request.code.clone(),
            name: request.name.trim().to_string(),
            time_zone: request.time_zone.clone(),
            address: request.address.trim().to_string(),
            created_at: now().to_rfc3339(),
        };
        let audit = actor.audit(
            "store_created",
            format!("store:{}", record.code),
            format!("time zone {}", record.time_zone),
        );
        answer(self.store.create_store(&record, &audit).await?)?;
        tracing::info!(store = %record.code, actor = %actor.name, "store created");
        Ok(store_view(record))
    }

    /// Changes a store's name, time zone or address.
    pub async fn update_store(
        &self,
        actor: &Actor,
        code: &str,
        change: &admin::StoreChange,
    ) -> Result<admin::StoreView, HqError> {
        check_store_code(code)?;
        if let Some(name) = &change.name {
            check_text(
                "invalid_store_name",
                "store name",
                name,
                MAX_STORE_NAME_CHARS,
                false,
            )?;
        }
        if let Some(tz) = &change.time_zone {
            check_time_zone(tz)?;
        }
        if let Some(address) = &change.address {
            check_text(
                "invalid_address",
                "address",
                address,
                MAX_ADDRESS_CHARS,
                true,
            )?;
        }
        let patch = StorePatch {
            name: change.name.as_deref().map(|n| n.trim().to_string()),
            time_zone: change.time_zone.clone(),
            address: change.address.as_deref().map(|a| a.trim().to_string()),
        };
        let changed: Vec<&str> = [
            (patch.name.is_some(), "name"),
            (patch.time_zone.is_some(), "time zone"),
            (patch.address.is_some(), "address"),
        ]
        .into_iter()
        .filter_map(|(changed, what)| changed.then_some(what))
        .collect();
        let audit = actor.audit(
            "store_updated",
            format!("store:{code}"),
            format!("changed {}", changed.join(", ")),
        );
        let record = answer(self.store.update_store(code, &patch, &audit).await?)?;
        Ok(store_view(record))
    }

    /// Every store.
    pub async fn list_stores(&self) -> Result<Vec<admin::StoreView>, HqError> {
        Ok(self
            .store
            .stores()
            .await?
            .into_iter()
            .map(store_view)
            .collect())
    }

    /// Creates a clerk at existing stores with a one-time setup code
    /// (answered once, stored only as its Argon2id hash).
    pub async fn create_staff(
        &self,
        actor: &Actor,
        request: &admin::NewStaff,
    ) -> Result<admin::SetupCode, HqError> {
        let staff_id = match &request.staff_id {
            Some(id) => {
                check_staff_id(id)?;
                id.clone()
            }
            None => format!("st-{}", &wire::hex(&auth::random_32()[..5])),
        };
        let display_name = display_name(&request.display_name)?;
        let stores = staff_stores(&request.stores)?;
        let code = new_setup_code();
        let expires_at = expiry(DEFAULT_CODE_DAYS).to_rfc3339();
        let record = StaffRecord {
            staff_id: staff_id.clone(),
            display_name,
            role: request.role,
            active: true,
            stores,
            pin_hash: None,
            setup_code_hash: Some(hash_setup_code(code.clone()).await?),
            setup_expires_at: Some(expires_at.clone()),
            setup_failures: 0,
            updated_at: now().to_rfc3339(),
        };
        let audit = actor.audit(
            "staff_created",
            format!("staff:{staff_id}"),
            format!("{} at {}", record.role.as_str(), record.stores.join(", ")),
        );
        answer(self.store.create_staff(&record, &audit).await?)?;
        tracing::info!(staff = %staff_id, actor = %actor.name, "clerk created");
        Ok(admin::SetupCode {
            staff: staff_view(&record),
            setup_code: code,
            setup_expires_at: expires_at,
        })
    }

    /// Every clerk, or those working at `store`.
    pub async fn list_staff(&self, store: Option<&str>) -> Result<Vec<admin::StaffView>, HqError> {
        if let Some(store) = store {
            check_store_code(store)?;
        }
        Ok(self
            .store
            .staff_list(store)
            .await?
            .iter()
            .map(staff_view)
            .collect())
    }

    async fn update_staff(
        &self,
        actor: &Actor,
        staff_id: &str,
        update: StaffUpdate,
    ) -> Result<StaffRecord, HqError> {
        check_staff_id(staff_id)?;
        let record = answer(
            self.store
                .update_staff(staff_id, &update, &actor.name, now())
                .await?,
        )?;
        tracing::info!(staff = %staff_id, actor = %actor.name, change = update.action(), "clerk changed");
        Ok(record)
    }

    /// Allows a clerk to sign in again (`active`) or refuses them.
    pub async fn set_staff_active(
        &self,
        actor: &Actor,
        staff_id: &str,
        active: bool,
    ) -> Result<admin::StaffView, HqError> {
        let update = if active {
            StaffUpdate::Activate
        } else {
            StaffUpdate::Deactivate
        };
        Ok(staff_view(
            &self.update_staff(actor, staff_id, update).await?,
        ))
    }

    /// Renames a clerk.
    pub async fn rename_staff(
        &self,
        actor: &Actor,
        staff_id: &str,
        name: &str,
    ) -> Result<admin::StaffView, HqError> {
        let update = StaffUpdate::Rename(display_name(name)?);
        Ok(staff_view(
            &self.update_staff(actor, staff_id, update).await?,
        ))
    }

    /// Sets the stores a clerk works at (a move is a new set).
    pub async fn set_staff_stores(
        &self,
        actor: &Actor,
        staff_id: &str,
        stores: &[String],
    ) -> Result<admin::StaffView, HqError> {
        let update = StaffUpdate::SetStores(staff_stores(stores)?);
        Ok(staff_view(
            &self.update_staff(actor, staff_id, update).await?,
        ))
    }

    /// Clears a clerk's PIN and issues a new setup code (answered once).
    pub async fn reset_staff_pin(
        &self,
        actor: &Actor,
        staff_id: &str,
    ) -> Result<admin::SetupCode, HqError> {
        let code = new_setup_code();
        let expires_at = expiry(DEFAULT_CODE_DAYS).to_rfc3339();
        let update = StaffUpdate::ResetPin {
            setup_code_hash: hash_setup_code(code.clone()).await?,
            expires_at: expires_at.clone(),
        };
        let record = self.update_staff(actor, staff_id, update).await?;
        Ok(admin::SetupCode {
            staff: staff_view(&record),
            setup_code: code,
            setup_expires_at: expires_at,
        })
    }

    /// Issues a one-time enrollment code for an existing store, good for
    /// `days` (default 7). Only its hash is kept.
    pub async fn issue_enroll_code(
        &self,
        actor: &Actor,
        store: &str,
        days: Option<u32>,
    ) -> Result<admin::IssuedCode, HqError> {
        check_store_code(store)?;
        let days = days.unwrap_or(DEFAULT_CODE_DAYS);
        if !(1..=MAX_CODE_DAYS).contains(&days) {
            return Err(bad(
                "invalid_expiry",
                format!("expires_in_days: 1 to {MAX_CODE_DAYS}"),
            ));
        }
        let code = auth::new_enroll_code();
        let code_hash = auth::sha256_hex(&auth::enroll_code_key(&code));
        let code_id = code_hash[..12].to_string();
        let expires_at = expiry(days);
        let audit = actor.audit(
            "code_issued",
            format!("code:{code_id}"),
            format!("for store {store}, expires {}", expires_at.to_rfc3339()),
        );
        answer(
            self.store
                .insert_code(&code_hash, store, expires_at, &audit)
                .await?,
        )?;
        tracing::info!(store = %store, code_id = %code_id, actor = %actor.name, "enrollment code issued");
        Ok(admin::IssuedCode {
            code,
            store: store.to_string(),
            code_id,
            expires_at: expires_at.to_rfc3339(),
        })
    }

    /// Issues an enrollment code for `store` as the system, creating the
    /// store (its name its code, in China's time zone) if it does not
    /// exist: for the terminal's tests and benchmarks, which provision
    /// stores by name. The admin API and the command line use
    /// [`Hq::issue_enroll_code`], which refuses an unknown store.
    pub async fn issue_code(&self, store: &str) -> Result<String, HqError> {
        let system = Actor {
            name: "system".into(),
            role: Role::Admin,
        };
        let new = admin::NewStore {
            code: store.to_string(),
            name: store.to_string(),
            time_zone: "Asia/Shanghai".into(),
            address: String::new(),
        };
        match self.create_store(&system, &new).await {
            Ok(_) => {}
            Err(HqError::Refused(_, "store_exists", _)) => {}
            Err(e) => return Err(e),
        }
        Ok(self.issue_enroll_code(&system, store, None).await?.code)
    }

    /// Every enrollment code: used (when, by which terminal), unused or
    /// expired; never the code itself.
    pub async fn list_enroll_codes(&self) -> Result<Vec<admin::EnrollCodeView>, HqError> {
        let at = now();
        Ok(self
            .store
            .enroll_codes()
            .await?
            .into_iter()
            .map(|c| {
                let expired = c.expires_at.as_deref().is_some_and(|t| {
                    chrono::DateTime::parse_from_rfc3339(t).map_or(true, |e| e <= at)
                });
                let state = if c.used_by.is_some() {
                    "used"
                } else if expired {
                    "expired"
                } else {
                    "unused"
                };
                admin::EnrollCodeView {
                    code_id: c.code_id,
                    store: c.store,
                    state: state.into(),
                    issued_at: c.issued_at,
                    expires_at: c.expires_at,
                    used_at: c.used_at,
                    used_by: c.used_by,
                }
            })
            .collect())
    }

    /// Every terminal with its sync state.
    pub async fn list_terminals(&self) -> Result<Vec<admin::TerminalView>, HqError> {
        self.store
            .terminals()
            .await?
            .into_iter()
            .map(terminal_view)
            .collect()
    }

    /// Revokes a terminal: its requests are refused from now on, and its
    /// card key is withdrawn at every terminal (a `trusted_key` change with
    /// `revoked_at`): cards it signs after now are refused, the members it
    /// enrolled get a card head office signs in their next snapshot.
    pub async fn revoke_terminal(
        &self,
        actor: &Actor,
        terminal: wire::TerminalId,
    ) -> Result<(), HqError> {
        let withdrawn = self.withdrawn_card_key(terminal).await?;
        let audit = actor.audit(
            "terminal_revoked",
            format!("terminal:{terminal}"),
            String::new(),
        );
        answer(
            self.store
                .revoke_terminal(terminal, &audit, withdrawn.as_deref())
                .await?,
        )?;
        // Refused at once through this node (other nodes: `poll_cache`).
        self.poll_cache.forget(terminal);
        tracing::info!(
            terminal = %terminal,
            actor = %actor.name,
            card_key_withdrawn = withdrawn.is_some(),
            "terminal revoked"
        );
        Ok(())
    }

    /// Creates a head-office user or sets a new password; `role` when
    /// given, else a new user is an analyst and an existing one keeps
    /// theirs.
    pub async fn save_user(
        &self,
        actor: &Actor,
        username: &str,
        password: &str,
        role: Option<Role>,
    ) -> Result<(), HqError> {
        if !dashboard::valid_username(username) {
            return Err(bad(
                "invalid_username",
                "user name: 1-64 letters, digits or . _ - @",
            ));
        }
        let chars = password.chars().count();
        if !(8..=1024).contains(&chars) {
            return Err(bad("invalid_password", "password: 8 to 1024 characters"));
        }
        let existing = self.store.user(username).await?;
        let role = match (role, &existing) {
            (Some(role), _) => role.as_str().to_string(),
            (None, Some(user)) => user.role.clone(),
            (None, None) => Role::Analyst.as_str().to_string(),
        };
        let password = password.to_string();
        let password_hash =
            tokio::task::spawn_blocking(move || dashboard::hash_password(&password))
                .await
                .map_err(|e| HqError::Internal(crate::store::StoreError::Task(e.to_string())))?
                .map_err(|e| HqError::Internal(crate::store::StoreError::Task(e.to_string())))?;
        let action = if existing.is_some() {
            "user_password_set"
        } else {
            "user_created"
        };
        let audit = actor.audit(action, format!("user:{username}"), format!("role {role}"));
        self.store
            .put_user(
                &UserRecord {
                    username: username.to_string(),
                    password_hash,
                    role,
                },
                now(),
                &audit,
            )
            .await?;
        tracing::info!(user = %username, actor = %actor.name, "head-office user saved");
        Ok(())
    }

    /// Changes a head-office user's role.
    pub async fn set_user_role(
        &self,
        actor: &Actor,
        username: &str,
        role: Role,
    ) -> Result<(), HqError> {
        if !dashboard::valid_username(username) {
            return Err(bad(
                "invalid_username",
                "user name: 1-64 letters, digits or . _ - @",
            ));
        }
        let audit = actor.audit(
            "user_role_set",
            format!("user:{username}"),
            format!("role {}", role.as_str()),
        );
        answer(
            self.store
                .set_user_role(username, role.as_str(), &audit)
                .await?,
        )
    }

    /// Every head-office user.
    pub async fn list_users(&self) -> Result<Vec<admin::UserView>, HqError> {
        Ok(self
            .store
            .users()
            .await?
            .into_iter()
            .map(|u| admin::UserView {
                username: u.username,
                role: u.role,
                created_at: u.created_at,
            })
            .collect())
    }

    /// The audit trail, newest first, about `subject` only if given
    /// (`staff:<id>`, `store:<code>`, ...); at most `limit` rows (default
    /// and most [`MAX_AUDIT_ROWS`]).
    pub async fn audit_trail(
        &self,
        subject: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Vec<admin::AuditView>, HqError> {
        if let Some(subject) = subject {
            check_text("invalid_subject", "subject", subject, 200, false)?;
        }
        let limit = limit.unwrap_or(MAX_AUDIT_ROWS).clamp(1, MAX_AUDIT_ROWS);
        Ok(self
            .store
            .audit_trail(subject, limit)
            .await?
            .into_iter()
            .map(|a| admin::AuditView {
                at: a.at,
                actor: a.actor,
                action: a.action,
                subject: a.subject,
                detail: a.detail,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tillcard_protocol::staff::{self, StaffRole};

    #[test]
    fn setup_codes_are_eight_digits() {
        for _ in 0..100 {
            assert!(staff::is_setup_code(&new_setup_code()));
        }
    }

    #[test]
    fn the_staff_role_is_a_protocol_role() {
        assert_eq!(StaffRole::parse("manager"), Some(StaffRole::Manager));
    }
}
