//! The VFS shim itself: SQLite's "unix" VFS wrapped so that writes and
//! truncations of the database, its write-ahead log and its journals go
//! to an [`Overlay`] per file name (reads see it), and only `xSync` hands
//! them to the real file. Every such write, truncation and sync ticks the
//! crash counter ([`crate::crash`]). Everything else (locks, shared memory,
//! temporary files, names, time) is the unix VFS's, untouched.
//!
//! The real file is never fsynced: what a sync wrote to it survives the
//! process ending (the kernel keeps it), and that is the only "disk" the
//! model needs. What was never synced lives in this process's memory and
//! dies with it.

// A VFS is C callbacks over raw pointers SQLite hands in: there is no way
// to write one without `unsafe`. The workspace denies `unsafe_code`; this
// test-only crate is the one exception (ARCHITECTURE.md, invariants), and
// every block says why it is sound.
#![allow(unsafe_code)]

use std::collections::BTreeMap;
use std::ffi::{CStr, c_char, c_int, c_void};
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use rusqlite::ffi;

use crate::crash::{FileKind, Op, tick};
use crate::overlay::Overlay;

/// Unsynced changes by file name. One lock for every overlaid operation:
/// a sync is applied whole before anything else happens, and a crash
/// (which ends the process holding it) never lands half way through one.
static FILES: Mutex<BTreeMap<Vec<u8>, Overlay>> = Mutex::new(BTreeMap::new());

/// The unix VFS the shim wraps.
static UNIX: AtomicPtr<ffi::sqlite3_vfs> = AtomicPtr::new(ptr::null_mut());

/// The registration's outcome (once per process).
static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();

/// The shim's name among SQLite's VFSes.
pub const VFS_NAME: &CStr = c"powerloss";

fn files() -> MutexGuard<'static, BTreeMap<Vec<u8>, Overlay>> {
    FILES.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An overlaid file's name and kind.
struct Tracked {
    name: Vec<u8>,
    kind: FileKind,
}

/// The shim's file object: SQLite's base (its methods pointer) first, as
/// the C API requires; the unix VFS's own file object follows at
/// [`HEADER`] bytes, in the same allocation.
#[repr(C)]
struct ShimFile {
    base: ffi::sqlite3_file,
    /// `None`: a pass-through file (temporary files, the shared memory
    /// index is not a file SQLite opens through xOpen).
    tracked: Option<Tracked>,
}

/// Where the unix file object starts in the shim's (16-byte aligned).
const HEADER: usize = std::mem::size_of::<ShimFile>().next_multiple_of(16);

/// Device characteristics that would let SQLite skip a sync or trust an
/// unsynced write: atomic writes of any size, safe append, sequential
/// writes, batch atomic writes. The model promises none of them.
const UNPROMISED_IOCAPS: c_int = ffi::SQLITE_IOCAP_ATOMIC
    | ffi::SQLITE_IOCAP_ATOMIC512
    | ffi::SQLITE_IOCAP_ATOMIC1K
    | ffi::SQLITE_IOCAP_ATOMIC2K
    | ffi::SQLITE_IOCAP_ATOMIC4K
    | ffi::SQLITE_IOCAP_ATOMIC8K
    | ffi::SQLITE_IOCAP_ATOMIC16K
    | ffi::SQLITE_IOCAP_ATOMIC32K
    | ffi::SQLITE_IOCAP_ATOMIC64K
    | ffi::SQLITE_IOCAP_SAFE_APPEND
    | ffi::SQLITE_IOCAP_SEQUENTIAL
    | ffi::SQLITE_IOCAP_BATCH_ATOMIC;

/// Registers the shim as SQLite's default VFS (once per process; later
/// calls return the first outcome). Every connection opened afterwards
/// without a VFS name goes through it.
pub fn install() -> Result<(), String> {
    INSTALLED.get_or_init(register).clone()
}

