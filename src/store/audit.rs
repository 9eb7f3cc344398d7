//! The audit log: who did what, when, for every action and every login
//! attempt. Rows are chained with HMAC-SHA256 under the terminal's audit key
//! (a random 32-byte key of this purpose alone, made at first start and kept
//! in the store; never the request-signing or phone key): each row's link
//! covers the previous row's link and its own fields. The chain's head is
//! kept beside the terminal's identity, so editing any row, deleting any
//! row (the newest included) or reordering rows is detected by
//! [`Store::verify_audit_chain`].
//!
//! Head office holds the head it acknowledged last: every upload carries
//! the links since then, recomputed here from the rows' content
//! ([`Store::audit_for_upload`]), so a row rewritten under SQL at or before
//! that head gives another link than head office holds, even when whoever
//! rewrote it also had the key. Rows after it are guarded by the key and by
//! the local check, whose first break goes up with every batch.
//!
//! Building a batch walks the whole chain at the first upload after the
//! store opens and whenever another connection has written the file since
//! (SQLite's `data_version`); otherwise it resumes where the previous walk
//! left off ([`AuditResume`]: the chain at head office's head and at its
//! end), since this code only appends rows: the next batch's links from
//! the head, then the new rows from the end. A broken chain keeps nothing
//! to resume from.
//!
//! Rows written before the chain was keyed (schema 13) are re-chained once
//! under the new key at the first start ([`ensure_key`]); a marker row
//! (`audit_keyed`) records how many rows were re-chained and whether their
//! unkeyed chain was intact.
//!
//! Subjects are ids, never personal data.

use hmac::{Hmac, Mac};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use sha2::{Digest, Sha256};
use tillcard_protocol::wire::{AuditLink, MAX_AUDIT_LINKS, UploadAudit};

use super::{Store, StoreError};

type HmacSha256 = Hmac<Sha256>;

/// The link before row 1.
const GENESIS: [u8; 32] = [0u8; 32];

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditBroken {
    /// A row's stored link does not match its contents.
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

impl AuditBroken {
    /// The first row the break concerns (for head office): the edited
    /// row, the row after a gap, or the row after the newest one present.
    pub fn row(&self) -> i64 {
        match self {
            AuditBroken::Edited(n) | AuditBroken::Unlinked(n) => *n,
            AuditBroken::HeadMismatch { found, .. } => found.saturating_add(1),
        }
    }
}

/// The fields a link covers, length-prefixed so they cannot run into each
/// other.
fn feed(
    update: &mut impl FnMut(&[u8]),
    seq: i64,
    at: &str,
    clerk: &str,
    action: &str,
    subject: &str,
) {
    for field in [seq.to_string().as_str(), at, clerk, action, subject] {
        update(&(field.len() as u64).to_le_bytes());
        update(field.as_bytes());
    }
}

/// Row `seq`'s link under `key` after the link `prev`.
fn row_mac(
    key: &[u8; 32],
    prev: &[u8],
    seq: i64,
    at: &str,
    clerk: &str,
    action: &str,
    subject: &str,
) -> Result<Vec<u8>, StoreError> {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key)
        .map_err(|e| StoreError::Database(format!("audit key: {e}")))?;
    mac.update(prev);
    feed(&mut |b| mac.update(b), seq, at, clerk, action, subject);
    Ok(mac.finalize().into_bytes().to_vec())
}

/// The unkeyed link of the chain before schema 13 (read once, to re-chain).
fn unkeyed_hash(
    prev: &[u8],
    seq: i64,
    at: &str,
    clerk: &str,
    action: &str,
    subject: &str,
) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(prev);
    feed(&mut |b| hasher.update(b), seq, at, clerk, action, subject);
    hasher.finalize().to_vec()
}

fn key_from(bytes: Option<Vec<u8>>) -> Result<[u8; 32], StoreError> {
    bytes
        .ok_or_else(|| StoreError::Damaged("the terminal has no audit key".into()))?
        .try_into()
        .map_err(|_| StoreError::Damaged("the terminal's audit key has the wrong length".into()))
}

