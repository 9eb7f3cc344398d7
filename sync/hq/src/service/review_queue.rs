//! Dead letters and terminal flags in the review queue, beside the
//! conflicts (`service::conflicts`): each open until closed once, assigned
//! to a head-office user meanwhile, every step audited (subjects
//! `dead_letter:<terminal>/<seq>` and `flag:<id>`).
//!
//! A dead letter is dismissed with the reason, or re-applied after the
//! fix (head office's sealing key restored, a points adjustment that lets
//! a redemption fit): the event is rebuilt from what its dead letter kept
//! (`ingest::prepare_stored`, the same reading as an upload's) and goes
//! through the batch's own load, plan and write in one transaction that
//! first deletes its dead `events` row and its open dead letter
//! (`Store::reapply_dead_letter`). Applied, it leaves the queue (ledger,
//! figures and conflicts as for any batch; `dead_letter_reapplied`);
//! refused again, it is dead-lettered again with the new reason and
//! nothing else changes (`dead_letter_still_refused`, answered
//! `still_refused` with the reason's code).
//!
//! A flag is accepted as a false alarm, resolved by revoking the terminal
//! (the terminal revoke, audited on the terminal, first; then the close:
//! should the close fail, trying again revokes once more, which changes
//! nothing, and closes it), or dismissed with the reason.

use tillcard_rules::ids::Timestamp;
use uuid::Uuid;

use super::back_office::Actor;
use super::checks::{answer, check_text, refusal};
use super::conflicts::closing;
use super::member_care::MAX_REASON_CHARS;
use super::{Hq, now};
pub use crate::admin::{FlagResolution, ReapplyOutcome};
use crate::error::HqError;
use crate::ingest::{self, Prepared};
use crate::store::{
    BackOfficeRefusal, DeadLetterCase, DeadLetterId, FlagCase, Reapplied, ReviewItem, StoreError,
};

/// The most dead letters or flags the queue lists.
pub const ITEMS_SHOWN: i64 = 500;

/// The audit trail's name of a step on an item: `dead_letter_<step>` or
/// `flag_<step>`.
fn action(item: ReviewItem, step: &str) -> String {
    match item {
        ReviewItem::DeadLetter(_) => format!("dead_letter_{step}"),
        ReviewItem::Flag(_) => format!("flag_{step}"),
    }
}

impl Hq {
    /// The dead letters as a work queue: open ones first, newest first.
    pub async fn dead_letter_queue(&self) -> Result<Vec<DeadLetterCase>, HqError> {
        Ok(self.store.dead_letter_cases(ITEMS_SHOWN).await?)
    }

    /// The terminal flags as a work queue: open ones first, newest first.
    pub async fn flag_queue(&self) -> Result<Vec<FlagCase>, HqError> {
        Ok(self.store.flag_cases(ITEMS_SHOWN).await?)
    }

    /// Assigns an open dead letter or flag to the head-office user
    /// `assignee`. Refused: `unknown_user`, `unknown_dead_letter`,
    /// `dead_letter_closed`, `unknown_flag`, `flag_closed`.
    pub async fn assign_review_item(
        &self,
        actor: &Actor,
        item: ReviewItem,
        assignee: &str,
    ) -> Result<(), HqError> {
        let assignee = assignee.trim();
        if assignee.is_empty() || self.store.user(assignee).await?.is_none() {
            return Err(refusal(BackOfficeRefusal::UnknownUser));
        }
        let audit = actor.audit(
            &action(item, "assigned"),
            item.subject(),
            assignee.to_string(),
        );
        answer(
            self.store
                .assign_review_item(item, assignee, &audit)
                .await?,
        )?;
        tracing::info!(item = %item.subject(), actor = %actor.name, "review item assigned");
        Ok(())
    }

    /// Dismisses an open dead letter or flag with the reason. Refused:
    /// `invalid_reason`, `unknown_dead_letter`, `dead_letter_closed`,
    /// `unknown_flag`, `flag_closed`.
    pub async fn dismiss_review_item(
        &self,
        actor: &Actor,
        item: ReviewItem,
        reason: &str,
    ) -> Result<(), HqError> {
        let reason = reason.trim();
        check_text("invalid_reason", "reason", reason, MAX_REASON_CHARS, false)?;
        let close = closing(actor, None, reason);
        let audit = actor.audit(
            &action(item, "dismissed"),
            item.subject(),
            reason.to_string(),
        );
        answer(self.store.close_review_item(item, &close, &audit).await?)?;
        tracing::info!(item = %item.subject(), actor = %actor.name, "review item dismissed");
        Ok(())
    }

