//! The outbox: every business action's event, numbered gaplessly per
//! terminal, kept until head office acknowledges it.

use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;
use uuid::Uuid;

use super::events::{EVENT_SCHEMA_VERSION, EventBody};
use super::{Store, StoreContext, StoreError};

/// An event as stored, ready to upload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxEvent {
    /// Gapless per-terminal sequence number, from 1.
    pub seq: u64,
    /// Globally unique id (UUIDv7).
    pub event_id: Uuid,
    /// Terminal that wrote it.
    pub terminal_id: String,
    /// Event kind.
    pub kind: String,
    /// Local wall time (RFC 3339).
    pub wall_time: String,
    /// Monotonic clock reading in ms.
    pub monotonic_ms: u64,
    /// Version of the body's schema.
    pub schema_version: u32,
    /// The body, JSON.
    pub payload: String,
}

/// What the uplink shows the clerk about the queue.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutboxStatus {
    /// Events not yet acknowledged.
    pub pending: u64,
    /// Wall time of the oldest of them.
    pub oldest_pending: Option<String>,
    /// Highest sequence written.
    pub last_seq: u64,
}

/// Marks every event up to and including `seq` acknowledged at `now`,
/// and drops the readable personal fields of the enrollments among them
/// (`store::retention`).
pub(crate) fn ack_through(
    tx: &Transaction<'_>,
    seq: u64,
    now: tillcard_rules::Timestamp,
) -> Result<(), StoreError> {
    let seq = i64::try_from(seq).unwrap_or(i64::MAX);
    let at = super::retention::stamp(now);
    // Scrubbed first, while the pending index still finds exactly the
    // events this acknowledgement covers.
    super::retention::scrub_acked(tx, seq)?;
    tx.execute(
        "UPDATE outbox SET acked = 1, acked_at = ?2 WHERE seq <= ?1 AND acked = 0",
        params![seq, at],
    )?;
    Ok(())
}

/// Marks every acknowledged event after `seq` pending again.
pub(crate) fn reopen_after(tx: &Transaction<'_>, seq: u64) -> Result<(), StoreError> {
    let seq = i64::try_from(seq).unwrap_or(i64::MAX);
    tx.execute(
        "UPDATE outbox SET acked = 0, acked_at = NULL WHERE seq > ?1 AND acked = 1",
        [seq],
    )?;
    Ok(())
}

/// Appends `body` to the outbox inside `tx`, taking the next sequence
/// number. Returns the sequence number.
pub(crate) fn append(
    tx: &Transaction<'_>,
    ctx: &StoreContext<'_>,
    body: &EventBody,
) -> Result<i64, StoreError> {
    // Cached statements: every business action comes through here.
    let seq: i64 = tx
        .prepare_cached("SELECT next_seq FROM terminal WHERE id = 1")?
        .query_row([], |r| r.get(0))?;
    tx.prepare_cached("UPDATE terminal SET next_seq = ?1 WHERE id = 1")?
        .execute([seq + 1])?;
    let payload = serde_json::to_string(body)?;
    let monotonic = i64::try_from(ctx.clock.monotonic_ms()).unwrap_or(i64::MAX);
    tx.prepare_cached(
        "INSERT INTO outbox (seq, event_id, kind, wall_time, monotonic_ms, schema_version, payload)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        seq,
        Uuid::now_v7().to_string(),
        body.kind(),
        ctx.clock.now().to_rfc3339(),
        monotonic,
        EVENT_SCHEMA_VERSION,
        payload
    ])?;
    // The kind and the sequence number only: bodies carry masked and sealed
    // personal data, and a log needs neither.
    tracing::debug!(seq, kind = body.kind(), "outbox event written");
    Ok(seq)
}

impl Store {
    /// Up to `limit` unacknowledged events, oldest first.
    pub fn pending_events(&self, limit: usize) -> Result<Vec<OutboxEvent>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT seq, event_id, kind, wall_time, monotonic_ms, schema_version, payload
             FROM outbox WHERE acked = 0 ORDER BY seq LIMIT ?1",
        )?;
        let terminal_id = self.terminal_id().to_owned();
        let rows = stmt.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, u32>(5)?,
                r.get::<_, String>(6)?,
            ))
        })?;
        let mut events = Vec::new();
        for row in rows {
            let (seq, id, kind, wall_time, monotonic, schema_version, payload) = row?;
            let seq = u64::try_from(seq).unwrap_or(0);
            // Pending again with its body pruned: head office restored
            // from a backup older than the retention.
            if payload.is_empty() {
                return Err(super::retention::pruned_event(seq));
            }
            events.push(OutboxEvent {
                seq,
                event_id: Uuid::parse_str(&id)
                    .map_err(|e| StoreError::Damaged(format!("outbox event id: {e}")))?,
                terminal_id: terminal_id.clone(),
                kind,
                wall_time,
                monotonic_ms: u64::try_from(monotonic).unwrap_or(0),
                schema_version,
                payload,
            });
        }
        Ok(events)
    }

    /// Marks every event up to and including `seq` as acknowledged by head
    /// office. Acknowledged events are kept (head office may be restored from
    /// a backup and ask for them again, see [`Store::reopen_from`]).
    pub fn mark_acked(&mut self, seq: u64) -> Result<(), StoreError> {
        let now = self.clock.now();
        self.write(|tx, _| ack_through(tx, seq, now))
    }

    /// Head office reports it holds only up to `seq` (it was restored from a
    /// backup): everything after it is pending again.
    pub fn reopen_from(&mut self, seq: u64) -> Result<(), StoreError> {
        self.write(|tx, _| reopen_after(tx, seq))
    }

    /// Queue figures for the status strip.
    pub fn outbox_status(&self) -> Result<OutboxStatus, StoreError> {
        // Both read the pending index alone, plus one row: the uplink asks
        // after every batch, and a long offline day leaves tens of
        // thousands pending (a MIN over their times read every row).
        let pending: i64 = self
            .conn()
            .prepare_cached("SELECT COUNT(*) FROM outbox WHERE acked = 0")?
            .query_row([], |r| r.get(0))?;
        // The oldest waiting event is the first in the queue: events are
        // numbered as they happen (a wall clock set back does not reorder
        // the queue, and is not what "waiting since" means).
        let oldest: Option<String> = self
            .conn()
            .prepare_cached("SELECT wall_time FROM outbox WHERE acked = 0 ORDER BY seq LIMIT 1")?
            .query_row([], |r| r.get(0))
            .optional()?;
        let last: Option<i64> = self
            .conn()
            .query_row("SELECT MAX(seq) FROM outbox", [], |r| r.get(0))
            .optional()?
            .flatten();
        Ok(OutboxStatus {
            pending: u64::try_from(pending).unwrap_or(0),
            oldest_pending: oldest,
            last_seq: u64::try_from(last.unwrap_or(0)).unwrap_or(0),
        })
    }
}
