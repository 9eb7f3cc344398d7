//! The crash point: every write, truncation and sync of a database, log
//! or journal file is one numbered operation; when the count reaches the
//! crash point the process ends at once, before that operation, as if the
//! power went.

use std::sync::atomic::{AtomicU64, Ordering};

/// The exit status of a process cut off at its crash point.
pub const CRASH_EXIT_CODE: i32 = 86;

/// Operations counted so far in this process.
static COUNT: AtomicU64 = AtomicU64::new(0);
/// The operation to die before (0: never).
static CRASH_AT: AtomicU64 = AtomicU64::new(0);

/// What an operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `xWrite`.
    Write,
    /// `xTruncate`.
    Truncate,
    /// `xSync`.
    Sync,
}

/// Which file an operation is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// The database file.
    Database,
    /// The write-ahead log.
    Wal,
    /// A rollback journal.
    Journal,
}

/// Sets the operation to die before (`None`: run to the end, counting).
pub fn set_crash_point(at: Option<u64>) {
    CRASH_AT.store(at.unwrap_or(0), Ordering::SeqCst);
}

/// Operations counted so far.
pub fn operations() -> u64 {
    COUNT.load(Ordering::SeqCst)
}

/// Counts one operation; at the crash point the process ends here, with
/// [`CRASH_EXIT_CODE`], after one line on stderr naming the operation.
/// Called with the shim's lock held, so no other operation is half done.
pub fn tick(op: Op, file: FileKind) {
    let n = COUNT.fetch_add(1, Ordering::SeqCst) + 1;
    if n == CRASH_AT.load(Ordering::SeqCst) {
        let line = format!("powerloss: crash point {n}: {op:?} {file:?}\n");
        cut_off(line.as_bytes());
    }
}

/// Writes `line` to stderr unbuffered and ends the process without
/// running anything more: no atexit handler, no destructor, no flush.
#[allow(unsafe_code, reason = "the cut itself: write(2) and _exit(2)")]
fn cut_off(line: &[u8]) -> ! {
    // SAFETY: `line` is a live slice for the duration of the call; write(2)
    // reads at most `line.len()` bytes from it and a short or failed write
    // is harmless (the line is only a diagnostic).
    unsafe {
        libc::write(2, line.as_ptr().cast(), line.len());
    }
    // SAFETY: _exit(2) takes no pointers and never returns; ending the
    // process without unwinding or running exit handlers is its purpose.
    unsafe { libc::_exit(CRASH_EXIT_CODE) }
}