/// Appends a row inside the action's transaction.
pub(crate) fn append(
    tx: &Transaction<'_>,
    at: &str,
    clerk: &str,
    action: &str,
    subject: &str,
) -> Result<(), StoreError> {
    let (head_seq, head_hash, key): (i64, Option<Vec<u8>>, Option<Vec<u8>>) = tx
        .prepare_cached(
            "SELECT audit_head_seq, audit_head_hash, audit_key FROM terminal WHERE id = 1",
        )?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let key = key_from(key)?;
    let prev = head_hash.unwrap_or_else(|| GENESIS.to_vec());
    let seq = head_seq + 1;
    let hash = row_mac(&key, &prev, seq, at, clerk, action, subject)?;
    tx.prepare_cached(
        "INSERT INTO audit (seq, at, clerk_id, action, subject, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![seq, at, clerk, action, subject, prev, hash])?;
    tx.prepare_cached(
        "UPDATE terminal SET audit_head_seq = ?1, audit_head_hash = ?2 WHERE id = 1",
    )?
    .execute(params![seq, hash])?;
    Ok(())
}

/// Makes the terminal's audit key at its first start (after its identity
/// exists). A store from before schema 13 has rows chained without a key:
/// they are re-chained under the new key in the same transaction, and a
/// marker row (`audit_keyed`, subject `rows N` and, when the unkeyed chain
/// did not verify, why) records it, so a break found in the old chain is
/// kept in the new one rather than laundered. `at` stamps the marker.
pub(crate) fn ensure_key(conn: &mut Connection, at: &str) -> Result<(), StoreError> {
    let existing: Option<Option<Vec<u8>>> = conn
        .query_row("SELECT audit_key FROM terminal WHERE id = 1", [], |r| {
            r.get(0)
        })
        .optional()?;
    let Some(None) = existing else {
        // Keyed already, or no identity yet (ensure_identity runs first).
        return Ok(());
    };
    let mut key = [0u8; 32];
    getrandom::fill(&mut key)
        .map_err(|e| StoreError::Database(format!("no randomness from the OS: {e}")))?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let rows = read_rows(&tx)?;
    // The unkeyed chain's verdict, as verify_audit_chain gave it before.
    let mut prev = GENESIS.to_vec();
    let mut broken: Option<AuditBroken> = None;
    for (i, row) in rows.iter().enumerate() {
        let expected_seq = i64::try_from(i).unwrap_or(i64::MAX).saturating_add(1);
        if row.seq != expected_seq || row.stored_prev != prev {
            broken = Some(AuditBroken::Unlinked(row.seq));
            break;
        }
        if unkeyed_hash(
            &prev,
            row.seq,
            &row.at,
            &row.clerk,
            &row.action,
            &row.subject,
        ) != row.stored_hash
        {
            broken = Some(AuditBroken::Edited(row.seq));
            break;
        }
        prev = row.stored_hash.clone();
    }
    let (head_seq,): (i64,) = tx.query_row(
        "SELECT audit_head_seq FROM terminal WHERE id = 1",
        [],
        |r| Ok((r.get(0)?,)),
    )?;
    let last = rows.last().map_or(0, |r| r.seq);
    if broken.is_none() && head_seq != last {
        broken = Some(AuditBroken::HeadMismatch {
            expected: head_seq,
            found: last,
        });
    }
    // Re-chain every row as it stands, under the key.
    let mut prev = GENESIS.to_vec();
    for row in &rows {
        let mac = row_mac(
            &key,
            &prev,
            row.seq,
            &row.at,
            &row.clerk,
            &row.action,
            &row.subject,
        )?;
        tx.execute(
            "UPDATE audit SET prev_hash = ?2, hash = ?3 WHERE seq = ?1",
            params![row.seq, prev, mac],
        )?;
        prev = mac;
    }
    tx.execute(
        "UPDATE terminal SET audit_key = ?1, audit_head_seq = ?2, audit_head_hash = ?3 WHERE id = 1",
        params![key.as_slice(), last, (!rows.is_empty()).then_some(prev)],
    )?;
    if !rows.is_empty() {
        let subject = match &broken {
            None => format!("rows {}", rows.len()),
            Some(why) => format!("rows {}; unkeyed chain: {why}", rows.len()),
        };
        append(&tx, at, "system", "audit_keyed", &subject)?;
    }
    tx.commit()?;
    tracing::info!(
        rows = rows.len(),
        intact = broken.is_none(),
        "audit chain keyed"
    );
    Ok(())
}

/// The columns of one audit row, as read for the whole chain and by the walk.
struct StoredRow {
    seq: i64,
    at: String,
    clerk: String,
    action: String,
    subject: String,
    stored_prev: Vec<u8>,
    stored_hash: Vec<u8>,
}

fn read_rows(conn: &Connection) -> Result<Vec<StoredRow>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT seq, at, clerk_id, action, subject, prev_hash, hash FROM audit ORDER BY seq",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(StoredRow {
            seq: r.get(0)?,
            at: r.get(1)?,
            clerk: r.get(2)?,
            action: r.get(3)?,
            subject: r.get(4)?,
            stored_prev: r.get(5)?,
            stored_hash: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One pass over the chain: the local check, and the links recomputed from
/// the rows' content.
struct Walk {
    /// Rows read.
    count: u64,
    /// The chain after the newest row present (`n` 0: none).
    end: AuditCheckpoint,
    /// The local check's first break.
    broken: Option<AuditBroken>,
    /// Links of rows `from` onward, at most [`MAX_AUDIT_LINKS`].
    links: Vec<AuditLink>,
    /// The chain at each end of the links (the first and the last): where
    /// head office's head is now, or will be once this batch is
    /// acknowledged.
    heads: Vec<AuditCheckpoint>,
}

/// The chain as a walk left it after row `n`: the row's stored link and
/// the link recomputed from content. `n` 0 is the start, before row 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuditCheckpoint {
    n: i64,
    stored_hash: Vec<u8>,
    content: Vec<u8>,
}

