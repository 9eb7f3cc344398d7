//! Which thread is the UI thread, so code that would block can refuse to run
//! there. The UI thread must never wait on SQLite, the camera or the network
//! (results come back as messages); in debug builds every blocking wait
//! checks this and panics on the UI thread, so a test driving the real UI
//! catches a blocking call the moment it is written.

use std::cell::Cell;

thread_local! {
    static IS_UI_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Marks the calling thread as the UI thread (the adapters do this once).
pub fn mark_ui_thread() {
    IS_UI_THREAD.with(|c| c.set(true));
}

/// Whether the calling thread is the UI thread.
pub fn is_ui_thread() -> bool {
    IS_UI_THREAD.with(Cell::get)
}

/// Panics in debug builds when called on the UI thread: `what` would block it.
#[track_caller]
pub fn assert_not_ui_thread(what: &str) {
    debug_assert!(
        !is_ui_thread(),
        "{what} would block the UI thread; post the work and handle the answer as a message"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_marked_thread_is_the_ui_thread() {
        std::thread::spawn(|| {
            assert!(!is_ui_thread());
            mark_ui_thread();
            assert!(is_ui_thread());
        })
        .join()
        .unwrap();
        assert!(!is_ui_thread(), "marking is per thread");
    }

    #[test]
    #[cfg(debug_assertions)]
    fn a_blocking_call_on_the_ui_thread_panics_in_debug_builds() {
        let result = std::thread::spawn(|| {
            mark_ui_thread();
            assert_not_ui_thread("a test wait");
        })
        .join();
        assert!(result.is_err());
    }
}
