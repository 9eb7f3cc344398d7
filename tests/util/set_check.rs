//! The set checker of the sync tests and bench: what the terminals
//! committed (their outboxes and ledgers, read from their store files)
//! against what head office applied (its events and ledger, read from its
//! SQLite file): lost, duplicated and unexpected events and ledger entries,
//! and every member's totals on both sides. Included by `#[path]` beside
//! `util/sync.rs` (as `sync_util`).
#![allow(dead_code, reason = "each user takes part of the helpers")]
// clippy.toml keeps database connections in the store modules; the checker
// reads both ends' files directly to compare them.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use tillcard::rules::account::MemberAccount;
use tillcard::rules::ledger::LedgerEntry;
use tillcard::rules::{MemberId, Timestamp};
use tillcard::store::handle::StoreHandle;

/// What one terminal committed: its id at head office and, by sequence
/// number, each event's id and how many ledger entries it wrote.
#[derive(Debug, Clone)]
pub struct Committed {
    /// The terminal's id (as head office knows it).
    pub terminal_id: String,
    /// seq -> (event id, ledger entries).
    pub events: BTreeMap<u64, (String, u64)>,
    /// Events not yet acknowledged by head office.
    pub pending: u64,
}

/// Reads what the terminal whose store file is `path` committed.
pub fn committed(path: &Path) -> Committed {
    let conn = crate::sync_util::raw(path);
    let terminal_id: String = conn
        .query_row("SELECT terminal_id FROM credentials", [], |r| r.get(0))
        .unwrap();
    let mut entries: BTreeMap<u64, u64> = BTreeMap::new();
    let mut stmt = conn
        .prepare("SELECT event_seq, COUNT(*) FROM ledger GROUP BY event_seq")
        .unwrap();
    for row in stmt
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
        .unwrap()
    {
        let (seq, n) = row.unwrap();
        entries.insert(seq as u64, n as u64);
    }
    let mut events = BTreeMap::new();
    let mut pending = 0;
    let mut stmt = conn
        .prepare("SELECT seq, event_id, acked FROM outbox ORDER BY seq")
        .unwrap();
    for row in stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
        .unwrap()
    {
        let (seq, id, acked) = row.unwrap();
        let seq = seq as u64;
        events.insert(seq, (id, entries.get(&seq).copied().unwrap_or(0)));
        if acked == 0 {
            pending += 1;
        }
    }
    Committed {
        terminal_id,
        events,
        pending,
    }
}

/// The set checker's verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Events the terminals committed (all checked).
    pub events: u64,
    /// Ledger entries the terminals wrote (all checked).
    pub entries: u64,
    /// Committed events (or their ledger entries) head office lacks.
    pub lost: u64,
    /// Events or ledger entries head office holds more than once.
    pub duplicated: u64,
    /// Events head office holds that no terminal committed (or under
    /// another id at that sequence number).
    pub unexpected: u64,
    /// Events head office dead-lettered instead of applying.
    pub dead: u64,
}

/// Compares the terminals' `committed` events with head office's SQLite
/// file at `hq_path`.
pub fn check(hq_path: &Path, committed: &[Committed]) -> Verdict {
    let conn =
        rusqlite::Connection::open_with_flags(hq_path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut verdict = Verdict::default();
    // Head office's events: (terminal, seq) -> (event id, status).
    let mut held: BTreeMap<(String, u64), (String, String)> = BTreeMap::new();
    let mut ids_seen: BTreeMap<String, u64> = BTreeMap::new();
    let mut stmt = conn
        .prepare("SELECT terminal_id, seq, event_id, status FROM events")
        .unwrap();
    for row in stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .unwrap()
    {
        let (terminal, seq, id, status) = row.unwrap();
        *ids_seen.entry(id.clone()).or_default() += 1;
        held.insert((terminal, seq as u64), (id, status));
    }
    verdict.duplicated += ids_seen.values().map(|n| n - 1).sum::<u64>();
    // Head office's ledger entries by the event that wrote them.
    let mut ledger: BTreeMap<(String, u64), u64> = BTreeMap::new();
    let mut stmt = conn
        .prepare(
            "SELECT terminal_id, seq, COUNT(*) FROM ledger
             WHERE terminal_id IS NOT NULL GROUP BY terminal_id, seq",
        )
        .unwrap();
    for row in stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
        .unwrap()
    {
        let (terminal, seq, n) = row.unwrap();
        ledger.insert((terminal, seq as u64), n as u64);
    }
    let mut expected: BTreeSet<(String, u64)> = BTreeSet::new();
    for terminal in committed {
        for (&seq, (id, entries)) in &terminal.events {
            let key = (terminal.terminal_id.clone(), seq);
            verdict.events += 1;
            verdict.entries += entries;
            match held.get(&key) {
                None => verdict.lost += 1,
                Some((held_id, _)) if held_id != id => {
                    verdict.lost += 1;
                    verdict.unexpected += 1;
                }
                Some((_, status)) if status != "applied" => verdict.dead += 1,
                Some(_) => {}
            }
            let at_hq = ledger.get(&key).copied().unwrap_or(0);
            verdict.lost += entries.saturating_sub(at_hq);
            verdict.duplicated += at_hq.saturating_sub(*entries);
            expected.insert(key);
        }
    }
    verdict.unexpected += held.keys().filter(|k| !expected.contains(*k)).count() as u64;
    verdict.unexpected += ledger.keys().filter(|k| !expected.contains(*k)).count() as u64;
    verdict
}

/// Each member's points, stored value and spend at head office (its ledger
/// folded) against the terminal's account: how many members were compared
/// and the ones that differ.
pub async fn member_totals(
    hq_store: &Arc<dyn tillcard_hq::store::Store>,
    handle: &StoreHandle,
    members: &[MemberId],
    now: Timestamp,
) -> (usize, Vec<MemberId>) {
    let mut differ = Vec::new();
    for &member in members {
        let local = {
            let handle = handle.clone();
            tokio::task::spawn_blocking(move || handle.call(move |s| s.account(member)).unwrap())
                .await
                .unwrap()
        };
        let entries: Vec<LedgerEntry> = hq_store
            .member(member)
            .await
            .unwrap()
            .map(|(_, entries)| entries)
            .unwrap_or_default();
        let remote = MemberAccount::fold(MemberAccount::new(member), &entries);
        if remote.stored_value != local.stored_value
            || remote.points_balance(now) != local.points_balance(now)
            || remote.rolling_spend(now, 12) != local.rolling_spend(now, 12)
        {
            differ.push(member);
        }
    }
    (members.len(), differ)
}
