//! The terminal's durable local store: member cache, ledger, outbox, clerks
//! and audit log, in one SQLite file. This is the only module that writes SQL.
//!
//! Encryption at rest: the file is SQLCipher (AES-256, HMAC-SHA256 per page),
//! keyed with the raw 32-byte store key ([`crate::store_key`]), which every
//! connection applies before any other statement ([`connect`]). A wrong or
//! missing key is [`StoreError::WrongKey`]; a plain SQLite file left by a
//! previous version is encrypted once at open ([`encrypt_plain_file`]).
//!
//! Durability: WAL journal with `synchronous=FULL` (a commit that returned is
//! on disk, even across power loss), `BEGIN IMMEDIATE` for every write (the
//! write lock is taken up front, so a transaction never fails half-way on a
//! lock upgrade), foreign keys on, a busy timeout, and `PRAGMA
//! integrity_check` at start-up: a damaged file is refused and kept for
//! support, never "repaired" by writing to it.
//!
//! Every business action (enroll, sale, refund, top-up, adjustment, coupon
//! issue) is ONE transaction that writes its effect (ledger entries from the
//! rules engine), its outbox event and its audit row together. The outbox
//! sequence number is taken inside that transaction, so it is gapless.
//!
//! One thread owns the write connection ([`handle::StoreHandle`]); the scan
//! thread reads through its own read-only connection ([`reader::MemberReader`]).

// The one place database connections may live (clippy.toml disallows them
// everywhere else).
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

pub mod actions;
pub mod audit;
pub mod cards;
pub mod catalog;
pub mod clerks;
pub mod clock_offset;
pub mod epochs;
pub mod erasure;
pub mod error;
pub mod events;
pub mod handle;
pub mod members;
pub mod outbox;
pub mod quarantine;
pub mod reader;
pub mod retention;
pub mod returns;
pub mod schema;
pub mod shift;
pub mod staff;
pub mod sync;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior};
use tillcard_rules::{Program, Timestamp};

use crate::clock::Clock;
use crate::store_key::StoreKey;
pub use error::StoreError;

/// How expensive PIN hashing is. Production uses Argon2id's recommended
/// parameters; tests use the cheapest allowed so they run fast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinHashCost {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
}

impl PinHashCost {
    /// OWASP's Argon2id recommendation (19 MiB, 2 passes).
    pub const PRODUCTION: PinHashCost = PinHashCost {
        memory_kib: 19 * 1024,
        iterations: 2,
    };
    /// The cheapest Argon2 allows: for tests only.
    pub const TEST_ONLY: PinHashCost = PinHashCost {
        memory_kib: 8,
        iterations: 1,
    };
}

/// How the store is set up.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// This terminal's id, written into every outbox event.
    pub terminal_id: String,
    /// PIN hashing cost.
    pub pin_cost: PinHashCost,
    /// The key the file is encrypted with (sealed to the machine by
    /// [`crate::store_key::KeyVault`]).
    pub key: StoreKey,
}

impl StoreConfig {
    /// Production settings for `terminal_id`, the file encrypted with `key`.
    pub fn new(terminal_id: impl Into<String>, key: StoreKey) -> StoreConfig {
        StoreConfig {
            terminal_id: terminal_id.into(),
            pin_cost: PinHashCost::PRODUCTION,
            key,
        }
    }
}

/// The store key shared by the write connection and the readers, with a
/// generation that a re-key bumps (a reader then opens its connection
/// again with the new key).
#[derive(Debug, Clone)]
pub struct SharedKey(Arc<std::sync::RwLock<(u64, StoreKey)>>);

impl SharedKey {
    fn new(key: StoreKey) -> SharedKey {
        SharedKey(Arc::new(std::sync::RwLock::new((0, key))))
    }

    /// The generation and the key now.
    fn current(&self) -> (u64, StoreKey) {
        let guard = self
            .0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (guard.0, guard.1.clone())
    }

