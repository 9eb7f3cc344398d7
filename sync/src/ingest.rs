//! How head office applies an upload batch, as pure functions: read the
//! request body ([`ReceivedBatch`]), decode and validate each event
//! ([`prepare`]), then decide every write ([`plan`]) from what the database
//! already holds ([`Loaded`]). Both storage backends load the same
//! [`Loaded`], call [`plan`] and write the [`Plan`] in one transaction, so
//! SQLite and PostgreSQL behave identically.
//!
//! Reading is the CPU-heavy part of an upload, and it happens before the
//! transaction starts. Each event body is read from the request's bytes
//! once to hash it (see [`canonical_body`]) and once into its typed
//! [`EventBody`], never through an intermediate JSON tree unless the body
//! is not in canonical form.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write as _;

use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use tillcard_rules::MemberAccount;
use tillcard_rules::ids::{LotId, MemberId, SourceId, Timestamp};
use tillcard_rules::ledger::{EntryKind, LedgerEntry};
use tillcard_rules::pricing::MonthDay;
use tillcard_rules::refund::RefundLine;
use uuid::Uuid;

use crate::auth;
use crate::protocol::{self, Envelope, EventBody, SCHEMA_VERSION, TerminalId};

mod canonical;
mod validate;
pub use canonical::canonical_body;
pub use validate::{Poison, PoisonCode, validate, validate_envelope, withhold_quoted};

/// Two scans of one member at different stores closer than this are flagged.
pub const TWO_STORES_WINDOW_MINUTES: i64 = 30;

/// How many action ids a member's cached fold at head office keeps: the
/// greatest (action ids are UUIDv7, so the newest). The full set (every
/// action the member ever booked) grew the fold by 38 bytes an action,
/// read and rewritten by every batch that touched the member; it only
/// serves to refuse an action booked twice, and a batch's actions are
/// nearly always newer than the member's last few. See
/// [`trim_cached_fold`] and [`cached_fold_suffices`].
pub const CACHED_SOURCES: usize = 32;

/// Trims a fold to cache. Head office's cached fold is a planning cache
/// (the ledger stays the truth; jobs and member snapshots refold it): it
/// keeps what planning a batch and the figures read (tier, stored value,
/// coupons, flags, purchases, points lots) but only the [`CACHED_SOURCES`]
/// greatest action ids, no spend records or daily use (one of each per
/// sale or per day, read by neither), and no points lot that is used up
/// and older than the oldest action id kept.
///
/// A set of action ids trimmed this way holds every action id of the
/// member's ledger greater than its smallest, and a set shorter than that
/// is whole (nothing was trimmed, no lot dropped): folding more entries on
/// and trimming again keeps both true.
pub fn trim_cached_fold(account: &mut MemberAccount) {
    while account.sources.len() > CACHED_SOURCES {
        account.sources.pop_first();
    }
    account.spend.clear();
    account.daily.clear();
    if account.sources.len() >= CACHED_SOURCES
        && let Some(&oldest) = account.sources.first()
    {
        account
            .lots
            .retain(|lot| lot.remaining != 0 || lot.lot.0 >= oldest);
    }
}

/// Points lots an entry names.
fn lots_named(kind: &EntryKind) -> Vec<LotId> {
    match kind {
        EntryKind::PointsEarned { lot, .. } | EntryKind::PointsExpired { lot, .. } => vec![*lot],
        EntryKind::PointsRedeemed { draws }
        | EntryKind::PointsReturned { draws }
        | EntryKind::PointsReversed { draws } => draws.iter().map(|d| d.lot).collect(),
        _ => Vec::new(),
    }
}

/// Whether a cached (trimmed) fold can plan the batch's entries for its
/// member: say whether each action was booked before, and hold every
/// points lot they name that the member's ledger has. When it cannot (an
/// action id or a lot below the smallest action id kept: an upload from a
/// terminal long offline, a refund of an old sale, a replay of an old
/// action), the fold is rebuilt from the ledger for this batch.
pub fn cached_fold_suffices(cached: &MemberAccount, prepared: &Prepared) -> bool {
    if cached.sources.len() < CACHED_SOURCES {
        return true;
    }
    let Some(&smallest) = cached.sources.first() else {
        return true;
    };
    let known_lot = |lot: &LotId| lot.0 >= smallest || cached.lots.iter().any(|l| l.lot == *lot);
    prepared
        .events
        .iter()
        .filter_map(|e| e.body.as_ref().ok())
        .flat_map(EventBody::entries)
        .filter(|e| e.member == cached.member)
        .all(|e| e.source >= smallest && lots_named(&e.kind).iter().all(known_lot))
}

/// Head office's secrets needed to read events.
#[derive(Clone)]
pub struct IngestKeys {
    /// X25519 secret for sealed personal data.
    pub box_secret: [u8; 32],
    /// HMAC key for the chain-wide phone key (enrollment dedupe).
    pub phone_key: [u8; 32],
}

/// Personal data of an enrollment, opened at head office.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrollment {
    /// Masked name.
    pub masked_name: Option<String>,
    /// Masked phone.
    pub masked_phone: String,
    /// The phone (plain; stored only at head office, erased on request).
    pub phone: String,
    /// The name (plain), if given.
    pub name: Option<String>,
    /// Chain-wide phone key (HMAC under head office's key).
    pub phone_key: String,
    /// Birthday.
    pub birthday: Option<MonthDay>,
    /// Consent time (RFC 3339).
    pub consent_at: String,
    /// Referrer.
    pub referrer: Option<MemberId>,
}

