//! Conflicts as a work queue: what ingest recorded for review (a balance
//! gone negative, a coupon used twice, one phone enrolled twice, a sale
//! beyond the program), worked through by head-office users.
//!
//! Each conflict is open until it is resolved, with the action taken, or
//! dismissed, with the reason; it may be assigned to a head-office user
//! meanwhile. Every step is audited (subject `conflict:<member>/<number>`).
//! Resolving with `freeze` freezes the member first (member care, its own
//! audit row) and then closes the conflict: should the second step fail,
//! the member stays frozen and the conflict open, and trying again closes
//! it (freezing twice changes nothing). `adjust` and `merge` follow the
//! same order, each retry-safe:
//! - `adjust` books a signed points adjustment as member money does
//!   (`service::member_money`, audited on the member) under an action id
//!   derived from the conflict ([`adjust_source`]), so a retry finds it
//!   booked and only closes. Above member money's points threshold it is
//!   refused (`needs_second_approver`): the adjustment then goes through
//!   member money with its second approver, and the conflict is resolved
//!   with `accept` (a conflict held open on a pending request would close
//!   on someone else's decision, outside this step).
//! - `merge` (only for `duplicate_phone`: else `not_duplicate_phone`)
//!   merges the duplicate member into the member it duplicates with member
//!   care's merge (`service::merge`); a merge refused (`different_phones`,
//!   ...) leaves the conflict open; a retry finds the merge done and only
//!   closes.

use chrono::Duration;
use serde::Serialize;

use axum::http::StatusCode;
use tillcard_rules::ids::SourceId;

use super::back_office::Actor;
use super::checks::{answer, bad, check_text, refusal};
use super::member_care::MAX_REASON_CHARS;
use super::{Hq, now};
pub use crate::admin::Resolution;
use crate::error::HqError;
use crate::store::{BackOfficeRefusal, ConflictCase, ConflictClose, ConflictId};

/// The most conflicts the queue lists.
pub const QUEUE_SHOWN: i64 = 500;

/// Open conflicts of one kind by age.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KindCount {
    /// The kind.
    pub kind: String,
    /// Open, recorded under a day ago.
    pub under_a_day: u64,
    /// Open, a day to a week old.
    pub under_a_week: u64,
    /// Open, older than a week.
    pub older: u64,
    /// Closed (resolved or dismissed).
    pub closed: u64,
}

/// The queue's counts by kind and age at `at` (kinds in name order).
pub fn counts(cases: &[ConflictCase], at: chrono::DateTime<chrono::FixedOffset>) -> Vec<KindCount> {
    let mut by_kind: std::collections::BTreeMap<&str, KindCount> = Default::default();
    for case in cases {
        let count = by_kind
            .entry(case.kind.as_str())
            .or_insert_with(|| KindCount {
                kind: case.kind.clone(),
                under_a_day: 0,
                under_a_week: 0,
                older: 0,
                closed: 0,
            });
        if case.state != "open" {
            count.closed += 1;
            continue;
        }
        let age = chrono::DateTime::parse_from_rfc3339(&case.at).map(|recorded| at - recorded);
        match age {
            Ok(age) if age < Duration::days(1) => count.under_a_day += 1,
            Ok(age) if age < Duration::days(7) => count.under_a_week += 1,
            _ => count.older += 1,
        }
    }
    by_kind.into_values().collect()
}

/// How a review item closes now by `actor`: `resolved` with the action
/// taken, or `dismissed` (no action) with the reason as its note.
pub(super) fn closing(
    actor: &Actor,
    resolution: Option<&'static str>,
    note: &str,
) -> ConflictClose {
    ConflictClose {
        state: if resolution.is_some() {
            "resolved"
        } else {
            "dismissed"
        },
        resolution,
        note: note.to_string(),
        by: actor.name.clone(),
        at: now().to_rfc3339(),
    }
}

fn subject(id: ConflictId) -> String {
    format!("conflict:{}/{}", id.member, id.number)
}

impl Hq {
    /// The queue: open conflicts first, newest first in each part.
    pub async fn conflict_queue(&self) -> Result<Vec<ConflictCase>, HqError> {
        Ok(self.store.conflict_cases(QUEUE_SHOWN).await?)
    }

    /// Assigns an open conflict to the head-office user `assignee`.
    /// Refused: `unknown_user`, `unknown_conflict`, `conflict_closed`.
    pub async fn assign_conflict(
        &self,
        actor: &Actor,
        id: ConflictId,
        assignee: &str,
    ) -> Result<(), HqError> {
        let assignee = assignee.trim();
        if assignee.is_empty() || self.store.user(assignee).await?.is_none() {
            return Err(refusal(BackOfficeRefusal::UnknownUser));
        }
        let audit = actor.audit("conflict_assigned", subject(id), assignee.to_string());
        answer(self.store.assign_conflict(id, assignee, &audit).await?)?;
        tracing::info!(member = %id.member, conflict = id.number, actor = %actor.name, "conflict assigned");
        Ok(())
    }