fn register() -> Result<(), String> {
    // SAFETY: sqlite3_initialize takes no arguments and may be called any
    // number of times; sqlite3_vfs_find reads the NUL-terminated name only.
    let unix = unsafe {
        let rc = ffi::sqlite3_initialize();
        if rc != ffi::SQLITE_OK {
            return Err(format!("sqlite3_initialize failed: {rc}"));
        }
        ffi::sqlite3_vfs_find(c"unix".as_ptr())
    };
    if unix.is_null() {
        return Err("SQLite has no \"unix\" VFS".into());
    }
    UNIX.store(unix, Ordering::SeqCst);
    // SAFETY: `unix` is SQLite's registered unix VFS, which lives for the
    // rest of the process; these are plain field reads.
    let (os_file, max_path) = unsafe { ((*unix).szOsFile, (*unix).mxPathname) };
    let size = c_int::try_from(HEADER)
        .ok()
        .and_then(|h| h.checked_add(os_file))
        .ok_or("file object too large")?;
    let vfs = Box::new(ffi::sqlite3_vfs {
        iVersion: 2,
        szOsFile: size,
        mxPathname: max_path,
        pNext: ptr::null_mut(),
        zName: VFS_NAME.as_ptr(),
        pAppData: ptr::null_mut(),
        xOpen: Some(x_open),
        xDelete: Some(x_delete),
        xAccess: Some(x_access),
        xFullPathname: Some(x_full_pathname),
        xDlOpen: Some(x_dl_open),
        xDlError: Some(x_dl_error),
        xDlSym: Some(x_dl_sym),
        xDlClose: Some(x_dl_close),
        xRandomness: Some(x_randomness),
        xSleep: Some(x_sleep),
        xCurrentTime: Some(x_current_time),
        xGetLastError: Some(x_get_last_error),
        xCurrentTimeInt64: Some(x_current_time_int64),
        xSetSystemCall: None,
        xGetSystemCall: None,
        xNextSystemCall: None,
    });
    // The VFS must outlive every connection: it is leaked on purpose.
    let vfs = Box::into_raw(vfs);
    // SAFETY: `vfs` points to a fully initialised sqlite3_vfs that is
    // never freed; SQLite links it into its list (pNext) under its mutex.
    let rc = unsafe { ffi::sqlite3_vfs_register(vfs, 1) };
    if rc != ffi::SQLITE_OK {
        return Err(format!("sqlite3_vfs_register failed: {rc}"));
    }
    Ok(())
}

/// The unix VFS (set before the shim is registered, so before any call).
fn unix() -> *mut ffi::sqlite3_vfs {
    UNIX.load(Ordering::SeqCst)
}

/// The unix file object inside the shim's.
///
/// # Safety
/// `file` must be a file object SQLite allocated for this VFS
/// (`szOsFile` bytes).
unsafe fn real(file: *mut ffi::sqlite3_file) -> *mut ffi::sqlite3_file {
    // SAFETY: the allocation is HEADER + the unix object's size (szOsFile),
    // so the offset stays inside it.
    unsafe { file.cast::<u8>().add(HEADER).cast() }
}

/// The unix file object's methods.
///
/// # Safety
/// `real` must be an opened unix file object (its pMethods set).
unsafe fn methods<'a>(real: *mut ffi::sqlite3_file) -> &'a ffi::sqlite3_io_methods {
    // SAFETY: an opened unix file points at the unix VFS's static methods.
    unsafe { &*(*real).pMethods }
}

/// The shim's tracking of `file`, if it is overlaid.
///
/// # Safety
/// `file` must be a shim file object opened by [`x_open`] and not closed.
unsafe fn tracked<'a>(file: *mut ffi::sqlite3_file) -> Option<&'a Tracked> {
    // SAFETY: x_open wrote a ShimFile at this address before handing the
    // object back with our methods; it stays until x_close drops it.
    unsafe { (*file.cast::<ShimFile>()).tracked.as_ref() }
}

/// The real file's size.
///
/// # Safety
/// `real` must be an opened unix file object.
unsafe fn real_size(real: *mut ffi::sqlite3_file) -> Result<u64, c_int> {
    let mut size: ffi::sqlite3_int64 = 0;
    // SAFETY: xFileSize writes one integer through the pointer it is given.
    let rc = unsafe {
        match methods(real).xFileSize {
            Some(f) => f(real, &mut size),
            None => ffi::SQLITE_IOERR_FSTAT,
        }
    };
    if rc == ffi::SQLITE_OK {
        Ok(u64::try_from(size).unwrap_or(0))
    } else {
        Err(rc)
    }
}

