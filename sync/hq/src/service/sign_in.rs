//! Sign-in to the dashboard and console: users' passwords (Argon2id),
//! login throttled per user, per address and overall, and sessions whose
//! tokens are stored only as hashes.

use axum::http::HeaderMap;

use super::{Actor, Hq, LoginOutcome, limits, now};
use crate::dashboard;
use crate::error::HqError;
use crate::figures;
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
        self.login_from(username, password, None).await
    }

    /// [`Hq::login`] from the client address `peer` (none: not known):
    /// refused without checking while that address or everyone together
    /// failed too often ([`limits::ADDRESS_RULE`], [`limits::OVERALL_RULE`]),
    /// or the user name is locked ([`dashboard::USER_RULE`]); a failure
    /// counts against all three. The counts are in the database, shared by
    /// every head-office node.
    pub async fn login_from(
        &self,
        username: &str,
        password: &str,
        peer: Option<std::net::IpAddr>,
    ) -> Result<LoginOutcome, HqError> {
        let now_ms = figures::millis(now());
        let address_key = peer.map(limits::address_key);
        let user_key = dashboard::user_key(username);
        let overall = self.store.throttle(limits::OVERALL_KEY).await?;
        let by_address = match &address_key {
            Some(key) => self.store.throttle(key).await?,
            None => None,
        };
        let refused = match (
            limits::OVERALL_RULE.refusal(overall.as_ref(), now_ms),
            limits::ADDRESS_RULE.refusal(by_address.as_ref(), now_ms),
        ) {
            (Some(left), _) => Some(limits::SignInLimit::Overall(left)),
            (None, Some(left)) => Some(limits::SignInLimit::Address(left)),
            (None, None) => None,
        };
        if let Some(limit) = refused {
            let scope = match limit {
                limits::SignInLimit::Address(_) => "address",
                limits::SignInLimit::Overall(_) => "overall",
            };
            self.metrics.count_throttled_sign_in(scope);
            tracing::warn!(scope, "dashboard login refused: too many failures");
            return Ok(LoginOutcome::Locked(limit.retry_after()));
        }
        let by_user = self.store.throttle(&user_key).await?;
        if let Some(left) = dashboard::USER_RULE.refusal(by_user.as_ref(), now_ms) {
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
            self.store
                .count_failure(limits::OVERALL_KEY, limits::OVERALL_RULE, now_ms)
                .await?;
            if let Some(key) = &address_key {
                self.store
                    .count_failure(key, limits::ADDRESS_RULE, now_ms)
                    .await?;
            }
            let counted = self
                .store
                .count_failure(&user_key, dashboard::USER_RULE, now_ms)
                .await?;
            let locked = dashboard::USER_RULE.refusal(Some(&counted), now_ms);
            tracing::warn!(user = %username, locked = locked.is_some(), "dashboard login failed");
            return Ok(match locked {
                Some(left) => LoginOutcome::Locked(left),
                None => LoginOutcome::Wrong,
            });
        }
        self.store.clear_throttle(&user_key).await?;
        let (token, hash) = dashboard::new_session_token();
        let ttl = i64::try_from(dashboard::SESSION_TTL.as_millis()).unwrap_or(i64::MAX);
        self.store
            .insert_session(&hash, username, now_ms + ttl)
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
