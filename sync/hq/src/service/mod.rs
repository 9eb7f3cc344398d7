//! Head office's service: its state and operations ([`Hq`]: provisioning,
//! authentication, uploads, the downlink, jobs, users), apart from the HTTP
//! layer (`http`, `http_back_office`: the handlers and middleware;
//! `server`: the router and graceful shutdown) and the one route table both
//! the router and openapi.json are made from (`routes`). The back office's
//! operations are in `back_office`, their input checks and refusal codes
//! in `checks`, who may do them in `roles`, and staff
//! on the downlink and their PIN set-up in `staff`; terminals' certified
//! card keys (windows, renewal, withdrawal, re-issued cards) in
//! `card_keys`.

pub mod back_office;
pub mod campaigns;
pub mod card_keys;
mod checks;
pub mod clock_skew;
pub mod conflicts;
mod http;
mod http_back_office;
mod http_campaigns;
mod http_member_money;
pub mod limits;
pub mod member_cards;
pub mod member_care;
pub mod member_money;
pub mod merge;
pub mod programs;
pub mod reintroduce;
pub mod review_queue;
pub mod roles;
mod routes;
mod server;
mod staff;

pub use back_office::Actor;
pub use routes::{ROUTES, Route, openapi_document};
pub use server::{router, serve};

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use ed25519_dalek::SigningKey;
use tillcard_rules::ids::{MemberId, SourceId, Timestamp};
use tillcard_rules::{LedgerEntry, MemberAccount, Program, expiry, tier};
use uuid::Uuid;

use crate::admin;
use crate::dashboard::{self, Gate, LoginThrottle};
use crate::error::HqError;
use crate::figures::{self, FigureQuery, Figures};
use crate::ingest::{self, BatchRefusal, IngestKeys, ReceivedBatch};
use crate::metrics::{KindLabels, Metrics, OutcomeLabels};
use crate::personal::{Personal, PersonalKeys, SealedPersonal};
use crate::store::{Redeemed, Store, StoreResult, TerminalRecord};
use std::time::{Duration, Instant};
use tillcard_protocol::auth::{self, AuthError};
use tillcard_protocol::registration::RegistrationCertificate;
use tillcard_protocol::wire::{
    self, Change, ChangesPage, MemberSnapshot, Provisioned, RedeemRequest, TerminalId, TrustedKey,
    UploadAck,
};

/// What a login attempt gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// Signed in: the session token for the cookie.
    Session(String),
    /// Wrong user name or password.
    Wrong,
    /// Too many failures (of this user name, from this address, or from
    /// everyone): refused for this long still.
    Locked(Duration),
}

/// Key id of head office's card-signing key.
pub const HQ_CARD_KEY_ID: &str = "hq-1";
/// Most changes in one downlink page.
pub const CHANGES_PAGE_LIMIT: i64 = 500;

/// Head office: storage, keys, configuration, metrics and the login throttle.
pub struct Hq {
    store: Arc<dyn Store>,
    ingest_keys: IngestKeys,
    card_key: SigningKey,
    /// Signs the trust-bearing downlink changes (its own purpose: never
    /// cards or anything else).
    downlink_key: SigningKey,
    admin_token: Option<String>,
    metrics: Metrics,
    throttle: LoginThrottle,
    sign_ins: limits::SignInThrottle,
    flags: limits::FlagLimiter,
    metrics_token: Option<String>,
    jobs: crate::jobs::schedule::JobsConfig,
    programs: programs::ProgramCache,
    upload_limits: limits::UploadLimits,
}

fn now() -> Timestamp {
    chrono::Utc::now().fixed_offset()
}

/// A change-log row's check in a `c2` cursor ([`wire::change_check`]).
fn row_check(row: &crate::store::ChangeRow) -> String {
    let member = row.member.map(|m| m.0.to_string());
    wire::change_check(
        row.xid,
        row.position,
        &row.kind,
        member.as_deref(),
        row.payload.as_deref(),
    )
}

impl Hq {
    /// [`Hq::open_with`] under the fixed personal-data key of tests
    /// ([`PersonalKeys::for_tests`]): for tests and benchmarks only.
    #[cfg(any(test, feature = "test-support"))]
    pub async fn open(store: Arc<dyn Store>, admin_token: Option<String>) -> StoreResult<Hq> {
        Hq::open_with(store, admin_token, PersonalKeys::for_tests()).await
    }

