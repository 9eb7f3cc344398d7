//! Reading an upload before any transaction: the request body as a
//! [`ReceivedBatch`] (envelopes decoded, bodies kept as the JSON sent), then
//! each event hashed, decoded, validated and its sealed personal data
//! opened ([`prepare`]). What does not pass is poison for that event alone;
//! only a batch that is malformed as a whole is refused.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use tillcard_rules::ids::{MemberId, Timestamp};
use tillcard_rules::program::Program;
use uuid::Uuid;

use crate::personal::{Personal, PersonalKeys, SealedPersonal};

use super::{BatchRefusal, Poison, PoisonCode, canonical_body, validate, validate_envelope};
use tillcard_protocol::auth;
use tillcard_protocol::refusal::{QUARANTINED_TYPE, Quarantined};
use tillcard_protocol::wire::{self, Envelope, EventBody, SCHEMA_VERSION, TerminalId};

/// Head office's secrets needed to read events.
#[derive(Clone)]
pub struct IngestKeys {
    /// X25519 secret for sealed personal data.
    pub box_secret: [u8; 32],
    /// Personal data at rest: the phone key (enrollment dedupe) and the
    /// encryption of phones, names and birthdays.
    pub personal: PersonalKeys,
}

/// Personal data of an enrollment, opened at head office.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrollment {
    /// Masked name.
    pub masked_name: Option<String>,
    /// Masked phone.
    pub masked_phone: String,
    /// The phone, name and birthday encrypted under a new data key of the
    /// member's (see [`crate::personal`]); never kept in plain.
    pub sealed: SealedPersonal,
    /// Chain-wide phone key (HMAC under head office's lookup key).
    pub phone_key: String,
    /// The birthday's month alone, kept plain for campaigns' birthday
    /// segment (which decrypts nothing).
    pub birthday_month: Option<u8>,
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
    /// The body's schema version, as sent.
    pub schema_version: u16,
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
    /// Every program version published, which every member's sale is
    /// priced again with: the one in force at the sale's moment
    /// ([`super::plan`]).
    pub programs: Arc<Vec<Program>>,
    /// The terminal's outbox head when it built the batch, if it said.
    pub outbox_head_seq: Option<u64>,
    /// The terminal's software version, if it said (checked with
    /// [`wire::is_app_version`]).
    pub app_version: Option<String>,
    /// The terminal's audit chain, if it sent it (validated).
    pub audit: Option<wire::UploadAudit>,
    /// The outbox epoch the terminal numbered the batch in, if it said
    /// (terminals that predate epochs do not, and are never renumbered).
    pub epoch: Option<wire::OutboxEpoch>,
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

    /// Books every event naming a member merged into another (member
    /// care's merge) onto the survivor: the event's member and each of its
    /// entries' members rewritten by `survivors` (merged → survivor). An
    /// offline terminal's events about the merged-away account are neither
    /// lost nor left as a balance on it. The content hash stays the one
    /// sent, so a resend is still a duplicate. Enrollments and erasures
    /// keep the id they name. Returns how many events were rewritten.
    pub fn book_onto_survivors(
        &mut self,
        survivors: &std::collections::HashMap<MemberId, MemberId>,
    ) -> usize {
        let mut rewritten = 0;
        let to = |m: &mut MemberId| match survivors.get(m) {
            Some(survivor) => {
                *m = *survivor;
                true
            }
            None => false,
        };
        for event in &mut self.events {
            let Ok(body) = &mut event.body else { continue };
            let mut touched = false;
            let entries = match body {
                EventBody::MemberEnrolled { .. }
                | EventBody::MemberErased { .. }
                | EventBody::ShiftClosed { .. } => continue,
                EventBody::SaleBooked { quote, entries, .. } => {
                    if let Some(member) = quote.member.as_mut() {
                        touched |= to(member);
                    }
                    entries
                }
                EventBody::Refunded { entries, .. } => entries,
                EventBody::TopUp {
                    member, entries, ..
                }
                | EventBody::ManualAdjustment {
                    member, entries, ..
                }
                | EventBody::GiftRedeemed {
                    member, entries, ..
                }
                | EventBody::CouponIssued { member, entries } => {
                    touched |= to(member);
                    entries
                }
            };
            for entry in entries {
                touched |= to(&mut entry.member);
            }
            rewritten += usize::from(touched);
        }
        rewritten
    }
}

