//! A read-only connection for threads other than the store's own: the scan
//! pipeline looks members up through it without waiting for the writer (WAL
//! lets readers and the writer run side by side).

use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use tillcard_rules::{MemberId, Program};
use uuid::Uuid;

use super::members::{current_tier, find_by_id};
use super::{StoreError, connect};
use crate::scan::directory::{DirectoryError, MemberDirectory, MemberSummary};

/// Member lookups on their own read-only connection.
pub struct MemberReader {
    conn: Connection,
    program: Program,
}

impl std::fmt::Debug for MemberReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemberReader").finish_non_exhaustive()
    }
}

impl MemberReader {
    /// Opens a reader on the store file at `path` (which the store has
    /// already created and migrated). `program` names the tiers.
    pub fn open(path: &Path, program: Program) -> Result<MemberReader, StoreError> {
        let conn = connect(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        Ok(MemberReader { conn, program })
    }

    fn summary(&self, id: MemberId) -> Result<Option<MemberSummary>, StoreError> {
        let Some(record) = find_by_id(&self.conn, id)? else {
            return Ok(None);
        };
        // The record's id: an account merged at head office is found as
        // its survivor.
        let tier = current_tier(&self.conn, record.id)?;
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
