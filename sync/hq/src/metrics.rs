//! Head office's Prometheus metrics (`GET /metrics`, OpenMetrics text, which
//! Prometheus scrapes natively). One [`Metrics`] per [`crate::service::Hq`]:
//! the registry is a value, not a process global, so several head offices
//! (tests) in one process never mix their counters.
//!
//! Labels carry routes (templates, not raw paths), status codes, event
//! outcomes, conflict kinds, terminal ids and store codes: never member data.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::figures::TerminalRow;

/// Content type of the scrape.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// HTTP request labels.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// Method.
    pub method: String,
    /// Route template (`/v1/admin/terminals/{terminal_id}/revoke`), or
    /// `unmatched`.
    pub route: String,
    /// Status code.
    pub status: String,
}

/// Event outcome labels.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// `applied`, `duplicate` or `dead_lettered`.
    pub outcome: String,
}

/// Conflict labels.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// Conflict kind.
    pub kind: String,
}

/// Refusal labels.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabels {
    /// The error code sent (`bad_signature`, `unknown_terminal`...).
    pub code: String,
}

/// Sign-in throttle labels.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ScopeLabels {
    /// `address`, `overall` or `user`: which limit refused.
    pub scope: String,
}

/// Terminal labels.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TerminalLabels {
    /// Terminal id.
    pub terminal: String,
    /// Store code.
    pub store: String,
}