/// An upload batch as head office reads it: the JSON of
/// [`tillcard_protocol::wire::UploadBatch`], with each event's envelope decoded and
/// its body kept as the JSON text sent (borrowed from the request body).
#[derive(Debug, Deserialize)]
pub struct ReceivedBatch<'a> {
    /// [`tillcard_protocol::wire::PROTOCOL_VERSION`].
    pub protocol_version: u16,
    /// The uploading terminal.
    pub terminal_id: TerminalId,
    /// Events in the order sent.
    #[serde(borrow)]
    pub events: Vec<ReceivedEvent<'a>>,
    /// The terminal's outbox head, if it said.
    #[serde(default)]
    pub outbox_head_seq: Option<u64>,
    /// The terminal's software version, if it said (not checked yet).
    #[serde(default)]
    pub app_version: Option<String>,
    /// The terminal's audit chain, if it sent it (not checked yet).
    #[serde(default)]
    pub audit: Option<wire::UploadAudit>,
    /// The terminal's outbox epoch, if it said (not checked yet).
    #[serde(default)]
    pub epoch: Option<wire::OutboxEpoch>,
}

/// One event of a [`ReceivedBatch`]: the fields of
/// [`tillcard_protocol::wire::OutboxEvent`], its body left undecoded.
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

/// Gunzips a request body (at most [`wire::MAX_BODY_BYTES`]), as
/// [`wire::decode`] does, leaving the JSON to [`ReceivedBatch::from_json`].
pub fn gunzip(body: &[u8]) -> Result<Vec<u8>, wire::ProtocolError> {
    wire::gunzip(body)
}

impl ReceivedBatch<'_> {
    /// Reads a batch from a decompressed request body (JSON).
    pub fn from_json(json: &[u8]) -> Result<ReceivedBatch<'_>, wire::ProtocolError> {
        // One UTF-8 check over the whole body is cheaper than serde_json's
        // check of each string as it reads it from bytes.
        let text = std::str::from_utf8(json)
            .map_err(|e| wire::ProtocolError::Decode(format!("request body is not UTF-8: {e}")))?;
        serde_json::from_str(text).map_err(|e| wire::ProtocolError::Decode(e.to_string()))
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
/// [`tillcard_protocol::wire::OutboxEvent::content_hash`] of the event as sent:
/// envelope fields in declaration order, then `body` in canonical form.
/// `buffer` is scratch space; on return it holds that canonical JSON, and
/// the body's part of it is `buffer[range]`. Also returns the body as a
/// tree when [`canonical_body`] had to build one.
pub(super) fn hash_event(
    event: &ReceivedEvent<'_>,
    buffer: &mut Vec<u8>,
) -> Result<(String, std::ops::Range<usize>, Option<serde_json::Value>), String> {
    buffer.clear();
    super::canonical::write_envelope(buffer, &event.envelope()).map_err(|e| e.to_string())?;
    // `{...envelope...}` becomes `{...envelope...,"body":<body>}`.
    buffer.pop();
    buffer.extend_from_slice(b",\"body\":");
    let start = buffer.len();
    let tree = canonical_body(event.body.get(), buffer)?;
    let end = buffer.len();
    buffer.push(b'}');
    let mut hasher = Sha256::new();
    hasher.write_all(buffer).map_err(|e| e.to_string())?;
    // Lower-case hex, as wire::hex writes it (without a format call per byte).
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
    wire::ProtocolError::Decode(text).to_string()
}

