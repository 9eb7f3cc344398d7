//! Head office's time minus this terminal's wall clock, as last learned
//! (issue 22, clock skew; migration 21): written when the corrected clock
//! (`server_time`) re-anchors on an answer, read at start-up so a restart
//! offline still knows it.

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError};

impl Store {
    /// The offset last learned (ms), if any.
    pub fn clock_offset(&self) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT offset_ms FROM clock_offset WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Records the offset just learned (ms).
    pub fn record_clock_offset(&mut self, offset_ms: i64) -> Result<(), StoreError> {
        let at = self.clock.now().to_rfc3339();
        self.conn().execute(
            "INSERT INTO clock_offset (id, offset_ms, learned_at) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET offset_ms = excluded.offset_ms,
                 learned_at = excluded.learned_at",
            params![offset_ms, at],
        )?;
        Ok(())
    }
}
