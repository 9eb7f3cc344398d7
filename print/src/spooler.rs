//! The print queue: one thread that owns the printer, so the sale never
//! waits on paper.
//!
//! `Spooler::submit` lays the receipt out and encodes it on the caller's
//! thread (microseconds), then hands the bytes to a bounded queue without
//! waiting: a full queue refuses the job at once. The spooler's thread
//! prints jobs in order; a printer that cannot print (paper out, cover open,
//! offline, missing) keeps the job at the head of the queue, asked again
//! every `retry_every` until it prints or `give_up_after` has passed. Every
//! change of the printer's status, every job printed and every job given up
//! is sent on the `SpoolEvent` channel given at start, for the status strip.
//! While idle (and once at start) the thread asks for status every
//! `idle_poll`, so the strip shows a paper-out before the next sale.
//!
//! The cash drawer hangs off the printer. A job that opens it sends
//! `ESC p` after the cut when the printer prints; when the printer answers
//! that it cannot print (paper out, cover open), the drawer is opened at once
//! with the real-time `DLE DC4` pulse, which printers obey even then, and
//! the receipt prints later without a second kick.
//!
//! Dropping the spooler stops it: the job being printed finishes its
//! attempt (bounded by the transport's timeouts), jobs still queued get one
//! attempt each while the printer was last seen able to print, and the rest
//! are reported given up.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::escpos::{DRAWER_KICK, DRAWER_KICK_NOW, EncodeError, INIT, encode};
use crate::layout::{Paper, layout};
use crate::receipt::Receipt;
use crate::shift_report::{ZReport, layout_z_report};
use crate::status::PrinterStatus;
use crate::transport::{Timeouts, Transport, TransportError};

/// How the spooler prints.
#[derive(Debug, Clone)]
pub struct SpoolerConfig {
    /// Where the printer is.
    pub transport: Transport,
    /// Its paper width.
    pub paper: Paper,
    /// Jobs that may wait; one more is refused.
    pub capacity: usize,
    /// The transport's waits.
    pub timeouts: Timeouts,
    /// How often a printer that cannot print is asked again.
    pub retry_every: Duration,
    /// How long a job waits for the printer before it is given up.
    pub give_up_after: Duration,
    /// How often an idle spooler asks for status (none: never).
    pub idle_poll: Option<Duration>,
}

impl SpoolerConfig {
    /// The counter's defaults: 8 jobs, a retry every 2 s for 10 minutes,
    /// status every 15 s while idle.
    pub fn new(transport: Transport, paper: Paper) -> Self {
        Self {
            transport,
            paper,
            capacity: 8,
            timeouts: Timeouts::default(),
            retry_every: Duration::from_secs(2),
            give_up_after: Duration::from_secs(600),
            idle_poll: Some(Duration::from_secs(15)),
        }
    }
}

/// What to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintJob {
    /// The receipt.
    pub receipt: Receipt,
    /// Kick the cash drawer open after the cut (a cash sale).
    pub open_drawer: bool,
}

/// A job's number, in submission order from 1 (a refused job's number is
/// not given again).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub u64);

/// What the spooler tells the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpoolEvent {
    /// The printer's status changed (the first reading is reported too).
    Status(PrinterStatus),
    /// A job went to the printer.
    Printed(JobId),
    /// A job was dropped: the printer did not come back in time, or the
    /// spooler stopped first.
    GaveUp {
        /// Which job.
        job: JobId,
        /// Why, in English for the log.
        reason: String,
    },
}

/// Why a job was not queued.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SubmitError {
    /// The queue holds `capacity` jobs already.
    #[error("the print queue is full")]
    QueueFull,
    /// The spooler's thread has ended.
    #[error("the printer's thread has stopped")]
    Stopped,
    /// Nothing was printed yet, so there is nothing to print again.
    #[error("no receipt to print again")]
    NothingToReprint,
    /// The receipt cannot be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