static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    // Version 2: shared memory (WAL), no memory-mapped reads (xFetch would
    // read the real file past the overlay).
    iVersion: 2,
    xClose: Some(f_close),
    xRead: Some(f_read),
    xWrite: Some(f_write),
    xTruncate: Some(f_truncate),
    xSync: Some(f_sync),
    xFileSize: Some(f_file_size),
    xLock: Some(f_lock),
    xUnlock: Some(f_unlock),
    xCheckReservedLock: Some(f_check_reserved_lock),
    xFileControl: Some(f_file_control),
    xSectorSize: Some(f_sector_size),
    xDeviceCharacteristics: Some(f_device_characteristics),
    xShmMap: Some(f_shm_map),
    xShmLock: Some(f_shm_lock),
    xShmBarrier: Some(f_shm_barrier),
    xShmUnmap: Some(f_shm_unmap),
    xFetch: None,
    xUnfetch: None,
};

unsafe extern "C" fn x_open(
    vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let _ = vfs;
    let kind = if flags & ffi::SQLITE_OPEN_MAIN_DB != 0 {
        Some(FileKind::Database)
    } else if flags & ffi::SQLITE_OPEN_WAL != 0 {
        Some(FileKind::Wal)
    } else if flags & (ffi::SQLITE_OPEN_MAIN_JOURNAL | ffi::SQLITE_OPEN_SUPER_JOURNAL) != 0 {
        Some(FileKind::Journal)
    } else {
        None
    };
    let unix = unix();
    // SAFETY: SQLite hands in `file` with szOsFile bytes for this VFS (our
    // header plus the unix object), `name` NUL-terminated or null (a
    // temporary file), `out_flags` valid or null as unix xOpen accepts.
    // The ShimFile is written before anything reads it; its methods stay
    // null until the unix open succeeded, so SQLite never calls x_close on
    // a half-opened object, and a unix object its own open left with
    // methods is closed here.
    unsafe {
        ptr::write(
            file.cast::<ShimFile>(),
            ShimFile {
                base: ffi::sqlite3_file {
                    pMethods: ptr::null(),
                },
                tracked: None,
            },
        );
        let real = real(file);
        (*real).pMethods = ptr::null();
        let rc = match (*unix).xOpen {
            Some(open) => open(unix, name, real, flags, out_flags),
            None => ffi::SQLITE_CANTOPEN,
        };
        if rc != ffi::SQLITE_OK {
            if !(*real).pMethods.is_null()
                && let Some(close) = methods(real).xClose
            {
                close(real);
            }
            return rc;
        }
        let shim = file.cast::<ShimFile>();
        (*shim).tracked = match (kind, name.is_null()) {
            (Some(kind), false) => Some(Tracked {
                name: CStr::from_ptr(name).to_bytes().to_vec(),
                kind,
            }),
            _ => None,
        };
        (*shim).base.pMethods = &METHODS;
        ffi::SQLITE_OK
    }
}

unsafe extern "C" fn x_delete(
    vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    sync_dir: c_int,
) -> c_int {
    let _ = vfs;
    let unix = unix();
    // SAFETY: `name` is the NUL-terminated name SQLite deletes; the unix
    // VFS gets the same arguments with its own VFS pointer. A deleted
    // file's unsynced changes go with it.
    unsafe {
        if !name.is_null() {
            files().remove(CStr::from_ptr(name).to_bytes());
        }
        match (*unix).xDelete {
            Some(delete) => delete(unix, name, sync_dir),
            None => ffi::SQLITE_IOERR_DELETE,
        }
    }
}

/// Passes a VFS call to the unix VFS with its own VFS pointer.
macro_rules! to_unix {
    ($field:ident, $missing:expr, $($arg:expr),*) => {{
        let unix = unix();
        // SAFETY: the unix VFS lives for the process; its method gets the
        // caller's arguments unchanged, with its own VFS pointer.
        unsafe {
            match (*unix).$field {
                Some(f) => f(unix, $($arg),*),
                None => $missing,
            }
        }
    }};
}