    /// Opens head office on a store: migrates, encrypts under `personal`
    /// the personal data an older version stored in plain (once; see
    /// [`crate::personal`]), creates its keys on first start, and puts the
    /// default program and the card key on the downlink.
    pub async fn open_with(
        store: Arc<dyn Store>,
        admin_token: Option<String>,
        personal: PersonalKeys,
    ) -> StoreResult<Hq> {
        store.migrate().await?;
        let sealed = store.seal_plaintext_members(&personal).await?;
        if sealed > 0 {
            tracing::info!(
                members = sealed,
                "personal data stored in plain before encrypted at rest"
            );
        }
        let key = |name: &'static str| {
            let store = Arc::clone(&store);
            async move {
                let value = store
                    .init_setting(name, &auth::b64(&auth::random_32()))
                    .await?;
                auth::decode_32(&value)
                    .map_err(|_| crate::store::StoreError::Corrupt(format!("setting {name}")))
            }
        };
        let box_secret = key("box_secret").await?;
        let card_key = SigningKey::from_bytes(&key("card_key").await?);
        let downlink_key = SigningKey::from_bytes(&key("downlink_key").await?);
        if store.setting("bootstrapped").await?.is_none() {
            let program = crate::store::to_json(&Program::default())?;
            store.push_change("program", None, Some(&program)).await?;
            let trusted = TrustedKey::unbounded(
                HQ_CARD_KEY_ID,
                auth::encode_public_key(&card_key.verifying_key()),
            );
            store
                .push_change("trusted_key", None, Some(&crate::store::to_json(&trusted)?))
                .await?;
            store.init_setting("bootstrapped", "1").await?;
        }
        Ok(Hq {
            store,
            ingest_keys: IngestKeys {
                box_secret,
                personal,
            },
            card_key,
            downlink_key,
            admin_token,
            metrics: Metrics::new(),
            throttle: LoginThrottle::default(),
            sign_ins: limits::SignInThrottle::default(),
            flags: limits::FlagLimiter::default(),
            metrics_token: None,
            jobs: crate::jobs::schedule::JobsConfig::default(),
            programs: programs::ProgramCache::default(),
            upload_limits: limits::UploadLimits::default(),
        })
    }

    /// The same head office running its daily jobs under `jobs` (the
    /// console shows their time; the scheduler takes its own copy).
    pub fn with_jobs(mut self, jobs: crate::jobs::schedule::JobsConfig) -> Hq {
        self.jobs = jobs;
        self
    }

    /// The same head office refusing uploads beyond `limits` as
    /// `413 too_large` (tests: lower than the protocol's, so a batch is too
    /// large without 8 MiB bodies; never above them).
    #[cfg(any(test, feature = "test-support"))]
    pub fn with_upload_limits(mut self, limits: limits::UploadLimits) -> Hq {
        let protocol = limits::UploadLimits::default();
        self.upload_limits = limits::UploadLimits {
            max_body_bytes: limits.max_body_bytes.min(protocol.max_body_bytes),
            max_events: limits.max_events.min(protocol.max_events),
        };
        self
    }

    /// The largest upload this head office takes.
    pub fn upload_limits(&self) -> limits::UploadLimits {
        self.upload_limits
    }

    /// The same head office serving `/metrics` only with this bearer
    /// token (none: only to loopback clients; see [`Hq::check_metrics`]).
    pub fn with_metrics_token(mut self, token: Option<String>) -> Hq {
        self.metrics_token = token.filter(|t| !t.is_empty());
        self
    }

    /// Whether a scrape may read `/metrics`: with a metrics token
    /// configured, only with `Authorization: Bearer <token>` (from any
    /// address); without one, only from a loopback peer that no proxy
    /// forwarded (no `Forwarded`, `X-Forwarded-For` or `X-Real-IP`
    /// header), since a reverse proxy on this machine connects from
    /// loopback on behalf of anyone.
    pub fn check_metrics(
        &self,
        headers: &HeaderMap,
        peer: Option<std::net::SocketAddr>,
    ) -> Result<(), HqError> {
        if let Some(expected) = &self.metrics_token {
            let given = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "));
            return match given {
                Some(given) if constant_eq(expected.as_bytes(), given.as_bytes()) => Ok(()),
                _ => Err(HqError::Unauthorized(
                    "metrics_token_required",
                    "metrics need Authorization: Bearer with the metrics token".into(),
                )),
            };
        }
        let forwarded = ["forwarded", "x-forwarded-for", "x-real-ip"]
            .iter()
            .any(|name| headers.contains_key(*name));
        let loopback = peer.is_some_and(|p| {
            let ip = p.ip();
            ip.is_loopback()
                || matches!(ip, std::net::IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()))
        });
        if loopback && !forwarded {
            Ok(())
        } else {
            Err(HqError::Forbidden(
                "metrics_not_local",
                "metrics are served to this machine only (or configure a metrics token)".into(),
            ))
        }
    }

    /// A member's personal fields decrypted: the one way head office reads
    /// them (member care, audited there; the member snapshots terminals
    /// download). A data key gone (erased) reads as no data; a value that
    /// does not open is an internal error (another KEK configured?).
    pub(crate) fn personal_data(
        &self,
        member: MemberId,
        sealed: &SealedPersonal,
    ) -> Result<Personal, HqError> {
        match self.ingest_keys.personal.open(member, sealed) {
            Ok(personal) => Ok(personal),
            Err(crate::personal::OpenError::NoKey) => Ok(Personal::default()),
            Err(e) => Err(HqError::Internal(crate::store::StoreError::Corrupt(
                format!("member {member}: {e}"),
            ))),
        }
    }

    /// How the daily jobs run (time of day, lease, retry).
    pub fn jobs_config(&self) -> &crate::jobs::schedule::JobsConfig {
        &self.jobs
    }

    /// The daily jobs' store-local time of day.
    pub fn jobs_at(&self) -> chrono::NaiveTime {
        self.jobs.time_of_day
    }

    /// Head office's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The chain's figures as of `now` (see [`crate::figures`]).
    pub async fn figures(&self, now: Timestamp) -> Result<Figures, HqError> {
        let program = self.program_at(now).await?;
        let rows = self.store.figure_rows(&FigureQuery::at(now)).await?;
        Ok(figures::compute(&program, rows, now))
    }

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

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Head office's X25519 public key (base64) terminals seal personal data to.
    pub fn box_public_key(&self) -> String {
        auth::box_public_key(&self.ingest_keys.box_secret)
    }

    /// Keys terminals trust for member cards.
    pub fn trusted_keys(&self) -> Vec<TrustedKey> {
        vec![TrustedKey::unbounded(
            HQ_CARD_KEY_ID,
            auth::encode_public_key(&self.card_key.verifying_key()),
        )]
    }

    /// Head office's downlink-signing public key (base64): given to each
    /// terminal at registration, which pins it.
    pub fn downlink_public_key(&self) -> String {
        auth::encode_public_key(&self.downlink_key.verifying_key())
    }

    /// Redeems an enrollment code for a terminal key.
    pub async fn redeem(&self, request: &RedeemRequest) -> Result<Provisioned, HqError> {
        if request.protocol_version != wire::PROTOCOL_VERSION {
            return Err(HqError::BadRequest("unsupported protocol_version".into()));
        }
        if let Some(id) = request.card_key_id
            && !wire::TERMINAL_CARD_KEY_IDS.contains(&id)
        {
            return Err(HqError::BadRequest(format!(
                "card_key_id must be in {}..={}",
                wire::TERMINAL_CARD_KEY_IDS.start(),
                wire::TERMINAL_CARD_KEY_IDS.end()
            )));
        }
        auth::decode_public_key(&request.public_key)
            .map_err(|_| HqError::BadRequest("public_key is not an Ed25519 key".into()))?;
        // Keys by purpose: the card key apart from the request key; an
        // older terminal's one key is both.
        let card_public_key = match &request.card_public_key {
            Some(card) => {
                auth::decode_public_key(card).map_err(|_| {
                    HqError::BadRequest("card_public_key is not an Ed25519 key".into())
                })?;
                if *card == request.public_key {
                    return Err(HqError::BadRequest(
                        "card_public_key must differ from public_key (keys by purpose)".into(),
                    ));
                }
                card.clone()
            }
            None => request.public_key.clone(),
        };
        let lookup_key = auth::b64(&auth::random_32());
        let terminal = TerminalRecord {
            terminal_id: TerminalId(Uuid::now_v7()),
            store: String::new(),
            public_key: request.public_key.clone(),
            lookup_key: lookup_key.clone(),
            acked_seq: 0,
            revoked: false,
            card_key: None,
            clock_skew_ms: None,
        };
        if let Some(store) = &request.store
            && !tillcard_protocol::staff::is_store_code(store)
        {
            return Err(HqError::BadRequest(
                "store: 1 to 32 ASCII letters, digits, . _ or -".into(),
            ));
        }
        match self
            .store
            .redeem_code(
                &auth::sha256_hex(&auth::enroll_code_key(&request.code)),
                &terminal,
                now(),
                request.store.as_deref(),
            )
            .await?
        {
            Redeemed::Ok { store } => {
                let card_key_id = self
                    .register_card_key(&terminal, &card_public_key, request.card_key_id)
                    .await?;
                tracing::info!(terminal = %terminal.terminal_id, store = %store, card_key_id, "terminal provisioned");
                let registration = RegistrationCertificate {
                    terminal_id: terminal.terminal_id,
                    store: store.clone(),
                    public_key: terminal.public_key.clone(),
                    lookup_key: lookup_key.clone(),
                    card_public_key: card_public_key.clone(),
                    card_key_id,
                    registered_at: card_keys::unix_now(),
                    signature: String::new(),
                }
                .sign(&self.downlink_key);
                Ok(Provisioned {
                    terminal_id: terminal.terminal_id,
                    store,
                    hq_box_public_key: self.box_public_key(),
                    trusted_keys: self.trusted_keys(),
                    lookup_key,
                    card_key_id: Some(card_key_id),
                    downlink_key: Some(self.downlink_public_key()),
                    registration: Some(registration),
                })
            }
            Redeemed::Unknown => Err(HqError::Forbidden(
                "code_unknown",
                "unknown enrollment code".into(),
            )),
            Redeemed::Expired => Err(HqError::Forbidden(
                "code_expired",
                "the enrollment code expired: ask head office for a new one".into(),
            )),
            Redeemed::Used => Err(HqError::Forbidden(
                "code_used",
                "the enrollment code was used already".into(),
            )),
            Redeemed::OtherStore => Err(HqError::Forbidden(
                "code_for_other_store",
                "the enrollment code is for another store than this terminal is set up for".into(),
            )),
        }
    }

    /// Registers a newly provisioned terminal's card key as a member-card
    /// issuer: takes a free card key id (the upper half of the 16-bit
    /// space), certifies the key for a window ([`card_keys::certified`])
    /// and pushes it to every terminal as a trusted key. A card a terminal
    /// issues offline at enrollment then verifies at every other terminal
    /// after its next sync (SPEC section 3). The id is the one the terminal
    /// asks for when it is free (its key already signed cards under it
    /// before registration), else the first free one from an id derived
    /// from the key, so ids spread out.
    async fn register_card_key(
        &self,
        terminal: &TerminalRecord,
        card_public_key: &str,
        wanted: Option<u16>,
    ) -> Result<u16, HqError> {
        const FIRST: u16 = *wire::TERMINAL_CARD_KEY_IDS.start();
        let digest = auth::sha256_hex(card_public_key);
        let derived = u16::from_str_radix(digest.get(..4).unwrap_or("0"), 16).unwrap_or(0) & 0x7FFF;
        let start = match wanted {
            Some(id) if id >= FIRST => id & 0x7FFF,
            _ => derived,
        };
        let owner = terminal.terminal_id.0.to_string();
        for probe in 0..=0x7FFFu16 {
            let id = FIRST | (start.wrapping_add(probe) & 0x7FFF);
            // init_setting is insert-if-absent: whoever wrote first owns the id.
            let holder = self
                .store
                .init_setting(&format!("card_key_id:{id}"), &owner)
                .await?;
            if holder == owner {
                let trusted = card_keys::certified(
                    id,
                    card_public_key,
                    card_keys::unix_now(),
                    wanted == Some(id),
                );
                self.store
                    .set_card_key(terminal.terminal_id, &crate::store::to_json(&trusted)?)
                    .await?;
                return Ok(id);
            }
        }
        Err(HqError::Internal(crate::store::StoreError::Corrupt(
            "no member-card key id left".into(),
        )))
    }

    /// Checks a signed request; flags the terminal when a signature does not
    /// verify with its registered key (a clone, or a tampered request).
    pub async fn authenticate(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<TerminalRecord, HqError> {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| HqError::Unauthorized("unsigned", format!("missing header {name}")))
        };
        let terminal_id = header(auth::HEADER_TERMINAL)?
            .parse()
            .map(TerminalId)
            .map_err(|_| HqError::Unauthorized("unknown_terminal", "unknown terminal".into()))?;
        // The text signed is the number written back, so only its one
        // canonical form (no sign, no leading zero) is taken.
        let timestamp_text = header(auth::HEADER_TIMESTAMP)?;
        let timestamp: i64 = timestamp_text
            .parse()
            .ok()
            .filter(|t: &i64| t.to_string() == timestamp_text)
            .ok_or_else(|| {
                HqError::Unauthorized(
                    "unsigned",
                    "x-tillcard-timestamp must be Unix seconds in decimal digits".into(),
                )
            })?;
        let signature = header(auth::HEADER_SIGNATURE)?;
        let Some(terminal) = self.store.terminal(terminal_id).await? else {
            return Err(HqError::Unauthorized(
                "unknown_terminal",
                "unknown terminal".into(),
            ));
        };
        if terminal.revoked {
            return Err(HqError::Forbidden(
                "terminal_revoked",
                "terminal revoked".into(),
            ));
        }
        let key = auth::decode_public_key(&terminal.public_key).map_err(|_| {
            HqError::Internal(crate::store::StoreError::Corrupt("terminal key".into()))
        })?;
        let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
        match auth::verify_request(
            &key,
            method.as_str(),
            path,
            timestamp,
            signature,
            body,
            now().timestamp(),
        ) {
            Ok(()) => {
                let skew = clock_skew::reported(headers)
                    .unwrap_or_else(|| clock_skew::from_timestamp(timestamp));
                self.record_skew(&terminal, skew).await;
                Ok(terminal)
            }
            Err(AuthError::Stale) => {
                // Signed by the terminal, only at another time: its skew is
                // recorded (and flagged) before the refusal, which carries
                // head office's time for the terminal to adopt.
                if auth::verify_request(
                    &key,
                    method.as_str(),
                    path,
                    timestamp,
                    signature,
                    body,
                    timestamp,
                )
                .is_ok()
                {
                    let skew = clock_skew::from_timestamp(timestamp);
                    self.record_skew(&terminal, skew).await;
                }
                Err(HqError::Unauthorized(
                    "stale_request",
                    "timestamp outside the freshness window; check the clock (the answer's x-tillcard-server-time is head office's)".into(),
                ))
            }
            // Not 64 bytes of standard base64: a client's bug, not a
            // signature by another key, so the terminal is not flagged.
            Err(AuthError::Malformed) => Err(HqError::Unauthorized(
                "unsigned",
                "x-tillcard-signature must be 64 bytes in standard base64 with padding".into(),
            )),
            Err(_) => {
                self.metrics.bad_signatures.inc();
                // Every such request is refused; its terminal is flagged
                // at most once per interval, so a flood cannot fill the
                // review queue.
                if self
                    .flags
                    .should_flag(&terminal_id.to_string(), Instant::now())
                {
                    tracing::warn!(terminal = %terminal_id, "signature did not verify: flagged");
                    self.store
                        .flag_terminal(
                            terminal_id,
                            "signature did not verify with the registered key (possible clone)",
                            now(),
                        )
                        .await?;
                } else {
                    self.metrics.bad_signature_flags_suppressed.inc();
                    tracing::debug!(terminal = %terminal_id, "signature did not verify: flagged recently");
                }
                Err(HqError::Unauthorized(
                    "bad_signature",
                    "signature does not verify".into(),
                ))
            }
        }
    }

    /// [`Hq::note_clock_skew`], a failure logged: recording a skew never
    /// refuses a request.
    async fn record_skew(&self, terminal: &TerminalRecord, skew_ms: i64) {
        if let Err(error) = self.note_clock_skew(terminal, skew_ms).await {
            tracing::warn!(terminal = %terminal.terminal_id, %error, "clock skew not recorded");
        }
    }

    /// Applies an upload batch from an authenticated terminal.
    pub async fn upload(
        &self,
        terminal: &TerminalRecord,
        batch: &ReceivedBatch<'_>,
    ) -> Result<UploadAck, HqError> {
        if batch.protocol_version != wire::PROTOCOL_VERSION {
            return Err(HqError::BadRequest("unsupported protocol_version".into()));
        }
        if batch.events.len() > self.upload_limits.max_events {
            return Err(HqError::TooLarge);
        }
        let started = Instant::now();
        let programs = self.programs_cached().await?;
        let mut prepared =
            ingest::prepare(batch, terminal.terminal_id, &self.ingest_keys, programs)
                .map_err(|e| HqError::BadRequest(e.to_string()))?;
        let named = self.book_merged_onto_survivors(&mut prepared).await?;
        let outcome = self.store.ingest(terminal, prepared, now()).await?;
        if outcome.is_ok() {
            self.sweep_late_merges(&named).await?;
        }
        self.metrics
            .ingest_seconds
            .observe(started.elapsed().as_secs_f64());
        match outcome {
            Ok(plan) => {
                let m = &self.metrics;
                m.batches.inc();
                for (outcome, n) in [
                    ("applied", u64::from(plan.applied)),
                    ("duplicate", u64::from(plan.duplicates)),
                    ("dead_lettered", plan.dead.len() as u64),
                ] {
                    m.events
                        .get_or_create(&OutcomeLabels {
                            outcome: outcome.into(),
                        })
                        .inc_by(n);
                }
                m.dead_letters.inc_by(plan.dead.len() as u64);
                // The reason's code always, its details only when head
                // office wrote them (a decoder's message can quote the
                // event's content, so it stays in the database, readable
                // at /v1/admin/dead-letters).
                for d in &plan.dead {
                    tracing::warn!(
                        terminal = %terminal.terminal_id,
                        seq = d.seq,
                        event_id = %d.event_id,
                        code = d.reason.code.as_str(),
                        detail = d.reason.loggable_detail().unwrap_or("(stored, not logged)"),
                        "event dead-lettered"
                    );
                }
                for flag in plan.audit.iter().flat_map(|a| &a.flags) {
                    m.audit_flags
                        .get_or_create(&KindLabels {
                            kind: flag.kind.into(),
                        })
                        .inc();
                    tracing::warn!(terminal = %terminal.terminal_id, kind = flag.kind, reason = %flag.reason, "terminal flagged by its audit chain");
                }
                for c in &plan.conflicts {
                    m.conflicts
                        .get_or_create(&KindLabels {
                            kind: c.kind.clone(),
                        })
                        .inc();
                    tracing::warn!(terminal = %terminal.terminal_id, seq = c.seq, member = %c.member, kind = %c.kind, "conflict recorded for review");
                }
                tracing::info!(
                    terminal = %terminal.terminal_id,
                    acked = plan.acked_seq,
                    applied = plan.applied,
                    duplicates = plan.duplicates,
                    dead = plan.dead.len(),
                    conflicts = plan.conflicts.len(),
                    "batch"
                );
                Ok(UploadAck {
                    acked_seq: plan.acked_seq,
                    applied: plan.applied,
                    duplicates: plan.duplicates,
                    dead_lettered: u32::try_from(plan.dead.len()).unwrap_or(u32::MAX),
                    held_seq: Some(plan.held_seq),
                })
            }
            Err(BatchRefusal::SequenceConflict {
                seq,
                held_seq,
                renumber: true,
            }) => {
                // An epoch-aware terminal whose store was rolled back: told
                // what head office holds, it renumbers its waiting events
                // above it (PROTOCOL.md, "A terminal rolled back").
                tracing::warn!(terminal = %terminal.terminal_id, seq, held_seq, "sequence conflict: the terminal renumbers");
                Err(HqError::SequenceConflict(
                    format!(
                        "sequence {seq} is already stored with different content; head office holds up to {held_seq}: renumber the waiting events above it"
                    ),
                    held_seq,
                ))
            }
            Err(BatchRefusal::SequenceConflict {
                seq,
                held_seq,
                renumber: false,
            }) => {
                tracing::warn!(terminal = %terminal.terminal_id, seq, "sequence conflict: flagged");
                self.store
                    .flag_terminal(
                        terminal.terminal_id,
                        &format!("sequence {seq} re-sent with different content (possible clone)"),
                        now(),
                    )
                    .await?;
                Err(HqError::SequenceConflict(
                    format!(
                        "sequence {seq} is already stored with different content; terminal flagged for review"
                    ),
                    held_seq,
                ))
            }
            Err(BatchRefusal::Cloned { reason }) => {
                // Flagged at most once per interval: a clone retries.
                if self
                    .flags
                    .should_flag(&terminal.terminal_id.to_string(), Instant::now())
                {
                    tracing::warn!(terminal = %terminal.terminal_id, "a superseded outbox epoch sent new events: flagged");
                    self.store
                        .flag_terminal(terminal.terminal_id, &reason, now())
                        .await?;
                }
                Err(HqError::Refused(
                    StatusCode::CONFLICT,
                    "terminal_cloned",
                    "this terminal renumbered its outbox after a rollback and this copy did not: two live copies of one terminal; flagged for review".into(),
                ))
            }
            Err(BatchRefusal::Malformed(why)) => Err(HqError::BadRequest(why)),
            Err(BatchRefusal::BadEvent(why)) => Err(HqError::Refused(
                axum::http::StatusCode::BAD_REQUEST,
                "bad_event",
                why,
            )),
        }
    }

    /// One page of the downlink for a terminal.
    pub async fn changes(
        &self,
        terminal: &TerminalRecord,
        cursor: Option<&str>,
    ) -> Result<ChangesPage, HqError> {
        let (mut after, check) = match cursor {
            None => ((0, 0), None),
            Some(c) => {
                wire::cursor_parts(c).ok_or_else(|| HqError::BadRequest("unknown cursor".into()))?
            }
        };
        // A checked cursor names the change it stopped at: a head office
        // restored from a backup holds another change there, or none, and
        // starts this terminal's log again rather than skip what it lacks.
        let resync = match check {
            Some(check) => !self.holds_change(after, check).await?,
            None => false,
        };
        let mut check = check.map(str::to_owned);
        if resync {
            tracing::warn!(
                terminal = %terminal.terminal_id,
                "downlink cursor names a change this head office does not hold (restored from a backup): the terminal's log starts again"
            );
            after = (0, 0);
            check = None;
        }
        self.renew_card_key(terminal).await?;
        let rows = self.store.changes_after(after, CHANGES_PAGE_LIMIT).await?;
        let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) >= CHANGES_PAGE_LIMIT;
        let last = rows.last().map_or(after, |r| (r.xid, r.position));
        if let Some(row) = rows.last() {
            check = Some(row_check(row));
        }
        let lookup_key = auth::decode_32(&terminal.lookup_key).map_err(|_| {
            HqError::Internal(crate::store::StoreError::Corrupt("lookup key".into()))
        })?;
        // A member or clerk changed several times in a page is sent once,
        // at its last place.
        let mut last_place: HashMap<MemberId, i64> = HashMap::new();
        let mut staff_last_place: HashMap<String, i64> = HashMap::new();
        for row in &rows {
            match (row.kind.as_str(), row.member) {
                ("member", Some(m)) => {
                    last_place.insert(m, row.position);
                }
                ("staff", _) => {
                    staff_last_place
                        .insert(self.staff_id_of(row.payload.as_deref())?, row.position);
                }
                _ => {}
            }
        }
        // Withdrawn card keys, read only for a page that sends members.
        let withdrawals = if last_place.is_empty() {
            HashMap::new()
        } else {
            self.withdrawals().await?
        };
        let mut changes = Vec::with_capacity(rows.len());
        for row in rows {
            let bad = || {
                HqError::Internal(crate::store::StoreError::Corrupt(format!(
                    "change {}",
                    row.position
                )))
            };
            let payload = row.payload.as_deref().unwrap_or("null");
            match row.kind.as_str() {
                "program" => changes.push(Change::Program {
                    program: crate::store::parse_json(payload)?,
                    signature: None,
                }),
                "trusted_key" => changes.push(Change::TrustedKey {
                    key: crate::store::parse_json(payload)?,
                    signature: None,
                }),
                "revocation" => {
                    let r: admin::Revocation = crate::store::parse_json(payload)?;
                    changes.push(Change::Revocation {
                        member: r.member,
                        card_serial: r.card_serial,
                        signature: None,
                    });
                }
                "staff" => {
                    let staff_id = self.staff_id_of(row.payload.as_deref())?;
                    if staff_last_place.get(&staff_id) == Some(&row.position) {
                        changes.push(self.staff_change(terminal, &staff_id).await?);
                    }
                }
                "erasure" => changes.push(Change::Erasure {
                    member: row.member.ok_or_else(bad)?,
                }),
                "member" => {
                    let member = row.member.ok_or_else(bad)?;
                    if last_place.get(&member) != Some(&row.position) {
                        continue;
                    }
                    let Some((record, entries)) = self.store.member(member).await? else {
                        continue;
                    };
                    if record.erased {
                        changes.push(Change::Erasure { member });
                        continue;
                    }
                    // A merged-away member keeps no phone on terminals:
                    // the phone finds the survivor.
                    let personal = self.personal_data(member, &record.personal)?;
                    let phone = personal
                        .phone
                        .as_deref()
                        .filter(|_| record.merged_into.is_none());
                    let card = self.reissued_card(&record, &withdrawals);
                    changes.push(Change::Member {
                        snapshot: Box::new(MemberSnapshot {
                            member,
                            masked_name: record.masked_name,
                            masked_phone: record.masked_phone,
                            phone_lookup: phone.map(|p| auth::phone_lookup(&lookup_key, p)),
                            birthday: personal.birthday,
                            tags: record.tags,
                            referrer: record.referrer,
                            frozen: record.frozen,
                            card_serial: (record.card_serial > 1).then_some(record.card_serial),
                            merged_into: record.merged_into,
                            card,
                            account: MemberAccount::fold(MemberAccount::new(member), &entries),
                        }),
                    });
                }
                _ => {}
            }
        }
        // Trust-bearing changes carry head office's signature for this
        // terminal; the terminal applies them only if it verifies.
        for change in &mut changes {
            tillcard_protocol::trust::sign_change(change, &self.downlink_key, terminal.terminal_id);
        }
        Ok(ChangesPage {
            changes,
            cursor: match check {
                Some(check) => wire::checked_cursor(last, &check),
                None => wire::cursor_from_position(last),
            },
            more,
            acked_seq: Some(terminal.acked_seq),
            resync,
        })
    }

    /// Whether the change log holds, at `position`, the change whose
    /// check is `check` (a `c2` cursor's).
    async fn holds_change(&self, position: (i64, i64), check: &str) -> Result<bool, HqError> {
        if position == (0, 0) {
            return Ok(true);
        }
        // The first change at or after the position (the log's order is
        // (xid, position)): the cursor's own change if it is still there.
        let rows = self
            .store
            .changes_after((position.0, position.1.saturating_sub(1)), 1)
            .await?;
        Ok(rows.first().is_some_and(|row| {
            (row.xid, row.position) == position && row_check(row).eq_ignore_ascii_case(check)
        }))
    }

    /// Chain-wide tier evaluation: every member's tier checked against the
    /// rolling spend of all stores. Returns the number of tier changes.
    pub async fn evaluate_tiers(&self, at: Timestamp) -> Result<usize, HqError> {
        self.evaluate_tiers_as(at, SourceId(Uuid::now_v7())).await
    }

    /// [`Hq::evaluate_tiers`] as the action `run`: a member whose ledger
    /// already holds `run` is skipped, so running it again (a daily job
    /// taken up after a crash) changes nothing twice.
    pub async fn evaluate_tiers_as(&self, at: Timestamp, run: SourceId) -> Result<usize, HqError> {
        let program = self.program_at(at).await?;
        let written = self
            .book_for_every_member(run, |account| {
                tier::evaluate(&program, account, at, run)
                    .into_iter()
                    .collect()
            })
            .await?;
        Ok(written)
    }

    /// Points expiry: expires every due lot. Returns entries written.
    pub async fn expire_points(&self, at: Timestamp) -> Result<usize, HqError> {
        self.expire_points_as(at, SourceId(Uuid::now_v7())).await
    }

    /// [`Hq::expire_points`] as the action `run`, skipping members whose
    /// ledger already holds it (see [`Hq::evaluate_tiers_as`]).
    pub async fn expire_points_as(&self, at: Timestamp, run: SourceId) -> Result<usize, HqError> {
        self.book_for_every_member(run, |account| expiry::expire_due(account, at, run))
            .await
    }

    /// Books for every member the entries `decide` gives their account, as
    /// the action `run`, skipping a member whose ledger already holds it.
    /// Returns the entries written.
    async fn book_for_every_member(
        &self,
        run: SourceId,
        decide: impl Fn(&MemberAccount) -> Vec<LedgerEntry>,
    ) -> Result<usize, HqError> {
        let mut written = 0;
        for member in self.store.member_ids().await? {
            let Some((_, entries)) = self.store.member(member).await? else {
                continue;
            };
            let account = MemberAccount::fold(MemberAccount::new(member), &entries);
            if account.has_booked(run) {
                continue;
            }
            let due = decide(&account);
            if !due.is_empty() {
                written += due.len();
                self.store.append_entries(member, &due).await?;
            }
        }
        Ok(written)
    }

    /// Erases a member's personal data everywhere at head office and tells
    /// terminals to delete theirs.
    pub async fn erase(&self, member: MemberId) -> Result<bool, HqError> {
        let existed = self.store.erase_member(member, now()).await?;
        tracing::info!(member = %member, existed, "member erased on request");
        Ok(existed)
    }

    /// Admin bearer token, or a dashboard session.
    async fn check_admin_or_session(&self, headers: &HeaderMap) -> Result<(), HqError> {
        if headers.contains_key(header::AUTHORIZATION) {
            return self.check_admin(headers);
        }
        match self.session_user(headers).await? {
            Some(_) => Ok(()),
            None => Err(HqError::Unauthorized(
                "login_required",
                "admin token or dashboard session required".into(),
            )),
        }
    }

    fn check_admin(&self, headers: &HeaderMap) -> Result<(), HqError> {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match (&self.admin_token, given) {
            (Some(expected), Some(given)) if constant_eq(expected.as_bytes(), given.as_bytes()) => {
                Ok(())
            }
            (None, _) => Err(HqError::Forbidden(
                "admin_disabled",
                "no admin token configured".into(),
            )),
            _ => Err(HqError::Unauthorized(
                "bad_admin_token",
                "admin token required".into(),
            )),
        }
    }
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