/// A queued job: its bytes, ready to send.
struct Queued {
    id: JobId,
    /// The receipt without the drawer kick.
    bytes: Vec<u8>,
    /// The drawer is still to be opened: after the cut when the printer
    /// prints, or at once (`DLE DC4`) when it cannot.
    kick_drawer: bool,
}

/// What the caller's side and the thread share.
#[derive(Default)]
struct Shared {
    next_id: u64,
    last_receipt: Option<Receipt>,
    last_status: Option<PrinterStatus>,
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The print queue and its thread. Dropping it stops the thread.
pub struct Spooler {
    jobs: Option<SyncSender<Queued>>,
    /// Dropped to wake the thread from a retry wait at shutdown.
    stop: Option<Sender<()>>,
    shared: Arc<Mutex<Shared>>,
    paper: Paper,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Spooler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spooler")
            .field("paper", &self.paper)
            .field("last_status", &self.last_status())
            .finish_non_exhaustive()
    }
}

impl Spooler {
    /// Starts the spooler's thread. Events go to `events`; a receiver that
    /// is gone is not an error.
    pub fn start(config: SpoolerConfig, events: Sender<SpoolEvent>) -> std::io::Result<Self> {
        let (jobs_tx, jobs_rx) = mpsc::sync_channel(config.capacity.max(1));
        let (stop_tx, stop_rx) = mpsc::channel();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let paper = config.paper;
        let worker = Worker {
            config,
            events,
            stop: stop_rx,
            shared: Arc::clone(&shared),
        };
        let thread = thread::Builder::new()
            .name("tillcard-print".into())
            .spawn(move || worker.run(&jobs_rx))?;
        Ok(Self {
            jobs: Some(jobs_tx),
            stop: Some(stop_tx),
            shared,
            paper,
            thread: Some(thread),
        })
    }

    /// Queues a receipt and returns at once; it is kept for `reprint`.
    pub fn submit(&self, job: PrintJob) -> Result<JobId, SubmitError> {
        let bytes = encode(&layout(&job.receipt, self.paper, false))?;
        let id = self.enqueue(bytes, job.open_drawer)?;
        if !job.receipt.reprint {
            lock(&self.shared).last_receipt = Some(job.receipt);
        }
        Ok(id)
    }

    /// Queues the last receipt again, marked as a reprint, without opening
    /// the drawer.
    pub fn reprint(&self) -> Result<JobId, SubmitError> {
        let last = lock(&self.shared).last_receipt.clone();
        let mut receipt = last.ok_or(SubmitError::NothingToReprint)?;
        receipt.reprint = true;
        self.submit(PrintJob {
            receipt,
            open_drawer: false,
        })
    }

    /// Queues a shift's Z report and returns at once. It opens no drawer
    /// and is not kept for [`Spooler::reprint`], which stays the last sale's
    /// receipt: the terminal holds the report and sends it again marked as a
    /// reprint.
    pub fn submit_z_report(&self, report: &ZReport) -> Result<JobId, SubmitError> {
        let bytes = encode(&layout_z_report(report, self.paper))?;
        self.enqueue(bytes, false)
    }

    /// Queues a drawer kick on its own (no sale, no paper).
    pub fn open_drawer(&self) -> Result<JobId, SubmitError> {
        self.enqueue(INIT.to_vec(), true)
    }

    /// The status last read from the printer, if any yet.
    pub fn last_status(&self) -> Option<PrinterStatus> {
        lock(&self.shared).last_status
    }

    fn enqueue(&self, bytes: Vec<u8>, kick_drawer: bool) -> Result<JobId, SubmitError> {
        let sender = self.jobs.as_ref().ok_or(SubmitError::Stopped)?;
        let id = {
            let mut shared = lock(&self.shared);
            shared.next_id += 1;
            JobId(shared.next_id)
        };
        match sender.try_send(Queued {
            id,
            bytes,
            kick_drawer,
        }) {
            Ok(()) => Ok(id),
            Err(TrySendError::Full(_)) => Err(SubmitError::QueueFull),
            Err(TrySendError::Disconnected(_)) => Err(SubmitError::Stopped),
        }
    }
}

