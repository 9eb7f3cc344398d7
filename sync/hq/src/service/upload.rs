//! An upload: a terminal's signed batch checked against its limits,
//! ingested exactly once, its audit head checked, and answered with the
//! ack (or a refusal with its class).

use axum::http::StatusCode;

use super::{Hq, now};
use crate::error::HqError;
use crate::ingest::{self, BatchRefusal, ReceivedBatch};
use crate::metrics::{KindLabels, OutcomeLabels};
use crate::store::TerminalRecord;
use std::time::Instant;
use tillcard_protocol::wire::{self, UploadAck};

impl Hq {
    /// Applies an upload batch from an authenticated terminal.
    pub async fn upload(
        &self,
        terminal: &TerminalRecord,
        batch: &ReceivedBatch<'_>,
    ) -> Result<UploadAck, HqError> {
        if batch.protocol_version != wire::PROTOCOL_VERSION {
            return Err(HqError::BadRequest("unsupported protocol_version".into()));
        }
        if batch.events.len() > self.upload_limits.max_events {
            return Err(HqError::TooLarge);
        }
        let started = Instant::now();
        let programs = self.programs_cached().await?;
        let mut prepared =
            ingest::prepare(batch, terminal.terminal_id, &self.ingest_keys, programs)
                .map_err(|e| HqError::BadRequest(e.to_string()))?;
        let named = self.book_merged_onto_survivors(&mut prepared).await?;
        let outcome = self.store.ingest(terminal, prepared, now()).await?;
        if outcome.is_ok() {
            self.sweep_late_merges(&named).await?;
        }
        self.metrics
            .ingest_seconds
            .observe(started.elapsed().as_secs_f64());
        match outcome {
            Ok(plan) => {
                let m = &self.metrics;
                m.batches.inc();
                for (outcome, n) in [
                    ("applied", u64::from(plan.applied)),
                    ("duplicate", u64::from(plan.duplicates)),
                    ("dead_lettered", plan.dead.len() as u64),
                ] {
                    m.events
                        .get_or_create(&OutcomeLabels {
                            outcome: outcome.into(),
                        })
                        .inc_by(n);
                }
                m.dead_letters.inc_by(plan.dead.len() as u64);
                // The reason's code always, its details only when head
                // office wrote them (a decoder's message can quote the
                // event's content, so it stays in the database, readable
                // at /v1/admin/dead-letters).
                for d in &plan.dead {
                    tracing::warn!(
                        terminal = %terminal.terminal_id,
                        seq = d.seq,
                        event_id = %d.event_id,
                        code = d.reason.code.as_str(),
                        detail = d.reason.loggable_detail().unwrap_or("(stored, not logged)"),
                        "event dead-lettered"
                    );
                }
                for flag in plan.audit.iter().flat_map(|a| &a.flags) {
                    m.audit_flags
                        .get_or_create(&KindLabels {
                            kind: flag.kind.into(),
                        })
                        .inc();
                    tracing::warn!(terminal = %terminal.terminal_id, kind = flag.kind, reason = %flag.reason, "terminal flagged by its audit chain");
                }
                for c in &plan.conflicts {
                    m.conflicts
                        .get_or_create(&KindLabels {
                            kind: c.kind.clone(),
                        })
                        .inc();
                    tracing::warn!(terminal = %terminal.terminal_id, seq = c.seq, member = %c.member, kind = %c.kind, "conflict recorded for review");
                }
                tracing::info!(
                    terminal = %terminal.terminal_id,
                    acked = plan.acked_seq,
                    applied = plan.applied,
                    duplicates = plan.duplicates,
                    dead = plan.dead.len(),
                    conflicts = plan.conflicts.len(),
                    "batch"
                );
                Ok(UploadAck {
                    acked_seq: plan.acked_seq,
                    applied: plan.applied,
                    duplicates: plan.duplicates,
                    dead_lettered: u32::try_from(plan.dead.len()).unwrap_or(u32::MAX),
                    held_seq: Some(plan.held_seq),
                })
            }
            Err(BatchRefusal::SequenceConflict {
                seq,
                held_seq,
                renumber: true,
            }) => {
                // An epoch-aware terminal whose store was rolled back: told
                // what head office holds, it renumbers its waiting events
                // above it (PROTOCOL.md, "A terminal rolled back").
                tracing::warn!(terminal = %terminal.terminal_id, seq, held_seq, "sequence conflict: the terminal renumbers");
                Err(HqError::SequenceConflict(
                    format!(
                        "sequence {seq} is already stored with different content; head office holds up to {held_seq}: renumber the waiting events above it"
                    ),
                    held_seq,
                ))
            }
            Err(BatchRefusal::SequenceConflict {
                seq,
                held_seq,
                renumber: false,
            }) => {
                tracing::warn!(terminal = %terminal.terminal_id, seq, "sequence conflict: flagged");
                self.store
                    .flag_terminal(
                        terminal.terminal_id,
                        &format!("sequence {seq} re-sent with different content (possible clone)"),
                        now(),
                    )
                    .await?;
                Err(HqError::SequenceConflict(
                    format!(
                        "sequence {seq} is already stored with different content; terminal flagged for review"
                    ),
                    held_seq,
                ))
            }
            Err(BatchRefusal::Cloned { reason }) => {
                // Flagged at most once per interval: a clone retries.
                if self
                    .flags
                    .should_flag(&terminal.terminal_id.to_string(), Instant::now())
                {
                    tracing::warn!(terminal = %terminal.terminal_id, "a superseded outbox epoch sent new events: flagged");
                    self.store
                        .flag_terminal(terminal.terminal_id, &reason, now())
                        .await?;
                }
                Err(HqError::Refused(
                    StatusCode::CONFLICT,
                    "terminal_cloned",
                    "this terminal renumbered its outbox after a rollback and this copy did not: two live copies of one terminal; flagged for review".into(),
                ))
            }
            Err(BatchRefusal::Malformed(why)) => Err(HqError::BadRequest(why)),
            Err(BatchRefusal::BadEvent(why)) => Err(HqError::Refused(
                axum::http::StatusCode::BAD_REQUEST,
                "bad_event",
                why,
            )),
        }
    }
}
