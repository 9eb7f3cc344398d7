//! Test support, never linked into a product: power loss for SQLite.
//!
//! A SIGKILL keeps the kernel's page cache, so a store that never called
//! fsync survives it; a power cut does not. [`install`] registers a VFS
//! shim as SQLite's default: every write and truncation of a database,
//! its write-ahead log or a journal stays in this process's memory
//! (reads see it) until `xSync` on that file makes it durable. At the
//! crash point ([`set_crash_point`]: the Nth write, truncation or sync)
//! the process ends with `_exit` ([`CRASH_EXIT_CODE`]), and everything not
//! synced is gone, exactly as after a power cut. What the model covers
//! and what it does not: `docs/STORE.md`, "Power loss".

pub mod crash;
pub mod overlay;
mod vfs;

pub use crash::{CRASH_EXIT_CODE, operations, set_crash_point};
pub use vfs::{VFS_NAME, install};
