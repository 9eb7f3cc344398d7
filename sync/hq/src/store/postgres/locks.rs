//! The PostgreSQL pool's size and the advisory locks a batch takes: the
//! per-member and per-phone lock keys, the wide lock, and the budget of
//! keys one batch may lock before it must take the wide lock instead (so
//! the pool's batches together never fill the server's lock table).
//!
//! Locks, taken before anything they guard is read (in READ COMMITTED each
//! statement reads what was committed when it starts):
//! - the terminal's row (`FOR UPDATE`): one terminal's batches apply one
//!   after the other (acks, dedupe);
//! - the wide lock, shared, then a transaction-scoped advisory lock per
//!   member and per enrollment's phone key of the batch, in ascending key
//!   order: batches of different terminals about one member apply one after
//!   the other, so no batch plans against a cached fold another is
//!   rewriting (and two enrollments of one phone cannot both miss each
//!   other). Members without a row yet are covered too, which row locks
//!   could not do. Ascending order, and the terminal lock always first,
//!   rule out deadlocks between batches;
//! - or, for a batch about more members and phones than the lock budget
//!   ([`key_lock_budget`]), the wide lock alone, exclusive: it waits for the
//!   batches running and holds off the others while it applies. Each
//!   advisory lock takes a slot of the server's shared lock table, and a
//!   few batches of 1,000 members at once filled it. The wide lock comes
//!   right after the terminal's, so the order stays the same for all.

use tillcard_rules::ids::MemberId;

/// Connections in the pool unless configured: two per CPU and two more
/// (PostgreSQL's own rule of thumb for a server's active connections), 4
/// to 32. More connections than the cores can run only add switching: on
/// 2 cores, 6 connections ingest about 10% more events per second than 16,
/// with less CPU per event on both sides.
pub fn default_pool_size() -> usize {
    let cpus = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    (2 * cpus + 2).clamp(4, 32)
}

/// Locks a batch's transaction takes besides its advisory locks (tables,
/// indexes, its own transaction id), counted generously.
pub(super) const OTHER_LOCKS_PER_BATCH: usize = 40;

/// How many member and phone advisory locks one batch may take, given the
/// server's lock table (`max_locks_per_transaction` × (`max_connections` +
/// `max_prepared_transactions`) slots, shared by every session): half of it
/// for the pool's batches at once, the rest for everything else. A batch
/// needing more takes the wide lock instead (see `LOCK_WIDE`). With
/// PostgreSQL's defaults (64 × 100) that is 160; a batch about 1,000
/// members (the protocol's largest) took 1,000 and, with a few at once,
/// failed with "out of shared memory".
pub fn key_lock_budget(lock_slots: i64, pool_size: usize) -> usize {
    let slots = usize::try_from(lock_slots).unwrap_or(0);
    (slots / (2 * pool_size.max(1))).saturating_sub(OTHER_LOCKS_PER_BATCH)
}

/// The server's lock table size in slots, for [`key_lock_budget`].
pub(super) const LOCK_TABLE_SLOTS: &str =
    "SELECT current_setting('max_locks_per_transaction')::bigint
                    * (current_setting('max_connections')::bigint
                       + current_setting('max_prepared_transactions')::bigint)";

/// The migrations' lock: one head office migrates at a time.
pub(super) const LOCK_MIGRATIONS: &str = "SELECT pg_advisory_xact_lock(7111)";

/// The back office's lock: its changes are rare and check what other
/// rows hold (a store's clerks' names, a code's store), so they run one
/// at a time rather than risk two checks passing side by side.
pub(super) const LOCK_BACK_OFFICE: &str = "SELECT pg_advisory_xact_lock(7113)";

// The wide lock's key is two int4s (7112, 0): a key space apart from the
// members' and phones' bigint keys. UNION ALL runs its parts in order, and
// unnest yields the keys in array order (ascending, from `lock_keys`).

/// The wide lock shared, then the advisory lock of each key of `$1`.
pub(super) const LOCK_KEYS: &str = "SELECT pg_advisory_xact_lock_shared(7112, 0)
     UNION ALL SELECT pg_advisory_xact_lock(unnest($1::bigint[]))";
/// The wide lock alone, exclusive.
pub(super) const LOCK_WIDE: &str = "SELECT pg_advisory_xact_lock(7112, 0)";

/// The advisory lock key of a member: its id folded to 64 bits.
pub(super) fn member_lock_key(member: MemberId) -> i64 {
    let (high, low) = member.0.as_u64_pair();
    i64::from_ne_bytes((high ^ low).to_ne_bytes())
}

/// The advisory lock key of a chain-wide phone key (hex of an HMAC): its
/// first 64 bits.
fn phone_lock_key(phone_key: &str) -> i64 {
    let bits = phone_key
        .get(..16)
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .unwrap_or(0);
    i64::from_ne_bytes(bits.to_ne_bytes())
}

/// Every advisory lock a batch takes, ascending, each once.
pub(super) fn lock_keys(members: &[MemberId], phone_keys: &[String]) -> Vec<i64> {
    let mut keys: Vec<i64> = members
        .iter()
        .copied()
        .map(member_lock_key)
        .chain(phone_keys.iter().map(|k| phone_lock_key(k)))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}
