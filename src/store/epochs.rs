//! Outbox epochs: a store that was rolled back (restored from a backup,
//! reimaged, a write lost to a lying fsync) would number its next events
//! with sequence numbers head office already holds with other content.
//! Head office tells the terminal the highest seq it holds of it
//! (`held_seq`, in every acknowledgement and in a `sequence_conflict`);
//! when that is above anything this store issued, or head office refuses
//! a batch as a sequence conflict, every event still waiting is renumbered
//! above `held_seq`, in order, in a new epoch (one transaction: the
//! outbox, the `event_seq` of the ledger, sales, refunds, shift actions and
//! shift closes, the next seq and the epoch's row). Event ids stay: head office recognises an event it
//! already stored under its old seq and does not apply it twice
//! (PROTOCOL.md, "A terminal rolled back").

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use tillcard_protocol::wire::OutboxEpoch;

use super::{Store, StoreError};

/// What one renumbering did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Renumbered {
    /// The epoch opened.
    pub epoch: OutboxEpoch,
    /// Waiting events renumbered into it.
    pub events: u64,
    /// The highest seq head office held.
    pub held_seq: u64,
}

/// The epoch this store numbers its events in (epoch 0 from seq 1 until
/// a renumbering).
pub(crate) fn current(conn: &Connection) -> Result<OutboxEpoch, StoreError> {
    let row: Option<(i64, i64)> = conn
        .prepare_cached("SELECT epoch, first_seq FROM outbox_epochs ORDER BY epoch DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(match row {
        Some((n, first_seq)) => OutboxEpoch {
            n: u64::try_from(n).unwrap_or(0),
            first_seq: u64::try_from(first_seq).unwrap_or(1),
        },
        None => OutboxEpoch::FIRST,
    })
}

fn next_seq(tx: &Transaction<'_>) -> Result<i64, StoreError> {
    Ok(
        tx.query_row("SELECT next_seq FROM terminal WHERE id = 1", [], |r| {
            r.get(0)
        })?,
    )
}

/// Renumbers every waiting event above `held` in a new epoch; `None` when
/// head office holds nothing at or above them (nothing can collide).
fn renumber(tx: &Transaction<'_>, held: u64, at: &str) -> Result<Option<Renumbered>, StoreError> {
    let held_i = i64::try_from(held).unwrap_or(i64::MAX);
    let next = next_seq(tx)?;
    let lowest: Option<i64> =
        tx.query_row("SELECT min(seq) FROM outbox WHERE acked = 0", [], |r| {
            r.get(0)
        })?;
    let from = lowest.unwrap_or(next);
    if held_i < from || held_i >= i64::MAX - 1 {
        return Ok(None);
    }
    let delta = held_i + 1 - from;
    // Foreign keys (ledger, sales, refunds, shift actions and closes ->
    // outbox.seq) are checked at
    // commit: parent and children move within the transaction.
    tx.execute_batch("PRAGMA defer_foreign_keys = ON")?;
    for table in [
        "ledger",
        "sales",
        "refunds",
        "shift_actions",
        "shift_closes",
    ] {
        tx.execute(
            &format!(
                "UPDATE {table} SET event_seq = event_seq + ?1
                 WHERE event_seq IN (SELECT seq FROM outbox WHERE acked = 0)"
            ),
            [delta],
        )?;
    }
    // Through negative numbers: no two rows ever share a seq on the way.
    let events = tx.execute(
        "UPDATE outbox SET seq = -(seq + ?1) WHERE acked = 0",
        [delta],
    )?;
    tx.execute("UPDATE outbox SET seq = -seq WHERE seq < 0", [])?;
    tx.execute(
        "UPDATE terminal SET next_seq = ?1 WHERE id = 1",
        [next + delta],
    )?;
    let epoch = OutboxEpoch {
        n: current(tx)?.n + 1,
        first_seq: held + 1,
    };
    let events = u64::try_from(events).unwrap_or(0);
    tx.execute(
        "INSERT INTO outbox_epochs (epoch, first_seq, held_seq, from_seq, events, opened_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            i64::try_from(epoch.n).unwrap_or(i64::MAX),
            held_i + 1,
            held_i,
            from,
            i64::try_from(events).unwrap_or(i64::MAX),
            at
        ],
    )?;
    super::audit::append(
        tx,
        at,
        "system",
        "outbox_renumbered",
        &format!("epoch {} from seq {}", epoch.n, epoch.first_seq),
    )?;
    Ok(Some(Renumbered {
        epoch,
        events,
        held_seq: held,
    }))
}

impl Store {
    /// The outbox epoch this store numbers its events in, sent with every
    /// upload.
    pub fn outbox_epoch(&self) -> Result<OutboxEpoch, StoreError> {
        current(self.conn())
    }

    /// Every epoch this store opened: (epoch, events renumbered, head
    /// office's held seq), oldest first.
    pub fn outbox_epochs(&self) -> Result<Vec<Renumbered>, StoreError> {
        let mut stmt = self.conn().prepare(
            "SELECT epoch, first_seq, events, held_seq FROM outbox_epochs ORDER BY epoch",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (n, first_seq, events, held) = row?;
            let int = |v: i64| u64::try_from(v).unwrap_or(0);
            out.push(Renumbered {
                epoch: OutboxEpoch {
                    n: int(n),
                    first_seq: int(first_seq),
                },
                events: int(events),
                held_seq: int(held),
            });
        }
        Ok(out)
    }

    /// Head office holds this terminal's events up to `held_seq`. Above
    /// anything this store issued: the store was rolled back; the waiting
    /// events are renumbered above it and the next ones follow them
    /// (`Some`). Otherwise nothing changes.
    pub fn check_held_seq(&mut self, held_seq: u64) -> Result<Option<Renumbered>, StoreError> {
        let at = self.clock.now().to_rfc3339();
        let renumbered = self.write(|tx, _| {
            let issued = u64::try_from(next_seq(tx)? - 1).unwrap_or(0);
            if held_seq <= issued {
                return Ok(None);
            }
            renumber(tx, held_seq, &at)
        })?;
        log(renumbered.as_ref());
        Ok(renumbered)
    }

    /// Head office refused a batch as a sequence conflict and holds up to
    /// `held_seq`: every waiting event is renumbered above it (`None`
    /// when none waits at or below it: nothing to renumber).
    pub fn renumber_pending(&mut self, held_seq: u64) -> Result<Option<Renumbered>, StoreError> {
        let at = self.clock.now().to_rfc3339();
        let renumbered = self.write(|tx, _| renumber(tx, held_seq, &at))?;
        log(renumbered.as_ref());
        Ok(renumbered)
    }
}

fn log(renumbered: Option<&Renumbered>) {
    if let Some(r) = renumbered {
        tracing::warn!(
            epoch = r.epoch.n,
            first_seq = r.epoch.first_seq,
            events = r.events,
            held_seq = r.held_seq,
            "head office holds more of this terminal than its store: waiting events renumbered"
        );
    }
}