    fn replace(&self, key: StoreKey) {
        let mut guard = self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.0 += 1;
        guard.1 = key;
    }
}

/// The open store. Not `Sync`: one thread owns it (see [`handle`]).
pub struct Store {
    conn: Connection,
    path: PathBuf,
    clock: Arc<dyn Clock>,
    config: StoreConfig,
    key: SharedKey,
    phone_key: [u8; 32],
    accounts: members::AccountCache,
    /// The program without a moment and every version head office
    /// published, loaded once (cleared when the downlink brings one).
    programs: std::cell::RefCell<Option<Vec<Program>>>,
    /// Where the next upload's audit walk may resume (`store::audit`).
    audit_resume: std::cell::RefCell<Option<audit::AuditResume>>,
    credentials: Option<tillcard_protocol::client::TerminalCredentials>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("terminal_id", &self.config.terminal_id)
            .finish_non_exhaustive()
    }
}

/// The first 16 bytes of every plain (unencrypted) SQLite file.
const PLAIN_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Whether the file at `path` is a plain SQLite database (one written by a
/// Tillcard before the store was encrypted).
pub fn is_plain_sqlite(path: &Path) -> bool {
    use std::io::Read as _;
    let mut header = [0u8; 16];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .is_ok_and(|()| &header == PLAIN_HEADER)
}

/// The statements that key a new connection, run before anything else
/// touches the file. Public for tests that open a store file themselves.
///
/// - The page MAC is HMAC-SHA256, not SQLCipher 4's default HMAC-SHA512:
///   as sound for authenticating a page, and on CPUs with SHA extensions
///   (AMD since 2017, Intel since Ice Lake and the Atoms) about twice as
///   fast (`openssl speed` here: 2.0 GB/s against 1.1 GB/s). A sale
///   writes 12-18 pages (measured), so this is part of what keeps its commit near plain
///   SQLite's (`store.commit_ratio`, README Performance). The format is
///   fixed at creation: every connection must say the same. (No store was
///   encrypted with the SHA-512 default outside development: that code
///   never passed CI.)
/// - Pages are 2 KiB ([`PAGE_SIZE`]), not SQLCipher's 4 KiB. A sale
///   changes about a dozen b-trees (sales, ledger, outbox, audit and their
///   indexes), and every changed page is encrypted, authenticated and
///   written whole at commit: a page half the size is about half that
///   work. Measured (`store.commit_ratio`, README Performance) on this
///   workload: median 0.57 against 0.51 with 4 KiB pages, lookups at
///   1,000,000 members within a few µs of each other; 1 KiB pages
///   committed faster still but took lookups to 0.09 ms p99, too near
///   their 0.1 ms bound. Stores encrypted before keep their 4 KiB pages
///   ([`EARLIER_PAGE_SIZE`], tried when the first does not open the file).
/// - `cipher_memory_security` stays off (wiping every freed page costs a
///   third of the commit rate; the key itself is wiped by [`StoreKey`]).
/// - SQLCipher's own log (to stderr) is off: a wrong key is reported as
///   [`StoreError::WrongKey`] instead.
pub fn key_statements(key: &StoreKey) -> String {
    key_statements_for(key, PAGE_SIZE)
}

/// The page size of a store encrypted by this version, in bytes.
pub const PAGE_SIZE: u32 = 2048;

/// The page size of stores encrypted before [`PAGE_SIZE`] (SQLCipher's
/// default); such a store keeps it.
pub const EARLIER_PAGE_SIZE: u32 = 4096;

/// [`key_statements`] for a file with pages of `page_size` bytes.
pub fn key_statements_for(key: &StoreKey, page_size: u32) -> String {
    sqlcipher_started();
    format!(
        "PRAGMA key = \"{}\"; PRAGMA cipher_page_size = {page_size}; \
         PRAGMA cipher_hmac_algorithm = HMAC_SHA256; \
         PRAGMA cipher_memory_security = OFF; PRAGMA cipher_log_level = NONE;",
        key.sql_literal()
    )
}

/// Makes sure SQLCipher has finished starting in this process before a
/// connection is keyed; every keyed connection calls it through
/// [`key_statements_for`]. Idempotent, cheap after the first call.
///
/// - libcrypto first, without its atexit cleanup, which could free its
///   state under a store worker thread still encrypting when the process
///   exits (seen as SIGSEGV at exit).
/// - Then SQLCipher's own start-up (`sqlcipher_extra_init`, which
///   libsqlite3-sys names as SQLite's `SQLITE_EXTRA_INIT`). SQLite marks
///   itself initialised *before* it runs that hook, outside its lock, so a
///   thread opening its first connection while another is inside the hook
///   goes straight on, and its `PRAGMA key` is refused ("sqlcipher not
///   initialized": "An error occurred with PRAGMA key"). Seen in CI as a
///   test's first store failing to open; `tests/store_first_open.rs` opens
///   sixteen at once. The hook takes SQLite's main mutex and returns only
///   once SQLCipher is ready, so calling it here closes the window.
fn sqlcipher_started() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        openssl_sys::init();
        #[allow(unsafe_code, reason = "the two C start-up calls, see above")]
        // SAFETY: both take no pointer but a null `arg` the hook ignores,
        // lock for themselves and return at once when already done.
        unsafe {
            unsafe extern "C" {
                fn sqlcipher_extra_init(arg: *const std::ffi::c_char) -> std::ffi::c_int;
            }
            rusqlite::ffi::sqlite3_initialize();
            sqlcipher_extra_init(std::ptr::null());
        }
    });
}

