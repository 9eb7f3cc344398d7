//! How head office applies an upload batch, as pure functions: decode and
//! validate each event ([`prepare`]), then decide every write ([`plan`])
//! from what the database already holds ([`Loaded`]). Both storage backends
//! load the same [`Loaded`], call [`plan`] and write the [`Plan`] in one
//! transaction, so SQLite and PostgreSQL behave identically.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use tillcard_rules::MemberAccount;
use tillcard_rules::ids::{MemberId, SourceId, Timestamp};
use tillcard_rules::ledger::{EntryKind, LedgerEntry};
use tillcard_rules::pricing::MonthDay;
use tillcard_rules::refund::RefundLine;
use uuid::Uuid;

use crate::auth;
use crate::protocol::{EventBody, OutboxEvent, SCHEMA_VERSION, TerminalId, UploadBatch};

/// Two scans of one member at different stores closer than this are flagged.
pub const TWO_STORES_WINDOW_MINUTES: i64 = 30;

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
    pub body: Result<EventBody, String>,
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

/// Decodes and validates every event of a batch. Poison events are kept
/// with their reason; only a malformed batch is refused as a whole.
pub fn prepare(
    batch: &UploadBatch,
    terminal: TerminalId,
    keys: &IngestKeys,
) -> Result<Prepared, BatchRefusal> {
    if batch.terminal_id != terminal {
        return Err(BatchRefusal::Malformed(
            "batch terminal_id differs from the signing terminal".into(),
        ));
    }
    let mut seen = BTreeSet::new();
    let mut events = Vec::with_capacity(batch.events.len());
    for event in &batch.events {
        let seq = event.envelope.seq;
        if seq == 0 || !seen.insert(seq) {
            return Err(BatchRefusal::Malformed(format!(
                "sequence {seq} is zero or repeated within the batch"
            )));
        }
        if event.envelope.terminal_id != terminal {
            return Err(BatchRefusal::Malformed(format!(
                "event {seq} names another terminal"
            )));
        }
        events.push(prepare_event(event, keys));
    }
    Ok(Prepared {
        events,
        outbox_head_seq: batch.outbox_head_seq,
    })
}

fn prepare_event(event: &OutboxEvent, keys: &IngestKeys) -> PreparedEvent {
    let mut enrollment = None;
    let body = if event.envelope.schema_version != SCHEMA_VERSION {
        Err(format!(
            "unsupported schema_version {}",
            event.envelope.schema_version
        ))
    } else {
        event
            .decode_body()
            .map_err(|e| e.to_string())
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
                    let phone =
                        auth::open_sealed(&keys.box_secret, phone_sealed).map_err(|_| {
                            "sealed phone does not open with head office's key".to_string()
                        })?;
                    let name = match name_sealed {
                        Some(sealed) => {
                            Some(auth::open_sealed(&keys.box_secret, sealed).map_err(|_| {
                                "sealed name does not open with head office's key".to_string()
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
    PreparedEvent {
        seq: event.envelope.seq,
        event_id: event.envelope.event_id,
        hash: event.content_hash(),
        wall_time: event.envelope.wall_time,
        raw_body: body.is_err().then(|| event.body.to_string()),
        body,
        enrollment,
    }
}

/// Checks an event against the rules' invariants that head office can see
/// without the member's history.
pub fn validate(body: &EventBody) -> Result<(), String> {
    if let EventBody::MemberEnrolled { consent, .. } = body
        && !consent.given
    {
        return Err("enrollment without recorded consent".into());
    }
    let member = body.member();
    let entries = body.entries();
    if let Some(first) = entries.first()
        && entries.iter().any(|e| e.source != first.source)
    {
        return Err("entries of one action carry different sources".into());
    }
    if let EventBody::SaleBooked { quote, .. } = body
        && entries.iter().any(|e| e.source != quote.id)
    {
        return Err("sale entries do not carry the quote's id as source".into());
    }
    for entry in entries {
        if member.is_some_and(|m| m != entry.member) {
            return Err("an entry is for another member than the event".into());
        }
        let bad = match &entry.kind {
            EntryKind::PointsEarned { points, .. } | EntryKind::PointsExpired { points, .. } => {
                *points <= 0
            }
            EntryKind::PointsRedeemed { draws }
            | EntryKind::PointsReturned { draws }
            | EntryKind::PointsReversed { draws } => draws.iter().any(|d| d.points <= 0),
            EntryKind::StoredValueCredited {
                principal, bonus, ..
            }
            | EntryKind::StoredValueDebited { principal, bonus }
            | EntryKind::StoredValueReturned { principal, bonus } => {
                principal.fen() < 0 || bonus.fen() < 0
            }
            _ => false,
        };
        if bad {
            return Err("an entry carries a zero or negative amount".into());
        }
    }
    Ok(())
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
    pub kind: String,
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
    /// Why.
    pub reason: String,
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
    let points: i64 = account.lots.iter().map(|l| l.remaining.min(0)).sum();
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
    let mut out = Plan {
        outbox_head_seq: prepared.outbox_head_seq,
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
        // Rules check that needs history: an action booked twice.
        let already = body.entries().iter().find(|e| {
            accounts
                .get(&e.member)
                .is_some_and(|a| a.has_booked(e.source))
        });
        if let Some(entry) = already {
            let reason = format!("action {} is already in the member's ledger", entry.source);
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
            let seen = LastSeen {
                store: store.to_string(),
                at: event.wall_time,
            };
            last_seen.insert(member, seen.clone());
            let write = out.members.entry(member).or_insert(MemberWrite {
                member,
                enrollment: None,
                duplicate_of: None,
                last_seen: None,
                enrolled_at: None,
            });
            write.last_seen = Some(seen);
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
                && account.coupon(*coupon).is_some_and(|c| c.used)
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
            kind: body.kind().into(),
            status: EventStatus::Applied,
        });
        out.applied += 1;
    }
    for (_, entry) in &out.ledger {
        if let Some(account) = accounts.get(&entry.member) {
            out.accounts.insert(entry.member, account.clone());
        }
    }
    let mut ack = acked_seq;
    while stored.contains(&(ack + 1)) || existing.contains_key(&(ack + 1)) {
        ack += 1;
    }
    out.acked_seq = ack;
    Ok(out)
}

#[allow(clippy::too_many_arguments, reason = "one flat record")]
fn dead(
    out: &mut Plan,
    seq: u64,
    event_id: Uuid,
    hash: String,
    reason: String,
    body: String,
    kind: &str,
) {
    out.events.push(EventRow {
        seq,
        event_id,
        hash,
        kind: kind.into(),
        status: EventStatus::Dead,
    });
    out.dead.push(DeadLetter {
        seq,
        event_id,
        reason,
        body,
    });
}
