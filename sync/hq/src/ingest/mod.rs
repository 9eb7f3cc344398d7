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

use tillcard_rules::MemberAccount;
use tillcard_rules::ids::{MemberId, SourceId, Timestamp};
use tillcard_rules::ledger::{EntryKind, LedgerEntry};
use tillcard_rules::refund::RefundLine;
use uuid::Uuid;

use tillcard_protocol::wire::EventBody;

pub mod audit;
mod cached_fold;
mod canonical;
pub mod epoch;
mod judge;
mod prepare;
pub mod returns;
#[cfg(test)]
mod tests;
mod validate;
pub use cached_fold::{CACHED_SOURCES, cached_fold_suffices, trim_cached_fold};
pub use canonical::canonical_body;
pub use judge::Conflict;
use judge::{beyond_program, negative, refused_by_history};
pub use prepare::{
    Enrollment, IngestKeys, Prepared, PreparedEvent, ReceivedBatch, ReceivedEvent, gunzip, prepare,
    prepare_stored,
};
pub use validate::{Poison, PoisonCode, validate, validate_envelope, withhold_quoted};

/// Two scans of one member at different stores closer than this are flagged.
pub const TWO_STORES_WINDOW_MINUTES: i64 = 30;

/// Why a batch as a whole is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchRefusal {
    /// Malformed batch (another terminal named, a seq repeated within the
    /// batch, a seq of 0 or beyond [`wire::MAX_SEQ`](tillcard_protocol::wire::MAX_SEQ), an
    /// `app_version` not of [`wire::is_app_version`](tillcard_protocol::wire::is_app_version)'s
    /// shape). Events need not be in order.
    #[error("{0}")]
    Malformed(String),
    /// One event of the batch can never be taken as sent (its `seq` 0,
    /// repeated or beyond the bound, another terminal named, a body that
    /// cannot be hashed): `400 bad_event`, class `never`, so the terminal
    /// splits the batch down to that event and quarantines it.
    #[error("{0}")]
    BadEvent(String),
    /// A sequence number already stored with different content: a
    /// terminal whose store was rolled back (it renumbers, `renumber`), or
    /// one that predates epochs (flagged as a possible clone).
    #[error("sequence {seq} already stored with different content")]
    SequenceConflict {
        /// The sequence number.
        seq: u64,
        /// The highest seq head office holds of the terminal.
        held_seq: u64,
        /// The batch carried its epoch: the terminal renumbers its waiting
        /// events above `held_seq` (not flagged).
        renumber: bool,
    },
    /// A new event numbered in an epoch the terminal left behind: a second
    /// live copy of the terminal ([`epoch`]). Flagged; never renumbered.
    #[error("{reason}")]
    Cloned {
        /// The flag's reason.
        reason: String,
    },
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
    /// What head office holds of the terminal's audit chain.
    pub audit: audit::AuditHeld,
    /// The highest seq stored for the terminal (0: none).
    pub held_seq: u64,
    /// The batch's event ids already stored for the terminal, with the
    /// seq they are stored under.
    pub stored_ids: HashMap<Uuid, u64>,
    /// The terminal's current outbox epoch (none: epoch 0 from seq 1).
    pub epoch: Option<tillcard_protocol::wire::OutboxEpoch>,
    /// The sales the batch sells or refunds as held before it, with their
    /// refunds ([`returns`]: a sale returned twice is flagged).
    pub returns: returns::HeldReturns,
}

/// Stored status of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventStatus {
    /// Applied to the ledger.
    Applied,
    /// Dead-lettered.
    Dead,
    /// An event already stored under another seq (renumbered by its
    /// terminal after a rollback): the seq is held, the event not applied
    /// again.
    Renumbered,
}

