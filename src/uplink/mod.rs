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

mod http;
pub mod pinning;
mod register;
mod status;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tillcard_protocol::client::{self, SignedRequest, TerminalCredentials};
use tillcard_protocol::enrollment::CertificatePin;
use tillcard_protocol::refusal::RefusalClass;
use tillcard_protocol::wire;
use tillcard_rules::MemberId;
use tokio::sync::watch;

use crate::clock::Clock;
use crate::config::check_head_office_url;
use crate::saved_files::SavedFiles;
use crate::store::StoreError;
use crate::store::handle::StoreHandle;
pub use http::send;
use http::{exchange, http_client};
pub use pinning::CertificateProblem;
pub use register::{provision, provision_pinned, set_pin};
pub use status::{UplinkError, UplinkProblem, UplinkStatus};

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

    /// Fetches a member this terminal does not hold from head office (a
    /// card from another store scanned while online) and applies them;
    /// from then on the downlink keeps them current here. `Ok(false)`:
    /// head office does not know the member (yet), or the downlink had
    /// already brought them.
    pub async fn fetch_member(&self, member: MemberId) -> Result<bool, UplinkError> {
        let creds = self.credentials().await?;
        let request = creds.member_request(member, self.clock.now().timestamp());
        let body = match self.send(request).await {
            Ok(body) => body,
            Err(UplinkError::Refused { status: 404, .. }) => return Ok(false),
            Err(e) => return Err(e),
        };
        let change =
            client::decode_change(&body).map_err(|e| UplinkError::BadAnswer(e.to_string()))?;
        Ok(on_store(&self.store, move |s| s.apply_fetched(change)).await?)
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
