//! A read-only connection for threads other than the store's own: the scan
//! pipeline looks members up through it without waiting for the writer (WAL
//! lets readers and the writer run side by side).

use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use tillcard_rules::{MemberId, Program};
use uuid::Uuid;

use super::members::{current_tier, find_by_id};
use super::{SharedKey, StoreError, connect};
use crate::scan::directory::{DirectoryError, MemberDirectory, MemberSummary};

/// Member lookups on their own read-only connection.
pub struct MemberReader {
    path: std::path::PathBuf,
    key: SharedKey,
    conn: std::cell::RefCell<(u64, Connection)>,
    program: Program,
}

impl std::fmt::Debug for MemberReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemberReader").finish_non_exhaustive()
    }
}

impl MemberReader {
    /// Opens a reader on the store file at `path` (which the store has
    /// already created and migrated) with the store's key (see
    /// [`super::Store::reader`]). `program` names the tiers.
    pub(crate) fn open(
        path: &Path,
        program: Program,
        key: SharedKey,
    ) -> Result<MemberReader, StoreError> {
        let (generation, current) = key.current();
        let conn = connect(path, OpenFlags::SQLITE_OPEN_READ_ONLY, &current)?;
        Ok(MemberReader {
            path: path.to_owned(),
            key,
            conn: std::cell::RefCell::new((generation, conn)),
            program,
        })
    }

    fn summary(&self, id: MemberId) -> Result<Option<MemberSummary>, StoreError> {
        let (generation, key) = self.key.current();
        if self.conn.borrow().0 != generation {
            // The store was re-keyed: this connection's key is the old one.
            let conn = connect(&self.path, OpenFlags::SQLITE_OPEN_READ_ONLY, &key)?;
            *self.conn.borrow_mut() = (generation, conn);
        }
        let guard = self.conn.borrow();
        let conn = &guard.1;
        let Some(record) = find_by_id(conn, id)? else {
            return Ok(None);
        };
        // The record's id: an account merged at head office is found as
        // its survivor.
        let tier = current_tier(conn, record.id)?;
        Ok(Some(MemberSummary {
            member_id: record.id.0,
            masked_name: record.name_masked,
            masked_phone: record.phone_masked,
            tier: self
                .program
                .tier(tier)
                .map_or_else(String::new, |t| t.code.clone()),
        }))
    }
}

impl MemberDirectory for MemberReader {
    fn find_by_member_id(&self, id: Uuid) -> Result<Option<MemberSummary>, DirectoryError> {
        self.summary(MemberId(id))
            .map_err(|e| DirectoryError(e.to_string()))
    }
}
