//! Member lookup behind a trait, so the SQLite store can answer it; an
//! in-memory directory serves tests, benches and demos.

use std::collections::HashMap;

use uuid::Uuid;

/// What the scan screen shows about a member: already masked, never the raw
/// personal data (SPEC section 6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSummary {
    /// The member.
    pub member_id: Uuid,
    /// Name as clerks may see it, e.g. `张*`.
    pub masked_name: String,
    /// Phone as clerks may see it, e.g. `138****5678`.
    pub masked_phone: String,
    /// Tier code, e.g. `gold`, for the UI to translate.
    pub tier: String,
}

/// The directory could not answer (database error, store busy...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("member directory unavailable: {0}")]
pub struct DirectoryError(pub String);

/// Finds members known to this store.
pub trait MemberDirectory {
    /// The member with this id, `Ok(None)` when this store does not know it.
    fn find_by_member_id(&self, id: Uuid) -> Result<Option<MemberSummary>, DirectoryError>;
}

/// A directory held in memory.
#[derive(Debug, Clone, Default)]
pub struct InMemoryDirectory {
    members: HashMap<Uuid, MemberSummary>,
}

impl InMemoryDirectory {
    /// An empty directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a member.
    pub fn insert(&mut self, member: MemberSummary) {
        self.members.insert(member.member_id, member);
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

impl MemberDirectory for InMemoryDirectory {
    fn find_by_member_id(&self, id: Uuid) -> Result<Option<MemberSummary>, DirectoryError> {
        Ok(self.members.get(&id).cloned())
    }
}
