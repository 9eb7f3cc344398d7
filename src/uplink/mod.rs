//! The terminal's side of sync: a tokio task, never on the UI thread and
//! never in the way of a checkout, that sends the outbox to head office in
//! signed batches and applies what head office sends down.
//!
//! - Events stay in the outbox until head office acknowledges them; the ack
//!   is "everything up to seq N is durably stored", so any request may be
//!   lost, duplicated or answered twice without losing or doubling anything.
//! - If head office acknowledges less than before (restored from a backup),
//!   the events after its ack are pending again and are sent again; every
//!   downlink page says what head office holds (`acked_seq`), so a terminal
//!   with nothing to send learns it too. A head office that does not know
//!   this terminal (restored from a backup older than its registration) is
//!   shown the registration certificate (`tillcard_protocol::registration`).
//! - Failures retry with exponential backoff and full jitter; requests head
//!   office refuses as wrong (400/401/403/409) back off to the maximum and
//!   say why, since retrying sooner cannot help.
//! - Each downlink page is applied in one store transaction with its cursor.
//! - Every answer carries head office's time: the clock (when it corrects
//!   itself, `server_time`) adopts it and the offset is persisted; every
//!   signed request reports this terminal's skew; a request refused for its
//!   timestamp (`stale_request`) is retried at once with the adopted time.
//! - Status (online, pending, oldest pending, last success, last error in
//!   words) is published on a watch channel for the status strip.
//! - A store rolled back (restored, reimaged, a lost write) is told by
//!   head office's `held_seq` (in acks and in a `sequence_conflict`): its
//!   waiting events are renumbered above it in a new epoch
//!   (`store::epochs`) and the queue moves on. A `terminal_cloned`
//!   refusal (another copy of this terminal renumbered) is not renumbered:
//!   it waits for review at head office.
//! - Every upload tells head office this terminal's outbox head and the
//!   version of its software, and carries its audit chain since the head
//!   head office acknowledged (recorded once the upload is answered).
//! - Every connection to head office is TLS (except to this machine): to
//!   the certificate pinned at registration when the enrollment QR carried
//!   one, else to a certificate the platform's roots verify (`pinning`). A
//!   certificate refused stops the exchange: nothing is sent.

pub mod pinning;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tillcard_protocol::client::{self, SignedRequest, TerminalCredentials};
use tillcard_protocol::enrollment::CertificatePin;
use tillcard_protocol::refusal::RefusalClass;
use tillcard_protocol::staff::StaffSnapshot;
use tillcard_protocol::wire;
use tillcard_rules::Timestamp;
use tokio::sync::watch;

use crate::clock::Clock;
use crate::config::{AddressProblem, check_head_office_url};
use crate::saved_files::SavedFiles;
use crate::store::StoreError;
use crate::store::clerks::{Approval, Clerk};
use crate::store::handle::StoreHandle;
pub use pinning::CertificateProblem;

/// The version of this terminal's software (the `tillcard` package's),
/// told to head office with every upload so its terminal list shows which
/// tills run what.
const APP_VERSION: &str = env!("CARGO_PKG_VERSION");
// Head office refuses a batch whose version is not of this shape: a
// package version it would refuse fails the build, not every upload.
const _: () = assert!(wire::is_app_version(APP_VERSION));

/// How the uplink behaves.
#[derive(Debug, Clone)]
pub struct UplinkConfig {
    /// Head office's base URL, e.g. `https://hq.example.com`.
    pub base_url: String,
    /// Events per batch (at most the protocol's limit).
    pub batch_size: usize,
    /// First retry delay.
    pub min_backoff: Duration,
    /// Longest retry delay.
    pub max_backoff: Duration,
    /// How often to look for new events and changes when idle.
    pub idle_poll: Duration,
    /// Time limit of one HTTP request.
    pub request_timeout: Duration,
    /// Where cards and receipts are saved: an erasure in the downlink
    /// deletes the member's after each pass. `None` leaves them to the
    /// next start.
    pub saved_files: Option<SavedFiles>,
    /// How long acknowledged events keep their bodies
    /// (`store::retention`): pruned after each idle round.
    pub outbox_retention: Duration,
    /// Largest JSON of one batch's events (bytes): a batch is split before
    /// sending to stay under it (head office refuses bodies over
    /// `wire::MAX_BODY_BYTES`).
    pub max_batch_bytes: usize,
}

