//! The receipt printer on a running terminal (issue 24): the printer
//! crate's spooler on its own thread, started when `[printer]` is
//! configured, its status changes forwarded to the counter's status strip
//! as [`Input::Printer`]. A sale never waits for it: a receipt is handed
//! to the spooler's bounded queue and the answer comes back as a status.
//! A missing, offline or out-of-paper printer is shown, never an error in
//! the sale; a queue full of receipts the printer could not take refuses
//! the newest, which stays saved as a file and can be reprinted. A
//! return's refund slip goes the same way (`counter::printed_receipt`).
//! A shift's Z report goes the same way, after its close is committed.

use std::sync::mpsc;

use tillcard_print::{PrintJob, Receipt, SpoolEvent, Spooler, SpoolerConfig, ZReport};

use super::{Sink, StartError, Terminal};
use crate::config::TerminalConfig;
use crate::counter::Input;

/// The printer of a running terminal, and what its receipts say of the
/// store and the till.
pub(super) struct Printer {
    spooler: Spooler,
    store: String,
    till: String,
}

impl std::fmt::Debug for Printer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Printer").finish_non_exhaustive()
    }
}

/// Starts the spooler when a printer is configured; its status goes to
/// `sink`.
pub(super) fn start(
    config: &TerminalConfig,
    till: &str,
    sink: Sink,
) -> Result<Option<Printer>, StartError> {
    let Some(transport) = config
        .printer
        .transport()
        .map_err(|e| StartError::Printer(e.to_string()))?
    else {
        return Ok(None);
    };
    let (events_tx, events) = mpsc::channel();
    let spooler = Spooler::start(
        SpoolerConfig::new(transport, config.printer.paper()),
        events_tx,
    )?;
    std::thread::Builder::new()
        .name("printer-events".into())
        .spawn(move || {
            // Ends when the spooler (and its sender) is dropped.
            for event in events {
                match event {
                    SpoolEvent::Status(status) => sink(Input::Printer(status)),
                    SpoolEvent::Printed(job) => tracing::debug!(?job, "receipt printed"),
                    SpoolEvent::GaveUp { job, reason } => {
                        tracing::warn!(?job, %reason, "receipt not printed");
                    }
                }
            }
        })?;
    let store = crate::counter::text::store_name(&config.head_office.store);
    Ok(Some(Printer {
        spooler,
        store,
        till: till.to_string(),
    }))
}

impl Terminal {
    /// Prints `receipt` (a sale's, a reprint of one, or a return's refund
    /// slip) with this till's store and id, opening the drawer if asked;
    /// nothing without a printer.
    pub(super) fn print(&self, mut receipt: Receipt, open_drawer: bool) {
        let Some(printer) = &self.printer else {
            return;
        };
        receipt.store.clone_from(&printer.store);
        receipt.terminal.clone_from(&printer.till);
        if let Err(e) = printer.spooler.submit(PrintJob {
            receipt,
            open_drawer,
        }) {
            tracing::warn!(error = %e, "receipt not queued for the printer");
        }
    }

    /// Prints a shift's Z report with this till's store and id (never
    /// opens the drawer); nothing without a printer. The shift is closed
    /// already: a printer that cannot take it shows on the status strip,
    /// and the shift-close screen prints it again.
    pub(super) fn print_z_report(&self, mut report: ZReport) {
        let Some(printer) = &self.printer else {
            return;
        };
        report.store.clone_from(&printer.store);
        report.terminal.clone_from(&printer.till);
        if let Err(e) = printer.spooler.submit_z_report(&report) {
            tracing::warn!(error = %e, "Z report not queued for the printer");
        }
    }
}