unsafe extern "C" fn x_access(
    _: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    flags: c_int,
    out: *mut c_int,
) -> c_int {
    to_unix!(xAccess, ffi::SQLITE_IOERR_ACCESS, name, flags, out)
}

unsafe extern "C" fn x_full_pathname(
    _: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    n: c_int,
    out: *mut c_char,
) -> c_int {
    to_unix!(xFullPathname, ffi::SQLITE_CANTOPEN, name, n, out)
}

unsafe extern "C" fn x_dl_open(_: *mut ffi::sqlite3_vfs, name: *const c_char) -> *mut c_void {
    to_unix!(xDlOpen, ptr::null_mut(), name)
}

unsafe extern "C" fn x_dl_error(_: *mut ffi::sqlite3_vfs, n: c_int, out: *mut c_char) {
    to_unix!(xDlError, (), n, out)
}

type DlSym = Option<unsafe extern "C" fn(*mut ffi::sqlite3_vfs, *mut c_void, *const c_char)>;

unsafe extern "C" fn x_dl_sym(
    _: *mut ffi::sqlite3_vfs,
    handle: *mut c_void,
    symbol: *const c_char,
) -> DlSym {
    to_unix!(xDlSym, None, handle, symbol)
}

unsafe extern "C" fn x_dl_close(_: *mut ffi::sqlite3_vfs, handle: *mut c_void) {
    to_unix!(xDlClose, (), handle)
}

unsafe extern "C" fn x_randomness(_: *mut ffi::sqlite3_vfs, n: c_int, out: *mut c_char) -> c_int {
    to_unix!(xRandomness, 0, n, out)
}

unsafe extern "C" fn x_sleep(_: *mut ffi::sqlite3_vfs, micros: c_int) -> c_int {
    to_unix!(xSleep, 0, micros)
}

unsafe extern "C" fn x_current_time(_: *mut ffi::sqlite3_vfs, out: *mut f64) -> c_int {
    to_unix!(xCurrentTime, ffi::SQLITE_ERROR, out)
}

unsafe extern "C" fn x_get_last_error(
    _: *mut ffi::sqlite3_vfs,
    n: c_int,
    out: *mut c_char,
) -> c_int {
    to_unix!(xGetLastError, 0, n, out)
}

unsafe extern "C" fn x_current_time_int64(
    _: *mut ffi::sqlite3_vfs,
    out: *mut ffi::sqlite3_int64,
) -> c_int {
    to_unix!(xCurrentTimeInt64, ffi::SQLITE_ERROR, out)
}

/// Passes a file call to the unix file object inside the shim's.
macro_rules! to_real {
    ($file:expr, $field:ident, $missing:expr $(, $arg:expr)*) => {{
        // SAFETY: SQLite calls a file method only on an object x_open
        // opened (our methods set) and not yet closed, so the unix object
        // inside it is open; its method gets the caller's arguments.
        unsafe {
            let real = real($file);
            match methods(real).$field {
                Some(f) => f(real $(, $arg)*),
                None => $missing,
            }
        }
    }};
}

unsafe extern "C" fn f_close(file: *mut ffi::sqlite3_file) -> c_int {
    let rc = to_real!(file, xClose, ffi::SQLITE_IOERR_CLOSE);
    // SAFETY: x_open wrote this ShimFile; SQLite closes a file once and
    // never touches it afterwards, so dropping its fields here is the last
    // use. Unsynced changes stay under the file's name, as the page cache
    // keeps a closed file's unwritten pages.
    unsafe { ptr::drop_in_place(file.cast::<ShimFile>()) };
    rc
}