impl UplinkConfig {
    /// Production defaults for `base_url`.
    pub fn new(base_url: impl Into<String>) -> UplinkConfig {
        UplinkConfig {
            base_url: base_url.into(),
            batch_size: 200,
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
            idle_poll: Duration::from_secs(5),
            request_timeout: Duration::from_secs(20),
            saved_files: None,
            outbox_retention: crate::store::retention::DEFAULT_OUTBOX_RETENTION,
            max_batch_bytes: wire::MAX_BODY_BYTES - 256 * 1024,
        }
    }
}

/// What the status strip shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UplinkStatus {
    /// The last exchange with head office succeeded.
    pub online: bool,
    /// Events waiting for head office.
    pub pending: u64,
    /// Wall time of the oldest waiting event.
    pub oldest_pending: Option<String>,
    /// When head office last answered.
    pub last_success: Option<Timestamp>,
    /// The last failure (the counter words it in the clerk's language).
    pub last_error: Option<UplinkProblem>,
    /// Highest sequence head office holds.
    pub acked_seq: u64,
    /// Events head office can never take, kept aside in quarantine
    /// (`store::quarantine`); head office holds a placeholder of each.
    pub quarantined: u64,
}

/// Why the last exchange with head office failed, as the status strip and
/// the sync screen tell it: the kind of failure, not English words, so
/// the counter can say it in the clerk's language (`counter::text`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UplinkProblem {
    /// The terminal is not registered yet.
    NotRegistered,
    /// No answer (network down, timeout, connection reset).
    Unreachable,
    /// Head office answered with a server error (HTTP 5xx, 429); retrying.
    Trouble(u16),
    /// Head office refused, with its stable code and its own words.
    Refused {
        /// `terminal_revoked`, `unknown_terminal`, ...
        code: String,
        /// Head office's explanation (English).
        detail: String,
    },
    /// The answer could not be read.
    Garbled,
    /// Head office holds events up to this sequence and took none after.
    Stalled(u64),
    /// The terminal's disk is full.
    DiskFull,
    /// Head office's address cannot be used (plain http to another
    /// machine): nothing is sent.
    Address(AddressProblem),
    /// Head office's certificate was refused (not the pinned one, or not
    /// trusted): nothing is sent.
    Certificate(CertificateProblem),
    /// Anything else on this terminal (English, for support).
    Terminal(String),
}

impl From<&UplinkError> for UplinkProblem {
    fn from(error: &UplinkError) -> UplinkProblem {
        match error {
            UplinkError::NotProvisioned => UplinkProblem::NotRegistered,
            UplinkError::Unreachable(_) => UplinkProblem::Unreachable,
            UplinkError::Server(status) => UplinkProblem::Trouble(*status),
            UplinkError::Refused { code, detail, .. } => UplinkProblem::Refused {
                code: code.clone(),
                detail: detail.clone(),
            },
            UplinkError::BadAnswer(_) => UplinkProblem::Garbled,
            UplinkError::Stalled(seq) => UplinkProblem::Stalled(*seq),
            UplinkError::Store(StoreError::DiskFull) => UplinkProblem::DiskFull,
            UplinkError::Address(problem) => UplinkProblem::Address(problem.clone()),
            UplinkError::Certificate(problem) => UplinkProblem::Certificate(*problem),
            UplinkError::Store(e) => UplinkProblem::Terminal(e.to_string()),
        }
    }
}