impl EventStatus {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            EventStatus::Applied => "applied",
            EventStatus::Dead => "dead",
            EventStatus::Renumbered => "renumbered",
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
    /// The event's wall time at the terminal (kept to re-apply it).
    pub wall_time: Timestamp,
    /// The event's schema version (kept to re-apply it).
    pub schema_version: u16,
    /// Who the dead letter is assigned to: none for a new one; when a
    /// re-applied event is refused again, whoever had it before.
    pub assignee: Option<String>,
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
    /// How it was paid (`tillcard_rules::tenders::Payment` as JSON), when
    /// the terminal said (issue 24).
    pub payment: Option<String>,
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
    /// The money handed back by tender (JSON list of
    /// `tillcard_rules::tenders::Tender`), when the terminal said.
    pub tenders: Option<String>,
}

/// A terminal's shift close (Z report, issue 24) as head office keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftCloseFact {
    /// The close's id.
    pub shift: SourceId,
    /// Event seq.
    pub seq: u64,
    /// The terminal's wall time of the event.
    pub at: Timestamp,
    /// The clerk who closed it (id).
    pub closed_by: String,
    /// The report (`tillcard_rules::shift::ShiftReport` as JSON).
    pub report: String,
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
    /// Walk-in sales refunded beyond what was sold ([`returns`]): flags
    /// for head office, there being no member's queue to put them in.
    pub walk_in_returns: Vec<returns::WalkInReturn>,
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
    /// Shift closes applied now.
    pub shift_closes: Vec<ShiftCloseFact>,
    /// The terminal's outbox head, if the batch said.
    pub outbox_head_seq: Option<u64>,
    /// The terminal's software version, if the batch said.
    pub app_version: Option<String>,
    /// The terminal's audit chain checked against head office's head, if
    /// the batch carried it: the head to store, the flags to raise.
    pub audit: Option<audit::AuditCheck>,
    /// A dead-lettered event re-applied from the review queue, not a
    /// batch the terminal sent: the terminal's last batch time stays.
    pub reapplied: bool,
    /// The highest seq head office holds of the terminal after the batch.
    pub held_seq: u64,
    /// The outbox epoch this batch opens (a rolled-back terminal's
    /// renumbering), if any.
    pub epoch_opened: Option<epoch::EpochOpened>,
    /// Events of this batch already stored under another seq (counted
    /// with the duplicates too).
    pub renumbered: u32,
    /// The uploading terminal's store: every member the batch books for
    /// or writes is seen there (`store::scope`).
    pub store: String,
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
        audit: audit_held,
        held_seq,
        stored_ids,
        epoch: current_epoch,
        returns: held_returns,
    } = loaded;
    let (lineage, epoch_opened) = epoch::lineage(prepared.epoch, current_epoch, held_seq)?;
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
        app_version: prepared.app_version,
        audit: prepared
            .audit
            .as_ref()
            .map(|sent| audit::check(&audit_held, sent)),
        events: Vec::with_capacity(prepared.events.len()),
        ledger: Vec::with_capacity(entries),
        held_seq,
        epoch_opened,
        store: store.to_owned(),
        ..Plan::default()
    };
    let mut stored: BTreeSet<u64> = stored_above_ack;
    let mut batch_ids: HashMap<Uuid, u64> = HashMap::new();
    for event in prepared.events {
        if let Some(hash) = existing.get(&event.seq) {
            if *hash != event.hash {
                return Err(conflict(lineage, prepared.epoch, event.seq, held_seq));
            }
            out.duplicates += 1;
            continue;
        }
        // The event already stored under another seq (its terminal
        // renumbered it after a rollback, and an earlier batch carrying it
        // was stored): its new seq is held, the event is not applied again.
        let earlier = stored_ids
            .get(&event.event_id)
            .copied()
            .filter(|first| *first != event.seq);
        if let Some(first) = earlier.or_else(|| batch_ids.get(&event.event_id).copied()) {
            tracing::debug!(
                seq = event.seq,
                first,
                "event already stored under another seq"
            );
            stored.insert(event.seq);
            out.held_seq = out.held_seq.max(event.seq);
            out.events.push(EventRow {
                seq: event.seq,
                event_id: event.event_id,
                hash: event.hash,
                kind: event.body.as_ref().map_or("undecodable", EventBody::kind),
                status: EventStatus::Renumbered,
            });
            out.duplicates += 1;
            out.renumbered += 1;
            continue;
        }
        if let epoch::Lineage::Superseded { current } = lineage {
            return Err(BatchRefusal::Cloned {
                reason: epoch::clone_reason(
                    prepared
                        .epoch
                        .unwrap_or(tillcard_protocol::wire::OutboxEpoch::FIRST),
                    current,
                    event.seq,
                ),
            });
        }
        batch_ids.insert(event.event_id, event.seq);
        stored.insert(event.seq);
        out.held_seq = out.held_seq.max(event.seq);
        let body = match event.body {
            Ok(body) => body,
            Err(reason) => {
                dead(
                    &mut out,
                    &Dead {
                        seq: event.seq,
                        event_id: event.event_id,
                        wall_time: event.wall_time,
                        schema_version: event.schema_version,
                    },
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
                &Dead {
                    seq: event.seq,
                    event_id: event.event_id,
                    wall_time: event.wall_time,
                    schema_version: event.schema_version,
                },
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
        if let EventBody::SaleBooked { quote, entries, .. } = &body
            && let Some(conflict) = beyond_program(&prepared.programs, quote, entries, &accounts)
        {
            out.conflicts.push(Conflict {
                seq: event.seq,
                ..conflict
            });
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
            EventBody::SaleBooked { quote, payment, .. } => out.sales.push(SaleFact {
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
                payment: payment.as_ref().and_then(|p| serde_json::to_string(p).ok()),
            }),
            EventBody::Refunded {
                sale,
                refund,
                lines,
                tenders,
                ..
            } => out.refunds.push(RefundFact {
                refund: *refund,
                sale: *sale,
                seq: event.seq,
                at: event.wall_time,
                lines: lines.clone(),
                tenders: tenders.as_ref().and_then(|t| serde_json::to_string(t).ok()),
            }),
            EventBody::ShiftClosed {
                shift,
                closed_by,
                report,
            } => out.shift_closes.push(ShiftCloseFact {
                shift: *shift,
                seq: event.seq,
                at: event.wall_time,
                closed_by: closed_by.clone(),
                report: serde_json::to_string(report).unwrap_or_default(),
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
    // Sales and refunds against each other, whichever came first.
    let judged = returns::judge(&held_returns, &out.sales, &out.refunds);
    out.conflicts.extend(judged.conflicts);
    out.walk_in_returns = judged.walk_ins;
    let mut ack = acked_seq;
    while stored.contains(&(ack + 1)) || existing.contains_key(&(ack + 1)) {
        ack += 1;
    }
    out.acked_seq = ack;
    Ok(out)
}

/// A sequence conflict: a clone's when the batch's epoch is superseded,
/// else one the terminal renumbers from (an epoch-aware terminal) or is
/// flagged for (one that predates epochs).
fn conflict(
    lineage: epoch::Lineage,
    sent: Option<tillcard_protocol::wire::OutboxEpoch>,
    seq: u64,
    held_seq: u64,
) -> BatchRefusal {
    match lineage {
        epoch::Lineage::Superseded { current } => BatchRefusal::Cloned {
            reason: epoch::clone_reason(
                sent.unwrap_or(tillcard_protocol::wire::OutboxEpoch::FIRST),
                current,
                seq,
            ),
        },
        epoch::Lineage::Legacy => BatchRefusal::SequenceConflict {
            seq,
            held_seq,
            renumber: false,
        },
        epoch::Lineage::Current => BatchRefusal::SequenceConflict {
            seq,
            held_seq,
            renumber: true,
        },
    }
}

/// The envelope fields a dead letter keeps.
struct Dead {
    seq: u64,
    event_id: Uuid,
    wall_time: Timestamp,
    schema_version: u16,
}

fn dead(
    out: &mut Plan,
    event: &Dead,
    hash: String,
    reason: Poison,
    body: String,
    kind: &'static str,
) {
    out.events.push(EventRow {
        seq: event.seq,
        event_id: event.event_id,
        hash,
        kind,
        status: EventStatus::Dead,
    });
    out.dead.push(DeadLetter {
        seq: event.seq,
        event_id: event.event_id,
        reason,
        body,
        wall_time: event.wall_time,
        schema_version: event.schema_version,
        assignee: None,
    });
}