/// Why a body does not decode as an event: a terminal's quarantine
/// placeholder ([`Quarantined`]) is poison `quarantined`, with what the
/// terminal set aside and why (no content of it); anything else is
/// `undecodable` with the decoder's words.
fn decode_failure(raw: &str, e: serde_json::Error) -> Poison {
    match serde_json::from_str::<Quarantined>(raw) {
        Ok(placeholder) if placeholder.kind == QUARANTINED_TYPE => Poison::new(
            PoisonCode::Quarantined,
            format!(
                "set aside at the terminal: a {} event of {} bytes head office refused as {}",
                placeholder.event_type, placeholder.body_bytes, placeholder.code
            ),
        ),
        _ => Poison::new(PoisonCode::Undecodable, decode_reason(e)),
    }
}

/// Decodes and validates every event of a batch. Poison events are kept
/// with their reason; only a malformed batch is refused as a whole.
pub fn prepare(
    batch: &ReceivedBatch<'_>,
    terminal: TerminalId,
    keys: &IngestKeys,
    programs: Arc<Vec<Program>>,
) -> Result<Prepared, BatchRefusal> {
    if batch.terminal_id != terminal {
        return Err(BatchRefusal::Malformed(
            "batch terminal_id differs from the signing terminal".into(),
        ));
    }
    if let Some(head) = batch.outbox_head_seq
        && head > wire::MAX_SEQ
    {
        return Err(BatchRefusal::Malformed(format!(
            "outbox_head_seq {head} is above the largest sequence number, {}",
            wire::MAX_SEQ
        )));
    }
    if let Some(version) = &batch.app_version
        && !wire::is_app_version(version)
    {
        // Not quoted: it is outside text of any length.
        return Err(BatchRefusal::Malformed(format!(
            "app_version is not 1 to {} characters of 0-9 A-Z a-z . + -",
            wire::MAX_APP_VERSION_CHARS
        )));
    }
    if let Some(audit) = &batch.audit {
        super::audit::validate(audit)?;
    }
    if let Some(epoch) = &batch.epoch
        && (epoch.n > wire::MAX_SEQ || epoch.first_seq == 0 || epoch.first_seq > wire::MAX_SEQ)
    {
        return Err(BatchRefusal::Malformed(
            "epoch: n above the largest sequence number, or first_seq 0 or above it".into(),
        ));
    }
    let mut seen = BTreeSet::new();
    let mut events = Vec::with_capacity(batch.events.len());
    let mut buffer = Vec::with_capacity(4096);
    for event in &batch.events {
        let seq = event.seq;
        if seq == 0 || !seen.insert(seq) {
            return Err(BatchRefusal::BadEvent(format!(
                "sequence {seq} is zero or repeated within the batch"
            )));
        }
        if seq > wire::MAX_SEQ {
            return Err(BatchRefusal::BadEvent(format!(
                "sequence {seq} is above the largest sequence number, {}",
                wire::MAX_SEQ
            )));
        }
        if event.terminal_id != terminal {
            return Err(BatchRefusal::BadEvent(format!(
                "event {seq} names another terminal"
            )));
        }
        events.push(prepare_event(event, keys, &mut buffer)?);
    }
    Ok(Prepared {
        events,
        programs,
        outbox_head_seq: batch.outbox_head_seq,
        app_version: batch.app_version.clone(),
        audit: batch.audit.clone(),
        epoch: batch.epoch,
    })
}

fn prepare_event(
    event: &ReceivedEvent<'_>,
    keys: &IngestKeys,
    buffer: &mut Vec<u8>,
) -> Result<PreparedEvent, BatchRefusal> {
    // The body was read as valid JSON with the batch, so only a failure to
    // write into memory could stop the hash: refuse the batch then.
    let (hash, body_range, tree) = hash_event(event, buffer).map_err(BatchRefusal::BadEvent)?;
    let parsed = match &tree {
        None => serde_json::from_str::<EventBody>(event.body.get()),
        Some(tree) => EventBody::deserialize(tree),
    }
    .map_err(|e| decode_failure(event.body.get(), e));
    let (body, enrollment) = read_body(
        event.schema_version,
        validate_envelope(&event.envelope()),
        parsed,
        keys,
    );
    // A poison body is kept for review as its canonical JSON.
    let raw_body = body
        .is_err()
        .then(|| String::from_utf8_lossy(&buffer[body_range]).into_owned());
    Ok(PreparedEvent {
        seq: event.seq,
        event_id: event.event_id,
        hash,
        wall_time: event.wall_time,
        schema_version: event.schema_version,
        raw_body,
        body,
        enrollment,
    })
}