/// Why one round failed.
#[derive(Debug, thiserror::Error)]
pub enum UplinkError {
    /// The terminal has not been provisioned.
    #[error("this terminal is not registered with head office yet")]
    NotProvisioned,
    /// No answer (network down, timeout, connection reset).
    #[error("head office cannot be reached ({0})")]
    Unreachable(String),
    /// Head office answered with an error it may recover from.
    #[error("head office is having trouble (HTTP {0}); retrying")]
    Server(u16),
    /// Head office refused the request as a whole.
    #[error("head office refused this terminal's request (HTTP {status}): {detail}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// What to do about it: head office's class, or the status's.
        class: RefusalClass,
        /// Head office's stable error code (`code_expired`, ...; see
        /// PROTOCOL.md), empty when the answer named none.
        code: String,
        /// Head office's explanation.
        detail: String,
        /// With `sequence_conflict`: the highest seq head office holds of
        /// this terminal (a rolled-back store renumbers above it).
        held_seq: Option<u64>,
    },
    /// The answer could not be read (truncated, garbled).
    #[error("head office's answer could not be read ({0})")]
    BadAnswer(String),
    /// Head office took nothing of the batch (waiting for earlier events).
    #[error("head office holds events up to {0} and took none of the next ones; retrying")]
    Stalled(u64),
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Head office's address cannot be used; nothing was sent.
    #[error(transparent)]
    Address(#[from] AddressProblem),
    /// Head office's certificate was refused in the TLS handshake; nothing
    /// was sent.
    #[error(transparent)]
    Certificate(#[from] CertificateProblem),
}

impl UplinkError {
    /// Refused for its timestamp: the answer carried head office's time,
    /// so a retry at once is signed with it.
    fn is_skew_refusal(&self) -> bool {
        matches!(self, UplinkError::Refused { code, .. }
            if code == tillcard_protocol::server_clock::SKEW_REFUSAL)
    }

    fn is_refusal(&self) -> bool {
        matches!(
            self,
            UplinkError::Refused {
                class: RefusalClass::FixAndRetry | RefusalClass::Never,
                ..
            } | UplinkError::NotProvisioned
                | UplinkError::Address(_)
                | UplinkError::Certificate(_)
        )
    }
}

/// What a round achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Round {
    /// Events were acknowledged; more may wait.
    Progress,
    /// Nothing to send.
    Idle,
}

/// The uplink task.
pub struct Uplink {
    store: StoreHandle,
    clock: Arc<dyn Clock>,
    /// The client for the pin the store holds (rebuilt if it changes, as
    /// after a registration again).
    http: Mutex<Option<(Option<CertificatePin>, reqwest::Client)>>,
    config: UplinkConfig,
    status: watch::Sender<UplinkStatus>,
    /// Events per batch now: halved by each `never` refusal of a batch,
    /// doubled back by each batch taken (up to the configured size).
    batch_cap: AtomicUsize,
}

async fn on_store<R: Send + 'static>(
    store: &StoreHandle,
    f: impl FnOnce(&mut crate::store::Store) -> Result<R, StoreError> + Send + 'static,
) -> Result<R, StoreError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || store.call(f))
        .await
        .map_err(|_| StoreError::Closed)?
}

/// A random fraction in [0, 1) from the OS (jitter only).
fn jitter() -> f64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

/// Delay before retry number `failures` (1-based): full jitter over an
/// exponentially growing cap.
pub fn backoff(config: &UplinkConfig, failures: u32) -> Duration {
    let cap = config
        .min_backoff
        .saturating_mul(1u32 << failures.saturating_sub(1).min(16))
        .min(config.max_backoff);
    cap.mul_f64(jitter()).max(Duration::from_millis(10))
}

impl Uplink {
    /// An uplink for `store`, publishing on `status`.
    pub fn new(
        store: StoreHandle,
        clock: Arc<dyn Clock>,
        config: UplinkConfig,
        status: watch::Sender<UplinkStatus>,
    ) -> Result<Uplink, UplinkError> {
        check_head_office_url(&config.base_url)?;
        Ok(Uplink {
            store,
            clock,
            http: Mutex::new(None),
            batch_cap: AtomicUsize::new(config.batch_size.clamp(1, wire::MAX_BATCH_EVENTS)),
            config,
            status,
        })
    }

