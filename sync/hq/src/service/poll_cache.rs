//! What one head-office node remembers to answer the downlink's commonest
//! request, a poll that finds nothing new, without a database round trip
//! (issue 23: 10,800 tills polling every 5 s are 2,160 polls a second, and
//! each cost head office and PostgreSQL two round trips).
//!
//! **Where each store's log ends.** The node reads the last change of the
//! chain-wide log and of each store's ([`ScopeStore::log_heads`]) and
//! refreshes that reading at most [`PollBounds::log_head`] after the last
//! one began: one statement a second for the whole chain, reading only
//! what was written since. A poll whose cursor names exactly the change
//! its store's log ends at (the position and the cursor's check of that
//! change) is answered with an empty page at once. A change written
//! through any node (they share one database) is in the next reading, so
//! a terminal that has caught up receives it within the bound after it is
//! written (plus its own polling period). Any other cursor, or no fresh
//! reading, goes to the database as before.
//!
//! **Who is asking.** A poll's signature is checked against the terminal
//! as this node read it at most [`PollBounds::terminal`] ago. Only an
//! empty answer relies on it: a page that carries anything reads the
//! terminal again from the database first (revoked or re-keyed: refused
//! as before), and an empty answer from a remembered terminal carries no
//! `acked_seq` (the database's figure may have moved on another node; the
//! terminal learns it from its uploads' acks and from the next page read
//! from the database). So a terminal revoked on another node is refused
//! everything but "nothing new" at once, and that too within the bound;
//! on the node that revoked it, at once. Uploads never use it.
//!
//! A database restored from a backup under running nodes is not followed
//! by these readings: restore with the nodes stopped (`packaging/README.md`,
//! "Backups"); started again, a node reads the logs' ends afresh, and a
//! cursor naming a change the restored log lacks goes to the database,
//! which answers `resync`.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lru::LruCache;
use tillcard_protocol::wire::{self, TerminalId};

use crate::store::scope::ScopeStore;
use crate::store::{ChangeRow, StoreResult, TerminalRecord};

/// How stale each reading may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollBounds {
    /// A reading of the logs' ends older than this is read again before a
    /// poll is answered from it.
    pub log_head: Duration,
    /// A terminal read longer ago than this is read again.
    pub terminal: Duration,
}

impl PollBounds {
    /// A head-office node's: the logs' ends read at most once a second, a
    /// terminal at most every 30 s (a terminal polling every 5 s is read
    /// at one poll in six).
    pub const DEFAULT: PollBounds = PollBounds {
        log_head: Duration::from_secs(1),
        terminal: Duration::from_secs(30),
    };
    /// Nothing remembered: every poll reads the database.
    pub const OFF: PollBounds = PollBounds {
        log_head: Duration::ZERO,
        terminal: Duration::ZERO,
    };
}

/// Terminals a node remembers: a chain's, with room.
pub const TERMINALS_CACHED: usize = 50_000;

/// Where one log ends: the last change's place and its cursor check.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Head {
    at: (i64, i64),
    check: String,
}

impl Head {
    fn of(row: &ChangeRow) -> Head {
        Head {
            at: (row.xid, row.position),
            check: row_check(row),
        }
    }
}

/// A change-log row's check in a `c2` cursor ([`wire::change_check`]).
pub(super) fn row_check(row: &ChangeRow) -> String {
    let member = row.member.map(|m| m.0.to_string());
    wire::change_check(
        row.xid,
        row.position,
        &row.kind,
        member.as_deref(),
        row.payload.as_deref(),
    )
}

#[derive(Default)]
struct Heads {
    /// Bumped when the readings are forgotten: a reading begun before is
    /// dropped (it continues a mark that no longer holds).
    generation: u64,
    /// Bumped by each write through this node ([`PollCache::written_here`]):
    /// a reading begun before it is kept for its heads but not taken as
    /// fresh (the write may have committed after the reading's snapshot).
    writes: u64,
    /// When the last reading began; `None` before the first.
    read_at: Option<Instant>,
    mark: Option<i64>,
    chain: Option<Head>,
    stores: HashMap<String, Head>,
}

impl Heads {
    /// Takes `head` as where `scope`'s log ends, unless it ends later.
    fn merge(&mut self, scope: Option<&str>, head: Head) {
        let slot = match scope {
            None => &mut self.chain,
            Some(store) => {
                let own = self
                    .stores
                    .entry(store.to_owned())
                    .or_insert_with(|| head.clone());
                if own.at < head.at {
                    *own = head;
                }
                return;
            }
        };
        if slot.as_ref().is_none_or(|h| h.at < head.at) {
            *slot = Some(head);
        }
    }

    /// Where `store`'s terminals' log ends: the later of the chain-wide
    /// log's end and the store's.
    fn of(&self, store: &str) -> Option<&Head> {
        match (self.chain.as_ref(), self.stores.get(store)) {
            (Some(chain), Some(own)) => Some(if own.at > chain.at { own } else { chain }),
            (chain, own) => chain.or(own),
        }
    }
}

