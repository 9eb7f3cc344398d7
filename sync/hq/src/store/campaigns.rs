//! What the store keeps for campaigns ([`crate::campaigns`]): the
//! campaigns, who each reached (treated or control), the nightly RFM
//! segments, and the facts segments are tested against. A trait of its own
//! beside [`super::Store`], which requires it, so both backends keep the
//! campaigns' SQL in one file each.

use tillcard_rules::ids::MemberId;

use super::back_office::AuditEntry;
use super::{BackOffice, StoreResult};
use crate::campaigns::figures::{MemberSale, ReachedMember};
use crate::campaigns::issue::Grant;
use crate::campaigns::rfm::{RfmInput, RfmScore};
use crate::campaigns::{CampaignRecord, MemberFacts};

/// What recording a run's grants did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GrantOutcome {
    /// Members newly given coupons.
    pub treated: u64,
    /// Members newly held back.
    pub control: u64,
    /// Coupons issued.
    pub coupons: u64,
    /// The budget ran out: grants were left unrecorded.
    pub budget_spent: bool,
}

/// The campaigns' storage.
#[async_trait::async_trait]
pub trait CampaignStore {
    /// Creates a campaign (`issued` and the groups at 0) with its audit
    /// row; refused when the code is taken.
    async fn create_campaign(
        &self,
        campaign: &CampaignRecord,
        audit: &AuditEntry,
    ) -> BackOffice<()>;
    /// Stops an active campaign for good, with its audit row.
    async fn stop_campaign(&self, code: &str, audit: &AuditEntry) -> BackOffice<()>;
    /// Every campaign, newest first.
    async fn campaigns(&self) -> StoreResult<Vec<CampaignRecord>>;
    /// One campaign.
    async fn campaign(&self, code: &str) -> StoreResult<Option<CampaignRecord>>;
    /// The facts of up to `limit` members after `after` (member id order)
    /// that `code` has not reached and that are not erased: purchases and
    /// spend as of `now_ms`, spend from `since_ms`.
    async fn segment_facts(
        &self,
        code: &str,
        after: Option<MemberId>,
        limit: i64,
        since_ms: i64,
        now_ms: i64,
    ) -> StoreResult<Vec<MemberFacts>>;
    /// Records grants in ONE transaction, in order, until the campaign's
    /// budget would be passed: each member reached (skipped if reached
    /// already), a treated member's coupons in their ledger with the member
    /// change for the downlink, the campaign's counts.
    async fn record_grants(
        &self,
        code: &str,
        grants: &[Grant],
        reached_at_ms: i64,
    ) -> StoreResult<GrantOutcome>;
    /// The members a campaign reached.
    async fn reached_members(&self, code: &str) -> StoreResult<Vec<ReachedMember>>;
    /// The sales of the members a campaign reached, from `from_ms`.
    async fn reached_sales(&self, code: &str, from_ms: i64) -> StoreResult<Vec<MemberSale>>;
    /// Every member's purchases from `since_ms` to `now_ms` (erased ones
    /// left out).
    async fn rfm_inputs(&self, since_ms: i64, now_ms: i64) -> StoreResult<Vec<RfmInput>>;
    /// Replaces every member's RFM segment with `scores`, computed for
    /// `day`, in one transaction.
    async fn store_rfm(&self, scores: &[RfmScore], day: &str) -> StoreResult<()>;
}