/// One event after decoding and validation.
#[derive(Debug, Clone)]
pub struct PreparedEvent {
    /// Sequence number.
    pub seq: u64,
    /// Event id.
    pub event_id: Uuid,
    /// Content hash (dedupe and clone detection).
    pub hash: String,
    /// Wall time at the terminal.
    pub wall_time: Timestamp,
    /// Raw body JSON, kept only when the body is poison (for the dead letter).
    pub raw_body: Option<String>,
    /// The decoded body, or why it is poison.
    pub body: Result<EventBody, Poison>,
    /// Opened enrollment data.
    pub enrollment: Option<Enrollment>,
}

/// A batch ready to plan.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Events, in the order sent.
    pub events: Vec<PreparedEvent>,
    /// The terminal's outbox head when it built the batch, if it said.
    pub outbox_head_seq: Option<u64>,
}

impl Prepared {
    /// Members the batch touches.
    pub fn member_ids(&self) -> BTreeSet<MemberId> {
        let mut ids = BTreeSet::new();
        for event in &self.events {
            if let Ok(body) = &event.body {
                ids.extend(body.member());
                ids.extend(body.entries().iter().map(|e| e.member));
            }
        }
        ids
    }

    /// Chain-wide phone keys of the batch's enrollments.
    pub fn phone_keys(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| e.enrollment.as_ref().map(|n| n.phone_key.clone()))
            .collect()
    }

    /// Sequence numbers in the batch.
    pub fn seqs(&self) -> Vec<u64> {
        self.events.iter().map(|e| e.seq).collect()
    }
}

/// Why a batch as a whole is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchRefusal {
    /// Malformed batch (wrong terminal, unordered or duplicate seqs, seq 0).
    #[error("{0}")]
    Malformed(String),
    /// A sequence number already stored with different content: a cloned
    /// terminal or a terminal whose store was restored wrongly.
    #[error("sequence {seq} already stored with different content")]
    SequenceConflict {
        /// The sequence number.
        seq: u64,
    },
}

/// An upload batch as head office reads it: the JSON of
/// [`crate::protocol::UploadBatch`], with each event's envelope decoded and
/// its body kept as the JSON text sent (borrowed from the request body).
#[derive(Debug, Deserialize)]
pub struct ReceivedBatch<'a> {
    /// [`crate::protocol::PROTOCOL_VERSION`].
    pub protocol_version: u16,
    /// The uploading terminal.
    pub terminal_id: TerminalId,
    /// Events in the order sent.
    #[serde(borrow)]
    pub events: Vec<ReceivedEvent<'a>>,
    /// The terminal's outbox head, if it said.
    #[serde(default)]
    pub outbox_head_seq: Option<u64>,
}

/// One event of a [`ReceivedBatch`]: the fields of
/// [`crate::protocol::OutboxEvent`], its body left undecoded.
#[derive(Debug, Deserialize)]
pub struct ReceivedEvent<'a> {
    /// Event id.
    pub event_id: Uuid,
    /// The terminal that wrote it.
    pub terminal_id: TerminalId,
    /// Sequence number.
    pub seq: u64,
    /// Terminal's wall clock.
    #[serde(with = "tillcard_rules::timestamp")]
    pub wall_time: Timestamp,
    /// Terminal's monotonic clock reading.
    pub monotonic_ms: u64,
    /// Schema version of the body.
    pub schema_version: u16,
    /// The body as sent.
    #[serde(borrow)]
    pub body: &'a RawValue,
}

/// Gunzips a request body (at most [`protocol::MAX_BODY_BYTES`]), as
/// [`protocol::decode`] does, leaving the JSON to [`ReceivedBatch::from_json`].
pub fn gunzip(body: &[u8]) -> Result<Vec<u8>, protocol::ProtocolError> {
    protocol::gunzip(body)
}

impl ReceivedBatch<'_> {
    /// Reads a batch from a decompressed request body (JSON).
    pub fn from_json(json: &[u8]) -> Result<ReceivedBatch<'_>, protocol::ProtocolError> {
        // One UTF-8 check over the whole body is cheaper than serde_json's
        // check of each string as it reads it from bytes.
        let text = std::str::from_utf8(json).map_err(|e| {
            protocol::ProtocolError::Decode(format!("request body is not UTF-8: {e}"))
        })?;
        serde_json::from_str(text).map_err(|e| protocol::ProtocolError::Decode(e.to_string()))
    }
}

impl ReceivedEvent<'_> {
    /// The event's envelope.
    pub fn envelope(&self) -> Envelope {
        Envelope {
            event_id: self.event_id,
            terminal_id: self.terminal_id,
            seq: self.seq,
            wall_time: self.wall_time,
            monotonic_ms: self.monotonic_ms,
            schema_version: self.schema_version,
        }
    }
}

/// SHA-256 over the event's canonical JSON, the same value as
/// [`crate::protocol::OutboxEvent::content_hash`] of the event as sent:
/// envelope fields in declaration order, then `body` in canonical form.
/// `buffer` is scratch space; on return it holds that canonical JSON, and
/// the body's part of it is `buffer[range]`. Also returns the body as a
/// tree when [`canonical_body`] had to build one.
fn hash_event(
    event: &ReceivedEvent<'_>,
    buffer: &mut Vec<u8>,
) -> Result<(String, std::ops::Range<usize>, Option<serde_json::Value>), String> {
    buffer.clear();
    canonical::write_envelope(buffer, &event.envelope()).map_err(|e| e.to_string())?;
    // `{...envelope...}` becomes `{...envelope...,"body":<body>}`.
    buffer.pop();
    buffer.extend_from_slice(b",\"body\":");
    let start = buffer.len();
    let tree = canonical_body(event.body.get(), buffer)?;
    let end = buffer.len();
    buffer.push(b'}');
    let mut hasher = Sha256::new();
    hasher.write_all(buffer).map_err(|e| e.to_string())?;
    // Lower-case hex, as protocol::hex writes it (without a format call per byte).
    Ok((format!("{:x}", hasher.finalize()), start..end, tree))
}

