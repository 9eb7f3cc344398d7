//! Member money at head office: a stored-value cash-out (退卡) and a points
//! adjustment, each with a reason in the audit trail and, above its
//! threshold, a second head-office user's approval.
//!
//! A cash-out pays back refundable principal only (the bonus that goes with
//! it is forfeited: `rules::booking::book_cash_out`); an adjustment adds a
//! lot or takes points away oldest first (`book_points_adjustment`). Both
//! are booked with the pure rules on the member's ledger as read inside the
//! booking's one transaction, with the audit row and the member change on
//! the downlink (`Store::book_member_money`): every terminal learns the new
//! balance on its next sync. Above the balance held at that moment, nothing
//! is written.
//!
//! The thresholds are head-office settings ([`CASH_OUT_THRESHOLD`],
//! [`POINTS_THRESHOLD`]; defaults ¥500.00 and 1,000 points): at or below
//! one the action applies at once; above it the request is stored as
//! pending, and another user whose role may approve
//! (`Operation::ApproveMemberMoney`) approves it, which books it after
//! checking the balance again, or rejects it with a reason. The requester
//! never decides their own request (`same_approver`). The admin token and
//! the command line each count as one user (`admin-token`, `cli`).

use tillcard_rules::MemberAccount;
use tillcard_rules::ids::{MemberId, SourceId};
use tillcard_rules::ledger::{EntryKind, LedgerEntry};
use tillcard_rules::limits::{MAX_FEN, MAX_POINTS};
use tillcard_rules::money::Money;

use super::back_office::Actor;
use super::checks::{bad, check_text};
use super::member_care::MAX_REASON_CHARS;
use super::{Hq, now};
use crate::admin::{MoneyOutcome, MoneyThresholds};
use crate::error::HqError;
use crate::store::member_money::{
    Approval, MoneyBooking, MoneyDecision, MoneyMove, MoneyRefusal, MoneyRequest, NewMoneyRequest,
    plan,
};
use axum::http::StatusCode;

/// The setting: a cash-out above this many fen needs a second approver.
pub const CASH_OUT_THRESHOLD: &str = "member_money.cash_out_approval_above_fen";
/// The setting: an adjustment of more than this many points (either way)
/// needs a second approver.
pub const POINTS_THRESHOLD: &str = "member_money.points_approval_above";
/// The thresholds until set: ¥500.00 and 1,000 points.
pub const DEFAULT_THRESHOLDS: MoneyThresholds = MoneyThresholds {
    cash_out_fen: 50_000,
    points: 1_000,
};
/// The most requests a listing shows.
pub const REQUESTS_SHOWN: i64 = 500;

/// The answer to a member-money refusal: its status, stable code and words.
pub fn money_refusal(r: MoneyRefusal) -> HqError {
    let (status, code, message) = match r {
        MoneyRefusal::UnknownMember => (
            StatusCode::NOT_FOUND,
            "unknown_member",
            "no such member (or erased)".to_string(),
        ),
        MoneyRefusal::NonPositiveAmount => (
            StatusCode::BAD_REQUEST,
            "invalid_amount",
            "a cash-out must be more than ¥0".to_string(),
        ),
        MoneyRefusal::ZeroPoints => (
            StatusCode::BAD_REQUEST,
            "invalid_points",
            "an adjustment of 0 points changes nothing".to_string(),
        ),
        MoneyRefusal::AboveBalance { asked, available } => (
            StatusCode::CONFLICT,
            "above_balance",
            format!("the member has {available} of refundable principal; cannot pay back {asked}"),
        ),
        MoneyRefusal::InsufficientPoints { asked, available } => (
            StatusCode::CONFLICT,
            "insufficient_points",
            format!("the member has {available} points to use; cannot take away {asked}"),
        ),
        MoneyRefusal::OutOfBounds(what) => (StatusCode::CONFLICT, "balance_out_of_bounds", what),
        MoneyRefusal::UnknownRequest => (
            StatusCode::NOT_FOUND,
            "unknown_request",
            "no such member-money request".to_string(),
        ),
        MoneyRefusal::RequestClosed => (
            StatusCode::CONFLICT,
            "request_closed",
            "this request was approved or rejected already".to_string(),
        ),
        MoneyRefusal::SameApprover => (
            StatusCode::FORBIDDEN,
            "same_approver",
            "a request is approved or rejected by another user than the one who asked".to_string(),
        ),
    };
    HqError::Refused(status, code, message)
}