impl Drop for Spooler {
    fn drop(&mut self) {
        // Closing both channels wakes the thread wherever it waits.
        self.jobs.take();
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The spooler's thread.
struct Worker {
    config: SpoolerConfig,
    events: Sender<SpoolEvent>,
    stop: Receiver<()>,
    shared: Arc<Mutex<Shared>>,
}

impl Worker {
    fn run(self, jobs: &Receiver<Queued>) {
        if self.config.idle_poll.is_some() {
            // The status strip shows the printer from the start.
            self.report(self.config.transport.status(&self.config.timeouts));
        }
        loop {
            let next = match self.config.idle_poll {
                Some(poll) => jobs.recv_timeout(poll),
                None => jobs.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match next {
                Ok(job) => self.print(job),
                Err(RecvTimeoutError::Timeout) => {
                    let status = self.config.transport.status(&self.config.timeouts);
                    self.report(status);
                }
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// Prints one job, waiting for the printer as long as allowed.
    fn print(&self, mut job: Queued) {
        let last_seen_printing = lock(&self.shared)
            .last_status
            .is_none_or(PrinterStatus::can_print);
        if self.stopping() && !last_seen_printing {
            self.give_up(job.id, "stopped while the printer could not print".into());
            return;
        }
        let started = Instant::now();
        loop {
            let bytes = if job.kick_drawer {
                [&job.bytes[..], &DRAWER_KICK].concat()
            } else {
                job.bytes.clone()
            };
            match self.config.transport.print(&bytes, &self.config.timeouts) {
                Ok(status) => {
                    self.report(status);
                    self.send(SpoolEvent::Printed(job.id));
                    return;
                }
                Err(error) => {
                    self.report(error.status());
                    if job.kick_drawer && matches!(error, TransportError::NotReady(_)) {
                        // The printer answered but cannot print: the cash
                        // sale needs its drawer now, not when the paper is
                        // back; the receipt follows without a kick.
                        let sent = self
                            .config
                            .transport
                            .send_now(&DRAWER_KICK_NOW, &self.config.timeouts);
                        job.kick_drawer = sent.is_err();
                        if !job.kick_drawer && job.bytes == INIT {
                            // A drawer-only job is done.
                            self.send(SpoolEvent::Printed(job.id));
                            return;
                        }
                    }
                    if self.stopping() {
                        self.give_up(job.id, format!("stopped: {error}"));
                        return;
                    }
                    if started.elapsed() >= self.config.give_up_after {
                        self.give_up(job.id, error.to_string());
                        return;
                    }
                    // Waits for the retry, or returns at once on shutdown.
                    if self.stop.recv_timeout(self.config.retry_every)
                        != Err(RecvTimeoutError::Timeout)
                    {
                        self.give_up(job.id, format!("stopped: {error}"));
                        return;
                    }
                }
            }
        }
    }

    /// Whether the spooler was dropped.
    fn stopping(&self) -> bool {
        matches!(
            self.stop.try_recv(),
            Err(mpsc::TryRecvError::Disconnected) | Ok(())
        )
    }

    fn give_up(&self, job: JobId, reason: String) {
        self.send(SpoolEvent::GaveUp { job, reason });
    }

    fn report(&self, status: PrinterStatus) {
        let changed = {
            let mut shared = lock(&self.shared);
            let changed = shared.last_status != Some(status);
            shared.last_status = Some(status);
            changed
        };
        if changed {
            self.send(SpoolEvent::Status(status));
        }
    }

    fn send(&self, event: SpoolEvent) {
        // The terminal may have stopped listening; printing goes on.
        let _ = self.events.send(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spooler_can_be_shared_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<Spooler>();
        shared::<SpoolEvent>();
    }
}