/// Why a body does not decode, worded the same whether it was read from
/// text or from a tree (serde_json adds a position only for text).
fn decode_reason(e: serde_json::Error) -> String {
    let text = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    let text = match text.strip_suffix(&position) {
        Some(stripped) if e.line() > 0 => stripped.to_string(),
        _ => text,
    };
    protocol::ProtocolError::Decode(text).to_string()
}

/// Decodes and validates every event of a batch. Poison events are kept
/// with their reason; only a malformed batch is refused as a whole.
pub fn prepare(
    batch: &ReceivedBatch<'_>,
    terminal: TerminalId,
    keys: &IngestKeys,
) -> Result<Prepared, BatchRefusal> {
    if batch.terminal_id != terminal {
        return Err(BatchRefusal::Malformed(
            "batch terminal_id differs from the signing terminal".into(),
        ));
    }
    if let Some(head) = batch.outbox_head_seq
        && head > protocol::MAX_SEQ
    {
        return Err(BatchRefusal::Malformed(format!(
            "outbox_head_seq {head} is above the largest sequence number, {}",
            protocol::MAX_SEQ
        )));
    }
    let mut seen = BTreeSet::new();
    let mut events = Vec::with_capacity(batch.events.len());
    let mut buffer = Vec::with_capacity(4096);
    for event in &batch.events {
        let seq = event.seq;
        if seq == 0 || !seen.insert(seq) {
            return Err(BatchRefusal::Malformed(format!(
                "sequence {seq} is zero or repeated within the batch"
            )));
        }
        if seq > protocol::MAX_SEQ {
            return Err(BatchRefusal::Malformed(format!(
                "sequence {seq} is above the largest sequence number, {}",
                protocol::MAX_SEQ
            )));
        }
        if event.terminal_id != terminal {
            return Err(BatchRefusal::Malformed(format!(
                "event {seq} names another terminal"
            )));
        }
        events.push(prepare_event(event, keys, &mut buffer)?);
    }
    Ok(Prepared {
        events,
        outbox_head_seq: batch.outbox_head_seq,
    })
}

fn prepare_event(
    event: &ReceivedEvent<'_>,
    keys: &IngestKeys,
    buffer: &mut Vec<u8>,
) -> Result<PreparedEvent, BatchRefusal> {
    // The body was read as valid JSON with the batch, so only a failure to
    // write into memory could stop the hash: refuse the batch then.
    let (hash, body_range, tree) = hash_event(event, buffer).map_err(BatchRefusal::Malformed)?;
    let mut enrollment = None;
    let body = if event.schema_version != SCHEMA_VERSION {
        Err(Poison::new(
            PoisonCode::UnsupportedSchema,
            format!(
                "schema_version {} is not one head office reads (it reads {SCHEMA_VERSION})",
                event.schema_version
            ),
        ))
    } else if let Err(poison) = validate_envelope(&event.envelope()) {
        Err(poison)
    } else {
        // The typed body from the text sent when it was canonical; from the
        // tree otherwise (which had repeated keys resolved as before).
        match &tree {
            None => serde_json::from_str::<EventBody>(event.body.get()),
            Some(tree) => EventBody::deserialize(tree),
        }
        .map_err(|e| Poison::new(PoisonCode::Undecodable, decode_reason(e)))
        .and_then(|body| validate(&body).map(|()| body))
        .and_then(|body| {
            if let EventBody::MemberEnrolled {
                masked_name,
                masked_phone,
                phone_sealed,
                name_sealed,
                birthday,
                consent,
                referrer,
                ..
            } = &body
            {
                let phone = auth::open_sealed(&keys.box_secret, phone_sealed).map_err(|_| {
                    Poison::new(
                        PoisonCode::Sealed,
                        "phone_sealed does not open with head office's key",
                    )
                })?;
                if !auth::is_phone(&phone) {
                    return Err(Poison::new(
                        PoisonCode::Invalid,
                        "the sealed phone is not a phone number: 7 to 20 ASCII digits, optionally grouped by spaces or dashes",
                    ));
                }
                let name = match name_sealed {
                    Some(sealed) => {
                        Some(auth::open_sealed(&keys.box_secret, sealed).map_err(|_| {
                            Poison::new(
                                PoisonCode::Sealed,
                                "name_sealed does not open with head office's key",
                            )
                        })?)
                    }
                    None => None,
                };
                enrollment = Some(Enrollment {
                    masked_name: masked_name.clone(),
                    masked_phone: masked_phone.clone(),
                    phone_key: auth::phone_lookup(&keys.phone_key, &phone),
                    phone,
                    name,
                    birthday: *birthday,
                    consent_at: consent.at.to_rfc3339(),
                    referrer: *referrer,
                });
            }
            Ok(body)
        })
    };
    // A poison body is kept for review as its canonical JSON.
    let raw_body = body
        .is_err()
        .then(|| String::from_utf8_lossy(&buffer[body_range]).into_owned());
    Ok(PreparedEvent {
        seq: event.seq,
        event_id: event.event_id,
        hash,
        wall_time: event.wall_time,
        raw_body,
        body,
        enrollment,
    })
}