impl AuditCheckpoint {
    fn genesis() -> AuditCheckpoint {
        AuditCheckpoint {
            n: 0,
            stored_hash: GENESIS.to_vec(),
            content: GENESIS.to_vec(),
        }
    }
}

/// What the last walk for an upload leaves the next one, while only this
/// store's connection has written the file since (`data_version`; this
/// code only ever appends audit rows): the chain at head office's possible
/// heads, where the next batch's links start, and at the chain's end,
/// after which rows are new. A resumed walk recomputes the next batch's
/// links from a head and checks the new rows, and skips the rows between,
/// which the earlier walks checked.
#[derive(Debug, Clone)]
pub(crate) struct AuditResume {
    /// `PRAGMA data_version` when the walk read the rows: another
    /// connection's commit (any process) changes it.
    data_version: i64,
    heads: Vec<AuditCheckpoint>,
    end: AuditCheckpoint,
}

/// The connection's `data_version`: it changes when another connection
/// commits to the file.
fn data_version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row("PRAGMA data_version", [], |r| r.get(0))?)
}

/// Walks every row from the first: the stored chain is checked (each row's
/// stored link against its content and its stored predecessor), and every
/// row's link is recomputed from content alone (what head office is sent).
/// Rows from `from` (`None`: no links wanted) give links.
fn walk(conn: &Connection, from: Option<i64>) -> Result<Walk, StoreError> {
    walk_rows(conn, from, AuditCheckpoint::genesis(), None)
}

/// Resumes at `head` (head office's head, as an earlier walk left it): its
/// own link first, then the rows after it until the batch's links are
/// full; then on from `end`, the chain's end as that walk left it. What
/// [`walk`] would give while rows up to `end` are as the walks read them.
fn walk_after(
    conn: &Connection,
    head: &AuditCheckpoint,
    end: &AuditCheckpoint,
) -> Result<Walk, StoreError> {
    walk_rows(conn, Some(head.n), head.clone(), Some(end))
}