/// Pages kept decrypted in memory per connection, in KiB (SQLite's
/// negative `cache_size`). Every page read from the file is authenticated
/// and decrypted; SQLite's default (2 MiB) makes a busy counter do that
/// again and again for the same member, sale and outbox pages. 32 MiB is
/// an upper bound, not an allocation.
const PAGE_CACHE_KIB: i64 = 32 * 1024;

/// The write-ahead log is checkpointed into the file once it holds this
/// many pages (SQLite's default, stated: the bound below rests on it).
pub const WAL_AUTOCHECKPOINT_PAGES: i64 = 1000;

/// After a checkpoint that reset the log, its file is cut back to this
/// size: a burst (a long offline day's acknowledgements, a rekey) does
/// not leave a large file behind for ever.
pub const JOURNAL_SIZE_LIMIT_BYTES: i64 = 4 * 1024 * 1024;

/// How large the write-ahead log may grow (issue 22): a checkpoint every
/// [`WAL_AUTOCHECKPOINT_PAGES`] pages (about 2 MiB of frames; 4 MiB in a
/// store with [`EARLIER_PAGE_SIZE`]), plus the
/// largest transaction the terminal writes, which stays small because
/// every bulk write is cut into steps (an acknowledgement covers at most
/// one batch, [`tillcard_protocol::wire::MAX_BATCH_EVENTS`] events;
/// pruning goes [`retention::PRUNE_STEP`] events a transaction). Only a
/// reader holding one snapshot for minutes could push it further, and
/// the terminal's readers run single short queries. `tests/sync_backlog.rs`
/// holds a 50,000-sale day to it.
pub const WAL_BOUND_BYTES: u64 = 16 * 1024 * 1024;

/// Opens a connection with the key and the durability settings every
/// connection uses: at [`PAGE_SIZE`], else at [`EARLIER_PAGE_SIZE`] (a
/// store encrypted before); a key that opens neither is `WrongKey`.
fn connect(path: &Path, flags: OpenFlags, key: &StoreKey) -> Result<Connection, StoreError> {
    match connect_with(path, flags, key, PAGE_SIZE) {
        Err(StoreError::WrongKey { .. }) => connect_with(path, flags, key, EARLIER_PAGE_SIZE),
        opened => opened,
    }
}

