//! `tillcard-hq campaign list|show|create|run|stop`: campaigns from the
//! command line, through the same [`Hq`] operations as the admin API and
//! the console, acting as `cli`. A definition is the admin API's JSON
//! (`sync/PROTOCOL.md`, "Campaigns") in a file. Each answer is a JSON
//! value and a tab-separated line for the caller to print.

use std::path::PathBuf;

use axum::http::StatusCode;
use clap::Subcommand;

use crate::campaigns::{CampaignRecord, CampaignSpec};
use crate::error::HqError;
use crate::service::campaigns::CampaignView;
use crate::service::{Actor, Hq};

/// `campaign ...`
#[derive(Debug, Subcommand)]
pub enum CampaignCommand {
    /// Every campaign, newest first: code, state, starts, ends, issued,
    /// budget, treated, control, name.
    List,
    /// One campaign's figures: code, state, issued, redeemed, redemption
    /// rate (basis points), redeeming orders, their sales (fen), then
    /// treated and control members and buyers.
    Show {
        /// The campaign's code.
        code: String,
    },
    /// Create a campaign from a JSON definition (the admin API's body).
    Create {
        /// The definition's file.
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
    },
    /// Run a campaign now (or as of an earlier moment): members the
    /// segment matches and the campaign has not reached get coupons or go
    /// to the control group. Prints treated, control, coupons.
    Run {
        /// The campaign's code.
        code: String,
        /// Run as of this RFC 3339 moment instead of now; never in the
        /// future.
        #[arg(long, value_name = "MOMENT")]
        at: Option<String>,
    },
    /// Stop a campaign for good (coupons issued stay valid).
    Stop {
        /// The campaign's code.
        code: String,
        /// Why (kept in the audit trail).
        #[arg(long)]
        reason: String,
    },
}

/// One answer: its JSON and its line.
pub type Printed = (serde_json::Value, String);

fn record_line(c: &CampaignRecord) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
        c.spec.code,
        c.state,
        c.spec.starts_at.to_rfc3339(),
        c.spec.ends_at.to_rfc3339(),
        c.issued,
        c.spec.budget,
        c.treated,
        c.control,
        c.spec.name
    )
}

fn view_line(v: &CampaignView) -> String {
    let f = &v.figures;
    let rate = |bp: Option<u64>| bp.map_or_else(|| "-".to_string(), |bp| bp.to_string());
    let (control_members, control_buyers) = f
        .control
        .as_ref()
        .map_or(("-".to_string(), "-".to_string()), |c| {
            (c.members.to_string(), c.buyers.to_string())
        });
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{control_members}\t{control_buyers}",
        v.campaign.spec.code,
        v.campaign.state,
        f.issued,
        f.redeemed,
        rate(f.redemption_rate_bp),
        f.redeeming_orders,
        f.redeeming_sales_fen,
        f.treated.members,
        f.treated.buyers,
    )
}

fn value<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_default()
}

fn refused(code: &'static str, message: String) -> HqError {
    HqError::Refused(StatusCode::BAD_REQUEST, code, message)
}

/// Runs one campaign subcommand as `actor`; what to print.
pub async fn run(
    hq: &Hq,
    actor: &Actor,
    command: CampaignCommand,
) -> Result<Vec<Printed>, HqError> {
    let printed = match command {
        CampaignCommand::List => hq
            .campaigns()
            .await?
            .iter()
            .map(|c| (value(c), record_line(c)))
            .collect(),
        CampaignCommand::Show { code } => {
            let v = hq.campaign_view(&code).await?;
            vec![(value(&v), view_line(&v))]
        }
        CampaignCommand::Create { file } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| HqError::BadRequest(format!("{}: {e}", file.display())))?;
            let spec: CampaignSpec = serde_json::from_str(&text).map_err(|e| {
                refused(
                    "invalid_campaign",
                    format!("{}: not a campaign: {e}", file.display()),
                )
            })?;
            let c = hq.create_campaign(actor, &spec).await?;
            vec![(value(&c), record_line(&c))]
        }
        CampaignCommand::Run { code, at } => {
            let now = chrono::Utc::now().fixed_offset();
            let at = match at {
                None => now,
                Some(text) => {
                    let at = chrono::DateTime::parse_from_rfc3339(&text).map_err(|_| {
                        refused(
                            "invalid_moment",
                            format!(
                                "{text:?} is not an RFC 3339 moment (2026-12-05T03:00:00+08:00)"
                            ),
                        )
                    })?;
                    if at > now {
                        return Err(refused(
                            "moment_in_future",
                            format!("{text} is later than now; a campaign does not run ahead"),
                        ));
                    }
                    at
                }
            };
            let r = hq.run_campaign(&code, at).await?;
            let line = format!("{code}\t{}\t{}\t{}", r.treated, r.control, r.coupons);
            vec![(value(&r), line)]
        }
        CampaignCommand::Stop { code, reason } => {
            hq.stop_campaign(actor, &code, &reason).await?;
            let v = serde_json::json!({ "code": code, "state": "stopped" });
            vec![(v, format!("{code}\tstopped"))]
        }
    };
    Ok(printed)
}