    /// Resolves an open flag: `accept` (a false alarm) or `revoke` (the
    /// terminal revoked first, then the flag closed). Refused:
    /// `invalid_reason`, `unknown_flag`, `flag_closed` (and what revoking
    /// refuses).
    pub async fn resolve_flag(
        &self,
        actor: &Actor,
        id: i64,
        resolution: FlagResolution,
        note: &str,
    ) -> Result<(), HqError> {
        let note = note.trim();
        check_text("invalid_reason", "note", note, MAX_REASON_CHARS, false)?;
        let item = ReviewItem::Flag(id);
        if resolution == FlagResolution::Revoke {
            // Refused before the revoke: a closed flag revokes nothing.
            let flag = match self.store.flag_case(id).await? {
                None => return Err(refusal(BackOfficeRefusal::UnknownFlag)),
                Some(flag) if flag.state != "open" => {
                    return Err(refusal(BackOfficeRefusal::FlagClosed));
                }
                Some(flag) => flag,
            };
            self.revoke_terminal(actor, flag.terminal_id).await?;
        }
        let close = closing(actor, Some(resolution.as_str()), note);
        let audit = actor.audit(
            "flag_resolved",
            item.subject(),
            format!("{}: {note}", resolution.as_str()),
        );
        answer(self.store.close_review_item(item, &close, &audit).await?)?;
        tracing::info!(flag = id, action = resolution.as_str(), actor = %actor.name, "terminal flag resolved");
        Ok(())
    }

    /// Re-applies an open dead letter (see the module's documentation).
    /// Refused: `unknown_dead_letter`, `dead_letter_closed`,
    /// `not_dead_lettered` (re-applied meanwhile).
    pub async fn reapply_dead_letter(
        &self,
        actor: &Actor,
        id: DeadLetterId,
    ) -> Result<ReapplyOutcome, HqError> {
        let Some((case, body)) = self.store.dead_letter_case(id).await? else {
            return Err(refusal(BackOfficeRefusal::UnknownDeadLetter));
        };
        if case.state != "open" {
            return Err(refusal(BackOfficeRefusal::DeadLetterClosed));
        }
        let Some(terminal) = self.store.terminal(id.terminal).await? else {
            return Err(refusal(BackOfficeRefusal::UnknownDeadLetter));
        };
        let corrupt = |what: &str| HqError::Internal(StoreError::Corrupt(what.into()));
        let event_id: Uuid = case
            .event_id
            .parse()
            .map_err(|_| corrupt("dead letter event id"))?;
        let wall_time = Timestamp::parse_from_rfc3339(&case.wall_time)
            .map_err(|_| corrupt("dead letter wall time"))?;
        // A body erased with its member reads as nothing: undecodable.
        let event = ingest::prepare_stored(
            id.seq,
            event_id,
            wall_time,
            case.schema_version,
            body.as_deref().unwrap_or_default(),
            String::new(),
            &self.ingest_keys,
        );
        let mut prepared = Prepared {
            events: vec![event],
            programs: self.programs_cached().await?,
            outbox_head_seq: None,
            app_version: None,
            audit: None,
            epoch: None,
        };
        let named = self.book_merged_onto_survivors(&mut prepared).await?;
        let audit = actor.audit(
            "dead_letter_reapplied",
            ReviewItem::DeadLetter(id).subject(),
            String::new(),
        );
        let plan = match self
            .store
            .reapply_dead_letter(&terminal, prepared, now(), &audit)
            .await?
        {
            Reapplied::NotDeadLettered => {
                return Err(refusal(BackOfficeRefusal::NotDeadLettered));
            }
            Reapplied::Planned(plan) => plan,
        };
        self.sweep_late_merges(&named).await?;
        for c in &plan.conflicts {
            tracing::warn!(terminal = %id.terminal, seq = c.seq, member = %c.member, kind = %c.kind, "conflict recorded for review");
        }
        let conflicts = u32::try_from(plan.conflicts.len()).unwrap_or(u32::MAX);
        Ok(match plan.dead.first() {
            None => {
                tracing::info!(terminal = %id.terminal, seq = id.seq, actor = %actor.name, "dead letter re-applied");
                ReapplyOutcome {
                    state: "applied".into(),
                    code: None,
                    conflicts,
                }
            }
            Some(dead) => {
                let code = dead.reason.code.as_str();
                tracing::warn!(terminal = %id.terminal, seq = id.seq, code, actor = %actor.name, "dead letter re-applied and refused again");
                ReapplyOutcome {
                    state: "still_refused".into(),
                    code: Some(code.to_string()),
                    conflicts,
                }
            }
        })
    }
}
