//! Walk-in sales returned twice in the review queue (issue 24): ingest
//! flags a sale with no member refunded beyond what was sold
//! (`ingest::returns`, `store::walk_in_returns`); the head-office users
//! who work the conflicts (operation `MemberCare`) list the open flags
//! and acknowledge each, once, audited as `walk_in_return_acknowledged`
//! on subject `walk_in_return:<flag_no>`. Acknowledging records who and
//! when and takes the flag off the open list; there is no member to
//! freeze and no ledger to correct, so it is the only action: what to do
//! about the money handed back twice is the store's business.

use super::Hq;
use super::back_office::Actor;
use super::checks::answer;
use super::now;
use crate::error::HqError;
use crate::store::walk_in_returns::{WALK_IN_RETURNS_SHOWN, WalkInReturnCase, subject};

impl Hq {
    /// The open walk-in sales returned twice, newest first.
    pub async fn walk_in_return_queue(&self) -> Result<Vec<WalkInReturnCase>, HqError> {
        Ok(self
            .store
            .open_walk_in_returns(WALK_IN_RETURNS_SHOWN)
            .await?)
    }

    /// Acknowledges an open flag as `actor`, audited. Refused:
    /// `unknown_walk_in_return`, `walk_in_return_acknowledged`.
    pub async fn acknowledge_walk_in_return(
        &self,
        actor: &Actor,
        flag_no: i64,
    ) -> Result<(), HqError> {
        let audit = actor.audit(
            "walk_in_return_acknowledged",
            subject(flag_no),
            String::new(),
        );
        let at = now().to_rfc3339();
        answer(
            self.store
                .acknowledge_walk_in_return(flag_no, &actor.name, &at, &audit)
                .await?,
        )?;
        tracing::info!(flag_no, actor = %actor.name, "walk-in sale returned twice acknowledged");
        Ok(())
    }
}