    /// Resolves an open conflict with `action` (`points` for `adjust`)
    /// and a note. Refused: `invalid_reason`, `unknown_conflict`,
    /// `conflict_closed`, `invalid_points` (an `adjust` without points, or
    /// points with another action), `not_duplicate_phone` (a `merge` of
    /// another kind), and what freezing, the adjustment or the merge
    /// refuses.
    pub async fn resolve_conflict(
        &self,
        actor: &Actor,
        id: ConflictId,
        action: Resolution,
        points: Option<i64>,
        note: &str,
    ) -> Result<(), HqError> {
        let note = note.trim();
        check_text("invalid_reason", "note", note, MAX_REASON_CHARS, false)?;
        if points.is_some() != (action == Resolution::Adjust) {
            return Err(bad(
                "invalid_points",
                "points go with the action adjust, and adjust needs them",
            ));
        }
        let reason = format!("conflict {}: {note}", id.number);
        let mut detail = format!("{}: {note}", action.as_str());
        match action {
            Resolution::Accept => {}
            Resolution::Freeze => {
                // Refused before the freeze: a closed conflict freezes no one.
                self.check_open(id).await?;
                self.set_member_frozen(actor, id.member, true, &reason)
                    .await?;
            }
            Resolution::Adjust => {
                let case = self.check_open(id).await?;
                let points = points.unwrap_or_default();
                self.adjust_points_for_conflict(
                    actor,
                    id.member,
                    points,
                    &reason,
                    adjust_source(id, &case.at),
                )
                .await?;
                detail = format!("adjust {points:+} points: {note}");
            }
            Resolution::Merge => {
                let case = self.check_open(id).await?;
                let record = self.store.member(id.member).await?.map(|(r, _)| r);
                let duplicated = record.as_ref().and_then(|r| r.duplicate_of);
                let (Some(record), Some(survivor), "duplicate_phone") =
                    (record, duplicated, case.kind.as_str())
                else {
                    return Err(HqError::Refused(
                        StatusCode::CONFLICT,
                        "not_duplicate_phone",
                        "only a duplicate_phone conflict is resolved by a merge".into(),
                    ));
                };
                if record.merged_into != Some(survivor) {
                    self.merge_members(actor, id.member, survivor, &reason)
                        .await?;
                }
                detail = format!("merge into {survivor}: {note}");
            }
        }
        let close = closing(actor, Some(action.as_str()), note);
        let audit = actor.audit("conflict_resolved", subject(id), detail);
        answer(self.store.close_conflict(id, &close, &audit).await?)?;
        tracing::info!(member = %id.member, conflict = id.number, action = action.as_str(), actor = %actor.name, "conflict resolved");
        Ok(())
    }

    /// Dismisses an open conflict with the reason. Refused:
    /// `invalid_reason`, `unknown_conflict`, `conflict_closed`.
    pub async fn dismiss_conflict(
        &self,
        actor: &Actor,
        id: ConflictId,
        reason: &str,
    ) -> Result<(), HqError> {
        let reason = reason.trim();
        check_text("invalid_reason", "reason", reason, MAX_REASON_CHARS, false)?;
        let close = closing(actor, None, reason);
        let audit = actor.audit("conflict_dismissed", subject(id), reason.to_string());
        answer(self.store.close_conflict(id, &close, &audit).await?)?;
        tracing::info!(member = %id.member, conflict = id.number, actor = %actor.name, "conflict dismissed");
        Ok(())
    }

    /// Refuses a conflict that is unknown or closed before any action on
    /// it (a freeze for a closed conflict would be one too many); the open
    /// conflict otherwise.
    async fn check_open(&self, id: ConflictId) -> Result<ConflictCase, HqError> {
        match self.store.conflict_case(id).await? {
            None => Err(refusal(BackOfficeRefusal::UnknownConflict)),
            Some(case) if case.state != "open" => Err(refusal(BackOfficeRefusal::ConflictClosed)),
            Some(case) => Ok(case),
        }
    }
}

/// The action id of a conflict's `adjust`: a UUIDv7 whose moment is the
/// conflict's (recorded at `at`, RFC 3339) and whose other bits are a hash
/// of the conflict's key, so every try of one conflict's adjustment names
/// the same action (booked once) and no two conflicts share one.
pub fn adjust_source(id: ConflictId, at: &str) -> SourceId {
    use sha2::{Digest, Sha256};
    let millis = chrono::DateTime::parse_from_rfc3339(at)
        .map(|t| t.timestamp_millis())
        .unwrap_or(0)
        .clamp(0, (1 << 48) - 1);
    let hash = Sha256::digest(format!("conflict-adjust:{}/{}", id.member, id.number));
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    bytes[6..].copy_from_slice(&hash[..10]);
    bytes[6] = 0x70 | (bytes[6] & 0x0f);
    bytes[8] = 0x80 | (bytes[8] & 0x3f);
    SourceId(uuid::Uuid::from_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(kind: &str, at: &str, state: &str) -> ConflictCase {
        ConflictCase {
            member_id: tillcard_rules::MemberId(uuid::Uuid::nil()),
            conflict_no: 1,
            kind: kind.into(),
            reason: String::new(),
            terminal_id: None,
            seq: None,
            at: at.into(),
            state: state.into(),
            assignee: None,
            resolution: None,
            note: None,
            closed_by: None,
            closed_at: None,
        }
    }

    #[test]
    fn open_conflicts_are_counted_by_kind_and_age_and_closed_ones_apart() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-10T12:00:00+08:00").unwrap();
        let cases = [
            case("negative_balance", "2026-12-10T09:00:00+08:00", "open"),
            case("negative_balance", "2026-12-08T09:00:00+08:00", "open"),
            case("negative_balance", "2026-11-01T09:00:00+08:00", "open"),
            case("negative_balance", "2026-11-01T09:00:00+08:00", "dismissed"),
            case("duplicate_phone", "2026-12-10T11:00:00+08:00", "resolved"),
        ];
        let counts = counts(&cases, now);
        let row = |kind: &str| counts.iter().find(|c| c.kind == kind).unwrap();
        let n = row("negative_balance");
        assert_eq!(
            (n.under_a_day, n.under_a_week, n.older, n.closed),
            (1, 1, 1, 1)
        );
        let d = row("duplicate_phone");
        assert_eq!(
            (d.under_a_day, d.under_a_week, d.older, d.closed),
            (0, 0, 0, 1)
        );
        assert_eq!(counts[0].kind, "duplicate_phone", "kinds in name order");
    }
}
