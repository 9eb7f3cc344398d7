//! Member money on SQLite: a cash-out or points adjustment booked in ONE
//! `BEGIN IMMEDIATE` transaction (the ledger read, the pure plan, the
//! entries, the cached fold dropped, the member change on the downlink,
//! the audit row, and the approved request closed), and the requests that
//! wait for a second approver. SQLite serializes writers, so no batch
//! books between the read and the write.

use rusqlite::{Connection, OptionalExtension, params};
use tillcard_rules::ledger::LedgerEntry;

use super::back_office::audit;
use super::batch::{load_entries, push_change};
use crate::store::back_office::AuditEntry;
use crate::store::member_money::{
    MoneyAnswer, MoneyBooking, MoneyDecision, MoneyRefusal, MoneyRequest, NewMoneyRequest,
    decision_refusal, money_request_columns, money_request_from_row, plan, request_columns,
};
use crate::store::{StoreResult, to_json};

/// Whether the member exists and is not erased.
fn member_open(tx: &Connection, member: &str) -> StoreResult<bool> {
    Ok(tx
        .query_row(
            "SELECT 1 FROM members WHERE member_id = ?1 AND erased_at IS NULL",
            params![member],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// A request's state and requester, if it exists.
fn request_state(tx: &Connection, request_no: i64) -> StoreResult<Option<(String, String)>> {
    Ok(tx
        .query_row(
            "SELECT state, requested_by FROM member_money_requests WHERE request_no = ?1",
            params![request_no],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// Books `booking` (see the module's documentation); the entries booked.
pub(super) fn book(
    c: &mut Connection,
    booking: &MoneyBooking,
    entry: &AuditEntry,
) -> MoneyAnswer<Vec<LedgerEntry>> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let member = booking.member.to_string();
    if let Some(approval) = &booking.approves {
        let state = request_state(&tx, approval.request_no)?;
        let state = state.as_ref().map(|(s, by)| (s.as_str(), by.as_str()));
        if let Some(refusal) = decision_refusal(state, &approval.by) {
            return Ok(Err(refusal));
        }
    }
    if !member_open(&tx, &member)? {
        return Ok(Err(MoneyRefusal::UnknownMember));
    }
    let planned = match plan(booking, &load_entries(&tx, booking.member)?) {
        Ok(planned) => planned,
        Err(refusal) => return Ok(Err(refusal)),
    };
    for e in &planned {
        tx.execute(
            "INSERT INTO ledger (member_id, source, entry) VALUES (?1, ?2, ?3)",
            params![e.member.to_string(), e.source.to_string(), to_json(e)?],
        )?;
    }
    // The cached fold no longer matches the ledger: refold next time.
    tx.execute(
        "UPDATE members SET account = NULL, tier = NULL WHERE member_id = ?1",
        params![member],
    )?;
    push_change(&tx, "member", Some(booking.member), None)?;
    if let Some(approval) = &booking.approves {
        tx.execute(
            "UPDATE member_money_requests SET state = 'approved', decided_by = ?2,
                    decided_at = ?3, source = ?4
             WHERE request_no = ?1 AND state = 'pending'",
            params![
                approval.request_no,
                approval.by,
                approval.at,
                booking.source.to_string()
            ],
        )?;
    }
    audit(&tx, entry)?;
    tx.commit()?;
    Ok(Ok(planned))
}

/// Stores a pending request with its audit row; its number.
pub(super) fn request(
    c: &mut Connection,
    request: &NewMoneyRequest,
    entry: &AuditEntry,
) -> MoneyAnswer<i64> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let member = request.member.to_string();
    if !member_open(&tx, &member)? {
        return Ok(Err(MoneyRefusal::UnknownMember));
    }
    let (kind, amount, points) = request_columns(request);
    tx.execute(
        "INSERT INTO member_money_requests
             (member_id, kind, amount_fen, points, reason, requested_by, requested_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            member,
            kind,
            amount,
            points,
            request.reason,
            request.requested_by,
            request.requested_at
        ],
    )?;
    let number = tx.last_insert_rowid();
    audit(&tx, entry)?;
    tx.commit()?;
    Ok(Ok(number))
}

/// Rejects a pending request (not by its requester), with its audit row.
pub(super) fn reject(
    c: &mut Connection,
    decision: &MoneyDecision,
    entry: &AuditEntry,
) -> MoneyAnswer<()> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let state = request_state(&tx, decision.request_no)?;
    let state = state.as_ref().map(|(s, by)| (s.as_str(), by.as_str()));
    if let Some(refusal) = decision_refusal(state, &decision.by) {
        return Ok(Err(refusal));
    }
    tx.execute(
        "UPDATE member_money_requests SET state = 'rejected', decided_by = ?2,
                decided_at = ?3, decision_note = ?4
         WHERE request_no = ?1 AND state = 'pending'",
        params![decision.request_no, decision.by, decision.at, decision.note],
    )?;
    audit(&tx, entry)?;
    tx.commit()?;
    Ok(Ok(()))
}

/// The requests, pending first then the rest, newest first in each part;
/// only the pending ones when `pending_only`.
pub(super) fn requests(
    c: &Connection,
    pending_only: bool,
    limit: i64,
) -> StoreResult<Vec<MoneyRequest>> {
    let mut stmt = c.prepare(concat!(
        "SELECT ",
        money_request_columns!(),
        " FROM member_money_requests WHERE ?1 = 0 OR state = 'pending'
         ORDER BY state = 'pending' DESC, request_no DESC LIMIT ?2"
    ))?;
    stmt.query_and_then(params![pending_only, limit.max(0)], |row| {
        money_request_from_row(row)
    })?
    .collect()
}

/// One request, if it exists.
pub(super) fn request_by_number(
    c: &Connection,
    request_no: i64,
) -> StoreResult<Option<MoneyRequest>> {
    let mut stmt = c.prepare(concat!(
        "SELECT ",
        money_request_columns!(),
        " FROM member_money_requests WHERE request_no = ?1"
    ))?;
    let mut rows = stmt.query_and_then(params![request_no], |row| money_request_from_row(row))?;
    rows.next().transpose()
}

/// Sets head-office settings (the thresholds), with the audit row, in one
/// transaction.
pub(super) fn put_settings(
    c: &mut Connection,
    settings: &[(String, String)],
    entry: &AuditEntry,
) -> StoreResult<()> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    for (key, value) in settings {
        tx.execute(
            "INSERT INTO hq_settings (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
    }
    audit(&tx, entry)?;
    tx.commit()?;
    Ok(())
}
