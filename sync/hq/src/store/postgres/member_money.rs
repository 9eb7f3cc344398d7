//! Member money on PostgreSQL: a cash-out or points adjustment booked in
//! ONE transaction under the member's lock (the lock a batch about the
//! member takes, so no batch plans against the ledger meanwhile): the
//! ledger read, the pure plan, the entries as one chunk, the cached fold
//! dropped, the member change on the downlink, the audit row, and the
//! approved request closed (its row locked first); and the requests that
//! wait for a second approver.

use deadpool_postgres::{GenericClient, Object};
use tillcard_rules::ledger::LedgerEntry;

use super::back_office::audit;
use super::locks::{LOCK_KEYS, member_lock_key};
use super::members::{load_entries, push_change};
use crate::store::back_office::AuditEntry;
use crate::store::member_money::{
    MoneyAnswer, MoneyBooking, MoneyDecision, MoneyRefusal, MoneyRequest, NewMoneyRequest,
    decision_refusal, money_request_columns, money_request_from_row, plan, request_columns,
};
use crate::store::{StoreError, StoreResult, to_json};

/// Whether the member exists and is not erased.
async fn member_open<C: GenericClient>(tx: &C, member: &str) -> StoreResult<bool> {
    Ok(tx
        .query_opt(
            "SELECT 1 FROM members WHERE member_id = $1 AND erased_at IS NULL",
            &[&member],
        )
        .await?
        .is_some())
}

/// A request's state and requester, its row locked until the end of the
/// transaction, if it exists.
async fn request_state<C: GenericClient>(
    tx: &C,
    request_no: i64,
) -> StoreResult<Option<(String, String)>> {
    let row = tx
        .query_opt(
            "SELECT state, requested_by FROM member_money_requests
             WHERE request_no = $1 FOR UPDATE",
            &[&request_no],
        )
        .await?;
    row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
}

/// Books `booking` (see the module's documentation); the entries booked.
pub(super) async fn book(
    client: &mut Object,
    booking: &MoneyBooking,
    entry: &AuditEntry,
) -> MoneyAnswer<Vec<LedgerEntry>> {
    let tx = client.transaction().await?;
    let member = booking.member.to_string();
    tx.execute(LOCK_KEYS, &[&vec![member_lock_key(booking.member)]])
        .await?;
    if let Some(approval) = &booking.approves {
        let state = request_state(&tx, approval.request_no).await?;
        let state = state.as_ref().map(|(s, by)| (s.as_str(), by.as_str()));
        if let Some(refusal) = decision_refusal(state, &approval.by) {
            return Ok(Err(refusal));
        }
    }
    if !member_open(&tx, &member).await? {
        return Ok(Err(MoneyRefusal::UnknownMember));
    }
    let planned = match plan(booking, &load_entries(&tx, booking.member).await?) {
        Ok(planned) => planned,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let chunk: Vec<(Option<u64>, &LedgerEntry)> = planned.iter().map(|e| (None, e)).collect();
    tx.execute(
        "INSERT INTO ledger (member_id, entry_count, entries) VALUES ($1, $2, $3)",
        &[
            &member,
            &i32::try_from(chunk.len()).map_err(|_| StoreError::Corrupt("chunk size".into()))?,
            &to_json(&chunk)?,
        ],
    )
    .await?;
    // The cached fold no longer matches the ledger: refold next time.
    tx.execute(
        "UPDATE members SET account = NULL, tier = NULL WHERE member_id = $1",
        &[&member],
    )
    .await?;
    push_change(&tx, "member", Some(booking.member), None).await?;
    if let Some(approval) = &booking.approves {
        tx.execute(
            "UPDATE member_money_requests SET state = 'approved', decided_by = $2,
                    decided_at = $3, source = $4
             WHERE request_no = $1 AND state = 'pending'",
            &[
                &approval.request_no,
                &approval.by,
                &approval.at,
                &booking.source.to_string(),
            ],
        )
        .await?;
    }
    audit(&tx, entry).await?;
    tx.commit().await?;
    Ok(Ok(planned))
}

/// Stores a pending request with its audit row; its number.
pub(super) async fn request(
    client: &mut Object,
    request: &NewMoneyRequest,
    entry: &AuditEntry,
) -> MoneyAnswer<i64> {
    let tx = client.transaction().await?;
    let member = request.member.to_string();
    if !member_open(&tx, &member).await? {
        return Ok(Err(MoneyRefusal::UnknownMember));
    }
    let (kind, amount, points) = request_columns(request);
    let row = tx
        .query_one(
            "INSERT INTO member_money_requests
                 (member_id, kind, amount_fen, points, reason, requested_by, requested_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING request_no",
            &[
                &member,
                &kind,
                &amount,
                &points,
                &request.reason,
                &request.requested_by,
                &request.requested_at,
            ],
        )
        .await?;
    let number: i64 = row.try_get(0)?;
    audit(&tx, entry).await?;
    tx.commit().await?;
    Ok(Ok(number))
}

/// Rejects a pending request (not by its requester), with its audit row.
pub(super) async fn reject(
    client: &mut Object,
    decision: &MoneyDecision,
    entry: &AuditEntry,
) -> MoneyAnswer<()> {
    let tx = client.transaction().await?;
    let state = request_state(&tx, decision.request_no).await?;
    let state = state.as_ref().map(|(s, by)| (s.as_str(), by.as_str()));
    if let Some(refusal) = decision_refusal(state, &decision.by) {
        return Ok(Err(refusal));
    }
    tx.execute(
        "UPDATE member_money_requests SET state = 'rejected', decided_by = $2,
                decided_at = $3, decision_note = $4
         WHERE request_no = $1 AND state = 'pending'",
        &[
            &decision.request_no,
            &decision.by,
            &decision.at,
            &decision.note,
        ],
    )
    .await?;
    audit(&tx, entry).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// The requests, pending first then the rest, newest first in each part;
/// only the pending ones when `pending_only`.
pub(super) async fn requests<C: GenericClient>(
    client: &C,
    pending_only: bool,
    limit: i64,
) -> StoreResult<Vec<MoneyRequest>> {
    client
        .query(
            concat!(
                "SELECT ",
                money_request_columns!(),
                " FROM member_money_requests WHERE NOT $1 OR state = 'pending'
                 ORDER BY state = 'pending' DESC, request_no DESC LIMIT $2"
            ),
            &[&pending_only, &limit.max(0)],
        )
        .await?
        .iter()
        .map(money_request_from_row)
        .collect()
}

/// One request, if it exists.
pub(super) async fn request_by_number<C: GenericClient>(
    client: &C,
    request_no: i64,
) -> StoreResult<Option<MoneyRequest>> {
    client
        .query_opt(
            concat!(
                "SELECT ",
                money_request_columns!(),
                " FROM member_money_requests WHERE request_no = $1"
            ),
            &[&request_no],
        )
        .await?
        .as_ref()
        .map(money_request_from_row)
        .transpose()
}

/// Sets head-office settings (the thresholds), with the audit row, in one
/// transaction.
pub(super) async fn put_settings(
    client: &mut Object,
    settings: &[(String, String)],
    entry: &AuditEntry,
) -> StoreResult<()> {
    let tx = client.transaction().await?;
    for (key, value) in settings {
        tx.execute(
            "INSERT INTO hq_settings (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[key, value],
        )
        .await?;
    }
    audit(&tx, entry).await?;
    tx.commit().await?;
    Ok(())
}