fn answer<T>(result: Result<T, MoneyRefusal>) -> Result<T, HqError> {
    result.map_err(money_refusal)
}

/// What `entries` (one booking's) moved, as the answer says it.
fn applied(entries: &[LedgerEntry], request_no: Option<i64>) -> MoneyOutcome {
    let mut outcome = MoneyOutcome {
        state: "applied".into(),
        request_no,
        principal_paid_fen: None,
        bonus_forfeited_fen: None,
        points: None,
        source: entries.first().map(|e| e.source.to_string()),
    };
    for entry in entries {
        match &entry.kind {
            EntryKind::StoredValueCashedOut { principal, bonus } => {
                outcome.principal_paid_fen = Some(principal.fen());
                outcome.bonus_forfeited_fen = Some(bonus.fen());
            }
            EntryKind::PointsEarned { points, .. } => outcome.points = Some(*points),
            EntryKind::PointsReversed { draws } => {
                let taken = draws
                    .iter()
                    .map(|d| d.points)
                    .fold(0i64, i64::saturating_add);
                outcome.points = Some(-taken);
            }
            _ => {}
        }
    }
    outcome
}

/// The movement in words for the audit trail (no personal data).
fn described(movement: MoneyMove) -> String {
    match movement {
        MoneyMove::CashOut(Some(amount)) => format!("cash-out {amount}"),
        MoneyMove::CashOut(None) => "cash-out of all the principal".to_string(),
        MoneyMove::Points(points) => format!("points {points:+}"),
    }
}

impl Hq {
    /// The thresholds in force (the settings, else the defaults).
    pub async fn member_money_thresholds(&self) -> Result<MoneyThresholds, HqError> {
        let read = async |key: &str, default: i64| -> Result<i64, HqError> {
            Ok(self
                .store
                .setting(key)
                .await?
                .and_then(|v| v.parse::<i64>().ok())
                .filter(|v| *v >= 0)
                .unwrap_or(default))
        };
        Ok(MoneyThresholds {
            cash_out_fen: read(CASH_OUT_THRESHOLD, DEFAULT_THRESHOLDS.cash_out_fen).await?,
            points: read(POINTS_THRESHOLD, DEFAULT_THRESHOLDS.points).await?,
        })
    }

    /// Sets the thresholds, audited (`member_money_thresholds_set`).
    /// Refused: `invalid_threshold` (negative or beyond the bounds).
    pub async fn set_member_money_thresholds(
        &self,
        actor: &Actor,
        thresholds: MoneyThresholds,
    ) -> Result<(), HqError> {
        if !(0..=MAX_FEN).contains(&thresholds.cash_out_fen)
            || !(0..=MAX_POINTS).contains(&thresholds.points)
        {
            return Err(bad(
                "invalid_threshold",
                "a threshold is 0 or more, within the protocol's bounds",
            ));
        }
        let audit = actor.audit(
            "member_money_thresholds_set",
            "settings:member_money".into(),
            format!(
                "cash-out above {}, points above {}",
                Money::from_fen(thresholds.cash_out_fen),
                thresholds.points
            ),
        );
        let settings = [
            (
                CASH_OUT_THRESHOLD.to_string(),
                thresholds.cash_out_fen.to_string(),
            ),
            (POINTS_THRESHOLD.to_string(), thresholds.points.to_string()),
        ];
        self.store.put_settings(&settings, &audit).await?;
        Ok(())
    }

    /// Cashes out `amount` of a member's principal (all of it when `None`),
    /// the bonus with it forfeited; above the threshold, a pending request.
    /// Refused: `invalid_reason`, `invalid_amount`, `unknown_member`,
    /// `above_balance`.
    pub async fn cash_out(
        &self,
        actor: &Actor,
        member: MemberId,
        amount: Option<Money>,
        reason: &str,
    ) -> Result<MoneyOutcome, HqError> {
        if amount.is_some_and(|a| a.fen() <= 0 || a.fen() > MAX_FEN) {
            return Err(bad(
                "invalid_amount",
                "a cash-out's amount is more than 0 fen, within the protocol's bounds",
            ));
        }
        self.move_money(
            actor,
            member,
            MoneyMove::CashOut(amount),
            reason,
            SourceId(uuid::Uuid::now_v7()),
        )
        .await
    }

