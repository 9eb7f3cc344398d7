//! `tillcard-hq member cash-out|adjust-points|requests|approve|reject|thresholds`:
//! member money from the command line, through the same [`Hq`] operations
//! as the admin API, acting as `cli` (one user: a request made here is
//! approved by another user, in the console or the admin API). Each answer
//! is a JSON value and a tab-separated line for the caller to print.

use clap::{Args, Subcommand};
use tillcard_rules::ids::MemberId;
use tillcard_rules::money::Money;

use crate::admin::{MoneyOutcome, MoneyThresholds};
use crate::error::HqError;
use crate::service::{Actor, Hq};

/// Member money's subcommands (under `member`).
#[derive(Debug, Subcommand)]
pub enum MoneyCommand {
    /// Cash out a member's stored value (退卡): the principal paid back
    /// (`--amount-fen`, all of it when absent), the bonus with it
    /// forfeited; above the threshold a request for a second approver.
    CashOut(CashOutArgs),
    /// Add (or, negative, take away) points; above the threshold either
    /// way a request for a second approver.
    AdjustPoints(AdjustArgs),
    /// The member-money requests, pending first: number, state, member,
    /// kind, amount or points, requested by.
    Requests,
    /// Approve another user's pending request (booked on the balance held
    /// now).
    Approve {
        /// The request's number.
        request: i64,
    },
    /// Reject another user's pending request.
    Reject {
        /// The request's number.
        request: i64,
        /// Why (kept in the audit trail).
        #[arg(long)]
        reason: String,
    },
    /// Show the thresholds, or set them (both at once).
    Thresholds {
        /// A cash-out above this many fen waits for approval.
        #[arg(long, requires = "points")]
        cash_out_fen: Option<i64>,
        /// An adjustment of more than this many points waits for approval.
        #[arg(long, requires = "cash_out_fen")]
        points: Option<i64>,
    },
}

/// `member cash-out ID [--amount-fen N] --reason R`
#[derive(Debug, Args)]
pub struct CashOutArgs {
    /// The member id (UUID).
    pub member: uuid::Uuid,
    /// The principal to pay back, in fen (all of it when absent).
    #[arg(long)]
    pub amount_fen: Option<i64>,
    /// Why (kept in the audit trail; never personal data).
    #[arg(long)]
    pub reason: String,
}

/// `member adjust-points ID --points N --reason R`
#[derive(Debug, Args)]
pub struct AdjustArgs {
    /// The member id (UUID).
    pub member: uuid::Uuid,
    /// Points to add, or take away when negative.
    #[arg(long, allow_hyphen_values = true)]
    pub points: i64,
    /// Why (kept in the audit trail; never personal data).
    #[arg(long)]
    pub reason: String,
}

/// One answer: its JSON and its line.
pub type Printed = (serde_json::Value, String);

fn outcome_line(o: &MoneyOutcome) -> String {
    let n = |v: Option<i64>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
    format!(
        "{}\t{}\t{}\t{}\t{}",
        o.state,
        n(o.request_no),
        n(o.principal_paid_fen),
        n(o.bonus_forfeited_fen),
        n(o.points)
    )
}

fn thresholds_line(t: &MoneyThresholds) -> String {
    format!("{}\t{}", t.cash_out_fen, t.points)
}

/// Runs one member-money subcommand as `actor`; what to print.
pub async fn run(hq: &Hq, actor: &Actor, command: MoneyCommand) -> Result<Vec<Printed>, HqError> {
    let printed = match command {
        MoneyCommand::CashOut(args) => {
            let amount = args.amount_fen.map(Money::from_fen);
            let o = hq
                .cash_out(actor, MemberId(args.member), amount, &args.reason)
                .await?;
            vec![(
                serde_json::to_value(&o).unwrap_or_default(),
                outcome_line(&o),
            )]
        }
        MoneyCommand::AdjustPoints(args) => {
            let o = hq
                .adjust_member_points(actor, MemberId(args.member), args.points, &args.reason)
                .await?;
            vec![(
                serde_json::to_value(&o).unwrap_or_default(),
                outcome_line(&o),
            )]
        }
        MoneyCommand::Requests => hq
            .member_money_requests()
            .await?
            .iter()
            .map(|r| {
                let figure = r
                    .amount_fen
                    .or(r.points)
                    .map_or_else(String::new, |v| v.to_string());
                let line = format!(
                    "{}\t{}\t{}\t{}\t{figure}\t{}",
                    r.request_no, r.state, r.member_id, r.kind, r.requested_by
                );
                (serde_json::to_value(r).unwrap_or_default(), line)
            })
            .collect(),
        MoneyCommand::Approve { request } => {
            let o = hq.approve_member_money(actor, request).await?;
            vec![(
                serde_json::to_value(&o).unwrap_or_default(),
                outcome_line(&o),
            )]
        }
        MoneyCommand::Reject { request, reason } => {
            hq.reject_member_money(actor, request, &reason).await?;
            let value = serde_json::json!({ "request_no": request, "state": "rejected" });
            vec![(value, format!("{request}\trejected"))]
        }
        MoneyCommand::Thresholds {
            cash_out_fen,
            points,
        } => {
            if let (Some(cash_out_fen), Some(points)) = (cash_out_fen, points) {
                let set = MoneyThresholds {
                    cash_out_fen,
                    points,
                };
                hq.set_member_money_thresholds(actor, set).await?;
            }
            let t = hq.member_money_thresholds().await?;
            vec![(
                serde_json::to_value(t).unwrap_or_default(),
                thresholds_line(&t),
            )]
        }
    };
    Ok(printed)
}
