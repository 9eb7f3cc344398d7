//! Sign-in to the dashboard and console: users' passwords (Argon2id),
//! login throttled per user, per address and overall, and sessions whose
//! tokens are stored only as hashes.

use axum::http::HeaderMap;

use super::{Actor, Hq, LoginOutcome, limits, now};
use crate::dashboard::{self, Gate};
use crate::error::HqError;
use crate::figures;
use std::time::Instant;
use tillcard_protocol::auth;

impl Hq {
    /// Creates a dashboard user or sets a new password (Argon2id), as the
    /// command line does (a new user is an analyst; an existing one keeps
    /// their role).
    pub async fn add_user(&self, username: &str, password: &str) -> Result<(), HqError> {
        self.save_user(&Actor::cli(), username, password, None)
            .await
    }

    /// Checks a login; on success returns a new session token (to put in
    /// the cookie; only its hash is stored).
    pub async fn login(&self, username: &str, password: &str) -> Result<LoginOutcome, HqError> {
        self.login_from(username, password, None, Instant::now())
            .await
    }

    /// [`Hq::login`] from the client address `peer` (none: not known) at
    /// `at`: refused without checking while that address or everyone
    /// together failed too often ([`limits::SignInThrottle`]), or the user
    /// name is locked; a failure counts against all three.
    pub async fn login_from(
        &self,
        username: &str,
        password: &str,
        peer: Option<std::net::IpAddr>,
        at: Instant,
    ) -> Result<LoginOutcome, HqError> {
        if let Err(limit) = self.sign_ins.gate(peer, at) {
            let scope = match limit {
                limits::SignInLimit::Address(_) => "address",
                limits::SignInLimit::Overall(_) => "overall",
            };
            self.metrics.count_throttled_sign_in(scope);
            tracing::warn!(scope, "dashboard login refused: too many failures");
            return Ok(LoginOutcome::Locked(limit.retry_after()));
        }
        if let Gate::Locked(left) = self.throttle.gate(username, at) {
            self.metrics.count_throttled_sign_in("user");
            tracing::warn!(user = %username, "dashboard login refused: locked");
            return Ok(LoginOutcome::Locked(left));
        }
        let user = self.store.user(username).await?;
        let hash = user.as_ref().map_or_else(
            || dashboard::dummy_hash().to_string(),
            |u| u.password_hash.clone(),
        );
        let given = password.to_string();
        let ok = tokio::task::spawn_blocking(move || dashboard::verify_password(&hash, &given))
            .await
            .unwrap_or(false)
            && user.is_some();
        if !ok {
            self.sign_ins.failed(peer, at);
            let locked = self.throttle.failed(username, at);
            tracing::warn!(user = %username, locked, "dashboard login failed");
            return Ok(if locked {
                LoginOutcome::Locked(dashboard::LOCKOUT)
            } else {
                LoginOutcome::Wrong
            });
        }
        self.throttle.succeeded(username);
        let (token, hash) = dashboard::new_session_token();
        let ttl = i64::try_from(dashboard::SESSION_TTL.as_millis()).unwrap_or(i64::MAX);
        self.store
            .insert_session(&hash, username, figures::millis(now()) + ttl)
            .await?;
        tracing::info!(user = %username, "dashboard login");
        Ok(LoginOutcome::Session(token))
    }

    /// The user of the request's session cookie, if the session is valid.
    pub async fn session_user(&self, headers: &HeaderMap) -> Result<Option<String>, HqError> {
        let Some(token) = dashboard::session_token(headers) else {
            return Ok(None);
        };
        Ok(self
            .store
            .session_user(&auth::sha256_hex(&token), figures::millis(now()))
            .await?)
    }
}
