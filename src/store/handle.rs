//! One thread owns the store's write connection; everyone else talks to it
//! through a [`StoreHandle`]: `call` waits for the answer (controllers,
//! tests), `submit` hands the answer to a callback (the UI thread, which must
//! never wait on SQLite).

use std::sync::mpsc;
use std::thread;

use super::{Store, StoreError};

type Job = Box<dyn FnOnce(&mut Store) + Send>;

/// A cheap, cloneable handle to the store's thread.
#[derive(Clone, Debug)]
pub struct StoreHandle {
    jobs: mpsc::Sender<Job>,
}

impl StoreHandle {
    /// Moves `store` onto its own thread and returns a handle to it. The
    /// thread ends when every handle is dropped.
    pub fn spawn(store: Store) -> std::io::Result<StoreHandle> {
        let (jobs, queue) = mpsc::channel::<Job>();
        thread::Builder::new()
            .name("tillcard-store".into())
            .spawn(move || {
                let mut store = store;
                for job in queue {
                    job(&mut store);
                }
            })?;
        Ok(StoreHandle { jobs })
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