/// Where a member was last seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastSeen {
    /// Store.
    pub store: String,
    /// When (terminal wall time).
    pub at: Timestamp,
}

/// What the database holds that planning needs, loaded inside the batch's
/// transaction (after locking the terminal).
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// The terminal's ack before this batch.
    pub acked_seq: u64,
    /// Content hashes of already stored events with the batch's seqs.
    pub existing: HashMap<u64, String>,
    /// Seqs above `acked_seq` already stored (out-of-order uploads).
    pub stored_above_ack: BTreeSet<u64>,
    /// Current accounts of the batch's members (the cached fold, or folded
    /// from the ledger when there is no cache).
    pub accounts: HashMap<MemberId, MemberAccount>,
    /// Members that exist at head office.
    pub known_members: BTreeSet<MemberId>,
    /// Where each member was last seen.
    pub last_seen: HashMap<MemberId, LastSeen>,
    /// Owner of each chain-wide phone key in the batch.
    pub phone_owners: HashMap<String, MemberId>,
}

/// Stored status of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventStatus {
    /// Applied to the ledger.
    Applied,
    /// Dead-lettered.
    Dead,
}

impl EventStatus {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            EventStatus::Applied => "applied",
            EventStatus::Dead => "dead",
        }
    }
}

/// An event row to insert.
#[derive(Debug, Clone)]
pub struct EventRow {
    /// Seq.
    pub seq: u64,
    /// Event id.
    pub event_id: Uuid,
    /// Content hash.
    pub hash: String,
    /// Kind, or "undecodable".
    pub kind: &'static str,
    /// Status.
    pub status: EventStatus,
}

/// A dead letter to insert.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// Seq.
    pub seq: u64,
    /// Event id.
    pub event_id: Uuid,
    /// Why (stored as [`Poison::stored`]).
    pub reason: Poison,
    /// Raw body.
    pub body: String,
}

/// A conflict for review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Member concerned.
    pub member: MemberId,
    /// Kind: `negative_balance`, `coupon_used_twice`, `seen_at_two_stores`,
    /// `duplicate_phone`.
    pub kind: String,
    /// Reason in words (no personal data).
    pub reason: String,
    /// Event that raised it.
    pub seq: u64,
}

/// A member row to create or update.
#[derive(Debug, Clone)]
pub struct MemberWrite {
    /// The member.
    pub member: MemberId,
    /// Enrollment data, if this is the enrollment.
    pub enrollment: Option<Enrollment>,
    /// Existing member this one duplicates (same phone), if any.
    pub duplicate_of: Option<MemberId>,
    /// Last seen.
    pub last_seen: Option<LastSeen>,
    /// When the member enrolled (the enrollment event's wall time), if this
    /// batch carries the enrollment.
    pub enrolled_at: Option<Timestamp>,
}

/// A sale as head office keeps it for the figures (walk-in sales too, which
/// have no ledger entries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleFact {
    /// The sale (the quote's id).
    pub sale: SourceId,
    /// Event seq.
    pub seq: u64,
    /// The member, `None` for a walk-in sale.
    pub member: Option<MemberId>,
    /// The terminal's wall time of the event.
    pub at: Timestamp,
    /// Order total after discounts (Σ line nets), fen.
    pub total_fen: i64,
    /// Per line: (quantity, net fen), for valuing refunds of part of it.
    pub lines: Vec<(i64, i64)>,
}

/// A refund as head office keeps it for the figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundFact {
    /// The refund action.
    pub refund: SourceId,
    /// The sale refunded.
    pub sale: SourceId,
    /// Event seq.
    pub seq: u64,
    /// The terminal's wall time of the event.
    pub at: Timestamp,
    /// Lines and quantities refunded.
    pub lines: Vec<RefundLine>,
}

/// Every write a batch makes.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Events to store.
    pub events: Vec<EventRow>,
    /// Ledger entries to append, with the seq of their event.
    pub ledger: Vec<(u64, LedgerEntry)>,
    /// Dead letters.
    pub dead: Vec<DeadLetter>,
    /// Conflicts.
    pub conflicts: Vec<Conflict>,
    /// Member rows.
    pub members: BTreeMap<MemberId, MemberWrite>,
    /// Members erased by request at the terminal.
    pub erasures: Vec<MemberId>,
    /// Members' accounts after the batch, for those whose ledger changed
    /// (stored beside the ledger as a cache of its fold).
    pub accounts: BTreeMap<MemberId, MemberAccount>,
    /// The new ack.
    pub acked_seq: u64,
    /// Events applied now.
    pub applied: u32,
    /// Events already stored.
    pub duplicates: u32,
    /// Sales applied now (for the figures).
    pub sales: Vec<SaleFact>,
    /// Refunds applied now (for the figures).
    pub refunds: Vec<RefundFact>,
    /// The terminal's outbox head, if the batch said.
    pub outbox_head_seq: Option<u64>,
}