fn walk_rows(
    conn: &Connection,
    from: Option<i64>,
    start: AuditCheckpoint,
    skip_to: Option<&AuditCheckpoint>,
) -> Result<Walk, StoreError> {
    let (head_seq, head_hash, key): (i64, Option<Vec<u8>>, Option<Vec<u8>>) = conn.query_row(
        "SELECT audit_head_seq, audit_head_hash, audit_key FROM terminal WHERE id = 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let key = key_from(key)?;
    let mut walk = Walk {
        count: 0,
        end: start.clone(),
        broken: None,
        links: Vec::new(),
        heads: Vec::new(),
    };
    if start.n > 0 && from == Some(start.n) {
        walk.links.push(AuditLink {
            n: u64::try_from(start.n).unwrap_or(0),
            mac: tillcard_protocol::auth::b64(&start.content),
        });
        walk.heads.push(start.clone());
    }
    let mut stmt = conn.prepare_cached(
        "SELECT seq, at, clerk_id, action, subject, prev_hash, hash FROM audit
         WHERE seq > ?1 ORDER BY seq",
    )?;
    let mut resume_at = Some(start.n);
    while let Some(after) = resume_at.take() {
        let mut rows = stmt.query([after])?;
        while let Some(row) = rows.next()? {
            let row = StoredRow {
                seq: row.get(0)?,
                at: row.get(1)?,
                clerk: row.get(2)?,
                action: row.get(3)?,
                subject: row.get(4)?,
                stored_prev: row.get(5)?,
                stored_hash: row.get(6)?,
            };
            visit(&key, &mut walk, from, row)?;
            // The batch's links are full, and the rows up to the end an
            // earlier walk reached are as it checked them: on from there.
            if let Some(end) = skip_to
                && walk.links.len() >= MAX_AUDIT_LINKS
                && walk.end.n < end.n
            {
                walk.end = end.clone();
                resume_at = Some(end.n);
                break;
            }
        }
    }
    let end = &walk.end;
    if walk.broken.is_none()
        && (head_seq != end.n || (end.n > 0 && head_hash.as_deref() != Some(&end.stored_hash[..])))
    {
        walk.broken = Some(AuditBroken::HeadMismatch {
            expected: head_seq,
            found: end.n,
        });
    }
    Ok(walk)
}

/// One row of a walk: checked against the stored chain, its link from
/// content recomputed, and taken as a link when the batch wants it.
fn visit(
    key: &[u8; 32],
    walk: &mut Walk,
    from: Option<i64>,
    row: StoredRow,
) -> Result<(), StoreError> {
    let StoredRow {
        seq,
        at,
        clerk,
        action,
        subject,
        stored_prev,
        stored_hash,
    } = row;
    let content = row_mac(key, &walk.end.content, seq, &at, &clerk, &action, &subject)?;
    if walk.broken.is_none() {
        if seq != walk.end.n.saturating_add(1) || stored_prev != walk.end.stored_hash {
            walk.broken = Some(AuditBroken::Unlinked(seq));
        } else if row_mac(key, &stored_prev, seq, &at, &clerk, &action, &subject)? != stored_hash {
            walk.broken = Some(AuditBroken::Edited(seq));
        }
    }
    walk.end = AuditCheckpoint {
        n: seq,
        stored_hash,
        content,
    };
    walk.count += 1;
    if let Some(from) = from
        && seq >= from
        && walk.links.len() < MAX_AUDIT_LINKS
    {
        walk.links.push(AuditLink {
            n: u64::try_from(seq).unwrap_or(0),
            mac: tillcard_protocol::auth::b64(&walk.end.content),
        });
        match walk.heads.len() {
            0 | 1 => walk.heads.push(walk.end.clone()),
            _ => walk.heads[1] = walk.end.clone(),
        }
    }
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
        let walk = walk(self.conn(), None)?;
        Ok(match walk.broken {
            None => Ok(walk.count),
            Some(broken) => Err(broken),
        })
    }

    /// The audit chain for the next upload: the links recomputed from
    /// content are taken from the head head office acknowledged last (from
    /// row 1 when it acknowledged none, or when that row is gone), at most
    /// [`MAX_AUDIT_LINKS`], with the local check's first break.
    ///
    /// The whole chain is walked (a row rewritten anywhere is found, before
    /// head office's head too) at the first upload after the store opens
    /// and whenever another connection, of any process, has written the
    /// file since the last walk. Otherwise the walk resumes where the last
    /// one left off: the links from head office's head, then the rows added
    /// since; this store only ever appends audit rows, so the rows the last
    /// walk checked are as it read them, and a 50,000-event drain does not
    /// re-read the whole chain at each of its batches (see docs/STORE.md,
    /// "Clerks and audit").
    pub fn audit_for_upload(&self) -> Result<UploadAudit, StoreError> {
        let acked: i64 =
            self.conn()
                .query_row("SELECT audit_acked_n FROM terminal WHERE id = 1", [], |r| {
                    r.get(0)
                })?;
        let last: i64 =
            self.conn()
                .query_row("SELECT coalesce(max(seq), 0) FROM audit", [], |r| r.get(0))?;
        let from = if acked >= 1 && acked <= last {
            acked
        } else {
            1
        };
        let version = data_version(self.conn())?;
        let resume = self.audit_resume.borrow().as_ref().and_then(|resume| {
            let head = resume.heads.iter().find(|c| c.n == from)?;
            (resume.data_version == version).then(|| (head.clone(), resume.end.clone()))
        });
        let walk = match resume {
            Some((head, end)) => walk_after(self.conn(), &head, &end)?,
            None => walk(self.conn(), Some(from))?,
        };
        // A broken chain is walked whole every time: its break must go up
        // with every batch, wherever it is.
        *self.audit_resume.borrow_mut() = walk.broken.is_none().then(|| AuditResume {
            data_version: version,
            heads: walk.heads,
            end: walk.end.clone(),
        });
        Ok(UploadAudit {
            links: walk.links,
            rows: u64::try_from(walk.end.n).unwrap_or(0),
            broken_at: walk
                .broken
                .map(|b| u64::try_from(b.row()).unwrap_or(0).max(1)),
        })
    }

    /// Head office acknowledged the batch that carried `audit`: its last
    /// link is the head head office holds now, where the next upload's
    /// links start.
    pub fn record_audit_ack(&mut self, audit: &UploadAudit) -> Result<(), StoreError> {
        let n = audit.links.last().map_or(0, |l| l.n);
        self.write(|tx, _| {
            tx.execute(
                "UPDATE terminal SET audit_acked_n = ?1 WHERE id = 1",
                [i64::try_from(n).unwrap_or(0)],
            )?;
            Ok(())
        })
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