unsafe extern "C" fn f_read(
    file: *mut ffi::sqlite3_file,
    buf: *mut c_void,
    amount: c_int,
    offset: ffi::sqlite3_int64,
) -> c_int {
    // SAFETY: `file` is an open shim file (SQLite's contract for xRead).
    let Some(tracked) = (unsafe { tracked(file) }) else {
        return to_real!(file, xRead, ffi::SQLITE_IOERR_READ, buf, amount, offset);
    };
    // Under the lock: a sync cannot move bytes from the overlay to the file
    // between the real read and the overlay's.
    let files = files();
    let rc = to_real!(file, xRead, ffi::SQLITE_IOERR_READ, buf, amount, offset);
    if rc != ffi::SQLITE_OK && rc != ffi::SQLITE_IOERR_SHORT_READ {
        return rc;
    }
    let Some(overlay) = files.get(&tracked.name) else {
        return rc;
    };
    // SAFETY: `file` is open (above), so its unix object is.
    let size = match unsafe { real_size(real(file)) } {
        Ok(size) => size,
        Err(rc) => return rc,
    };
    // SAFETY: SQLite hands in `amount` writable bytes at `buf`; the unix
    // read filled them (zeros past the real end on a short read).
    let out = unsafe {
        std::slice::from_raw_parts_mut(buf.cast::<u8>(), usize::try_from(amount).unwrap_or(0))
    };
    if overlay.read(size, u64::try_from(offset).unwrap_or(0), out) {
        ffi::SQLITE_OK
    } else {
        ffi::SQLITE_IOERR_SHORT_READ
    }
}

unsafe extern "C" fn f_write(
    file: *mut ffi::sqlite3_file,
    buf: *const c_void,
    amount: c_int,
    offset: ffi::sqlite3_int64,
) -> c_int {
    // SAFETY: `file` is an open shim file (SQLite's contract for xWrite).
    let Some(tracked) = (unsafe { tracked(file) }) else {
        return to_real!(file, xWrite, ffi::SQLITE_IOERR_WRITE, buf, amount, offset);
    };
    let mut files = files();
    tick(Op::Write, tracked.kind);
    // SAFETY: `file` is open, so its unix object is.
    let size = match unsafe { real_size(real(file)) } {
        Ok(size) => size,
        Err(rc) => return rc,
    };
    // SAFETY: SQLite hands in `amount` readable bytes at `buf`.
    let data = unsafe {
        std::slice::from_raw_parts(buf.cast::<u8>(), usize::try_from(amount).unwrap_or(0))
    };
    files.entry(tracked.name.clone()).or_default().write(
        size,
        u64::try_from(offset).unwrap_or(0),
        data,
    );
    ffi::SQLITE_OK
}

unsafe extern "C" fn f_truncate(file: *mut ffi::sqlite3_file, to: ffi::sqlite3_int64) -> c_int {
    // SAFETY: `file` is an open shim file (SQLite's contract for xTruncate).
    let Some(tracked) = (unsafe { tracked(file) }) else {
        return to_real!(file, xTruncate, ffi::SQLITE_IOERR_TRUNCATE, to);
    };
    let mut files = files();
    tick(Op::Truncate, tracked.kind);
    // SAFETY: `file` is open, so its unix object is.
    let size = match unsafe { real_size(real(file)) } {
        Ok(size) => size,
        Err(rc) => return rc,
    };
    files
        .entry(tracked.name.clone())
        .or_default()
        .truncate(size, u64::try_from(to).unwrap_or(0));
    ffi::SQLITE_OK
}

unsafe extern "C" fn f_sync(file: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    // SAFETY: `file` is an open shim file (SQLite's contract for xSync).
    let Some(tracked) = (unsafe { tracked(file) }) else {
        return to_real!(file, xSync, ffi::SQLITE_IOERR_FSYNC, flags);
    };
    let mut files = files();
    tick(Op::Sync, tracked.kind);
    let Some(mut overlay) = files.remove(&tracked.name) else {
        return ffi::SQLITE_OK;
    };
    let flush = overlay.take();
    let to_i64 = |n: u64| ffi::sqlite3_int64::try_from(n).unwrap_or(ffi::sqlite3_int64::MAX);
    if let Some(cut) = flush.cut {
        let rc = to_real!(file, xTruncate, ffi::SQLITE_IOERR_TRUNCATE, to_i64(cut));
        if rc != ffi::SQLITE_OK {
            return rc;
        }
    }
    for (offset, data) in &flush.extents {
        let Ok(amount) = c_int::try_from(data.len()) else {
            return ffi::SQLITE_IOERR_WRITE;
        };
        let rc = to_real!(
            file,
            xWrite,
            ffi::SQLITE_IOERR_WRITE,
            data.as_ptr().cast(),
            amount,
            to_i64(*offset)
        );
        if rc != ffi::SQLITE_OK {
            return rc;
        }
    }
    if let Some(size) = flush.size {
        let rc = to_real!(file, xTruncate, ffi::SQLITE_IOERR_TRUNCATE, to_i64(size));
        if rc != ffi::SQLITE_OK {
            return rc;
        }
    }
    ffi::SQLITE_OK
}