    /// Adds (or takes away) points; above the threshold either way, a
    /// pending request. Refused: `invalid_reason`, `invalid_points`,
    /// `unknown_member`, `insufficient_points`.
    pub async fn adjust_member_points(
        &self,
        actor: &Actor,
        member: MemberId,
        points: i64,
        reason: &str,
    ) -> Result<MoneyOutcome, HqError> {
        if points == 0 || points.unsigned_abs() > MAX_POINTS.unsigned_abs() {
            return Err(bad(
                "invalid_points",
                "an adjustment is not 0 and within the protocol's bounds",
            ));
        }
        self.move_money(
            actor,
            member,
            MoneyMove::Points(points),
            reason,
            SourceId(uuid::Uuid::now_v7()),
        )
        .await
    }

    /// A conflict's `adjust` resolution: the points adjustment member money
    /// books, under the action id `source` the conflict names (so a retry
    /// after the booking books nothing twice: `false` when the member's
    /// ledger holds `source` already). Above the points threshold it is
    /// refused (`needs_second_approver`): a second approver's decision
    /// cannot be part of closing the conflict, so such an adjustment goes
    /// through member money, and the conflict is then resolved with
    /// `accept`. Refused too: `invalid_points`, `invalid_reason`,
    /// `unknown_member`, `insufficient_points`.
    pub(super) async fn adjust_points_for_conflict(
        &self,
        actor: &Actor,
        member: MemberId,
        points: i64,
        reason: &str,
        source: SourceId,
    ) -> Result<bool, HqError> {
        if points == 0 || points.unsigned_abs() > MAX_POINTS.unsigned_abs() {
            return Err(bad(
                "invalid_points",
                "an adjustment is not 0 and within the protocol's bounds",
            ));
        }
        let thresholds = self.member_money_thresholds().await?;
        if points.unsigned_abs() > thresholds.points.unsigned_abs() {
            return Err(HqError::Refused(
                StatusCode::CONFLICT,
                "needs_second_approver",
                format!(
                    "an adjustment of more than {} points needs a second approver: use member money, then resolve the conflict with accept",
                    thresholds.points
                ),
            ));
        }
        if let Some((_, entries)) = self.store.member(member).await?
            && entries.iter().any(|e| e.source == source)
        {
            return Ok(false);
        }
        self.move_money(actor, member, MoneyMove::Points(points), reason, source)
            .await?;
        Ok(true)
    }

    async fn move_money(
        &self,
        actor: &Actor,
        member: MemberId,
        movement: MoneyMove,
        reason: &str,
        source: SourceId,
    ) -> Result<MoneyOutcome, HqError> {
        let reason = reason.trim();
        check_text("invalid_reason", "reason", reason, MAX_REASON_CHARS, false)?;
        let at = now();
        let program = self.program_at(at).await?;
        // Checked now on the ledger as it is, to fix a cash-out's amount
        // and refuse at once what could not be booked; booking checks again
        // inside its transaction.
        let Some((record, entries)) = self.store.member(member).await? else {
            return Err(money_refusal(MoneyRefusal::UnknownMember));
        };
        if record.erased {
            return Err(money_refusal(MoneyRefusal::UnknownMember));
        }
        let booking = MoneyBooking {
            member,
            movement,
            source,
            at,
            program,
            approves: None,
        };
        answer(plan(&booking, &entries))?;
        let thresholds = self.member_money_thresholds().await?;
        let movement = match movement {
            MoneyMove::CashOut(None) => MoneyMove::CashOut(Some(
                MemberAccount::fold(MemberAccount::new(member), &entries)
                    .stored_value
                    .principal,
            )),
            fixed => fixed,
        };
        let needs_approval = match movement {
            MoneyMove::CashOut(amount) => amount.is_some_and(|a| a.fen() > thresholds.cash_out_fen),
            MoneyMove::Points(points) => points.unsigned_abs() > thresholds.points.unsigned_abs(),
        };
        let subject = format!("member:{member}");
        if needs_approval {
            let request = NewMoneyRequest {
                member,
                movement,
                reason: reason.to_string(),
                requested_by: actor.name.clone(),
                requested_at: at.to_rfc3339(),
            };
            let audit = actor.audit(
                "member_money_requested",
                subject,
                format!("{}: {reason}", described(movement)),
            );
            let number = answer(self.store.request_member_money(&request, &audit).await?)?;
            tracing::info!(member = %member, request = number, kind = movement.kind(), actor = %actor.name, "member money waits for a second approver");
            return Ok(MoneyOutcome {
                state: "pending".into(),
                request_no: Some(number),
                principal_paid_fen: None,
                bonus_forfeited_fen: None,
                points: None,
                source: None,
            });
        }
        let audit = actor.audit(
            movement.kind(),
            subject,
            format!("{}: {reason}", described(movement)),
        );
        let booked = answer(
            self.store
                .book_member_money(
                    &MoneyBooking {
                        movement,
                        ..booking
                    },
                    &audit,
                )
                .await?,
        )?;
        tracing::info!(member = %member, kind = movement.kind(), actor = %actor.name, "member money booked");
        Ok(applied(&booked, None))
    }

