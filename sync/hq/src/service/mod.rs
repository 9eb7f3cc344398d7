//! Head office's service: its state and operations ([`Hq`]), apart from
//! the HTTP layer (`http`, `http_back_office`: the handlers and middleware;
//! `server`: the router and graceful shutdown) and the one route table both
//! the router and openapi.json are made from (`routes`). This file holds
//! `Hq` itself (opening, keys, configuration, jobs); each flow has its
//! room: registration in `redeem`, signed requests in `authenticate`,
//! batches in `upload`, the change log in `downlink`, dashboard users and
//! sessions in `sign_in`. The back office's operations are in
//! `back_office`, their input checks and refusal codes in `checks`, who
//! may do them in `roles`, and staff on the downlink and their PIN set-up
//! in `staff`; terminals' certified card keys (windows, renewal,
//! withdrawal, re-issued cards) in `card_keys`; members folded once for
//! every terminal's downlink in `snapshots`.

mod authenticate;
pub mod back_office;
pub mod campaigns;
pub mod card_keys;
pub mod catalog;
pub mod chain_signatures;
mod checks;
pub mod clock_skew;
pub mod conflicts;
mod downlink;
mod http;
mod http_back_office;
mod http_campaigns;
mod http_catalog;
mod http_member_money;
pub mod job_progress;
pub mod limits;
pub mod member_cards;
pub mod member_care;
mod member_fetch;
pub mod member_money;
pub mod merge;
pub mod poll_cache;
pub mod programs;
mod redeem;
pub mod reintroduce;
pub mod review_queue;
pub mod roles;
mod routes;
mod server;
pub mod shift_closes;
mod sign_in;
pub mod snapshots;
mod staff;
mod upload;
pub mod walk_in_returns;

pub use back_office::Actor;
pub use routes::{Route, openapi_document, routes};
pub use server::{router, serve};

use std::sync::Arc;

use axum::http::{HeaderMap, header};
use ed25519_dalek::SigningKey;
use tillcard_rules::ids::{MemberId, SourceId, Timestamp};
use tillcard_rules::{LedgerEntry, MemberAccount, Program, expiry, tier};
use uuid::Uuid;

use crate::error::HqError;
use crate::figures::{self, FigureQuery, Figures};
use crate::ingest::IngestKeys;
use crate::metrics::Metrics;
use crate::personal::{Personal, PersonalKeys, SealedPersonal};
use crate::store::{Store, StoreResult};
use std::time::Duration;
use tillcard_protocol::auth;
use tillcard_protocol::wire::TrustedKey;

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

/// Members a daily job reads, decides and books at a time
/// ([`Hq::evaluate_tiers`], [`Hq::expire_points`]).
pub const JOB_PAGE: i64 = 1_000;

/// Scopes read per transaction by the scope job (most are not due: a
/// page is a range of the key, read and lapsed where due).
pub const JOB_SCOPE_PAGE: i64 = 10_000;

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
    flags: limits::FlagLimiter,
    metrics_token: Option<String>,
    jobs: crate::jobs::schedule::JobsConfig,
    programs: programs::ProgramCache,
    upload_limits: limits::UploadLimits,
    snapshots: snapshots::SnapshotCache,
    chain_signatures: chain_signatures::ChainSignatures,
    poll_cache: poll_cache::PollCache,
    /// Load balancers whose `X-Forwarded-For` names the client.
    trusted_proxies: Vec<std::net::IpAddr>,
    /// A streaming standby the dashboard's figures are read from, when
    /// configured (`database.read_url`).
    standby: Option<Arc<dyn Store>>,
    /// Set on SIGTERM: `/health` answers 503 `draining` so a load
    /// balancer stops sending new requests before this node stops.
    draining: std::sync::atomic::AtomicBool,
    /// Uploads being ingested at once ([`UPLOADS_AT_ONCE`]).
    uploads: tokio::sync::Semaphore,
}

/// Uploads one head-office process ingests at once: twice its database
/// connections (PostgreSQL's default pool), enough to keep them busy.
/// Beyond that an upload waits up to [`UPLOAD_WAIT`] for its turn, then is
/// refused `503 busy` (class `retry_later`): a chain reconnecting after an
/// outage then backs off with the uplink's jitter instead of queueing past
/// its timeout and sending every batch again (measured in
/// `hq.burst_drain_s`).
pub fn uploads_at_once() -> usize {
    crate::store::postgres::default_pool_size().saturating_mul(2)
}

/// How long an upload waits for its turn before `503 busy`.
pub const UPLOAD_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

fn now() -> Timestamp {
    chrono::Utc::now().fixed_offset()
}