unsafe extern "C" fn f_file_size(
    file: *mut ffi::sqlite3_file,
    out: *mut ffi::sqlite3_int64,
) -> c_int {
    // SAFETY: `file` is an open shim file (SQLite's contract for xFileSize).
    let Some(tracked) = (unsafe { tracked(file) }) else {
        return to_real!(file, xFileSize, ffi::SQLITE_IOERR_FSTAT, out);
    };
    let files = files();
    // SAFETY: `file` is open, so its unix object is.
    let size = match unsafe { real_size(real(file)) } {
        Ok(size) => size,
        Err(rc) => return rc,
    };
    let size = files.get(&tracked.name).map_or(size, |o| o.size(size));
    // SAFETY: SQLite hands in a valid pointer for the size.
    unsafe { *out = ffi::sqlite3_int64::try_from(size).unwrap_or(ffi::sqlite3_int64::MAX) };
    ffi::SQLITE_OK
}

unsafe extern "C" fn f_lock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    to_real!(file, xLock, ffi::SQLITE_IOERR_LOCK, level)
}

unsafe extern "C" fn f_unlock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    to_real!(file, xUnlock, ffi::SQLITE_IOERR_UNLOCK, level)
}

unsafe extern "C" fn f_check_reserved_lock(file: *mut ffi::sqlite3_file, out: *mut c_int) -> c_int {
    to_real!(
        file,
        xCheckReservedLock,
        ffi::SQLITE_IOERR_CHECKRESERVEDLOCK,
        out
    )
}

unsafe extern "C" fn f_file_control(
    file: *mut ffi::sqlite3_file,
    op: c_int,
    arg: *mut c_void,
) -> c_int {
    // A size hint makes the unix VFS grow or map the real file directly,
    // past the overlay: taken as a hint and ignored.
    if op == ffi::SQLITE_FCNTL_SIZE_HINT {
        return ffi::SQLITE_OK;
    }
    to_real!(file, xFileControl, ffi::SQLITE_NOTFOUND, op, arg)
}

unsafe extern "C" fn f_sector_size(file: *mut ffi::sqlite3_file) -> c_int {
    to_real!(file, xSectorSize, 4096)
}

unsafe extern "C" fn f_device_characteristics(file: *mut ffi::sqlite3_file) -> c_int {
    to_real!(file, xDeviceCharacteristics, 0) & !UNPROMISED_IOCAPS
}

unsafe extern "C" fn f_shm_map(
    file: *mut ffi::sqlite3_file,
    page: c_int,
    size: c_int,
    extend: c_int,
    out: *mut *mut c_void,
) -> c_int {
    to_real!(
        file,
        xShmMap,
        ffi::SQLITE_IOERR_SHMMAP,
        page,
        size,
        extend,
        out
    )
}

unsafe extern "C" fn f_shm_lock(
    file: *mut ffi::sqlite3_file,
    offset: c_int,
    n: c_int,
    flags: c_int,
) -> c_int {
    to_real!(file, xShmLock, ffi::SQLITE_IOERR_SHMLOCK, offset, n, flags)
}

unsafe extern "C" fn f_shm_barrier(file: *mut ffi::sqlite3_file) {
    to_real!(file, xShmBarrier, ())
}

unsafe extern "C" fn f_shm_unmap(file: *mut ffi::sqlite3_file, delete: c_int) -> c_int {
    to_real!(file, xShmUnmap, ffi::SQLITE_OK, delete)
}