/// The node's readings ([module docs](self)).
pub struct PollCache {
    bounds: Mutex<PollBounds>,
    heads: Mutex<Heads>,
    /// Held by the one poll reading the logs' ends.
    reading: tokio::sync::Mutex<()>,
    terminals: Mutex<LruCache<TerminalId, (TerminalRecord, Instant)>>,
}

impl PollCache {
    /// A cache under `bounds`.
    pub fn new(bounds: PollBounds) -> PollCache {
        PollCache {
            bounds: Mutex::new(bounds),
            heads: Mutex::new(Heads::default()),
            reading: tokio::sync::Mutex::new(()),
            terminals: Mutex::new(LruCache::new(
                NonZeroUsize::new(TERMINALS_CACHED).unwrap_or(NonZeroUsize::MIN),
            )),
        }
    }

    /// The bounds in force.
    pub fn bounds(&self) -> PollBounds {
        self.bounds.lock().map_or(PollBounds::OFF, |b| *b)
    }

    /// Sets the bounds (and forgets every reading).
    pub fn set_bounds(&self, bounds: PollBounds) {
        if let Ok(mut b) = self.bounds.lock() {
            *b = bounds;
        }
        if let Ok(mut t) = self.terminals.lock() {
            t.clear();
        }
        if let Ok(mut h) = self.heads.lock() {
            *h = Heads {
                generation: h.generation.wrapping_add(1),
                ..Heads::default()
            };
        }
    }

    /// Whether a poll from `store`'s terminal at cursor `at` (whose check
    /// is `check`) finds nothing new: `true` only when a reading younger
    /// than the bound says the store's log ends exactly there. Reads the
    /// logs' ends again when the reading is too old; while another poll
    /// is reading them, answers `false` (that poll goes to the database)
    /// rather than wait.
    pub async fn at_head<S: ScopeStore + ?Sized>(
        &self,
        store: &S,
        terminal_store: &str,
        at: (i64, i64),
        check: &str,
    ) -> StoreResult<bool> {
        let bound = self.bounds().log_head;
        if bound.is_zero() {
            return Ok(false);
        }
        let answer = |heads: &Heads| {
            heads
                .of(terminal_store)
                .is_some_and(|head| head.at == at && head.check.eq_ignore_ascii_case(check))
        };
        let fresh = |heads: &Heads| heads.read_at.is_some_and(|t| t.elapsed() < bound);
        match self.heads.lock() {
            Ok(heads) if fresh(&heads) => return Ok(answer(&heads)),
            Ok(_) => {}
            Err(_) => return Ok(false),
        }
        let Ok(_reading) = self.reading.try_lock() else {
            return Ok(false);
        };
        // Another poll may have read them while this one waited.
        let (mark, generation, writes) = match self.heads.lock() {
            Ok(heads) if fresh(&heads) => return Ok(answer(&heads)),
            Ok(heads) => (heads.mark, heads.generation, heads.writes),
            Err(_) => return Ok(false),
        };
        let began = Instant::now();
        let read = store.log_heads(mark).await?;
        let Ok(mut heads) = self.heads.lock() else {
            return Ok(false);
        };
        if heads.generation != generation {
            return Ok(false);
        }
        for (scope, row) in &read.heads {
            heads.merge(scope.as_deref(), Head::of(row));
        }
        heads.mark = Some(read.mark);
        if heads.writes != writes {
            // Written through this node while reading: the next poll
            // reads again, this one goes to the database.
            return Ok(false);
        }
        heads.read_at = Some(began);
        Ok(answer(&heads))
    }

    /// Something was written through this node (an operator's action, a
    /// terminal registered): the next poll reads the logs'
    /// ends again, so a terminal that polls after the write finds it, as
    /// it would with the cache off. Incremental: the reading continues
    /// from its mark.
    pub fn written_here(&self) {
        if let Ok(mut heads) = self.heads.lock() {
            heads.writes = heads.writes.wrapping_add(1);
            heads.read_at = None;
        }
    }

    /// `terminal` as read at most the bound ago, if remembered.
    pub fn terminal(&self, terminal: TerminalId) -> Option<TerminalRecord> {
        let bound = self.bounds().terminal;
        if bound.is_zero() {
            return None;
        }
        let mut cache = self.terminals.lock().ok()?;
        match cache.get(&terminal) {
            Some((record, read)) if read.elapsed() < bound => Some(record.clone()),
            Some(_) => {
                cache.pop(&terminal);
                None
            }
            None => None,
        }
    }

    /// Remembers `record`, read from the database at `read`.
    pub fn remember(&self, record: &TerminalRecord, read: Instant) {
        if self.bounds().terminal.is_zero() {
            return;
        }
        if let Ok(mut cache) = self.terminals.lock() {
            cache.put(record.terminal_id, (record.clone(), read));
        }
    }

    /// Forgets `terminal` (revoked, its card key renewed, its clock skew
    /// recorded through this node).
    pub fn forget(&self, terminal: TerminalId) {
        if let Ok(mut cache) = self.terminals.lock() {
            cache.pop(&terminal);
        }
    }
}