impl Hq {
    /// [`Hq::open_with`] under the fixed personal-data key of tests
    /// ([`PersonalKeys::for_tests`]): for tests and benchmarks only.
    #[cfg(any(test, feature = "test-support"))]
    /// The poll cache is off ([`poll_cache::PollBounds::OFF`]), so a
    /// test sees every change at the next poll; [`Hq::set_poll_bounds`]
    /// turns it on.
    pub async fn open(store: Arc<dyn Store>, admin_token: Option<String>) -> StoreResult<Hq> {
        let hq = Hq::open_with(store, admin_token, PersonalKeys::for_tests()).await?;
        hq.set_poll_bounds(poll_cache::PollBounds::OFF);
        Ok(hq)
    }

    /// How stale this node's readings for answering polls may be
    /// ([`poll_cache`]; off, [`poll_cache::PollBounds::OFF`], unless set:
    /// the `tillcard-hq` binary sets [`poll_cache::PollBounds::DEFAULT`]
    /// unless `node.poll_cache` is off, and so does the chain bench).
    pub fn set_poll_bounds(&self, bounds: poll_cache::PollBounds) {
        self.poll_cache.set_bounds(bounds);
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
            flags: limits::FlagLimiter::default(),
            metrics_token: None,
            jobs: crate::jobs::schedule::JobsConfig::default(),
            programs: programs::ProgramCache::default(),
            upload_limits: limits::UploadLimits::default(),
            snapshots: snapshots::SnapshotCache::default(),
            chain_signatures: chain_signatures::ChainSignatures::default(),
            // Off until a node also forgets its readings on its own writes:
            // with it on, a till's sync right after a staff deactivation
            // through this node got "nothing new" (tests/first_day_binaries).
            poll_cache: poll_cache::PollCache::new(poll_cache::PollBounds::OFF),
            trusted_proxies: Vec::new(),
            standby: None,
            draining: std::sync::atomic::AtomicBool::new(false),
            uploads: tokio::sync::Semaphore::new(uploads_at_once()),
        })
    }

    /// The same head office behind the load balancers `proxies`: a
    /// request from one of them is counted under the client address the
    /// balancer appended last to `X-Forwarded-For` ([`Hq::client_addr`]).
    pub fn with_trusted_proxies(mut self, proxies: Vec<std::net::IpAddr>) -> Hq {
        self.trusted_proxies = proxies;
        self
    }

    /// The same head office reading the dashboard's figures from
    /// `standby` (a streaming standby of its database), the primary while
    /// the standby does not answer.
    pub fn with_standby(mut self, standby: Arc<dyn Store>) -> Hq {
        self.standby = Some(standby);
        self
    }

    /// The client a request came from: the peer, or, when the peer is a
    /// trusted load balancer, the last address of its `X-Forwarded-For`
    /// (the one it appended itself; earlier ones are the client's word).
    pub fn client_addr(
        &self,
        headers: &HeaderMap,
        peer: Option<std::net::IpAddr>,
    ) -> Option<std::net::IpAddr> {
        let peer = peer?;
        if !self.trusted_proxies.contains(&peer) {
            return Some(peer);
        }
        // The last header line's last entry: what the balancer appended. One
        // that does not read as an address counts as the balancer itself.
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|a| a.trim().parse::<std::net::IpAddr>().ok());
        Some(forwarded.unwrap_or(peer))
    }

    /// A turn to ingest an upload, waited for at most [`UPLOAD_WAIT`];
    /// `503 busy` when none comes.
    pub async fn upload_turn(&self) -> Result<tokio::sync::SemaphorePermit<'_>, HqError> {
        match tokio::time::timeout(UPLOAD_WAIT, self.uploads.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => {
                self.metrics.count_busy_upload();
                Err(HqError::Refused(
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "head office is ingesting as many uploads as it can; send this one again after a backoff".into(),
                ))
            }
        }
    }

    /// From now on `/health` answers 503 `draining` (a shutdown began).
    pub fn start_draining(&self) {
        self.draining
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether a shutdown began ([`Hq::start_draining`]).
    pub fn is_draining(&self) -> bool {
        self.draining.load(std::sync::atomic::Ordering::SeqCst)
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

    /// The same head office ingesting at most `n` uploads at once (tests:
    /// one, to see the others refused `busy`).
    #[cfg(any(test, feature = "test-support"))]
    pub fn with_uploads_at_once(mut self, n: usize) -> Hq {
        self.uploads = tokio::sync::Semaphore::new(n);
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
        let query = FigureQuery::at(now);
        if let Some(standby) = &self.standby {
            // How far behind is read first: the rows are at least that
            // current.
            let read = async {
                let behind = standby.standby_behind_ms().await?;
                Ok::<_, crate::store::StoreError>((behind, standby.figure_rows(&query).await?))
            };
            match read.await {
                Ok((behind, rows)) => {
                    let mut figures = figures::compute(&program, rows, now);
                    figures.read_from = figures::ReadFrom {
                        database: if behind.is_some() {
                            "standby"
                        } else {
                            "primary"
                        }
                        .into(),
                        behind_ms: behind,
                        standby_unavailable: false,
                    };
                    return Ok(figures);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the standby did not answer: figures read from the primary");
                }
            }
        }
        let rows = self.store.figure_rows(&query).await?;
        let mut figures = figures::compute(&program, rows, now);
        figures.read_from.standby_unavailable = self.standby.is_some();
        Ok(figures)
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

    /// Chain-wide tier evaluation: every member's tier checked against the
    /// rolling spend of all stores. Returns the number of tier changes.
    pub async fn evaluate_tiers(&self, at: Timestamp) -> Result<usize, HqError> {
        self.evaluate_tiers_as(at, SourceId(Uuid::now_v7())).await
    }

    /// [`Hq::evaluate_tiers`] as the action `run`: a member whose ledger
    /// already holds `run` is skipped, so running it again (a daily job
    /// taken up after a crash) changes nothing twice.
    pub async fn evaluate_tiers_as(&self, at: Timestamp, run: SourceId) -> Result<usize, HqError> {
        self.evaluate_tiers_in(at, run, None).await
    }

    /// [`Hq::evaluate_tiers_as`] as a daily job's claimed run: from where
    /// an earlier attempt got to, each page recorded with the lease renewed
    /// ([`job_progress::RunProgress`]).
    pub async fn evaluate_tiers_in(
        &self,
        at: Timestamp,
        run: SourceId,
        progress: Option<&job_progress::RunProgress>,
    ) -> Result<usize, HqError> {
        let program = self.program_at(at).await?;
        let written = self
            .book_for_every_member(
                run,
                |account| {
                    tier::evaluate(&program, account, at, run)
                        .into_iter()
                        .collect()
                },
                progress,
            )
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
        self.expire_points_in(at, run, None).await
    }

    /// [`Hq::expire_points_as`] as a daily job's claimed run (see
    /// [`Hq::evaluate_tiers_in`]).
    pub async fn expire_points_in(
        &self,
        at: Timestamp,
        run: SourceId,
        progress: Option<&job_progress::RunProgress>,
    ) -> Result<usize, HqError> {
        self.book_for_every_member(
            run,
            |account| expiry::expire_due(account, at, run),
            progress,
        )
        .await
    }

    /// Books for every member the entries `decide` gives their account, as
    /// the action `run`, skipping a member whose ledger already holds it.
    /// Returns the entries written.
    ///
    /// Set-based, a page of [`JOB_PAGE`] members at a time (issue 23):
    /// their ids in key order, their records and ledgers in one set read,
    /// the folds and decisions in memory (pure), and what is due booked
    /// for the whole page in one transaction. Memory stays one page
    /// whatever the number of members. A daily job's run records each page
    /// and renews its lease (`progress`), and one taken up again goes on
    /// after the last page recorded; the run's action id skips what a page
    /// booked but did not record.
    async fn book_for_every_member(
        &self,
        run: SourceId,
        decide: impl Fn(&MemberAccount) -> Vec<LedgerEntry>,
        progress: Option<&job_progress::RunProgress>,
    ) -> Result<usize, HqError> {
        let mut written = 0;
        let mut after = progress.and_then(job_progress::RunProgress::from);
        loop {
            let ids = self.store.member_ids_after(after, JOB_PAGE).await?;
            let Some(&last) = ids.last() else {
                break;
            };
            after = Some(last);
            let mut booked = Vec::new();
            for (record, entries) in self.store.members_with_ledgers(&ids).await? {
                let account = MemberAccount::fold(MemberAccount::new(record.member), &entries);
                if account.has_booked(run) {
                    continue;
                }
                let due = decide(&account);
                if !due.is_empty() {
                    written += due.len();
                    booked.push((record.member, due));
                }
            }
            if !booked.is_empty() {
                self.store.append_entries_many(&booked).await?;
            }
            if let Some(progress) = progress {
                progress.page_done(last).await?;
            }
        }
        Ok(written)
    }

    /// Lapses every store's scope of a member not seen there within
    /// `scope_days` before `at` (`crate::store::scope`), a page at a time;
    /// each lapse tells that store's terminals to forget the member.
    /// Returns how many lapsed.
    pub async fn lapse_scopes(&self, at: Timestamp, scope_days: u32) -> Result<usize, HqError> {
        let cutoff = at
            .checked_sub_signed(chrono::Duration::days(i64::from(scope_days)))
            .unwrap_or(at);
        let cutoff = crate::store::scope::scope_day(cutoff);
        let (mut lapsed, mut after) = (0, crate::store::scope::ScopeKey::default());
        loop {
            let page = self
                .store
                .lapse_scopes(&cutoff, &after, JOB_SCOPE_PAGE)
                .await?;
            lapsed += page.lapsed;
            match page.next {
                Some(next) => after = next,
                None => break,
            }
        }
        Ok(lapsed)
    }

    /// Erases a member's personal data everywhere at head office and tells
    /// terminals to delete theirs.
    pub async fn erase(&self, member: MemberId) -> Result<bool, HqError> {
        let existed = self.store.erase_member(member, now()).await?;
        self.snapshots.forget(member);
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
