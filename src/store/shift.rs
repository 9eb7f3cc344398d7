//! The shift close (Z report, issue 24). Every booking writes one
//! `shift_actions` row beside its event ([`record`], in the booking's
//! transaction): the figures the report counts
//! (`tillcard_rules::shift::ShiftAction`) and the clerk who booked it. A
//! shift is every action after the previous close (or since the first);
//! [`Store::shift_report`] adds them up without closing, and
//! [`Store::close_shift`] closes: one transaction writing the close row,
//! its `shift_closed` outbox event and its audit row.

use rusqlite::{OptionalExtension, Transaction, params};
use tillcard_rules::SourceId;
use tillcard_rules::shift::{ShiftAction, ShiftReport};
use tillcard_rules::{Timestamp, timestamp};
use uuid::Uuid;

use super::clerks::Clerk;
use super::events::EventBody;
use super::{Store, StoreError, audit, outbox};

/// A closed shift.
#[derive(Debug, Clone, PartialEq)]
pub struct ShiftClose {
    /// The close's id.
    pub shift: SourceId,
    /// Its outbox sequence number.
    pub seq: i64,
    /// The report, as printed and uploaded.
    pub report: ShiftReport,
}

/// Records what booking number `seq`, by `clerk` at `at`, counts for the
/// shift. Inside the booking's transaction.
pub(crate) fn record(
    tx: &Transaction<'_>,
    seq: i64,
    clerk: &Clerk,
    at: &str,
    action: &ShiftAction,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO shift_actions (event_seq, at, clerk_id, action) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![seq, at, clerk.id(), serde_json::to_string(action)?])?;
    Ok(())
}

fn parse_time(text: &str) -> Result<Timestamp, StoreError> {
    timestamp::parse(text)
        .or_else(|| chrono::DateTime::parse_from_rfc3339(text).ok())
        .ok_or_else(|| StoreError::Damaged(format!("a shift time is not a time: {text}")))
}

/// The report of the shift open at `now`: the actions after the last
/// close.
fn open_shift(conn: &rusqlite::Connection, now: Timestamp) -> Result<ShiftReport, StoreError> {
    let last: Option<(i64, String)> = conn
        .query_row(
            "SELECT event_seq, closed_at FROM shift_closes ORDER BY event_seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let after = last.as_ref().map_or(0, |(seq, _)| *seq);
    let mut stmt = conn.prepare_cached(
        "SELECT event_seq, at, clerk_id, action FROM shift_actions
         WHERE event_seq > ?1 ORDER BY event_seq",
    )?;
    let rows = stmt.query_map([after], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut actions: Vec<(u64, String, ShiftAction)> = Vec::new();
    let mut first_at = None;
    for row in rows {
        let (seq, at, clerk, action) = row?;
        if first_at.is_none() {
            first_at = Some(at);
        }
        let seq = u64::try_from(seq)
            .map_err(|_| StoreError::Damaged(format!("shift action numbered {seq}")))?;
        actions.push((seq, clerk, serde_json::from_str(&action)?));
    }
    let opened_at = match (&last, first_at) {
        (Some((_, closed_at)), _) => Some(parse_time(closed_at)?),
        (None, Some(at)) => Some(parse_time(&at)?),
        (None, None) => None,
    };
    Ok(ShiftReport::build(
        actions
            .iter()
            .map(|(seq, clerk, action)| (*seq, clerk.as_str(), action)),
        opened_at,
        now,
    ))
}

impl Store {
    /// The Z report of the shift open now, per clerk and for the terminal,
    /// without closing it (the counter's preview). Pure read.
    pub fn shift_report(&self) -> Result<ShiftReport, StoreError> {
        open_shift(self.conn(), self.clock.now())
    }

    /// Closes the shift now, by `clerk`: its report, the close row, the
    /// `shift_closed` outbox event and the audit row, in one transaction.
    /// The next shift starts after it. A shift with nothing in it closes
    /// too (a zero report, as a till's Z report does).
    pub fn close_shift(&mut self, clerk: &Clerk) -> Result<ShiftClose, StoreError> {
        let shift = SourceId(Uuid::now_v7());
        let close = self.write(|tx, ctx| {
            let now = ctx.clock.now();
            let report = open_shift(tx, now)?;
            let body = EventBody::ShiftClosed {
                shift,
                closed_by: clerk.id().to_owned(),
                report: Box::new(report.clone()),
            };
            let seq = outbox::append(tx, ctx, &body)?;
            tx.execute(
                "INSERT INTO shift_closes (shift_id, closed_at, clerk_id, report, event_seq)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    shift.0.to_string(),
                    now.to_rfc3339(),
                    clerk.id(),
                    serde_json::to_string(&report)?,
                    seq
                ],
            )?;
            audit::append(
                tx,
                &now.to_rfc3339(),
                clerk.id(),
                "close_shift",
                &format!("{} seq {}..{}", shift.0, report.first_seq, report.last_seq),
            )?;
            Ok(ShiftClose { shift, seq, report })
        })?;
        tracing::info!(
            shift = %close.shift.0,
            seq = close.seq,
            sales = close.report.terminal.sales,
            refunds = close.report.terminal.refunds,
            "shift closed"
        );
        Ok(close)
    }

    /// The closed shifts, newest first, at most `limit`.
    pub fn shift_closes(&self, limit: usize) -> Result<Vec<ShiftClose>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT shift_id, event_seq, report FROM shift_closes
             ORDER BY event_seq DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut closes = Vec::new();
        for row in rows {
            let (shift, seq, report) = row?;
            closes.push(ShiftClose {
                shift: SourceId(
                    Uuid::parse_str(&shift)
                        .map_err(|e| StoreError::Damaged(format!("shift id: {e}")))?,
                ),
                seq,
                report: serde_json::from_str(&report)?,
            });
        }
        Ok(closes)
    }
}