    /// Every request, pending first, newest first.
    pub async fn member_money_requests(&self) -> Result<Vec<MoneyRequest>, HqError> {
        Ok(self
            .store
            .member_money_requests(false, REQUESTS_SHOWN)
            .await?)
    }

    /// Approves another user's pending request: books it on the balance
    /// held now (refused above it: the request stays pending). Refused:
    /// `unknown_request`, `request_closed`, `same_approver`,
    /// `above_balance`, `insufficient_points`, `unknown_member`.
    pub async fn approve_member_money(
        &self,
        actor: &Actor,
        request_no: i64,
    ) -> Result<MoneyOutcome, HqError> {
        let Some(request) = self.store.member_money_request(request_no).await? else {
            return Err(money_refusal(MoneyRefusal::UnknownRequest));
        };
        let Some(movement) = request.movement() else {
            return Err(HqError::Internal(crate::store::StoreError::Corrupt(
                "member money request kind".into(),
            )));
        };
        let at = now();
        let booking = MoneyBooking {
            member: request.member_id,
            movement,
            source: SourceId(uuid::Uuid::now_v7()),
            at,
            program: self.program_at(at).await?,
            approves: Some(Approval {
                request_no,
                by: actor.name.clone(),
                at: at.to_rfc3339(),
            }),
        };
        let audit = actor.audit(
            movement.kind(),
            format!("member:{}", request.member_id),
            format!(
                "{} (request {request_no} by {}, approved): {}",
                described(movement),
                request.requested_by,
                request.reason
            ),
        );
        let booked = answer(self.store.book_member_money(&booking, &audit).await?)?;
        tracing::info!(member = %request.member_id, request = request_no, actor = %actor.name, "member money approved and booked");
        Ok(applied(&booked, Some(request_no)))
    }

    /// Rejects another user's pending request with the reason. Refused:
    /// `invalid_reason`, `unknown_request`, `request_closed`,
    /// `same_approver`.
    pub async fn reject_member_money(
        &self,
        actor: &Actor,
        request_no: i64,
        reason: &str,
    ) -> Result<(), HqError> {
        let reason = reason.trim();
        check_text("invalid_reason", "reason", reason, MAX_REASON_CHARS, false)?;
        let Some(request) = self.store.member_money_request(request_no).await? else {
            return Err(money_refusal(MoneyRefusal::UnknownRequest));
        };
        let decision = MoneyDecision {
            request_no,
            by: actor.name.clone(),
            at: now().to_rfc3339(),
            note: reason.to_string(),
        };
        let audit = actor.audit(
            "member_money_rejected",
            format!("member:{}", request.member_id),
            format!("request {request_no}: {reason}"),
        );
        answer(self.store.reject_member_money(&decision, &audit).await?)?;
        tracing::info!(member = %request.member_id, request = request_no, actor = %actor.name, "member money request rejected");
        Ok(())
    }
}
