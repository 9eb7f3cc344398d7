//! Campaigns as head office's operations ([`crate::campaigns`] holds the
//! pure rules): creating one (checked against the program in force),
//! stopping it, running it at a moment (the daily job runs every active
//! one; "run now" one), its figures, the nightly RFM segments and the
//! program's birthday coupons.
//!
//! The program's birthday coupon (`coupons.birthday`) is issued as a
//! campaign of its own each year, `birthday-<year>`, created by the job on
//! its first run of the year with the template in force then: a member
//! gets it on the first daily run of their birthday month (the run at the
//! start of the month, or the first after they enrolled), once a year, and
//! its figures are a campaign's like any other.

use chrono::{Datelike, Duration, TimeZone};
use serde::Serialize;
use tillcard_rules::ids::Timestamp;

use super::back_office::Actor;
use super::checks::{answer, bad, check_text, refusal};
use super::member_care::MAX_REASON_CHARS;
use super::{Hq, now};
use crate::campaigns::figures::{CampaignFigures, figures};
use crate::campaigns::segment::{SPEND_DAYS, Segment};
use crate::campaigns::{CampaignRecord, CampaignSpec, issue, problems, rfm};
use crate::error::HqError;
use crate::store::{AuditEntry, BackOfficeRefusal, GrantOutcome};

/// Members read per page when a campaign runs.
const FACTS_PAGE: i64 = 10_000;
/// Grants recorded per transaction.
const GRANTS_PER_TRANSACTION: usize = 1_000;
/// The actor the daily jobs act as in the audit trail.
const JOBS_ACTOR: &str = "jobs";

/// A campaign with its figures, as the API and console show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct CampaignView {
    /// The campaign.
    pub campaign: CampaignRecord,
    /// Its figures as of now.
    pub figures: CampaignFigures,
}

/// What one run of a campaign did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct CampaignRun {
    /// Members given coupons.
    pub treated: u64,
    /// Members held back (control group).
    pub control: u64,
    /// Coupons issued.
    pub coupons: u64,
    /// The budget ran out during this run.
    pub budget_spent: bool,
}

impl CampaignRun {
    fn add(&mut self, o: GrantOutcome) {
        self.treated += o.treated;
        self.control += o.control;
        self.coupons += o.coupons;
        self.budget_spent |= o.budget_spent;
    }
}

impl Hq {
    /// Creates a campaign. Refused: `invalid_campaign` (every problem
    /// listed, under the program in force now; or an end already past),
    /// `campaign_exists`.
    pub async fn create_campaign(
        &self,
        actor: &Actor,
        spec: &CampaignSpec,
    ) -> Result<CampaignRecord, HqError> {
        let at = now();
        let program = self.program_at(at).await?;
        let mut spec = spec.clone();
        spec.name = spec.name.trim().to_string();
        let mut found = problems(&spec, &program);
        if spec.ends_at <= at {
            found.push("ends_at: already past".into());
        }
        if !found.is_empty() {
            return Err(bad("invalid_campaign", found.join("; ")));
        }
        let record = CampaignRecord {
            spec,
            state: "active".into(),
            issued: 0,
            treated: 0,
            control: 0,
            created_by: actor.name.clone(),
            created_at: at.to_rfc3339(),
        };
        let audit = actor.audit(
            "campaign_created",
            format!("campaign:{}", record.spec.code),
            record.spec.name.clone(),
        );
        answer(self.store.create_campaign(&record, &audit).await?)?;
        tracing::info!(campaign = %record.spec.code, actor = %actor.name, "campaign created");
        Ok(record)
    }

    /// Stops an active campaign for good (coupons issued stay valid), with
    /// `reason` in the audit trail. Refused: `invalid_reason`,
    /// `unknown_campaign`, `campaign_stopped`.
    pub async fn stop_campaign(
        &self,
        actor: &Actor,
        code: &str,
        reason: &str,
    ) -> Result<(), HqError> {
        let reason = reason.trim();
        check_text("invalid_reason", "reason", reason, MAX_REASON_CHARS, false)?;
        let audit = actor.audit(
            "campaign_stopped",
            format!("campaign:{code}"),
            reason.to_string(),
        );
        answer(self.store.stop_campaign(code, &audit).await?)?;
        tracing::info!(campaign = %code, actor = %actor.name, "campaign stopped");
        Ok(())
    }

    /// Every campaign, newest first.
    pub async fn campaigns(&self) -> Result<Vec<CampaignRecord>, HqError> {
        Ok(self.store.campaigns().await?)
    }

    /// A campaign and its figures as of now. Refused: `unknown_campaign`.
    pub async fn campaign_view(&self, code: &str) -> Result<CampaignView, HqError> {
        let Some(campaign) = self.store.campaign(code).await? else {
            return Err(refusal(BackOfficeRefusal::UnknownCampaign));
        };
        let reached = self.store.reached_members(code).await?;
        let mut entries = Vec::new();
        for member in reached.iter().filter(|r| r.treated) {
            if let Some((_, ledger)) = self.store.member(member.member).await? {
                entries.extend(ledger);
            }
        }
        let from_ms = campaign.spec.starts_at.timestamp_millis();
        let sales = self.store.reached_sales(code, from_ms).await?;
        let figures = figures(
            &reached,
            &entries,
            &sales,
            campaign.spec.ends_at.timestamp_millis(),
            campaign.spec.control_bp > 0,
        );
        Ok(CampaignView { campaign, figures })
    }

