//! Receipts on ESC/POS thermal printers (58 and 80 mm), never in the way of
//! a sale.
//!
//! The path a receipt takes, one module each:
//!
//! `receipt` (printer-neutral data the terminal fills with its own texts)
//! → `layout` (lines cut to the paper's columns, as printer operations)
//! → `escpos` (the bytes) → `spooler` (one thread, a bounded queue, retries,
//! status events) → `transport` (a USB printer class device or TCP port
//! 9100, every wait bounded) → the printer, whose answers `status` reads.
//!
//! `shift_report` is the other document: the shift's Z report, laid out
//! with the same helpers and queued with `Spooler::submit_z_report`.
//!
//! `virtual_printer` goes the other way for tests and docs: bytes back to
//! text and commands, and an image of the paper.
//!
//! What the terminal calls:
//!
//! ```no_run
//! use std::sync::mpsc;
//! use tillcard_print::{Paper, PrintJob, Receipt, SpoolEvent, Spooler, SpoolerConfig, Transport};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (events_tx, events) = mpsc::channel();
//! let spooler = Spooler::start(
//!     SpoolerConfig::new(Transport::UsbLp("/dev/usb/lp0".into()), Paper::Mm80),
//!     events_tx,
//! )?;
//! // Returns at once; a full queue is an error, never a wait.
//! spooler.submit(PrintJob { receipt: Receipt::sample(), open_drawer: true })?;
//! spooler.reprint()?;
//! // On the terminal's own thread: the status strip's words.
//! if let Ok(SpoolEvent::Status(status)) = events.try_recv() {
//!     println!("{}", status.zh_cn());
//! }
//! # Ok(())
//! # }
//! ```

pub mod escpos;
pub mod layout;
pub mod receipt;
pub mod shift_report;
pub mod spooler;
pub mod status;
pub mod transport;
pub mod virtual_printer;

pub use escpos::{EncodeError, encode};
pub use layout::{Align, Op, Paper, layout};
pub use receipt::{ItemLine, Labels, MemberBlock, Receipt, TotalRow};
pub use shift_report::{ZLabels, ZReport, ZSection, layout_z_report};
pub use spooler::{JobId, PrintJob, SpoolEvent, Spooler, SpoolerConfig, SubmitError};
pub use status::PrinterStatus;
pub use transport::{Timeouts, Transport, TransportError};
