//! An upload: a terminal's batch of outbox events, its epoch and audit
//! chain since head office's head, and head office's ack.

use serde::{Deserialize, Serialize};

use super::*;

/// `POST /v1/batches` request body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UploadBatch {
    /// [`PROTOCOL_VERSION`].
    #[cfg_attr(feature = "schema", schemars(range(min = PROTOCOL_VERSION, max = PROTOCOL_VERSION)))]
    pub protocol_version: u16,
    /// The uploading terminal (must match the signing terminal).
    pub terminal_id: TerminalId,
    /// Events in ascending `seq` order.
    #[cfg_attr(feature = "schema", schemars(length(max = MAX_BATCH_EVENTS)))]
    pub events: Vec<OutboxEvent>,
    /// Highest sequence number in the terminal's outbox when the batch was
    /// built (optional; older terminals omit it). Head office reports
    /// `outbox_head_seq - acked_seq` as the terminal's pending events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(range(max = MAX_SEQ)))]
    pub outbox_head_seq: Option<u64>,
    /// The version of the terminal's software, such as `0.4.0` or
    /// `0.4.0+g1a2b3c` (optional; older terminals omit it): 1 to 32
    /// characters of `0-9 A-Z a-z . + -`, else head office refuses the
    /// batch. Head office keeps the latest one per terminal and lists it
    /// with the terminals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "schema",
        schemars(length(min = 1, max = MAX_APP_VERSION_CHARS), pattern(APP_VERSION_PATTERN))
    )]
    pub app_version: Option<String>,
    /// The terminal's audit chain as it stands when the batch is built
    /// (optional; older terminals omit it): head office compares it with
    /// the head it acknowledged last and flags a terminal whose audit was
    /// rewritten or truncated (PROTOCOL.md, "The audit chain").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<UploadAudit>,
    /// The outbox epoch the terminal numbers its events in (optional;
    /// terminals that predate it omit it and are never renumbered): epoch 0
    /// from seq 1 until the terminal finds head office holding more of it
    /// than its store does (a store rolled back) and renumbers its waiting
    /// events above what head office holds (PROTOCOL.md, "A terminal rolled
    /// back").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<OutboxEpoch>,
}

/// A terminal's outbox epoch: the `n`th numbering of its events, whose
/// sequence numbers start at `first_seq` (epoch 0 starts at 1). A terminal
/// opens epoch `n + 1` when it learns its store was rolled back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OutboxEpoch {
    /// The epoch's number, from 0.
    #[cfg_attr(feature = "schema", schemars(range(max = MAX_SEQ)))]
    pub n: u64,
    /// Its first sequence number: above everything head office held of
    /// the terminal when the epoch was opened.
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_SEQ)))]
    pub first_seq: u64,
}

impl OutboxEpoch {
    /// Epoch 0: the numbering every terminal starts with.
    pub const FIRST: OutboxEpoch = OutboxEpoch { n: 0, first_seq: 1 };
}

/// Most links of the audit chain one batch carries
/// ([`UploadAudit::links`]). A terminal with more rows since the head head
/// office acknowledged sends the oldest ones, and the rest with its next
/// batches.
pub const MAX_AUDIT_LINKS: usize = 256;

/// A terminal's audit chain in an upload batch: the links from the head
/// head office acknowledged last, each recomputed by the terminal from its
/// rows' content when the batch is built (so a row rewritten in the
/// database gives another link than the one head office holds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UploadAudit {
    /// The links in ascending `n`, from the head head office acknowledged
    /// last (from row 1 when none was) onward, at most
    /// [`MAX_AUDIT_LINKS`]; empty when the terminal has no row there.
    #[cfg_attr(feature = "schema", schemars(length(max = MAX_AUDIT_LINKS)))]
    pub links: Vec<AuditLink>,
    /// The newest row of the terminal's audit chain (0: none).
    #[cfg_attr(feature = "schema", schemars(range(max = MAX_SEQ)))]
    pub rows: u64,
    /// The first row where the terminal's own check of its chain fails (a
    /// row edited, removed or its stored link replaced), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_SEQ)))]
    pub broken_at: Option<u64>,
}

/// One link of the audit chain: row `n`'s HMAC-SHA256 under the terminal's
/// audit key, which covers the link before it and the row's fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AuditLink {
    /// The row's number in the chain, from 1.
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = MAX_SEQ)))]
    pub n: u64,
    /// The link (32 bytes, standard base64 with padding).
    #[cfg_attr(feature = "schema", schemars(length(min = 44, max = 44)))]
    pub mac: String,
}

/// `POST /v1/batches` response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UploadAck {
    /// Highest sequence number such that head office has durably stored
    /// every event 1..=acked_seq of this terminal. The terminal may delete
    /// those from its outbox and resumes uploading at `acked_seq + 1`.
    pub acked_seq: u64,
    /// Events of this batch applied now.
    pub applied: u32,
    /// Events of this batch already stored before (identical content).
    pub duplicates: u32,
    /// Events of this batch dead-lettered now (stored, not applied).
    pub dead_lettered: u32,
    /// The highest sequence number head office holds of this terminal,
    /// acknowledged or not (optional; head offices that predate it omit
    /// it). Above anything the terminal issued: the terminal's store was
    /// rolled back, and it renumbers (PROTOCOL.md, "A terminal rolled
    /// back").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_seq: Option<u64>,
}