/// [`connect`] with one page size: the key goes first, the first read
/// proves it (a wrong key and another page size both fail there).
fn connect_with(
    path: &Path,
    flags: OpenFlags,
    key: &StoreKey,
    page_size: u32,
) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(path, flags).map_err(StoreError::from_open)?;
    conn.execute_batch(&key_statements_for(key, page_size))
        .map_err(StoreError::from_open)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(_) => {
            // After the first read: that read is what tells a wrong key.
            conn.pragma_update(None, "cache_size", -PAGE_CACHE_KIB)?;
            Ok(conn)
        }
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) => {
            Err(StoreError::WrongKey {
                plain: is_plain_sqlite(path),
            })
        }
        Err(e) => Err(StoreError::from_open(e)),
    }
}

/// Encrypts a plain SQLite store (from the version before encryption) in
/// place: everything is checkpointed into the file, `sqlcipher_export`
/// copies it into an encrypted file beside it, which then replaces the
/// plain one by an atomic rename. A stop before the rename leaves the
/// plain file whole (the copy is made again at the next start); after it,
/// the encrypted one. Returns whether there was anything to encrypt.
pub fn encrypt_plain_file(path: &Path, key: &StoreKey) -> Result<bool, StoreError> {
    if !is_plain_sqlite(path) {
        return Ok(false);
    }
    let copy = path.with_extension("encrypting");
    let _ = std::fs::remove_file(&copy);
    {
        // CREATE: the attached copy is opened with these flags.
        sqlcipher_started();
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        )
        .map_err(StoreError::from_open)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        check_integrity(&conn)?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        let version: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let copy_text = copy
            .to_str()
            .ok_or_else(|| StoreError::Database("the data directory's path is not UTF-8".into()))?;
        conn.execute(
            &format!(
                "ATTACH DATABASE ?1 AS encrypted KEY \"{}\"",
                key.sql_literal()
            ),
            [copy_text],
        )?;
        // The same page size and MAC as every connection uses (key_statements).
        conn.execute_batch(&format!(
            "PRAGMA encrypted.cipher_page_size = {PAGE_SIZE}; \
             PRAGMA encrypted.cipher_hmac_algorithm = HMAC_SHA256;"
        ))?;
        conn.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
        conn.execute_batch(&format!(
            "PRAGMA encrypted.user_version = {version}; DETACH DATABASE encrypted;"
        ))?;
        // Closing the last connection removes the (checkpointed) -wal.
        conn.close().map_err(|(_, e)| StoreError::from(e))?;
    }
    let io = |e: std::io::Error| StoreError::Database(format!("encrypting the store: {e}"));
    std::fs::File::open(&copy)
        .and_then(|f| f.sync_all())
        .map_err(io)?;
    for side in ["-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(side);
        match std::fs::remove_file(PathBuf::from(name)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
    }
    std::fs::rename(&copy, path).map_err(io)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        })
        .and_then(|d| d.sync_all())
        .map_err(io)?;
    }
    tracing::info!("plain store encrypted");
    Ok(true)
}

/// Refuses a damaged file before anything writes to it.
fn check_integrity(conn: &Connection) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare("PRAGMA integrity_check")
        .map_err(StoreError::from_open)?;
    let rows: Vec<String> = stmt
        .query_map([], |row| row.get(0))
        .map_err(StoreError::from_open)?
        .collect::<Result<_, _>>()
        .map_err(StoreError::from_open)?;
    if rows.len() == 1 && rows[0] == "ok" {
        Ok(())
    } else {
        Err(StoreError::Corrupt {
            detail: rows.into_iter().take(3).collect::<Vec<_>>().join("; "),
        })
    }
}

