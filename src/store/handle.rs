//! One thread owns the store's write connection; everyone else talks to it
//! through a [`StoreHandle`]: `call` waits for the answer (controllers,
//! tests), `submit` hands the answer to a callback (the UI thread, which must
//! never wait on SQLite).
//!
//! Dropping the last handle closes the store and waits for its thread: a
//! process that returns from `main` while the store thread is still closing
//! SQLite races the C library's exit handlers (SQLCipher's OpenSSL among
//! them), and a `tillcard sync` that had printed its answer could still die
//! on the way out.

use std::sync::{Arc, mpsc};
use std::thread;

use super::{Store, StoreError};

type Job = Box<dyn FnOnce(&mut Store) + Send>;

/// A cheap, cloneable handle to the store's thread.
#[derive(Clone, Debug)]
pub struct StoreHandle {
    // Declared before `thread`: a handle's sender is gone before its share
    // of the thread, so when the last share drops every sender has, the
    // queue has ended and the join cannot wait forever.
    jobs: mpsc::Sender<Job>,
    _thread: Arc<StoreThread>,
}

/// The store thread, joined when the last handle is dropped.
#[derive(Debug)]
struct StoreThread(Option<thread::JoinHandle<()>>);

impl Drop for StoreThread {
    fn drop(&mut self) {
        if let Some(joined) = self.0.take() {
            // A job that held the last handle would be joining itself.
            if joined.thread().id() != thread::current().id() {
                let _ = joined.join();
            }
        }
    }
}

impl StoreHandle {
    /// Moves `store` onto its own thread and returns a handle to it. The
    /// thread ends, and the last handle's drop waits for it, when every handle
    /// is dropped.
    pub fn spawn(store: Store) -> std::io::Result<StoreHandle> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let thread = thread::Builder::new()
            .name("tillcard-store".into())
            .spawn(move || {
                let mut store = store;
                for job in queue {
                    job(&mut store);
                }
            })?;
        Ok(StoreHandle {
            jobs,
            _thread: Arc::new(StoreThread(Some(thread))),
        })
    }

    /// Runs `f` on the store's thread and waits for its answer.
    pub fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        crate::threads::assert_not_ui_thread("waiting for the store");
        let (reply, answer) = mpsc::sync_channel(1);
        self.jobs
            .send(Box::new(move |store| {
                let _ = reply.send(f(store));
            }))
            .map_err(|_| StoreError::Closed)?;
        answer.recv().map_err(|_| StoreError::Closed)?
    }

    /// Runs `f` on the store's thread and passes its answer to `done`
    /// there; returns at once.
    pub fn submit<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<R, StoreError> + Send + 'static,
        done: impl FnOnce(Result<R, StoreError>) + Send + 'static,
    ) -> Result<(), StoreError> {
        self.jobs
            .send(Box::new(move |store| done(f(store))))
            .map_err(|_| StoreError::Closed)
    }
}