/// The one request path whose writes leave the readings alone: a
/// terminal's upload (hundreds a second at a chain's size). The members it
/// changes reach the store's other terminals within the bound, as from
/// another node; the uploading terminal has them already.
const UPLOAD_PATH: &str = "/v1/batches";

/// Middleware: after any request through this node that may have written
/// (not `GET`, `HEAD` or `OPTIONS`), except an upload, the node reads the
/// logs' ends again at the next poll ([`PollCache::written_here`]). The
/// answer is sent after, so a terminal that syncs once an operator's
/// action is answered finds it.
pub(super) async fn written_through_this_node(
    axum::extract::State(hq): axum::extract::State<std::sync::Arc<super::Hq>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::Method;
    let writes = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) && request.uri().path() != UPLOAD_PATH;
    let response = next.run(request).await;
    if writes {
        hq.poll_cache.written_here();
    }
    response
}

impl super::Hq {
    /// The answer to a poll that finds nothing new, from this node's
    /// reading of where `terminal`'s store's log ends ([module
    /// docs](self)); `None` when the database must answer: no checked
    /// cursor, a log that moved or no fresh reading, or a card key due for
    /// renewal. `fresh`: `terminal` was read from the database for this
    /// request, so its `acked_seq` is sent.
    pub async fn nothing_new(
        &self,
        terminal: &TerminalRecord,
        fresh: bool,
        cursor: Option<&str>,
    ) -> Result<Option<wire::ChangesPage>, crate::error::HqError> {
        let Some((at, Some(check))) = cursor.and_then(wire::cursor_parts) else {
            return Ok(None);
        };
        if at == (0, 0) || super::card_keys::renewed_card_key(terminal)?.is_some() {
            return Ok(None);
        }
        if !self
            .poll_cache
            .at_head(self.store.as_ref(), &terminal.store, at, check)
            .await?
        {
            return Ok(None);
        }
        self.metrics.downlink_polls_cached.inc();
        Ok(Some(wire::ChangesPage {
            changes: Vec::new(),
            cursor: wire::checked_cursor(at, check),
            more: false,
            acked_seq: fresh.then_some(terminal.acked_seq),
            resync: false,
        }))
    }

    /// `terminal`, remembered by this node, read again from the database
    /// before a page with changes is sent to it: refused if revoked since
    /// (or, never expected, its key changed).
    pub async fn terminal_again(
        &self,
        terminal: &TerminalRecord,
    ) -> Result<TerminalRecord, crate::error::HqError> {
        use crate::error::HqError;
        let read = Instant::now();
        let Some(now) = self.store.terminal(terminal.terminal_id).await? else {
            self.poll_cache.forget(terminal.terminal_id);
            return Err(HqError::Unauthorized(
                "unknown_terminal",
                "unknown terminal".into(),
            ));
        };
        self.poll_cache.remember(&now, read);
        if now.revoked {
            return Err(HqError::Forbidden(
                "terminal_revoked",
                "terminal revoked".into(),
            ));
        }
        if now.public_key != terminal.public_key {
            return Err(HqError::Unauthorized(
                "bad_signature",
                "signature does not verify".into(),
            ));
        }
        Ok(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(xid: i64, position: i64) -> Head {
        Head {
            at: (xid, position),
            check: format!("{xid:08x}{position:08x}"),
        }
    }

    #[test]
    fn the_path_whose_writes_leave_the_readings_alone_is_the_upload_route() {
        assert!(
            crate::service::routes::routes().any(|r| r.method == "post" && r.path == UPLOAD_PATH),
            "{UPLOAD_PATH} is not a POST route of head office"
        );
    }

    #[test]
    fn a_write_through_the_node_makes_the_next_poll_read_again() {
        let cache = PollCache::new(PollBounds::DEFAULT);
        if let Ok(mut heads) = cache.heads.lock() {
            heads.read_at = Some(Instant::now());
        }
        cache.written_here();
        let heads = cache.heads.lock().unwrap();
        assert_eq!(heads.read_at, None, "the reading is no longer fresh");
        assert_eq!(heads.writes, 1);
    }

    #[test]
    fn a_store_s_log_ends_at_the_later_of_its_own_and_the_chain_wide_end() {
        let mut heads = Heads::default();
        assert_eq!(heads.of("S1"), None);
        heads.merge(None, head(5, 50));
        assert_eq!(heads.of("S1"), Some(&head(5, 50)), "only chain-wide so far");
        heads.merge(Some("S1"), head(7, 70));
        assert_eq!(heads.of("S1"), Some(&head(7, 70)));
        assert_eq!(heads.of("S2"), Some(&head(5, 50)));
        // An earlier reading never moves an end back.
        heads.merge(Some("S1"), head(6, 60));
        heads.merge(None, head(4, 40));
        assert_eq!(heads.of("S1"), Some(&head(7, 70)));
        assert_eq!(heads.of("S2"), Some(&head(5, 50)));
        // A chain-wide change after the store's last one ends its log.
        heads.merge(None, head(9, 90));
        assert_eq!(heads.of("S1"), Some(&head(9, 90)));
    }
}