/// Applies every migration the file has not had yet, each in its own
/// transaction with its version bump.
pub fn migrate(conn: &mut Connection, up_to: u32) -> Result<u32, StoreError> {
    let current: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let latest = schema::latest_version();
    if current > latest {
        return Err(StoreError::TooNew {
            found: current,
            known: latest,
        });
    }
    for (index, migration) in schema::MIGRATIONS.iter().enumerate() {
        let version = u32::try_from(index + 1).unwrap_or(u32::MAX);
        if version <= current || version > up_to {
            continue;
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(migration.sql)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
    }
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

impl Store {
    /// Opens (creating if needed) the store at `path`: checks integrity,
    /// sets durability, applies migrations, and creates the terminal's
    /// identity on first use.
    pub fn open(
        path: &Path,
        config: StoreConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Store, StoreError> {
        encrypt_plain_file(path, &config.key)?;
        let mut conn = connect(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
            &config.key,
        )?;
        check_integrity(&conn)?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Database(format!(
                "could not switch the database to WAL (got {mode})"
            )));
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)?;
        conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT_BYTES)?;
        migrate(&mut conn, schema::latest_version())?;
        clerks::rearm_lockouts(&conn, clock.monotonic_ms())?;
        let phone_key = Self::ensure_identity(&mut conn, &config)?;
        audit::ensure_key(&mut conn, &clock.now().to_rfc3339())?;
        let credentials = sync::load_credentials(&conn)?;
        tracing::info!(
            terminal = %config.terminal_id,
            schema = schema::latest_version(),
            provisioned = credentials.is_some(),
            "store opened"
        );
        let key = SharedKey::new(config.key.clone());
        Ok(Store {
            conn,
            path: path.to_owned(),
            clock,
            config,
            key,
            phone_key,
            accounts: members::AccountCache::default(),
            programs: std::cell::RefCell::new(None),
            audit_resume: std::cell::RefCell::new(None),
            credentials,
        })
    }

    fn ensure_identity(
        conn: &mut Connection,
        config: &StoreConfig,
    ) -> Result<[u8; 32], StoreError> {
        let existing: Option<Vec<u8>> = conn
            .query_row("SELECT phone_key FROM terminal WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()?;
        if let Some(key) = existing {
            return key.try_into().map_err(|_| {
                StoreError::Damaged("the terminal's phone key has the wrong length".into())
            });
        }
        let mut key = [0u8; 32];
        getrandom::fill(&mut key)
            .map_err(|e| StoreError::Database(format!("no randomness from the OS: {e}")))?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO terminal (id, terminal_id, phone_key, next_seq) VALUES (1, ?1, ?2, 1)",
            rusqlite::params![config.terminal_id, key.as_slice()],
        )?;
        tx.commit()?;
        Ok(key)
    }

    /// Re-encrypts the whole file with `key` (`PRAGMA rekey`; a new key
    /// at re-provisioning, [`crate::store_key::KeyVault::rotate`]). Readers
    /// opened by [`Store::reader`] reconnect with the new key.
    pub fn rekey(&mut self, key: &StoreKey) -> Result<(), StoreError> {
        // Everything into the main file first: the WAL's frames are under
        // the old key.
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        self.conn
            .execute_batch(&format!("PRAGMA rekey = \"{}\";", key.sql_literal()))?;
        self.conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                r.get::<_, i64>(0)
            })?;
        self.key.replace(key.clone());
        self.config.key = key.clone();
        tracing::info!("store re-keyed");
        Ok(())
    }

    /// The key the saved cards and receipts are sealed with
    /// ([`crate::saved_files`]): derived from the store key, never the key
    /// itself.
    pub fn files_key(&self) -> [u8; 32] {
        self.config.key.derive("saved-files")
    }

    /// A read-only member directory on its own connection, for the scan
    /// thread; it follows re-keys.
    pub fn reader(&self) -> Result<reader::MemberReader, StoreError> {
        reader::MemberReader::open(&self.path, self.program()?, self.key.clone())
    }

    /// Where the store's file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The clock the store stamps actions with.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The terminal's id.
    pub fn terminal_id(&self) -> &str {
        &self.config.terminal_id
    }

    /// Runs `f` inside one `BEGIN IMMEDIATE` transaction: all of it is
    /// committed, or none of it.
    pub(crate) fn write<T>(
        &mut self,
        f: impl FnOnce(&Transaction<'_>, &StoreContext<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let ctx = StoreContext {
            clock: self.clock.as_ref(),
            accounts: &self.accounts,
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let result = f(&tx, &ctx).and_then(|value| Ok(tx.commit().map(|()| value)?));
        if result.is_err() {
            // The transaction rolled back: nothing folded during it may stay.
            self.accounts.clear();
        }
        result
    }

    /// The program in force now: of the version without a moment (the
    /// default program until head office sends one) and every version head
    /// office published, the one in force at the clock's moment
    /// (`rules::program::in_force_at`).
    pub fn program(&self) -> Result<Program, StoreError> {
        self.program_at(self.clock.now())
    }

    /// The program in force at `at`.
    pub fn program_at(&self, at: Timestamp) -> Result<Program, StoreError> {
        if self.programs.borrow().is_none() {
            let loaded = self.load_programs()?;
            *self.programs.borrow_mut() = Some(loaded);
        }
        let programs = self.programs.borrow();
        let all = programs.as_deref().unwrap_or_default();
        Ok(tillcard_rules::program::in_force_at(all, at)
            .or_else(|| all.first())
            .cloned()
            .unwrap_or_default())
    }

    /// The version without a moment first, then the published versions.
    fn load_programs(&self) -> Result<Vec<Program>, StoreError> {
        let parse = |body: &str| {
            serde_json::from_str::<Program>(body)
                .map_err(|e| StoreError::Damaged(format!("stored program: {e}")))
        };
        let base: Option<String> = self
            .conn
            .query_row("SELECT body FROM program WHERE id = 1", [], |r| r.get(0))
            .optional()?;
        let mut programs = vec![match base {
            None => Program::default(),
            Some(body) => parse(&body)?,
        }];
        let mut stmt = self
            .conn
            .prepare("SELECT body FROM program_versions ORDER BY version")?;
        let bodies = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        for body in bodies {
            programs.push(parse(&body)?);
        }
        Ok(programs)
    }

    /// Replaces the program after validating it.
    pub fn set_program(&mut self, program: &Program) -> Result<(), StoreError> {
        program
            .validate()
            .map_err(|e| StoreError::InvalidProgram(e.to_string()))?;
        let body = serde_json::to_string(program)
            .map_err(|e| StoreError::Damaged(format!("program: {e}")))?;
        self.write(|tx, _| {
            tx.execute(
                "INSERT INTO program (id, body) VALUES (1, ?1)
                 ON CONFLICT(id) DO UPDATE SET body = excluded.body",
                [body],
            )?;
            Ok(())
        })?;
        *self.programs.borrow_mut() = None;
        Ok(())
    }

    /// `PRAGMA integrity_check` on the open file.
    pub fn integrity_check(&self) -> Result<(), StoreError> {
        check_integrity(&self.conn)
    }

    /// Caps the database file at `pages` pages on this connection, so the
    /// next write that needs more space fails exactly as a full disk does.
    /// For support diagnostics and the full-disk tests.
    pub fn simulate_disk_limit(&self, pages: u64) -> Result<u64, StoreError> {
        let pages = i64::try_from(pages).unwrap_or(i64::MAX);
        Ok(self
            .conn
            .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|p| u64::try_from(p).unwrap_or(0))?)
    }

    /// Pages the database file holds now.
    pub fn page_count(&self) -> Result<u64, StoreError> {
        Ok(self
            .conn
            .query_row("PRAGMA page_count", [], |r| r.get::<_, i64>(0))
            .map(|p| u64::try_from(p).unwrap_or(0))?)
    }

    /// Direct read access for tests and diagnostics inside the crate.
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }
}

/// What an action needs besides the transaction.
pub(crate) struct StoreContext<'a> {
    pub(crate) clock: &'a dyn Clock,
    pub(crate) accounts: &'a members::AccountCache,
}
