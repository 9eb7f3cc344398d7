//! Events head office can never take (refused on their own with class
//! `never`: too large, `bad_event`): each is kept in `outbox_quarantine`
//! with head office's code and words, and its outbox row carries a small
//! placeholder instead (`tillcard_protocol::refusal::Quarantined`, same
//! `event_id` and `seq`) that head office dead-letters for review. The
//! queue moves on, the sequence stays gapless, nothing is deleted.

use rusqlite::{OptionalExtension, params};
use tillcard_protocol::refusal::{QUARANTINED_TYPE, Quarantined};

use super::{Store, StoreError};

impl Store {
    /// Quarantines the pending event `seq` (refused with `code`, head
    /// office's `detail`), in one transaction. Returns false if no such
    /// event waits (acknowledged or quarantined meanwhile).
    pub fn quarantine_event(
        &mut self,
        seq: u64,
        code: &str,
        detail: &str,
    ) -> Result<bool, StoreError> {
        let seq = i64::try_from(seq).unwrap_or(i64::MAX);
        let at = self.clock.now().to_rfc3339();
        let (code, detail) = (
            code.to_owned(),
            detail.chars().take(200).collect::<String>(),
        );
        self.write(move |tx, _| {
            let row: Option<(String, String)> = tx
                .query_row(
                    "SELECT kind, payload FROM outbox WHERE seq = ?1 AND acked = 0",
                    [seq],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((kind, payload)) = row else {
                return Ok(false);
            };
            if kind == QUARANTINED_TYPE {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO outbox_quarantine
                     (seq, event_id, kind, payload, code, detail, quarantined_at)
                 SELECT seq, event_id, kind, payload, ?2, ?3, ?4 FROM outbox WHERE seq = ?1",
                params![seq, code, detail, at],
            )?;
            let placeholder = Quarantined::new(&kind, &code, payload.len() as u64);
            tx.execute(
                "UPDATE outbox SET kind = ?2, payload = ?3 WHERE seq = ?1",
                params![seq, QUARANTINED_TYPE, serde_json::to_string(&placeholder)?],
            )?;
            // The kind and sequence only: bodies carry personal data.
            tracing::warn!(seq, kind = %kind, code = %code, "outbox event quarantined");
            Ok(true)
        })
    }

    /// How many events this terminal quarantined, ever.
    pub fn quarantined_count(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn()
            .query_row("SELECT COUNT(*) FROM outbox_quarantine", [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The quarantined events: (seq, kind, code), oldest first.
    pub fn quarantined_events(&self) -> Result<Vec<(u64, String, String)>, StoreError> {
        let mut stmt = self
            .conn()
            .prepare("SELECT seq, kind, code FROM outbox_quarantine ORDER BY seq")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                r.get(1)?,
                r.get(2)?,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
