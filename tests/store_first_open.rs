//! The first stores a process opens, opened at the same moment from many
//! threads (the terminal's worker and its console at start-up; a test
//! binary's parallel tests). SQLite marks itself initialised before it runs
//! SQLCipher's own start-up, so a second thread could key its connection
//! while the first was still inside it and be refused ("An error occurred
//! with PRAGMA key"). `store::key_statements_for` finishes SQLCipher's
//! start-up first. This binary holds only this test: the race is at the
//! process's first use of SQLite, which any earlier test would spoil.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod util;

use std::sync::{Arc, Barrier};

use util::store::*;

/// Threads opening their store at once. Each is a fresh store in its own
/// directory, so nothing but SQLite's and SQLCipher's process-wide state is
/// shared.
const THREADS: usize = 16;

#[test]
fn stores_opened_at_once_by_the_first_threads_of_a_process_all_open() {
    let barrier = Arc::new(Barrier::new(THREADS));
    let opened: Vec<Result<(), String>> = (0..THREADS)
        .map(|_| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("terminal.sqlite");
                barrier.wait();
                open_file(&path)
                    .map(drop)
                    .map_err(|error| format!("{error:?}"))
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|thread| thread.join().unwrap())
        .collect();
    let refused: Vec<&String> = opened.iter().filter_map(|r| r.as_ref().err()).collect();
    println!(
        "first opens: {} at once, {} opened, {} refused",
        THREADS,
        THREADS - refused.len(),
        refused.len()
    );
    assert!(refused.is_empty(), "refused: {refused:?}");
}