/// Every metric head office exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// `tillcard_hq_http_requests_total{method,route,status}`.
    pub http_requests: Family<HttpLabels, Counter>,
    /// `tillcard_hq_batches_ingested_total`: batches applied (acked).
    pub batches: Counter,
    /// `tillcard_hq_events_ingested_total{outcome}`.
    pub events: Family<OutcomeLabels, Counter>,
    /// `tillcard_hq_dead_letters_total`.
    pub dead_letters: Counter,
    /// `tillcard_hq_conflicts_total{kind}`.
    pub conflicts: Family<KindLabels, Counter>,
    /// `tillcard_hq_refusals_total{code}`: 4xx answers by error code.
    pub refusals: Family<CodeLabels, Counter>,
    /// `tillcard_hq_ingest_seconds`: time to apply one batch (decode,
    /// plan, one transaction).
    pub ingest_seconds: Histogram,
    /// `tillcard_hq_bad_signatures_total`: requests refused
    /// `bad_signature` (every one, flagged or not).
    pub bad_signatures: Counter,
    /// `tillcard_hq_bad_signature_flags_suppressed_total`: bad signatures
    /// that raised no flag, their terminal flagged within the interval.
    pub bad_signature_flags_suppressed: Counter,
    /// `tillcard_hq_audit_flags_total{kind}`: terminals flagged by their
    /// audit chain (`audit_rewritten`, `audit_truncated`).
    pub audit_flags: Family<KindLabels, Counter>,
    /// `tillcard_hq_sign_ins_throttled_total{scope}`: sign-ins refused
    /// unchecked (429).
    pub sign_ins_throttled: Family<ScopeLabels, Counter>,
    /// `tillcard_hq_downlink_members_cached_total`: members a downlink
    /// page sent from the fold another page had read (issue 23).
    pub downlink_members_cached: Counter,
    /// `tillcard_hq_downlink_members_read_total`: members a downlink page
    /// read from the store and folded.
    pub downlink_members_read: Counter,
    /// `tillcard_hq_downlink_members_deferred_total`: members a downlink
    /// page left out because a later page sends them.
    pub downlink_members_deferred: Counter,
    /// `tillcard_hq_downlink_signatures_total`: signatures head office made
    /// for the downlink (chain-wide changes once, staff per terminal).
    pub downlink_signatures: Counter,
    /// `tillcard_hq_downlink_polls_cached_total`: polls answered "nothing
    /// new" from the node's reading of the logs' ends (`poll_cache`),
    /// without the database.
    pub downlink_polls_cached: Counter,
    /// `tillcard_hq_downlink_members_fetched_total`: members terminals
    /// fetched on demand (a card from another store scanned online).
    pub downlink_members_fetched: Counter,
    /// `tillcard_hq_uploads_busy_total`: uploads refused `503 busy`
    /// (no turn to ingest within the wait).
    pub uploads_busy: Counter,
    /// `tillcard_hq_terminal_acked_seq{terminal,store}`.
    pub terminal_acked_seq: Family<TerminalLabels, Gauge>,
    /// `tillcard_hq_terminal_pending_events{terminal,store}` (as of the
    /// terminal's last batch; only terminals that report their outbox head).
    pub terminal_pending: Family<TerminalLabels, Gauge>,
    /// `tillcard_hq_terminal_lag_seconds{terminal,store}`: since the last
    /// batch received.
    pub terminal_lag_seconds: Family<TerminalLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric at zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("tillcard_hq");
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            http_requests.clone(),
        );
        let batches = Counter::default();
        registry.register(
            "batches_ingested",
            "Upload batches applied",
            batches.clone(),
        );
        let events = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "events_ingested",
            "Uploaded events by outcome",
            events.clone(),
        );
        let dead_letters = Counter::default();
        registry.register("dead_letters", "Events dead-lettered", dead_letters.clone());
        let conflicts = Family::<KindLabels, Counter>::default();
        registry.register(
            "conflicts",
            "Conflicts recorded for review",
            conflicts.clone(),
        );
        let refusals = Family::<CodeLabels, Counter>::default();
        registry.register(
            "refusals",
            "Requests refused (4xx) by error code",
            refusals.clone(),
        );
        // 1 ms to about 16 s.
        let ingest_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 15));
        registry.register(
            "ingest_seconds",
            "Time to apply one upload batch",
            ingest_seconds.clone(),
        );
        let bad_signatures = Counter::default();
        registry.register(
            "bad_signatures",
            "Requests refused because their signature did not verify",
            bad_signatures.clone(),
        );
        let bad_signature_flags_suppressed = Counter::default();
        registry.register(
            "bad_signature_flags_suppressed",
            "Bad signatures that raised no flag (their terminal was flagged recently)",
            bad_signature_flags_suppressed.clone(),
        );
        let audit_flags = Family::<KindLabels, Counter>::default();
        registry.register(
            "audit_flags",
            "Terminals flagged by their audit chain, by kind (audit_rewritten, audit_truncated)",
            audit_flags.clone(),
        );
        let sign_ins_throttled = Family::<ScopeLabels, Counter>::default();
        registry.register(
            "sign_ins_throttled",
            "Sign-ins refused unchecked by the throttle, by scope",
            sign_ins_throttled.clone(),
        );
        let downlink_members_cached = Counter::default();
        registry.register(
            "downlink_members_cached",
            "Members a downlink page sent from a fold read for an earlier page",
            downlink_members_cached.clone(),
        );
        let uploads_busy = Counter::default();
        registry.register(
            "uploads_busy",
            "Uploads refused busy: no turn to ingest within the wait",
            uploads_busy.clone(),
        );
        let downlink_members_deferred = Counter::default();
        registry.register(
            "downlink_members_deferred",
            "Members a downlink page left out because a later page sends them",
            downlink_members_deferred.clone(),
        );
        let downlink_members_fetched = Counter::default();
        registry.register(
            "downlink_members_fetched",
            "Members terminals fetched on demand (a card from another store scanned online)",
            downlink_members_fetched.clone(),
        );
        let downlink_signatures = Counter::default();
        registry.register(
            "downlink_signatures",
            "Signatures made for the downlink's trust changes (chain-wide ones once, staff per terminal)",
            downlink_signatures.clone(),
        );
        let downlink_polls_cached = Counter::default();
        registry.register(
            "downlink_polls_cached",
            "Polls answered nothing new from the node's reading of the logs' ends, without the database",
            downlink_polls_cached.clone(),
        );
        let downlink_members_read = Counter::default();
        registry.register(
            "downlink_members_read",
            "Members a downlink page read from the store and folded",
            downlink_members_read.clone(),
        );
        let terminal_acked_seq = Family::<TerminalLabels, Gauge>::default();
        registry.register(
            "terminal_acked_seq",
            "Highest contiguous event sequence head office holds per terminal",
            terminal_acked_seq.clone(),
        );
        let terminal_pending = Family::<TerminalLabels, Gauge>::default();
        registry.register(
            "terminal_pending_events",
            "Events waiting at the terminal as of its last batch",
            terminal_pending.clone(),
        );
        let terminal_lag_seconds = Family::<TerminalLabels, Gauge>::default();
        registry.register(
            "terminal_lag_seconds",
            "Seconds since the terminal's last batch",
            terminal_lag_seconds.clone(),
        );
        Metrics {
            registry,
            http_requests,
            batches,
            events,
            dead_letters,
            conflicts,
            refusals,
            ingest_seconds,
            bad_signatures,
            bad_signature_flags_suppressed,
            audit_flags,
            sign_ins_throttled,
            downlink_members_cached,
            downlink_members_deferred,
            downlink_members_fetched,
            downlink_signatures,
            downlink_polls_cached,
            uploads_busy,
            downlink_members_read,
            terminal_acked_seq,
            terminal_pending,
            terminal_lag_seconds,
        }
    }

    /// Sets the per-terminal gauges from the store's terminal rows (done at
    /// each scrape, so they are right after a restart too).
    pub fn set_terminals(&self, terminals: &[TerminalRow], now_ms: i64) {
        self.terminal_acked_seq.clear();
        self.terminal_pending.clear();
        self.terminal_lag_seconds.clear();
        for t in terminals {
            let labels = TerminalLabels {
                terminal: t.terminal_id.to_string(),
                store: t.store.clone(),
            };
            self.terminal_acked_seq
                .get_or_create(&labels)
                .set(i64::try_from(t.acked_seq).unwrap_or(i64::MAX));
            if let Some(head) = t.outbox_head_seq {
                self.terminal_pending
                    .get_or_create(&labels)
                    .set(i64::try_from(head.saturating_sub(t.acked_seq)).unwrap_or(i64::MAX));
            }
            if let Some(last) = t.last_batch_at_ms {
                self.terminal_lag_seconds
                    .get_or_create(&labels)
                    .set((now_ms - last).max(0) / 1000);
            }
        }
    }

    /// Counts an upload refused `503 busy`.
    pub fn count_busy_upload(&self) {
        self.uploads_busy.inc();
    }

    /// Counts a sign-in the throttle refused (`address`, `overall`, `user`).
    pub fn count_throttled_sign_in(&self, scope: &str) {
        self.sign_ins_throttled
            .get_or_create(&ScopeLabels {
                scope: scope.to_owned(),
            })
            .inc();
    }

    /// The scrape body.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}
