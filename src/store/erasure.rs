//! What an erasure from head office reaches beyond the member's row: the
//! events already acknowledged keep no personal field, and the files saved
//! for the member (their card's PNG, the receipts of their actions) are
//! queued for deletion in the same transaction, then deleted by the
//! terminal once it commits (`crate::saved_files`), so a crash between the
//! two leaves the queue, not the files, and the next start finishes it.
//!
//! Events not yet acknowledged are left whole: head office has not read
//! them yet (an erasure of a member it has not enrolled cannot come), and
//! an event changed before its upload would no longer be the one the
//! terminal wrote. An acknowledged enrollment sent again after head office
//! is restored from a backup arrives without its sealed phone and is
//! dead-lettered there, which an erased member's enrollment should be.

use rusqlite::{Connection, Transaction, params};
use tillcard_protocol::wire::EventBody;
use tillcard_rules::MemberId;

use super::{Store, StoreError};

/// Drops the personal fields (masked name and phone, sealed phone and
/// name, birthday) from the member's acknowledged enrollment event.
pub(super) fn scrub_outbox(tx: &Transaction<'_>, member: MemberId) -> Result<(), StoreError> {
    let id = member.0.to_string();
    let rows: Vec<(i64, String)> = tx
        .prepare(
            "SELECT seq, payload FROM outbox
             WHERE acked = 1 AND payload LIKE '%' || ?1 || '%'",
        )?
        .query_map([&id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (seq, payload) in rows {
        let Ok(mut body) = serde_json::from_str::<EventBody>(&payload) else {
            continue;
        };
        let EventBody::MemberEnrolled {
            member: enrolled,
            masked_name,
            masked_phone,
            phone_sealed,
            name_sealed,
            birthday,
            ..
        } = &mut body
        else {
            continue;
        };
        if *enrolled != member {
            continue;
        }
        *masked_name = None;
        masked_phone.clear();
        phone_sealed.clear();
        *name_sealed = None;
        *birthday = None;
        tx.execute(
            "UPDATE outbox SET payload = ?2 WHERE seq = ?1",
            params![seq, serde_json::to_string(&body)?],
        )?;
    }
    Ok(())
}

/// Queues the member's saved files for deletion: their card, and a
/// receipt for each action of theirs in the ledger.
pub(super) fn queue_files(tx: &Transaction<'_>, member: MemberId) -> Result<(), StoreError> {
    let id = member.0.to_string();
    let sources: Vec<String> = tx
        .prepare("SELECT DISTINCT source_id FROM ledger WHERE member_id = ?1")?
        .query_map([&id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    tx.execute(
        "INSERT INTO erased_files (member_id, sources) VALUES (?1, ?2)
         ON CONFLICT(member_id) DO UPDATE SET sources = excluded.sources",
        params![id, serde_json::to_string(&sources)?],
    )?;
    Ok(())
}

/// The files of one erased member still to delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasedFiles {
    /// The member erased.
    pub member: MemberId,
    /// Their actions' ids (receipts are saved under a sale's id).
    pub sources: Vec<String>,
}

fn pending(conn: &Connection) -> Result<Vec<ErasedFiles>, StoreError> {
    let rows: Vec<(String, String)> = conn
        .prepare("SELECT member_id, sources FROM erased_files ORDER BY member_id")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    rows.into_iter()
        .map(|(member, sources)| {
            let member = uuid::Uuid::parse_str(&member)
                .map_err(|_| StoreError::Damaged("erased member id".into()))?;
            Ok(ErasedFiles {
                member: MemberId(member),
                sources: serde_json::from_str(&sources)?,
            })
        })
        .collect()
}

impl Store {
    /// Erased members whose saved files are still to delete.
    pub fn erased_files(&self) -> Result<Vec<ErasedFiles>, StoreError> {
        pending(self.conn())
    }

    /// The member's saved files are deleted: off the queue.
    pub fn erased_files_deleted(&mut self, member: MemberId) -> Result<(), StoreError> {
        self.write(|tx, _| {
            tx.execute(
                "DELETE FROM erased_files WHERE member_id = ?1",
                [member.0.to_string()],
            )?;
            Ok(())
        })
    }
}