    /// Runs a campaign at `at`: every member the segment matches then and
    /// the campaign has not reached is drawn treated or control, coupons
    /// issued to the treated, until the budget. Nothing happens outside
    /// its window or once stopped. Refused: `unknown_campaign`.
    pub async fn run_campaign(&self, code: &str, at: Timestamp) -> Result<CampaignRun, HqError> {
        let Some(mut campaign) = self.store.campaign(code).await? else {
            return Err(refusal(BackOfficeRefusal::UnknownCampaign));
        };
        let mut run = CampaignRun::default();
        if !campaign.issues_at(at) {
            return Ok(run);
        }
        let program = self.program_at(at).await?;
        let segment = campaign.spec.segment.resolve(&program);
        let now_ms = at.timestamp_millis();
        let since_ms = (at - Duration::days(SPEND_DAYS)).timestamp_millis();
        let mut after = None;
        loop {
            let facts = self
                .store
                .segment_facts(code, after, FACTS_PAGE, since_ms, now_ms)
                .await?;
            let Some(last) = facts.last() else { break };
            after = Some(last.member);
            let grants = issue::plan(&campaign, &segment, &facts, at);
            for chunk in grants.chunks(GRANTS_PER_TRANSACTION) {
                let outcome = self.store.record_grants(code, chunk, now_ms).await?;
                campaign.issued = campaign.issued.saturating_add(outcome.coupons);
                run.add(outcome);
                if outcome.budget_spent {
                    tracing::info!(campaign = %code, issued = campaign.issued, "campaign reached its budget");
                    return Ok(run);
                }
            }
            if i64::try_from(facts.len()).unwrap_or(i64::MAX) < FACTS_PAGE {
                break;
            }
        }
        tracing::info!(campaign = %code, treated = run.treated, control = run.control, coupons = run.coupons, "campaign ran");
        Ok(run)
    }

    /// Runs every active campaign at `at` (the daily `campaigns` job).
    /// Returns the coupons issued.
    pub async fn run_campaigns(&self, at: Timestamp) -> Result<usize, HqError> {
        let mut coupons = 0u64;
        for campaign in self.store.campaigns().await? {
            if campaign.issues_at(at) {
                coupons += self.run_campaign(&campaign.spec.code, at).await?.coupons;
            }
        }
        Ok(usize::try_from(coupons).unwrap_or(usize::MAX))
    }

    /// The program's birthday coupons at `at` (the daily
    /// `birthday_coupons` job): this year's `birthday-<year>` campaign,
    /// created on the year's first run when the program in force has a
    /// birthday coupon, then run. Returns the coupons issued.
    pub async fn issue_birthday_coupons(&self, at: Timestamp) -> Result<usize, HqError> {
        let code = format!("birthday-{}", at.year());
        if self.store.campaign(&code).await?.is_none() {
            let program = self.program_at(at).await?;
            let Some(coupon) = program.coupons.birthday.clone() else {
                return Ok(0);
            };
            let offset = *at.offset();
            let (Some(starts_at), Some(ends_at)) = (
                offset.with_ymd_and_hms(at.year(), 1, 1, 0, 0, 0).single(),
                offset
                    .with_ymd_and_hms(at.year().saturating_add(1), 1, 1, 0, 0, 0)
                    .single(),
            ) else {
                return Ok(0);
            };
            let record = CampaignRecord {
                spec: CampaignSpec {
                    code: code.clone(),
                    name: format!("Birthday coupon {}", at.year()),
                    coupon,
                    segment: Segment {
                        birthday_month: true,
                        ..Segment::default()
                    },
                    starts_at,
                    ends_at,
                    per_member: 1,
                    budget: crate::campaigns::MAX_BUDGET,
                    control_bp: 0,
                },
                state: "active".into(),
                issued: 0,
                treated: 0,
                control: 0,
                created_by: JOBS_ACTOR.into(),
                created_at: at.to_rfc3339(),
            };
            let audit = AuditEntry {
                at: at.to_rfc3339(),
                actor: JOBS_ACTOR.into(),
                action: "campaign_created".into(),
                subject: format!("campaign:{code}"),
                detail: "the program's birthday coupon".into(),
            };
            // Another process may have created it meanwhile: either way
            // it exists now.
            let _ = self.store.create_campaign(&record, &audit).await?;
        }
        let run = self.run_campaign(&code, at).await?;
        Ok(usize::try_from(run.coupons).unwrap_or(usize::MAX))
    }

    /// Scores every member's last 365 days into RFM segments as of `at`
    /// (the daily `rfm` job). Returns the members scored.
    pub async fn refresh_rfm(&self, at: Timestamp) -> Result<usize, HqError> {
        let now_ms = at.timestamp_millis();
        let since_ms = (at - Duration::days(SPEND_DAYS)).timestamp_millis();
        let inputs = self.store.rfm_inputs(since_ms, now_ms).await?;
        let scores = rfm::score(&inputs);
        let day = at.format("%Y-%m-%d").to_string();
        self.store.store_rfm(&scores, &day).await?;
        Ok(scores.len())
    }
}
