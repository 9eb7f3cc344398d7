//! Member money in the console: the cash-out and points-adjustment forms
//! beside each member member care shows, and the page of requests waiting
//! for a second approver (`/console/member-money`) with approve and
//! reject. Each form goes through the same [`Hq`] operation as the admin
//! API with the session's user as the actor, then back to that page,
//! which says what happened (applied, or waiting for approval).

use std::sync::Arc;

use axum::Router;
use axum::extract::Path;
use axum::response::Response;
use axum::routing::{get, post};
use minijinja::context;
use tillcard_rules::ids::MemberId;
use tillcard_rules::money::Money;
use uuid::Uuid;

use super::forms::{FormsOf, Submission, notice};
use super::pages::Visit;
use crate::admin::MoneyOutcome;
use crate::error::HqError;
use crate::service::Hq;
use crate::service::roles::Operation;

/// The requests' page.
pub(super) const PATH: &str = "/console/member-money";

const MONEY: FormsOf = FormsOf {
    back: PATH,
    operation: Operation::MemberMoney,
};
const APPROVALS: FormsOf = FormsOf {
    back: PATH,
    operation: Operation::ApproveMemberMoney,
};

/// Member money's console routes.
pub(super) fn routes() -> Router<Arc<Hq>> {
    Router::new()
        .route(PATH, get(page))
        .route("/console/members/{member_id}/cash-out", post(cash_out))
        .route("/console/members/{member_id}/points", post(adjust_points))
        .route("/console/member-money/{request_no}/approve", post(approve))
        .route("/console/member-money/{request_no}/reject", post(reject))
}

/// The notice an outcome leaves: applied, or waiting for approval.
fn said(outcome: &MoneyOutcome) -> super::Flash {
    notice(if outcome.state == "pending" {
        "member_money_pending"
    } else {
        "member_money_applied"
    })
}

fn member(member_id: &str) -> Result<MemberId, HqError> {
    Uuid::parse_str(member_id)
        .map(MemberId)
        .map_err(|_| HqError::NotFound)
}

/// The requests (pending first) and the thresholds.
async fn page(visit: Visit) -> Result<Response, HqError> {
    visit
        .show(
            "member_money",
            Some(Operation::MemberMoney),
            async |hq, _| {
                // Each request with its figure in words (`¥800.00`, `+1500`).
                let requests: Vec<minijinja::Value> = hq
                    .member_money_requests()
                    .await?
                    .into_iter()
                    .map(|r| {
                        let figure = match (r.amount_fen, r.points) {
                            (Some(fen), _) => Money::from_fen(fen).to_string(),
                            (None, Some(points)) => format!("{points:+}"),
                            (None, None) => String::new(),
                        };
                        context! { figure => figure, ..minijinja::Value::from_serialize(&r) }
                    })
                    .collect();
                let thresholds = hq.member_money_thresholds().await?;
                Ok(context! {
                    requests => requests,
                    cash_out_threshold => Money::from_fen(thresholds.cash_out_fen).to_string(),
                    points_threshold => thresholds.points,
                })
            },
        )
        .await
}

/// A cash-out: `amount` in yuan (`200.00`; empty: all the principal).
async fn cash_out(Path(member_id): Path<String>, form: Submission) -> Result<Response, HqError> {
    form.submit(MONEY, async |hq, posted| {
        let id = member(&member_id)?;
        let amount = match posted.field("amount") {
            "" => None,
            typed => Some(typed.parse::<Money>().map_err(|_| {
                HqError::Refused(
                    axum::http::StatusCode::BAD_REQUEST,
                    "invalid_amount",
                    "amount: yuan with at most two decimals (200.00)".into(),
                )
            })?),
        };
        let outcome = hq.cash_out(&posted.session.actor, id, amount, posted.field("reason"));
        outcome.await.map(|o| said(&o))
    })
    .await
}

/// A points adjustment: `points`, signed.
async fn adjust_points(
    Path(member_id): Path<String>,
    form: Submission,
) -> Result<Response, HqError> {
    form.submit(MONEY, async |hq, posted| {
        let id = member(&member_id)?;
        let points = posted.field("points").parse::<i64>().map_err(|_| {
            HqError::Refused(
                axum::http::StatusCode::BAD_REQUEST,
                "invalid_points",
                "points: a whole number, negative to take away".into(),
            )
        })?;
        let outcome =
            hq.adjust_member_points(&posted.session.actor, id, points, posted.field("reason"));
        outcome.await.map(|o| said(&o))
    })
    .await
}

async fn approve(Path(request_no): Path<i64>, form: Submission) -> Result<Response, HqError> {
    form.submit(APPROVALS, async |hq, posted| {
        hq.approve_member_money(&posted.session.actor, request_no)
            .await
            .map(|_| notice("member_money_approved"))
    })
    .await
}

async fn reject(Path(request_no): Path<i64>, form: Submission) -> Result<Response, HqError> {
    form.submit(APPROVALS, async |hq, posted| {
        hq.reject_member_money(&posted.session.actor, request_no, posted.field("reason"))
            .await
            .map(|()| notice("member_money_rejected"))
    })
    .await
}