    /// Runs until `shutdown` turns true; the round in flight is finished
    /// first (its ack recorded), so nothing is sent twice needlessly.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut failures = 0u32;
        let mut skew_retried = false;
        loop {
            if *shutdown.borrow() {
                return;
            }
            let result = self.round().await;
            if let Err(error) = &result {
                // Error texts name statuses and causes, never event bodies.
                tracing::warn!(%error, failures, "uplink round failed");
            }
            self.publish(&result).await;
            if !matches!(&result, Err(error) if error.is_skew_refusal()) {
                skew_retried = false;
            }
            let pause = match result {
                Ok(Round::Progress) => {
                    failures = 0;
                    continue;
                }
                Ok(Round::Idle) => {
                    failures = 0;
                    self.config.idle_poll
                }
                // Head office's time came with the refusal: once at once.
                Err(error) if error.is_skew_refusal() && !skew_retried => {
                    skew_retried = true;
                    tracing::info!("refused for the clock: retrying with head office's time");
                    continue;
                }
                Err(error) if error.is_refusal() => self.config.max_backoff,
                Err(_) => {
                    failures = failures.saturating_add(1);
                    backoff(&self.config, failures)
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Syncs once, to the end: uploads every waiting batch, then pulls the
    /// downlink until no page is left. The first failure ends it (no
    /// retry here: the caller, a person or a script, decides). What the
    /// headless `tillcard register` and `tillcard sync` run.
    pub async fn sync_until_idle(&self) -> Result<(), UplinkError> {
        let mut skew_retried = false;
        loop {
            let result = self.round().await;
            self.publish(&result).await;
            // Refused for the clock: head office's time came with the
            // refusal, so once again at once.
            if let Err(error) = &result
                && error.is_skew_refusal()
                && !skew_retried
            {
                skew_retried = true;
                continue;
            }
            skew_retried = false;
            match result? {
                Round::Progress => continue,
                Round::Idle => return Ok(()),
            }
        }
    }

    async fn publish(&self, result: &Result<Round, UplinkError>) {
        let queue = on_store(&self.store, |s| {
            Ok((s.outbox_status()?, s.quarantined_count()?))
        })
        .await
        .ok();
        let now = self.clock.now();
        self.status.send_modify(|status| {
            match result {
                Ok(_) => {
                    status.online = true;
                    status.last_success = Some(now);
                    status.last_error = None;
                }
                Err(error) => {
                    status.online = false;
                    status.last_error = Some(UplinkProblem::from(error));
                }
            }
            if let Some((queue, quarantined)) = &queue {
                status.pending = queue.pending;
                status.oldest_pending = queue.oldest_pending.clone();
                status.quarantined = *quarantined;
            }
        });
    }

    async fn credentials(&self) -> Result<TerminalCredentials, UplinkError> {
        let (credentials, pin) = on_store(&self.store, |s| {
            Ok((s.credentials().cloned(), s.head_office_pin()?))
        })
        .await?;
        let credentials = credentials.ok_or(UplinkError::NotProvisioned)?;
        let mut http = self.http.lock().unwrap_or_else(PoisonError::into_inner);
        if http.as_ref().is_none_or(|(held, _)| *held != pin) {
            *http = Some((pin, http_client(Some(self.config.request_timeout), pin)?));
        }
        Ok(credentials)
    }

    /// One round ([`Uplink::exchange`]); a head office that does not know
    /// this terminal (restored from a backup older than its registration)
    /// is shown the registration certificate and the round goes on.
    async fn round(&self) -> Result<Round, UplinkError> {
        match self.exchange().await {
            Err(UplinkError::Refused { code, .. }) if code == "unknown_terminal" => {
                self.reintroduce().await
            }
            other => other,
        }
    }

    /// Re-introduces this terminal with the registration certificate head
    /// office gave it (`tillcard_protocol::registration`); without one the
    /// terminal stays unknown and says so.
    async fn reintroduce(&self) -> Result<Round, UplinkError> {
        let certificate = on_store(&self.store, |s| s.registration_certificate()).await?;
        let Some(certificate) = certificate else {
            return Err(UplinkError::Refused {
                status: 401,
                class: RefusalClass::FixAndRetry,
                held_seq: None,
                code: "unknown_terminal".into(),
                detail: "head office does not know this terminal and it holds no registration certificate: register it again".into(),
            });
        };
        let body = wire::encode(&tillcard_protocol::registration::Reintroduce {
            protocol_version: wire::PROTOCOL_VERSION,
            certificate,
        })
        .map_err(|e| UplinkError::BadAnswer(e.to_string()))?;
        let answer = self
            .send(SignedRequest {
                method: "POST",
                path_and_query: tillcard_protocol::registration::REINTRODUCE_PATH.to_string(),
                headers: Vec::new(),
                body,
            })
            .await?;
        let answer: tillcard_protocol::registration::Reintroduced =
            wire::decode(&answer).map_err(|e| UplinkError::BadAnswer(e.to_string()))?;
        tracing::warn!(
            registered = answer.registered,
            acked_seq = answer.acked_seq,
            "re-introduced to head office with the registration certificate"
        );
        on_store(&self.store, move |s| s.head_office_holds(answer.acked_seq)).await?;
        Ok(Round::Progress)
    }

    /// One exchange: upload one batch if any waits, else pull the downlink.
    async fn exchange(&self) -> Result<Round, UplinkError> {
        let creds = self.credentials().await?;
        let full = self.config.batch_size.clamp(1, wire::MAX_BATCH_EVENTS);
        let batch_size = self.batch_cap.load(Ordering::Relaxed).clamp(1, full);
        let batch = on_store(&self.store, move |s| s.upload_batch(batch_size)).await?;
        if let Some(mut batch) = batch {
            let fit = events_that_fit(&batch.events, self.config.max_batch_bytes);
            batch.events.truncate(fit);
            if let Some(last) = batch.events.last() {
                batch.last_seq = last.envelope.seq;
            }
            let first = batch.events.first().map_or(0, |e| e.envelope.seq);
            let count = batch.events.len();
            tracing::debug!(
                first_seq = first,
                last_seq = batch.last_seq,
                events = batch.events.len(),
                "uploading batch"
            );
            let audit = batch.audit;
            let last_sent = batch.last_seq;
            let request = creds
                .upload_request_in_epoch(
                    wire::UploadBatch {
                        protocol_version: wire::PROTOCOL_VERSION,
                        terminal_id: creds.terminal_id,
                        events: batch.events,
                        outbox_head_seq: Some(batch.outbox_head_seq),
                        app_version: Some(APP_VERSION.to_string()),
                        audit: Some(audit.clone()),
                        epoch: Some(batch.epoch),
                    },
                    self.clock.now().timestamp(),
                )
                .map_err(|e| UplinkError::BadAnswer(e.to_string()))?;
            let sent = self.send(request).await;
            // Head office holds other events under these numbers: this
            // store was rolled back. The waiting events are renumbered
            // above what head office holds, and go next.
            if let Err(UplinkError::Refused {
                code,
                held_seq: Some(held),
                ..
            }) = &sent
                && code == "sequence_conflict"
            {
                let held = *held;
                if on_store(&self.store, move |s| s.renumber_pending(held))
                    .await?
                    .is_some()
                {
                    return Ok(Round::Progress);
                }
            }
            let body = match sent {
                Err(UplinkError::Refused {
                    class: RefusalClass::Never,
                    code,
                    detail,
                    ..
                }) => return self.never(first, count, code, detail).await,
                other => other?,
            };
            self.batch_cap
                .store(batch_size.saturating_mul(2).min(full), Ordering::Relaxed);
            let ack =
                client::decode_ack(&body).map_err(|e| UplinkError::BadAnswer(e.to_string()))?;
            // Only what this batch carried is taken as acknowledged: an ack
            // beyond it may cover events of another content under the same
            // numbers (this store rolled back); those are sent and checked.
            let acked = ack.acked_seq.min(last_sent);
            let held = ack.held_seq;
            tracing::info!(acked_seq = acked, first_seq = first, "batch acknowledged");
            on_store(&self.store, move |s| {
                s.record_ack(acked)?;
                // Head office holds more than this store ever issued: it
                // was rolled back; nothing more is numbered below that.
                if let Some(held) = held {
                    s.check_held_seq(held)?;
                }
                // Head office checked the audit links in the batch's
                // transaction: its head is now the batch's last link.
                s.record_audit_ack(&audit)
            })
            .await?;
            self.status.send_modify(|s| s.acked_seq = acked);
            // acked >= first: progress. acked < first - 1: head office lost
            // events (restored from a backup); they are pending again and go
            // next. acked == first - 1: nothing of this batch was taken:
            // back off rather than spin.
            return if acked + 1 == first {
                Err(UplinkError::Stalled(acked))
            } else {
                Ok(Round::Progress)
            };
        }
        if self.pull_changes(&creds).await? {
            // Head office holds fewer events than it acknowledged: they go
            // up again before anything else.
            return Ok(Round::Progress);
        }
        // Nothing waits: acknowledged events past the retention lose their
        // bodies (on the store's thread, at this clock's time).
        let (now, retention) = (self.clock.now(), self.config.outbox_retention);
        on_store(&self.store, move |s| s.prune_outbox(now, retention)).await?;
        Ok(Round::Idle)
    }

    /// A batch of `count` events from `first` that head office can never
    /// take as sent: more than one is halved (the next round sends the
    /// first half); a single event is quarantined and the queue moves on.
    async fn never(
        &self,
        first: u64,
        count: usize,
        code: String,
        detail: String,
    ) -> Result<Round, UplinkError> {
        if count > 1 {
            tracing::warn!(first_seq = first, events = count, code = %code, "batch refused as never; halving");
            self.batch_cap.store(count / 2, Ordering::Relaxed);
        } else {
            on_store(&self.store, move |s| {
                s.quarantine_event(first, &code, &detail)
            })
            .await?;
        }
        Ok(Round::Progress)
    }

    /// Pulls the downlink to its end; `true` when a page said head office
    /// holds fewer of this terminal's events than it acknowledged (they are
    /// pending again, and the pull stops so they go up first).
    async fn pull_changes(&self, creds: &TerminalCredentials) -> Result<bool, UplinkError> {
        loop {
            let cursor = on_store(&self.store, |s| s.downlink_cursor()).await?;
            let request = creds.changes_request(cursor.as_deref(), self.clock.now().timestamp());
            let body = self.send(request).await?;
            let page =
                client::decode_page(&body).map_err(|e| UplinkError::BadAnswer(e.to_string()))?;
            tracing::debug!(
                changes = page.changes.len(),
                more = page.more,
                "downlink page received"
            );
            if page.resync {
                tracing::warn!(
                    "head office does not hold the change this terminal's downlink stopped at (restored from a backup): its log starts again"
                );
            }
            let held = page.acked_seq;
            let more = on_store(&self.store, move |s| s.apply_changes(page)).await?;
            if let Some(held) = held
                && on_store(&self.store, move |s| s.head_office_holds(held)).await? > 0
            {
                return Ok(true);
            }
            if !more {
                if let Some(files) = self.config.saved_files.clone() {
                    on_store(&self.store, move |s| files.delete_erased(s)).await?;
                }
                return Ok(false);
            }
        }
    }

    async fn send(&self, request: SignedRequest) -> Result<Vec<u8>, UplinkError> {
        let http = self
            .http
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|(_, client)| client.clone())
            .ok_or(UplinkError::NotProvisioned)?;
        let request = request.with_clock_skew(self.clock.wall_skew_ms());
        let sent = self.clock.monotonic_ms();
        let (result, server_ms) = exchange(&http, &self.config.base_url, request).await;
        if let Some(server_ms) = server_ms {
            let received = self.clock.monotonic_ms();
            if let Some(offset_ms) = self.clock.observe_server_time(server_ms, sent, received) {
                tracing::info!(offset_ms, "head office's time adopted");
                let persisted =
                    on_store(&self.store, move |s| s.record_clock_offset(offset_ms)).await;
                if let Err(error) = persisted {
                    tracing::warn!(%error, "the clock offset was not persisted");
                }
            }
        }
        result
    }
}

/// How many of `events`, from the first, fit in `max_bytes` of JSON (at
/// least one: head office judges a single event).
fn events_that_fit(events: &[wire::OutboxEvent], max_bytes: usize) -> usize {
    let mut total = 0usize;
    for (i, event) in events.iter().enumerate() {
        let size = serde_json::to_vec(event).map_or(usize::MAX, |json| json.len() + 1);
        total = total.saturating_add(size);
        if total > max_bytes {
            return i.max(1);
        }
    }
    events.len()
}

/// The HTTP client for head office (`pinning::http_client`): no redirects,
/// the pinned certificate or the platform's roots.
fn http_client(
    timeout: Option<Duration>,
    pin: Option<CertificatePin>,
) -> Result<reqwest::Client, UplinkError> {
    pinning::http_client(timeout, pin).map_err(UplinkError::Unreachable)
}

/// A failed request: a refused certificate said as such (the person must
/// not go on), anything else as head office out of reach.
fn request_failed(error: reqwest::Error) -> UplinkError {
    match pinning::certificate_problem(&error) {
        Some(problem) => UplinkError::Certificate(problem),
        None => UplinkError::Unreachable(error.to_string()),
    }
}

/// Sends a signed request and returns the body of a 2xx answer.
pub async fn send(
    http: &reqwest::Client,
    base_url: &str,
    request: SignedRequest,
) -> Result<Vec<u8>, UplinkError> {
    exchange(http, base_url, request).await.0
}

/// [`send`], with head office's time from the answer's
/// `x-tillcard-server-time` (Unix ms) whatever its status: `None` without
/// an answer or the header.
async fn exchange(
    http: &reqwest::Client,
    base_url: &str,
    request: SignedRequest,
) -> (Result<Vec<u8>, UplinkError>, Option<i64>) {
    let mut server_ms = None;
    let result = exchange_inner(http, base_url, request, &mut server_ms).await;
    (result, server_ms)
}

async fn exchange_inner(
    http: &reqwest::Client,
    base_url: &str,
    request: SignedRequest,
    server_ms: &mut Option<i64>,
) -> Result<Vec<u8>, UplinkError> {
    let method = reqwest::Method::from_bytes(request.method.as_bytes())
        .map_err(|e| UplinkError::BadAnswer(e.to_string()))?;
    let mut builder = http.request(method, format!("{base_url}{}", request.path_and_query));
    for (name, value) in &request.headers {
        builder = builder.header(*name, value);
    }
    if !request.body.is_empty() {
        builder = builder
            .header("content-type", wire::CONTENT_TYPE)
            .header("content-encoding", wire::CONTENT_ENCODING)
            .body(request.body);
    }
    let response = builder.send().await.map_err(request_failed)?;
    *server_ms = response
        .headers()
        .get(tillcard_protocol::server_clock::HEADER_SERVER_TIME)
        .and_then(|v| v.to_str().ok())
        .and_then(tillcard_protocol::server_clock::parse_server_time);
    let status = response.status().as_u16();
    let body = response
        .bytes()
        .await
        .map_err(|e| UplinkError::Unreachable(e.to_string()))?;
    match status {
        200..=299 => Ok(body.to_vec()),
        400 | 401 | 403 | 404 | 409 | 413 => {
            let answer: Option<wire::ErrorBody> = serde_json::from_slice(&body).ok();
            let (code, detail, class, held_seq) = match answer {
                Some(answer) => (answer.error, answer.message, answer.class, answer.held_seq),
                None => (
                    String::new(),
                    String::from_utf8_lossy(&body).into_owned(),
                    None,
                    None,
                ),
            };
            Err(UplinkError::Refused {
                status,
                class: class.unwrap_or_else(|| RefusalClass::for_status(status)),
                code,
                detail: detail.chars().take(200).collect(),
                held_seq,
            })
        }
        _ => Err(UplinkError::Server(status)),
    }
}

/// Registers this terminal with head office using a one-time enrollment
/// code: generates the terminal's signing key, redeems the code, and stores
/// the answer. `configured_store` is the store the terminal's configuration
/// names, if any (a code for another store is refused); `approval` is a
/// manager's, needed when the terminal is already registered.
pub async fn provision(
    store: &StoreHandle,
    base_url: &str,
    code: &str,
    configured_store: Option<String>,
    approval: Option<Approval>,
) -> Result<(), UplinkError> {
    provision_pinned(store, base_url, code, configured_store, approval, None).await
}

/// [`provision`] with the pin of an enrollment QR: the registration's TLS
/// connection accepts the certificate with that SHA-256 only, and the pin
/// is stored with the credentials for every later connection. A refused
/// certificate ends it with [`UplinkError::Certificate`] before the code
/// is sent: nothing is registered, the code is not spent.
pub async fn provision_pinned(
    store: &StoreHandle,
    base_url: &str,
    code: &str,
    configured_store: Option<String>,
    approval: Option<Approval>,
    pin: Option<CertificatePin>,
) -> Result<(), UplinkError> {
    // Checked before anything else: the code must not cross a network in
    // the clear, and head office's keys must not come back that way.
    check_head_office_url(base_url)?;
    if approval.is_none() && on_store(store, |s| Ok(s.credentials().is_some())).await? {
        return Err(UplinkError::Store(StoreError::AlreadyRegistered));
    }
    // A terminal that already signed member cards before registration
    // (enrollment at the door on day one) offers that card key as its key,
    // with the id those cards name, so head office can make them valid at
    // every terminal. Never the demo's key: its seed is public.
    // Keys by purpose: a fresh request-signing key always; the card key
    // apart from it (the one that already signed cards, or a fresh one).
    let local_key = on_store(store, |s| s.local_card_key(&[crate::demo::DEMO_CARD_SEED])).await?;
    let key = tillcard_protocol::auth::generate_signing_key();
    let (card_seed, card_key_id) = match local_key {
        Some((id, seed)) => (seed, Some(id)),
        None => (
            tillcard_protocol::auth::generate_signing_key().to_bytes(),
            None,
        ),
    };
    let card_public = ed25519_dalek::SigningKey::from_bytes(&card_seed).verifying_key();
    let body = client::redeem_request_with_keys(
        code,
        &key,
        Some(&card_public),
        card_key_id,
        configured_store.as_deref(),
    )
    .map_err(|e| UplinkError::BadAnswer(e.to_string()))?;
    let http = http_client(None, pin)?;
    let answer = send(
        &http,
        base_url,
        SignedRequest {
            method: "POST",
            path_and_query: client::REDEEM_PATH.to_string(),
            headers: Vec::new(),
            body,
        },
    )
    .await?;
    let provisioned =
        client::decode_provisioned(&answer).map_err(|e| UplinkError::BadAnswer(e.to_string()))?;
    on_store(store, move |s| {
        s.provision_with_card_key(key, Some(card_seed), &provisioned, approval.as_ref(), pin)
    })
    .await?;
    tracing::info!(pinned = pin.is_some(), "provisioned with head office");
    Ok(())
}

/// A clerk head office set up chooses their PIN with the setup code head
/// office showed: the PIN is hashed here (Argon2id), the hash sealed to
/// head office, and head office's answer (the clerk, the hash sealed back
/// to this terminal) applied at once. Then the clerk signs in with it.
pub async fn set_pin(
    store: &StoreHandle,
    base_url: &str,
    staff_id: String,
    setup_code: String,
    pin: String,
    unix_now: i64,
) -> Result<Clerk, UplinkError> {
    check_head_office_url(base_url)?;
    let (credentials, pin_hash, hq_pin) = {
        let pin = pin.clone();
        let staff_id = staff_id.clone();
        on_store(store, move |s| {
            let credentials = s.credentials().cloned().ok_or(StoreError::Damaged(
                "a PIN set-up before registration".into(),
            ))?;
            // A clerk not on this terminal yet is held to the stricter
            // (manager) policy.
            let role = match s.clerk_role(&staff_id) {
                Ok(role) => role,
                Err(StoreError::UnknownClerk) => crate::store::clerks::Role::Manager,
                Err(e) => return Err(e),
            };
            Ok((
                credentials,
                s.hash_new_pin(&pin, role)?,
                s.head_office_pin()?,
            ))
        })
        .await?
    };
    let request = credentials
        .set_pin_request(&staff_id, &setup_code, &pin_hash, unix_now)
        .map_err(|e| UplinkError::BadAnswer(e.to_string()))?;
    let answer = send(&http_client(None, hq_pin)?, base_url, request).await?;
    let staff: StaffSnapshot =
        wire::decode(&answer).map_err(|e| UplinkError::BadAnswer(e.to_string()))?;
    let clerk = on_store(store, move |s| {
        s.apply_staff(&staff)?;
        s.login(&staff_id, &pin)
    })
    .await?;
    tracing::info!(staff = %clerk.id(), "PIN set with a setup code");
    Ok(clerk)
}
