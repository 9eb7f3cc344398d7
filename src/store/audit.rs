//! The audit log: who did what, when, for every action and every login
//! attempt. Rows are hash-chained (each row's hash covers the previous
//! row's hash and its own fields) and the chain's head is kept beside the
//! terminal's identity, so editing any row, deleting any row (the newest
//! included) or reordering rows is detected by [`Store::verify_audit_chain`].
//! Subjects are ids, never personal data.

use rusqlite::{Transaction, params};
use sha2::{Digest, Sha256};

use super::{Store, StoreError};

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditBroken {
    /// A row's stored hash does not match its contents.
    #[error("audit row {0} was edited")]
    Edited(i64),
    /// A row's link to its predecessor does not match (a row before it was
    /// deleted or replaced).
    #[error("the audit chain is broken before row {0} (a row was removed)")]
    Unlinked(i64),
    /// The head kept with the terminal's identity does not match the newest
    /// row (the newest rows were removed).
    #[error("the newest audit rows were removed (head says row {expected}, found {found})")]
    HeadMismatch {
        /// Row the head names.
        expected: i64,
        /// Newest row present.
        found: i64,
    },
}

fn row_hash(prev: &[u8], seq: i64, at: &str, clerk: &str, action: &str, subject: &str) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(prev);
    for field in [seq.to_string().as_str(), at, clerk, action, subject] {
        // Length-prefixed so fields cannot run into each other.
        hasher.update((field.len() as u64).to_le_bytes());
        hasher.update(field.as_bytes());
    }
    hasher.finalize().to_vec()
}

/// Appends a row inside the action's transaction.
pub(crate) fn append(
    tx: &Transaction<'_>,
    at: &str,
    clerk: &str,
    action: &str,
    subject: &str,
) -> Result<(), StoreError> {
    let (head_seq, head_hash): (i64, Option<Vec<u8>>) = tx.query_row(
        "SELECT audit_head_seq, audit_head_hash FROM terminal WHERE id = 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let prev = head_hash.unwrap_or_else(|| vec![0u8; 32]);
    let seq = head_seq + 1;
    let hash = row_hash(&prev, seq, at, clerk, action, subject);
    tx.execute(
        "INSERT INTO audit (seq, at, clerk_id, action, subject, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![seq, at, clerk, action, subject, prev, hash],
    )?;
    tx.execute(
        "UPDATE terminal SET audit_head_seq = ?1, audit_head_hash = ?2 WHERE id = 1",
        params![seq, hash],
    )?;
    Ok(())
}

/// One audit row as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When.
    pub at: String,
    /// Who.
    pub clerk: String,
    /// What.
    pub action: String,
    /// On what (an id).
    pub subject: String,
}

impl Store {
    /// Checks the whole chain; returns the number of rows verified.
    pub fn verify_audit_chain(&self) -> Result<Result<u64, AuditBroken>, StoreError> {
        let mut stmt = self.conn().prepare(
            "SELECT seq, at, clerk_id, action, subject, prev_hash, hash FROM audit ORDER BY seq",
        )?;
        let mut rows = stmt.query([])?;
        let mut prev = vec![0u8; 32];
        let mut expected_seq = 1;
        let mut count = 0u64;
        let mut last_seq = 0;
        while let Some(row) = rows.next()? {
            let seq: i64 = row.get(0)?;
            let at: String = row.get(1)?;
            let clerk: String = row.get(2)?;
            let action: String = row.get(3)?;
            let subject: String = row.get(4)?;
            let stored_prev: Vec<u8> = row.get(5)?;
            let stored_hash: Vec<u8> = row.get(6)?;
            if seq != expected_seq || stored_prev != prev {
                return Ok(Err(AuditBroken::Unlinked(seq)));
            }
            if row_hash(&prev, seq, &at, &clerk, &action, &subject) != stored_hash {
                return Ok(Err(AuditBroken::Edited(seq)));
            }
            prev = stored_hash;
            expected_seq += 1;
            last_seq = seq;
            count += 1;
        }
        let (head_seq, head_hash): (i64, Option<Vec<u8>>) = self.conn().query_row(
            "SELECT audit_head_seq, audit_head_hash FROM terminal WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if head_seq != last_seq || (count > 0 && head_hash.as_deref() != Some(prev.as_slice())) {
            return Ok(Err(AuditBroken::HeadMismatch {
                expected: head_seq,
                found: last_seq,
            }));
        }
        Ok(Ok(count))
    }

    /// The newest `limit` audit rows, newest first.
    pub fn recent_audit(&self, limit: usize) -> Result<Vec<AuditRow>, StoreError> {
        let mut stmt = self.conn().prepare(
            "SELECT seq, at, clerk_id, action, subject FROM audit ORDER BY seq DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
            Ok(AuditRow {
                seq: r.get(0)?,
                at: r.get(1)?,
                clerk: r.get(2)?,
                action: r.get(3)?,
                subject: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