/// Rebuilds a dead-lettered event from what its dead letter kept (its
/// sequence number, id, terminal wall time, schema version and body as
/// JSON text) and reads it as [`prepare`] reads an uploaded one: the schema
/// version, the wall time's bounds, the body decoded and validated, an
/// enrollment's sealed personal data opened. `hash` is the content hash
/// stored with the event when it came (kept: a resend of the event is
/// still a duplicate). The body's text is kept as the raw body, so should
/// the event be refused again its dead letter keeps the same text.
pub fn prepare_stored(
    seq: u64,
    event_id: Uuid,
    wall_time: Timestamp,
    schema_version: u16,
    body_text: &str,
    hash: String,
    keys: &IngestKeys,
) -> PreparedEvent {
    let envelope = Envelope {
        event_id,
        terminal_id: TerminalId(Uuid::nil()),
        seq,
        wall_time,
        monotonic_ms: 0,
        schema_version,
    };
    let (body, enrollment) = read_body(
        schema_version,
        validate_envelope(&envelope),
        serde_json::from_str::<EventBody>(body_text).map_err(|e| decode_failure(body_text, e)),
        keys,
    );
    PreparedEvent {
        seq,
        event_id,
        hash,
        wall_time,
        schema_version,
        raw_body: body.is_err().then(|| body_text.to_string()),
        body,
        enrollment,
    }
}

/// An event's body as head office reads it: poison when its schema
/// version is not the one head office reads, its envelope is out of
/// bounds, it does not decode (`parsed`) or validate, or an enrollment's
/// sealed data do not open; else the body, with an enrollment's personal
/// data opened.
fn read_body(
    schema_version: u16,
    envelope: Result<(), Poison>,
    parsed: Result<EventBody, Poison>,
    keys: &IngestKeys,
) -> (Result<EventBody, Poison>, Option<Enrollment>) {
    let mut enrollment = None;
    let body = if schema_version != SCHEMA_VERSION {
        Err(Poison::new(
            PoisonCode::UnsupportedSchema,
            format!(
                "schema_version {schema_version} is not one head office reads (it reads {SCHEMA_VERSION})"
            ),
        ))
    } else if let Err(poison) = envelope {
        Err(poison)
    } else {
        // The typed body from the text sent when it was canonical; from the
        // tree otherwise (which had repeated keys resolved as before).
        parsed
            .and_then(|body| validate(&body).map(|()| body))
            .and_then(|body| {
                enrollment = open_enrollment(&body, keys)?;
                Ok(body)
            })
    };
    (body, enrollment)
}

/// An enrollment's personal data, opened with head office's key (`None`
/// for any other event); poison when they do not open or the phone is not
/// one.
fn open_enrollment(body: &EventBody, keys: &IngestKeys) -> Result<Option<Enrollment>, Poison> {
    let EventBody::MemberEnrolled {
        member,
        masked_name,
        masked_phone,
        phone_sealed,
        name_sealed,
        birthday,
        consent,
        referrer,
        ..
    } = body
    else {
        return Ok(None);
    };
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
        Some(sealed) => Some(auth::open_sealed(&keys.box_secret, sealed).map_err(|_| {
            Poison::new(
                PoisonCode::Sealed,
                "name_sealed does not open with head office's key",
            )
        })?),
        None => None,
    };
    let phone_key = keys.personal.phone_key(&phone);
    let personal = Personal {
        phone: Some(phone),
        name,
        birthday: *birthday,
    };
    Ok(Some(Enrollment {
        masked_name: masked_name.clone(),
        masked_phone: masked_phone.clone(),
        sealed: keys.personal.seal(*member, &personal),
        phone_key,
        birthday_month: birthday.map(|b| b.month),
        consent_at: consent.at.to_rfc3339(),
        referrer: *referrer,
    }))
}
