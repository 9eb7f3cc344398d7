//! How long the outbox keeps what head office has acknowledged (issue 21:
//! an erasure reaches the outbox too).
//!
//! - At the acknowledgement, an enrollment event loses the personal fields
//!   this terminal could read (masked name, birthday; the masked phone
//!   becomes all `*`). Its sealed phone and name stay until the retention
//!   ends: only head office's private key opens them, and a head office
//!   restored from a backup needs them to enroll the member again.
//! - After the retention (default [`DEFAULT_OUTBOX_RETENTION`], 30 days
//!   from the acknowledgement), an acknowledged event's body is deleted
//!   ([`Store::prune_outbox`], a periodic step the uplink runs on the
//!   store's thread with its clock's time). The row keeps its number, id,
//!   kind and time: the ledger, sales and refunds name their event by
//!   number (foreign keys), and the sequence stays gapless.
//! - The retention must cover head office's backup window: a head office
//!   restored from a backup older than the retention asks for events whose
//!   bodies are gone, and the upload stops with that said
//!   ([`pruned_event`]) instead of sending something else.
//! - An erasure from head office drops every personal field, sealed ones
//!   included, at once (`store::erasure`).

use std::time::Duration;

use chrono::SecondsFormat;
use rusqlite::{Transaction, params};
use tillcard_protocol::wire::EventBody;
use tillcard_rules::Timestamp;

use super::{Store, StoreError};

/// Acknowledged events' bodies are kept 30 days: longer than head office's
/// documented backup window (daily backups kept a week, restored within
/// days), short enough that a stolen disk holds a month of sealed
/// enrollments at most.
pub const DEFAULT_OUTBOX_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

/// How many events' bodies one pruning transaction deletes at most.
pub const PRUNE_STEP: usize = 1000;

/// The moment as stored in `outbox.acked_at` (UTC, seconds, `Z`): text
/// that sorts as time.
pub(crate) fn stamp(at: Timestamp) -> String {
    at.with_timezone(&chrono::Utc)
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Drops the readable personal fields of the enrollment events an
/// acknowledgement through `through_seq` is about to cover (those still
/// pending up to it): masked name, birthday, masked phone turned to `*`s.
/// The sealed fields stay (see the module). Reads the acknowledged batch
/// only, never the events acknowledged before it.
pub(crate) fn scrub_acked(tx: &Transaction<'_>, through_seq: i64) -> Result<usize, StoreError> {
    let rows: Vec<(i64, String)> = tx
        .prepare_cached(
            "SELECT seq, payload FROM outbox
             WHERE acked = 0 AND seq <= ?1 AND kind = 'member_enrolled'",
        )?
        .query_map([through_seq], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut scrubbed = 0;
    for (seq, payload) in rows {
        let Ok(mut body) = serde_json::from_str::<EventBody>(&payload) else {
            continue;
        };
        let EventBody::MemberEnrolled {
            masked_name,
            masked_phone,
            birthday,
            ..
        } = &mut body
        else {
            continue;
        };
        *masked_name = None;
        *birthday = None;
        *masked_phone = "*".repeat(masked_phone.chars().count());
        tx.execute(
            "UPDATE outbox SET payload = ?2 WHERE seq = ?1",
            params![seq, serde_json::to_string(&body)?],
        )?;
        scrubbed += 1;
    }
    Ok(scrubbed)
}

/// The refusal of an upload that would need a pruned event's body.
pub(crate) fn pruned_event(seq: u64) -> StoreError {
    StoreError::Damaged(format!(
        "head office asks again for event #{seq}, whose body was deleted after the outbox \
         retention: head office was restored from a backup older than the retention \
         (docs/STORE.md, outbox retention)"
    ))
}

impl Store {
    /// Deletes the bodies of events head office acknowledged more than
    /// `retention` before `now`; returns how many. One transaction per
    /// [`PRUNE_STEP`] events, so the first prune after a long offline day
    /// does not grow the write-ahead log past its bound
    /// ([`super::WAL_BOUND_BYTES`]); a stop between steps leaves the rest
    /// for the next round.
    pub fn prune_outbox(
        &mut self,
        now: Timestamp,
        retention: Duration,
    ) -> Result<usize, StoreError> {
        let retention = chrono::Duration::from_std(retention)
            .map_err(|_| StoreError::Damaged("outbox retention out of range".into()))?;
        let cutoff = stamp(now - retention);
        let mut pruned = 0;
        loop {
            let step = self.write(|tx, _| {
                Ok(tx.execute(
                    // By the acknowledgement time's index (schema 23):
                    // the uplink asks at every idle round, and a month of
                    // acknowledged events within the retention must not
                    // be read each time to find none past it.
                    "UPDATE outbox SET payload = '', pruned = 1
                     WHERE seq IN (SELECT seq FROM outbox INDEXED BY outbox_unpruned_by_ack
                                   WHERE acked = 1 AND pruned = 0 AND acked_at < ?1
                                   ORDER BY acked_at LIMIT ?2)",
                    rusqlite::params![cutoff, PRUNE_STEP as i64],
                )?)
            })?;
            pruned += step;
            if step < PRUNE_STEP {
                break;
            }
        }
        if pruned > 0 {
            tracing::info!(
                pruned,
                "acknowledged outbox events pruned after the retention"
            );
        }
        Ok(pruned)
    }
}
