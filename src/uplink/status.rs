//! What the uplink tells the status strip, and why a round failed: the
//! failure as a type (`UplinkError`) and as the kind the counter words in
//! the clerk's language (`UplinkProblem`).

use tillcard_protocol::refusal::RefusalClass;
use tillcard_rules::Timestamp;

use super::pinning::CertificateProblem;
use crate::config::AddressProblem;
use crate::store::StoreError;

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
    pub(super) fn is_skew_refusal(&self) -> bool {
        matches!(self, UplinkError::Refused { code, .. }
            if code == tillcard_protocol::server_clock::SKEW_REFUSAL)
    }

    pub(super) fn is_refusal(&self) -> bool {
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
