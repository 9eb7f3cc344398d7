//! Members' folded state for the downlink, computed once per change of the
//! member rather than once per terminal (issue 23).
//!
//! Every terminal reads the same change log. Before this cache, each
//! terminal's page read each member's whole ledger and folded it again:
//! the work grew with the number of terminals times each member's history.
//! Now a page reads the members it lacks in two set queries (records, then
//! ledgers) and keeps each member's record and fold here, with how far in
//! the log that reading is good for.
//!
//! **Why a cached fold is never too old for a change it serves.** A page
//! holds only changes whose transactions had committed when the page was
//! read (SQLite serializes writers; on PostgreSQL the page stops below the
//! oldest transaction still running), and the members are read after the
//! page. So a fold read for a page that ended at log place `covers` holds
//! every change up to `covers`, and it may serve any member change at or
//! before that place, for any terminal. It may hold newer state as well:
//! that is what the log's own later change of the member will send again,
//! as reading the member at the time of the request always did.
//!
//! The cache is per process and bounded ([`SNAPSHOT_CACHE_MEMBERS`]); nodes
//! of a head office need not agree on it, since each entry is checked
//! against the change it serves. Only the sealed personal fields are kept,
//! as stored: each terminal's answer opens them (its own phone-lookup key
//! makes the lookup hash differ per terminal), so an erased member's data
//! key, once deleted, opens nothing from here either.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use lru::LruCache;
use tillcard_rules::MemberAccount;
use tillcard_rules::ids::MemberId;

use crate::store::MemberRecord;

/// How many members' folds a head-office process keeps: a day's members
/// of a large region. A fold is a few KiB, so the bound is tens of MiB.
pub const SNAPSHOT_CACHE_MEMBERS: usize = 20_000;

/// A member as read for the downlink: the record and the fold of the
/// member's whole ledger.
#[derive(Debug)]
pub struct FoldedMember {
    /// The member's row (personal fields sealed).
    pub record: MemberRecord,
    /// The whole ledger folded.
    pub account: MemberAccount,
}

/// One cached member and the log place its reading covers.
struct Entry {
    covers: (i64, i64),
    member: Arc<FoldedMember>,
}

/// The cache ([module docs](self)).
pub struct SnapshotCache {
    entries: Mutex<LruCache<MemberId, Entry>>,
}

impl Default for SnapshotCache {
    fn default() -> Self {
        SnapshotCache::with_capacity(SNAPSHOT_CACHE_MEMBERS)
    }
}

impl SnapshotCache {
    /// A cache holding at most `members` members (at least one).
    pub fn with_capacity(members: usize) -> SnapshotCache {
        SnapshotCache {
            entries: Mutex::new(LruCache::new(
                NonZeroUsize::new(members).unwrap_or(NonZeroUsize::MIN),
            )),
        }
    }

    /// The member as read for a page that covered `change` or later, if
    /// the cache holds one.
    pub fn get(&self, member: MemberId, change: (i64, i64)) -> Option<Arc<FoldedMember>> {
        let mut entries = self.lock();
        let entry = entries.get(&member)?;
        (entry.covers >= change).then(|| Arc::clone(&entry.member))
    }

    /// Keeps `member` as read after a page that ended at `covers`, unless
    /// the cache holds a reading covering more.
    pub fn put(&self, id: MemberId, covers: (i64, i64), member: Arc<FoldedMember>) {
        let mut entries = self.lock();
        if entries.peek(&id).is_some_and(|e| e.covers >= covers) {
            return;
        }
        entries.put(id, Entry { covers, member });
    }

    /// Drops a member (erased, merged or otherwise changed outside the
    /// log's order in this process).
    pub fn forget(&self, member: MemberId) {
        self.lock().pop(&member);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<MemberId, Entry>> {
        // A panic while holding the lock leaves nothing half-written: each
        // operation is one call on the map.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn folded(member: MemberId) -> Arc<FoldedMember> {
        Arc::new(FoldedMember {
            record: MemberRecord {
                member,
                masked_name: None,
                masked_phone: None,
                personal: Default::default(),
                tags: Vec::new(),
                duplicate_of: None,
                erased: false,
                referrer: None,
                frozen: false,
                card_serial: 1,
                merged_into: None,
                enrolled_by: None,
            },
            account: MemberAccount::new(member),
        })
    }

    #[test]
    fn a_reading_serves_changes_up_to_the_place_it_covers_and_no_later() {
        let cache = SnapshotCache::default();
        let m = MemberId(Uuid::from_u128(7));
        cache.put(m, (0, 40), folded(m));
        assert!(cache.get(m, (0, 12)).is_some());
        assert!(cache.get(m, (0, 40)).is_some());
        assert!(cache.get(m, (0, 41)).is_none());
        // PostgreSQL orders by transaction first.
        cache.put(m, (9, 3), folded(m));
        assert!(cache.get(m, (8, 500)).is_some());
        assert!(cache.get(m, (9, 4)).is_none());
    }

    #[test]
    fn an_older_reading_does_not_replace_a_newer_one_and_forget_drops_it() {
        let cache = SnapshotCache::default();
        let m = MemberId(Uuid::from_u128(8));
        cache.put(m, (0, 90), folded(m));
        cache.put(m, (0, 10), folded(m));
        assert!(cache.get(m, (0, 90)).is_some());
        cache.forget(m);
        assert!(cache.get(m, (0, 1)).is_none());
    }

    #[test]
    fn the_least_recently_used_member_leaves_first_at_the_bound() {
        let cache = SnapshotCache::with_capacity(2);
        let [a, b, c] = [1, 2, 3].map(|n| MemberId(Uuid::from_u128(n)));
        cache.put(a, (0, 5), folded(a));
        cache.put(b, (0, 5), folded(b));
        assert!(cache.get(a, (0, 5)).is_some());
        cache.put(c, (0, 5), folded(c));
        assert!(cache.get(b, (0, 5)).is_none());
        assert!(cache.get(a, (0, 5)).is_some() && cache.get(c, (0, 5)).is_some());
    }
}