fn negative(account: &MemberAccount) -> Option<String> {
    // A lot awaiting its earning is not debt: its earning is on its way
    // (events out of order).
    let points: i128 = account
        .lots
        .iter()
        .filter(|l| !l.awaiting_earning)
        .map(|l| i128::from(l.remaining.min(0)))
        .sum();
    let sv = account.stored_value;
    let mut parts = Vec::new();
    if points < 0 {
        parts.push(format!("points {points}"));
    }
    if sv.principal.fen() < 0 || sv.bonus.fen() < 0 {
        parts.push(format!(
            "stored value principal {} fen, bonus {} fen",
            sv.principal.fen(),
            sv.bonus.fen()
        ));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// Decides every write of a batch. `store` is the uploading terminal's store.
pub fn plan(prepared: Prepared, loaded: Loaded, store: &str) -> Result<Plan, BatchRefusal> {
    let Loaded {
        acked_seq,
        existing,
        stored_above_ack,
        mut accounts,
        mut known_members,
        mut last_seen,
        mut phone_owners,
    } = loaded;
    // Sized up front: a batch's ledger entries are large, and growing the
    // vector by doubling copied them several times.
    let entries = prepared
        .events
        .iter()
        .filter_map(|e| e.body.as_ref().ok())
        .map(|body| body.entries().len())
        .sum();
    let mut out = Plan {
        outbox_head_seq: prepared.outbox_head_seq,
        events: Vec::with_capacity(prepared.events.len()),
        ledger: Vec::with_capacity(entries),
        ..Plan::default()
    };
    let mut stored: BTreeSet<u64> = stored_above_ack;
    for event in prepared.events {
        if let Some(hash) = existing.get(&event.seq) {
            if *hash != event.hash {
                return Err(BatchRefusal::SequenceConflict { seq: event.seq });
            }
            out.duplicates += 1;
            continue;
        }
        stored.insert(event.seq);
        let body = match event.body {
            Ok(body) => body,
            Err(reason) => {
                dead(
                    &mut out,
                    event.seq,
                    event.event_id,
                    event.hash,
                    reason,
                    event.raw_body.unwrap_or_default(),
                    "undecodable",
                );
                continue;
            }
        };
        // Rules checks that need history: an action booked twice, and
        // balances kept within bounds (checked whole before anything of
        // the event is folded, so a refused event changes nothing).
        if let Some(reason) = refused_by_history(&body, &accounts) {
            dead(
                &mut out,
                event.seq,
                event.event_id,
                event.hash,
                reason,
                serde_json::to_string(&body).unwrap_or_default(),
                body.kind(),
            );
            continue;
        }
        if let EventBody::MemberErased { member } = &body {
            out.erasures.push(*member);
        }
        if let (EventBody::MemberEnrolled { member, .. }, Some(enrollment)) =
            (&body, &event.enrollment)
        {
            let duplicate_of = phone_owners
                .get(&enrollment.phone_key)
                .copied()
                .filter(|m| m != member);
            if let Some(existing_member) = duplicate_of {
                out.conflicts.push(Conflict {
                    member: *member,
                    kind: "duplicate_phone".into(),
                    reason: format!(
                        "phone already enrolled as member {existing_member}; merged for review"
                    ),
                    seq: event.seq,
                });
            } else {
                phone_owners.insert(enrollment.phone_key.clone(), *member);
            }
            out.members.insert(
                *member,
                MemberWrite {
                    member: *member,
                    enrollment: Some(enrollment.clone()),
                    duplicate_of,
                    last_seen: None,
                    enrolled_at: Some(event.wall_time),
                },
            );
            known_members.insert(*member);
        }
        // Seen at two stores minutes apart.
        if let Some(member) = body.member() {
            if let Some(prev) = last_seen.get(&member)
                && prev.store != store
                && (event.wall_time - prev.at).num_minutes().abs() < TWO_STORES_WINDOW_MINUTES
            {
                out.conflicts.push(Conflict {
                    member,
                    kind: "seen_at_two_stores".into(),
                    reason: format!(
                        "seen at store {} and at store {store} {} minutes apart",
                        prev.store,
                        (event.wall_time - prev.at).num_minutes().abs()
                    ),
                    seq: event.seq,
                });
            }
            // Updated in place when the store is the same (nearly always):
            // no new copy of the store's name per event.
            let fresh = || LastSeen {
                store: store.to_string(),
                at: event.wall_time,
            };
            let seen_here = |seen: &mut LastSeen| {
                if seen.store == store {
                    seen.at = event.wall_time;
                } else {
                    *seen = fresh();
                }
            };
            last_seen
                .entry(member)
                .and_modify(|seen| seen_here(seen))
                .or_insert_with(fresh);
            let write = out.members.entry(member).or_insert(MemberWrite {
                member,
                enrollment: None,
                duplicate_of: None,
                last_seen: None,
                enrolled_at: None,
            });
            match write.last_seen.as_mut() {
                Some(seen) => seen_here(seen),
                None => write.last_seen = Some(fresh()),
            }
            known_members.insert(member);
        }
        // Balances gone negative are judged per event (all its entries), so
        // one overdrawing sale is one conflict naming everything overdrawn.
        let mut before: BTreeMap<MemberId, bool> = BTreeMap::new();
        for entry in body.entries() {
            let account = accounts
                .entry(entry.member)
                .or_insert_with(|| MemberAccount::new(entry.member));
            before
                .entry(entry.member)
                .or_insert_with(|| negative(account).is_some());
            if let EntryKind::CouponUsed { coupon } = &entry.kind
                && account.coupon_uses(*coupon) > 0
            {
                out.conflicts.push(Conflict {
                    member: entry.member,
                    kind: "coupon_used_twice".into(),
                    reason: format!("coupon {coupon} was already used"),
                    seq: event.seq,
                });
            }
            account.apply(entry);
            out.ledger.push((event.seq, entry.clone()));
        }
        for (member, was_negative) in before {
            if !was_negative && let Some(what) = accounts.get(&member).and_then(negative) {
                out.conflicts.push(Conflict {
                    member,
                    kind: "negative_balance".into(),
                    reason: format!("balance went negative: {what}"),
                    seq: event.seq,
                });
            }
        }
        match &body {
            EventBody::SaleBooked { quote, .. } => out.sales.push(SaleFact {
                sale: quote.id,
                seq: event.seq,
                member: quote.member,
                at: event.wall_time,
                total_fen: quote.total.fen(),
                lines: quote
                    .lines
                    .iter()
                    .map(|l| (l.item.quantity, l.net.fen()))
                    .collect(),
            }),
            EventBody::Refunded {
                sale,
                refund,
                lines,
                ..
            } => out.refunds.push(RefundFact {
                refund: *refund,
                sale: *sale,
                seq: event.seq,
                at: event.wall_time,
                lines: lines.clone(),
            }),
            _ => {}
        }
        out.events.push(EventRow {
            seq: event.seq,
            event_id: event.event_id,
            hash: event.hash,
            kind: body.kind(),
            status: EventStatus::Applied,
        });
        out.applied += 1;
    }
    // Each changed member's account once (moved, not cloned per entry),
    // trimmed to cache.
    for (_, entry) in &out.ledger {
        if !out.accounts.contains_key(&entry.member)
            && let Some(mut account) = accounts.remove(&entry.member)
        {
            trim_cached_fold(&mut account);
            out.accounts.insert(entry.member, account);
        }
    }
    let mut ack = acked_seq;
    while stored.contains(&(ack + 1)) || existing.contains_key(&(ack + 1)) {
        ack += 1;
    }
    out.acked_seq = ack;
    Ok(out)
}

/// Why an event that passed [`validate`] still cannot be applied to the
/// accounts as they stand: one of its actions is already booked, or it
/// would take a balance out of bounds.
fn refused_by_history(
    body: &EventBody,
    accounts: &HashMap<MemberId, MemberAccount>,
) -> Option<Poison> {
    let entries = body.entries();
    if let Some(entry) = entries.iter().find(|e| {
        accounts
            .get(&e.member)
            .is_some_and(|a| a.has_booked(e.source))
    }) {
        return Some(Poison::new(
            PoisonCode::AlreadyBooked,
            format!("action {} is already in the member's ledger", entry.source),
        ));
    }
    let members: BTreeSet<MemberId> = entries.iter().map(|e| e.member).collect();
    members.into_iter().find_map(|member| {
        let fresh;
        let account = match accounts.get(&member) {
            Some(account) => account,
            None => {
                fresh = MemberAccount::new(member);
                &fresh
            }
        };
        account
            .check_entries(entries)
            .err()
            .map(|e| Poison::new(PoisonCode::BalanceOutOfBounds, e.to_string()))
    })
}

#[allow(clippy::too_many_arguments, reason = "one flat record")]
fn dead(
    out: &mut Plan,
    seq: u64,
    event_id: Uuid,
    hash: String,
    reason: Poison,
    body: String,
    kind: &'static str,
) {
    out.events.push(EventRow {
        seq,
        event_id,
        hash,
        kind,
        status: EventStatus::Dead,
    });
    out.dead.push(DeadLetter {
        seq,
        event_id,
        reason,
        body,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{OutboxEvent, UploadBatch};
    use tillcard_rules::booking::{self, TopUp};
    use tillcard_rules::{Money, Program};

    /// A batch of one event booking `kinds` for `member` as action `source`.
    fn batch_of(member: MemberId, source: SourceId, kinds: Vec<EntryKind>) -> Prepared {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-30T10:00:00+08:00").unwrap();
        let entries = kinds
            .into_iter()
            .map(|kind| LedgerEntry {
                member,
                source,
                at,
                kind,
            })
            .collect();
        Prepared {
            events: vec![PreparedEvent {
                seq: 1,
                event_id: Uuid::from_u128(1),
                hash: String::new(),
                wall_time: at,
                raw_body: None,
                body: Ok(EventBody::ManualAdjustment {
                    member,
                    reason: "test".into(),
                    approved_by: "manager".into(),
                    entries,
                }),
                enrollment: None,
            }],
            outbox_head_seq: None,
        }
    }

    #[test]
    fn cached_folds_keep_what_planning_reads_and_older_actions_go_to_the_ledger() {
        use tillcard_rules::account::{DailyUse, PointsLot, SpendRecord};
        use tillcard_rules::ledger::LotDraw;
        let member = MemberId(Uuid::from_u128(7));
        let action = |n: u128| SourceId(Uuid::from_u128(n << 64));
        let lot = |n: u128| LotId(action(n));
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-30T10:00:00+08:00").unwrap();
        let held = |n: u128, remaining: i64| PointsLot {
            lot: lot(n),
            earned_at: at,
            expires_at: at,
            remaining,
            awaiting_earning: false,
        };
        let credit = || EntryKind::StoredValueCredited {
            principal: Money::from_yuan(1),
            bonus: Money::ZERO,
            package: None,
        };
        let redeem = |n: u128| EntryKind::PointsRedeemed {
            draws: vec![LotDraw {
                lot: lot(n),
                points: 1,
            }],
        };
        let mut account = MemberAccount::new(member);
        account.sources = (1..=40).map(action).collect();
        account.lots = vec![held(1, 0), held(2, 5), held(3, -2), held(40, 0)];
        account.spend = vec![SpendRecord {
            at,
            amount: Money::from_yuan(9),
        }];
        account.daily = vec![DailyUse {
            date: at.date_naive(),
            points_redeemed: 1,
            stored_value_spent: Money::ZERO,
        }];
        // Untrimmed and short: whole, so any action can be planned.
        let mut short = account.clone();
        short.sources = (1..=3).map(action).collect();
        assert!(cached_fold_suffices(
            &short,
            &batch_of(member, action(0), vec![redeem(99)])
        ));

        trim_cached_fold(&mut account);
        let oldest_kept = 40 - CACHED_SOURCES as u128 + 1;
        assert_eq!(account.sources.len(), CACHED_SOURCES);
        assert_eq!(account.sources.first(), Some(&action(oldest_kept)));
        assert_eq!(account.sources.last(), Some(&action(40)));
        assert!(account.spend.is_empty() && account.daily.is_empty());
        // Used-up lots older than the oldest action id kept go; lots with
        // points (or debt) and newer ones stay.
        let lots: Vec<LotId> = account.lots.iter().map(|l| l.lot).collect();
        assert_eq!(lots, vec![lot(2), lot(3), lot(40)]);

        let suffices = |source: u128, kinds: Vec<EntryKind>| {
            cached_fold_suffices(&account, &batch_of(member, action(source), kinds))
        };
        // Newer than every kept id, or one of them: the cache knows.
        assert!(suffices(41, vec![credit()]));
        assert!(suffices(oldest_kept, vec![credit()]));
        // Older than the oldest kept: only the ledger can tell.
        assert!(!suffices(oldest_kept - 1, vec![credit()]));
        // Lots kept, or newer than the oldest action id kept (never dropped:
        // absent means the ledger has none either), are planned from cache;
        // an old lot not kept may be one dropped.
        assert!(suffices(41, vec![redeem(2), redeem(40)]));
        assert!(suffices(41, vec![redeem(oldest_kept + 1)]));
        assert!(!suffices(41, vec![redeem(1)]));
        assert!(!suffices(
            41,
            vec![EntryKind::PointsExpired {
                lot: lot(1),
                points: 1
            }]
        ));
        // Another member's old action says nothing about this fold.
        let other = MemberId(Uuid::from_u128(8));
        assert!(cached_fold_suffices(
            &account,
            &batch_of(other, action(1), vec![redeem(1)])
        ));
    }

    fn envelope(seq: u64) -> Envelope {
        Envelope {
            event_id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 + u128::from(seq)),
            terminal_id: TerminalId(Uuid::from_u128(7)),
            seq,
            wall_time: Timestamp::parse_from_rfc3339("2026-11-20T10:00:00+08:00").unwrap(),
            monotonic_ms: 1234 * seq,
            schema_version: SCHEMA_VERSION,
        }
    }

    /// A batch JSON with the given body texts exactly as written.
    fn batch_json(bodies: &[&str]) -> String {
        let events: Vec<String> = bodies
            .iter()
            .enumerate()
            .map(|(i, body)| {
                let env = serde_json::to_string(&envelope(i as u64 + 1)).unwrap();
                format!("{},\"body\": {body} }}", &env[..env.len() - 1])
            })
            .collect();
        format!(
            "{{\"protocol_version\":1,\"terminal_id\":\"{}\",\"events\":[{}]}}",
            TerminalId(Uuid::from_u128(7)),
            events.join(",")
        )
    }

    /// The hash and poison body head office computed before reading bodies
    /// as text: through `OutboxEvent` and its JSON tree.
    fn through_tree(seq: u64, body: &str) -> (String, String) {
        let event = OutboxEvent {
            envelope: envelope(seq),
            body: serde_json::from_str(body).unwrap(),
        };
        (event.content_hash(), event.body.to_string())
    }

    #[test]
    fn hash_of_canonical_and_non_canonical_bodies_matches_the_tree() {
        let bodies = [
            // Canonical already.
            r#"{"a":1,"b":[true,false,null],"c":{"d":-5,"e":"x"}}"#,
            // Whitespace, unsorted keys at two levels, repeated key (last wins).
            r#"{ "type" : "top_up", "member": "m", "a": {"z": 1, "b": 2}, "type": "x" }"#,
            // Escapes the tree rewrites: \/ and \u00e9 become / and é; \n stays.
            r#"{"s":"a\/b \u00e9 \n \" \\ \u0001","t":"\u4e2d"}"#,
            // Numbers: floats, exponents, big and negative integers.
            r#"{"f":1.5e3,"g":0.1,"h":-0.0,"i":18446744073709551615,"j":-9223372036854775808,"k":1E-7}"#,
            // Empty containers, nested arrays, a key that sorts by bytes.
            r#"{"":[],"A":{},"a":[[1,[2]],[]],"é":0}"#,
            // Not an object at all.
            r#"[1, 2 ,3]"#,
            r#""just text""#,
        ];
        let json = batch_json(&bodies);
        let batch = ReceivedBatch::from_json(json.as_bytes()).unwrap();
        let mut buffer = Vec::new();
        for (i, (event, body)) in batch.events.iter().zip(bodies).enumerate() {
            let (hash, range, _) = hash_event(event, &mut buffer).unwrap();
            let (want_hash, want_body) = through_tree(i as u64 + 1, body);
            assert_eq!(hash, want_hash, "hash of body {i}: {body}");
            assert_eq!(
                std::str::from_utf8(&buffer[range]).unwrap(),
                want_body,
                "canonical body {i}"
            );
        }
    }

    #[test]
    fn a_batch_that_is_not_utf8_is_refused_with_the_reason() {
        let json = batch_json(&[r#"{"a":"caf\u00e9"}"#, r#"{"b":"x"}"#]);
        let mut bytes = json.into_bytes();
        let at = bytes
            .windows(3)
            .position(|w| w == b"\"x\"")
            .expect("the second body's text");
        bytes[at + 1] = 0xff;
        let error = ReceivedBatch::from_json(&bytes).unwrap_err().to_string();
        assert!(error.contains("not UTF-8"), "{error}");
        let valid = batch_json(&[r#"{"a":"café"}"#]);
        assert_eq!(
            ReceivedBatch::from_json(valid.as_bytes())
                .unwrap()
                .events
                .len(),
            1
        );
    }

    #[test]
    fn canonical_bodies_stream_without_a_tree_and_others_build_one() {
        let mut out = Vec::new();
        let tree = canonical_body(r#"{"a":{"b":1,"c":[{"d":2,"e":3}]},"b":"x"}"#, &mut out);
        assert_eq!(tree, Ok(None));
        for unsorted in [
            r#"{"b":1,"a":2}"#,
            r#"{"a":[{"y":1,"x":2}]}"#,
            r#"{"a":1,"a":2}"#,
        ] {
            out.clear();
            assert!(
                matches!(canonical_body(unsorted, &mut out), Ok(Some(_))),
                "{unsorted} needs a tree"
            );
        }
    }

    #[test]
    fn events_from_the_client_hash_and_decode_as_before() {
        let program = Program::default();
        let member = MemberId(Uuid::from_u128(42));
        let account = MemberAccount::new(member);
        let at = Timestamp::parse_from_rfc3339("2026-11-20T10:00:00+08:00").unwrap();
        let entries = booking::book_top_up(
            &program,
            &account,
            &TopUp::Amount(Money::from_yuan(100)),
            at,
            SourceId(Uuid::from_u128(9)),
        )
        .unwrap();
        let body = EventBody::TopUp {
            member,
            principal: Money::from_yuan(100),
            bonus: Money::ZERO,
            package: None,
            entries,
        };
        let events: Vec<OutboxEvent> = (1..=3)
            .map(|seq| OutboxEvent::new(envelope(seq), &body).unwrap())
            .collect();
        let upload = UploadBatch {
            protocol_version: 1,
            terminal_id: TerminalId(Uuid::from_u128(7)),
            events: events.clone(),
            outbox_head_seq: Some(9),
        };
        let json = serde_json::to_vec(&upload).unwrap();
        let batch = ReceivedBatch::from_json(&json).unwrap();
        assert_eq!(batch.outbox_head_seq, Some(9));
        let keys = IngestKeys {
            box_secret: [1; 32],
            phone_key: [2; 32],
        };
        let prepared = prepare(&batch, TerminalId(Uuid::from_u128(7)), &keys).unwrap();
        for (p, e) in prepared.events.iter().zip(&events) {
            assert_eq!(p.hash, e.content_hash());
            assert_eq!(p.body.as_ref().unwrap(), &e.decode_body().unwrap());
            assert_eq!(p.raw_body, None);
            assert_eq!(p.seq, e.envelope.seq);
        }
    }

    #[test]
    fn gunzip_takes_what_fits_and_refuses_what_does_not() {
        use std::io::Write as _;
        let gzip = |data: &[u8]| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        };
        let json = batch_json(&[r#"{"type":"member_erased","member":"x"}"#]);
        assert_eq!(gunzip(&gzip(json.as_bytes())).unwrap(), json.as_bytes());
        // Exactly the largest body accepted, then one byte more.
        let largest = vec![b' '; protocol::MAX_BODY_BYTES];
        assert_eq!(gunzip(&gzip(&largest)).unwrap().len(), largest.len());
        let over = vec![b' '; protocol::MAX_BODY_BYTES + 1];
        assert!(matches!(
            gunzip(&gzip(&over)),
            Err(protocol::ProtocolError::TooLarge)
        ));
        // A trailer stating another size than the data's, or none at all:
        // refused, not trusted.
        let mut lying = gzip(json.as_bytes());
        let at = lying.len() - 4;
        lying[at..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            gunzip(&lying),
            Err(protocol::ProtocolError::Decode(_))
        ));
        let truncated = &gzip(json.as_bytes())[..10];
        assert!(matches!(
            gunzip(truncated),
            Err(protocol::ProtocolError::Decode(_))
        ));
    }

    #[test]
    fn poison_reasons_and_bodies_read_as_from_the_tree() {
        // Missing fields (text): the reason carries no text position.
        let bodies = [
            r#"{"type":"top_up","member":"00000000-0000-0000-0000-00000000002a"}"#,
            r#"{"member":"00000000-0000-0000-0000-00000000002a","type":"top_up"}"#,
            r#"{"type":"no_such_kind"}"#,
        ];
        let json = batch_json(&bodies);
        let batch = ReceivedBatch::from_json(json.as_bytes()).unwrap();
        let keys = IngestKeys {
            box_secret: [1; 32],
            phone_key: [2; 32],
        };
        let prepared = prepare(&batch, TerminalId(Uuid::from_u128(7)), &keys).unwrap();
        for (i, (p, body)) in prepared.events.iter().zip(bodies).enumerate() {
            let event = OutboxEvent {
                envelope: envelope(i as u64 + 1),
                body: serde_json::from_str(body).unwrap(),
            };
            let want = event.decode_body().unwrap_err().to_string();
            let poison = p.body.as_ref().unwrap_err();
            assert_eq!(poison.code, PoisonCode::Undecodable, "code of body {i}");
            assert_eq!(poison.detail, want, "reason of body {i}");
            assert_eq!(p.raw_body.as_deref(), Some(event.body.to_string().as_str()));
        }
    }
}
