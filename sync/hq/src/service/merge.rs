//! Member care's merge of two accounts of one phone (a phone enrolled
//! twice, at two stores offline: head office flags the second as the
//! first's duplicate).
//!
//! A merge names the member merged away and the survivor. Refused, with
//! nothing written: the same member twice (`merge_same_member`), either
//! unknown or erased (`unknown_member`), either merged before
//! (`already_merged`), phones that differ (`different_phones`: compared
//! as head office's phone key, the keyed hash of the digits). Otherwise,
//! in one transaction:
//! - every ledger entry of the merged-away member moves to the survivor,
//!   rewritten to name it: the survivor's balances are the fold of both
//!   ledgers (points lots and coupons are keyed by the actions that made
//!   them, unique chain-wide, so nothing collides; stored value, points
//!   and spend add up; the tier is the one set last);
//! - the merged-away member is marked `merged_into` the survivor (both
//!   are shown in member care: "merged into" on one, "merged from" on the
//!   other) and never owns the phone again;
//! - both go down to every terminal: the survivor's snapshot with the
//!   summed balances, and the merged-away member's with `merged_into`, so
//!   a terminal serves the survivor for the old member's card or phone;
//! - an audit row on each side (`member_merged_into` on the merged-away
//!   member, `member_merged_from` on the survivor), the operator's reason
//!   as detail.
//!
//! Events an offline terminal uploads later about the merged-away member
//! are booked onto the survivor at ingest ([`Hq::book_merged_onto_survivors`]
//! before the batch, [`Hq::sweep_late_merges`] after it for a batch that
//! read its members just before a merge committed).

use std::collections::HashMap;

use tillcard_rules::ids::MemberId;

use super::Hq;
use super::back_office::Actor;
use super::checks::{answer, check_text, refusal};
use super::member_care::MAX_REASON_CHARS;
use crate::error::HqError;
use crate::ingest::Prepared;
use crate::store::BackOfficeRefusal;

impl Hq {
    /// Merges `merged` into `survivor` with `reason` in the audit trail
    /// (see the module's documentation). Refused: `invalid_reason`,
    /// `merge_same_member`, `unknown_member`, `already_merged`,
    /// `different_phones`.
    pub async fn merge_members(
        &self,
        actor: &Actor,
        merged: MemberId,
        survivor: MemberId,
        reason: &str,
    ) -> Result<(), HqError> {
        let reason = reason.trim();
        check_text("invalid_reason", "reason", reason, MAX_REASON_CHARS, false)?;
        if merged == survivor {
            return Err(refusal(BackOfficeRefusal::MergeSameMember));
        }
        let audits = [
            actor.audit(
                "member_merged_into",
                format!("member:{merged}"),
                reason.to_string(),
            ),
            actor.audit(
                "member_merged_from",
                format!("member:{survivor}"),
                reason.to_string(),
            ),
        ];
        answer(self.store.merge_members(merged, survivor, &audits).await?)?;
        tracing::info!(merged = %merged, survivor = %survivor, actor = %actor.name, "members merged");
        Ok(())
    }

    /// Rewrites a batch's events about merged-away members to name their
    /// survivors (`Prepared::book_onto_survivors`). Returns the members
    /// the batch names, for [`Hq::sweep_late_merges`].
    pub(super) async fn book_merged_onto_survivors(
        &self,
        prepared: &mut Prepared,
    ) -> Result<Vec<MemberId>, HqError> {
        let named: Vec<MemberId> = prepared.member_ids().into_iter().collect();
        if named.is_empty() {
            return Ok(named);
        }
        let survivors: HashMap<MemberId, MemberId> = self
            .store
            .merges_of(&named)
            .await?
            .into_iter()
            .filter(|(merged, _)| named.contains(merged))
            .collect();
        if !survivors.is_empty() {
            let events = prepared.book_onto_survivors(&survivors);
            tracing::info!(
                events,
                "events about merged-away members booked onto their survivors"
            );
        }
        Ok(named)
    }

    /// After a batch: entries it booked on a member merged meanwhile (the
    /// merge committed between [`Hq::book_merged_onto_survivors`] and the
    /// batch's transaction) move to the survivor.
    pub(super) async fn sweep_late_merges(&self, named: &[MemberId]) -> Result<(), HqError> {
        if named.is_empty() {
            return Ok(());
        }
        for (merged, _) in self.store.merges_of(named).await? {
            if named.contains(&merged) {
                let moved = self.store.sweep_merged(merged).await?;
                if moved > 0 {
                    tracing::warn!(member = %merged, moved, "entries booked after a merge moved to the survivor");
                }
            }
        }
        Ok(())
    }
}
